/* Reclaim: the slow path that keeps a dead producer from leaving permanent holes.
 *
 * An entry is dead when its liveness lock can be taken while the entry says somebody holds it
 * (CLAIMING, LIVE, RECLAIMING): every holder keeps the lock for as long as it acts (liveness.c), and
 * only the kernel drops the lock of a holder that did not give the entry up, when its process is
 * gone. A stopped or slow producer keeps its lock and is never touched.
 *
 * Per entry i, holding i's lock on our own open file description:
 *   1. re-read the entry; the word cannot change under us any more (every other actor needs the lock);
 *   2. CAS it to RECLAIMING with the same generation (for display, and so a reclaimer that dies here
 *      leaves an entry the next one recognises: it is reclaimed again, which is idempotent);
 *   3. turn every WRITING slot word owned by i into ABANDONED at the same position (a CAS on the exact
 *      word, so a slot already moved on is left alone); consumers count those positions as abandoned
 *      at once and the next lap's writer can take the slots;
 *   4. give back the exclusive lanes it owned (after 3: the next owner finds no slot of it WRITING);
 *   5. mark the entry DEAD (release), and only then drop the lock.
 * So at most one process acts on a dead entry, and the entry cannot be reused before the dead
 * owner's slots are released: a new owner of index i (which needs the lock and sees DEAD) never has
 * a slot of its predecessor blamed on it. The dead writer cannot come back to write late: the kernel
 * dropped its lock only after all its threads were gone.
 */
#include <errno.h>
#include <unistd.h>

#include "ring_internal.h"

static int held_by_someone(enum evr_producer_state st)
{
	return st == EVR_PRODUCER_CLAIMING || st == EVR_PRODUCER_LIVE || st == EVR_PRODUCER_RECLAIMING;
}

/* Turn every slot word WRITING with this owner into ABANDONED at its position. The caller holds the
 * owner's liveness lock, so no writer of that index can be active. */
unsigned evr_release_slots_of(struct evr_ring *r, unsigned owner)
{
	unsigned n = 0;
	for (unsigned l = 0; l < r->lanes; l++) {
		struct evr_lane_ref lane = evr_ring_lane(r, l);
		for (uint64_t s = 0; s < r->slots; s++) {
			_Atomic uint64_t *ctl = evr_slot_ctl(evr_lane_slot(&lane, s));
			/* relaxed: the CAS below only succeeds on the exact word we judged */
			uint64_t w = atomic_load_explicit(ctl, memory_order_relaxed);
			if (evr_ctl_state(w) != EVR_SLOT_WRITING || evr_ctl_owner(w) != owner)
				continue;
			uint64_t abandoned = (w & ~(uint64_t)3) | EVR_SLOT_ABANDONED;
			/* release: pairs with the reader's acquire load; nothing else to order, the body is junk */
			if (atomic_compare_exchange_strong_explicit(ctl, &w, abandoned, memory_order_release,
								    memory_order_relaxed))
				n++;
		}
	}
	return n;
}

/* Give back every exclusive lane this owner holds. The caller holds the owner's liveness lock and
 * released its slots first, so the next owner of a lane finds no slot of this one WRITING. */
void evr_release_xlanes_of(struct evr_ring *r, unsigned owner)
{
	for (unsigned l = r->shared_lanes; l < r->lanes; l++) {
		uint64_t mine = owner + 1u;
		/* release: pairs with the acquire in take_xlane(); our slot releases and the last head come
		 * before the lane can be taken */
		atomic_compare_exchange_strong_explicit(&evr_ring_lane(r, l).hdr->owner, &mine, 0, memory_order_release,
							memory_order_relaxed);
	}
}

/* Entry i, its lock held by fd: 1 when it was a dead holder's and is now DEAD. */
static int reclaim_locked(struct evr_ring *r, unsigned i, struct evr_reclaim_report *rep)
{
	struct evr_producer_entry *e = evr_ring_producer(r, i);
	/* acquire: pairs with the release store of LIVE by the dead holder (its pid and name) */
	uint64_t w = atomic_load_explicit(&e->word, memory_order_acquire);
	if (!held_by_someone(evr_entry_state(w)))
		return 0; /* closed or reclaimed meanwhile */
	uint64_t gen = evr_entry_gen(w);
	/* relaxed: under the lock nobody else changes the word; the CAS guards the value we judged */
	if (!atomic_compare_exchange_strong_explicit(&e->word, &w, evr_entry_word(EVR_PRODUCER_RECLAIMING, gen),
						     memory_order_relaxed, memory_order_relaxed))
		return 0;
	EVR_TEST_HOOK_ENTRY(EVR_HOOK_RECLAIM_MARKED, i);
	rep->slots_reclaimed += evr_release_slots_of(r, i);
	evr_release_xlanes_of(r, i);
	EVR_TEST_HOOK_ENTRY(EVR_HOOK_RECLAIM_RELEASED, i);
	/* release: the slot releases above happen before anyone can see DEAD and reuse the index */
	atomic_store_explicit(&e->word, evr_entry_word(EVR_PRODUCER_DEAD, gen), memory_order_release);
	return 1;
}

int evr_ring_reclaim(struct evr_ring *r, struct evr_reclaim_report *report)
{
	struct evr_reclaim_report rep = {0, 0};
	if (r->role != EVR_ROLE_PRODUCER)
		return -EBADF;
	int fd = -1;
	int cancel = evr_fork_guard_enter(); /* no child may inherit our description while it holds a lock */
	for (unsigned i = 0; i < r->max_producers; i++) {
		struct evr_producer_entry *e = evr_ring_producer(r, i);
		/* relaxed: a first look, to skip free entries without a syscall; judged again under the lock */
		if (!held_by_someone(evr_entry_state(atomic_load_explicit(&e->word, memory_order_relaxed))))
			continue;
		if (fd < 0 && (fd = evr_live_reopen(r->live_fd, r->name)) < 0) {
			evr_fork_guard_leave(cancel);
			return fd;
		}
		if (evr_live_trylock(fd, i))
			continue; /* its holder is alive (or another reclaimer is at it) */
		EVR_TEST_HOOK_ENTRY(EVR_HOOK_RECLAIM_LOCKED, i);
		rep.producers_reclaimed += (unsigned)reclaim_locked(r, i, &rep);
		evr_live_unlock(fd, i);
	}
	if (fd >= 0)
		close(fd);
	evr_fork_guard_leave(cancel);
	if (report)
		*report = rep;
	return 0;
}
