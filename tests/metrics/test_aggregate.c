/* The counting engine behind stats, top and metrics (consumers/lib/aggregate.c): exact counts per
 * type, domain and producer on known content, losses of a lapped consumer, lag, snapshots, and a
 * one-shot catch-up that ends even while a producer outruns the consumer. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "aggregate.h"
#include "test_util.h"
#include <evring/platform.h>

static struct evr_test_ring fx;
static struct evr_ring *ring, *ro; /* fx's, by their short names */
static struct evr_producer *alpha, *beta;
static struct evr_consumer *cons;
static struct evr_agg agg;

static void make_ring(uint32_t lanes, uint32_t slots)
{
	cr_assert_eq(evr_test_ring_open(&fx, "agg", lanes, slots, "alpha"), 0);
	ring = fx.ring, ro = fx.ro, alpha = fx.prod;
	cr_assert_eq(evr_producer_open(ring, "beta", &beta, NULL), 0);
	cr_assert_eq(evr_consumer_open(ro, NULL, &cons, NULL), 0); /* oldest: position 0 of every lane */
	cr_assert_eq(evr_agg_init(&agg, ro, cons), 0);
}

static void setup_2x64(void) { make_ring(2, 64); }
static void setup_1x16(void) { make_ring(1, 16); }

static void teardown(void)
{
	evr_agg_free(&agg);
	evr_consumer_close(cons);
	evr_producer_close(beta);
	evr_test_ring_close(&fx);
}

static void emit_n(struct evr_producer *p, enum evr_type type, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct evr_record r;
		evr_record_init(&r, type, i + 1, 7);
		cr_assert_eq(evr_emit(p, &r), 0);
	}
}

/* The producer table index of the entry named `service`. */
static unsigned producer_index(const char *service)
{
	for (unsigned i = 0; i < agg.max_producers; i++) {
		struct evr_producer_info pi;
		if (!evr_ring_producer_info(ro, i, &pi) && !strcmp(pi.service, service))
			return i;
	}
	cr_assert_fail("no producer named %s", service);
	return 0;
}

Test(aggregate, counts_known_content_exactly_per_type_domain_and_producer, .init = setup_2x64, .fini = teardown)
{
	emit_n(alpha, EVR_PLAN_CREATED, 10);
	emit_n(beta, EVR_TOOL_RETRIED, 5);
	cr_assert_eq(evr_agg_lag(&agg), 15);
	cr_assert_eq(evr_agg_catch_up(&agg), 15);
	cr_assert_eq(evr_agg_lag(&agg), 0);
	cr_assert_eq(agg.now.records, 15);
	cr_assert_eq(agg.now.by_type[EVR_PLAN_CREATED], 10);
	cr_assert_eq(agg.now.by_type[EVR_TOOL_RETRIED], 5);
	uint64_t types = 0, domains = 0;
	for (unsigned t = 0; t < EVR_EVENT_COUNT; t++)
		types += agg.now.by_type[t];
	for (unsigned d = 0; d < agg.domain_count; d++)
		domains += agg.now.by_domain[d];
	cr_assert_eq(types, 15, "no other type counted");
	cr_assert_eq(domains, 15, "every record in exactly one domain");
	cr_assert_eq(agg.now.by_domain[0], 10);
	cr_assert_eq(agg.now.by_domain[4], 5);
	cr_assert_eq(agg.now.by_producer[producer_index("alpha")], 10);
	cr_assert_eq(agg.now.by_producer[producer_index("beta")], 5);
	cr_assert_eq(agg.now.lost_lapped + agg.now.lost_abandoned + agg.now.invalid, 0);
}

Test(aggregate, a_lapped_consumer_counts_every_overwritten_position_as_lost, .init = setup_1x16, .fini = teardown)
{
	emit_n(alpha, EVR_PLAN_CREATED, 40); /* 2.5 laps of a 16-slot lane past a consumer at 0 */
	cr_assert_eq(evr_agg_lag(&agg), 40);
	cr_assert_gt(evr_agg_catch_up(&agg), 0);
	cr_assert_eq(agg.now.records + agg.now.lost_lapped, 40, "records %lu + lost %lu",
		     (unsigned long)agg.now.records, (unsigned long)agg.now.lost_lapped);
	cr_assert_geq(agg.now.lost_lapped, 24);
	cr_assert_eq(agg.now.by_type[EVR_PLAN_CREATED], agg.now.records);
	cr_assert_eq(evr_agg_lag(&agg), 0);
}

Test(aggregate, a_snapshot_starts_a_new_interval_for_counts_and_rates, .init = setup_2x64, .fini = teardown)
{
	emit_n(alpha, EVR_PLAN_CREATED, 4);
	evr_agg_catch_up(&agg);
	evr_agg_snapshot(&agg);
	cr_assert_eq(agg.prev.by_type[EVR_PLAN_CREATED], 4);
	cr_assert_eq(evr_agg_rate(&agg, agg.now.records, agg.prev.records), 0.0);
	emit_n(beta, EVR_TOOL_RETRIED, 3);
	evr_agg_catch_up(&agg);
	cr_assert_eq(agg.now.by_type[EVR_TOOL_RETRIED] - agg.prev.by_type[EVR_TOOL_RETRIED], 3);
	cr_assert_eq(agg.now.by_type[EVR_PLAN_CREATED] - agg.prev.by_type[EVR_PLAN_CREATED], 0);
	unsigned b = producer_index("beta");
	cr_assert_eq(agg.now.by_producer[b] - agg.prev.by_producer[b], 3, "the snapshot copied the table");
	cr_assert_gt(evr_agg_rate(&agg, agg.now.records, agg.prev.records), 0.0);
}

static atomic_bool flood_stop;

static void *flood(void *arg)
{
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(arg, "flood", &p, NULL), 0);
	while (!atomic_load(&flood_stop)) {
		struct evr_record r;
		evr_record_init(&r, EVR_TOOL_RETRIED, 1, 1);
		evr_emit(p, &r);
	}
	evr_producer_close(p);
	return NULL;
}

Test(aggregate, catch_up_ends_while_a_producer_outruns_the_consumer, .init = setup_2x64, .fini = teardown,
     .timeout = 20)
{
	pthread_t th;
	atomic_store(&flood_stop, false);
	cr_assert_eq(pthread_create(&th, NULL, flood, ring), 0);
	while (evr_agg_lag(&agg) < 1000)
		sched_yield();
	uint64_t t0 = evr_test_now_ns();
	int n = evr_agg_catch_up(&agg);
	uint64_t took = evr_test_now_ns() - t0;
	atomic_store(&flood_stop, true);
	pthread_join(th, NULL);
	cr_assert_geq(n, 1);
	cr_assert_lt(took, 5000000000ull, "catch-up took %.2f s", (double)took / 1e9);
}
