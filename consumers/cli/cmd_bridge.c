/* evring bridge: ring -> NATS JetStream, or JetStream -> ring with --from-nats/--into.
 *
 * Option parsing, opening the ring and the summary live here; the bridge itself is in
 * consumers/bridge/ (bridge.h explains the delivery guarantees). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "cli.h"
#include <evring/platform.h>

#define CMD "bridge"

static int num(const char *flag, const char *v, bool suffixes, uint64_t max, uint64_t *out)
{
	if (evr_cli_parse_u64(v, suffixes, out) < 0 || *out > max)
		return evr_cli_usage_error(CMD, "%s: '%s' is not a valid number", flag, v);
	return 0;
}

static int secs(const char *flag, const char *v, uint64_t *out)
{
	if (evr_cli_parse_seconds(v, out) < 0)
		return evr_cli_usage_error(CMD, "%s: '%s' is not a number of seconds", flag, v);
	return 0;
}

static int parse(int argc, char **argv, struct evr_bridge_opts *o, const char **ring)
{
	static const struct option longopts[] = {
		{ "nats", required_argument, NULL, 'n' },	{ "stream", required_argument, NULL, 's' },
		{ "subject-prefix", required_argument, NULL, 'p' }, { "json", no_argument, NULL, 'j' },
		{ "cursor", required_argument, NULL, 'c' },	{ "window", required_argument, NULL, 'w' },
		{ "ack-timeout", required_argument, NULL, 'a' }, { "replicas", required_argument, NULL, 'r' },
		{ "max-age", required_argument, NULL, 'A' },	{ "max-bytes", required_argument, NULL, 'B' },
		{ "dup-window", required_argument, NULL, 'D' }, { "count", required_argument, NULL, 'N' },
		{ "exit-when-idle", required_argument, NULL, 'I' }, { "save-interval", required_argument, NULL, 'S' },
		{ "from-nats", required_argument, NULL, 'f' },	{ "into", required_argument, NULL, 'i' },
		{ "durable", required_argument, NULL, 'd' },	{ "lanes", required_argument, NULL, 'L' },
		{ "slots", required_argument, NULL, 'O' },	{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c, rc = 0;
	while (!rc && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->url = optarg; break;
		case 's': o->stream = optarg; break;
		case 'p': o->prefix = optarg; break;
		case 'j': o->json = true; break;
		case 'c': o->cursor_path = optarg; break;
		case 'w':
			if (!(rc = num("--window", optarg, true, 1u << 20, &v)) && (v < 2 || (v & (v - 1))))
				rc = evr_cli_usage_error(CMD, "--window: %s is not a power of two >= 2", optarg);
			o->window = (uint32_t)v;
			break;
		case 'a': rc = secs("--ack-timeout", optarg, &o->ack_timeout_ns); break;
		case 'r': rc = num("--replicas", optarg, false, 5, &v); o->replicas = (uint32_t)v; break;
		case 'A': rc = secs("--max-age", optarg, &v); o->max_age_ns = (int64_t)v; break;
		case 'B': rc = num("--max-bytes", optarg, true, INT64_MAX, &v); o->max_bytes = (int64_t)v; break;
		case 'D': rc = secs("--dup-window", optarg, &v); o->dup_window_ns = (int64_t)v; break;
		case 'N': rc = num("--count", optarg, true, UINT64_MAX, &o->count); break;
		case 'I': rc = secs("--exit-when-idle", optarg, &o->idle_exit_ns); break;
		case 'S': rc = secs("--save-interval", optarg, &o->save_interval_ns); break;
		case 'f': o->url = optarg; o->inbound = true; break;
		case 'i': *ring = optarg; break;
		case 'd': o->durable = optarg; break;
		case 'L': rc = num("--lanes", optarg, false, EVR_MAX_LANES, &v); o->into_lanes = (uint32_t)v; break;
		case 'O': rc = num("--slots", optarg, true, 1u << 24, &v); o->into_slots = (uint32_t)v; break;
		default: return evr_cli_usage_error(CMD, "bad option");
		}
	}
	if (rc)
		return rc;
	if (!o->inbound && optind == argc - 1)
		*ring = argv[optind++];
	if (optind != argc)
		return evr_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	if (!*ring)
		return evr_cli_usage_error(CMD, o->inbound ? "--from-nats needs --into NAME" : "expects a ring NAME");
	if (!o->url)
		return evr_cli_usage_error(CMD, "--nats URL is required");
	if (o->inbound && o->cursor_path)
		return evr_cli_usage_error(CMD, "--cursor is for the outbound direction (inbound resumes with --durable)");
	if (o->replicas < 1)
		return evr_cli_usage_error(CMD, "--replicas: at least 1");
	return 0;
}

/* The --into ring: open it as a producer, or create it when it does not exist yet. */
static int open_into(const struct evr_bridge_opts *o, const char *name, struct evr_ring **ring)
{
	struct evr_err err = { 0 };
	if (evr_ring_open(name, EVR_ROLE_PRODUCER, ring, &err) == 0)
		return 0;
	struct evr_ring_opts ro;
	evr_platform_opts(&ro);
	if (o->into_lanes)
		ro.lanes = o->into_lanes;
	if (o->into_slots)
		ro.slots_per_lane = o->into_slots;
	int rc = evr_ring_create(name, &ro, ring, &err);
	if (rc < 0) {
		evr_cli_error(CMD, "%s", err.msg[0] ? err.msg : evr_strerror(rc));
		return EVR_EXIT_FAIL;
	}
	return 0;
}

/* On stderr, like every command's summary: stdout stays for data. */
static void summary(const struct evr_bridge_opts *o, const struct evr_bridge_stats *st)
{
	double s = (double)st->elapsed_ns / 1e9;
	/* The rate over the busy span, so idle time before --exit-when-idle does not dilute it. */
	double busy = st->last_ns > st->first_ns ? (double)(st->last_ns - st->first_ns) / 1e9 : 0;
	if (o->inbound) {
		fprintf(stderr, "bridge summary: received=%" PRIu64 " emitted=%" PRIu64 " dropped=%" PRIu64 " skipped=%" PRIu64
		       " elapsed=%.3fs rate=%.0f msgs/s\n", st->received, st->emitted, st->dropped, st->skipped, s,
		       busy > 0 ? (double)st->received / busy : 0.0);
		return;
	}
	fprintf(stderr, "bridge summary: published=%" PRIu64 " acked=%" PRIu64 " duplicates=%" PRIu64 " retried=%" PRIu64 " nacked=%" PRIu64
	       " lost=%" PRIu64 " lost_lapped=%" PRIu64 " lost_abandoned=%" PRIu64 " invalid=%" PRIu64
	       " elapsed=%.3fs rate=%.0f msgs/s\n", st->published, st->acked, st->duplicates, st->retried, st->nacked,
	       st->lost_lapped + st->lost_abandoned, st->lost_lapped, st->lost_abandoned, st->invalid, s,
	       busy > 0 ? (double)st->acked / busy : 0.0);
}

static int run(int argc, char **argv)
{
	struct evr_bridge_opts o = {
		.cmd = CMD, .stream = "EVENTS", .prefix = "evring", .window = 1024, .replicas = 1,
		.max_age_ns = 7 * 24 * 3600 * (int64_t)1000000000, .max_bytes = (int64_t)1 << 30,
		.dup_window_ns = 30 * 60 * (int64_t)1000000000, .ack_timeout_ns = 2000000000u,
		.save_interval_ns = 1000000000u,
	};
	const char *name = NULL;
	int rc = parse(argc, argv, &o, &name);
	if (rc)
		return rc;
	struct evr_cursor cursor;
	bool found = false;
	if (o.cursor_path && evr_cli_load_cursor(CMD, o.cursor_path, true, &cursor, &found))
		return EVR_EXIT_FAIL; /* before connecting: a bad cursor file is refused, never overwritten */
	o.cursor = found ? &cursor : NULL;
	struct evr_ring *ring = NULL;
	rc = o.inbound ? open_into(&o, name, &ring) : evr_cli_open_ring(CMD, name, EVR_ROLE_CONSUMER, &ring);
	if (rc)
		return rc;
	struct evr_bridge_conn conn = { 0 };
	rc = evr_bridge_connect(&o, &conn);
	if (!rc) {
		evr_cli_handle_stop_signals();
		struct evr_bridge_stats st = { 0 };
		rc = o.inbound ? evr_bridge_into(&o, &conn, ring, &st) : evr_bridge_publish(&o, &conn, ring, &st);
		summary(&o, &st);
		evr_bridge_disconnect(&conn);
	}
	evr_ring_close(ring);
	nats_Close();
	return rc;
}

const struct evr_command evr_cmd_bridge = {
	.name = "bridge",
	.summary = "publish a ring to NATS JetStream, or re-create a ring from it",
	.usage = "evring bridge NAME --nats URL [--stream EVENTS] [--subject-prefix evring] [--json]\n"
		 "                   [--cursor FILE] [--window 1024] [--ack-timeout 2] [--replicas 1]\n"
		 "                   [--max-age S] [--max-bytes B] [--dup-window S] [--count N] [--exit-when-idle S]\n"
		 "       evring bridge --from-nats URL --into NAME [--stream EVENTS] [--durable NAME]\n"
		 "                   [--lanes N] [--slots N] [--count N] [--exit-when-idle S]\n"
		 "Every record goes to <prefix>.<domain>.<type> with Nats-Msg-Id ring:lane:pos, so re-sends are\n"
		 "de-duplicated; the cursor file only moves past acknowledged publishes. Producers never wait:\n"
		 "what the ring overwrites while NATS is away is counted as lost (lapped) in the summary.\n"
		 "  --nats URL          server(s), comma-separated; credentials as nats://user:pass@host:port\n"
		 "  --stream S          JetStream stream (default EVENTS; created with subjects <prefix>.> if absent)\n"
		 "  --json              payload as JSON text (default: the 128-byte record; --into needs that)\n"
		 "  --cursor FILE       resume point, saved every --save-interval (1 s) up to acked positions\n"
		 "  --window N          publishes in flight, a power of two (default 1024)\n"
		 "  --ack-timeout S     re-send a publish not acked after S seconds, doubling (default 2)\n"
		 "  --replicas N        stream replicas when creating it (default 1)\n"
		 "  --max-age S, --max-bytes B, --dup-window S   stream limits (default 7 days, 1G, 30 min)\n"
		 "  --count N           stop after N records are acked (--into: N messages received)\n"
		 "  --exit-when-idle S  stop when nothing arrived for S seconds and nothing is in flight\n"
		 "  --from-nats URL --into NAME  re-emit the stream into ring NAME (created if absent,\n"
		 "                    with --lanes/--slots), records flagged replayed; resumes via --durable\n"
		 "                    (default evring-into-NAME)",
	.run = run,
};
