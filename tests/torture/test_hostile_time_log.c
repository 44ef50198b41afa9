/* Hostile time: wall-clock times of records never step backwards per producer and never change
 * between reads, across (at least) the three points where consumers used to re-take the TSC rate
 * (1 s, 2 s, 3 s after creation); a realtime clock step after creation moves no record's time.
 * Issue 13 item 5. The log half of the issue (two recorders, flipped bytes) is in
 * tests/consumers/test_recordlog.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "../multiproc/mp_util.h"
#include "clock.h"
#include <evring/platform.h>

#define RUN_NS (3500ull * 1000 * 1000) /* past three of the old once-a-second rate refreshes */

static void pause_us(long us)
{
	struct timespec d = {0, us * 1000};
	nanosleep(&d, NULL);
}

/* The conversion alone, fed live TSC values: the ring's calibration is off by 1% here (a bad 20 ms
 * measurement, exaggerated), so a consumer that re-took the rate at 1 s would jump back by ~10 ms
 * there. Every time must be >= the one before, and every sampled raw value must map to the same
 * wall time at the end as when it was first converted. */
Test(wall_time, conversion_is_pure_and_monotonic_across_three_former_refreshes, .timeout = 60)
{
	if (!EVR_HAVE_TSC)
		cr_skip_test("no TSC on this architecture");
	struct evr_clock_conv conv;
	uint64_t hz = evr_tsc_calibrate();
	uint64_t mono0 = evr_clock_ns(CLOCK_MONOTONIC), ts0 = evr_ts_now(EVR_TS_TSC);
	evr_clock_conv_init(&conv, EVR_TS_TSC, ts0, mono0, 1700000000ull * 1000000000ull, hz / 100 * 99);
	enum { KEEP = 64 };
	uint64_t kept_raw[KEEP], kept_wall[KEEP], prev = 0, samples = 0;
	unsigned kept = 0;
	while (evr_clock_ns(CLOCK_MONOTONIC) - mono0 < RUN_NS) {
		uint64_t raw = evr_ts_now(EVR_TS_TSC);
		uint64_t wall = evr_clock_to_wall(&conv, raw);
		cr_assert_geq(wall, prev, "sample %llu: wall time went back by %llu ns",
			      (unsigned long long)samples, (unsigned long long)(prev - wall));
		if (samples % 512 == 0 && kept < KEEP) {
			kept_raw[kept] = raw;
			kept_wall[kept++] = wall;
		}
		prev = wall;
		samples++;
		pause_us(100);
	}
	for (unsigned i = 0; i < kept; i++)
		cr_assert_eq(evr_clock_to_wall(&conv, kept_raw[i]), kept_wall[i],
			     "raw value %u maps to another wall time later (moved by %lld ns)", i,
			     (long long)(evr_clock_to_wall(&conv, kept_raw[i]) - kept_wall[i]));
	cr_assert_geq(kept, 3);
}

/* ---- a real ring on the TSC, two producer processes, two consumers opened 3.5 s apart ---- */

struct shared {
	_Atomic int stop;
	_Atomic int attached;
};

static char name[64];
static struct evr_ring *ring;
static struct shared *sh;
static pid_t kids[2];

static void teardown(void)
{
	if (sh)
		atomic_store(&sh->stop, 1);
	for (unsigned i = 0; i < 2; i++)
		if (kids[i] > 0)
			evr_test_reap(kids[i], SIGKILL);
	if (ring) {
		evr_ring_close(ring);
		evr_ring_unlink(name, NULL);
	}
	if (sh)
		munmap(sh, sizeof *sh);
}

/* Emits 4 records a millisecond until told to stop (and never more than fits the ring). */
static pid_t spawn_producer(uint64_t id)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	struct evr_ring *r;
	struct evr_producer *p;
	if (evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL) || evr_producer_open(r, "time", &p, NULL))
		_exit(1);
	atomic_fetch_add(&sh->attached, 1);
	for (uint64_t n = 0; !atomic_load(&sh->stop) && n < 24000;) {
		for (int i = 0; i < 4; i++, n++) {
			struct evr_record rec;
			mp_fill(&rec, id, n);
			evr_emit(p, &rec);
		}
		pause_us(1000);
	}
	evr_producer_close(p);
	evr_ring_close(r);
	_exit(0);
}

/* Consumer A reads live for 3.5 s (per producer, times never decrease); consumer B, opened after, reads
 * the same records and must print exactly the same time for each. */
Test(wall_time, a_record_has_one_time_for_every_consumer_and_producers_never_go_back, .timeout = 60,
     .fini = teardown)
{
	enum evr_ts_source src;
	if (evr_ts_resolve(EVR_TS_TSC, &src))
		cr_skip_test("no TSC on this architecture");
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 65536; /* holds all 48000 records: B reads what A read */
	o.ts_source = EVR_TS_TSC;
	evr_test_name(name, sizeof name, "time");
	cr_assert_eq(evr_ring_create(name, &o, &ring, NULL), 0);
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	static uint64_t seen_ts[65536];
	uint64_t last[2] = {0, 0}, n_a = 0;
	struct evr_consumer *a, *b;
	cr_assert_eq(evr_consumer_open(ring, NULL, &a, NULL), 0);
	uint64_t t0 = evr_clock_ns(CLOCK_MONOTONIC);
	for (uint64_t i = 0; i < 2; i++)
		kids[i] = spawn_producer(i);
	struct evr_item it;
	int stopped = 0;
	for (;;) {
		if (!stopped && evr_clock_ns(CLOCK_MONOTONIC) - t0 >= RUN_NS) {
			atomic_store(&sh->stop, 1);
			for (unsigned i = 0; i < 2; i++) {
				int st = evr_test_reap(kids[i], 0);
				kids[i] = 0;
				cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer %u failed", i);
			}
			stopped = 1;
		}
		int rc = evr_consumer_poll(a, &it);
		cr_assert_geq(rc, 0);
		if (rc == 0) {
			if (stopped)
				break;
			pause_us(200);
			continue;
		}
		cr_assert_eq(it.kind, EVR_ITEM_RECORD, "nothing lost: the ring holds every record");
		uint64_t p = it.rec.correlation_id;
		cr_assert_lt(p, 2);
		cr_assert_geq(it.rec.ts, last[p], "producer %llu: record %llu is %llu ns before its predecessor",
			      (unsigned long long)p, (unsigned long long)it.rec.plan_id,
			      (unsigned long long)(last[p] - it.rec.ts));
		last[p] = it.rec.ts;
		seen_ts[it.pos] = it.rec.ts;
		n_a++;
	}
	cr_assert_gt(n_a, 0);
	cr_assert_eq(evr_consumer_open(ring, NULL, &b, NULL), 0);
	uint64_t n_b = 0;
	while (evr_consumer_poll(b, &it) > 0) {
		cr_assert_eq(it.rec.ts, seen_ts[it.pos], "record %llu: %llu ns for the first consumer, %llu for the second",
			     (unsigned long long)it.pos, (unsigned long long)seen_ts[it.pos],
			     (unsigned long long)it.rec.ts);
		n_b++;
	}
	cr_assert_eq(n_b, n_a);
	evr_consumer_close(a);
	evr_consumer_close(b);
}

/* ---- a realtime clock step after creation ----
 * The test binary is linked with --wrap=clock_gettime (tests/torture/CMakeLists.txt): every call the
 * library makes goes through here, and CLOCK_REALTIME can be stepped for this process only, with no
 * privilege and without touching the machine's clock. */
static _Atomic int64_t realtime_step_ns;

int __real_clock_gettime(clockid_t id, struct timespec *ts);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = __real_clock_gettime(id, ts);
	int64_t step = atomic_load(&realtime_step_ns); /* seq_cst: test-only, ordering is not the point */
	if (rc == 0 && id == CLOCK_REALTIME && step) {
		int64_t ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + step;
		ts->tv_sec = ns / 1000000000;
		ts->tv_nsec = ns % 1000000000;
	}
	return rc;
}

static void fini_step(void)
{
	atomic_store(&realtime_step_ns, 0);
	teardown();
}

#define HOUR_NS (3600ll * 1000000000)

static unsigned read_all(uint64_t *ts, unsigned max)
{
	struct evr_consumer *c;
	cr_assert_eq(evr_consumer_open(ring, NULL, &c, NULL), 0);
	struct evr_item it;
	unsigned n = 0;
	while (evr_consumer_poll(c, &it) > 0 && n < max) {
		cr_assert_eq(it.kind, EVR_ITEM_RECORD);
		ts[n++] = it.rec.ts;
	}
	evr_consumer_close(c);
	return n;
}

static void step_moves_nothing(enum evr_ts_source src)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 1024;
	o.ts_source = src;
	evr_test_name(name, sizeof name, "step");
	cr_assert_eq(evr_ring_create(name, &o, &ring, NULL), 0);
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(ring, "step", &p, NULL), 0);
	struct evr_record rec;
	for (uint64_t i = 0; i < 100; i++) {
		mp_fill(&rec, 0, i);
		cr_assert_eq(evr_emit(p, &rec), 0);
	}
	static uint64_t before[200], after[200];
	cr_assert_eq(read_all(before, 200), 100);
	for (int sign = 1; sign >= -1; sign -= 2) {
		atomic_store(&realtime_step_ns, sign * HOUR_NS); /* the system clock jumps by an hour */
		cr_assert_eq(read_all(after, 200), 100 + (sign < 0 ? 100 : 0));
		for (unsigned i = 0; i < 100; i++)
			cr_assert_eq(after[i], before[i], "record %u moved by %lld ns with the realtime step", i,
				     (long long)(after[i] - before[i]));
		if (sign < 0)
			break;
		for (uint64_t i = 100; i < 200; i++) { /* stamped after the step: they do not jump either */
			mp_fill(&rec, 0, i);
			cr_assert_eq(evr_emit(p, &rec), 0);
		}
		cr_assert_eq(read_all(after, 200), 200);
		for (unsigned i = 100; i < 200; i++) {
			cr_assert_geq(after[i], after[i - 1], "record %u: time went back", i);
			cr_assert_lt(after[i] - before[99], (uint64_t)HOUR_NS / 2, "record %u followed the step", i);
		}
		memcpy(before, after, sizeof after);
	}
	evr_producer_close(p);
}

Test(wall_time, a_realtime_step_after_creation_moves_no_record_monotonic, .fini = fini_step)
{
	step_moves_nothing(EVR_TS_MONOTONIC);
}

Test(wall_time, a_realtime_step_after_creation_moves_no_record_tsc, .fini = fini_step)
{
	enum evr_ts_source src;
	if (evr_ts_resolve(EVR_TS_TSC, &src))
		cr_skip_test("no TSC on this architecture");
	step_moves_nothing(EVR_TS_TSC);
}
