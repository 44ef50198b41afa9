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
#include <limits.h>
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
	uint64_t records, blocks, lost, invalid, dropped, refused;
	uint64_t unreadable_blocks, unreadable_bytes; /* skipped around damage; to_end skips count 1+ */
	bool unknown_blocks;                          /* a skip to the end: at least one block lost */
	uint64_t damaged_headers;                     /* read anyway (evr_log_reader_open_salvage) */
	struct evr_filter filter;
	struct evr_reorder window;
	bool summary;
	uint64_t limit, shown, cap; /* cap: entries of `last` allocated, grown up to limit as records come */
	/* The descriptions of the files read so far (each its own, or the platform's table for a
	 * version 1 log; equal ones shared), copies, so that -n N decodes a record with its own file's
	 * description after that file is closed; `schema` is the current file's. */
	struct schema_copy {
		struct evr_desc_header *desc;
		uint64_t *by_type; /* --summary: records shown, by this description's type ids */
	} *schemas;
	unsigned n_schemas, cur;
	const struct evr_desc_header *schema;
	struct shown { struct evr_record rec; unsigned schema; } *last; /* -n N: the newest N, circular */
	/* --into: the ring, opened with the current file's description as this process's table, so that
	 * records of an older or newer table are written in the ring's layout (or refused) */
	const char *into;
	struct evr_ring *ring;
	unsigned ring_schema; /* the schema the ring was opened with; UINT_MAX when none */
};

/* One log file as evr_log_each walks it. */
struct file_walk {
	struct replay *rp;
	const char *path;
	bool damaged;
};

static int open_into(struct replay *rp, unsigned i);

/* A record that passed the filters, in time order, decoded with schema `si`: out now. */
static void deliver_as(struct replay *rp, struct evr_record *rec, unsigned si)
{
	char buf[EVR_DESC_JSON_MAX];
	const struct evr_desc_header *d = rp->schemas[si].desc;
	rp->shown++;
	if (rec->type < d->type_count) /* --raw passes invalid records on as recorded */
		rp->schemas[si].by_type[rec->type]++;
	if (rp->out == OUT_RING) {
		/* -n keeps records past their file: write each with its own file's table */
		if (si != rp->ring_schema && open_into(rp, si)) {
			rp->refused++;
			return;
		}
		rec->flags |= EVR_REC_REPLAYED;
		int rc = evr_emit(rp->p, rec);
		if (rc == -EAGAIN) {
			rp->dropped++;
		} else if (rc && rp->refused++ < 5) { /* a type the ring's (older) table lacks */
			const struct evr_desc_type *t = evr_desc_type(d, rec->type);
			evr_cli_error("replay", "%s refused a %s record: %s", rp->into, t ? t->name : "?", evr_strerror(rc));
		}
	} else if (rp->out == OUT_RAW) {
		fwrite(rec, sizeof *rec, 1, stdout);
	} else if ((rp->out == OUT_JSON ? evr_desc_record_to_json(d, rec, buf, sizeof buf)
					: evr_format_line_desc(d, rec, buf, sizeof buf)) > 0) {
		puts(buf);
	}
}

/* A record of the current file: out now, or kept among the newest N. */
static void deliver(struct replay *rp, struct evr_record *rec)
{
	if (rp->limit && rp->shown == rp->cap && rp->cap < rp->limit) { /* -n 16M need not cost 2 GiB up front */
		uint64_t cap = rp->cap ? rp->cap * 2 : 1024;
		cap = cap < rp->limit ? cap : rp->limit;
		struct shown *more = realloc(rp->last, cap * sizeof *more);
		if (more) {
			rp->last = more;
			rp->cap = cap;
		} else { /* keep the newest of what fits, and say so */
			evr_cli_error("replay", "out of memory for -n %" PRIu64 ": keeping the newest %" PRIu64, rp->limit,
				      rp->cap);
			rp->limit = rp->cap;
		}
	}
	if (rp->limit)
		rp->last[rp->shown++ % rp->limit] = (struct shown){ *rec, rp->cur };
	else
		deliver_as(rp, rec, rp->cur);
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
		deliver_as(rp, &rp->last[i % limit].rec, rp->last[i % limit].schema);
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

static void replay_block(const struct evr_log_block *b, void *arg)
{
	struct replay *rp = ((struct file_walk *)arg)->rp;
	rp->blocks++;
	if (b->hdr->lost_lapped)
		loss_line(rp, b->hdr->lost_lapped, "lapped");
	if (b->hdr->lost_abandoned)
		loss_line(rp, b->hdr->lost_abandoned, "abandoned");
	rp->lost += b->hdr->lost_lapped + b->hdr->lost_abandoned;
	for (uint32_t i = 0; i < b->hdr->count; i++)
		one_record(rp, b->records + (size_t)i * EVR_RECORD_SIZE);
}

/* A damaged block, read around by evr_log_each: say exactly what was skipped, on stderr and inline
 * (text and JSON), so the loss is counted and shown, never silent. */
static void skipped(const struct evr_log_skip *skip, const char *why, void *arg)
{
	struct file_walk *w = arg;
	struct replay *rp = w->rp;
	const char *path = w->path;
	struct evr_log_skip sk = *skip;
	w->damaged = true;
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

/* Make d (the next file's description) current: shared with an equal earlier one or copied; the
 * filters bound to its names; the --into ring reopened with it as this process's table. */
static int use_schema(struct replay *rp, const struct evr_desc_header *d)
{
	unsigned i = 0;
	while (i < rp->n_schemas && !(rp->schemas[i].desc->size == d->size && !memcmp(rp->schemas[i].desc, d, d->size)))
		i++;
	if (i == rp->n_schemas) {
		struct schema_copy *more = realloc(rp->schemas, (i + 1) * sizeof *more);
		if (more)
			rp->schemas = more;
		struct evr_desc_header *copy = more ? malloc(d->size) : NULL;
		uint64_t *counts = copy ? calloc(d->type_count, sizeof *counts) : NULL;
		if (!counts) {
			free(copy);
			evr_cli_error("replay", "out of memory");
			return EVR_EXIT_FAIL;
		}
		rp->schemas[rp->n_schemas++] = (struct schema_copy){ memcpy(copy, d, d->size), counts };
	}
	rp->cur = i;
	rp->schema = rp->schemas[i].desc;
	char why[256];
	/* names of this log's own table; one only another log's table has selects nothing here */
	evr_filter_bind(&rp->filter, rp->schema, false, why, sizeof why);
	if (rp->out != OUT_RING || rp->ring_schema == i)
		return 0;
	drain(rp); /* the previous file's records go out with the table they were written with */
	return open_into(rp, i);
}

/* (Re)open the --into ring with schema i as this process's table. */
static int open_into(struct replay *rp, unsigned i)
{
	if (rp->p)
		evr_producer_close(rp->p);
	if (rp->ring)
		evr_ring_close(rp->ring);
	rp->p = NULL;
	rp->ring = NULL;
	rp->ring_schema = UINT_MAX;
	int orc = evr_cli_open_ring_schema("replay", rp->into, EVR_ROLE_PRODUCER, rp->schemas[i].desc, &rp->ring);
	if (orc)
		return orc; /* 2 for a name that cannot be a ring's, as in every command; 1 for a table it refuses */
	struct evr_err err = { 0 };
	if (evr_producer_open(rp->ring, "evring-replay", &rp->p, &err)) {
		evr_cli_error("replay", "%s", err.msg);
		return EVR_EXIT_FAIL;
	}
	rp->ring_schema = i;
	return 0;
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
	if ((rc = use_schema(rp, evr_log_reader_schema(&r)))) {
		evr_log_reader_close(&r);
		return rc;
	}
	struct file_walk walk = { rp, path, false };
	rc = evr_log_each(&r, replay_block, skipped, &walk, err, sizeof err);
	damaged |= walk.damaged;
	evr_log_reader_close(&r);
	drain(rp); /* a file's records come out before the next file's */
	if (rc == -ENODATA) {
		fflush(stdout);
		fprintf(stderr, "evring replay: %s: %s\n", path, err);
	}
	return damaged ? EVR_EXIT_FAIL : EVR_EXIT_OK;
}

/* --summary over every file: counts merged by type name, in order of first appearance. */
static void print_summary(const struct replay *rp)
{
	const char **names = calloc(EVR_DESC_MAX_TYPES * (size_t)rp->n_schemas + 1, sizeof *names);
	uint64_t *counts = calloc(EVR_DESC_MAX_TYPES * (size_t)rp->n_schemas + 1, sizeof *counts);
	unsigned n = 0;
	for (unsigned s = 0; names && counts && s < rp->n_schemas; s++)
		for (unsigned t = 0; t < rp->schemas[s].desc->type_count; t++) {
			if (!rp->schemas[s].by_type[t])
				continue;
			const char *name = evr_desc_type(rp->schemas[s].desc, t)->name;
			unsigned k = 0;
			while (k < n && strcmp(names[k], name))
				k++;
			names[k] = name;
			counts[k] += rp->schemas[s].by_type[t];
			n += k == n;
		}
	if (names && counts)
		evr_cli_print_counts(names, counts, n, rp->shown);
	else
		evr_cli_error("replay", "out of memory for the summary");
	free(names);
	free(counts);
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' }, { "raw", no_argument, NULL, 'r' },
		{ "into", required_argument, NULL, 'i' }, { "lines", required_argument, NULL, 'n' },
		{ "summary", no_argument, NULL, 's' }, EVR_FILTER_LONGOPTS, { NULL, 0, NULL, 0 },
	};
	struct replay rp = { .out = OUT_TEXT, .ring_schema = UINT_MAX };
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
		else if (c == 'i') { rp.out = OUT_RING; rp.into = optarg; }
		else return evr_cli_usage_error("replay", "bad option");
	}
	if (optind >= argc)
		return evr_cli_usage_error("replay", "expects one or more log FILEs");
	if (evr_reorder_init(&rp.window, rp.out == OUT_RAW ? 1 : REORDER_WINDOW)) {
		evr_cli_error("replay", "out of memory");
		evr_reorder_free(&rp.window);
		return EVR_EXIT_FAIL;
	}
	char norm[EVR_NAME_MAX + 1];
	struct evr_err nerr = { 0 };
	if (rp.into && evr_name_normalize(rp.into, norm, &nerr)) /* before any file is read */
		return evr_cli_usage_error("replay", "%s", nerr.msg);
	int rc = EVR_EXIT_OK;
	for (int i = optind; i < argc && rc != EVR_EXIT_USAGE; i++) { /* every file, even after a damaged one */
		int file_rc = replay_file(&rp, argv[i]);
		if (file_rc != EVR_EXIT_OK)
			rc = file_rc == EVR_EXIT_USAGE ? file_rc : EVR_EXIT_FAIL;
	}
	char why[256];
	if (rc != EVR_EXIT_USAGE && evr_filter_unseen(&rp.filter, why, sizeof why)) /* a typo, in every log */
		rc = evr_cli_usage_error("replay", "%s", why);
	if (rp.limit)
		deliver_last(&rp);
	if (rp.summary)
		print_summary(&rp);
	evr_reorder_free(&rp.window);
	free(rp.last);
	if (rp.p) /* before the descriptions: the ring holds the current one as its table (r->mine) */
		evr_producer_close(rp.p);
	if (rp.ring)
		evr_ring_close(rp.ring);
	for (unsigned s = 0; s < rp.n_schemas; s++) {
		free(rp.schemas[s].desc);
		free(rp.schemas[s].by_type);
	}
	free(rp.schemas);
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
	if (rp.dropped)
		fprintf(stderr, "evring replay: %" PRIu64 " records dropped by %s (slots held by stalled writers)\n",
			rp.dropped, rp.into);
	if (rp.refused) {
		fprintf(stderr, "evring replay: %" PRIu64 " records refused by %s (types its schema does not have)\n",
			rp.refused, rp.into);
		rc = EVR_EXIT_FAIL;
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
