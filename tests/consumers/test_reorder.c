/* The reorder window replay merges lanes with: sorted output within its bound, each lane's order
 * kept on equal timestamps, everything out after a drain. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "reorder.h"

static struct evr_record rec(uint64_t ts, uint16_t lane, uint64_t seq)
{
	return (struct evr_record){ .ts = ts, .lane = lane, .seq = seq };
}

Test(reorder, two_interleaved_lanes_come_out_in_time_order)
{
	struct evr_reorder r;
	cr_assert_eq(evr_reorder_init(&r, 4), 0);
	/* as a recorder reads two lanes in turn: lane 0 holds 1 2 3, lane 1 holds 4 5 6 */
	uint64_t in[] = { 1, 4, 2, 5, 3, 6 }, got[6], n = 0;
	struct evr_record out;
	for (int i = 0; i < 6; i++) {
		struct evr_record x = rec(in[i], in[i] > 3, in[i]);
		if (evr_reorder_push(&r, &x, &out))
			got[n++] = out.ts;
	}
	while (evr_reorder_pop(&r, &out))
		got[n++] = out.ts;
	cr_assert_eq(n, 6);
	for (uint64_t i = 0; i < 6; i++)
		cr_assert_eq(got[i], i + 1, "position %llu", (unsigned long long)i);
	evr_reorder_free(&r);
}

Test(reorder, equal_timestamps_keep_lane_then_position_order)
{
	struct evr_reorder r;
	cr_assert_eq(evr_reorder_init(&r, 8), 0);
	struct evr_record x[] = { rec(5, 1, 0), rec(5, 0, 1), rec(5, 0, 0) }, out;
	for (int i = 0; i < 3; i++)
		cr_assert_not(evr_reorder_push(&r, &x[i], &out), "the window is not full");
	cr_assert(evr_reorder_pop(&r, &out) && out.lane == 0 && out.seq == 0);
	cr_assert(evr_reorder_pop(&r, &out) && out.lane == 0 && out.seq == 1);
	cr_assert(evr_reorder_pop(&r, &out) && out.lane == 1);
	cr_assert_not(evr_reorder_pop(&r, &out));
	evr_reorder_free(&r);
}

Test(reorder, a_record_earlier_than_the_whole_window_comes_out_first)
{
	struct evr_reorder r;
	cr_assert_eq(evr_reorder_init(&r, 2), 0);
	struct evr_record a = rec(10, 0, 0), b = rec(20, 0, 1), early = rec(1, 1, 0), out;
	evr_reorder_push(&r, &a, &out);
	evr_reorder_push(&r, &b, &out);
	cr_assert(evr_reorder_push(&r, &early, &out));
	cr_assert_eq(out.ts, 1);
	evr_reorder_free(&r);
}
