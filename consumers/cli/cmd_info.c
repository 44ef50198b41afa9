/* evring info: a ring's layout, schema, clock, producers and lanes. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const state_names[] = { "free", "claiming", "live", "closed", "dead" };

static void print_json(struct evr_ring *ring, const struct evr_ring_info *in)
{
	printf("{\"name\":\"%s\",\"ring_id\":\"0x%016" PRIx64 "\",\"abi_version\":%u,\"schema_version\":%u,"
	       "\"schema_hash\":\"0x%016" PRIx64 "\",\"lanes\":%u,\"exclusive_lanes\":%u,\"slots_per_lane\":%u,\"record_size\":%u,"
	       "\"max_producers\":%u,\"segment_size\":%" PRIu64 ",\"mode\":\"%04o\",\"creator_pid\":%d,"
	       "\"created_ns\":%" PRIu64 ",\"clock\":\"%s\",\"can_sleep\":%s,\"heads\":[",
	       in->name, in->ring_id, in->abi_version, in->schema_version, in->schema_hash, in->lanes,
	       in->exclusive_lanes, in->slots_per_lane, in->record_size, in->max_producers, in->segment_size, (unsigned)in->mode,
	       in->creator_pid, in->created_realtime_ns, in->ts_source == EVR_TS_TSC ? "tsc" : "monotonic",
	       evr_ring_can_sleep(ring) ? "true" : "false");
	for (unsigned l = 0; l < in->lanes; l++)
		printf("%s%" PRIu64, l ? "," : "", evr_ring_lane_head(ring, l));
	printf("],\"producers\":[");
	bool first = true;
	for (unsigned i = 0; i < in->max_producers; i++) {
		struct evr_producer_info pi;
		if (evr_ring_producer_info(ring, i, &pi))
			continue;
		printf("%s{\"id\":%u,\"state\":\"%s\",\"pid\":%d,\"alive\":%s,\"service\":\"%s\",\"emitted\":%" PRIu64
		       ",\"dropped\":%" PRIu64 "}",
		       first ? "" : ",", i, state_names[pi.state], pi.pid, pi.alive ? "true" : "false", pi.service,
		       pi.emitted, pi.dropped);
		first = false;
	}
	printf("]}\n");
}

static void print_text(struct evr_ring *ring, const struct evr_ring_info *in)
{
	char created[32];
	evr_cli_format_time(in->created_realtime_ns, created);
	printf("ring        %s (id 0x%016" PRIx64 ")\n", in->name, in->ring_id);
	printf("layout      %u lanes (%u exclusive) x %u slots x %u B = %" PRIu64 " bytes, %u producer entries, mode %04o\n",
	       in->lanes, in->exclusive_lanes, in->slots_per_lane, in->record_size, in->segment_size, in->max_producers,
	       (unsigned)in->mode);
	const struct evr_desc_header *d = evr_ring_schema(ring);
	printf("schema      %s version %u, hash 0x%016" PRIx64 " (%u event types, described in %u bytes), ABI %u\n",
	       d->name, in->schema_version, in->schema_hash, d->type_count, d->size, in->abi_version);
	printf("clock       %s", in->ts_source == EVR_TS_TSC ? "tsc" : "monotonic");
	if (in->ts_source == EVR_TS_TSC)
		printf(" (%.3f GHz)", (double)in->tsc_hz / 1e9);
	printf("\ncreated     %s by pid %d\n", created, in->creator_pid);
	if (evr_ring_can_sleep(ring))
		printf("waiting     consumers sleep on the futex of %s~wake\n", in->name);
	else
		printf("waiting     1 ms naps here: this user cannot write %s~wake\n", in->name);
	uint64_t total = 0;
	printf("\nlane  head          fill\n");
	for (unsigned l = 0; l < in->lanes; l++) {
		uint64_t h = evr_ring_lane_head(ring, l);
		total += h;
		uint64_t fill = h < in->slots_per_lane ? h : in->slots_per_lane;
		printf("%-5u %-13" PRIu64 " %5.1f%%%s%s\n", l, h, 100.0 * (double)fill / in->slots_per_lane,
		       h > in->slots_per_lane ? " (wrapped)" : "", l >= in->lanes - in->exclusive_lanes ? " exclusive" : "");
	}
	printf("total %" PRIu64 " records claimed\n\nid    state    pid       alive service                      emitted      dropped\n", total);
	for (unsigned i = 0; i < in->max_producers; i++) {
		struct evr_producer_info pi;
		if (evr_ring_producer_info(ring, i, &pi))
			continue;
		printf("%-5u %-8s %-9d %-5s %-24s %12" PRIu64 " %12" PRIu64 "\n", i, state_names[pi.state], pi.pid,
		       pi.state == EVR_PRODUCER_LIVE ? (pi.alive ? "yes" : "NO") : "-", pi.service, pi.emitted,
		       pi.dropped);
	}
}

static int run(int argc, char **argv)
{
	bool json = false, options = true;
	const char *name = NULL;
	for (int i = 1; i < argc; i++) {
		if (options && !strcmp(argv[i], "--"))
			options = false;
		else if (options && !strcmp(argv[i], "--json"))
			json = true;
		else if (options && argv[i][0] == '-')
			return evr_cli_usage_error("info", "unknown option '%s'", argv[i]);
		else if (name)
			return evr_cli_usage_error("info", "expects one ring NAME");
		else
			name = argv[i];
	}
	if (!name)
		return evr_cli_usage_error("info", "expects one ring NAME");
	struct evr_ring *ring;
	int open_rc = evr_cli_open_ring("info", name, EVR_ROLE_CONSUMER, &ring);
	if (open_rc)
		return open_rc;
	struct evr_ring_info in;
	evr_ring_get_info(ring, &in);
	if (json)
		print_json(ring, &in);
	else
		print_text(ring, &in);
	evr_ring_close(ring);
	return EVR_EXIT_OK;
}

const struct evr_command evr_cmd_info = {
	.name = "info",
	.summary = "show a ring's layout, schema, producers and lane heads",
	.usage = "evring info NAME [--json]",
	.run = run,
};
