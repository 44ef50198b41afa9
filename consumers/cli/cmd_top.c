/* evring top: a live full-screen view of a ring (ncurses): event types sorted by rate, domains,
 * producers with their emitted/dropped counters and liveness, consumer lag and losses. 'q' quits.
 * It reads from the latest record: what it shows is the traffic since it started.
 * It needs a terminal; without one it says so and points at `evring stats --interval` (exit 2). */
#include <curses.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aggregate.h"
#include "cli.h"
#include <evring/platform.h>

struct rated {
	unsigned type;
	uint64_t count;
	double rate;
};

static int by_rate(const void *x, const void *y)
{
	const struct rated *a = x, *b = y;
	return a->rate < b->rate ? 1 : a->rate > b->rate ? -1 : (int)a->type - (int)b->type;
}

/* One line of the domains that saw records, with their rates: the shape of the traffic at a glance. */
static void draw_domains(const struct evr_agg *a, int y)
{
	const struct evr_counts *n = &a->now, *p = &a->prev;
	mvprintw(y, 0, "domains/s:");
	for (unsigned d = 0; d < a->domain_count; d++)
		if (n->by_domain[d])
			printw("  %s %.1f", a->domains[d], evr_agg_rate(a, n->by_domain[d], p->by_domain[d]));
}

static void draw(const struct evr_agg *a, const char *name, double interval_s)
{
	const struct evr_counts *n = &a->now, *p = &a->prev;
	struct rated rows[EVR_DESC_MAX_TYPES];
	unsigned types = a->schema->type_count; /* the ring's own types, by its names */
	double total = 0;
	for (unsigned t = 0; t < types; t++) {
		rows[t] = (struct rated){ t, n->by_type[t], evr_agg_rate(a, n->by_type[t], p->by_type[t]) };
		total += rows[t].rate;
	}
	qsort(rows, types, sizeof rows[0], by_rate);
	erase();
	int y = 0;
	attron(A_BOLD);
	mvprintw(y++, 0, "evring top %s   every %.1f s   q quits", name, interval_s);
	attroff(A_BOLD);
	mvprintw(y++, 0, "%.0f records/s   lag %" PRIu64 "   lost %" PRIu64 " lapped + %" PRIu64 " abandoned   %" PRIu64
		 " invalid   %" PRIu64 " records seen",
		 total, evr_agg_lag(a), n->lost_lapped, n->lost_abandoned, n->invalid, n->records);
	y++;
	attron(A_REVERSE);
	mvprintw(y++, 0, "%-26s %12s %14s", "type", "rate/s", "records");
	attroff(A_REVERSE);
	int type_rows = LINES / 2 - 4;
	for (int i = 0; i < (int)types && i < type_rows; i++)
		mvprintw(y++, 0, "%-26s %12.1f %14" PRIu64, evr_desc_type(a->schema, rows[i].type)->name, rows[i].rate,
			 rows[i].count);
	y++;
	draw_domains(a, y++);
	y++;
	attron(A_REVERSE);
	mvprintw(y++, 0, "%-4s %-24s %-8s %5s %14s %12s", "id", "service", "pid", "alive", "emitted", "dropped");
	attroff(A_REVERSE);
	for (unsigned i = 0; i < a->max_producers && y < LINES - 1; i++) {
		struct evr_producer_info pi;
		if (evr_ring_producer_info(a->ring, i, &pi) || pi.state != EVR_PRODUCER_LIVE)
			continue;
		mvprintw(y++, 0, "%-4u %-24s %-8d %5s %14" PRIu64 " %12" PRIu64, i, pi.service, pi.pid,
			 pi.alive ? "yes" : "NO", pi.emitted, pi.dropped);
	}
	refresh();
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = { { "interval", required_argument, NULL, 'i' }, { NULL, 0, NULL, 0 } };
	uint64_t interval_ns = 1000000000u;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'i' || evr_cli_parse_seconds(optarg, &interval_ns) || interval_ns < 100000000u)
			return evr_cli_usage_error("top", "--interval takes seconds >= 0.1");
	}
	if (optind != argc - 1)
		return evr_cli_usage_error("top", "expects one ring NAME");
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		evr_cli_error("top", "needs a terminal; for a log or a pipe use: evring stats %s --interval 1", argv[optind]);
		return EVR_EXIT_USAGE;
	}
	struct evr_agg a;
	int rc = evr_cli_open_agg("top", argv[optind], EVR_START_LATEST, &a);
	if (rc)
		return rc;
	struct evr_consumer *cons = a.consumer;
	/* newterm, not initscr: an unknown TERM is an error message here, not an exit inside curses. */
	SCREEN *screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		evr_cli_error("top", "cannot drive terminal type '%s' (set TERM)", getenv("TERM") ? getenv("TERM") : "");
		evr_cli_close_agg(&a);
		return EVR_EXIT_FAIL;
	}
	evr_cli_handle_stop_signals();
	cbreak();
	noecho();
	curs_set(0);
	/* getch() never blocks: we sleep on the ring instead (at most 20 ms), so a burst of records
	 * wakes us before it can lap us, and a key waits at most 20 ms while the ring is quiet. */
	timeout(0);
	uint64_t next = evr_mono_ns() + interval_ns;
	rc = EVR_EXIT_OK;
	draw(&a, argv[optind], (double)interval_ns / 1e9);
	while (!evr_cli_stop) {
		int key = getch();
		if (key == 'q' || key == 'Q')
			break;
		if ((rc = evr_agg_drain(&a, 1u << 20)) < 0)
			break;
		if (rc == 0)
			evr_consumer_wait(cons, 20000000);
		rc = EVR_EXIT_OK;
		if (evr_mono_ns() >= next) {
			draw(&a, argv[optind], (double)interval_ns / 1e9);
			evr_agg_snapshot(&a);
			next = evr_mono_ns() + interval_ns; /* after a ^Z, no burst of catch-up redraws */
		}
	}
	endwin();
	delscreen(screen);
	if (rc < 0) {
		evr_cli_ring_unreadable("top", a.ring, rc);
		rc = EVR_EXIT_FAIL;
	}
	evr_cli_close_agg(&a);
	return rc;
}

const struct evr_command evr_cmd_top = {
	.name = "top",
	.summary = "live full-screen view of rates, producers, lag and losses",
	.usage = "evring top NAME [--interval S]   (needs a terminal; q quits)",
	.run = run,
};
