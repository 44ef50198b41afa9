/* The RCU dispatcher: matching by type and domain, and unsubscribe under concurrent dispatch. Runs
 * under ThreadSanitizer (tsan label) to show the subscriber list needs no lock on the dispatch path. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "dispatch.h"
#include <evring/platform.h>

static void count_cb(const struct evr_item *it, void *arg)
{
	(void)it;
	atomic_fetch_add_explicit((_Atomic unsigned *)arg, 1, memory_order_relaxed);
}

static struct evr_item record_of(enum evr_type t)
{
	struct evr_item it = { .kind = EVR_ITEM_RECORD, .count = 1 };
	evr_record_init(&it.rec, t, 0, 0);
	return it;
}

Test(dispatch, subscribers_get_exactly_their_types_domains_and_losses)
{
	struct evr_dispatcher *d;
	cr_assert_eq(evr_dispatcher_create(&d), 0);
	evr_dispatch_thread_online();
	_Atomic unsigned by_type = 0, by_domain = 0, losses = 0, all = 0;
	struct evr_subscription *s1 = evr_subscribe(d, 1ull << EVR_TOOL_RETRIED, count_cb, &by_type);
	struct evr_subscription *s2 = evr_subscribe(d, evr_type_mask_of_domain(evr_platform_desc(), "plan"), count_cb, &by_domain);
	struct evr_subscription *s3 = evr_subscribe(d, EVR_SUB_LOSSES, count_cb, &losses);
	struct evr_subscription *s4 = evr_subscribe(d, EVR_SUB_ALL_TYPES, count_cb, &all);
	cr_assert_null(evr_subscribe(d, 0, count_cb, &all), "an empty mask is refused");
	struct evr_item tool = record_of(EVR_TOOL_RETRIED), plan = record_of(EVR_PLAN_APPLIED),
			budget = record_of(EVR_BUDGET_EXCEEDED);
	struct evr_item lost = { .kind = EVR_ITEM_LOST_LAPPED, .count = 5 };
	cr_assert_eq(evr_dispatch(d, &tool), 2);
	cr_assert_eq(evr_dispatch(d, &plan), 2);
	cr_assert_eq(evr_dispatch(d, &budget), 1);
	cr_assert_eq(evr_dispatch(d, &lost), 1);
	cr_assert_eq(by_type, 1);
	cr_assert_eq(by_domain, 1);
	cr_assert_eq(losses, 1);
	cr_assert_eq(all, 3);
	evr_unsubscribe(d, s4);
	cr_assert_eq(evr_dispatch(d, &budget), 0, "an unsubscribed callback is not called");
	evr_unsubscribe(d, s1);
	evr_unsubscribe(d, s2);
	evr_unsubscribe(d, s3);
	evr_dispatch_thread_offline();
	evr_dispatcher_destroy(d);
}

/* Each subscription's argument says whether its unsubscribe has returned; a callback that finds it
 * set was called too late. The argument is freed right after unsubscribe returns, so under TSan or
 * ASan a late call is also a use-after-free. */
struct guarded {
	_Atomic int removed;
	_Atomic unsigned calls;
};

static _Atomic unsigned late_calls;
static _Atomic int stop_dispatch;

static void guarded_cb(const struct evr_item *it, void *arg)
{
	(void)it;
	struct guarded *g = arg;
	if (atomic_load_explicit(&g->removed, memory_order_relaxed))
		atomic_fetch_add(&late_calls, 1);
	atomic_fetch_add_explicit(&g->calls, 1, memory_order_relaxed);
}

static void *dispatch_thread(void *arg)
{
	struct evr_dispatcher *d = arg;
	evr_dispatch_thread_online();
	struct evr_item it = record_of(EVR_SESSION_CREATED);
	while (!atomic_load(&stop_dispatch))
		evr_dispatch(d, &it);
	evr_dispatch_thread_offline();
	return NULL;
}

Test(dispatch, unsubscribe_under_concurrent_dispatch_never_calls_a_removed_callback, .timeout = 60)
{
	struct evr_dispatcher *d;
	cr_assert_eq(evr_dispatcher_create(&d), 0);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, dispatch_thread, d);
	unsigned total_calls = 0;
	for (int round = 0; round < 2000; round++) {
		struct guarded *g = calloc(1, sizeof *g);
		struct evr_subscription *s = evr_subscribe(d, EVR_SUB_ALL_TYPES, guarded_cb, g);
		cr_assert_not_null(s);
		for (volatile int spin = 0; spin < 2000; spin++)
			;
		evr_unsubscribe(d, s);
		atomic_store(&g->removed, 1);
		total_calls += atomic_load(&g->calls);
		free(g); /* a late call would touch freed memory */
	}
	/* liveness, independent of scheduling luck: a subscription that stays is called */
	struct guarded stays = { 0 };
	struct evr_subscription *s = evr_subscribe(d, EVR_SUB_ALL_TYPES, guarded_cb, &stays);
	for (int waited = 0; atomic_load(&stays.calls) == 0 && waited < 10000; waited++)
		usleep(1000);
	evr_unsubscribe(d, s);
	atomic_store(&stop_dispatch, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	evr_dispatcher_destroy(d);
	cr_assert_eq(atomic_load(&late_calls), 0, "%u calls after unsubscribe returned", atomic_load(&late_calls));
	cr_assert_gt(atomic_load(&stays.calls), 0, "the dispatch threads call a live subscription");
	cr_log_info("%u calls to subscriptions that were being removed", total_calls);
}
