/* Emit at the hardware limit (issue 17): typed emit against what the machine can do at best, in one
 * process, interleaved round by round so a slow phase of the (shared) machine hits every row of a
 * round; each ratio is the median of the rounds' ratios.
 *
 * Baselines, each in a cache-warm window the size of the emit rings' lanes (256 slots x 128 B =
 * 32 KiB) and in a 64 MiB window (every store misses):
 *   single-writer limit  clock + 128-byte copy + release store, no locked instruction;
 *   shared floor         the same + one fetch_add on a head.
 * Emits: typed emit (evr_emit_tool_retried) on an exclusive lane and on a shared lane, with the TSC
 * and with CLOCK_MONOTONIC, into rings of 256 slots per lane (cache-warm, like the baselines). Each
 * ratio row names its baseline. The same source builds against the tree before exclusive lanes (the
 * "before" of a comparison): its exclusive rows are then left out. */
#define _GNU_SOURCE
#include <evring/emit.h>
#include <evring/evring.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <x86intrin.h>

#include "bench.h"
#include "compat.h"

#define ROUNDS 9
#define WARM_SLOTS 256u
#define WARM_BYTES (WARM_SLOTS * 128u)
#define BIG_BYTES (64u << 20)

static uint64_t now_ts(bool tsc)
{
	if (tsc)
		return __rdtsc();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ns per write of a 128-byte record (stamped with the clock) into a window of `bytes`. */
static double baseline(uint64_t n, size_t bytes, bool rmw, bool tsc)
{
	unsigned char *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(map, 0, bytes);
	static _Atomic uint64_t head;
	alignas(16) unsigned char rec[128];
	memset(rec, 7, sizeof rec);
	uint64_t mask = bytes / 128 - 1, t0 = evr_mono_ns();
	for (uint64_t i = 0; i < n; i++) {
		/* relaxed: the shared floor's claim, as a lane's */
		uint64_t pos = rmw ? atomic_fetch_add_explicit(&head, 1, memory_order_relaxed) : i;
		uint64_t ts = now_ts(tsc);
		memcpy(rec + 8, &ts, sizeof ts);
		unsigned char *slot = map + (pos & mask) * 128;
		memcpy(slot + 8, rec + 8, 120);
		/* release: the publish store */
		atomic_store_explicit((_Atomic uint64_t *)(void *)slot, pos, memory_order_release);
	}
	double ns = (double)(evr_mono_ns() - t0) / (double)n;
	munmap(map, bytes);
	return ns;
}

static const char *ring_name = "/evr-bench-limit";

static struct evr_ring *ring_of(uint32_t xlanes, enum evr_ts_source ts)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = WARM_SLOTS;
	o.ts_source = ts;
#if BENCH_HAVE_EXCLUSIVE
	o.exclusive_lanes = xlanes;
#else
	(void)xlanes;
#endif
	return bench_ring(ring_name, &o);
}

struct job {
	struct evr_ring *ring;
	uint64_t n;
	unsigned flags;
	int cpu;
	double ns;
};

static void *emit_loop(void *arg)
{
	struct job *j = arg;
	bench_pin_cpu(j->cpu);
	struct evr_producer *p;
	if (evr_producer_open_flags(j->ring, "limit", j->flags, &p, NULL))
		exit(1);
	for (uint64_t i = 0; i < WARM_SLOTS; i++)
		evr_emit_tool_retried(p, i, 7, &(struct evr_args_tool_retried){ .tool = "warm-up" });
	uint64_t t0 = evr_mono_ns();
	for (uint64_t i = 0; i < j->n; i++)
		evr_emit_tool_retried(p, i, 7, &(struct evr_args_tool_retried){ .tool = "web_search", .attempt = 2, .backoff_ms = 250 });
	j->ns = (double)(evr_mono_ns() - t0) / (double)j->n;
	evr_producer_close(p);
	return NULL;
}

/* ns per typed emit of each of `producers` threads (on CPUs 0, 1, ...), on exclusive lanes or on
 * the one shared lane. */
static double emit_ns(uint64_t n, bool exclusive, bool tsc, int producers)
{
	struct evr_ring *r = ring_of(exclusive ? (uint32_t)producers : 0, tsc ? EVR_TS_TSC : EVR_TS_MONOTONIC);
	struct job j[2];
	pthread_t th[2];
	double sum = 0;
	for (int i = 0; i < producers; i++) {
		j[i] = (struct job){ .ring = r, .n = n, .flags = exclusive ? EVR_PRODUCER_EXCLUSIVE : 0, .cpu = i };
		pthread_create(&th[i], NULL, emit_loop, &j[i]);
	}
	for (int i = 0; i < producers; i++) {
		pthread_join(th[i], NULL);
		sum += j[i].ns;
	}
	evr_ring_close(r);
	evr_ring_unlink(ring_name, NULL);
	return sum / producers;
}

enum { SW_WARM, SH_WARM, SH_WARM_MONO, SW_BIG, SH_BIG, X_TSC, S_TSC, S_MONO, X_MONO, X2_TSC, NFIG };

static void row(const char *name, double *per_round[ROUNDS], int fig, int rounds, const char *note)
{
	double v[ROUNDS];
	for (int i = 0; i < rounds; i++)
		v[i] = per_round[i][fig];
	bench_row("limit", name, "ns/emit", bench_median(v, rounds), "ns", note);
}

static void ratio(const char *name, double *per_round[ROUNDS], int num, int den, int rounds, const char *note)
{
	double v[ROUNDS];
	for (int i = 0; i < rounds; i++)
		v[i] = per_round[i][num] / per_round[i][den];
	bench_row("limit", name, "x", bench_median(v, rounds), "x", note);
}

void bench_limit(void)
{
	uint64_t n = bench_quick ? 300000 : 2000000;
	int rounds = bench_quick ? 5 : ROUNDS;
	static double fig[ROUNDS][NFIG];
	double *r[ROUNDS];
	bench_progress("emit at the hardware limit: baselines and typed emits, %d interleaved rounds", rounds);
	for (int i = 0; i < rounds; i++) {
		r[i] = fig[i];
		fig[i][SW_WARM] = baseline(n, WARM_BYTES, false, true);
		fig[i][SH_WARM] = baseline(n, WARM_BYTES, true, true);
		fig[i][SH_WARM_MONO] = baseline(n, WARM_BYTES, true, false);
		fig[i][SW_BIG] = baseline(n, BIG_BYTES, false, true);
		fig[i][SH_BIG] = baseline(n, BIG_BYTES, true, true);
		fig[i][S_TSC] = emit_ns(n, false, true, 1);
		fig[i][S_MONO] = emit_ns(n, false, false, 1);
		if (BENCH_HAVE_EXCLUSIVE) {
			fig[i][X_TSC] = emit_ns(n, true, true, 1);
			fig[i][X_MONO] = emit_ns(n, true, false, 1);
			fig[i][X2_TSC] = emit_ns(n, true, true, 2);
		}
	}
	row("single-writer limit, cache-warm (rdtsc + 128 B copy + release)", r, SW_WARM, rounds, "32 KiB window");
	row("shared floor, cache-warm (the same + fetch_add)", r, SH_WARM, rounds, "32 KiB window");
	row("shared floor, cache-warm, clock_gettime", r, SH_WARM_MONO, rounds, "32 KiB window");
	row("single-writer limit, 64 MiB", r, SW_BIG, rounds, "64 MiB window");
	row("shared floor, 64 MiB", r, SH_BIG, rounds, "64 MiB window");
	row("typed emit, shared lane, TSC", r, S_TSC, rounds, "256 slots: cache-warm");
	ratio("  to the shared floor, cache-warm", r, S_TSC, SH_WARM, rounds, "target <= 1.2");
	ratio("  to the shared floor, 64 MiB", r, S_TSC, SH_BIG, rounds, NULL);
	row("typed emit, shared lane, MONOTONIC", r, S_MONO, rounds, "256 slots: cache-warm");
	ratio("  to the shared floor (clock_gettime), cache-warm", r, S_MONO, SH_WARM_MONO, rounds, "target <= 1.2");
	if (!BENCH_HAVE_EXCLUSIVE)
		return;
	row("typed emit, exclusive lane, TSC", r, X_TSC, rounds, "256 slots: cache-warm");
	ratio("  to the single-writer limit, cache-warm", r, X_TSC, SW_WARM, rounds, "target <= 1.3");
	ratio("  to the single-writer limit, 64 MiB", r, X_TSC, SW_BIG, rounds, NULL);
	row("typed emit, exclusive lane, MONOTONIC", r, X_MONO, rounds, "256 slots: cache-warm");
	row("2 producers on exclusive lanes, each, TSC", r, X2_TSC, rounds, "2 threads on 2 CPUs");
	ratio("  to 1 producer on an exclusive lane", r, X2_TSC, X_TSC, rounds, "target <= 1.05");
}
