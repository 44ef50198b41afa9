/* A header rewritten by a neighbour between its validation and its use on open.
 *
 * Whoever can write a ring (a producer of another user in a 0660 ring, a buggy process) can change
 * its header at any time. open_once() used to validate the header in the shared mapping and then
 * read the same fields again to build the handle's layout, so a field rewritten in between (lanes
 * offset, lane counts, slots...) was trusted unvalidated, and a consumer indexed lanes its mapping
 * does not have: reads outside it (SIGSEGV, which the SIGBUS shield does not catch). It now
 * validates a private snapshot and keeps that.
 *
 * The window is a few instructions, so the test makes it deterministic: it interposes mmap to learn
 * where evr_ring_open maps the ring, protects the header page, and single-steps every access to it
 * (SIGSEGV, then the trap flag: x86-64 only). After the access that validation makes to the field,
 * it rewrites the field through a second mapping, as a neighbour would; the handle must not see it. */
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

Test(header, lanes_offset_rewritten_after_validation_is_not_trusted)
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

Test(header, exclusive_lanes_rewritten_after_validation_is_not_trusted)
{
	run_case(offsetof(struct evr_shm_header, exclusive_lanes), 4, 200, check_exclusive);
}
