/* evring record: a durable, append-only log of a ring's records (format: lib/recordlog.h).
 *
 * The recorder is an ordinary consumer. It writes a block when it holds --block records or the
 * oldest buffered record is 100 ms old, and every block stores the cursor after it, so a restarted
 * recorder resumes exactly after the last complete block; losses (lapped while it was down or slow)
 * are counted in the block that follows them.
 *
 * One recorder per FILE (the log writer locks it). A FILE with a damaged block is never appended to;
 * --repair moves it, unchanged, to the next rotation name FILE.N and records on into a new FILE from
 * the cursor of the last block that still verifies in it. Repair by moving, not by truncating:
 * a cut would destroy the good blocks after the damage, and the moved file stays readable by
 * `evring replay FILE.N FILE`, which reads around the damaged block and reports what it skipped. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "monotime.h"
#include "cli.h"
#include "recordlog.h"

#define FLUSH_AFTER_NS (100u * 1000u * 1000u)

struct record_opts {
	const char *name, *path, *from;
	enum evr_fsync_policy fsync;
	uint64_t rotate, count, idle_exit_ns, block;
	bool repair;
};

static int parse(int argc, char **argv, struct record_opts *o)
{
	static const struct option longopts[] = {
		{ "fsync", required_argument, NULL, 'f' }, { "rotate", required_argument, NULL, 'r' },
		{ "from", required_argument, NULL, 'F' },  { "count", required_argument, NULL, 'n' },
		{ "exit-when-idle", required_argument, NULL, 'i' }, { "block", required_argument, NULL, 'b' },
		{ "repair", no_argument, NULL, 'R' }, { NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "every")) o->fsync = EVR_FSYNC_EVERY;
			else if (!strcmp(optarg, "interval")) o->fsync = EVR_FSYNC_INTERVAL;
			else if (!strcmp(optarg, "never")) o->fsync = EVR_FSYNC_NEVER;
			else return evr_cli_usage_error("record", "--fsync: '%s' is not every, interval or never", optarg);
			break;
		case 'r':
			if (evr_cli_parse_u64(optarg, true, &o->rotate) || o->rotate < 4096)
				return evr_cli_usage_error("record", "--rotate: '%s' is not a size of at least 4k", optarg);
			break;
		case 'F':
			if (strcmp(optarg, "oldest") && strcmp(optarg, "latest"))
				return evr_cli_usage_error("record", "--from: '%s' is not oldest or latest", optarg);
			o->from = optarg;
			break;
		case 'n':
			if (evr_cli_parse_u64(optarg, false, &o->count) || !o->count)
				return evr_cli_usage_error("record", "--count: '%s' is not a positive number", optarg);
			break;
		case 'i':
			if (evr_cli_parse_seconds(optarg, &o->idle_exit_ns))
				return evr_cli_usage_error("record", "--exit-when-idle: '%s' is not seconds", optarg);
			break;
		case 'b':
			if (evr_cli_parse_u64(optarg, false, &o->block) || !o->block || o->block > EVR_LOG_MAX_BLOCK_RECORDS)
				return evr_cli_usage_error("record", "--block: '%s' is not 1..%u", optarg,
							   EVR_LOG_MAX_BLOCK_RECORDS);
			break;
		case 'R': o->repair = true; break;
		default: return evr_cli_usage_error("record", "bad option");
		}
	}
	if (optind != argc - 2)
		return evr_cli_usage_error("record", "expects a ring NAME and a log FILE");
	o->name = argv[optind];
	o->path = argv[optind + 1];
	return 0;
}

struct recorder {
	struct record_opts o;
	struct evr_ring_info info;
	const struct evr_desc_header *schema; /* the ring's description: every log carries it */
	struct evr_log_writer *w;
	struct evr_cursor cur; /* the position after the last item taken from the consumer */
	uint64_t records, blocks, lapped, abandoned, first_buffered_ns;
	uint32_t buffered;
	bool dirty;
};

static int open_log(struct recorder *r, struct evr_cursor *resume)
{
	char err[1024], aside[4096];
	int rc = evr_log_writer_open(r->o.path, &r->info, r->schema, r->o.fsync, &r->w, resume, err, sizeof err);
	if (rc == -EBADMSG && !r->o.repair) {
		evr_cli_error("record", "%s. Run again with --repair to move it, unchanged, to %s.%u and record on "
			      "into a new %s", err, r->o.path, evr_log_last_rotation(r->o.path) + 1, r->o.path);
		return rc;
	}
	if (rc == -EBADMSG) {
		evr_cli_error("record", "%s", err);
		if ((rc = evr_log_set_aside(r->o.path, aside, sizeof aside, err, sizeof err))) {
			evr_cli_error("record", "%s", err);
			return rc;
		}
		fprintf(stderr, "evring record: --repair: moved %s, unchanged, to %s (evring replay reads around the "
			"damage); recording on into a new %s\n", r->o.path, aside, r->o.path);
		rc = evr_log_writer_open(r->o.path, &r->info, r->schema, r->o.fsync, &r->w, resume, err, sizeof err);
	}
	if (rc)
		evr_cli_error("record", "%s", err);
	return rc;
}

static int flush(struct recorder *r)
{
	if (!r->dirty)
		return 0;
	int rc = evr_log_flush(r->w, &r->cur);
	if (rc) {
		evr_cli_error("record", "writing %s failed: %s", r->o.path, evr_strerror(rc));
		return rc;
	}
	r->blocks++;
	r->buffered = 0;
	r->dirty = false;
	if (r->o.rotate && evr_log_size(r->w) >= r->o.rotate) {
		char to[4096];
		snprintf(to, sizeof to, "%s.%u", r->o.path, evr_log_last_rotation(r->o.path) + 1);
		/* rename before close: the writer's lock keeps a second recorder off FILE meanwhile */
		int moved = rename(r->o.path, to) ? -errno : 0;
		evr_log_writer_close(r->w);
		if (moved) {
			evr_cli_error("record", "cannot rotate %s to %s: %s", r->o.path, to, strerror(-moved));
			return moved;
		}
		struct evr_cursor ignored;
		return open_log(r, &ignored);
	}
	return 0;
}

static int take(struct recorder *r, const struct evr_item *it)
{
	r->cur.pos[it->lane] = it->pos + it->count;
	r->dirty = true;
	if (it->kind == EVR_ITEM_LOST_LAPPED || it->kind == EVR_ITEM_LOST_ABANDONED) {
		bool lapped = it->kind == EVR_ITEM_LOST_LAPPED;
		evr_log_note_loss(r->w, lapped ? it->count : 0, lapped ? 0 : it->count);
		*(lapped ? &r->lapped : &r->abandoned) += it->count;
		return 0;
	}
	if (!r->buffered)
		r->first_buffered_ns = evr_mono_ns();
	r->records++;
	r->buffered++;
	evr_log_append(r->w, &it->rec); /* invalid records are kept too: the log is a faithful copy */
	return r->buffered >= r->o.block ? flush(r) : 0;
}

/* The cursor after the last block, as evr_log_each walks a log of our ring. */
struct resume_scan {
	uint64_t ring_id;
	unsigned lanes;
	struct evr_cursor *resume;
};

static void last_cursor(const struct evr_log_block *b, void *arg)
{
	struct resume_scan *s = arg;
	s->resume->ring_id = s->ring_id;
	s->resume->lanes = s->lanes;
	memcpy(s->resume->pos, b->cursor, s->lanes * 8u);
}

/* Where to resume: FILE's last complete block, or else the last verified block of the newest FILE.N.
 * `from` names the file it came from, for the message. */
static int resume_cursor(struct recorder *r, struct evr_cursor *resume, char *from, size_t from_len)
{
	snprintf(from, from_len, "%s", r->o.path);
	if (resume->lanes)
		return 0;
	unsigned n = evr_log_last_rotation(r->o.path); /* a fresh FILE after a rotation (or --repair) */
	if (!n)
		return 0;
	char p[4096], err[512];
	snprintf(p, sizeof p, "%s.%u", r->o.path, n);
	struct evr_log_reader rd;
	if (evr_log_reader_open(&rd, p, err, sizeof err)) { /* e.g. its header is damaged: ring id unknown */
		fprintf(stderr, "evring record: cannot resume from %s (%s); starting a new %s from the %s record\n", p,
			err, r->o.path, r->o.from);
		return 0;
	}
	struct resume_scan scan = { .ring_id = rd.hdr.ring_id, .lanes = rd.hdr.lanes, .resume = resume };
	if (rd.hdr.ring_id == r->info.ring_id) /* the last block that verifies, across any damage (--repair's FILE.N) */
		evr_log_each(&rd, last_cursor, NULL, &scan, err, sizeof err);
	evr_log_reader_close(&rd);
	snprintf(from, from_len, "%s", p);
	return 0;
}

static int loop(struct recorder *r, const struct evr_ring *ring, struct evr_consumer *c)
{
	struct evr_item items[64];
	uint64_t idle_since = evr_mono_ns();
	while (!evr_cli_stop && !(r->o.count && r->records >= r->o.count)) {
		int n = evr_consumer_poll_batch(c, items, r->o.count ? 1 : 64);
		if (n < 0) {
			evr_cli_ring_unreadable("record", ring, n);
			return EVR_EXIT_FAIL;
		}
		for (int i = 0; i < n; i++)
			if (take(r, &items[i]))
				return EVR_EXIT_FAIL;
		uint64_t now = evr_mono_ns();
		if (n > 0) {
			idle_since = now;
			if (r->buffered && now - r->first_buffered_ns >= FLUSH_AFTER_NS && flush(r))
				return EVR_EXIT_FAIL;
			continue;
		}
		if (flush(r))
			return EVR_EXIT_FAIL;
		if (r->o.idle_exit_ns && now - idle_since >= r->o.idle_exit_ns)
			break;
		evr_consumer_wait(c, 100 * 1000 * 1000);
	}
	return flush(r) ? EVR_EXIT_FAIL : EVR_EXIT_OK;
}

static int run(int argc, char **argv)
{
	struct recorder r = { .o = { .from = "oldest", .fsync = EVR_FSYNC_INTERVAL, .block = 256 } };
	int rc = parse(argc, argv, &r.o);
	if (rc)
		return rc;
	struct evr_ring *ring;
	if ((rc = evr_cli_open_ring("record", r.o.name, EVR_ROLE_CONSUMER, &ring)))
		return rc; /* 2 for a name that cannot be a ring's, as in every command */
	evr_ring_get_info(ring, &r.info);
	r.schema = evr_ring_schema(ring);
	struct evr_cursor resume;
	if (open_log(&r, &resume)) {
		evr_ring_close(ring);
		return EVR_EXIT_FAIL;
	}
	char from[4096];
	resume_cursor(&r, &resume, from, sizeof from);
	struct evr_consumer_opts co = { .start = strcmp(r.o.from, "latest") ? EVR_START_OLDEST : EVR_START_LATEST };
	if (resume.lanes) {
		co.start = EVR_START_CURSOR;
		co.cursor = &resume;
	}
	struct evr_consumer *c;
	struct evr_err err = { 0 };
	if (evr_consumer_open(ring, &co, &c, &err)) {
		evr_cli_error("record", "%s", err.msg);
		evr_log_writer_close(r.w);
		evr_ring_close(ring);
		return EVR_EXIT_FAIL;
	}
	evr_consumer_cursor(c, &r.cur);
	if (resume.lanes)
		fprintf(stderr, "evring record: resuming %s after the last complete block of %s\n", r.o.path, from);
	evr_cli_handle_stop_signals();
	rc = loop(&r, ring, c);
	if (evr_log_writer_close(r.w) && !rc) {
		evr_cli_error("record", "closing %s failed", r.o.path);
		rc = EVR_EXIT_FAIL;
	}
	fprintf(stderr, "evring record: %" PRIu64 " records in %" PRIu64 " blocks to %s; lost %" PRIu64 " lapped + %" PRIu64
		" abandoned\n", r.records, r.blocks, r.o.path, r.lapped, r.abandoned);
	evr_consumer_close(c);
	evr_ring_close(ring);
	return rc;
}

const struct evr_command evr_cmd_record = {
	.name = "record",
	.summary = "record a ring to a durable, checksummed log (resumes after a restart)",
	.usage = "evring record NAME FILE [--fsync every|interval|never] [--rotate SIZE] [--from oldest|latest]\n"
		 "                     [--block N] [--count N] [--exit-when-idle S] [--repair]\n"
		 "  --fsync P           every block, at most once a second (interval, default), or never\n"
		 "  --rotate SIZE       move FILE to FILE.1, FILE.2... once it reaches SIZE (k/M/G)\n"
		 "  --from W            where a new log starts (default oldest); an existing FILE resumes\n"
		 "                      after its last complete block, and losses since are counted\n"
		 "  --block N           records per block (default 256; a block is also written after 100 ms)\n"
		 "  --count N           stop after N records;  --exit-when-idle S: stop after S s with nothing new\n"
		 "  --repair            when FILE has a damaged block (it is never appended to), move it unchanged\n"
		 "                      to the next FILE.N and record on into a new FILE after its last good block\n"
		 "  One recorder per FILE: a second one exits 1 and names the first one's pid.",
	.run = run,
};
