/* A one-lane ring, a producer and a consumer for the service tests: a test drives a service and then
 * reads back exactly what it emitted, in order. */
#ifndef EVR_SVC_FIXTURE_H
#define EVR_SVC_FIXTURE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "services.h"
#include "test_util.h"
#include <evring/platform.h>

static struct evr_test_ring fx;
static struct evr_ring *fx_ring, *fx_ro; /* fx's, by their short names */
static struct evr_producer *fx_p;
static struct evr_consumer *fx_c;
static struct evr_svc fx_svc;

static void fx_setup(void)
{
	cr_assert_eq(evr_test_ring_open(&fx, "svc", 1, 1024, "svc-test"), 0);
	fx_ring = fx.ring, fx_ro = fx.ro, fx_p = fx.prod;
	cr_assert_eq(evr_consumer_open(fx_ro, NULL, &fx_c, NULL), 0);
	evr_svc_init(&fx_svc, fx_p);
}

static void fx_teardown(void)
{
	evr_consumer_close(fx_c);
	evr_test_ring_close(&fx);
}

/* Read everything emitted since the last call; asserts the records are valid and nothing was lost. */
static int fx_drain(struct evr_record *out, int max)
{
	struct evr_item it;
	int n = 0;
	while (evr_consumer_poll(fx_c, &it) > 0) {
		cr_assert_eq(it.kind, EVR_ITEM_RECORD, "only records expected, got kind %d", it.kind);
		cr_assert_lt(n, max);
		out[n++] = it.rec;
	}
	return n;
}

/* Assert the emitted types, in order, and return the records for field checks. */
#define FX_EXPECT(recs, ...)                                                                      \
	do {                                                                                      \
		const int want_[] = { __VA_ARGS__ };                                              \
		int n_ = fx_drain((recs), 64);                                                    \
		int w_ = (int)(sizeof want_ / sizeof want_[0]);                                   \
		for (int i_ = 0; i_ < n_ && i_ < w_; i_++)                                        \
			cr_assert_eq((recs)[i_].type, want_[i_], "record %d: %s, expected %s", i_,  \
				     evr_type_name((recs)[i_].type), evr_type_name(want_[i_]));   \
		cr_assert_eq(n_, w_, "emitted %d records, expected %d", n_, w_);                  \
	} while (0)

#define FX_EXPECT_NOTHING()                                                                       \
	do {                                                                                      \
		struct evr_record none_[4];                                                       \
		cr_assert_eq(fx_drain(none_, 4), 0, "an illegal transition emitted something");   \
	} while (0)

#endif
