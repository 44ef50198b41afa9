/* evr-bench-waiters: the cost of an emit while a hostile reader holds the wake page's `waiters` flag
 * (issue 13 item 1). Every emit that finds the flag set may issue a FUTEX_WAKE; wake.c bounds that to
 * one per thread per EVR_WAKE_QUIET_NS. Three cases, each the median of 7 runs of 1M emits into a
 * one-lane ring:
 *   clear     nobody sleeps: the emit's one load of the flag;
 *   self      the flag is set again before every emit, in this thread (the worst case: an attacker
 *             that always wins, without the cross-core cache miss);
 *   process   another process stores 1 into the flag in a loop (real, and scheduler-dependent).
 * Usage: evr-bench-waiters [clear|self|process]...   (default: all three)
 */
#include <evring/evring.h>
#include <evring/platform.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"

#define RUNS 7
#define EMITS 1000000

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The first word of NAME~wake is `waiters` (libring/src/layout.h); a reader of the ring's group may
 * map it read-write, which is the whole attack. */
static _Atomic uint32_t *map_waiters(const char *ring)
{
	char wn[128];
	snprintf(wn, sizeof wn, "%s~wake", ring);
	int fd = shm_open(wn, O_RDWR, 0);
	if (fd < 0)
		return NULL;
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static double run(struct evr_producer *p, _Atomic uint32_t *set_each)
{
	double ns[RUNS];
	for (int k = 0; k < RUNS; k++) {
		uint64_t t0 = evr_mono_ns();
		for (uint64_t i = 0; i < EMITS; i++) {
			struct evr_record rec;
			evr_record_init(&rec, EVR_TOOL_COMPLETED, 1, i);
			if (set_each) /* relaxed: the attacker's store; nothing is ordered by it */
				atomic_store_explicit(set_each, 1, memory_order_relaxed);
			evr_emit(p, &rec);
		}
		ns[k] = (double)(evr_mono_ns() - t0) / EMITS;
	}
	qsort(ns, RUNS, sizeof ns[0], cmp);
	return ns[RUNS / 2];
}

static int measure(const char *ring, struct evr_producer *p, const char *mode)
{
	_Atomic uint32_t *w = map_waiters(ring);
	if (!w)
		return 1;
	pid_t holder = 0;
	double ns;
	if (!strcmp(mode, "clear")) {
		ns = run(p, NULL);
	} else if (!strcmp(mode, "self")) {
		ns = run(p, w);
	} else if (!strcmp(mode, "process")) {
		if ((holder = fork()) == 0)
			for (;;) /* relaxed: as above */
				atomic_store_explicit(w, 1, memory_order_relaxed);
		ns = run(p, NULL);
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
	} else {
		fprintf(stderr, "evr-bench-waiters: unknown case '%s' (clear, self, process)\n", mode);
		return 2;
	}
	munmap((void *)w, 4096);
	printf("%-8s %7.1f ns/emit (median of %d x %d)\n", mode, ns, RUNS, EMITS);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const all[] = { "clear", "self", "process" };
	char ring[64];
	snprintf(ring, sizeof ring, "/evr-bench-waiters-%d", (int)getpid());
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	struct evr_ring *r;
	struct evr_producer *p;
	struct evr_err err = { 0 };
	if (evr_ring_create(ring, &o, &r, &err) || evr_producer_open(r, "bench", &p, &err)) {
		fprintf(stderr, "evr-bench-waiters: %s\n", err.msg);
		evr_ring_unlink(ring, NULL);
		return 1;
	}
	int rc = 0;
	for (int i = 0; !rc && i < (argc > 1 ? argc - 1 : 3); i++)
		rc = measure(ring, p, argc > 1 ? argv[i + 1] : all[i]);
	evr_producer_close(p);
	evr_ring_close(r);
	evr_ring_unlink(ring, NULL);
	return rc;
}
