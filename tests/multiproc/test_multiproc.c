/* Multi-process: forked producers and an independent consumer process over a real segment. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>

#include "mp_util.h"
#include <evring/platform.h>

#define PRODUCERS 3

struct consumer_report {
	uint64_t records, torn, out_of_order;
	uint32_t lanes;
	struct evr_lane_stats lane[8]; /* the first 8 lanes */
};

static int caught_up(struct evr_consumer *c, struct evr_ring *ro)
{
	for (unsigned l = 0; l < evr_consumer_lanes(c); l++) {
		struct evr_lane_stats s;
		evr_consumer_lane_stats(c, l, &s);
		if (s.cursor != evr_ring_lane_head(ro, l))
			return 0;
	}
	return 1;
}

/* The consumer process: reads until the parent says producers are done (done_fd readable) and it has
 * caught up; `slow` makes it nap between bursts so it gets lapped. Reports through report_fd. */
static void consumer_child(const char *name, int done_fd, int report_fd, int slow)
{
	struct evr_ring *ro;
	struct evr_consumer *c;
	struct consumer_report rep;
	uint64_t last[PRODUCERS][8];
	memset(&rep, 0, sizeof rep);
	memset(last, 0xff, sizeof last);
	struct evr_consumer_opts o = {.start = EVR_START_OLDEST, .abandon_timeout_ns = 2000ull * 1000 * 1000};
	if (evr_ring_open(name, EVR_ROLE_CONSUMER, &ro, NULL) || evr_consumer_open(ro, &o, &c, NULL))
		_exit(1);
	fcntl(done_fd, F_SETFL, O_NONBLOCK);
	if (write(report_fd, "r", 1) != 1) /* attached: the parent may start the producers */
		_exit(2);
	int done = 0;
	for (;;) {
		char b;
		done = done || read(done_fd, &b, 1) == 1;
		struct evr_item it;
		int burst = 0;
		while ((!slow || burst++ < 50) && evr_consumer_poll(c, &it) == 1) {
			if (it.kind != EVR_ITEM_RECORD)
				continue;
			rep.records++;
			uint64_t p = it.rec.correlation_id;
			if (p >= PRODUCERS || !mp_intact(&it.rec)) {
				rep.torn++;
				continue;
			}
			if (last[p][it.lane] != UINT64_MAX && it.rec.plan_id <= last[p][it.lane])
				rep.out_of_order++;
			last[p][it.lane] = it.rec.plan_id;
		}
		if (done && caught_up(c, ro))
			break;
		if (slow && !done)
			usleep(1000);
		else
			evr_consumer_wait(c, 1000000);
	}
	rep.lanes = evr_consumer_lanes(c);
	for (unsigned l = 0; l < rep.lanes && l < 8; l++)
		evr_consumer_lane_stats(c, l, &rep.lane[l]);
	if (write(report_fd, &rep, sizeof rep) != sizeof rep)
		_exit(2);
	_exit(0);
}

/* Producers emit with evr_emit on the 2 shared lanes, or (exclusive) claim in place, each on its own
 * exclusive lane. */
static void run(uint32_t slots, uint64_t per_producer, int slow, int exclusive, struct consumer_report *rep,
		uint64_t *claimed)
{
	char name[64];
	struct evr_ring *ring;
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 2;
	o.slots_per_lane = slots;
	o.exclusive_lanes = exclusive ? PRODUCERS : 0;
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, "mp"), &o, &ring, NULL), 0);
	int done_pipe[2], report_pipe[2];
	cr_assert_eq(pipe(done_pipe), 0);
	cr_assert_eq(pipe(report_pipe), 0);
	pid_t cons = fork();
	if (cons == 0)
		consumer_child(name, done_pipe[0], report_pipe[1], slow);
	char ready;
	cr_assert_eq(read(report_pipe[0], &ready, 1), 1, "consumer attached before any producer started");
	pid_t prod[PRODUCERS];
	for (uint64_t i = 0; i < PRODUCERS; i++)
		if ((prod[i] = fork()) == 0)
			mp_producer_child_flags(name, i, per_producer, exclusive ? EVR_PRODUCER_EXCLUSIVE : 0, exclusive);
	for (int i = 0; i < PRODUCERS; i++) {
		int st = evr_test_reap(prod[i], 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer %d", i);
	}
	cr_assert_eq(write(done_pipe[1], "d", 1), 1);
	cr_assert_eq(read(report_pipe[0], rep, sizeof *rep), (ssize_t)sizeof *rep);
	int st = evr_test_reap(cons, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* what the producers claimed, from their table entries: every emit claimed one position */
	*claimed = 0;
	for (unsigned i = 0; i < o.max_producers; i++) {
		struct evr_producer_info info;
		if (evr_ring_producer_info(ring, i, &info) == 0)
			*claimed += info.emitted + info.dropped;
	}
	cr_assert_eq(*claimed, PRODUCERS * per_producer);
	close(done_pipe[0]);
	close(done_pipe[1]);
	close(report_pipe[0]);
	close(report_pipe[1]);
	evr_ring_close(ring);
	evr_ring_unlink(name, NULL);
}

static uint64_t assert_identity(const struct consumer_report *rep, uint64_t *lapped)
{
	uint64_t positions = 0;
	*lapped = 0;
	for (unsigned l = 0; l < rep->lanes; l++) {
		const struct evr_lane_stats *s = &rep->lane[l];
		cr_assert_eq(s->delivered + s->lost_lapped + s->lost_abandoned, s->cursor - s->start,
			     "lane %u: delivered %llu + lapped %llu + abandoned %llu != %llu - %llu", l,
			     (unsigned long long)s->delivered, (unsigned long long)s->lost_lapped,
			     (unsigned long long)s->lost_abandoned, (unsigned long long)s->cursor,
			     (unsigned long long)s->start);
		positions += s->cursor - s->start;
		*lapped += s->lost_lapped;
	}
	return positions;
}

Test(multiproc, a_deliberately_lapped_consumer_accounts_for_every_position, .timeout = 120)
{
	struct consumer_report rep;
	uint64_t claimed, lapped;
	run(256, 30000, 1, 0, &rep, &claimed);
	uint64_t positions = assert_identity(&rep, &lapped);
	cr_assert_eq(positions, claimed, "the consumer started at 0 and accounted for every claimed position");
	cr_assert_gt(lapped, 0, "the slow consumer was lapped");
	cr_assert_eq(rep.torn, 0);
	cr_assert_eq(rep.out_of_order, 0);
}

Test(multiproc, a_keeping_up_consumer_process_receives_every_record, .timeout = 120)
{
	struct consumer_report rep;
	uint64_t claimed, lapped;
	run(1u << 16, 20000, 0, 0, &rep, &claimed);
	uint64_t positions = assert_identity(&rep, &lapped);
	cr_assert_eq(positions, claimed);
	cr_assert_eq(lapped, 0);
	cr_assert_eq(rep.records, PRODUCERS * 20000ull);
	cr_assert_eq(rep.torn, 0);
	cr_assert_eq(rep.out_of_order, 0);
}

Test(multiproc, exclusive_lane_producers_claiming_in_place_deliver_every_record_in_order, .timeout = 120)
{
	struct consumer_report rep;
	uint64_t claimed, lapped;
	run(1u << 16, 20000, 0, 1, &rep, &claimed);
	uint64_t positions = assert_identity(&rep, &lapped);
	cr_assert_eq(positions, claimed);
	cr_assert_eq(lapped, 0);
	cr_assert_eq(rep.records, PRODUCERS * 20000ull);
	for (unsigned l = 2; l < 2 + PRODUCERS; l++)
		cr_assert_eq(rep.lane[l].delivered, 20000, "lane %u: one producer's records, all of them", l);
	cr_assert_eq(rep.torn, 0);
	cr_assert_eq(rep.out_of_order, 0);
}

Test(multiproc, a_lapped_consumer_of_exclusive_lanes_never_sees_a_torn_record, .timeout = 120)
{
	struct consumer_report rep;
	uint64_t claimed, lapped;
	run(256, 30000, 1, 1, &rep, &claimed);
	uint64_t positions = assert_identity(&rep, &lapped);
	cr_assert_eq(positions, claimed);
	cr_assert_gt(lapped, 0, "the slow consumer was lapped");
	cr_assert_eq(rep.torn, 0);
	cr_assert_eq(rep.out_of_order, 0);
}
