/* Producers: registration in the producer table and the emit path.
 *
 * Registration (claim_entry) takes entry i's liveness lock first (liveness.c), then moves the entry
 * from a reusable state (FREE, CLOSED, DEAD) to CLAIMING and on to LIVE with a new generation. The
 * lock is what makes this safe against everyone else who may act on entry i: another registrant or
 * a reclaimer fails to take it and moves on, and it stays held, on this producer's own open file
 * description, until evr_producer_close or the death of the process. A registration killed halfway
 * leaves CLAIMING with the lock dropped by the kernel, which reclaim treats like any dead owner.
 *
 * fork(): a child inherits the parent's descriptors and so would keep the parent's liveness locks
 * alive after the parent died. An atfork handler closes the child's copies and disarms the handles
 * in the child: there evr_emit returns -ECHILD without touching the ring and evr_producer_close only
 * frees memory. The parent keeps its producers; the child opens its own.
 *
 * evr_emit and evr_claim pick the lane of the CPU they run on (sched_getcpu reads rseq here: no
 * syscall), so a shared lane's head line mostly stays on one core; a migration between claim and
 * publish stays correct because every shared lane is multi-producer safe. A producer opened with
 * EVR_PRODUCER_EXCLUSIVE owns one exclusive lane instead (taken at registration under its liveness
 * lock, given back at close or by the reclaimer of its dead process) and writes it without a locked
 * instruction (lane.h). Counters live in the producer's own table line and are written with plain
 * relaxed stores (single writer), never with a shared read-modify-write.
 *
 * Claim-in-place: evr_claim owns a slot and hands it out to be filled; evr_commit publishes it,
 * evr_abort marks it abandoned. One claim at a time per handle. Types the ring does not have in this
 * table's layout (adapt.c), and every claim under ThreadSanitizer, are staged in the handle instead:
 * evr_commit then writes the staged record like evr_emit (TSan sees the slot copied with atomics).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
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
void (*volatile evr_test_hook_entry)(enum evr_hook_point at, unsigned idx);
#endif

struct evr_producer {
	/* what the inline claim and commit read and write (evring/bits/producer_fast.h): first, so a
	 * struct evr_producer * is one to it; the claim state lives there for both paths */
	struct evr_producer_hot hot;
	struct evr_ring *ring;
	struct evr_producer_entry *entry;
	bool forked; /* this is a fork() child's copy: disarmed (set by the atfork handler) */
	uint32_t fast_types; /* types below it take the fast path: the ring has them, laid out as ours */
	struct evr_wake_page *wake; /* the ring's, copied here: one load less per emit */
	uint64_t dropped;          /* private copy of the entry's counter (emitted is in hot) */
	int live_fd;               /* our own description of NAME~live; holds the entry's lock */
	uint64_t gen;              /* the generation we registered */
	pid_t pid;                 /* the process that registered it */
	struct evr_producer *next_open; /* the process's list of open producers, for the atfork handler */
	alignas(16) struct evr_record stage; /* a staged claim's record (16-aligned, like a slot) */
	struct evr_lane_ref lanes[];
};
_Static_assert(offsetof(struct evr_producer, hot) == 0, "the inline path takes the handle for its hot part");

/* What a producer without a wake page reads as `waiters`: nobody ever sleeps on it. */
static const uint32_t no_waiters;

/* Every open producer of this process, so a fork child can close its copies of their locks. The
 * mutex also keeps fork() out of the windows where this process holds a liveness lock the list does
 * not know of: from taking an entry's lock to listing the producer, from unlisting it to dropping the
 * lock, and during a reclaim (evr_fork_guard_enter). A child that inherited such a descriptor
 * unnoticed would keep the lock alive after the parent closed or died. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct evr_producer *open_list;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void)
{
	pthread_mutex_lock(&open_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&open_lock);
}

static void atfork_child(void)
{
	for (struct evr_producer *p = open_list; p; p = p->next_open) {
		close(p->live_fd); /* the parent's description keeps its lock: only its death drops it */
		p->live_fd = -1;
		p->forked = true;
		/* every claim and commit of the child goes out of line, where `forked` answers -ECHILD */
		p->hot.inline_types = 0;
		p->hot.inplace = NULL;
	}
	open_list = NULL;
	pthread_mutex_unlock(&open_lock);
}

static void install_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Cancellation is off inside: open() and close() are cancellation points, and a thread cancelled
 * while holding open_lock would leave it locked, and every later fork() of the process hanging. */
int evr_fork_guard_enter(void)
{
	int cancel;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	pthread_once(&atfork_once, install_atfork);
	pthread_mutex_lock(&open_lock);
	return cancel;
}

void evr_fork_guard_leave(int cancel)
{
	pthread_mutex_unlock(&open_lock);
	pthread_setcancelstate(cancel, NULL);
}

/* With open_lock held. */
static void list_add(struct evr_producer *p)
{
	p->next_open = open_list;
	open_list = p;
}

/* With open_lock held. */
static void list_remove(struct evr_producer *p)
{
	for (struct evr_producer **pp = &open_list; *pp; pp = &(*pp)->next_open)
		if (*pp == p) {
			*pp = p->next_open;
			break;
		}
}

static int reusable(enum evr_producer_state st, int pass)
{
	return pass == 0 ? st == EVR_PRODUCER_FREE : st == EVR_PRODUCER_CLOSED || st == EVR_PRODUCER_DEAD;
}

/* Take a FREE entry if there is one; reuse CLOSED or DEAD entries (whose counters `evring info`
 * still shows) only when the table has no never-used entry left. Holds the entry's lock on fd. */
static int claim_entry(struct evr_ring *r, int fd, const char *service, unsigned *idx, uint64_t *gen)
{
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < r->max_producers; i++) {
			struct evr_producer_entry *e = evr_ring_producer(r, i);
			/* relaxed: a first look to skip busy entries without a syscall; re-read under the lock */
			if (!reusable(evr_entry_state(atomic_load_explicit(&e->word, memory_order_relaxed)), pass) ||
			    evr_live_trylock(fd, i))
				continue;
			/* acquire: pairs with the release that made the entry CLOSED or DEAD, so the dead
			 * owner's slot releases happen before we reuse its index */
			uint64_t w = atomic_load_explicit(&e->word, memory_order_acquire);
			uint64_t claiming = evr_entry_word(EVR_PRODUCER_CLAIMING, evr_entry_gen(w) + 1);
			/* relaxed on success: we hold the lock, nobody else may change the word; the CAS only
			 * guards against a word that is not what we judged */
			if (!reusable(evr_entry_state(w), pass) ||
			    !atomic_compare_exchange_strong_explicit(&e->word, &w, claiming, memory_order_relaxed,
								     memory_order_relaxed)) {
				evr_live_unlock(fd, i);
				continue;
			}
			EVR_TEST_HOOK_ENTRY(EVR_HOOK_REGISTER_CLAIMING, i);
			e->pid = (int32_t)getpid();
			memset(e->service, 0, sizeof e->service);
			strncpy(e->service, service ? service : "", sizeof e->service - 1);
			/* relaxed: nobody reads the counters until the LIVE store below publishes the entry */
			atomic_store_explicit(&e->emitted, 0, memory_order_relaxed);
			atomic_store_explicit(&e->dropped, 0, memory_order_relaxed);
			atomic_store_explicit(&e->lane_hint, 0, memory_order_relaxed);
			/* release: pairs with the acquire in evr_ring_producer_info(); fields are complete */
			atomic_store_explicit(&e->word, evr_entry_word(EVR_PRODUCER_LIVE, evr_entry_gen(claiming)),
					      memory_order_release);
			*idx = i;
			*gen = evr_entry_gen(claiming);
			return 0;
		}
	}
	return -ENOSPC;
}

/* Give the entry up: CLOSED, keeping the final counters for display; the caller drops the lock
 * after. The CAS from our own LIVE word fails only if the entry is no longer ours; it is then left
 * alone. */
static void release_entry(struct evr_producer_entry *e, uint64_t gen)
{
	uint64_t live = evr_entry_word(EVR_PRODUCER_LIVE, gen);
	/* release: the final counters are visible with CLOSED; done before the lock is dropped so a
	 * reclaimer that gets the lock next sees CLOSED, not a LIVE entry without a holder */
	atomic_compare_exchange_strong_explicit(&e->word, &live, evr_entry_word(EVR_PRODUCER_CLOSED, gen),
						memory_order_release, memory_order_relaxed);
}

/* Own a free exclusive lane for entry idx (whose lock we hold): its index, or -1 when none is free. */
static int take_xlane(struct evr_ring *r, unsigned idx)
{
	for (unsigned l = r->shared_lanes; l < r->lanes; l++) {
		uint64_t free_word = 0;
		/* acquire: pairs with the release in evr_release_xlanes_of(); the previous owner's head and
		 * its released slot words are visible before we write the lane */
		if (atomic_compare_exchange_strong_explicit(&evr_ring_lane(r, l).hdr->owner, &free_word, idx + 1u,
							    memory_order_acquire, memory_order_relaxed))
			return (int)l;
	}
	return -1;
}

int evr_producer_open(struct evr_ring *r, const char *service, struct evr_producer **out, struct evr_err *err)
{
	return evr_producer_open_flags(r, service, 0, out, err);
}

int evr_producer_open_flags(struct evr_ring *r, const char *service, unsigned flags, struct evr_producer **out,
			    struct evr_err *err)
{
	if (flags & ~EVR_PRODUCER_EXCLUSIVE)
		return evr_fail(err, -EINVAL, "producer flags %#x: unknown flags", flags);
	if (r->role != EVR_ROLE_PRODUCER)
		return evr_fail(err, -EBADF, "ring %s was opened read-only (consumer role); producers need the producer role",
				r->name);
	evr_ring_reclaim(r, NULL); /* slow path: free what dead producers left before taking an entry */
	/* whole cache lines of its own: two producers of one process (one per thread) must not share a
	 * line that each writes on every emit */
	size_t size = evr_align_up(sizeof(struct evr_producer) + r->lanes * sizeof(struct evr_lane_ref), EVR_CACHELINE);
	struct evr_producer *p = aligned_alloc(EVR_CACHELINE, size);
	if (!p)
		return evr_fail(err, -ENOMEM, "out of memory");
	memset(p, 0, size);
	int cancel = evr_fork_guard_enter(); /* no fork between taking the lock and listing the producer */
	/* our own open file description: its lock is this producer's life (see liveness.c) */
	int fd = evr_live_reopen(r->live_fd, r->name);
	if (fd < 0) {
		evr_fork_guard_leave(cancel);
		free(p);
		return evr_fail(err, fd, "ring %s: cannot open its liveness object %s~live: %s", r->name, r->name,
				evr_strerror(fd));
	}
	unsigned idx;
	if (claim_entry(r, fd, service, &idx, &p->gen)) {
		close(fd);
		evr_fork_guard_leave(cancel);
		free(p);
		return evr_fail(err, -ENOSPC,
				"ring %s: all %u producer entries are held by live producers (or being registered or "
				"reclaimed right now)", r->name, r->max_producers);
	}
	p->hot.xlane = -1;
	if ((flags & EVR_PRODUCER_EXCLUSIVE) && (p->hot.xlane = take_xlane(r, idx)) < 0) {
		release_entry(evr_ring_producer(r, idx), p->gen);
		evr_live_unlock(fd, idx);
		close(fd);
		evr_fork_guard_leave(cancel);
		free(p);
		return evr_fail(err, -EBUSY, "ring %s: all %u exclusive lanes are owned by live producers", r->name,
				r->lanes - r->shared_lanes);
	}
	p->ring = r;
	p->wake = r->wake;
	p->entry = evr_ring_producer(r, idx);
	p->live_fd = fd;
	p->pid = getpid();
	p->fast_types = r->desc->type_count;
	for (unsigned t = 0; r->fix && t < r->desc->type_count; t++)
		if (r->fix[t]) { /* the first type to adapt, and every type after it, go the slow way */
			p->fast_types = t;
			break;
		}
	for (unsigned l = 0; l < r->lanes; l++)
		p->lanes[l] = evr_ring_lane(r, l);
	struct evr_producer_hot *h = &p->hot;
#ifdef EVR_TSAN
	h->inline_types = 0; /* every claim is staged (see evr_claim) */
#else
	h->inline_types = p->fast_types;
#endif
	h->lane_mask = r->shared_lanes - 1;
	h->id = (uint16_t)idx;
	h->owner_bits = evr_ctl_owner_bits(idx);
	h->tsc = r->ts_source == EVR_TS_TSC;
	h->emitted_word = (uint64_t *)(void *)&p->entry->emitted;
	h->lane_hint_word = (uint32_t *)(void *)&p->entry->lane_hint;
	h->waiters = r->wake ? (const uint32_t *)(const void *)&r->wake->waiters : &no_waiters;
	h->broken = (const int *)(const void *)&r->broken;
	h->lanes = p->lanes;
	h->last_lane = h->xlane >= 0 ? (uint32_t)h->xlane : 0;
	h->own = p->lanes[h->last_lane];
	/* relaxed: for display only (an exclusive producer's lane never changes after this) */
	atomic_store_explicit(&p->entry->lane_hint, h->last_lane, memory_order_relaxed);
	list_add(p);
	evr_fork_guard_leave(cancel);
	*out = p;
	return 0;
}

void evr_producer_close(struct evr_producer *p)
{
	if (!p)
		return;
	/* getpid: a child made without the atfork handler (raw clone, vfork, _Fork) still has its copy
	 * armed; closing the parent's entry from there would free it under the parent's feet */
	if (!p->forked && p->pid == getpid()) {
		int cancel = evr_fork_guard_enter(); /* no fork until the lock is gone */
		list_remove(p);
		/* an emit that never returned (siglongjmp out of a handler, a cancelled thread) may have
		 * left a slot WRITING; nobody would ever reclaim it once the entry is CLOSED */
		evr_release_slots_of(p->ring, p->hot.id);
		evr_release_xlanes_of(p->ring, p->hot.id); /* after the slots: the next owner finds none WRITING */
		release_entry(p->entry, p->gen);
		evr_live_unlock(p->live_fd, p->hot.id);
		close(p->live_fd);
		evr_fork_guard_leave(cancel);
	}
	free(p);
}

static void count_drop(struct evr_producer *p)
{
	/* relaxed: single-writer statistics on our own line, read by `evring info` */
	atomic_store_explicit(&p->entry->dropped, ++p->dropped, memory_order_relaxed);
}

/* Pick the lane (ours, or the current CPU's shared one) and own a slot in it, as the inline path
 * does (evr_x_take_slot) with the CPU from sched_getcpu. */
static inline __attribute__((always_inline)) unsigned char *take_slot(struct evr_producer *p, unsigned *lane_out,
								      uint64_t *pos)
{
	struct evr_producer_hot *h = &p->hot;
	unsigned lane = (unsigned)h->xlane;
	if (h->xlane < 0) {
		int cpu = sched_getcpu();
		lane = cpu < 0 ? 0 : (unsigned)cpu & h->lane_mask;
	}
	*lane_out = lane;
	return evr_x_take_slot(h, h->xlane, lane, pos);
}

/* After a publish (rc 0) or a drop: count it, and wake a sleeping consumer. */
static inline __attribute__((always_inline)) int finish(struct evr_producer *p, int rc)
{
	/* relaxed: a fault during this write (the segment truncated under us) makes it a drop */
	if (rc == 0 && atomic_load_explicit(&p->ring->broken, memory_order_relaxed))
		rc = -EFAULT;
	if (rc == 0)
		/* relaxed store: single-writer statistics on our own line, read by `evring info` */
		atomic_store_explicit(&p->entry->emitted, ++p->hot.emitted, memory_order_relaxed);
	else
		count_drop(p);
	struct evr_wake_page *w = p->wake;
	/* relaxed load: the one read-mostly line every emit touches; see wake.c for the bounded race */
	if (w && atomic_load_explicit(&w->waiters, memory_order_relaxed))
		evr_wake_sleepers(w);
	return rc;
}

int evr_x_claim_dropped(struct evr_producer *p)
{
	return finish(p, -EAGAIN);
}

int evr_x_commit_finish(struct evr_producer *p)
{
	return finish(p, 0);
}

/* -EFAULT (counted) when the segment is known truncated: nothing is written then. */
static inline int check_broken(struct evr_producer *p)
{
	/* relaxed: process-local flag set by the SIGBUS shield */
	if (!atomic_load_explicit(&p->ring->broken, memory_order_relaxed))
		return 0;
	count_drop(p);
	return -EFAULT;
}

/* Where an emit and a claim start: the slot owned (WRITING at *pos, on *lane), or NULL with *rc
 * their answer: -EFAULT for a ring known truncated, -EAGAIN for a drop (both counted). */
static inline __attribute__((always_inline)) unsigned char *own_slot(struct evr_producer *p, unsigned *lane,
								     uint64_t *pos, int *rc)
{
	if ((*rc = check_broken(p)))
		return NULL;
	unsigned char *slot = take_slot(p, lane, pos);
	if (!slot)
		*rc = finish(p, -EAGAIN);
	return slot;
}

/* The emit itself. `adapt` is a constant at each call: the fast path's copy has no trace of it. */
static inline __attribute__((always_inline)) int emit_body(struct evr_producer *p, struct evr_record *rec,
							   bool adapt)
{
	if (p->forked)
		return -ECHILD;
	unsigned lane;
	uint64_t pos;
	int rc;
	unsigned char *slot = own_slot(p, &lane, &pos, &rc);
	if (!slot)
		return rc;
	rec->ts = evr_x_now(&p->hot);
	rec->producer_id = p->hot.id;
	rec->lane = (uint16_t)lane;
	struct evr_record adapted;
	const struct evr_record *out = adapt ? evr_desc_adapt(p->ring, rec, &adapted) : rec;
	evr_slot_store_body(slot, out, sizeof *rec);
	evr_lane_publish(slot, pos, p->hot.owner_bits);
	return finish(p, 0);
}

/* A type the ring's description lacks: -EPROTO when this producer's table has it (the ring's table
 * is older), -EINVAL when nobody does; 0 for a type the ring has. */
static int missing_type(const struct evr_ring *r, unsigned type)
{
	if (type < r->desc->type_count)
		return 0;
	return type < r->mine->type_count ? -EPROTO : -EINVAL;
}

/* Flags beyond truncated|replayed (unknown ones are refused), or types at or above fast_types: one
 * the ring does not have (missing_type), or one whose layout this producer's table changed
 * (appended fields): written in the ring's layout (adapt.c). */
static __attribute__((noinline)) int emit_slow(struct evr_producer *p, struct evr_record *rec)
{
	const struct evr_ring *r = p->ring;
	int rc = missing_type(r, rec->type);
	if (rc)
		return rc;
	if (rec->flags & ~EVR_REC_FLAGS_KNOWN)
		return -EINVAL;
	return emit_body(p, rec, r->fix && r->fix[rec->type]);
}

int evr_emit(struct evr_producer *p, struct evr_record *rec)
{
	/* types below fast_types are known to the ring, in this table's layout; flags with a version
	 * (records replayed from a log or a bridge) are checked on the slow path too */
	if (__builtin_expect(rec->type >= p->fast_types || rec->flags > (EVR_REC_TRUNCATED | EVR_REC_REPLAYED), 0))
		return emit_slow(p, rec);
	return emit_body(p, rec, false);
}

/* A claim of a type off the fast path: staged in the handle, written by evr_commit like evr_emit. */
static __attribute__((noinline)) int claim_staged(struct evr_producer *p, unsigned type, struct evr_record **out)
{
	int rc = missing_type(p->ring, type);
	if (rc)
		return rc;
	memset(&p->stage, 0, sizeof p->stage);
	/* as an in-place claim hands it out (evr_emit stamps them again when the commit writes it) */
	evr_x_stamp_claim(&p->hot, &p->stage, evr_x_now(&p->hot), type, p->hot.last_lane);
	evr_x_note_claim(&p->hot, &p->stage, NULL, NULL, 0, type, p->hot.last_lane);
	*out = &p->stage;
	return 0;
}

int evr_claim(struct evr_producer *p, unsigned type, struct evr_record **out)
{
	struct evr_producer_hot *h = &p->hot;
	if (p->forked)
		return -ECHILD;
	if (h->claim)
		return -EBUSY;
	if (__builtin_expect(type >= p->fast_types, 0))
		return claim_staged(p, type, out);
	unsigned lane;
	uint64_t pos;
	int rc;
	unsigned char *slot = own_slot(p, &lane, &pos, &rc);
	if (!slot)
		return rc;
#ifdef EVR_TSAN
	struct evr_record *rec = &p->stage; /* evr_commit copies it in with atomics, which TSan follows */
	unsigned char *inplace = NULL;
#else
	struct evr_record *rec = (struct evr_record *)(void *)slot; /* in place: ordered by take_slot's fence */
	unsigned char *inplace = slot; /* evr_commit_fast may publish it */
#endif
	evr_x_zero_body((unsigned char *)rec);
	evr_x_stamp_claim(h, rec, evr_x_now(h), type, lane);
	evr_x_note_claim(h, rec, slot, inplace, pos, type, lane);
	*out = rec;
	return 0;
}

int evr_commit(struct evr_producer *p)
{
	struct evr_producer_hot *h = &p->hot;
	struct evr_record *rec = h->claim;
	if (p->forked)
		return -ECHILD;
	if (!rec)
		return -EINVAL;
	h->claim = NULL;
	h->inplace = NULL;
	/* a segment truncated since the claim: the slot's bytes may be a zero page now, judge nothing of
	 * them (the type would read 0) and report the fault, counted. The slot is given up: where its
	 * page survived (the cut was elsewhere), left WRITING it would hold consumers for their abandon
	 * timeout and drop every later lap's record in it until we close (a store to a cut page lands
	 * on the shield's zero page) */
	int rc;
	if (h->claim_slot && (rc = check_broken(p))) {
		evr_lane_abort(h->claim_slot, h->claim_pos, h->owner_bits);
		return rc;
	}
	/* a record whose type changed since the claim is in the wrong layout; unknown flags are refused
	 * as evr_emit refuses them: neither is published, both are counted, staged or in place */
	if (rec->type != h->claim_type || (rec->flags & ~(EVR_REC_TRUNCATED | EVR_REC_REPLAYED))) {
		if (h->claim_slot)
			evr_lane_abort(h->claim_slot, h->claim_pos, h->owner_bits);
		count_drop(p);
		return -EINVAL;
	}
	if (!h->claim_slot)
		return emit_slow(p, rec);
	/* ours, whatever the caller stored over them: a record is never attributed to another producer
	 * or lane (the line is the one the claim wrote) */
	rec->producer_id = h->id;
	rec->lane = h->claim_lane;
#ifdef EVR_TSAN
	evr_slot_store_body(h->claim_slot, rec, sizeof *rec);
#endif
	evr_lane_publish(h->claim_slot, h->claim_pos, h->owner_bits);
	return finish(p, 0);
}

int evr_abort(struct evr_producer *p)
{
	struct evr_producer_hot *h = &p->hot;
	if (p->forked)
		return -ECHILD;
	if (!h->claim)
		return -EINVAL;
	h->claim = NULL;
	h->inplace = NULL;
	if (h->claim_slot)
		evr_lane_abort(h->claim_slot, h->claim_pos, h->owner_bits);
	count_drop(p);
	return 0;
}

uint16_t evr_producer_id(const struct evr_producer *p)
{
	return p->hot.id;
}

void evr_producer_counters(const struct evr_producer *p, uint64_t *emitted, uint64_t *dropped)
{
	if (emitted)
		*emitted = p->hot.emitted;
	if (dropped)
		*dropped = p->dropped;
}

uint64_t evr_producer_now(const struct evr_producer *p)
{
	return evr_ts_now(p->ring->ts_source);
}
