/* evring replay: read record logs back, as text, JSON, raw records, or re-emitted into a ring.
 *
 * Blocks are verified before any of their records is used. A log that ends inside a block (the
 * recorder was killed mid-write) is read up to its last complete block with a note, exit 0. A block
 * that fails its checksum costs only itself: the reader resynchronises on the next block that
 * verifies, says on stderr which bytes and blocks it skipped, reads on to the end, counts the
 * unreadable blocks in the summary and exits 1.
 *
 * Filters are tail's (filter.h). Records pass through a reorder window (lib/reorder.h), so the
 * lanes, recorded as they were consumed, come out merged by timestamp; a loss or invalid line
 * flushes the window, so it stays where it was. -n N keeps the newest N records of the whole
 * replay (losses then only in the totals). --raw writes the records as recorded: no reordering. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "filter.h"
#include "format.h"
#include "recordlog.h"
#include "reorder.h"
#include <evring/platform.h>

#define REORDER_WINDOW 4096 /* records; the recorder's lanes are interleaved far less than this */

enum replay_out { OUT_TEXT, OUT_JSON, OUT_RAW, OUT_RING };

struct replay {
	enum replay_out out;
	struct evr_producer *p;
	uint64_t records, blocks, lost, invalid, dropped;
	uint64_t unreadable_blocks, unreadable_bytes; /* skipped around damage; to_end skips count 1+ */
	bool unknown_blocks;                          /* a skip to the end: at least one block lost */
	uint64_t damaged_headers;                     /* read anyway (evr_log_reader_open_salvage) */
	struct evr_filter filter;
	struct evr_reorder window;
	bool summary;
	uint64_t limit, shown, by_type[EVR_DESC_MAX_TYPES];
	/* the description of the file being read (its own, or the platform's table for a version 1 log);
	 * a copy, so that -n N can decode records after their file is closed */
	struct evr_desc_header *schema;
	struct evr_record *last; /* -n N: the newest N shown records, a circular buffer */
};

/* A record that passed the filters, in time order: out now, or kept among the newest N. */
static void deliver(struct replay *rp, struct evr_record *rec)
{
	char buf[1024];
	if (rp->limit) {
		rp->last[rp->shown++ % rp->limit] = *rec;
		return;
	}
	rp->shown++;
	if (rec->type < rp->schema->type_count) /* --raw passes invalid records on as recorded */
		rp->by_type[rec->type]++;
	if (rp->out == OUT_RING) {
		rec->flags |= EVR_REC_REPLAYED;
		if (evr_emit(rp->p, rec))
			rp->dropped++;
	} else if (rp->out == OUT_RAW) {
		fwrite(rec, sizeof *rec, 1, stdout);
	} else if ((rp->out == OUT_JSON ? evr_desc_record_to_json(rp->schema, rec, buf, sizeof buf)
					: evr_format_line_desc(rp->schema, rec, buf, sizeof buf)) > 0) {
		puts(buf);
	}
}

/* Out of the reorder window, in time order: everything (flush) or nothing more. */
static void drain(struct replay *rp)
{
	struct evr_record rec;
	while (evr_reorder_pop(&rp->window, &rec))
		deliver(rp, &rec);
}

/* -n N, at the end: the newest N, oldest first. */
static void deliver_last(struct replay *rp)
{
	uint64_t n = rp->shown < rp->limit ? rp->shown : rp->limit, first = rp->shown - n, limit = rp->limit;
	rp->limit = 0;
	rp->shown = 0;
	for (uint64_t i = first; i < first + n; i++)
		deliver(rp, &rp->last[i % limit]);
}

static void loss_line(struct replay *rp, uint64_t n, const char *why)
{
	if (rp->limit)
		return;
	drain(rp);
	if (rp->out == OUT_JSON)
		printf("{\"lost\":%" PRIu64 ",\"reason\":\"%s\"}\n", n, why);
	else if (rp->out == OUT_TEXT)
		printf("-- lost %" PRIu64 " records (%s) while recording\n", n, why);
}

static int one_record(struct replay *rp, const unsigned char *raw)
{
	struct evr_record rec;
	memcpy(&rec, raw, sizeof rec);
	char buf[1024];
	if (rp->out == OUT_RAW) {
		if (evr_desc_record_validate(rp->schema, &rec, NULL, 0) || evr_filter_match(&rp->filter, &rec))
			deliver(rp, &rec); /* as recorded: an invalid record too, and no reordering */
	} else if (evr_desc_record_validate(rp->schema, &rec, buf, sizeof buf)) {
		rp->invalid++;
		if (rp->out != OUT_RING && !rp->limit) {
			drain(rp);
			printf(rp->out == OUT_JSON ? "{\"invalid\":true,\"reason\":\"%s\"}\n" : "-- invalid record: %s\n", buf);
		}
		return 0;
	} else if (evr_filter_match(&rp->filter, &rec)) {
		struct evr_record out;
		if (evr_reorder_push(&rp->window, &rec, &out))
			deliver(rp, &out);
	}
	rp->records++;
	return 0;
}

static void replay_block(struct replay *rp, const struct evr_log_block *b)
{
	rp->blocks++;
	if (b->hdr->lost_lapped)
		loss_line(rp, b->hdr->lost_lapped, "lapped");
	if (b->hdr->lost_abandoned)
		loss_line(rp, b->hdr->lost_abandoned, "abandoned");
	rp->lost += b->hdr->lost_lapped + b->hdr->lost_abandoned;
	for (uint32_t i = 0; i < b->hdr->count; i++)
		one_record(rp, b->records + (size_t)i * EVR_RECORD_SIZE);
}

/* A damaged block: resynchronise on the next one that verifies and say exactly what was skipped,
 * on stderr and inline (text and JSON), so the loss is counted and shown, never silent. */
static void skipped(struct replay *rp, const char *path, const char *why, struct evr_log_reader *r)
{
	struct evr_log_skip sk;
	evr_log_resync(r, &sk);
	char what[160];
	if (sk.to_end)
		snprintf(what, sizeof what, "blocks %" PRIu64 " and after unreadable, no block after it verifies",
			 sk.first_block);
	else if (sk.blocks == 1)
		snprintf(what, sizeof what, "block %" PRIu64 " unreadable", sk.first_block);
	else
		snprintf(what, sizeof what, "%" PRIu64 " blocks unreadable: %" PRIu64 "..%" PRIu64, sk.blocks,
			 sk.first_block, sk.first_block + sk.blocks - 1);
	fflush(stdout);
	fprintf(stderr, "evring replay: %s: %s; skipped bytes %" PRIu64 "..%" PRIu64 " (%s)%s\n", path, why, sk.from,
		sk.to, what, sk.to_end ? "" : ", reading on");
	if (rp->out == OUT_JSON)
		printf("{\"unreadable_blocks\":%" PRIu64 ",\"to_end\":%s,\"bytes\":[%" PRIu64 ",%" PRIu64 "]}\n",
		       sk.to_end ? 1 : sk.blocks, sk.to_end ? "true" : "false", sk.from, sk.to);
	else if (rp->out == OUT_TEXT)
		printf("-- skipped bytes %" PRIu64 "..%" PRIu64 " of %s (%s)\n", sk.from, sk.to, path, what);
	rp->unreadable_blocks += sk.to_end ? 1 : sk.blocks;
	rp->unknown_blocks |= sk.to_end;
	rp->unreadable_bytes += sk.to - sk.from;
}

static int replay_file(struct replay *rp, const char *path)
{
	struct evr_log_reader r;
	char err[512];
	int rc = evr_log_reader_open_salvage(&r, path, err, sizeof err), damaged = rc == 1;
	if (rc < 0) {
		evr_cli_error("replay", "%s: %s", path, err);
		return EVR_EXIT_FAIL;
	}
	if (damaged) { /* a damaged header: the blocks are read all the same, and it counts as damage */
		fprintf(stderr, "evring replay: %s: %s\n", path, err);
		rp->damaged_headers++;
	}
	else if (!r.schema && r.hdr.schema_hash != evr_platform_hash()) { /* a version 1 log of another table */
		evr_cli_error("replay", "%s was recorded with schema 0x%016" PRIx64 ", this evring has 0x%016" PRIx64
			      " and the log does not describe its own", path, r.hdr.schema_hash, evr_platform_hash());
		evr_log_reader_close(&r);
		return EVR_EXIT_FAIL;
	}
	if (r.schema_damaged) { /* its blocks are read all the same, and it counts as damage */
		fprintf(stderr, "evring replay: %s: its schema section is damaged; decoding with this evring's "
			"table\n", path);
		damaged = 1;
	}
	const struct evr_desc_header *d = evr_log_reader_schema(&r);
	free(rp->schema);
	rp->schema = malloc(d->size);
	if (!rp->schema) {
		evr_cli_error("replay", "out of memory");
		evr_log_reader_close(&r);
		return EVR_EXIT_FAIL;
	}
	memcpy(rp->schema, d, d->size);
	if (evr_filter_bind(&rp->filter, rp->schema, err, sizeof err)) { /* names of this log's own table */
		evr_log_reader_close(&r);
		return evr_cli_usage_error("replay", "%s: %s", path, err);
	}
	struct evr_log_block b;
	for (;;) {
		while ((rc = evr_log_next(&r, &b, err, sizeof err)) == 1)
			replay_block(rp, &b);
		if (rc != -EPROTO)
			break;
		damaged = 1;
		skipped(rp, path, err, &r);
	}
	evr_log_reader_close(&r);
	drain(rp); /* a file's records come out before the next file's */
	if (rc == -ENODATA) {
		fflush(stdout);
		fprintf(stderr, "evring replay: %s: %s\n", path, err);
	}
	return damaged ? EVR_EXIT_FAIL : EVR_EXIT_OK;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' }, { "raw", no_argument, NULL, 'r' },
		{ "into", required_argument, NULL, 'i' }, { "lines", required_argument, NULL, 'n' },
		{ "summary", no_argument, NULL, 's' }, EVR_FILTER_LONGOPTS, { NULL, 0, NULL, 0 },
	};
	struct replay rp = { .out = OUT_TEXT };
	const char *into = NULL;
	int c, frc;
	while ((c = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		if ((frc = evr_filter_option("replay", &rp.filter, c, optarg)) >= 0) {
			if (frc)
				return frc;
		} else if (c == 'n') {
			if (evr_cli_parse_u64(optarg, false, &rp.limit) || !rp.limit || rp.limit > (1u << 24))
				return evr_cli_usage_error("replay", "-n/--lines: '%s' is not a number from 1 to 16M", optarg);
		} else if (c == 's') rp.summary = true;
		else if (c == 'j') rp.out = OUT_JSON;
		else if (c == 'r') rp.out = OUT_RAW;
		else if (c == 'i') { rp.out = OUT_RING; into = optarg; }
		else return evr_cli_usage_error("replay", "bad option");
	}
	if (optind >= argc)
		return evr_cli_usage_error("replay", "expects one or more log FILEs");
	if (evr_reorder_init(&rp.window, rp.out == OUT_RAW ? 1 : REORDER_WINDOW) ||
	    (rp.limit && !(rp.last = malloc(rp.limit * sizeof *rp.last)))) {
		evr_cli_error("replay", "out of memory");
		evr_reorder_free(&rp.window);
		return EVR_EXIT_FAIL;
	}
	struct evr_ring *ring = NULL;
	if (into) {
		struct evr_err err = { 0 };
		int orc = evr_cli_open_ring("replay", into, EVR_ROLE_PRODUCER, &ring);
		if (orc)
			return orc; /* 2 for a name that cannot be a ring's, as in every command */
		if (evr_producer_open(ring, "evring-replay", &rp.p, &err)) {
			evr_cli_error("replay", "%s", err.msg);
			evr_ring_close(ring);
			return EVR_EXIT_FAIL;
		}
	}
	int rc = EVR_EXIT_OK;
	for (int i = optind; i < argc && rc != EVR_EXIT_USAGE; i++) { /* every file, even after a damaged one */
		int file_rc = replay_file(&rp, argv[i]);
		if (file_rc != EVR_EXIT_OK)
			rc = file_rc == EVR_EXIT_USAGE ? file_rc : EVR_EXIT_FAIL;
	}
	if (rp.limit)
		deliver_last(&rp);
	if (rp.summary)
		evr_cli_print_type_counts(rp.schema ? rp.schema : evr_platform_desc(), rp.by_type, rp.shown);
	evr_reorder_free(&rp.window);
	free(rp.last);
	free(rp.schema);
	fflush(stdout);
	char unreadable[192] = "";
	int at = 0;
	if (rp.damaged_headers)
		at = snprintf(unreadable, sizeof unreadable, "; %" PRIu64 " damaged log header%s (blocks read anyway)",
			      rp.damaged_headers, rp.damaged_headers == 1 ? "" : "s");
	if (rp.unreadable_blocks)
		snprintf(unreadable + at, sizeof unreadable - (size_t)at, "; %s%" PRIu64 " block%s unreadable (%" PRIu64 " bytes skipped)",
			 rp.unknown_blocks ? "at least " : "", rp.unreadable_blocks, rp.unreadable_blocks == 1 ? "" : "s",
			 rp.unreadable_bytes);
	fprintf(stderr, "evring replay: %" PRIu64 " records from %" PRIu64 " blocks; %" PRIu64 " lost while recording; %"
		PRIu64 " invalid%s\n", rp.records, rp.blocks, rp.lost, rp.invalid, unreadable);
	if (into) {
		if (rp.dropped)
			fprintf(stderr, "evring replay: %" PRIu64 " records dropped by %s (slots held by stalled writers)\n",
				rp.dropped, into);
		evr_producer_close(rp.p);
		evr_ring_close(ring);
	}
	return rc;
}

const struct evr_command evr_cmd_replay = {
	.name = "replay",
	.summary = "read record logs back (text, JSON, raw) or re-emit them into a ring",
	.usage = "evring replay FILE... [--json | --raw | --into NAME] [-n|--lines N] [--summary]\n"
		 "                     " EVR_FILTER_USAGE "\n"
		 "  FILEs are read in the order given (rotated logs: FILE.1 FILE.2 ... FILE). --raw writes the\n"
		 "  128-byte records as recorded. --into re-emits into a ring, flagged replayed (the ring\n"
		 "  stamps its own time; the recorded time is lost). A log cut short by a crash is read up\n"
		 "  to its last complete block (exit 0). A damaged block is skipped: replay reads on from the\n"
		 "  next block that verifies, reports the skipped bytes and blocks, and exits 1 at the end.\n"
		 "  Records come out merged by timestamp across lanes (within a window of 4096 records;\n"
		 "  --raw keeps the recorded order). -n N: the newest N records that pass the filters\n"
		 "  (then losses are only in the totals); --summary: a table of records per type.\n"
		 EVR_FILTER_HELP,
	.run = run,
};
