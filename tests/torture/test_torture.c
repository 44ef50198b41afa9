/* Crash torture: producer processes are SIGKILLed (also between claim and publish, from inside the
 * emit path through the test hooks, and between evr_claim and evr_commit) and restarted, others SIGSTOPped and continued, while
 * independent consumer processes verify every record, and the driver and RECLAIMERS reclaimer
 * processes reclaim what the dead left, all at once. Reclaimers kill themselves now and then in the
 * middle of a reclaim (through the entry hooks) and are restarted. The producer table has one entry
 * more than there are producers, so restarted producers keep reusing the entries of dead ones.
 * The last XPRODUCERS producers own exclusive lanes and claim in place (aborting now and then); a
 * restarted one gets the lane of the one it replaces once that one is reclaimed. The others mix
 * evr_emit with claims in place on the shared lanes. Claims alternate the inline calls
 * (evr_claim_fast, evr_commit_fast) and the library's.
 *
 * Checked at the end, per consumer: no torn or misplaced record (each payload is a pure function of
 * its (producer, counter) pair), counters strictly increasing per producer incarnation within a
 * lane (a producer that migrates between CPUs writes to two lanes, which are not ordered with
 * respect to each other), every lane
 * drained to its head with delivered + lost_lapped + lost_abandoned == cursor - start, and no stall
 * longer than the bound (abandon timeout plus scheduling slack), and, once everyone is gone and a
 * last reclaim ran, no entry left registered to a dead holder. Quick by default (a few seconds);
 * EVR_TORTURE_SECONDS=N runs longer (scripts/soak.sh). The figures are printed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "../multiproc/mp_util.h"
#include <evring/platform.h>

#define PRODUCERS 3
#define CONSUMERS 2
#define RECLAIMERS 2
#define XPRODUCERS 1 /* of PRODUCERS, on exclusive lanes */
#define LANES (2 + XPRODUCERS)
#define SLOTS 256
#define ABANDON_NS (10u * 1000u * 1000u)
#define STALL_BOUND_NS (1000u * 1000u * 1000u) /* abandon timeout + generous slack on 2 busy cores */
#define TRACK 4096                             /* producer incarnations a consumer can track */

struct consumer_report {
	uint64_t verified, torn, out_of_order, invalid, max_stall_ns;
	struct evr_lane_stats lanes[LANES];
	uint64_t heads_at_end[LANES];
	int done;
};

struct shared {
	_Atomic int stop;        /* driver -> consumers: producers are gone, drain to the heads */
	_Atomic uint64_t incarnations;
	_Atomic uint64_t starved; /* exclusive producers that waited 200 opens for their lane */
	struct consumer_report consumers[CONSUMERS];
};

static char name[64];
static struct shared *sh;

/* In a producer: die inside the emit window now and then (1 in 20000 emits, on either side of the
 * ownership CAS) so dead writers leave claimed-but-unpublished positions. */
static void maybe_die(unsigned lane, uint64_t pos)
{
	(void)lane;
	if ((pos * 2654435761u >> 7) % 20000 == (uint64_t)getpid() % 20000)
		raise(SIGKILL);
}

/* In a reclaimer: die in the middle of a reclaim now and then, leaving a RECLAIMING entry. */
static void maybe_die_reclaiming(enum evr_hook_point at, unsigned idx)
{
	(void)idx;
	if (at != EVR_HOOK_REGISTER_CLAIMING && random() % 8 == 0)
		raise(SIGKILL);
}

static void reclaimer_child(void)
{
	struct evr_ring *r;
	if (evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL))
		_exit(1);
	srandom((unsigned)getpid());
	evr_test_hook_entry = maybe_die_reclaiming;
	for (;;) {
		struct evr_reclaim_report rr;
		if (evr_ring_reclaim(r, &rr))
			_exit(2);
		usleep(500);
	}
}

/* Claim in place, through the inline calls (evr_claim_fast, evr_commit_fast) for even n and the
 * library's for odd n: abort one claim in 512 and kill itself between claim and commit one time in
 * 20000. */
static void claim_one(struct evr_producer *p, uint64_t id, uint64_t n)
{
	struct evr_record *rec;
	int inl = (n & 1) == 0;
	if (inl ? evr_claim_fast(p, EVR_TOOL_COMPLETED, &rec) : evr_claim(p, EVR_TOOL_COMPLETED, &rec))
		return;
	mp_fill_in_place(rec, id, n);
	uint64_t h = n * 2654435761u >> 5;
	if (h % 20000 == (uint64_t)getpid() % 20000)
		raise(SIGKILL);
	if (h % 512 == 7)
		evr_abort(p);
	else if (inl)
		evr_commit_fast(p);
	else
		evr_commit(p);
}

static void producer_child(uint64_t id)
{
	struct evr_ring *r;
	struct evr_producer *p;
	int exclusive = (id >> 32) >= PRODUCERS - XPRODUCERS;
	if (evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL))
		_exit(1);
	int rc;
	/* -EBUSY: a reclaimer holds the lock of the killed owner we replace; it gives the lane back
	 * within microseconds, and every open reclaims first: 200 tries mean the lane is lost */
	for (int tries = 0; (rc = evr_producer_open_flags(r, "torture", exclusive ? EVR_PRODUCER_EXCLUSIVE : 0, &p,
							  NULL)) == -EBUSY; tries++) {
		if (tries == 200)
			atomic_fetch_add(&sh->starved, 1);
		usleep(1000);
	}
	if (rc)
		_exit(1);
	evr_test_hook_claimed = maybe_die;
	evr_test_hook_owned = maybe_die;
	for (uint64_t n = 0;; n++) {
		if (exclusive || n % 4 >= 2) { /* shared producers claim in place half of the time (inline, library) */
			claim_one(p, id, n);
		} else {
			struct evr_record rec;
			mp_fill(&rec, id, n);
			evr_emit(p, &rec);
		}
		if (n % 64 == 0)
			usleep(50); /* leave the consumers some CPU on 2 cores */
	}
}

/* last counter seen per producer incarnation, open addressing on the id */
struct seen {
	uint64_t id, last;
	bool used;
};

static bool in_order(struct seen *t, uint64_t id, uint64_t n)
{
	for (uint64_t h = id * 0x9E3779B97F4A7C15ull % TRACK;; h = (h + 1) % TRACK) {
		if (!t[h].used) {
			t[h] = (struct seen){ .id = id, .last = n, .used = true };
			return true;
		}
		if (t[h].id == id) {
			bool ok = n > t[h].last;
			t[h].last = n;
			return ok;
		}
	}
}

static void consumer_child(int idx)
{
	struct consumer_report *rep = &sh->consumers[idx];
	struct evr_ring *r;
	struct evr_consumer *c;
	struct evr_consumer_opts o = { .start = EVR_START_OLDEST, .abandon_timeout_ns = ABANDON_NS };
	if (evr_ring_open(name, EVR_ROLE_CONSUMER, &r, NULL) || evr_consumer_open(r, &o, &c, NULL))
		_exit(1);
	static struct seen seen[TRACK];
	struct evr_item items[64];
	uint64_t stall_since = 0;
	for (;;) {
		int stopping = atomic_load(&sh->stop); /* read before polling: then "nothing left" is final */
		int n = evr_consumer_poll_batch(c, items, 64);
		for (int i = 0; i < n; i++) {
			const struct evr_item *it = &items[i];
			if (it->kind == EVR_ITEM_INVALID)
				rep->invalid++;
			if (it->kind != EVR_ITEM_RECORD)
				continue;
			if (!mp_intact(&it->rec))
				rep->torn++;
			else if (!in_order(seen, it->rec.correlation_id ^ (uint64_t)it->lane << 60, it->rec.plan_id))
				rep->out_of_order++;
			else
				rep->verified++;
		}
		uint64_t behind = 0;
		for (unsigned l = 0; l < LANES; l++) {
			struct evr_lane_stats st;
			evr_consumer_lane_stats(c, l, &st);
			behind += evr_ring_lane_head(r, l) - st.cursor;
		}
		uint64_t now = evr_test_now_ns();
		if (n > 0 || !behind) {
			if (stall_since && now - stall_since > rep->max_stall_ns)
				rep->max_stall_ns = now - stall_since;
			stall_since = 0;
		} else if (!stall_since) {
			stall_since = now; /* records are claimed ahead of us and none came out */
		}
		if (n == 0 && stopping && !behind)
			break;
		if (n == 0)
			evr_consumer_wait(c, 1000000);
	}
	for (unsigned l = 0; l < LANES; l++) {
		evr_consumer_lane_stats(c, l, &rep->lanes[l]);
		rep->heads_at_end[l] = evr_ring_lane_head(r, l);
	}
	rep->done = 1;
	_exit(0);
}

static pid_t spawn_producer(unsigned idx)
{
	uint64_t inc = atomic_fetch_add(&sh->incarnations, 1);
	pid_t pid = fork();
	if (pid == 0)
		producer_child((uint64_t)idx << 32 | inc);
	return pid;
}

Test(torture, kills_and_stalls_never_tear_a_record_or_stall_a_consumer_and_losses_add_up, .timeout = 900)
{
	double seconds = getenv("EVR_TORTURE_SECONDS") ? atof(getenv("EVR_TORTURE_SECONDS")) : 4;
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = LANES - XPRODUCERS;
	o.exclusive_lanes = XPRODUCERS;
	o.slots_per_lane = SLOTS;
	o.max_producers = PRODUCERS + 1; /* restarts reuse the entries of the dead */
	struct evr_ring *ring;
	evr_test_name(name, sizeof name, "torture");
	cr_assert_eq(evr_ring_create(name, &o, &ring, NULL), 0);
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	pid_t prod[PRODUCERS], cons[CONSUMERS], recl[RECLAIMERS];
	for (int i = 0; i < CONSUMERS; i++)
		if ((cons[i] = fork()) == 0)
			consumer_child(i);
	for (int i = 0; i < RECLAIMERS; i++)
		if ((recl[i] = fork()) == 0)
			reclaimer_child();
	for (unsigned i = 0; i < PRODUCERS; i++)
		prod[i] = spawn_producer(i);

	uint64_t kills = 0, stops = 0, self_kills = 0, reclaimed_slots = 0, reclaimed_producers = 0, reclaimer_deaths = 0;
	uint64_t end = evr_test_now_ns() + (uint64_t)(seconds * 1e9), rnd = 0x243F6A8885A308D3ull;
	while (evr_test_now_ns() < end) {
		usleep(20000);
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		unsigned victim = (unsigned)(rnd % PRODUCERS);
		int st;
		for (unsigned i = 0; i < PRODUCERS; i++) /* restart the ones that killed themselves mid-emit */
			if (waitpid(prod[i], &st, WNOHANG) == prod[i]) {
				/* an exit (not a kill) means it could not open: an exclusive lane never given back */
				cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "producer %u failed (status %d)", i, st);
				self_kills++;
				prod[i] = spawn_producer(i);
			}
		for (int i = 0; i < RECLAIMERS; i++) /* restart the reclaimers that died mid-reclaim */
			if (waitpid(recl[i], &st, WNOHANG) == recl[i]) {
				cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "reclaimer failed (status %d)", st);
				reclaimer_deaths++;
				if ((recl[i] = fork()) == 0)
					reclaimer_child();
			}
		switch (rnd >> 32 & 3) {
		case 0: /* SIGKILL and restart: anywhere, including mid-emit */
			evr_test_reap(prod[victim], SIGKILL);
			prod[victim] = spawn_producer(victim);
			kills++;
			break;
		case 1: /* SIGSTOP for a while, then continue */
			kill(prod[victim], SIGSTOP);
			usleep(1000 + (unsigned)(rnd >> 40) % 30000);
			kill(prod[victim], SIGCONT);
			stops++;
			break;
		default: {
			struct evr_reclaim_report rr;
			cr_assert_eq(evr_ring_reclaim(ring, &rr), 0);
			reclaimed_slots += rr.slots_reclaimed;
			reclaimed_producers += rr.producers_reclaimed;
		}
		}
	}
	for (unsigned i = 0; i < PRODUCERS; i++) {
		kill(prod[i], SIGCONT);
		evr_test_reap(prod[i], SIGKILL);
	}
	for (int i = 0; i < RECLAIMERS; i++)
		evr_test_reap(recl[i], SIGKILL);
	struct evr_reclaim_report rr;
	evr_ring_reclaim(ring, &rr); /* what the final kills left mid-write */
	reclaimed_slots += rr.slots_reclaimed;
	reclaimed_producers += rr.producers_reclaimed;
	for (unsigned i = 0; i < PRODUCERS + 1; i++) {
		struct evr_producer_info pi;
		if (evr_ring_producer_info(ring, i, &pi))
			continue;
		cr_expect(pi.state == EVR_PRODUCER_DEAD || pi.state == EVR_PRODUCER_CLOSED,
			  "entry %u left in state %d (generation %llu) after everyone died and a reclaim ran", i,
			  (int)pi.state, (unsigned long long)pi.generation);
	}
	cr_expect_eq(atomic_load(&sh->starved), 0, "an exclusive lane was not given back after its owner died");
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < CONSUMERS; i++) {
		int st = evr_test_reap(cons[i], 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "consumer %d failed (status %d)", i, st);
	}

	uint64_t verified = 0, max_stall = 0;
	for (int i = 0; i < CONSUMERS; i++) {
		const struct consumer_report *c = &sh->consumers[i];
		cr_assert(c->done);
		cr_expect_eq(c->torn, 0, "consumer %d: %llu torn records", i, (unsigned long long)c->torn);
		cr_expect_eq(c->out_of_order, 0, "consumer %d: %llu out of order", i, (unsigned long long)c->out_of_order);
		cr_expect_eq(c->invalid, 0, "consumer %d: %llu invalid", i, (unsigned long long)c->invalid);
		for (unsigned l = 0; l < LANES; l++) {
			const struct evr_lane_stats *s = &c->lanes[l];
			cr_expect_eq(s->delivered + s->lost_lapped + s->lost_abandoned, s->cursor - s->start,
				     "consumer %d lane %u: %llu + %llu + %llu != %llu", i, l, (unsigned long long)s->delivered,
				     (unsigned long long)s->lost_lapped, (unsigned long long)s->lost_abandoned,
				     (unsigned long long)(s->cursor - s->start));
			cr_expect_eq(s->cursor, c->heads_at_end[l], "consumer %d drained lane %u to its head", i, l);
		}
		cr_expect_lt(c->max_stall_ns, STALL_BOUND_NS, "consumer %d stalled %.1f ms", i, c->max_stall_ns / 1e6);
		verified += c->verified;
		max_stall = c->max_stall_ns > max_stall ? c->max_stall_ns : max_stall;
	}
	printf("torture %.0f s: %llu kills + %llu self-kills inside emit, %llu stops, %llu records verified by %d "
	       "consumers, 0 torn, max consumer stall %.1f ms (bound %.0f ms), %llu stuck slots and %llu dead "
	       "producers reclaimed by the driver (%d reclaimers alongside, %llu of them killed mid-reclaim)\n",
	       seconds, (unsigned long long)kills, (unsigned long long)self_kills, (unsigned long long)stops,
	       (unsigned long long)verified, CONSUMERS, max_stall / 1e6, STALL_BOUND_NS / 1e6,
	       (unsigned long long)reclaimed_slots, (unsigned long long)reclaimed_producers, RECLAIMERS,
	       (unsigned long long)reclaimer_deaths);
	for (int i = 0; i < CONSUMERS; i++)
		for (unsigned l = 0; l < LANES; l++) {
			const struct evr_lane_stats *s = &sh->consumers[i].lanes[l];
			printf("  consumer %d lane %u: delivered %llu + lapped %llu + abandoned %llu == %llu positions\n", i, l,
			       (unsigned long long)s->delivered, (unsigned long long)s->lost_lapped,
			       (unsigned long long)s->lost_abandoned, (unsigned long long)(s->cursor - s->start));
		}
	fflush(stdout);
	munmap(sh, sizeof *sh);
	evr_ring_close(ring);
	evr_ring_unlink(name, NULL);
}
