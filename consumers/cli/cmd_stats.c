/* evring stats: counts and rates per type, domain and producer, consumer lag and losses.
 *
 * Without --interval it drains the ring once (from the oldest record by default) and prints one
 * summary of counts; with --interval S it follows the ring (from the latest record by default) and
 * prints the rates of each interval. --json prints one JSON object per report, always with these
 * keys (scripts rely on them; rates are events/s, 0 in a one-shot summary):
 *   interval_s, records, rate, invalid, lost_lapped, lost_abandoned, lag,
 *   types {NAME: {count, rate}}, domains {NAME: count}, domain_rates {NAME: rate},
 *   producers [{id, service, pid, alive, records, rate, emitted, dropped}]
 * Types and domains list only those with records in the report; producers, every used entry. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aggregate.h"
#include "cli.h"
#include <evring/platform.h>

struct stats_opts {
	const char *name, *from;
	uint64_t interval_ns, count;
	bool json;
};

/* A service name as a JSON string: producers choose their names, so quote and escape them. */
static void json_string(const char *v)
{
	char esc[6 * EVR_SERVICE_NAME_MAX + 8]; /* room for every byte escaped: nothing is cut */
	printf("\"%s\"", evr_cli_json_escape(v, esc, sizeof esc));
}

/* Events per second of one counter over the current interval; 0 in a one-shot summary. */
#define RATE(field) (rates ? evr_agg_rate(a, n->field, p->field) : 0.0)

static void json_report(const struct evr_agg *a, bool rates)
{
	const struct evr_counts *n = &a->now, *p = &a->prev;
	double secs = (double)(evr_mono_ns() - p->at_ns) / 1e9;
	printf("{\"interval_s\":%.3f,\"records\":%" PRIu64 ",\"rate\":%.1f,\"invalid\":%" PRIu64
	       ",\"lost_lapped\":%" PRIu64 ",\"lost_abandoned\":%" PRIu64 ",\"lag\":%" PRIu64 ",\"types\":{",
	       rates ? secs : 0.0, n->records - p->records, RATE(records), n->invalid - p->invalid, n->lost_lapped - p->lost_lapped,
	       n->lost_abandoned - p->lost_abandoned, evr_agg_lag(a));
	bool first = true;
	for (unsigned t = 0; t < a->schema->type_count; t++) {
		if (n->by_type[t] == p->by_type[t])
			continue;
		printf("%s\"%s\":{\"count\":%" PRIu64 ",\"rate\":%.1f}", first ? "" : ",", evr_desc_type(a->schema, t)->name,
		       n->by_type[t] - p->by_type[t], RATE(by_type[t]));
		first = false;
	}
	printf("},\"domains\":{");
	first = true;
	for (unsigned d = 0; d < a->domain_count; d++) {
		if (n->by_domain[d] == p->by_domain[d])
			continue;
		printf("%s\"%s\":%" PRIu64, first ? "" : ",", a->domains[d], n->by_domain[d] - p->by_domain[d]);
		first = false;
	}
	printf("},\"domain_rates\":{"); /* beside "domains", whose values stay plain counts */
	first = true;
	for (unsigned d = 0; d < a->domain_count; d++) {
		if (n->by_domain[d] == p->by_domain[d])
			continue;
		printf("%s\"%s\":%.1f", first ? "" : ",", a->domains[d], RATE(by_domain[d]));
		first = false;
	}
	printf("},\"producers\":[");
	first = true;
	for (unsigned i = 0; i < a->max_producers; i++) {
		struct evr_producer_info pi;
		if (evr_ring_producer_info(a->ring, i, &pi))
			continue;
		printf("%s{\"id\":%u,\"service\":", first ? "" : ",", i);
		json_string(pi.service);
		printf(",\"pid\":%d,\"alive\":%s,\"records\":%" PRIu64 ",\"rate\":%.1f,\"emitted\":%" PRIu64
		       ",\"dropped\":%" PRIu64 "}",
		       pi.pid, pi.state == EVR_PRODUCER_LIVE && pi.alive ? "true" : "false",
		       n->by_producer[i] - p->by_producer[i], RATE(by_producer[i]), pi.emitted, pi.dropped);
		first = false;
	}
	printf("]}\n");
}

static void text_report(const struct evr_agg *a, bool rates)
{
	const struct evr_counts *n = &a->now, *p = &a->prev;
	printf("records %" PRIu64 ", lost %" PRIu64 " lapped + %" PRIu64 " abandoned, %" PRIu64 " invalid, lag %" PRIu64 "\n",
	       n->records - p->records, n->lost_lapped - p->lost_lapped, n->lost_abandoned - p->lost_abandoned,
	       n->invalid - p->invalid, evr_agg_lag(a));
	printf("\n%-26s %12s%s\n", "type", "records", rates ? "       rate/s" : "");
	for (unsigned t = 0; t < a->schema->type_count; t++) {
		if (n->by_type[t] == p->by_type[t])
			continue;
		printf("%-26s %12" PRIu64, evr_desc_type(a->schema, t)->name, n->by_type[t] - p->by_type[t]);
		if (rates)
			printf(" %13.1f", RATE(by_type[t]));
		printf("\n");
	}
	printf("\n%-26s %12s%s\n", "domain", "records", rates ? "       rate/s" : "");
	for (unsigned d = 0; d < a->domain_count; d++) {
		if (n->by_domain[d] == p->by_domain[d])
			continue;
		printf("%-26s %12" PRIu64, a->domains[d], n->by_domain[d] - p->by_domain[d]);
		if (rates)
			printf(" %13.1f", RATE(by_domain[d]));
		printf("\n");
	}
	printf("\n%-4s %-24s %-8s %5s %12s %12s %10s%s\n", "id", "service", "pid", "alive", "records", "emitted",
	       "dropped", rates ? "       rate/s" : "");
	for (unsigned i = 0; i < a->max_producers; i++) {
		struct evr_producer_info pi;
		if (evr_ring_producer_info(a->ring, i, &pi))
			continue;
		printf("%-4u %-24s %-8d %5s %12" PRIu64 " %12" PRIu64 " %10" PRIu64, i, pi.service, pi.pid,
		       pi.state == EVR_PRODUCER_LIVE && pi.alive ? "yes" : "no", n->by_producer[i] - p->by_producer[i],
		       pi.emitted, pi.dropped);
		if (rates)
			printf(" %13.1f", RATE(by_producer[i]));
		printf("\n");
	}
}

static int parse(int argc, char **argv, struct stats_opts *o)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' }, { "reports", required_argument, NULL, 'n' },
		{ "from", required_argument, NULL, 'f' },     { "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (evr_cli_parse_seconds(optarg, &o->interval_ns) || o->interval_ns < 10000000u)
				return evr_cli_usage_error("stats", "--interval: '%s' is not seconds >= 0.01", optarg);
			break;
		case 'n':
			if (evr_cli_parse_u64(optarg, false, &o->count) || !o->count)
				return evr_cli_usage_error("stats", "--reports: '%s' is not a positive number", optarg);
			break;
		case 'f':
			if (strcmp(optarg, "oldest") && strcmp(optarg, "latest"))
				return evr_cli_usage_error("stats", "--from: '%s' is not oldest or latest", optarg);
			o->from = optarg;
			break;
		case 'j': o->json = true; break;
		default:
			if (!strcmp(argv[optind - 1], "--count")) /* --count is "stop after N records" elsewhere */
				return evr_cli_usage_error("stats", "the number of reports is --reports N");
			return evr_cli_usage_error("stats", "bad option");
		}
	}
	if (optind != argc - 1)
		return evr_cli_usage_error("stats", "expects one ring NAME");
	o->name = argv[optind];
	if (!o->from)
		o->from = o->interval_ns ? "latest" : "oldest";
	return 0;
}

static int follow(struct evr_agg *a, const struct stats_opts *o)
{
	for (uint64_t reports = 0; !evr_cli_stop && (!o->count || reports < o->count); reports++) {
		uint64_t start = evr_mono_ns(), end = start + o->interval_ns;
		while (!evr_cli_stop && evr_mono_ns() < end) {
			int n = evr_agg_drain(a, 1u << 20);
			if (n < 0) {
				evr_cli_ring_unreadable("stats", a->ring, n);
				return EVR_EXIT_FAIL;
			}
			if (n == 0) {
				uint64_t now = evr_mono_ns();
				evr_consumer_wait(a->consumer, now < end ? (int64_t)(end - now) : 0);
			}
		}
		if (o->json) {
			json_report(a, true);
		} else {
			char when[32];
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			evr_cli_format_time((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, when);
			/* a stop signal ends the last window early: say how long it really was */
			printf("== %s, last %.2f s: ", when, (double)(evr_mono_ns() - start) / 1e9);
			text_report(a, true);
			printf("\n");
		}
		if (!evr_cli_flush_before_wait())
			break; /* the reader went away */
		evr_agg_snapshot(a);
	}
	return EVR_EXIT_OK;
}

static int run(int argc, char **argv)
{
	struct stats_opts o = { 0 };
	int rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	struct evr_agg a;
	if ((rc = evr_cli_open_agg("stats", o.name, strcmp(o.from, "latest") ? EVR_START_OLDEST : EVR_START_LATEST, &a)))
		return rc;
	evr_cli_handle_stop_signals();
	if (o.interval_ns) {
		rc = follow(&a, &o);
	} else {
		int n = evr_agg_catch_up(&a); /* what is there now: ends under any producer rate */
		if (n < 0) {
			evr_cli_ring_unreadable("stats", a.ring, n);
			rc = EVR_EXIT_FAIL;
		} else if (o.json) {
			json_report(&a, false);
		} else {
			text_report(&a, false);
		}
	}
	evr_cli_close_agg(&a);
	return rc;
}

const struct evr_command evr_cmd_stats = {
	.name = "stats",
	.summary = "counts and rates per type, domain and producer; lag and losses",
	.usage = "evring stats NAME [--interval S [--reports N]] [--from oldest|latest] [--json]\n"
		 "  without --interval: read what the ring holds (from the oldest record) and print counts;\n"
		 "  with --interval S: follow the ring (from the latest record) and print each interval's\n"
		 "  rates, N times or until ^C. --json: one JSON object per report.",
	.run = run,
};
