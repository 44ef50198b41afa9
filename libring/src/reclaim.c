/* Reclaim: the slow path that keeps a dead producer from leaving permanent holes.
 *
 * For every LIVE entry whose process is gone (pid + start time, zombies included), walk every slot
 * of every lane and turn WRITING words owned by that entry into ABANDONED (same position), so
 * consumers count the position as abandoned at once and the next lap's writer can take the slot.
 * Only then is the entry marked DEAD and reusable: a new owner of the same index can never be blamed
 * for the dead one's slots. A stalled (SIGSTOPped) producer is alive and is never reclaimed.
 *
 * Entries caught in CLAIMING by a crash are left alone: their pid may not be written yet.
 */
#include <errno.h>

#include "ring_internal.h"

static unsigned reclaim_slots_of(struct evr_ring *r, unsigned owner)
{
	unsigned n = 0;
	for (unsigned l = 0; l < r->lanes; l++) {
		struct evr_lane_ref lane = evr_ring_lane(r, l);
		for (uint64_t s = 0; s < r->slots; s++) {
			_Atomic uint64_t *ctl = evr_slot_ctl(lane.slots + s * lane.record_size);
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

int evr_ring_reclaim(struct evr_ring *r, struct evr_reclaim_report *report)
{
	struct evr_reclaim_report rep = {0, 0};
	if (r->role != EVR_ROLE_PRODUCER)
		return -EBADF;
	for (unsigned i = 0; i < r->max_producers; i++) {
		struct evr_producer_entry *e = evr_ring_producer(r, i);
		/* acquire: pairs with the release that published LIVE; pid and start time are complete */
		uint32_t s = atomic_load_explicit(&e->state, memory_order_acquire);
		if (s != EVR_PRODUCER_LIVE || evr_proc_alive(e->pid, e->start_time))
			continue;
		rep.slots_reclaimed += reclaim_slots_of(r, i);
		/* release: our slot rewrites happen before the entry can be reused */
		if (atomic_compare_exchange_strong_explicit(&e->state, &s, EVR_PRODUCER_DEAD, memory_order_release,
							    memory_order_relaxed))
			rep.producers_reclaimed++;
	}
	if (report)
		*report = rep;
	return 0;
}
