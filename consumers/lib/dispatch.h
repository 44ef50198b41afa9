/* In-process subscriptions on the consumer side: code subscribes callbacks to event types or domains
 * and unsubscribes while records flow.
 *
 * The subscriber list is RCU-protected with liburcu (the memb flavor): evr_dispatch() walks it inside
 * a read-side critical section and takes no lock, so any number of threads can dispatch while others
 * subscribe and unsubscribe. evr_unsubscribe() unlinks the subscription and waits for a grace period:
 * when it returns, no thread is still running — or will ever again start — that callback, so the
 * caller may free what the callback's argument points to. Threads that dispatch must be registered
 * (evr_dispatch_thread_online / _offline). Subscriptions are allocated with jemalloc.
 */
#ifndef EVR_DISPATCH_H
#define EVR_DISPATCH_H

#include <stdint.h>

#include <evring/consumer.h>
#include <evring/describe.h>

struct evr_dispatcher;
struct evr_subscription;

/* Called for every item whose type matches (records and invalid records carry a type; loss notices
 * go to subscribers of EVR_SUB_LOSSES). Must not call evr_unsubscribe on itself. */
typedef void (*evr_dispatch_cb)(const struct evr_item *item, void *arg);

typedef uint64_t evr_type_mask; /* bit t: event type t, for t below EVR_SUB_TYPE_BITS */
#define EVR_SUB_TYPE_BITS 62u
/* types from EVR_SUB_TYPE_BITS up (a description may have up to EVR_DESC_MAX_TYPES) */
#define EVR_SUB_OTHER_TYPES (1ull << 62)
#define EVR_SUB_ALL_TYPES ((evr_type_mask)((1ull << EVR_SUB_TYPE_BITS) - 1) | EVR_SUB_OTHER_TYPES)
#define EVR_SUB_LOSSES (1ull << 63) /* lost-lapped / lost-abandoned notices */

int evr_dispatcher_create(struct evr_dispatcher **out);
/* Every subscription must have been removed. */
void evr_dispatcher_destroy(struct evr_dispatcher *d);

/* The types of domain `domain` in description d (a ring's, evr_ring_schema); 0 when it has none. */
evr_type_mask evr_type_mask_of_domain(const struct evr_desc_header *d, const char *domain);

/* Returns NULL when out of memory or the mask is empty. */
struct evr_subscription *evr_subscribe(struct evr_dispatcher *d, evr_type_mask mask, evr_dispatch_cb cb,
				       void *arg);
void evr_unsubscribe(struct evr_dispatcher *d, struct evr_subscription *sub);

/* Hand one item to every matching subscriber; returns how many were called. */
unsigned evr_dispatch(struct evr_dispatcher *d, const struct evr_item *item);

void evr_dispatch_thread_online(void);
void evr_dispatch_thread_offline(void);

#endif
