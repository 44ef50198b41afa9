/* Producers stopped or killed inside the emit window, over a real segment with forked processes.
 * One lane so every producer shares the slot the victim holds. Victim: producer 0, held at position
 * VICTIM_POS by a test hook (SIGSTOP or SIGKILL, after the ownership CAS or before it). */
#include <criterion/criterion.h>
#include <string.h>

#include "lane.h"
#include "mp_util.h"
#include "ring_internal.h"
#include <evring/platform.h>

#define SLOTS 16
#define VICTIM_POS 5
#define BOUND_NS (50ull * 1000 * 1000)

static char name[64];
static struct evr_ring *ring, *ro;
static struct evr_consumer *cons;

static void setup(void)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = SLOTS;
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, "stall"), &o, &ring, NULL), 0);
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &ro, NULL), 0);
	struct evr_consumer_opts co = {.start = EVR_START_OLDEST, .abandon_timeout_ns = BOUND_NS};
	cr_assert_eq(evr_consumer_open(ro, &co, &cons, NULL), 0);
}

static void teardown(void)
{
	mp_kill_tracked();
	evr_consumer_close(cons);
	evr_ring_close(ro);
	evr_ring_close(ring);
	evr_ring_unlink(name, NULL);
}

static int victim_signal;
static void victim_hook(unsigned lane, uint64_t pos)
{
	(void)lane;
	if (pos == VICTIM_POS)
		raise(victim_signal);
}

/* Producer 0 emits 10 records; at VICTIM_POS it stops or dies inside the chosen window. */
static pid_t start_victim(int sig, int before_cas)
{
	pid_t pid = mp_track(fork());
	if (pid == 0) {
		victim_signal = sig;
		if (before_cas)
			evr_test_hook_claimed = victim_hook;
		else
			evr_test_hook_owned = victim_hook;
		mp_producer_child(name, 0, 10);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, WUNTRACED), pid);
	if (sig == SIGSTOP)
		cr_assert(WIFSTOPPED(st), "victim stopped in the window");
	else
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "victim killed in the window");
	return pid;
}

static void run_other_producer(uint64_t n)
{
	pid_t pid = mp_track(fork());
	if (pid == 0)
		mp_producer_child(name, 1, n);
	int st = evr_test_reap(pid, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the other producer completed: it never waited");
}

/* Poll until the consumer reports the abandoned victim position; returns how long that took. */
static uint64_t consume_through_victim(void)
{
	struct evr_item it;
	uint64_t t0 = 0;
	for (;;) {
		int rc = evr_consumer_poll(cons, &it);
		cr_assert_geq(rc, 0);
		if (rc == 0) {
			if (!t0)
				t0 = evr_test_now_ns();
			cr_assert_lt(evr_test_now_ns() - t0, BOUND_NS + 5000000000ull, "consumer stuck past the bound");
			continue;
		}
		if (it.kind == EVR_ITEM_RECORD) {
			cr_assert(mp_intact(&it.rec));
			cr_assert_lt(it.pos, VICTIM_POS);
			continue;
		}
		cr_assert_eq(it.kind, EVR_ITEM_LOST_ABANDONED);
		cr_assert_eq(it.pos, VICTIM_POS);
		return evr_test_now_ns() - t0;
	}
}

/* Drain everything; every record intact; the accounting identity holds. */
static void drain_and_check(struct evr_consumer *c)
{
	struct evr_item it;
	int rc;
	uint64_t t0 = evr_test_now_ns();
	while (evr_consumer_lanes(c) && evr_test_now_ns() - t0 < 10000000000ull) {
		rc = evr_consumer_poll(c, &it);
		cr_assert_geq(rc, 0);
		if (rc == 1 && it.kind == EVR_ITEM_RECORD)
			cr_assert(mp_intact(&it.rec), "record at %llu intact", (unsigned long long)it.pos);
		struct evr_lane_stats s;
		evr_consumer_lane_stats(c, 0, &s);
		if (rc == 0 && s.cursor == evr_ring_lane_head(ro, 0))
			break;
	}
	struct evr_lane_stats s;
	evr_consumer_lane_stats(c, 0, &s);
	cr_assert_eq(s.cursor, evr_ring_lane_head(ro, 0), "drained within 10 s");
	cr_assert_eq(s.delivered + s.lost_lapped + s.lost_abandoned, s.cursor - s.start);
}

static struct evr_producer_info producer(unsigned idx)
{
	struct evr_producer_info info;
	cr_assert_eq(evr_ring_producer_info(ring, idx, &info), 0);
	return info;
}

Test(stall, a_producer_stopped_between_own_and_publish_blocks_nobody, .init = setup, .fini = teardown, .timeout = 60)
{
	pid_t victim = start_victim(SIGSTOP, 0);
	uint64_t waited = consume_through_victim();
	cr_assert_geq(waited, BOUND_NS - 1000000, "skipped no earlier than the bound");

	/* 100 more records: 6 of them (21, 37, ..., 101) map to the held slot and are dropped */
	run_other_producer(100);
	cr_assert_eq(producer(1).dropped, 6);
	cr_assert_eq(producer(1).emitted, 94);
	struct evr_lane_ref l = evr_ring_lane(ring, 0);
	uint64_t w = atomic_load(evr_slot_ctl(evr_lane_slot(&l, VICTIM_POS)));
	cr_assert_eq(evr_ctl_state(w), EVR_SLOT_WRITING);
	cr_assert_eq(evr_ctl_pos(w, VICTIM_POS), VICTIM_POS, "still held by the stopped victim");
	struct evr_reclaim_report rep;
	cr_assert_eq(evr_ring_reclaim(ring, &rep), 0);
	cr_assert_eq(rep.slots_reclaimed, 0, "a stopped producer is alive: never reclaimed");

	/* resume: it publishes position 5 into a slot nobody reused, then emits 106..109 */
	kill(victim, SIGCONT);
	int st = evr_test_reap(victim, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	w = atomic_load(evr_slot_ctl(evr_lane_slot(&l, VICTIM_POS)));
	cr_assert_eq(evr_ctl_state(w), EVR_SLOT_COMMITTED);
	cr_assert_eq(evr_ctl_pos(w, VICTIM_POS), VICTIM_POS);
	struct evr_record late;
	memcpy(&late, evr_lane_slot(&l, VICTIM_POS), sizeof late);
	cr_assert(mp_intact(&late), "the late record is whole");
	cr_assert_eq(late.plan_id, VICTIM_POS);
	drain_and_check(cons);
	struct evr_consumer *fresh;
	cr_assert_eq(evr_consumer_open(ro, NULL, &fresh, NULL), 0);
	drain_and_check(fresh);
	evr_consumer_close(fresh);
}

Test(stall, a_stale_writer_that_wakes_after_a_lap_drops_instead_of_overwriting, .init = setup, .fini = teardown,
     .timeout = 60)
{
	pid_t victim = start_victim(SIGSTOP, 1); /* claimed 5, stopped before its CAS */
	consume_through_victim();
	run_other_producer(100); /* positions 6..105: slot 5 is rewritten with 21, 37, ..., 101 */
	cr_assert_eq(producer(1).dropped, 0);
	kill(victim, SIGCONT);
	int st = evr_test_reap(victim, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(producer(0).dropped, 1, "the stale writer dropped its record");
	cr_assert_eq(producer(0).emitted, 9);
	struct evr_lane_ref l = evr_ring_lane(ring, 0);
	uint64_t w = atomic_load(evr_slot_ctl(evr_lane_slot(&l, VICTIM_POS)));
	cr_assert_eq(evr_ctl_pos(w, 101), 101, "the newer record still owns the slot");
	struct evr_record newer;
	memcpy(&newer, evr_lane_slot(&l, VICTIM_POS), sizeof newer);
	cr_assert(mp_intact(&newer), "and it is not corrupted");
	cr_assert_eq(newer.correlation_id, 1);
	drain_and_check(cons);
}

Test(stall, a_producer_killed_mid_emit_leaves_a_slot_that_is_reclaimed, .init = setup, .fini = teardown,
     .timeout = 60)
{
	start_victim(SIGKILL, 0); /* reaped by start_victim: dead for sure */
	consume_through_victim();
	struct evr_reclaim_report rep;
	cr_assert_eq(evr_ring_reclaim(ring, &rep), 0);
	cr_assert_eq(rep.producers_reclaimed, 1);
	cr_assert_eq(rep.slots_reclaimed, 1);
	cr_assert_eq(producer(0).state, EVR_PRODUCER_DEAD);
	struct evr_lane_ref l = evr_ring_lane(ring, 0);
	uint64_t w = atomic_load(evr_slot_ctl(evr_lane_slot(&l, VICTIM_POS)));
	cr_assert_eq(evr_ctl_state(w), EVR_SLOT_ABANDONED);
	run_other_producer(40);
	cr_assert_eq(producer(1).dropped, 0, "the reclaimed slot is writable again");
	drain_and_check(cons);
	struct evr_consumer *fresh;
	cr_assert_eq(evr_consumer_open(ro, NULL, &fresh, NULL), 0);
	drain_and_check(fresh);
	evr_consumer_close(fresh);
}

Test(stall, a_killed_but_unreaped_producer_counts_as_dead, .init = setup, .fini = teardown, .timeout = 60)
{
	pid_t pid = mp_track(fork());
	if (pid == 0) {
		victim_signal = SIGKILL;
		evr_test_hook_owned = victim_hook;
		mp_producer_child(name, 0, 10);
	}
	/* do not reap: the victim stays a zombie, whose pid still answers kill(pid, 0) */
	struct evr_reclaim_report rep = {0, 0};
	uint64_t t0 = evr_test_now_ns();
	while (rep.slots_reclaimed == 0 && evr_test_now_ns() - t0 < 10000000000ull) {
		cr_assert_eq(evr_ring_reclaim(ring, &rep), 0);
		usleep(1000);
	}
	cr_assert_eq(rep.slots_reclaimed, 1);
	cr_assert_eq(rep.producers_reclaimed, 1);
	int st = evr_test_reap(pid, 0);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	drain_and_check(cons);
}

/* The cost of one stopped producer to a consumer, at rate: the victim holds one slot of a 4096-slot
 * lane while another producer writes RATE records/s for SECONDS. Each lap, the position that meets
 * the held slot is dropped by its writer; the consumer must skip it at once (one abandoned record
 * per lap), not wait the abandon timeout again on every lap and get lapped meanwhile. It must also
 * sleep while only a stall timer runs, not spin. */
#define BIG_SLOTS 4096
#define RATE 500000ull
#define SECONDS 5ull

static void paced_producer_child(const char *ring_name, uint64_t id, uint64_t n)
{
	struct evr_ring *r;
	struct evr_producer *p;
	if (evr_ring_open(ring_name, EVR_ROLE_PRODUCER, &r, NULL) || evr_producer_open(r, "paced", &p, NULL))
		_exit(1);
	uint64_t t0 = evr_test_now_ns();
	for (uint64_t i = 0; i < n;) {
		uint64_t due = (evr_test_now_ns() - t0) * RATE / 1000000000ull; /* records owed by now */
		for (; i < due && i < n; i++) {
			struct evr_record rec;
			mp_fill(&rec, id, i);
			evr_emit(p, &rec);
		}
		struct timespec d = {0, 50000};
		nanosleep(&d, NULL);
	}
	evr_producer_close(p);
	evr_ring_close(r);
	_exit(0);
}

Test(stall, a_stopped_producer_costs_one_record_per_lap_at_500k_per_s, .fini = mp_kill_tracked, .timeout = 60)
{
	char big[64];
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = BIG_SLOTS;
	struct evr_ring *w, *r;
	struct evr_consumer *c;
	cr_assert_eq(evr_ring_create(evr_test_name(big, sizeof big, "stallrate"), &o, &w, NULL), 0);
	cr_assert_eq(evr_ring_open(big, EVR_ROLE_CONSUMER, &r, NULL), 0);
	struct evr_consumer_opts co = {.start = EVR_START_OLDEST, .abandon_timeout_ns = 10ull * 1000 * 1000};
	cr_assert_eq(evr_consumer_open(r, &co, &c, NULL), 0);

	pid_t victim = mp_track(fork());
	if (victim == 0) {
		victim_signal = SIGSTOP;
		evr_test_hook_owned = victim_hook;
		mp_producer_child(big, 0, 10);
	}
	int st;
	cr_assert_eq(waitpid(victim, &st, WUNTRACED), victim);
	cr_assert(WIFSTOPPED(st));
	pid_t writer = mp_track(fork());
	if (writer == 0)
		paced_producer_child(big, 1, RATE * SECONDS);

	struct timespec cpu0, cpu1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
	uint64_t t0 = evr_test_now_ns(), records = 0;
	int writer_done = 0;
	for (;;) {
		struct evr_item it;
		int rc = evr_consumer_poll(c, &it);
		cr_assert_geq(rc, 0);
		if (rc == 1) {
			if (it.kind == EVR_ITEM_RECORD) {
				cr_assert(mp_intact(&it.rec));
				records++;
			}
			continue;
		}
		if (!writer_done && waitpid(writer, &st, WNOHANG) == writer) {
			cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
			writer_done = 1;
		}
		struct evr_lane_stats ls;
		evr_consumer_lane_stats(c, 0, &ls);
		if (writer_done && ls.cursor == evr_ring_lane_head(r, 0))
			break;
		cr_assert_lt(evr_test_now_ns() - t0, 40000000000ull, "consumer finished within 40 s");
		evr_consumer_wait(c, 20 * 1000 * 1000);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
	uint64_t wall = evr_test_now_ns() - t0;
	uint64_t cpu = (uint64_t)(cpu1.tv_sec - cpu0.tv_sec) * 1000000000ull + (uint64_t)(cpu1.tv_nsec - cpu0.tv_nsec);

	struct evr_lane_stats ls;
	evr_consumer_lane_stats(c, 0, &ls);
	uint64_t positions = ls.cursor - ls.start;
	uint64_t laps = (positions - VICTIM_POS) / BIG_SLOTS + 1;
	cr_log_info("%llu positions, %llu laps of the held slot: delivered %llu, lost %llu lapped + %llu abandoned; "
		    "consumer CPU %.1f%% of %.2f s",
		    (unsigned long long)positions, (unsigned long long)laps, (unsigned long long)ls.delivered,
		    (unsigned long long)ls.lost_lapped, (unsigned long long)ls.lost_abandoned, 100.0 * cpu / wall,
		    wall / 1e9);
	cr_assert_eq(ls.delivered + ls.lost_lapped + ls.lost_abandoned, positions);
	cr_assert_eq(ls.delivered, records);
	/* one per lap, plus slack for a writer preempted mid-slot past the timeout on a busy machine */
	cr_assert_leq(ls.lost_abandoned, laps + 32, "%llu abandoned over %llu laps",
		      (unsigned long long)ls.lost_abandoned, (unsigned long long)laps);
	/* lapping is scheduling noise only (0.03% here alone, 0.5% under ASan, 5% with two builds
	 * beside it): the old behaviour lost 62% of the lane to it, one timeout per lap */
	cr_assert_lt(ls.lost_lapped * 5, positions, "lapped %llu of %llu", (unsigned long long)ls.lost_lapped,
		     (unsigned long long)positions);
	(void)cpu; /* reported, not asserted: it depends on the build (ASan) and the machine */

	evr_consumer_close(c);
	evr_ring_close(r);
	evr_ring_close(w);
	evr_ring_unlink(big, NULL);
}

/* While a consumer's only business is a stall timer (the head is past a position whose writer is
 * stopped), evr_consumer_wait sleeps until the timer is due. It used to return at once because the
 * head was past the cursor, and every follower spun at 100% CPU for the whole timeout. */
Test(stall, a_consumer_sleeps_while_only_a_stall_timer_runs, .init = setup, .fini = teardown, .timeout = 60)
{
	struct evr_consumer *slow;
	struct evr_consumer_opts co = {.start = EVR_START_OLDEST, .abandon_timeout_ns = 400ull * 1000 * 1000};
	cr_assert_eq(evr_consumer_open(ro, &co, &slow, NULL), 0);
	start_victim(SIGSTOP, 0); /* holds position 5 */
	run_other_producer(4);    /* positions 10..13 claimed past it */
	struct timespec cpu0, cpu1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
	uint64_t t0 = evr_test_now_ns(), waits = 0;
	struct evr_item it;
	for (;;) {
		int rc = evr_consumer_poll(slow, &it);
		cr_assert_geq(rc, 0);
		if (rc == 1 && it.kind == EVR_ITEM_LOST_ABANDONED)
			break;
		if (rc == 0) {
			evr_consumer_wait(slow, -1);
			waits++;
		}
		cr_assert_lt(evr_test_now_ns() - t0, 5000000000ull, "the stalled position was skipped in time");
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
	uint64_t wall = evr_test_now_ns() - t0;
	uint64_t cpu = (uint64_t)(cpu1.tv_sec - cpu0.tv_sec) * 1000000000ull + (uint64_t)(cpu1.tv_nsec - cpu0.tv_nsec);
	cr_log_info("waited %.0f ms for the stall timer in %llu waits, %.1f ms of CPU", wall / 1e6,
		    (unsigned long long)waits, cpu / 1e6);
	cr_assert_eq(it.pos, VICTIM_POS);
	cr_assert_geq(wall, 390ull * 1000 * 1000, "not skipped before the timeout");
	cr_assert_lt(waits, 100, "%llu wait calls: the wait returned early instead of sleeping to the timer",
		     (unsigned long long)waits);
	cr_assert_lt(cpu * 4, wall, "the consumer slept through the timer (CPU %.1f ms of %.0f ms)", cpu / 1e6,
		     wall / 1e6);
	evr_consumer_close(slow);
}

/* An abandon timeout near 2^64 ("never give up on a position") must not wrap into "due now": the
 * consumer waits on a stalled position without spinning. */
Test(stall, a_huge_abandon_timeout_waits_without_spinning, .init = setup, .fini = teardown, .timeout = 60)
{
	struct evr_consumer *patient;
	struct evr_consumer_opts co = {.start = EVR_START_OLDEST, .abandon_timeout_ns = UINT64_MAX};
	cr_assert_eq(evr_consumer_open(ro, &co, &patient, NULL), 0);
	start_victim(SIGSTOP, 0);
	run_other_producer(4);
	struct evr_item it;
	while (evr_consumer_poll(patient, &it) == 1)
		cr_assert_lt(it.pos, VICTIM_POS, "nothing past the stalled position is handed out");
	unsigned waits = 0;
	uint64_t t0 = evr_test_now_ns();
	while (evr_test_now_ns() - t0 < 300ull * 1000 * 1000) {
		cr_assert_eq(evr_consumer_poll(patient, &it), 0);
		evr_consumer_wait(patient, 100 * 1000 * 1000);
		waits++;
	}
	cr_assert_lt(waits, 20, "%u waits in 300 ms: the wait returned at once instead of sleeping", waits);
	evr_consumer_close(patient);
}

/* The same property without a clock: producer and consumer take turns in this process, a lap at a
 * time, so nothing depends on scheduling. After the first timeout, every later lap's position that
 * meets the stopped writer's slot comes out at once as one abandoned record: a poll never answers
 * "nothing now" while positions are waiting. (It used to wait the abandon timeout again on every
 * lap, during which a real producer laps the consumer.) */
Test(stall, a_stuck_slot_is_skipped_at_once_on_every_later_lap, .init = setup, .fini = teardown, .timeout = 60)
{
	start_victim(SIGSTOP, 0); /* holds position 5 */
	consume_through_victim(); /* the first (and only) timeout */
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(ring, "lockstep", &p, NULL), 0);
	uint64_t abandoned = 0;
	for (unsigned lap = 0; lap < 20; lap++) {
		for (unsigned i = 0; i < SLOTS; i++) {
			struct evr_record rec;
			mp_fill(&rec, 2, lap * SLOTS + i);
			evr_emit(p, &rec);
		}
		struct evr_lane_stats ls;
		for (evr_consumer_lane_stats(cons, 0, &ls); ls.cursor < evr_ring_lane_head(ro, 0);
		     evr_consumer_lane_stats(cons, 0, &ls)) {
			struct evr_item it;
			cr_assert_eq(evr_consumer_poll(cons, &it), 1, "lap %u: position %llu held the consumer up", lap,
				     (unsigned long long)ls.cursor);
			if (it.kind == EVR_ITEM_LOST_ABANDONED)
				abandoned++;
			else
				cr_assert(it.kind == EVR_ITEM_RECORD && mp_intact(&it.rec), "lap %u: kind %d", lap, it.kind);
		}
	}
	cr_assert_eq(abandoned, 20, "one abandoned record per lap of the stuck slot, %llu", (unsigned long long)abandoned);
	struct evr_lane_stats ls;
	evr_consumer_lane_stats(cons, 0, &ls);
	cr_assert_eq(ls.lost_lapped, 0);
	cr_assert_eq(ls.delivered + ls.lost_lapped + ls.lost_abandoned, ls.cursor - ls.start);
	evr_producer_close(p);
}
