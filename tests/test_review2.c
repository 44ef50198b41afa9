/* Review findings (branch review2): tests that demonstrate them.
 *
 * segment.c open_once(): validate_header(h) reads the header in the shared mapping, then
 * copy_layout(r, h) reads the same fields again from the shared mapping. Whoever can write the ring
 * (a producer of another user in a 0660 ring, a buggy process) can change a field in between, and
 * the second, unvalidated value is what the ring handle trusts: lane_count + exclusive_lanes,
 * slots, record_size, lanes_offset, lane_stride... A consumer then indexes lanes the mapping does not
 * have: reads outside it (SIGSEGV, which the SIGBUS shield does not catch).
 *
 * The window is a few instructions, so the test makes it deterministic: it interposes mmap to learn
 * where evr_ring_open maps the ring, protects the header page, and single-steps every access to it
 * (SIGSEGV, then the trap flag). After the first access that reads the field (the validation), it
 * rewrites the field through a second mapping, as a neighbour would. The copy must not trust it. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include "layout.h"
#include "ring_internal.h"
#include "test_util.h"
#include <evring/consumer.h>
#include <evring/platform.h>
#include <sys/wait.h>

static char name[64];
static volatile int armed;
static unsigned char *volatile hdr_page; /* the header page of the mapping under test */
static unsigned char *rw;                /* the neighbour's read-write mapping of the header */
static size_t field_off, field_len;
static unsigned char forged[8];
static volatile int seen, forged_done, stepping, forge_at = 1;
static size_t offs[64];

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);
	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
	void *p = real(addr, len, prot, flags, fd, off);
	if (armed && p != MAP_FAILED && len > EVR_HEADER_SIZE && fd >= 0 && off == 0 && !hdr_page) {
		hdr_page = p;
		mprotect(p, 4096, PROT_NONE);
	}
	return p;
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	unsigned char *a = si->si_addr;
	if (!hdr_page || a < hdr_page || a >= hdr_page + 4096) {
		signal(sig, SIG_DFL);
		return; /* a real fault: crash */
	}
	size_t o = (size_t)(a - hdr_page);
	/* an access starting at or up to 15 bytes before the field reads it (the widest load is 16) */
	if (o <= field_off && field_off < o + 16 && seen < 64)
		offs[seen++] = o;
	mprotect(hdr_page, 4096, PROT_READ);
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_EFL] |= 0x100; /* trap after this one instruction */
	stepping = 1;
}

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_EFL] &= ~0x100;
	stepping = 0;
	if (seen == forge_at && !forged_done) { /* the validation has read the field: the neighbour strikes */
		memcpy(rw + field_off, forged, field_len);
		forged_done = 1;
	}
	if (hdr_page)
		mprotect(hdr_page, 4096, PROT_NONE);
}

static void run_case_at(size_t off, size_t len, uint64_t value, void (*check)(struct evr_ring *r), int at);
static void run_case(size_t off, size_t len, uint64_t value, void (*check)(struct evr_ring *r))
{
	int total = 1;
	for (int at = 1; at <= total; at++) {
		run_case_at(off, len, value, check, at);
		total = seen; /* how many reads of the field an open makes */
	}
}

static void run_case_at(size_t off, size_t len, uint64_t value, void (*check)(struct evr_ring *r), int at)
{
	seen = 0;
	forged_done = 0;
	forge_at = at;
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 16;
	struct evr_ring *ring;
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, "rv2"), &o, &ring, NULL), 0);
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	rw = mmap(NULL, EVR_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(rw, MAP_FAILED);
	unsigned char saved[8];
	memcpy(saved, rw + off, len);
	field_off = off;
	field_len = len;
	memcpy(forged, &value, len);
	struct sigaction sa = {0};
	sa.sa_flags = SA_SIGINFO;
	sa.sa_sigaction = on_segv;
	sigaction(SIGSEGV, &sa, NULL);
	sa.sa_sigaction = on_trap;
	sigaction(SIGTRAP, &sa, NULL);
	armed = 1;
	struct evr_ring *r = NULL;
	struct evr_err err = {0};
	int rc = evr_ring_open(name, EVR_ROLE_CONSUMER, &r, &err);
	armed = 0;
	if (hdr_page)
		mprotect(hdr_page, 4096, PROT_READ);
	unsigned char *page = hdr_page;
	hdr_page = NULL;
	signal(SIGSEGV, SIG_DFL);
	signal(SIGTRAP, SIG_DFL);
	memcpy(rw + off, saved, len);
	cr_log_info("field at %zu: forged after read %d of %d (at %zu), open rc %d (%s)", off, at, seen, offs[at - 1], rc,
		    rc ? err.msg : "");
	cr_assert_not_null(page, "the ring's mapping was seen");
	cr_assert(forged_done, "the field was read and then rewritten");
	if (rc == 0) {
		check(r);
		evr_ring_close(r);
	}
	munmap(rw, EVR_HEADER_SIZE);
	evr_ring_close(ring);
	evr_ring_unlink(name, NULL);
}

static uint64_t true_lanes_offset;
static void check_lanes_offset(struct evr_ring *r)
{
	/* what a consumer of that handle does: one poll, in a child */
	pid_t pid = fork();
	if (pid == 0) {
		struct evr_consumer *c;
		struct evr_item it;
		if (evr_consumer_open(r, NULL, &c, NULL) == 0)
			evr_consumer_poll(c, &it);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_log_info("a consumer of that handle: %s %d", WIFSIGNALED(st) ? "killed by signal" : "exit",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	cr_assert_eq(r->lanes_offset, true_lanes_offset,
		     "open succeeded trusting lanes_offset %llu, not the validated %llu: lanes lie outside the mapping",
		     (unsigned long long)r->lanes_offset, (unsigned long long)true_lanes_offset);
}

Test(review2, lanes_offset_rewritten_after_validation_is_not_trusted)
{
	/* the value a fresh 1-lane, 16-slot platform ring has (as create computed it) */
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 16;
	struct evr_ring *tmp;
	char n2[64];
	cr_assert_eq(evr_ring_create(evr_test_name(n2, sizeof n2, "rv2t"), &o, &tmp, NULL), 0);
	true_lanes_offset = tmp->lanes_offset;
	evr_ring_close(tmp);
	evr_ring_unlink(n2, NULL);
	run_case(offsetof(struct evr_shm_header, lanes_offset), 8, true_lanes_offset + (1ull << 32), check_lanes_offset);
}

static void check_exclusive(struct evr_ring *r)
{
	cr_assert_eq(r->lanes - r->shared_lanes, 0,
		     "open succeeded trusting %u exclusive lanes the object has no room for", r->lanes - r->shared_lanes);
}

Test(review2, exclusive_lanes_rewritten_after_validation_is_not_trusted)
{
	run_case(offsetof(struct evr_shm_header, exclusive_lanes), 4, 200, check_exclusive);
}

/* producer.h / design.md: "The commit refuses (and aborts) a record whose type was changed since the
 * claim ... or that carries unknown flags" (counted as dropped), and the claim hands out the record
 * with "type, ts, producer_id and lane set". On a staged claim (a type whose layout differs between
 * the producer's table and the ring's) neither holds: evr_commit hands the record to emit_slow
 * without comparing the type with the claimed one, so a record filled in job_done's layout is
 * published as job_started; unknown flags are refused without the drop being counted; and the
 * claimed record's ts / producer_id / lane are zero until the commit. */
#include <evring/describe.h>
#include <evring/producer.h>
#include <evring/consumer.h>
static const struct evr_field_desc rv_started_f[] = { { "job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0 } };
static const struct evr_field_desc rv_done_v1_f[] = { { "status", EVR_FIELD_U32, 40, 4, 1, NULL, 0 } };
static const struct evr_field_desc rv_done_v2_f[] = { { "status", EVR_FIELD_U32, 40, 4, 1, NULL, 0 },
						      { "retries", EVR_FIELD_U32, 44, 4, 2, NULL, 0 } };
static const struct evr_event_desc rv_jobs_v1[] = {
	{ "job_started", "JOB_STARTED", "tool", rv_started_f, 1, 48, 80, 1 },
	{ "job_done", "JOB_DONE", "tool", rv_done_v1_f, 1, 44, 84, 1 },
};
static const struct evr_event_desc rv_jobs_v2[] = {
	{ "job_started", "JOB_STARTED", "tool", rv_started_f, 1, 48, 80, 1 },
	{ "job_done", "JOB_DONE", "tool", rv_done_v2_f, 2, 48, 80, 1 },
};

static struct evr_desc_header *rv_desc(const struct evr_event_desc *t, size_t n, uint32_t version)
{
	int size = evr_desc_build(t, n, "jobs", version, NULL, 0);
	cr_assert_gt(size, 0);
	struct evr_desc_header *d = malloc((size_t)size);
	cr_assert_eq(evr_desc_build(t, n, "jobs", version, d, (size_t)size), size);
	return d;
}

Test(review2, a_staged_claim_keeps_the_claim_contract)
{
	struct evr_desc_header *d1 = rv_desc(rv_jobs_v1, 2, 1), *d2 = rv_desc(rv_jobs_v2, 2, 2);
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 16;
	o.schema = d1;
	struct evr_ring *created, *r;
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, "rv2s"), &o, &created, NULL), 0);
	cr_assert_eq(evr_ring_open_schema(name, EVR_ROLE_PRODUCER, d2, &r, NULL), 0);
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(r, "v2", &p, NULL), 0);
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
	evr_producer_close(p);
	evr_ring_close(r);
	evr_ring_close(created);
	evr_ring_unlink(name, NULL);
	free(d1);
	free(d2);
	cr_log_info("staged: stamped at claim %d; commit after a type change %d; with unknown flags %d; emitted %llu "
		    "dropped %llu", stamped, rc_type, rc_flags, (unsigned long long)emitted, (unsigned long long)dropped);
	cr_expect(stamped, "a staged claim hands out ts and producer_id set, as producer.h says");
	cr_expect_eq(rc_type, -EINVAL, "a staged claim whose type was changed is refused, as producer.h says");
	cr_expect_eq(rc_flags, -EINVAL);
	cr_expect_eq(emitted, 0, "nothing published");
	cr_expect_eq(dropped, 2, "both refused commits counted, as for an in-place claim");
}

/* evr_emit always stamps producer_id and lane; an in-place claim stamps them at the claim, and
 * evr_commit publishes whatever the caller left there (it checks type and flags only). A caller
 * that assigns a whole record over the claimed one (seq aside), or a stray store, publishes a
 * record attributed to another producer and lane; consumers accept it. */
Test(review2, a_commit_publishes_the_producer_id_and_lane_it_stamped)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 16;
	struct evr_ring *ring, *ro;
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, "rv2p"), &o, &ring, NULL), 0);
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &ro, NULL), 0);
	struct evr_consumer *c;
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(ring, "rv2", &p, NULL), 0);
	struct evr_record *rec;
	cr_assert_eq(evr_claim(p, EVR_TOOL_COMPLETED, &rec), 0);
	rec->producer_id = 77;
	rec->lane = 9;
	int rc = evr_commit(p);
	struct evr_item it;
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	evr_producer_close(p);
	evr_consumer_close(c);
	evr_ring_close(ro);
	evr_ring_close(ring);
	evr_ring_unlink(name, NULL);
	cr_log_info("commit %d; consumer got kind %d producer_id %u lane field %u", rc, (int)it.kind,
		    (unsigned)it.rec.producer_id, (unsigned)it.rec.lane);
	cr_expect(!(it.kind == EVR_ITEM_RECORD && it.rec.producer_id == 77),
		  "a record attributed to producer 77 (not registered) was published and delivered");
}
