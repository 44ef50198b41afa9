/* RCU subscriber list (see dispatch.h). Writers (subscribe/unsubscribe) serialize on a mutex and use
 * liburcu's RCU list primitives; readers (dispatch) only enter a read-side critical section.
 *
 * ThreadSanitizer cannot see the ordering liburcu 0.13 provides (its barriers are inline asm and its
 * grace-period wait is a futex in an uninstrumented library), so under EVR_TSAN the two orderings we
 * rely on are stated to it explicitly: the end of every read-side section happens-before the return
 * of the grace period that follows it. That is the RCU guarantee itself, not a suppression. */
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <urcu/urcu-memb.h>
#include <urcu/rculist.h>

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
	struct cds_list_head node;
	evr_type_mask mask;
	evr_dispatch_cb cb;
	void *arg;
};

struct evr_dispatcher {
	struct cds_list_head subs; /* RCU list of struct evr_subscription */
	pthread_mutex_t write_lock;
	char grace; /* TSan's token for the read-section -> grace-period ordering */
};

int evr_dispatcher_create(struct evr_dispatcher **out)
{
	struct evr_dispatcher *d = mallocx(sizeof *d, MALLOCX_ZERO);
	if (!d)
		return -ENOMEM;
	CDS_INIT_LIST_HEAD(&d->subs);
	pthread_mutex_init(&d->write_lock, NULL);
	*out = d;
	return 0;
}

void evr_dispatcher_destroy(struct evr_dispatcher *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->write_lock);
	dallocx(d, 0);
}

evr_type_mask evr_type_mask_of_domain(unsigned domain)
{
	evr_type_mask m = 0;
	for (unsigned t = 0; t < EVR_EVENT_COUNT; t++)
		if (evr_events[t].domain == domain)
			m |= 1ull << t;
	return m;
}

struct evr_subscription *evr_subscribe(struct evr_dispatcher *d, evr_type_mask mask, evr_dispatch_cb cb, void *arg)
{
	if (!mask || !cb)
		return NULL;
	struct evr_subscription *s = mallocx(sizeof *s, 0);
	if (!s)
		return NULL;
	s->mask = mask;
	s->cb = cb;
	s->arg = arg;
	pthread_mutex_lock(&d->write_lock);
	/* rcu_assign_pointer inside: the initialised fields are visible before the node is reachable */
	cds_list_add_tail_rcu(&s->node, &d->subs);
	pthread_mutex_unlock(&d->write_lock);
	return s;
}

void evr_unsubscribe(struct evr_dispatcher *d, struct evr_subscription *s)
{
	pthread_mutex_lock(&d->write_lock);
	cds_list_del_rcu(&s->node); /* new readers no longer find it; current ones may still call it */
	pthread_mutex_unlock(&d->write_lock);
	urcu_memb_synchronize_rcu(); /* waits for every read-side section that could have seen it */
	TSAN_ACQUIRE(&d->grace);     /* pairs with TSAN_RELEASE at the end of each read section */
	dallocx(s, 0);
}

unsigned evr_dispatch(struct evr_dispatcher *d, const struct evr_item *item)
{
	evr_type_mask bit = item->kind == EVR_ITEM_RECORD || item->kind == EVR_ITEM_INVALID
				    ? (item->rec.type < EVR_EVENT_COUNT ? 1ull << item->rec.type : 0)
				    : EVR_SUB_LOSSES;
	unsigned called = 0;
	struct evr_subscription *s;
	urcu_memb_read_lock();
	/* rcu_dereference inside: pairs with the publication in cds_list_add_tail_rcu */
	cds_list_for_each_entry_rcu(s, &d->subs, node) {
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
