/* Multi-thread: 4+ producer threads and a concurrent consumer thread. Per-lane order per producer,
 * no loss when the consumer keeps up, untorn records and exact accounting when it is lapped; also
 * with half the producers on exclusive lanes, claiming in place.
 * These run under ThreadSanitizer in CI (label tsan). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "test_util.h"
#include <evring/platform.h>

#define THREADS 4

struct run {
	struct evr_test_ring fx; /* no producer of its own: each thread opens one */
	uint64_t per_thread;
	atomic_int producers_done;
	int exclusive; /* threads below it own exclusive lanes and claim in place */
	uint64_t dropped;
	pthread_mutex_t lock;
};

/* The payload is a pure function of (thread, counter): a torn copy cannot pass the check.
 * fill_in_place fills a claimed (zeroed) EVR_RESOURCE_MODIFIED record. */
static void fill_in_place(struct evr_record *r, uint64_t thread, uint64_t n)
{
	r->correlation_id = thread;
	r->plan_id = n;
	EVR_EV(r, resource_modified)->resource_id = n * 2654435761u + thread;
	EVR_EV(r, resource_modified)->bytes = ~EVR_EV(r, resource_modified)->resource_id;
	snprintf(EVR_EV(r, resource_modified)->path, sizeof EVR_EV(r, resource_modified)->path, "/t%u/%llu",
		 (unsigned)(thread & 0xff), (unsigned long long)(n & 0xffffffffu));
}

static void fill(struct evr_record *r, uint64_t thread, uint64_t n)
{
	evr_record_init(r, EVR_RESOURCE_MODIFIED, thread, n);
	fill_in_place(r, thread, n);
}

static int intact(const struct evr_record *r)
{
	struct evr_record want;
	fill(&want, r->correlation_id, r->plan_id);
	return r->type == EVR_RESOURCE_MODIFIED && !memcmp(&want.u, &r->u, sizeof want.u);
}

static struct run *g;

static void *producer_thread(void *arg)
{
	uint64_t id = (uint64_t)(uintptr_t)arg;
	struct evr_producer *p;
	int exclusive = id < (uint64_t)g->exclusive;
	cr_assert_eq(evr_producer_open_flags(g->fx.ring, "thread", exclusive ? EVR_PRODUCER_EXCLUSIVE : 0, &p, NULL), 0);
	for (uint64_t n = 0; n < g->per_thread; n++) {
		struct evr_record r, *in;
		if (!exclusive) {
			fill(&r, id, n);
			evr_emit(p, &r); /* a drop is counted by the producer; checked below */
		} else if (evr_claim(p, EVR_RESOURCE_MODIFIED, &in) == 0) {
			fill_in_place(in, id, n);
			evr_commit(p);
		}
	}
	uint64_t dropped;
	evr_producer_counters(p, NULL, &dropped);
	pthread_mutex_lock(&g->lock);
	g->dropped += dropped;
	pthread_mutex_unlock(&g->lock);
	evr_producer_close(p);
	atomic_fetch_add(&g->producers_done, 1);
	return NULL;
}

struct tally {
	uint64_t records, torn, out_of_order;
	uint64_t last[THREADS][256];
	uint8_t seen_any[THREADS][256];
};

/* Every claimed position has been delivered or counted lost. */
static int caught_up(struct evr_consumer *c)
{
	for (unsigned l = 0; l < evr_consumer_lanes(c); l++) {
		struct evr_lane_stats s;
		evr_consumer_lane_stats(c, l, &s);
		if (s.cursor != evr_ring_lane_head(g->fx.ro, l))
			return 0;
	}
	return 1;
}

static void consume_until_done(struct evr_consumer *c, struct tally *t)
{
	struct evr_item it;
	for (;;) {
		int done = atomic_load(&g->producers_done) == THREADS;
		int rc;
		while ((rc = evr_consumer_poll(c, &it)) == 1) {
			if (it.kind != EVR_ITEM_RECORD)
				continue;
			t->records++;
			uint64_t th = it.rec.correlation_id, n = it.rec.plan_id;
			if (th >= THREADS || !intact(&it.rec)) {
				t->torn++;
				continue;
			}
			if (t->seen_any[th][it.lane] && n <= t->last[th][it.lane])
				t->out_of_order++;
			t->seen_any[th][it.lane] = 1;
			t->last[th][it.lane] = n;
		}
		cr_assert_geq(rc, 0);
		if (done && caught_up(c))
			break;
		evr_consumer_wait(c, 1000000);
	}
}

static void run_threads(uint32_t slots, uint64_t per_thread, uint64_t abandon_ns, int exclusive,
			struct evr_consumer **c, struct tally *t)
{
	static struct run run;
	memset(&run, 0, sizeof run);
	pthread_mutex_init(&run.lock, NULL);
	g = &run;
	run.per_thread = per_thread;
	run.exclusive = exclusive;
	/* lanes 0: one per CPU */
	cr_assert_eq(evr_test_ring_open_x(&run.fx, "thr", 0, (uint32_t)exclusive, slots, NULL), 0);
	struct evr_consumer_opts co = {.start = EVR_START_OLDEST, .abandon_timeout_ns = abandon_ns};
	cr_assert_eq(evr_consumer_open(run.fx.ro, &co, c, NULL), 0);
	pthread_t th[THREADS];
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, producer_thread, (void *)i);
	consume_until_done(*c, t);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
}

static void finish(struct evr_consumer *c)
{
	evr_consumer_close(c);
	evr_test_ring_close(&g->fx);
}

Test(threads, four_producers_and_a_keeping_up_consumer_lose_nothing)
{
	struct evr_consumer *c;
	static struct tally t;
	memset(&t, 0, sizeof t);
	const uint64_t per = 20000;
	/* room for everything: nobody is lapped; a generous abandon bound, since a producer preempted
	 * between claim and publish on a busy 2-core box is late, not lost */
	run_threads(1u << 17, per, 5000ull * 1000 * 1000, 0, &c, &t);
	struct evr_lane_stats s;
	evr_consumer_stats(c, &s);
	cr_assert_eq(g->dropped, 0);
	cr_assert_eq(t.records, THREADS * per, "every record delivered once");
	cr_assert_eq(t.torn, 0);
	cr_assert_eq(t.out_of_order, 0, "per-lane order per producer");
	cr_assert_eq(s.lost_lapped + s.lost_abandoned, 0);
	cr_assert_eq(s.delivered + s.lost_lapped + s.lost_abandoned, s.cursor - s.start);
	finish(c);
}

Test(threads, a_lapped_consumer_never_sees_a_torn_record_and_counts_exactly)
{
	struct evr_consumer *c;
	static struct tally t;
	memset(&t, 0, sizeof t);
	const uint64_t per = 50000;
	/* tiny ring: constant lapping and slot contention; drops leave positions that are skipped after
	 * the (short) abandon bound */
	run_threads(64, per, 20ull * 1000 * 1000, 0, &c, &t);
	cr_assert_eq(t.torn, 0);
	cr_assert_eq(t.out_of_order, 0);
	uint64_t positions = 0;
	for (unsigned l = 0; l < evr_consumer_lanes(c); l++) {
		struct evr_lane_stats s;
		evr_consumer_lane_stats(c, l, &s);
		cr_assert_eq(s.delivered + s.lost_lapped + s.lost_abandoned, s.cursor - s.start, "lane %u", l);
		cr_assert_eq(s.start, 0);
		positions += s.cursor;
	}
	/* every claimed position is accounted for: each emit claimed one, published or dropped */
	cr_assert_eq(positions, THREADS * per);
	finish(c);
}

Test(threads, exclusive_lane_producers_beside_shared_ones_lose_nothing_and_tear_nothing)
{
	struct evr_consumer *c;
	static struct tally t;
	memset(&t, 0, sizeof t);
	const uint64_t per = 20000;
	run_threads(1u << 17, per, 5000ull * 1000 * 1000, 2, &c, &t); /* threads 0, 1 on exclusive lanes */
	struct evr_lane_stats s;
	evr_consumer_stats(c, &s);
	cr_assert_eq(g->dropped, 0);
	cr_assert_eq(t.records, THREADS * per, "every record delivered once");
	cr_assert_eq(t.torn, 0);
	cr_assert_eq(t.out_of_order, 0);
	cr_assert_eq(s.lost_lapped + s.lost_abandoned, 0);
	finish(c);
}

Test(threads, a_lapped_consumer_of_exclusive_lanes_never_sees_a_torn_record)
{
	struct evr_consumer *c;
	static struct tally t;
	memset(&t, 0, sizeof t);
	run_threads(64, 50000, 20ull * 1000 * 1000, 2, &c, &t);
	cr_assert_eq(t.torn, 0);
	cr_assert_eq(t.out_of_order, 0);
	uint64_t positions = 0;
	for (unsigned l = 0; l < evr_consumer_lanes(c); l++) {
		struct evr_lane_stats s;
		evr_consumer_lane_stats(c, l, &s);
		cr_assert_eq(s.delivered + s.lost_lapped + s.lost_abandoned, s.cursor - s.start, "lane %u", l);
		positions += s.cursor;
	}
	cr_assert_eq(positions, THREADS * 50000ull);
	finish(c);
}
