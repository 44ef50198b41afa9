/* Lane protocol, single thread: control word, order, laps, drops, abandoned positions. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "lane.h"
#include "ring_internal.h"
#include "test_util.h"
#include <evring/platform.h>

static struct evr_test_ring fx;
static struct evr_ring *ring, *ro; /* fx's, by their short names */
static struct evr_producer *prod;

static void make_ring(uint32_t slots)
{
	cr_assert_eq(evr_test_ring_open(&fx, "lane", 1, slots, "lane-test"), 0);
	ring = fx.ring, ro = fx.ro, prod = fx.prod;
}

static void teardown(void)
{
	evr_test_ring_close(&fx);
}

static void setup8(void)
{
	make_ring(8);
}

static int emit_n(uint64_t from, uint64_t n)
{
	int ok = 0;
	for (uint64_t i = from; i < from + n; i++) {
		struct evr_record r;
		evr_record_init(&r, EVR_SESSION_MESSAGE_SENT, i, 0);
		EVR_EV(&r, session_message_sent)->message_id = i;
		ok += evr_emit(prod, &r) == 0;
	}
	return ok;
}

static void assert_identity(struct evr_consumer *c)
{
	for (unsigned l = 0; l < evr_consumer_lanes(c); l++) {
		struct evr_lane_stats s;
		evr_consumer_lane_stats(c, l, &s);
		cr_assert_eq(s.delivered + s.lost_lapped + s.lost_abandoned, s.cursor - s.start,
			     "lane %u: %llu + %llu + %llu != %llu - %llu", l, (unsigned long long)s.delivered,
			     (unsigned long long)s.lost_lapped, (unsigned long long)s.lost_abandoned,
			     (unsigned long long)s.cursor, (unsigned long long)s.start);
	}
}

Test(lane, control_word_round_trips_and_survives_the_50_bit_wrap)
{
	uint64_t w = evr_ctl_make(12345, 4095, EVR_SLOT_COMMITTED);
	cr_assert_eq(evr_ctl_state(w), EVR_SLOT_COMMITTED);
	cr_assert_eq(evr_ctl_owner(w), 4095);
	cr_assert_eq(evr_ctl_pos(w, 12345), 12345);
	cr_assert_eq(evr_ctl_pos(w, 12000), 12345);
	uint64_t big = (1ull << 50) + 7; /* stored as 7, rebuilt from a nearby position */
	w = evr_ctl_make(big, 1, EVR_SLOT_WRITING);
	cr_assert_eq(evr_ctl_pos(w, big - 100), big);
	cr_assert_eq(evr_ctl_pos(w, big + 100), big);
	cr_assert_eq(evr_ctl_pos(evr_ctl_make(big - 8, 1, EVR_SLOT_COMMITTED), big), big - 8);
}

Test(lane, a_slot_is_claimable_only_from_an_older_lap_not_being_written)
{
	cr_assert(evr_slot_claimable(0, 0), "empty slot");
	cr_assert(evr_slot_claimable(0, 64), "empty slot, any lap");
	cr_assert(evr_slot_claimable(evr_ctl_make(56, 3, EVR_SLOT_COMMITTED), 64));
	cr_assert(evr_slot_claimable(evr_ctl_make(56, 3, EVR_SLOT_ABANDONED), 64));
	cr_assert_not(evr_slot_claimable(evr_ctl_make(56, 3, EVR_SLOT_WRITING), 64), "stalled writer holds it");
	cr_assert_not(evr_slot_claimable(evr_ctl_make(72, 3, EVR_SLOT_COMMITTED), 64), "stale writer: newer lap");
	cr_assert_not(evr_slot_claimable(evr_ctl_make(72, 3, EVR_SLOT_WRITING), 64));
	cr_assert_not(evr_slot_claimable(evr_ctl_make(64, 3, EVR_SLOT_ABANDONED), 64), "own position reclaimed");
}

Test(lane, records_come_out_in_order_with_positions, .init = setup8, .fini = teardown)
{
	struct evr_consumer *c;
	struct evr_item it;
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	cr_assert_eq(evr_consumer_poll(c, &it), 0, "empty ring");
	cr_assert_eq(emit_n(0, 6), 6);
	uint64_t last_ts = 0, wall = (uint64_t)time(NULL) * 1000000000ull;
	for (uint64_t i = 0; i < 6; i++) {
		cr_assert_eq(evr_consumer_poll(c, &it), 1);
		cr_assert_eq(it.kind, EVR_ITEM_RECORD);
		cr_assert_eq(it.pos, i);
		cr_assert_eq(it.rec.seq, i);
		cr_assert_eq(it.rec.correlation_id, i);
		cr_assert_eq(it.rec.producer_id, evr_producer_id(prod));
		cr_assert_geq(it.rec.ts, last_ts, "timestamps never go back within a lane");
		cr_assert(it.rec.ts > wall - 60000000000ull && it.rec.ts < wall + 60000000000ull,
			  "timestamp converted to wall-clock time");
		last_ts = it.rec.ts;
	}
	cr_assert_eq(evr_consumer_poll(c, &it), 0);
	assert_identity(c);
	uint64_t emitted, dropped;
	evr_producer_counters(prod, &emitted, &dropped);
	cr_assert_eq(emitted, 6);
	cr_assert_eq(dropped, 0);
	evr_consumer_close(c);
}

Test(lane, lapped_consumer_counts_every_lost_record, .init = setup8, .fini = teardown)
{
	struct evr_consumer *c;
	struct evr_item it;
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	cr_assert_eq(emit_n(0, 100), 100);
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	cr_assert_eq(it.kind, EVR_ITEM_LOST_LAPPED);
	cr_assert_eq(it.pos, 0);
	cr_assert_eq(it.count, 92, "positions 0..91 were overwritten; 92..99 are still there");
	for (uint64_t i = 92; i < 100; i++) {
		cr_assert_eq(evr_consumer_poll(c, &it), 1);
		cr_assert_eq(it.kind, EVR_ITEM_RECORD);
		cr_assert_eq(it.rec.correlation_id, i);
	}
	cr_assert_eq(evr_consumer_poll(c, &it), 0);
	struct evr_lane_stats s;
	evr_consumer_stats(c, &s);
	cr_assert_eq(s.delivered, 8);
	cr_assert_eq(s.lost_lapped, 92);
	cr_assert_eq(s.lost_abandoned, 0);
	assert_identity(c);
	evr_consumer_close(c);
}

Test(lane, start_latest_sees_only_new_records_and_oldest_sees_the_last_lap, .init = setup8, .fini = teardown)
{
	struct evr_consumer *latest, *oldest;
	struct evr_item it;
	struct evr_consumer_opts lo = {.start = EVR_START_LATEST};
	cr_assert_eq(emit_n(0, 20), 20);
	cr_assert_eq(evr_consumer_open(ro, &lo, &latest, NULL), 0);
	cr_assert_eq(evr_consumer_open(ro, NULL, &oldest, NULL), 0);
	cr_assert_eq(evr_consumer_poll(latest, &it), 0);
	cr_assert_eq(emit_n(20, 1), 1);
	cr_assert_eq(evr_consumer_poll(latest, &it), 1);
	cr_assert_eq(it.rec.correlation_id, 20);
	/* oldest started at head - S = 12, but record 20 has since overwritten 12's slot */
	cr_assert_eq(evr_consumer_poll(oldest, &it), 1);
	cr_assert_eq(it.kind, EVR_ITEM_LOST_LAPPED);
	cr_assert_eq(it.pos, 12);
	cr_assert_eq(it.count, 1);
	for (uint64_t i = 13; i <= 20; i++) {
		cr_assert_eq(evr_consumer_poll(oldest, &it), 1);
		cr_assert_eq(it.kind, EVR_ITEM_RECORD, "position %llu", (unsigned long long)i);
		cr_assert_eq(it.rec.correlation_id, i);
	}
	assert_identity(latest);
	assert_identity(oldest);
	evr_consumer_close(latest);
	evr_consumer_close(oldest);
}

Test(lane, unknown_type_or_flags_are_refused_and_write_nothing, .init = setup8, .fini = teardown)
{
	struct evr_record r;
	evr_record_init(&r, EVR_PLAN_CREATED, 0, 0);
	r.type = EVR_EVENT_COUNT;
	cr_assert_eq(evr_emit(prod, &r), -EINVAL);
	r.type = EVR_PLAN_CREATED;
	r.flags = 0x4; /* bits 8-15 are the producer's schema version (describe.h); 0x4 means nothing */
	cr_assert_eq(evr_emit(prod, &r), -EINVAL);
	cr_assert_eq(evr_ring_lane_head(ring, 0), 0, "no position was claimed");
}

Test(lane, a_slot_held_by_a_stalled_writer_makes_the_next_lap_drop_not_wait, .init = setup8, .fini = teardown)
{
	struct evr_lane_ref l = evr_ring_lane(ring, 0);
	cr_assert_eq(emit_n(0, 8), 8);
	/* position 8 claimed and owned by producer 7, which then stalls */
	uint64_t pos = atomic_fetch_add(&l.hdr->head, 1);
	uint64_t stuck = evr_ctl_make(pos, 7, EVR_SLOT_WRITING);
	atomic_store(evr_slot_ctl(evr_lane_slot(&l, pos)), stuck);
	cr_assert_eq(emit_n(9, 7), 7);
	cr_assert_eq(emit_n(16, 1), 0, "position 16 maps to the stuck slot: dropped");
	cr_assert_eq(atomic_load(evr_slot_ctl(evr_lane_slot(&l, pos))), stuck, "stuck slot untouched");
	uint64_t emitted, dropped;
	evr_producer_counters(prod, &emitted, &dropped);
	cr_assert_eq(dropped, 1);
	struct evr_producer_info info;
	cr_assert_eq(evr_ring_producer_info(ring, evr_producer_id(prod), &info), 0);
	cr_assert_eq(info.dropped, 1, "drops are visible in the producer table");
	cr_assert_eq(info.emitted, 15);
	cr_assert_str_eq(info.service, "lane-test");
	cr_assert(info.alive);
}

Test(lane, a_claimed_but_unpublished_position_is_skipped_after_the_bound, .init = setup8, .fini = teardown)
{
	struct evr_consumer *c;
	struct evr_item it;
	struct evr_consumer_opts o = {.start = EVR_START_OLDEST, .abandon_timeout_ns = 20 * 1000 * 1000};
	struct evr_lane_ref l = evr_ring_lane(ring, 0);
	cr_assert_eq(evr_consumer_open(ro, &o, &c, NULL), 0);
	cr_assert_eq(emit_n(0, 1), 1);
	atomic_fetch_add(&l.hdr->head, 1); /* position 1: claimed by a producer that never writes */
	cr_assert_eq(emit_n(2, 2), 2);
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	cr_assert_eq(it.rec.correlation_id, 0);
	uint64_t t0 = evr_test_now_ns();
	int polls = 0;
	while (evr_consumer_poll(c, &it) == 0)
		polls++;
	uint64_t waited = evr_test_now_ns() - t0;
	cr_assert_gt(polls, 0, "the consumer did not skip at once");
	cr_assert_geq(waited, 20 * 1000 * 1000ull, "skipped no earlier than the bound");
	cr_assert_eq(it.kind, EVR_ITEM_LOST_ABANDONED);
	cr_assert_eq(it.pos, 1);
	cr_assert_eq(it.count, 1);
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	cr_assert_eq(it.rec.correlation_id, 2, "records after the hole still arrive");
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	cr_assert_eq(evr_consumer_poll(c, &it), 0);
	struct evr_lane_stats s;
	evr_consumer_stats(c, &s);
	cr_assert_eq(s.lost_abandoned, 1);
	assert_identity(c);
	evr_consumer_close(c);
}

Test(lane, a_reclaimed_slot_is_reported_abandoned_at_once, .init = setup8, .fini = teardown)
{
	struct evr_consumer *c;
	struct evr_item it;
	struct evr_lane_ref l = evr_ring_lane(ring, 0);
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	uint64_t pos = atomic_fetch_add(&l.hdr->head, 1);
	atomic_store(evr_slot_ctl(evr_lane_slot(&l, pos)), evr_ctl_make(pos, 9, EVR_SLOT_ABANDONED));
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	cr_assert_eq(it.kind, EVR_ITEM_LOST_ABANDONED);
	cr_assert_eq(it.pos, pos);
	assert_identity(c);
	evr_consumer_close(c);
}
