/* Producers: registration in the producer table and the emit path.
 *
 * evr_emit picks the lane of the CPU it runs on (sched_getcpu reads rseq here: no syscall), so a
 * lane's head line mostly stays on one core; a migration between claim and publish stays correct
 * because every lane is multi-producer safe. Counters live in the producer's own table line and are
 * written with plain relaxed stores (single writer), never with a shared read-modify-write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "evring/producer.h"
#include "ring_internal.h"

#ifdef EVR_TEST_HOOKS
void (*volatile evr_test_hook_owned)(unsigned lane, uint64_t pos);
void (*volatile evr_test_hook_claimed)(unsigned lane, uint64_t pos);
#endif

struct evr_producer {
	struct evr_ring *ring;
	struct evr_producer_entry *entry;
	uint16_t id;
	uint32_t lane_mask;
	uint32_t last_lane;
	uint64_t emitted, dropped; /* private copies of the entry's counters */
	struct evr_lane_ref lanes[];
};

/* Take a FREE entry if there is one; reuse CLOSED or DEAD entries (whose counters `evring info`
 * still shows) only when the table has no never-used entry left. */
static int claim_entry(struct evr_ring *r, const char *service, unsigned *idx)
{
	int32_t pid = (int32_t)getpid();
	uint64_t start = 0;
	evr_proc_start_time(pid, &start);
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < r->max_producers; i++) {
			struct evr_producer_entry *e = evr_ring_producer(r, i);
			/* relaxed: a first look; the CAS below decides */
			uint32_t s = atomic_load_explicit(&e->state, memory_order_relaxed);
			int wanted = pass == 0 ? s == EVR_PRODUCER_FREE
					       : s == EVR_PRODUCER_CLOSED || s == EVR_PRODUCER_DEAD;
			/* acquire: we own the entry before touching its fields */
			if (!wanted || !atomic_compare_exchange_strong_explicit(&e->state, &s, EVR_PRODUCER_CLAIMING,
										 memory_order_acquire, memory_order_relaxed))
				continue;
			e->pid = pid;
			e->start_time = start;
			memset(e->service, 0, sizeof e->service);
			strncpy(e->service, service ? service : "", sizeof e->service - 1);
			/* relaxed: nobody reads the counters until the LIVE store below publishes the entry */
			atomic_store_explicit(&e->emitted, 0, memory_order_relaxed);
			atomic_store_explicit(&e->dropped, 0, memory_order_relaxed);
			atomic_store_explicit(&e->lane_hint, 0, memory_order_relaxed);
			/* release: pairs with the acquire in evr_ring_producer_info() and reclaim */
			atomic_store_explicit(&e->state, EVR_PRODUCER_LIVE, memory_order_release);
			*idx = i;
			return 0;
		}
	}
	return -ENOSPC;
}

int evr_producer_open(struct evr_ring *r, const char *service, struct evr_producer **out, struct evr_err *err)
{
	if (r->role != EVR_ROLE_PRODUCER)
		return evr_fail(err, -EBADF, "ring %s was opened read-only (consumer role); producers need the producer role",
				r->name);
	evr_ring_reclaim(r, NULL); /* slow path: free what dead producers left before taking an entry */
	unsigned idx;
	if (claim_entry(r, service, &idx))
		return evr_fail(err, -ENOSPC, "ring %s: all %u producer entries are taken by live producers", r->name,
				r->max_producers);
	struct evr_producer *p = calloc(1, sizeof *p + r->lanes * sizeof p->lanes[0]);
	if (!p) {
		/* release: give the entry back; its zeroed counters are visible with CLOSED (as in close) */
		atomic_store_explicit(&evr_ring_producer(r, idx)->state, EVR_PRODUCER_CLOSED, memory_order_release);
		return evr_fail(err, -ENOMEM, "out of memory");
	}
	p->ring = r;
	p->entry = evr_ring_producer(r, idx);
	p->id = (uint16_t)idx;
	p->lane_mask = r->lanes - 1;
	for (unsigned l = 0; l < r->lanes; l++)
		p->lanes[l] = evr_ring_lane(r, l);
	*out = p;
	return 0;
}

void evr_producer_close(struct evr_producer *p)
{
	if (!p)
		return;
	/* release: the final counters are visible with the CLOSED state */
	atomic_store_explicit(&p->entry->state, EVR_PRODUCER_CLOSED, memory_order_release);
	free(p);
}

int evr_emit(struct evr_producer *p, struct evr_record *rec)
{
	if (rec->type >= EVR_EVENT_COUNT || (rec->flags & ~EVR_REC_FLAGS_KNOWN))
		return -EINVAL;
	/* relaxed: process-local flag set by the SIGBUS shield */
	if (atomic_load_explicit(&p->ring->broken, memory_order_relaxed))
		return -EFAULT;
	int cpu = sched_getcpu();
	unsigned lane = cpu < 0 ? 0 : (unsigned)cpu & p->lane_mask;
	rec->ts = evr_ts_now(p->ring->ts_source);
	rec->producer_id = p->id;
	rec->lane = (uint16_t)lane;
	int rc = evr_lane_write(&p->lanes[lane], lane, p->id, rec, sizeof *rec);
	/* relaxed stores: single-writer statistics on our own line, read by `evring info` */
	if (rc == 0)
		atomic_store_explicit(&p->entry->emitted, ++p->emitted, memory_order_relaxed);
	else
		atomic_store_explicit(&p->entry->dropped, ++p->dropped, memory_order_relaxed);
	if (lane != p->last_lane) {
		p->last_lane = lane;
		atomic_store_explicit(&p->entry->lane_hint, lane, memory_order_relaxed);
	}
	struct evr_wake_page *w = p->ring->wake;
	/* relaxed load: the one read-mostly line every emit touches; see wake.c for the bounded race */
	if (w && atomic_load_explicit(&w->waiters, memory_order_relaxed))
		evr_wake_sleepers(w);
	return rc;
}

uint16_t evr_producer_id(const struct evr_producer *p)
{
	return p->id;
}

void evr_producer_counters(const struct evr_producer *p, uint64_t *emitted, uint64_t *dropped)
{
	if (emitted)
		*emitted = p->emitted;
	if (dropped)
		*dropped = p->dropped;
}

uint64_t evr_producer_now(const struct evr_producer *p)
{
	return evr_ts_now(p->ring->ts_source);
}
