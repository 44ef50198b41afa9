/* Claim-in-place (evr_claim / evr_commit / evr_abort) and exclusive lanes, in one process: every
 * type on a shared and on an exclusive lane, the misuse answers, lane ownership and hand-over, the
 * answers after fork() and truncation, drops and wakes.
 *
 * Built twice: test_claim calls the library's evr_claim / evr_commit; test_claim_inline
 * (EVR_TEST_INLINE_CLAIMS) runs the very same tests through the inline evr_claim_fast /
 * evr_commit_fast, and runs once more with glibc's rseq registration off (GLIBC_TUNABLES), where
 * shared lanes fall back to the library. The typed emits (evring/emit.h) take the inline path in
 * all of them. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <string.h>

#include <evring/emit.h>

#include "test_util.h"

#ifdef EVR_TEST_INLINE_CLAIMS
#define evr_claim evr_claim_fast
#define evr_commit evr_commit_fast
#define SUITE claim_inline
#else
#define SUITE claim
#endif

#define SHARED 1u    /* shared lanes of the test ring */
#define EXCLUSIVE 2u /* exclusive lanes after them */

static char name[64];
static struct evr_ring *ring, *ro;
static struct evr_consumer *cons;

static void setup(void)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = SHARED;
	o.exclusive_lanes = EXCLUSIVE;
	o.slots_per_lane = 16;
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, "claim"), &o, &ring, NULL), 0);
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &ro, NULL), 0);
	cr_assert_eq(evr_consumer_open(ro, NULL, &cons, NULL), 0);
}

static void teardown(void)
{
	evr_consumer_close(cons);
	evr_ring_close(ro);
	evr_ring_close(ring);
	evr_ring_unlink(name, NULL);
}

static struct evr_producer *open_prod(unsigned flags)
{
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open_flags(ring, "claim-test", flags, &p, NULL), 0);
	return p;
}

static struct evr_item next_item(void)
{
	struct evr_item it;
	cr_assert_eq(evr_consumer_poll(cons, &it), 1, "an item is there");
	return it;
}

static void assert_identity(void)
{
	for (unsigned l = 0; l < evr_consumer_lanes(cons); l++) {
		struct evr_lane_stats s;
		evr_consumer_lane_stats(cons, l, &s);
		cr_assert_eq(s.delivered + s.lost_lapped + s.lost_abandoned, s.cursor - s.start, "lane %u", l);
	}
}

/* Claim, fill the type's first field (when it has one) and the details, commit; then claim and
 * abort. The consumer gets the record as written, then one abandoned position. */
static void claim_commit_abort(unsigned type, unsigned flags)
{
	setup();
	struct evr_producer *p = open_prod(flags);
	const struct evr_event_desc *e = evr_event_desc(type);
	struct evr_record *r;
	cr_assert_eq(evr_claim(p, type, &r), 0);
	cr_assert_eq(r->type, type);
	cr_assert_eq(r->producer_id, evr_producer_id(p));
	unsigned char zero[EVR_PAYLOAD_SIZE] = { 0 };
	cr_assert_eq(memcmp(&r->u, zero, sizeof zero), 0, "the payload starts zeroed");
	r->correlation_id = 1000 + type;
	r->plan_id = 7;
	if (e->field_count && e->fields[0].kind == EVR_FIELD_STR)
		cr_assert_eq(evr_record_set_str(r, (char *)r + e->fields[0].offset, e->fields[0].size, "in-place"), 0);
	else if (e->field_count)
		memset((char *)r + e->fields[0].offset, 0x5a, e->fields[0].size);
	cr_assert_eq(evr_record_set_details(r, "claimed"), 0);
	struct evr_record written = *r;
	cr_assert_eq(evr_commit(p), 0);

	cr_assert_eq(evr_claim(p, type, &r), 0);
	r->correlation_id = 1;
	cr_assert_eq(evr_abort(p), 0);

	struct evr_item it = next_item();
	cr_assert_eq(it.kind, EVR_ITEM_RECORD, "type %u", type);
	cr_assert_eq(it.lane, flags ? SHARED : 0, "an exclusive producer writes its own lane");
	cr_assert_eq(memcmp(&it.rec.correlation_id, &written.correlation_id, sizeof written - 16), 0,
		     "type %u: delivered as written in place", type);
	cr_assert_str_eq(evr_record_details(&it.rec), "claimed");
	it = next_item();
	cr_assert_eq(it.kind, EVR_ITEM_LOST_ABANDONED, "an aborted claim is skipped like an abandoned one");
	cr_assert_eq(it.count, 1);
	cr_assert_eq(evr_consumer_poll(cons, &it), 0);
	assert_identity();
	uint64_t emitted, dropped;
	evr_producer_counters(p, &emitted, &dropped);
	cr_assert_eq(emitted, 1);
	cr_assert_eq(dropped, 1, "the abort is counted");
	evr_producer_close(p);
	teardown();
}

ParameterizedTestParameters(SUITE, every_type_commits_in_place_and_aborts)
{
	static unsigned types[EVR_EVENT_COUNT * 2]; /* [0, 38): shared lane; [38, 76): exclusive lane */
	for (unsigned i = 0; i < EVR_EVENT_COUNT * 2; i++)
		types[i] = i;
	return cr_make_param_array(unsigned, types, EVR_EVENT_COUNT * 2);
}

ParameterizedTest(unsigned *t, SUITE, every_type_commits_in_place_and_aborts)
{
	claim_commit_abort(*t % EVR_EVENT_COUNT, *t >= EVR_EVENT_COUNT ? EVR_PRODUCER_EXCLUSIVE : 0);
}

Test(SUITE, misuse_is_refused_and_never_published, .init = setup, .fini = teardown)
{
	struct evr_producer *p = open_prod(0);
	struct evr_record *r;
	cr_assert_eq(evr_commit(p), -EINVAL, "no claim open");
	cr_assert_eq(evr_abort(p), -EINVAL);
	cr_assert_eq(evr_claim(p, EVR_EVENT_COUNT, &r), -EINVAL, "unknown type");
	cr_assert_eq(evr_claim(p, EVR_TOOL_RETRIED, &r), 0);
	struct evr_record *again;
	cr_assert_eq(evr_claim(p, EVR_TOOL_RETRIED, &again), -EBUSY, "one claim at a time");
	r->type = EVR_PLAN_CREATED; /* another layout than the claimed one */
	cr_assert_eq(evr_commit(p), -EINVAL);
	cr_assert_eq(evr_claim(p, EVR_TOOL_RETRIED, &r), 0);
	r->flags = 0x80;
	cr_assert_eq(evr_commit(p), -EINVAL, "unknown flags");
	struct evr_item it = next_item();
	cr_assert_eq(it.kind, EVR_ITEM_LOST_ABANDONED);
	it = next_item();
	cr_assert_eq(it.kind, EVR_ITEM_LOST_ABANDONED);
	cr_assert_eq(evr_consumer_poll(cons, &it), 0);
	uint64_t emitted, dropped;
	evr_producer_counters(p, &emitted, &dropped);
	cr_assert_eq(emitted, 0);
	cr_assert_eq(dropped, 2);
	evr_producer_close(p);
}

Test(SUITE, typed_emit_writes_in_place_and_truncates_strings, .init = setup, .fini = teardown)
{
	struct evr_producer *p = open_prod(EVR_PRODUCER_EXCLUSIVE);
	cr_assert_eq(evr_emit_tool_retried(p, 5, 6, &(struct evr_args_tool_retried){ .tool = "web_search", .attempt = 2,
			.backoff_ms = 250, .details = "d" }), 0);
	cr_assert_eq(evr_emit_tool_retried(p, 5, 6, &(struct evr_args_tool_retried){
			.tool = "a-tool-name-much-longer-than-its-24-byte-field" }), 0);
	struct evr_item it = next_item();
	cr_assert_eq(it.rec.type, EVR_TOOL_RETRIED);
	cr_assert_eq(it.rec.correlation_id, 5);
	cr_assert_eq(it.rec.plan_id, 6);
	cr_assert_eq(EVR_EV(&it.rec, tool_retried)->attempt, 2);
	cr_assert_eq(EVR_EV(&it.rec, tool_retried)->backoff_ms, 250);
	cr_assert_str_eq(EVR_EV(&it.rec, tool_retried)->tool, "web_search");
	cr_assert_str_eq(evr_record_details(&it.rec), "d");
	cr_assert_eq(it.rec.flags, 0);
	it = next_item();
	cr_assert_eq(it.rec.flags, EVR_REC_TRUNCATED);
	cr_assert_eq(strlen(EVR_EV(&it.rec, tool_retried)->tool), sizeof EVR_EV(&it.rec, tool_retried)->tool - 1);
	evr_producer_close(p);
}

Test(SUITE, exclusive_lanes_have_one_owner_each_and_are_handed_over_at_close, .init = setup, .fini = teardown)
{
	struct evr_producer *a = open_prod(EVR_PRODUCER_EXCLUSIVE), *b = open_prod(EVR_PRODUCER_EXCLUSIVE), *c;
	struct evr_err err;
	cr_assert_eq(evr_producer_open_flags(ring, "third", EVR_PRODUCER_EXCLUSIVE, &c, &err), -EBUSY,
		     "both exclusive lanes are owned");
	cr_assert_eq(evr_producer_open_flags(ring, "bad", 0x100, &c, NULL), -EINVAL);
	for (uint64_t i = 0; i < 3; i++) {
		cr_assert_eq(evr_emit_plan_created(a, 1, i, &(struct evr_args_plan_created){ .plan_name = "a" }), 0);
		cr_assert_eq(evr_emit_plan_created(b, 2, i, &(struct evr_args_plan_created){ .plan_name = "b" }), 0);
	}
	cr_assert_eq(evr_ring_lane_head(ro, SHARED), 3);
	cr_assert_eq(evr_ring_lane_head(ro, SHARED + 1), 3);
	struct evr_producer_info info;
	cr_assert_eq(evr_ring_producer_info(ro, evr_producer_id(b), &info), 0);
	cr_assert_eq(info.lane_hint, SHARED + 1, "`evring info` shows the lane an exclusive producer writes");
	evr_producer_close(a);
	c = open_prod(EVR_PRODUCER_EXCLUSIVE); /* takes a's lane and carries on from its head */
	cr_assert_eq(evr_emit_plan_created(c, 3, 3, &(struct evr_args_plan_created){ .plan_name = "c" }), 0);
	cr_assert_eq(evr_ring_lane_head(ro, SHARED), 4);
	unsigned per_lane[SHARED + EXCLUSIVE] = { 0 };
	struct evr_item it;
	while (evr_consumer_poll(cons, &it) == 1) {
		cr_assert_eq(it.kind, EVR_ITEM_RECORD);
		cr_assert_eq(it.rec.plan_id, per_lane[it.lane]++, "in emit order per lane");
		cr_assert_eq(it.rec.correlation_id, it.lane == SHARED + 1 ? 2u : it.rec.plan_id < 3 ? 1u : 3u);
	}
	cr_assert_eq(per_lane[0], 0, "nothing on the shared lane");
	cr_assert_eq(per_lane[SHARED], 4);
	cr_assert_eq(per_lane[SHARED + 1], 3);
	assert_identity();
	evr_producer_close(b);
	evr_producer_close(c);
}

Test(SUITE, a_ring_without_exclusive_lanes_refuses_an_exclusive_producer)
{
	struct evr_test_ring fx;
	cr_assert_eq(evr_test_ring_open(&fx, "claim-none", 1, 8, NULL), 0);
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open_flags(fx.ring, "x", EVR_PRODUCER_EXCLUSIVE, &p, NULL), -EBUSY);
	struct evr_ring_info info;
	evr_ring_get_info(fx.ring, &info);
	cr_assert_eq(info.exclusive_lanes, 0);
	evr_test_ring_close(&fx);
}

Test(SUITE, a_close_releases_an_open_claim, .init = setup, .fini = teardown)
{
	struct evr_producer *p = open_prod(EVR_PRODUCER_EXCLUSIVE);
	struct evr_record *r;
	cr_assert_eq(evr_claim(p, EVR_PLAN_CREATED, &r), 0);
	evr_producer_close(p); /* the claim is never committed */
	struct evr_item it = next_item();
	cr_assert_eq(it.kind, EVR_ITEM_LOST_ABANDONED, "released at close, not left for the timeout");
	p = open_prod(EVR_PRODUCER_EXCLUSIVE);
	cr_assert_eq(evr_emit_plan_created(p, 1, 1, &(struct evr_args_plan_created){ .plan_name = "next" }), 0);
	it = next_item();
	cr_assert_eq(it.kind, EVR_ITEM_RECORD);
	cr_assert_eq(it.pos, 1);
	evr_producer_close(p);
}

Test(SUITE, typed_emit_cuts_strings_exactly_like_evr_record_set_str, .init = setup, .fini = teardown)
{
	/* tool is a 24-byte field: 23 bytes of text fit */
	const char *cases[] = { "", "a", "12345678901234567890123", "123456789012345678901234",
				"1234567890123456789012\xc3\xa9", "12345678901234567890123\xc3\xa9",
				"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac" };
	struct evr_producer *p = open_prod(0);
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cr_assert_eq(evr_emit_tool_retried(p, i, 0, &(struct evr_args_tool_retried){ .tool = cases[i],
				.details = cases[i] }), 0);
		struct evr_record want;
		evr_record_init(&want, EVR_TOOL_RETRIED, i, 0);
		EVR_SET_STR(&want, EVR_EV(&want, tool_retried)->tool, cases[i]);
		evr_record_set_details(&want, cases[i]);
		struct evr_item it = next_item();
		cr_assert_eq(it.rec.flags, want.flags, "case %u", i);
		cr_assert_eq(memcmp(&it.rec.u, &want.u, sizeof want.u), 0, "case %u: same bytes", i);
	}
	evr_producer_close(p);
}

/* A producer whose table appended a field to job_done writes into a ring of the older table: that
 * type cannot be filled in place, so the claim stages it and the commit adapts it like evr_emit;
 * job_started (same layout) is claimed in place; job_moved (not in the ring) is refused. */
static const struct evr_field_desc started_f[] = { { "job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0 } };
static const struct evr_field_desc done_v1_f[] = { { "status", EVR_FIELD_U32, 40, 4, 1, NULL, 0 } };
static const struct evr_field_desc done_v2_f[] = { { "status", EVR_FIELD_U32, 40, 4, 1, NULL, 0 },
						   { "retries", EVR_FIELD_U32, 44, 4, 2, NULL, 0 } };
static const struct evr_field_desc moved_f[] = { { "job_id", EVR_FIELD_U64, 40, 8, 2, NULL, 0 } };
static const struct evr_event_desc jobs_v1[] = {
	{ "job_started", "JOB_STARTED", "tool", started_f, 1, 48, 80, 1 },
	{ "job_done", "JOB_DONE", "tool", done_v1_f, 1, 44, 84, 1 },
};
static const struct evr_event_desc jobs_v2[] = {
	{ "job_started", "JOB_STARTED", "tool", started_f, 1, 48, 80, 1 },
	{ "job_done", "JOB_DONE", "tool", done_v2_f, 2, 48, 80, 1 },
	{ "job_moved", "JOB_MOVED", "tool", moved_f, 1, 48, 80, 2 },
};

static struct evr_desc_header *build_desc(const struct evr_event_desc *t, size_t n, uint32_t version)
{
	int size = evr_desc_build(t, n, "jobs", version, NULL, 0);
	cr_assert_gt(size, 0);
	struct evr_desc_header *d = malloc((size_t)size);
	cr_assert_eq(evr_desc_build(t, n, "jobs", version, d, (size_t)size), size);
	return d;
}

/* A ring of jobs_v1 (d1) and a producer on it built with jobs_v2 (its first v2_types types, d2). */
struct v2_on_v1 {
	struct evr_desc_header *d1, *d2;
	struct evr_ring *created, *r;
	struct evr_producer *p;
};

static void v2_on_v1_open(struct v2_on_v1 *v, const char *tag, size_t v2_types)
{
	v->d1 = build_desc(jobs_v1, 2, 1);
	v->d2 = build_desc(jobs_v2, v2_types, 2);
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 16;
	o.schema = v->d1;
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, tag), &o, &v->created, NULL), 0);
	cr_assert_eq(evr_ring_open_schema(name, EVR_ROLE_PRODUCER, v->d2, &v->r, NULL), 0);
	cr_assert_eq(evr_producer_open(v->r, "v2", &v->p, NULL), 0);
}

static void v2_on_v1_close_producer(struct v2_on_v1 *v)
{
	evr_producer_close(v->p);
	evr_ring_close(v->r);
	v->p = NULL;
	v->r = NULL;
}

static void v2_on_v1_close(struct v2_on_v1 *v)
{
	if (v->p)
		v2_on_v1_close_producer(v);
	evr_ring_close(v->created);
	evr_ring_unlink(name, NULL);
	free(v->d1);
	free(v->d2);
}

Test(SUITE, a_type_laid_out_differently_from_the_ring_is_staged_and_adapted)
{
	struct v2_on_v1 v;
	v2_on_v1_open(&v, "claim-v", 3);
	struct evr_producer *p = v.p;
	struct evr_record *rec;
	cr_assert_eq(evr_claim(p, 2, &rec), -EPROTO, "job_moved: the ring's older table lacks it");
	cr_assert_eq(evr_claim(p, 0, &rec), 0);
	memcpy((char *)rec + 40, &(uint64_t){ 77 }, 8);
	cr_assert_eq(evr_commit(p), 0);
	cr_assert_eq(evr_claim(p, 1, &rec), 0);
	memcpy((char *)rec + 40, &(uint32_t){ 5 }, 4);
	memcpy((char *)rec + 44, &(uint32_t){ 9 }, 4);
	strcpy((char *)rec + 48, "v2 details");
	cr_assert_eq(evr_commit(p), 0);
	v2_on_v1_close_producer(&v);

	cr_assert_eq(evr_ring_open_schema(name, EVR_ROLE_CONSUMER, v.d1, &ro, NULL), 0);
	cr_assert_eq(evr_consumer_open(ro, NULL, &cons, NULL), 0);
	struct evr_item it = next_item();
	cr_assert_eq(it.rec.type, 0);
	cr_assert_eq(*(uint64_t *)((char *)&it.rec + 40), 77);
	it = next_item();
	cr_assert_eq(it.kind, EVR_ITEM_RECORD, "valid in the ring's layout");
	cr_assert_eq(it.rec.type, 1);
	cr_assert_eq(*(uint32_t *)((char *)&it.rec + 40), 5);
	cr_assert_str_eq((char *)&it.rec + 44, "v2 details", "details moved to the ring's offset");
	cr_assert_eq(it.rec.flags, 0, "a newer table writing into an older ring leaves no version mark");
	evr_consumer_close(cons);
	evr_ring_close(ro);
	v2_on_v1_close(&v);
}

/* A staged claim (a type whose layout differs between the producer's table and the ring's) keeps
 * the claim contract of producer.h: the record is handed out with ts and producer_id set, and a
 * commit after a type change or with unknown flags is refused and counted as dropped, as for a
 * claim in place (it once went to emit_slow unchecked: job_done's layout published as job_started). */
Test(SUITE, a_staged_claim_keeps_the_claim_contract)
{
	struct v2_on_v1 v;
	v2_on_v1_open(&v, "clstaged", 2);
	struct evr_producer *p = v.p;
	struct evr_record *rec;
	cr_assert_eq(evr_claim(p, 1, &rec), 0); /* job_done: staged */
	int stamped = rec->ts != 0 && rec->producer_id == evr_producer_id(p);
	memcpy((char *)rec + 40, &(uint32_t){ 5 }, 4);
	rec->type = 0; /* another layout than the claimed one */
	int rc_type = evr_commit(p);
	cr_assert_eq(evr_claim(p, 1, &rec), 0);
	rec->flags = 0x80;
	int rc_flags = evr_commit(p);
	uint64_t emitted, dropped;
	evr_producer_counters(p, &emitted, &dropped);
	v2_on_v1_close(&v);
	cr_log_info("staged: stamped at claim %d; commit after a type change %d; with unknown flags %d; emitted %llu "
		    "dropped %llu", stamped, rc_type, rc_flags, (unsigned long long)emitted, (unsigned long long)dropped);
	cr_expect(stamped, "a staged claim hands out ts and producer_id set, as producer.h says");
	cr_expect_eq(rc_type, -EINVAL, "a staged claim whose type was changed is refused, as producer.h says");
	cr_expect_eq(rc_flags, -EINVAL);
	cr_expect_eq(emitted, 0, "nothing published");
	cr_expect_eq(dropped, 2, "both refused commits counted, as for an in-place claim");
}

/* A commit publishes the producer_id and lane the claim stamped, whatever the caller stored over
 * them (a whole record assigned over the claimed one, a stray store), as evr_emit stamps them: a
 * record is never attributed to another producer or lane. */
Test(SUITE, a_commit_publishes_the_producer_id_and_lane_it_stamped, .init = setup, .fini = teardown)
{
	struct evr_producer *p = open_prod(0);
	struct evr_record *rec;
	cr_assert_eq(evr_claim(p, EVR_TOOL_COMPLETED, &rec), 0);
	uint16_t lane = rec->lane;
	rec->producer_id = 77;
	rec->lane = 9;
	cr_assert_eq(evr_commit(p), 0);
	struct evr_item it;
	cr_assert_eq(evr_consumer_poll(cons, &it), 1);
	cr_assert_eq(it.kind, EVR_ITEM_RECORD);
	cr_assert_eq(it.rec.producer_id, evr_producer_id(p), "not producer 77, which is not registered");
	cr_assert_eq(it.rec.lane, lane);
	evr_producer_close(p);
}

/* The segment truncated between a claim and its commit (a neighbour's ftruncate): the fields written
 * into the claimed slot fault, the SIGBUS shield absorbs that, and the commit reports -EFAULT and
 * counts the record as dropped. Nobody crashes, and the broken ring takes no new claim. */
static void truncate_between_claim_and_commit(unsigned flags)
{
	struct evr_producer *p = open_prod(flags);
	struct evr_record *rec;
	cr_assert_eq(evr_claim(p, EVR_TOOL_COMPLETED, &rec), 0);
	int fd = evr_test_open_segment(name);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4096), 0, "only the header page is left");
	close(fd);
	EVR_EV(rec, tool_completed)->attempt = 3; /* faults: the shield maps a zero page over it */
	cr_assert_eq(evr_commit(p), -EFAULT, "a fault, not a record refused for the zero page's type");
	uint64_t emitted, dropped;
	evr_producer_counters(p, &emitted, &dropped);
	cr_assert_eq(emitted, 0);
	cr_assert_eq(dropped, 1, "the faulted record is counted");
	cr_assert_eq(evr_claim(p, EVR_TOOL_COMPLETED, &rec), -EFAULT, "a broken segment takes no new claim");
	evr_producer_close(p);
}

Test(SUITE, a_shared_lane_truncated_between_claim_and_commit_is_a_counted_fault, .init = setup, .fini = teardown)
{
	truncate_between_claim_and_commit(0);
}

Test(SUITE, an_exclusive_lane_truncated_between_claim_and_commit_is_a_counted_fault, .init = setup, .fini = teardown)
{
	truncate_between_claim_and_commit(EVR_PRODUCER_EXCLUSIVE);
}

/* After fork(), the child's copy of a handle is disarmed on every path: the inline claim and commit
 * hand it to the library, which answers -ECHILD, also for a claim the parent had open at the fork;
 * the parent's claim is its own and publishes once. */
Test(SUITE, a_fork_child_gets_echild_on_every_path_and_the_parent_keeps_its_claim, .init = setup, .fini = teardown)
{
	struct evr_producer *p = open_prod(0), *x = open_prod(EVR_PRODUCER_EXCLUSIVE);
	struct evr_record *rec;
	cr_assert_eq(evr_claim(p, EVR_PLAN_CREATED, &rec), 0);
	EVR_EV(rec, plan_created)->plan_name[0] = 'k';
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct evr_record *r;
		int ok = evr_commit(p) == -ECHILD && evr_abort(p) == -ECHILD &&
			 evr_claim(x, EVR_PLAN_CREATED, &r) == -ECHILD &&
			 evr_emit_plan_created(p, 1, 1, &(struct evr_args_plan_created){ .plan_name = "c" }) == -ECHILD &&
			 evr_emit_plan_created(x, 1, 1, &(struct evr_args_plan_created){ .plan_name = "c" }) == -ECHILD;
		_exit(ok ? 0 : 1);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "every call of the child answered -ECHILD");
	cr_assert_eq(evr_commit(p), 0, "the parent's claim is still its own");
	struct evr_item it = next_item();
	cr_assert_eq(it.kind, EVR_ITEM_RECORD);
	cr_assert_str_eq(EVR_EV(&it.rec, plan_created)->plan_name, "k");
	cr_assert_eq(evr_consumer_poll(cons, &it), 0, "the child published nothing");
	evr_producer_close(x);
	evr_producer_close(p);
}

/* A claim whose slot is still held by a writer a lap behind is dropped, counted, and never waits:
 * the open claim of one producer blocks the slot for the other's emit a lap later. */
Test(SUITE, a_slot_held_by_an_open_claim_drops_the_next_lap_and_counts_it, .init = setup, .fini = teardown)
{
	struct evr_producer *holder = open_prod(0), *p = open_prod(0);
	struct evr_record *rec;
	cr_assert_eq(evr_claim(holder, EVR_PLAN_CREATED, &rec), 0); /* position 0 of the one shared lane */
	for (unsigned i = 1; i < 16; i++)
		cr_assert_eq(evr_emit_plan_created(p, i, 0, &(struct evr_args_plan_created){ .plan_name = "x" }), 0);
	cr_assert_eq(evr_emit_plan_created(p, 16, 0, &(struct evr_args_plan_created){ .plan_name = "x" }), -EAGAIN,
		     "position 16 is slot 0, still WRITING");
	cr_assert_eq(evr_claim(p, EVR_PLAN_CREATED, &rec), 0, "position 17 is free");
	cr_assert_eq(evr_commit(p), 0);
	uint64_t emitted, dropped;
	evr_producer_counters(p, &emitted, &dropped);
	cr_assert_eq(emitted, 16);
	cr_assert_eq(dropped, 1, "the drop is counted");
	cr_assert_eq(evr_abort(holder), 0);
	evr_producer_close(p);
	evr_producer_close(holder);
}

static void *late_typed_emit(void *arg)
{
	struct timespec d = { 0, 50 * 1000 * 1000 };
	nanosleep(&d, NULL);
	evr_emit_budget_warning(arg, 77, 0, &(struct evr_args_budget_warning){ .budget = "tokens" });
	return NULL;
}

/* A consumer asleep on the wake page is woken by the inline publish (it finds `waiters` set and
 * hands the wake to the library). */
Test(SUITE, a_sleeping_consumer_is_woken_by_a_typed_emit, .init = setup, .fini = teardown)
{
	struct evr_producer *p = open_prod(EVR_PRODUCER_EXCLUSIVE);
	pthread_t t;
	pthread_create(&t, NULL, late_typed_emit, p);
	cr_assert_eq(evr_consumer_wait(cons, 10ll * 1000 * 1000 * 1000), 1, "woken before the 10 s timeout");
	pthread_join(t, NULL);
	struct evr_item it = next_item();
	cr_assert_eq(it.rec.correlation_id, 77);
	evr_producer_close(p);
}

/* The inline path takes the CPU from glibc's rseq area; with registration off it has none, and
 * shared-lane claims go through the library (the tests above then exercise that fallback). */
Test(SUITE, the_inline_path_knows_the_cpu_from_rseq_unless_glibc_registered_none)
{
	const char *tun = getenv("GLIBC_TUNABLES");
	if (!EVR_X_HAVE_RSEQ || (tun && strstr(tun, "glibc.pthread.rseq=0")))
		cr_assert_lt(evr_x_cpu(), 0, "no rseq area: the fallback");
	else {
		int cpu = evr_x_cpu();
		cr_assert(cpu >= 0 && cpu < sysconf(_SC_NPROCESSORS_CONF), "rseq gives a CPU (%d)", cpu);
	}
}

/* ---- every path against every other, and against a hostile neighbour ---- */

static void counts(struct evr_producer *p, uint64_t want_emitted, uint64_t want_dropped, const char *what)
{
	uint64_t e, d;
	evr_producer_counters(p, &e, &d);
	struct evr_producer_info info;
	cr_assert_eq(evr_ring_producer_info(ro, evr_producer_id(p), &info), 0);
	cr_assert_eq(e, want_emitted, "%s: emitted %llu", what, (unsigned long long)e);
	cr_assert_eq(d, want_dropped, "%s: dropped %llu", what, (unsigned long long)d);
	cr_assert_eq(info.emitted, e, "%s: the table's emitted", what);
	cr_assert_eq(info.dropped, d, "%s: the table's dropped", what);
}

/* Every mix of the inline and out-of-line claim calls on one handle: counts exact, the typed emit
 * refused while a claim is open (and not counted). */
static void mixed_paths(unsigned flags)
{
	struct evr_producer *p = open_prod(flags);
	struct evr_record *r, *r2;
	cr_assert_eq(evr_claim_fast(p, EVR_PLAN_CREATED, &r), 0);
	cr_assert_eq(evr_emit_plan_created(p, 1, 1, &(struct evr_args_plan_created){ .plan_name = "x" }), -EBUSY);
	cr_assert_eq(evr_claim(p, EVR_PLAN_CREATED, &r2), -EBUSY);
	cr_assert_eq(evr_claim_fast(p, EVR_PLAN_CREATED, &r2), -EBUSY);
	cr_assert_eq(evr_commit(p), 0, "a fast claim, a library commit");
	counts(p, 1, 0, "fast claim + commit");
	cr_assert_eq(evr_claim(p, EVR_TOOL_RETRIED, &r), 0);
	cr_assert_eq(evr_commit_fast(p), 0, "a library claim, a fast commit");
	counts(p, 2, 0, "claim + fast commit");
	cr_assert_eq(evr_claim_fast(p, EVR_TOOL_RETRIED, &r), 0);
	cr_assert_eq(evr_abort(p), 0);
	cr_assert_eq(evr_commit_fast(p), -EINVAL, "nothing open after the abort");
	cr_assert_eq(evr_abort(p), -EINVAL);
	counts(p, 2, 1, "fast claim + abort");
	cr_assert_eq(evr_claim_fast(p, EVR_TOOL_RETRIED, &r), 0);
	r->type = EVR_PLAN_CREATED;
	cr_assert_eq(evr_commit_fast(p), -EINVAL);
	counts(p, 2, 2, "fast claim, type changed, fast commit");
	cr_assert_eq(evr_claim_fast(p, EVR_TOOL_RETRIED, &r), 0);
	r->flags = 0x100;
	cr_assert_eq(evr_commit_fast(p), -EINVAL);
	counts(p, 2, 3, "fast claim, version flag, fast commit");
	cr_assert_eq(evr_emit_plan_created(p, 1, 1, &(struct evr_args_plan_created){ .plan_name = "x" }), 0);
	counts(p, 3, 3, "typed");
	cr_assert_eq(evr_claim_fast(p, EVR_EVENT_COUNT, &r), -EINVAL);
	cr_assert_eq(evr_commit_fast(p), -EINVAL);
	counts(p, 3, 3, "bad type");
	unsigned got = 0, lost = 0;
	struct evr_item it;
	while (evr_consumer_poll(cons, &it) == 1) {
		if (it.kind == EVR_ITEM_RECORD) {
			got++;
			cr_assert_eq(it.rec.producer_id, evr_producer_id(p));
		} else
			lost += (unsigned)it.count;
	}
	cr_assert_eq(got, 3);
	cr_assert_eq(lost, 3);
	struct evr_producer_info info;
	cr_assert_eq(evr_ring_producer_info(ro, evr_producer_id(p), &info), 0);
	cr_assert_eq(info.lane_hint, flags ? SHARED : 0);
	evr_producer_close(p);
}

Test(SUITE, inline_and_library_calls_mix_on_one_handle_with_exact_counts_shared, .init = setup, .fini = teardown)
{
	mixed_paths(0);
}

Test(SUITE, inline_and_library_calls_mix_on_one_handle_with_exact_counts_exclusive, .init = setup, .fini = teardown)
{
	mixed_paths(EVR_PRODUCER_EXCLUSIVE);
}

Test(SUITE, a_staged_claim_is_committed_by_the_fast_commit_too)
{
	struct v2_on_v1 v;
	v2_on_v1_open(&v, "clrvst", 2);
	struct evr_producer *p = v.p;
	struct evr_record *rec;
	cr_assert_eq(evr_claim_fast(p, 1, &rec), 0); /* staged */
	memcpy((char *)rec + 40, &(uint32_t){ 5 }, 4);
	cr_assert_eq(evr_commit_fast(p), 0);
	cr_assert_eq(evr_claim_fast(p, 0, &rec), 0); /* in place */
	cr_assert_eq(evr_commit_fast(p), 0);
	cr_assert_eq(evr_claim_fast(p, 1, &rec), 0);
	cr_assert_eq(evr_abort(p), 0);
	cr_assert_eq(evr_claim(p, 1, &rec), 0);
	rec->type = 0;
	cr_assert_eq(evr_commit_fast(p), -EINVAL);
	uint64_t e, d;
	evr_producer_counters(p, &e, &d);
	cr_assert_eq(e, 2);
	cr_assert_eq(d, 2);
	v2_on_v1_close(&v);
}

static int trunc_fd = -1;
static void truncate_now(unsigned lane, uint64_t pos)
{
	(void)lane;
	(void)pos;
	evr_test_hook_owned = NULL;
	cr_assert_eq(ftruncate(trunc_fd, 4096), 0);
}

static void typed_emit_truncated(unsigned flags)
{
	struct evr_producer *p = open_prod(flags);
	trunc_fd = evr_test_open_segment(name);
	cr_assert_geq(trunc_fd, 0);
	evr_test_hook_owned = truncate_now;
	int rc = evr_emit_tool_retried(p, 1, 2, &(struct evr_args_tool_retried){ .tool = "t", .details = "d" });
	evr_test_hook_owned = NULL;
	close(trunc_fd);
	cr_assert_eq(rc, -EFAULT);
	uint64_t e, d;
	evr_producer_counters(p, &e, &d);
	cr_assert_eq(e, 0);
	cr_assert_eq(d, 1);
	cr_assert_eq(evr_emit_tool_retried(p, 1, 2, &(struct evr_args_tool_retried){ .tool = "t" }), -EFAULT);
	evr_producer_counters(p, &e, &d);
	cr_assert_eq(d, 2);
	struct evr_record *r;
	cr_assert_eq(evr_claim_fast(p, EVR_PLAN_CREATED, &r), -EFAULT);
	cr_assert_eq(evr_commit_fast(p), -EINVAL);
	evr_producer_counters(p, &e, &d);
	cr_assert_eq(d, 3);
	evr_producer_close(p);
}

Test(SUITE, a_typed_emit_truncated_during_its_writes_is_a_counted_fault_shared, .init = setup, .fini = teardown)
{
	typed_emit_truncated(0);
}

Test(SUITE, a_typed_emit_truncated_during_its_writes_is_a_counted_fault_exclusive, .init = setup, .fini = teardown)
{
	typed_emit_truncated(EVR_PRODUCER_EXCLUSIVE);
}

/* A fast claim open at the fork; the child opens its own handles and emits on every path. */
Test(SUITE, a_fork_child_opens_its_own_handles_while_the_parent_holds_a_fast_claim, .init = setup, .fini = teardown)
{
	struct evr_producer *p = open_prod(0), *x = open_prod(EVR_PRODUCER_EXCLUSIVE);
	struct evr_record *rec;
	cr_assert_eq(evr_claim_fast(x, EVR_PLAN_CREATED, &rec), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct evr_producer *q, *y;
		struct evr_record *r;
		int ok = 1;
		ok &= evr_commit_fast(x) == -ECHILD;
		ok &= evr_claim_fast(p, EVR_PLAN_CREATED, &r) == -ECHILD;
		ok &= evr_commit_fast(p) == -ECHILD;
		ok &= evr_producer_open_flags(ring, "child", 0, &q, NULL) == 0;
		ok &= evr_producer_open_flags(ring, "childx", EVR_PRODUCER_EXCLUSIVE, &y, NULL) == 0;
		ok &= evr_claim_fast(q, EVR_PLAN_CREATED, &r) == 0 && evr_commit_fast(q) == 0;
		ok &= evr_emit_plan_created(q, 9, 9, &(struct evr_args_plan_created){ .plan_name = "q" }) == 0;
		ok &= evr_claim_fast(y, EVR_PLAN_CREATED, &r) == 0 && evr_commit_fast(y) == 0;
		ok &= evr_emit_plan_created(y, 9, 9, &(struct evr_args_plan_created){ .plan_name = "y" }) == 0;
		uint64_t e, d;
		evr_producer_counters(q, &e, &d);
		ok &= e == 2 && d == 0;
		evr_producer_close(q);
		evr_producer_close(y);
		evr_producer_close(p);
		evr_producer_close(x);
		_exit(ok ? 0 : 1);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(evr_commit_fast(x), 0);
	cr_assert_eq(evr_emit_plan_created(p, 1, 1, &(struct evr_args_plan_created){ .plan_name = "p" }), 0);
	unsigned got = 0;
	struct evr_item it;
	while (evr_consumer_poll(cons, &it) == 1)
		got += it.kind == EVR_ITEM_RECORD;
	cr_assert_eq(got, 6);
	evr_producer_close(x);
	evr_producer_close(p);
}

/* The shared lane follows the CPU: lane and lane_hint after migrations, inline and out of line. */
Test(SUITE, the_shared_lane_and_its_hint_follow_the_cpu)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 2)
		cr_skip_test("one CPU");
	struct evr_test_ring fx;
	cr_assert_eq(evr_test_ring_open(&fx, "clmig", 2, 16, NULL), 0);
	struct evr_consumer *c;
	cr_assert_eq(evr_consumer_open(fx.ro, NULL, &c, NULL), 0);
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(fx.ring, "mig", &p, NULL), 0);
	cpu_set_t old;
	sched_getaffinity(0, sizeof old, &old);
	for (int i = 0; i < 6; i++) {
		int cpu = i % 2;
		cpu_set_t s;
		CPU_ZERO(&s);
		CPU_SET(cpu, &s);
		cr_assert_eq(sched_setaffinity(0, sizeof s, &s), 0);
		sched_yield();
		struct evr_record *r;
		if (i % 3 == 0)
			cr_assert_eq(evr_emit_plan_created(p, (uint64_t)i, 0, &(struct evr_args_plan_created){ .plan_name = "m" }), 0);
		else {
			cr_assert_eq(evr_claim_fast(p, EVR_PLAN_CREATED, &r), 0);
			r->correlation_id = (uint64_t)i;
			cr_assert_eq(evr_commit_fast(p), 0);
		}
		struct evr_item it;
		cr_assert_eq(evr_consumer_poll(c, &it), 1);
		cr_assert_eq(it.lane, (unsigned)cpu, "emit %d on cpu %d", i, cpu);
		cr_assert_eq(it.rec.lane, (unsigned)cpu);
		cr_assert_eq(it.rec.correlation_id, (uint64_t)i);
		struct evr_producer_info info;
		cr_assert_eq(evr_ring_producer_info(fx.ro, evr_producer_id(p), &info), 0);
		cr_assert_eq(info.lane_hint, (unsigned)cpu);
	}
	sched_setaffinity(0, sizeof old, &old);
	evr_producer_close(p);
	evr_consumer_close(c);
	evr_test_ring_close(&fx);
}

/* A hostile neighbour rewrites the lane heads and slot words while we emit: every emit answers 0 or
 * -EAGAIN, the counts add up, nothing hangs or writes outside the lanes (ASan). */
#include "ring_internal.h"

static atomic_int hostile_stop;
static void *hostile(void *arg)
{
	(void)arg;
	uint64_t x = 88172645463325252ull;
	while (!atomic_load(&hostile_stop)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned l = (unsigned)(x % (SHARED + EXCLUSIVE));
		struct evr_lane_ref lr = evr_ring_lane(ring, l);
		uint64_t *head = evr_lane_head_word(&lr);
		uint64_t *w = evr_slot_word(evr_lane_slot(&lr, x >> 20));
		switch ((x >> 8) % 4) {
		case 0: __atomic_store_n(head, x >> 3, __ATOMIC_RELAXED); break;
		case 1: __atomic_store_n(w, x, __ATOMIC_RELAXED); break;
		case 2: __atomic_store_n(w, evr_ctl_make(__atomic_load_n(head, __ATOMIC_RELAXED), 5, EVR_SLOT_WRITING), __ATOMIC_RELAXED); break;
		default: __atomic_store_n(head, __atomic_load_n(head, __ATOMIC_RELAXED) - 3, __ATOMIC_RELAXED); break;
		}
	}
	return NULL;
}

Test(SUITE, a_neighbour_rewriting_heads_and_slot_words_cannot_hang_or_misdirect_emits, .init = setup, .fini = teardown, .timeout = 60)
{
	struct evr_producer *p = open_prod(0), *x = open_prod(EVR_PRODUCER_EXCLUSIVE);
	pthread_t t;
	atomic_store(&hostile_stop, 0);
	pthread_create(&t, NULL, hostile, NULL);
	uint64_t n = 0, ok = 0;
	for (unsigned i = 0; i < 200000; i++) {
		struct evr_producer *q = i & 1 ? x : p;
		int rc;
		if (i % 3 == 0)
			rc = evr_emit_tool_retried(q, i, 0, &(struct evr_args_tool_retried){ .tool = "h" });
		else {
			struct evr_record *r;
			rc = evr_claim_fast(q, EVR_TOOL_RETRIED, &r);
			if (rc == 0)
				rc = evr_commit_fast(q);
		}
		cr_assert(rc == 0 || rc == -EAGAIN, "rc %d", rc);
		n++;
		ok += rc == 0;
	}
	atomic_store(&hostile_stop, 1);
	pthread_join(t, NULL);
	uint64_t e1, d1, e2, d2;
	evr_producer_counters(p, &e1, &d1);
	evr_producer_counters(x, &e2, &d2);
	cr_assert_eq(e1 + e2, ok);
	cr_assert_eq(e1 + e2 + d1 + d2, n);
	cr_log_info("hostile: %llu of %llu published", (unsigned long long)ok, (unsigned long long)n);
	evr_producer_close(x);
	evr_producer_close(p);
}

/* A segment truncated at its end (a neighbour's ftruncate cut the last exclusive lane's last page)
 * between a claim on the shared lane, whose page is intact, and its commit: the commit answers
 * -EFAULT (counted), and must not leave its slot WRITING. Left so, consumers waited out the abandon
 * timeout on it, and every later lap's writer of that slot (other processes, whose rings are not
 * broken) dropped its record until this producer closed. */
Test(SUITE, a_commit_that_finds_the_ring_broken_does_not_leave_its_slot_writing)
{
	char nm[64];
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.exclusive_lanes = 1;
	o.slots_per_lane = 256; /* 32 KiB a lane: the last page holds only the exclusive lane's last slots */
	struct evr_ring *w, *r;
	struct evr_consumer *c;
	cr_assert_eq(evr_ring_create(evr_test_name(nm, sizeof nm, "clbrk"), &o, &w, NULL), 0);
	cr_assert_eq(evr_ring_open(nm, EVR_ROLE_CONSUMER, &r, NULL), 0);
	cr_assert_eq(evr_consumer_open(r, NULL, &c, NULL), 0);
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(w, "brk", &p, NULL), 0);
	struct evr_record *rec;
	cr_assert_eq(evr_claim(p, EVR_TOOL_COMPLETED, &rec), 0);
	EVR_EV(rec, tool_completed)->attempt = 3;
	int fd = evr_test_open_segment(nm);
	cr_assert_geq(fd, 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(ftruncate(fd, st.st_size - 4096), 0);
	close(fd);
	struct evr_lane_ref x = evr_ring_lane(w, 1);
	(void)*(volatile unsigned char *)evr_lane_slot(&x, 255); /* faults: the ring is broken now */
	cr_assert_eq(evr_commit(p), -EFAULT);
	uint64_t e, d;
	evr_producer_counters(p, &e, &d);
	cr_assert_eq(e, 0);
	cr_assert_eq(d, 1);
	struct evr_item it;
	int got = evr_consumer_poll(c, &it); /* the consumer's ring is whole where it reads */
	cr_log_info("after the failed commit: poll %d, kind %d", got, got == 1 ? (int)it.kind : -1);
	evr_producer_close(p);
	evr_consumer_close(c);
	evr_ring_close(r);
	evr_ring_close(w);
	evr_ring_unlink(nm, NULL);
	cr_assert_eq(got, 1, "the position is settled at once (published or abandoned), not left WRITING");
	cr_assert(it.kind == EVR_ITEM_RECORD || it.kind == EVR_ITEM_LOST_ABANDONED);
}
