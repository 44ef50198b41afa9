/* Consumer API: cursors (save, resume, stale), batches, merge by time, wait/wake. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/time.h>

#include "test_util.h"
#include <evring/platform.h>

static struct evr_test_ring fx;
static struct evr_ring *ring, *ro; /* fx's, by their short names */
static struct evr_producer *prod;

static void make_ring(uint32_t lanes, uint32_t slots)
{
	cr_assert_eq(evr_test_ring_open(&fx, "cons", lanes, slots, "consumer-test"), 0);
	ring = fx.ring, ro = fx.ro, prod = fx.prod;
}

static void setup_1x64(void)
{
	make_ring(1, 64);
}

static void teardown(void)
{
	evr_test_ring_close(&fx);
}

static void emit_range(uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++) {
		struct evr_record r;
		evr_record_init(&r, EVR_TOOL_INVOKED, i, 0);
		cr_assert_eq(evr_emit(prod, &r), 0);
	}
}

Test(consumer, resume_from_a_checkpoint_delivers_exactly_the_records_after_it, .init = setup_1x64, .fini = teardown)
{
	struct evr_consumer *c;
	struct evr_item it;
	struct evr_cursor cur, loaded;
	char path[] = "/tmp/evrt-cursor-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	emit_range(0, 10);
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(evr_consumer_poll(c, &it), 1);
	evr_consumer_cursor(c, &cur);
	cr_assert_eq(evr_cursor_save(path, &cur), 0);
	evr_consumer_close(c);

	emit_range(10, 20);
	cr_assert_eq(evr_cursor_load(path, &loaded), 0);
	cr_assert_eq(loaded.ring_id, cur.ring_id);
	cr_assert_eq(loaded.pos[0], 4);
	struct evr_consumer_opts o = {.start = EVR_START_CURSOR, .cursor = &loaded};
	cr_assert_eq(evr_consumer_open(ro, &o, &c, NULL), 0);
	for (uint64_t i = 4; i < 20; i++) {
		cr_assert_eq(evr_consumer_poll(c, &it), 1);
		cr_assert_eq(it.kind, EVR_ITEM_RECORD);
		cr_assert_eq(it.rec.correlation_id, i);
	}
	cr_assert_eq(evr_consumer_poll(c, &it), 0);
	evr_consumer_close(c);
	unlink(path);
}

Test(consumer, a_stale_checkpoint_reports_the_exact_loss, .init = setup_1x64, .fini = teardown)
{
	struct evr_consumer *c;
	struct evr_item it;
	struct evr_cursor cur;
	emit_range(0, 5);
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	evr_consumer_cursor(c, &cur); /* at 1 */
	evr_consumer_close(c);
	emit_range(5, 300); /* the ring (64 slots) moves far past the cursor */
	struct evr_consumer_opts o = {.start = EVR_START_CURSOR, .cursor = &cur};
	cr_assert_eq(evr_consumer_open(ro, &o, &c, NULL), 0);
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	cr_assert_eq(it.kind, EVR_ITEM_LOST_LAPPED);
	cr_assert_eq(it.pos, 1);
	cr_assert_eq(it.count, 300 - 64 - 1, "lost exactly 1..235");
	uint64_t n = 0;
	while (evr_consumer_poll(c, &it) == 1) {
		cr_assert_eq(it.kind, EVR_ITEM_RECORD);
		cr_assert_eq(it.rec.correlation_id, 236 + n);
		n++;
	}
	cr_assert_eq(n, 64);
	evr_consumer_close(c);
}

Test(consumer, cursors_of_another_ring_or_from_the_future_are_refused, .init = setup_1x64, .fini = teardown)
{
	struct evr_consumer *c;
	struct evr_cursor cur;
	struct evr_err err;
	emit_range(0, 3);
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	evr_consumer_cursor(c, &cur);
	evr_consumer_close(c);
	struct evr_consumer_opts o = {.start = EVR_START_CURSOR, .cursor = &cur};
	cur.ring_id ^= 1;
	cr_assert_eq(evr_consumer_open(ro, &o, &c, &err), -EINVAL);
	cr_assert(strstr(err.msg, "ring id"), "%s", err.msg);
	cur.ring_id ^= 1;
	cur.pos[0] = 1000;
	cr_assert_eq(evr_consumer_open(ro, &o, &c, &err), -EINVAL);
	cr_assert(strstr(err.msg, "ahead"), "%s", err.msg);
	cur.pos[0] = 0;
	cur.lanes = 2;
	cr_assert_eq(evr_consumer_open(ro, &o, &c, &err), -EINVAL);
	o.cursor = NULL;
	cr_assert_eq(evr_consumer_open(ro, &o, &c, &err), -EINVAL);
}

Test(consumer, cursor_files_reject_garbage)
{
	struct evr_cursor cur;
	char path[] = "/tmp/evrt-badcursor-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_eq(write(fd, "evring-cursor 2\n", 16), 16);
	close(fd);
	cr_assert_eq(evr_cursor_load(path, &cur), -EPROTO);
	unlink(path);
	cr_assert_eq(evr_cursor_load("/nonexistent/dir/cursor", &cur), -ENOENT);
}

Test(consumer, poll_batch_returns_what_is_there, .init = setup_1x64, .fini = teardown)
{
	struct evr_consumer *c;
	struct evr_item items[16];
	emit_range(0, 10);
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	cr_assert_eq(evr_consumer_poll_batch(c, items, 16), 10);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(items[i].rec.correlation_id, (uint64_t)i);
	cr_assert_eq(evr_consumer_poll_batch(c, items, 16), 0);
	evr_consumer_close(c);
}

static void pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof set, &set), 0);
}

Test(consumer, merge_by_time_orders_records_across_lanes)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("needs two CPUs to fill two lanes");
	make_ring(2, 64);
	cpu_set_t saved;
	sched_getaffinity(0, sizeof saved, &saved);
	/* alternate CPUs so consecutive records land on alternating lanes */
	for (uint64_t i = 0; i < 20; i++) {
		pin_to((int)(i & 1));
		emit_range(i, i + 1);
	}
	sched_setaffinity(0, sizeof saved, &saved);
	struct evr_consumer *c;
	struct evr_item it;
	struct evr_consumer_opts o = {.start = EVR_START_OLDEST, .merge_by_time = true};
	cr_assert_eq(evr_consumer_open(ro, &o, &c, NULL), 0);
	uint64_t lanes_seen = 0;
	for (uint64_t i = 0; i < 20; i++) {
		cr_assert_eq(evr_consumer_poll(c, &it), 1);
		cr_assert_eq(it.rec.correlation_id, i, "record %llu in emit order", (unsigned long long)i);
		lanes_seen |= 1u << it.lane;
	}
	cr_assert_eq(lanes_seen, 3, "both lanes were used");
	cr_assert_eq(evr_consumer_poll(c, &it), 0);
	struct evr_lane_stats s;
	evr_consumer_stats(c, &s);
	cr_assert_eq(s.delivered, 20);
	evr_consumer_close(c);
	teardown();
}

Test(consumer, wait_times_out_on_an_idle_ring, .init = setup_1x64, .fini = teardown)
{
	struct evr_consumer *c;
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	uint64_t t0 = evr_test_now_ns();
	cr_assert_eq(evr_consumer_wait(c, 30 * 1000 * 1000), 0);
	cr_assert_geq(evr_test_now_ns() - t0, 30 * 1000 * 1000ull, "it slept the whole timeout");
	evr_consumer_close(c);
}

static void *late_emitter(void *arg)
{
	(void)arg;
	struct timespec d = {0, 50 * 1000 * 1000};
	nanosleep(&d, NULL);
	struct evr_record r;
	evr_record_init(&r, EVR_BUDGET_WARNING, 77, 0);
	evr_emit(prod, &r);
	return NULL;
}

Test(consumer, a_sleeping_consumer_is_woken_by_an_emit, .init = setup_1x64, .fini = teardown)
{
	struct evr_consumer *c;
	struct evr_item it;
	pthread_t t;
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	pthread_create(&t, NULL, late_emitter, NULL);
	cr_assert_eq(evr_consumer_wait(c, 10ll * 1000 * 1000 * 1000), 1, "woken before the 10 s timeout");
	pthread_join(t, NULL);
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	cr_assert_eq(it.rec.correlation_id, 77);
	evr_consumer_close(c);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A program that stops on a signal (a ^C handler setting a flag) needs the wait to return: with a
 * handler installed without SA_RESTART, an endless wait returns -EINTR. */
Test(consumer, an_endless_wait_returns_eintr_when_a_signal_handler_runs, .init = setup_1x64, .fini = teardown)
{
	struct evr_consumer *c;
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGALRM, &sa, &old), 0);
	/* repeating: a signal that lands while the wait still spins is not seen (consumer.h); the next
	 * one then interrupts the sleep */
	struct itimerval it = {.it_value = {0, 100 * 1000}, .it_interval = {0, 100 * 1000}};
	cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	int rc = evr_consumer_wait(c, -1);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	cr_assert_eq(rc, -EINTR, "wait returned %d", rc);
	evr_consumer_close(c);
}

/* A record published between a poll's read of the slot (not yet) and its look at the slot word is
 * read at once: the consumer must not take the published word for a stalled writer's and park on
 * it until the stall timer (it did: at 1M/s a sleeping consumer's p50 latency was 5 ms). */
static void publish_now(unsigned lane, uint64_t pos)
{
	(void)lane;
	(void)pos;
	evr_test_hook_not_yet = NULL;
	cr_assert_eq(evr_commit(prod), 0);
}

Test(consumer, a_record_published_while_a_poll_looks_is_delivered_at_once, .init = setup_1x64, .fini = teardown)
{
	struct evr_consumer *c;
	struct evr_consumer_opts o = { .abandon_timeout_ns = 30ll * 1000 * 1000 * 1000 }; /* a stall would park 30 s */
	cr_assert_eq(evr_consumer_open(ro, &o, &c, NULL), 0);
	struct evr_record *r;
	cr_assert_eq(evr_claim(prod, EVR_BUDGET_WARNING, &r), 0);
	r->correlation_id = 78;
	evr_test_hook_not_yet = publish_now; /* the commit lands inside the poll's not-yet window */
	struct evr_item it;
	int n = evr_consumer_poll(c, &it);
	if (n == 0) /* the poll itself may say "nothing yet"; the record must then be ready at once */
		cr_assert_eq(evr_consumer_wait(c, 0), 1, "the published record is ready, not parked on a stall timer");
	if (n == 0)
		n = evr_consumer_poll(c, &it);
	cr_assert_eq(n, 1);
	cr_assert_eq(it.kind, EVR_ITEM_RECORD);
	cr_assert_eq(it.rec.correlation_id, 78);
	evr_test_hook_not_yet = NULL;
	evr_consumer_close(c);
}
