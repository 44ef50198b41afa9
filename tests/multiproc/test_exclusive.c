/* Exclusive lanes across processes: an owner killed or stopped between evr_claim and evr_commit,
 * reclaim and reassignment of its lane, and concurrent opens racing for a lane a dead owner left.
 * A dead owner's lane must come back (released slot first, so a consumer skips it at once, without
 * waiting for its timeout); a stopped owner's lane must never be given to anyone else. */
#include <criterion/criterion.h>
#include <errno.h>

#include "mp_util.h"

#define SLOTS 16
#define XLANE 1 /* one shared lane, then the exclusive one */

static char name[64];
static struct evr_ring *ring, *ro;
static struct evr_consumer *cons;

/* abandon_ns: how long the consumer waits for an unpublished position */
static void make_ring(uint64_t abandon_ns)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.exclusive_lanes = 1;
	o.slots_per_lane = SLOTS;
	o.max_producers = 8;
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, "excl"), &o, &ring, NULL), 0);
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &ro, NULL), 0);
	struct evr_consumer_opts co = { .start = EVR_START_OLDEST, .abandon_timeout_ns = abandon_ns };
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

/* A child that owns the exclusive lane, emits `n` records in place, claims one more, reports on fd
 * and then raises `sig` with the claim open: SIGKILL dies there, SIGSTOP waits there and, once
 * continued, commits it, emits `after` more and closes. Even positions go through the inline claim
 * and commit (evr_claim_fast), odd ones through the library's: an even `n` leaves an inline claim
 * open, an odd one the library's. */
static pid_t start_owner(int fd, uint64_t n, int sig, uint64_t after)
{
	pid_t pid = mp_track(fork());
	if (pid)
		return pid;
	struct evr_ring *r;
	struct evr_producer *p;
	struct evr_record *rec;
	if (evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL) ||
	    evr_producer_open_flags(r, "owner", EVR_PRODUCER_EXCLUSIVE, &p, NULL))
		_exit(1);
	for (uint64_t i = 0; i <= n + after; i++) {
		int inl = (i & 1) == 0;
		if (inl ? evr_claim_fast(p, EVR_TOOL_COMPLETED, &rec) : evr_claim(p, EVR_TOOL_COMPLETED, &rec))
			_exit(2);
		mp_fill_in_place(rec, 1, i);
		if (i == n) {
			if (write(fd, "c", 1) != 1)
				_exit(3);
			raise(sig);
		}
		if (inl ? evr_commit_fast(p) : evr_commit(p))
			_exit(4);
	}
	evr_producer_close(p);
	_exit(0);
}

/* Poll until an item comes or `ms` pass; 0 when none came. */
static int poll_for(struct evr_item *it, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (evr_consumer_poll(cons, it) == 1)
			return 1;
		usleep(1000);
	}
	return 0;
}

static void expect_records(uint64_t corr, uint64_t from, uint64_t to)
{
	struct evr_item it;
	for (uint64_t i = from; i < to; i++) {
		cr_assert(poll_for(&it, 1000), "record %llu came", (unsigned long long)i);
		cr_assert_eq(it.kind, EVR_ITEM_RECORD);
		cr_assert_eq(it.lane, XLANE);
		cr_assert(mp_intact(&it.rec));
		cr_assert_eq(it.rec.correlation_id, corr);
		cr_assert_eq(it.rec.plan_id, i);
	}
}

static void assert_identity(void)
{
	struct evr_lane_stats s;
	evr_consumer_lane_stats(cons, XLANE, &s);
	cr_assert_eq(s.delivered + s.lost_lapped + s.lost_abandoned, s.cursor - s.start);
	cr_assert_eq(s.cursor, evr_ring_lane_head(ro, XLANE), "drained to the head");
}

/* The owner dies with its `n`th claim open (inline for an even n, the library's for an odd one). */
static void killed_between_claim_and_commit(uint64_t n)
{
	make_ring(3600ull * 1000000000ull); /* an hour: only the reclaim can release the position */
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t owner = start_owner(pfd[1], n, SIGKILL, 0);
	char c;
	cr_assert_eq(read(pfd[0], &c, 1), 1);
	int st = evr_test_reap(owner, 0);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	expect_records(1, 0, n);
	struct evr_item it;
	cr_assert_eq(evr_consumer_poll(cons, &it), 0, "the open claim waits (the owner is not known dead yet)");

	struct evr_reclaim_report rr;
	cr_assert_eq(evr_ring_reclaim(ring, &rr), 0);
	cr_assert_eq(rr.producers_reclaimed, 1);
	cr_assert_eq(rr.slots_reclaimed, 1, "the claimed slot");
	cr_assert_eq(evr_consumer_poll(cons, &it), 1);
	cr_assert_eq(it.kind, EVR_ITEM_LOST_ABANDONED, "skipped at once after the reclaim");
	cr_assert_eq(it.pos, n);

	struct evr_producer *next;
	cr_assert_eq(evr_producer_open_flags(ring, "next", EVR_PRODUCER_EXCLUSIVE, &next, NULL), 0,
		     "the dead owner's lane was given back");
	for (uint64_t i = 0; i < 3; i++) {
		struct evr_record *rec;
		cr_assert_eq(evr_claim(next, EVR_TOOL_COMPLETED, &rec), 0);
		cr_assert_eq(rec->lane, XLANE);
		mp_fill_in_place(rec, 2, i);
		cr_assert_eq(evr_commit(next), 0);
	}
	expect_records(2, 0, 3);
	assert_identity();
	struct evr_lane_stats s;
	evr_consumer_lane_stats(cons, XLANE, &s);
	cr_assert_eq(s.delivered, n + 3);
	cr_assert_eq(s.lost_abandoned, 1);
	evr_producer_close(next);
	close(pfd[0]);
	close(pfd[1]);
}

Test(exclusive, an_owner_killed_between_claim_and_commit_is_reclaimed_and_its_lane_reassigned, .fini = teardown)
{
	killed_between_claim_and_commit(5); /* evr_claim */
}

Test(exclusive, an_owner_killed_between_an_inline_claim_and_commit_is_reclaimed_too, .fini = teardown)
{
	killed_between_claim_and_commit(4); /* evr_claim_fast */
}

Test(exclusive, an_owner_stopped_between_claim_and_commit_keeps_its_lane, .fini = teardown)
{
	make_ring(20ull * 1000000); /* 20 ms */
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t owner = start_owner(pfd[1], 5, SIGSTOP, 2);
	char c;
	cr_assert_eq(read(pfd[0], &c, 1), 1);
	int st;
	cr_assert_eq(waitpid(owner, &st, WUNTRACED), owner);
	cr_assert(WIFSTOPPED(st));
	struct evr_reclaim_report rr;
	cr_assert_eq(evr_ring_reclaim(ring, &rr), 0);
	cr_assert_eq(rr.producers_reclaimed, 0, "a stopped owner is alive");
	struct evr_producer *other;
	cr_assert_eq(evr_producer_open_flags(ring, "thief", EVR_PRODUCER_EXCLUSIVE, &other, NULL), -EBUSY,
		     "its lane is not given to anyone else");
	expect_records(1, 0, 5);
	struct evr_item it;
	cr_assert(poll_for(&it, 2000));
	cr_assert_eq(it.kind, EVR_ITEM_LOST_ABANDONED, "the consumer skips the stalled claim after its timeout");
	kill(owner, SIGCONT);
	st = evr_test_reap(owner, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect_records(1, 6, 8);
	assert_identity();
	cr_assert_eq(evr_producer_open_flags(ring, "after", EVR_PRODUCER_EXCLUSIVE, &other, NULL), 0,
		     "given back at close");
	evr_producer_close(other);
	close(pfd[0]);
	close(pfd[1]);
}

/* After a death, OPENERS processes race for the one lane (each open reclaims first) and hold what
 * they got: exactly one gets it, every round. The next round's owner gets it from the killed winner. */
#define OPENERS 3
#define ROUNDS 15
Test(exclusive, concurrent_opens_after_an_owners_death_give_its_lane_to_exactly_one, .fini = teardown,
     .timeout = 120)
{
	make_ring(10ull * 1000000);
	int pfd[2], res[2];
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(pipe(res), 0);
	for (int round = 0; round < ROUNDS; round++) {
		pid_t owner = start_owner(pfd[1], 2, SIGKILL, 0);
		char c;
		cr_assert_eq(read(pfd[0], &c, 1), 1, "round %d: the owner got the lane", round);
		evr_test_reap(owner, 0);
		pid_t op[OPENERS];
		for (int i = 0; i < OPENERS; i++)
			if ((op[i] = mp_track(fork())) == 0) {
				struct evr_ring *r;
				struct evr_producer *p;
				char rc = 2;
				if (!evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL)) {
					int e = evr_producer_open_flags(r, "racer", EVR_PRODUCER_EXCLUSIVE, &p, NULL);
					rc = e == 0 ? 0 : e == -EBUSY ? 1 : 2;
				}
				if (write(res[1], &rc, 1) != 1)
					_exit(3);
				for (;;)
					pause(); /* hold the lane until killed */
			}
		int winners = 0;
		for (int i = 0; i < OPENERS; i++) {
			char rc;
			cr_assert_eq(read(res[0], &rc, 1), 1);
			cr_assert_lt(rc, 2, "round %d: an open failed otherwise than -EBUSY", round);
			winners += rc == 0;
		}
		cr_assert_eq(winners, 1, "round %d: %d owners of one lane", round, winners);
		for (int i = 0; i < OPENERS; i++)
			evr_test_reap(op[i], SIGKILL);
	}
	close(pfd[0]);
	close(pfd[1]);
	close(res[0]);
	close(res[1]);
}
