/* evring tail: print records as text lines or JSON lines, with filters, cursors and --follow.
 *
 * Filters by type and domain are subscriptions on the dispatcher (lib/dispatch.h); plan and
 * correlation filters are checked in the callback. Losses are always printed inline and counted:
 * a consumer never hides a gap. --follow sleeps on the ring's futex between bursts.
 *
 * -n N shows the newest N records, like tail(1): until the consumer first catches up, items are
 * held in a queue that keeps the last N records (and the loss notices after the oldest of them),
 * then printed. Everything read is then shown or older than what was shown, so the cursor saved
 * at the end never skips a record.
 *
 * --follow also watches the name, like tail -F (ringwatch.h): unlinked, it says the ring is
 * orphaned and reads on (producers that have it mapped may still write); replaced, it says so and
 * follows the new ring from its oldest record. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dispatch.h"
#include "filter.h"
#include "format.h"
#include "monotime.h"
#include "ringwatch.h"

#define WATCH_PERIOD_NS 1000000000u /* how often an idle follower checks the ring's name */

/* -n N: the newest items until the consumer first catches up; a circular queue growing to fit. */
struct backlog {
	struct evr_item *items;
	size_t cap, head, len, records;
};

struct tail {
	bool json, holding; /* holding: -n N and not caught up yet */
	uint64_t limit, shown;
	struct evr_filter filter;
	uint64_t by_type[EVR_DESC_MAX_TYPES];
	struct backlog held;
	struct evr_desc_header *desc; /* the ring's own description: every record is decoded with it */
};

static void show(struct tail *t, const struct evr_item *it);

static bool is_record(const struct evr_item *it)
{
	return it->kind == EVR_ITEM_RECORD || it->kind == EVR_ITEM_INVALID;
}

static struct evr_item *held_at(struct backlog *b, size_t i)
{
	return &b->items[(b->head + i) % b->cap];
}

/* Keep the item; drop the oldest record (and the losses before the new oldest) beyond limit. */
static int hold(struct tail *t, const struct evr_item *it)
{
	struct backlog *b = &t->held;
	if (b->len == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		struct evr_item *items = malloc(cap * sizeof *items);
		if (!items)
			return -ENOMEM;
		for (size_t i = 0; i < b->len; i++)
			items[i] = *held_at(b, i);
		free(b->items);
		*b = (struct backlog){ .items = items, .cap = cap, .len = b->len, .records = b->records };
	}
	*held_at(b, b->len++) = *it;
	b->records += is_record(it);
	if (b->records <= t->limit)
		return 0;
	/* One record too many: drop the oldest, what came before it, and the losses after it (they
	 * are older than every record that will be shown). */
	while (b->records > t->limit || !is_record(held_at(b, 0))) {
		b->records -= is_record(held_at(b, 0));
		b->head = (b->head + 1) % b->cap;
		b->len--;
	}
	return 0;
}

/* Caught up (or stopping): print what was held, then print as it comes. */
static void release(struct tail *t)
{
	if (!t->holding)
		return;
	t->holding = false;
	for (size_t i = 0; i < t->held.len; i++)
		show(t, held_at(&t->held, i));
	free(t->held.items);
	t->held = (struct backlog){ 0 };
}

static void print_invalid(struct tail *t, const struct evr_item *it)
{
	char why[128] = "";
	evr_desc_record_validate(t->desc, &it->rec, why, sizeof why);
	if (t->json)
		printf("{\"invalid\":true,\"lane\":%u,\"pos\":%" PRIu64 ",\"reason\":\"%s\"}\n", it->lane, it->pos, why);
	else
		printf("-- invalid record on lane %u at position %" PRIu64 ": %s\n", it->lane, it->pos, why);
}

static void print_loss(const struct tail *t, const struct evr_item *it)
{
	bool lapped = it->kind == EVR_ITEM_LOST_LAPPED;
	if (t->json)
		printf("{\"lost\":%" PRIu64 ",\"reason\":\"%s\",\"lane\":%u,\"pos\":%" PRIu64 "}\n", it->count,
		       lapped ? "lapped" : "abandoned", it->lane, it->pos);
	else
		printf("-- lost %" PRIu64 " record%s on lane %u from position %" PRIu64 " (%s)\n", it->count,
		       it->count == 1 ? "" : "s", it->lane, it->pos,
		       lapped ? "lapped: overwritten before they were read"
			      : "abandoned: claimed by a producer that never published");
}

static void show(struct tail *t, const struct evr_item *it)
{
	if (it->kind == EVR_ITEM_INVALID)
		return print_invalid(t, it);
	if (it->kind != EVR_ITEM_RECORD)
		return print_loss(t, it);
	char buf[EVR_DESC_JSON_MAX];
	int n = t->json ? evr_desc_record_to_json(t->desc, &it->rec, buf, sizeof buf)
			: evr_format_line_desc(t->desc, &it->rec, buf, sizeof buf);
	if (n > 0) {
		puts(buf);
		t->shown++;
		t->by_type[it->rec.type]++;
	}
}

static void on_item(const struct evr_item *it, void *arg)
{
	struct tail *t = arg;
	if (it->kind == EVR_ITEM_RECORD && !evr_filter_match(&t->filter, &it->rec))
		return;
	if (!t->holding)
		show(t, it);
	else if (hold(t, it))
		release(t); /* out of memory: show what we have rather than lose it */
}

struct tail_opts {
	const char *name, *from, *save_cursor;
	bool follow, summary;
	uint64_t limit;
};

static int parse(int argc, char **argv, struct tail_opts *o, struct tail *t)
{
	static const struct option longopts[] = {
		EVR_FILTER_LONGOPTS,
		{ "from", required_argument, NULL, 'f' },     { "json", no_argument, NULL, 'j' },
		{ "follow", no_argument, NULL, 'F' },         { "lines", required_argument, NULL, 'n' },
		{ "summary", no_argument, NULL, 's' },        { "save-cursor", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;
	while ((c = getopt_long(argc, argv, "fn:", longopts, NULL)) != -1) {
		if ((rc = evr_filter_option("tail", &t->filter, c, optarg)) >= 0) {
			if (rc)
				return rc;
			continue;
		}
		switch (c) {
		case 'f': if (optarg) o->from = optarg; else o->follow = true; break;
		case 'j': t->json = true; break;
		case 'F': o->follow = true; break;
		case 'n':
			if (evr_cli_parse_u64(optarg, false, &t->limit))
				return evr_cli_usage_error("tail", "-n/--lines: '%s' is not a number", optarg);
			if (!t->limit) { /* -n 0, as in tail -n 0 -f: nothing old, only what comes */
				o->from = "latest";
				break;
			}
			o->limit = t->limit;
			t->holding = true;
			break;
		case 's': o->summary = true; break;
		case 'S': o->save_cursor = optarg; break;
		default:
			if (!strcmp(argv[optind - 1], "--count")) /* --count is "stop after N" elsewhere */
				return evr_cli_usage_error("tail", "the newest N records are -n N (or --lines N)");
			return evr_cli_usage_error("tail", "bad option");
		}
	}
	if (optind != argc - 1)
		return evr_cli_usage_error("tail", "expects one ring NAME");
	o->name = argv[optind];
	return 0;
}

static int open_consumer(const struct tail_opts *o, struct evr_ring *ring, struct evr_consumer **c)
{
	struct evr_cursor cur;
	struct evr_consumer_opts co = { .start = EVR_START_OLDEST, .merge_by_time = true }; /* time order across lanes */
	if (!strcmp(o->from, "latest")) {
		co.start = o->limit ? EVR_START_OLDEST : EVR_START_LATEST; /* -n N: the N before the end */
	} else if (strcmp(o->from, "oldest")) {
		bool found;
		if (evr_cli_load_cursor("tail", o->from, false, &cur, &found))
			return EVR_EXIT_FAIL; /* not oldest or latest: a cursor file */
		co.start = EVR_START_CURSOR;
		co.cursor = &cur;
	}
	struct evr_err err = { 0 };
	if (evr_consumer_open(ring, &co, c, &err)) {
		evr_cli_error("tail", "%s", err.msg);
		return EVR_EXIT_FAIL;
	}
	return 0;
}

/* What tail reads; with --follow, the ring may change under the same name. */
struct source {
	struct evr_ring *ring;
	struct evr_consumer *c;
	uint64_t ring_id;
	bool orphaned;
	struct evr_lane_stats before; /* totals of the rings followed before this one */
};

static void add_stats(struct evr_lane_stats *sum, const struct evr_consumer *c)
{
	struct evr_lane_stats st;
	evr_consumer_stats(c, &st);
	sum->delivered += st.delivered;
	sum->invalid += st.invalid;
	sum->lost_lapped += st.lost_lapped;
	sum->lost_abandoned += st.lost_abandoned;
}

static void watch_name(const struct tail_opts *o, struct source *s, struct tail *t)
{
	enum evr_name_state st = evr_ring_name_state(o->name, s->ring_id);
	if (st == EVR_NAME_UNLINKED && !s->orphaned) {
		s->orphaned = true;
		evr_cli_error("tail", "%s was unlinked: reading the orphaned ring until a new ring of that name appears",
			      o->name);
	}
	if (st != EVR_NAME_REPLACED)
		return;
	struct evr_ring *ring;
	struct evr_consumer *c;
	struct evr_consumer_opts co = { .start = EVR_START_OLDEST, .merge_by_time = true };
	if (evr_ring_open(o->name, EVR_ROLE_CONSUMER, &ring, NULL))
		return; /* not a ring (yet): try again next period */
	if (evr_consumer_open(ring, &co, &c, NULL)) {
		evr_ring_close(ring);
		return;
	}
	evr_cli_error("tail", "%s was replaced by a new ring: following it from its oldest record", o->name);
	add_stats(&s->before, s->c);
	evr_consumer_close(s->c);
	evr_ring_close(s->ring);
	free(t->desc); /* the new ring describes itself; its records are decoded with that */
	t->desc = evr_cli_schema_copy(ring);
	char why[256];
	if (evr_filter_bind(&t->filter, t->desc, true, why, sizeof why)) { /* a table that lacks some */
		evr_filter_bind(&t->filter, t->desc, false, why, sizeof why);
		evr_cli_error("tail", "the new ring: %s; showing the types it has of those asked for", why);
	}
	struct evr_ring_info info;
	evr_ring_get_info(ring, &info);
	*s = (struct source){ .ring = ring, .c = c, .ring_id = info.ring_id, .before = s->before };
}

static int pump(struct evr_dispatcher *d, struct source *src, const struct tail_opts *o, struct tail *t)
{
	struct evr_item items[64];
	uint64_t next_watch = evr_mono_ns() + WATCH_PERIOD_NS;
	while (!evr_cli_stop) {
		int n = evr_consumer_poll_batch(src->c, items, 64);
		if (n < 0) {
			evr_cli_ring_unreadable("tail", src->ring, n);
			return EVR_EXIT_FAIL;
		}
		for (int i = 0; i < n; i++)
			evr_dispatch(d, &items[i]);
		if (ferror(stdout) && !evr_cli_flush())
			break; /* the reader went away: stop reading too */
		if (n > 0)
			continue;
		release(t); /* caught up: -n N shows its records now */
		if (!o->follow || !evr_cli_flush_before_wait())
			break;
		if (t->filter.until && evr_cli_wall_ns() > t->filter.until)
			break; /* following up to a time that has passed */
		if (evr_mono_ns() >= next_watch) {
			watch_name(o, src, t);
			next_watch = evr_mono_ns() + WATCH_PERIOD_NS;
		}
		evr_consumer_wait(src->c, 200 * 1000 * 1000); /* wakes for data; the timeout checks ^C and the name */
	}
	return 0;
}

static int run(int argc, char **argv)
{
	struct tail_opts o = { .from = "oldest" };
	struct tail t = { 0 };
	int rc = parse(argc, argv, &o, &t);
	if (rc)
		return rc;
	struct source src = { 0 };
	int open_rc = evr_cli_open_ring("tail", o.name, EVR_ROLE_CONSUMER, &src.ring);
	if (open_rc)
		return open_rc;
	if ((rc = open_consumer(&o, src.ring, &src.c))) {
		evr_ring_close(src.ring);
		return rc;
	}
	struct evr_ring_info info;
	evr_ring_get_info(src.ring, &info);
	src.ring_id = info.ring_id;
	t.desc = evr_cli_schema_copy(src.ring);
	char why[256];
	if (evr_filter_bind(&t.filter, t.desc, true, why, sizeof why)) {
		rc = evr_cli_usage_error("tail", "%s", why);
		free(t.desc);
		evr_consumer_close(src.c);
		evr_ring_close(src.ring);
		return rc;
	}
	struct evr_dispatcher *d;
	if (evr_dispatcher_create(&d))
		return EVR_EXIT_FAIL;
	evr_dispatch_thread_online();
	/* records are filtered in on_item: by the ring's own type ids, which a dispatcher mask may not hold */
	struct evr_subscription *records = evr_subscribe(d, EVR_SUB_ALL_TYPES, on_item, &t);
	struct evr_subscription *losses = evr_subscribe(d, EVR_SUB_LOSSES, on_item, &t);
	evr_cli_handle_stop_signals();
	rc = pump(d, &src, &o, &t);
	release(&t); /* stopped before catching up: still show the newest N read */
	if (o.summary && !evr_cli_output_closed())
		evr_cli_print_type_counts(t.desc, t.by_type, t.shown);
	evr_cli_flush();
	struct evr_lane_stats st = src.before;
	add_stats(&st, src.c);
	if (!evr_cli_output_closed())
		fprintf(stderr,
		"evring tail: %" PRIu64 " shown of %" PRIu64 " delivered; lost %" PRIu64 " lapped + %" PRIu64
		" abandoned; %" PRIu64 " invalid\n",
		t.shown, st.delivered, st.lost_lapped, st.lost_abandoned, st.invalid);
	if (o.save_cursor) {
		struct evr_cursor cur;
		evr_consumer_cursor(src.c, &cur);
		if (evr_cli_save_cursor("tail", o.save_cursor, &cur))
			rc = EVR_EXIT_FAIL;
	}
	evr_unsubscribe(d, records);
	evr_unsubscribe(d, losses);
	evr_dispatch_thread_offline();
	evr_dispatcher_destroy(d);
	evr_consumer_close(src.c);
	evr_ring_close(src.ring);
	free(t.desc);
	return rc;
}

const struct evr_command evr_cmd_tail = {
	.name = "tail",
	.summary = "print records (text or JSON lines), filter, follow, resume from a cursor",
	.usage = "evring tail NAME [--from oldest|latest|CURSOR_FILE] [--json] [--follow|-f] [-n|--lines N]\n"
		 "                  [--summary] [--save-cursor FILE]\n"
		 "                  " EVR_FILTER_USAGE "\n"
		 "  Lost records (lapped, or abandoned by a dead or stalled producer) are printed inline\n"
		 "  and counted; the totals go to stderr at the end. -n N shows the newest N records\n"
		 "  (then, with --follow, everything new; -n 0: none); --follow waits for new records\n"
		 "  (sleeping on the ring's futex) until ^C; like tail -F, it says when the ring is\n"
		 "  unlinked and moves to a new ring of the same name. --save-cursor writes where tail stopped;\n"
		 "  --from FILE resumes there and reports exactly what was lost meanwhile.\n"
		 EVR_FILTER_HELP "\n"
		 "  --follow --until stops once the clock passes TIME.",
	.run = run,
};
