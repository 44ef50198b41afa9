/* RCU subscriber list (see dispatch.h).
 *
 * The list is an immutable snapshot (an array of subscriptions) behind one pointer. Writers
 * (subscribe/unsubscribe) serialize on a mutex, build a new snapshot, publish it with a release
 * store, wait for a liburcu grace period and only then free what readers may still hold: the old
 * snapshot and, on unsubscribe, the subscription. Readers (dispatch) take no lock: an RCU read-side
 * critical section and one acquire load.
 *
 * Why a snapshot rather than liburcu's cds_list: liburcu 0.13 (Debian's) publishes list pointers
 * with volatile stores and inline-asm barriers, which ThreadSanitizer reports as races. With C11
 * atomics for the one shared pointer, TSan checks the publication for real. liburcu still provides
 * what it is best at, the grace period; its futex wait is invisible to TSan, so under EVR_TSAN we
 * state that ordering explicitly — the end of every read-side section happens-before the return of
 * the grace period after it — which is the RCU guarantee itself, not a suppression. */
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "dispatch.h"

#if defined(EVR_TSAN)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TSAN_RELEASE(p) __tsan_release(p)
#define TSAN_ACQUIRE(p) __tsan_acquire(p)
#else
#define TSAN_RELEASE(p) ((void)(p))
#define TSAN_ACQUIRE(p) ((void)(p))
#endif

struct evr_subscription {
	evr_type_mask mask;
	evr_dispatch_cb cb;
	void *arg;
};

struct snapshot {
	unsigned n;
	struct evr_subscription *subs[];
};

struct evr_dispatcher {
	struct snapshot *_Atomic current; /* never NULL; replaced whole, freed after a grace period */
	pthread_mutex_t write_lock;       /* serializes writers only */
	char grace;                       /* TSan's token for the read-section -> grace-period order */
};

static struct snapshot *snapshot_new(unsigned n)
{
	return mallocx(sizeof(struct snapshot) + (n ? n : 1) * sizeof(struct evr_subscription *), MALLOCX_ZERO);
}

int evr_dispatcher_create(struct evr_dispatcher **out)
{
	struct evr_dispatcher *d = mallocx(sizeof *d, MALLOCX_ZERO);
	struct snapshot *empty = snapshot_new(0);
	if (!d || !empty) {
		if (d)
			dallocx(d, 0);
		if (empty)
			dallocx(empty, 0);
		return -ENOMEM;
	}
	atomic_init(&d->current, empty);
	pthread_mutex_init(&d->write_lock, NULL);
	*out = d;
	return 0;
}

void evr_dispatcher_destroy(struct evr_dispatcher *d)
{
	if (!d)
		return;
	/* relaxed: no reader may run any more (documented precondition) */
	dallocx(atomic_load_explicit(&d->current, memory_order_relaxed), 0);
	pthread_mutex_destroy(&d->write_lock);
	dallocx(d, 0);
}

evr_type_mask evr_type_mask_of_domain(const struct evr_desc_header *d, const char *domain)
{
	evr_type_mask m = 0;
	for (unsigned t = 0; t < d->type_count; t++)
		if (!strcmp(evr_desc_type(d, t)->domain, domain))
			m |= t < EVR_SUB_TYPE_BITS ? 1ull << t : EVR_SUB_OTHER_TYPES;
	return m;
}

/* Publish `next` and retire the snapshot it replaces (write_lock held by the caller). */
static void publish(struct evr_dispatcher *d, struct snapshot *next, struct evr_subscription *retired_sub)
{
	/* relaxed: only writers store, and they hold write_lock */
	struct snapshot *old = atomic_load_explicit(&d->current, memory_order_relaxed);
	/* release: the snapshot's contents (and each subscription's fields) are visible to a reader
	 * whose acquire load in evr_dispatch() sees this pointer */
	atomic_store_explicit(&d->current, next, memory_order_release);
	urcu_memb_synchronize_rcu(); /* every reader that could hold `old` has left its section */
	TSAN_ACQUIRE(&d->grace);     /* pairs with TSAN_RELEASE at the end of each read section */
	dallocx(old, 0);
	if (retired_sub)
		dallocx(retired_sub, 0);
}

struct evr_subscription *evr_subscribe(struct evr_dispatcher *d, evr_type_mask mask, evr_dispatch_cb cb, void *arg)
{
	if (!mask || !cb)
		return NULL;
	struct evr_subscription *s = mallocx(sizeof *s, 0);
	if (!s)
		return NULL;
	*s = (struct evr_subscription){ .mask = mask, .cb = cb, .arg = arg };
	pthread_mutex_lock(&d->write_lock);
	struct snapshot *old = atomic_load_explicit(&d->current, memory_order_relaxed); /* writers only */
	struct snapshot *next = snapshot_new(old->n + 1);
	if (!next) {
		pthread_mutex_unlock(&d->write_lock);
		dallocx(s, 0);
		return NULL;
	}
	memcpy(next->subs, old->subs, old->n * sizeof old->subs[0]);
	next->subs[old->n] = s;
	next->n = old->n + 1;
	publish(d, next, NULL);
	pthread_mutex_unlock(&d->write_lock);
	return s;
}

void evr_unsubscribe(struct evr_dispatcher *d, struct evr_subscription *s)
{
	pthread_mutex_lock(&d->write_lock);
	struct snapshot *old = atomic_load_explicit(&d->current, memory_order_relaxed); /* writers only */
	struct snapshot *next = snapshot_new(old->n);
	if (!next) { /* cannot copy: leave the list alone rather than free a live subscription */
		pthread_mutex_unlock(&d->write_lock);
		return;
	}
	for (unsigned i = 0; i < old->n; i++)
		if (old->subs[i] != s)
			next->subs[next->n++] = old->subs[i];
	publish(d, next, s);
	pthread_mutex_unlock(&d->write_lock);
}

unsigned evr_dispatch(struct evr_dispatcher *d, const struct evr_item *item)
{
	evr_type_mask bit = item->kind == EVR_ITEM_RECORD || item->kind == EVR_ITEM_INVALID
				    ? (item->rec.type < EVR_SUB_TYPE_BITS ? 1ull << item->rec.type : EVR_SUB_OTHER_TYPES)
				    : EVR_SUB_LOSSES;
	unsigned called = 0;
	urcu_memb_read_lock();
	/* acquire: pairs with the release store in publish(); the snapshot stays allocated until we
	 * leave the read-side section */
	const struct snapshot *snap = atomic_load_explicit(&d->current, memory_order_acquire);
	for (unsigned i = 0; i < snap->n; i++) {
		const struct evr_subscription *s = snap->subs[i];
		if (s->mask & bit) {
			s->cb(item, s->arg);
			called++;
		}
	}
	TSAN_RELEASE(&d->grace);
	urcu_memb_read_unlock();
	return called;
}

void evr_dispatch_thread_online(void)
{
	urcu_memb_register_thread();
}

void evr_dispatch_thread_offline(void)
{
	urcu_memb_unregister_thread();
}
