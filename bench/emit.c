/* Emit-side figures: the hardware floor of an emit, typed emit cost (single, contended by threads
 * and by processes, with consumers attached), throughput with 1..N producers, consumer drain rate,
 * and how slot size and ring size change the cost. */
#define _GNU_SOURCE
#include <evring/emit.h>
#include <evring/evring.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include "bench.h"
#include "compat.h"

#define RUNS 7
static const char *ring_name = "/evr-bench-emit";

static struct evr_ring *make_ring_x(uint32_t lanes, uint32_t xlanes, uint32_t slots, uint32_t record_size,
				   enum evr_ts_source ts)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = lanes;
#if BENCH_HAVE_EXCLUSIVE
	o.exclusive_lanes = xlanes;
#else
	(void)xlanes;
#endif
	o.slots_per_lane = slots;
	o.record_size = record_size;
	o.ts_source = ts;
	return bench_ring(ring_name, &o);
}

static struct evr_ring *make_ring(uint32_t lanes, uint32_t slots, uint32_t record_size, enum evr_ts_source ts)
{
	return make_ring_x(lanes, 0, slots, record_size, ts);
}

static void drop_ring(struct evr_ring *r)
{
	evr_ring_close(r);
	evr_ring_unlink(ring_name, NULL);
}

/* ---- floor: the bare operations an emit is made of ---- */

static double floor_protocol(uint64_t n)
{
	size_t bytes = 64u << 20; /* a large mapping, like a ring's lanes */
	unsigned char *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(map, 0, bytes);
	static _Atomic uint64_t head;
	unsigned char rec[128];
	memset(rec, 7, sizeof rec);
	uint64_t t0 = evr_mono_ns();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pos = atomic_fetch_add_explicit(&head, 1, memory_order_relaxed); /* the claim */
		unsigned char *slot = map + (pos % (bytes / 128)) * 128;
		memcpy(slot + 8, rec + 8, 120); /* the copy */
		/* release: the publish store */
		atomic_store_explicit((_Atomic uint64_t *)slot, pos, memory_order_release);
	}
	double ns = (double)(evr_mono_ns() - t0) / (double)n;
	munmap(map, bytes);
	return ns;
}

static double floor_clock(uint64_t n, bool tsc)
{
	volatile uint64_t sink = 0;
	uint64_t t0 = evr_mono_ns();
	for (uint64_t i = 0; i < n; i++) {
		if (tsc) {
			sink += __rdtsc();
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			sink += (uint64_t)ts.tv_nsec;
		}
	}
	return (double)(evr_mono_ns() - t0) / (double)n;
}

/* ---- typed emit ---- */

struct emit_job {
	struct evr_ring *ring;
	uint64_t n, warm; /* warm: untimed emits first, so a fresh ring's page faults are not counted */
	int cpu;
	unsigned flags; /* evr_producer_open_flags */
	double ns;
	struct hist *batches; /* per-emit cost of 64-emit batches, when not NULL */
	bool marks;           /* raise SIGSTOP before and after the timed emits (for stepcount) */
};

static void *emit_thread(void *arg)
{
	struct emit_job *j = arg;
	if (j->cpu >= 0)
		bench_pin_cpu(j->cpu);
	struct evr_producer *p;
	if (evr_producer_open_flags(j->ring, "bench", j->flags, &p, NULL))
		exit(1);
	for (uint64_t i = 0; i < j->warm; i++)
		evr_emit_tool_retried(p, i, 7, &(struct evr_args_tool_retried){ .tool = "warm-up" });
	if (j->marks)
		raise(SIGSTOP);
	uint64_t t0 = evr_mono_ns(), tb = t0;
	for (uint64_t i = 0; i < j->n; i++) {
		evr_emit_tool_retried(p, i, 7, &(struct evr_args_tool_retried){ .tool = "web_search", .attempt = 2, .backoff_ms = 250 });
		if (j->batches && (i & 63) == 63) {
			uint64_t t = evr_mono_ns();
			hist_add(j->batches, (t - tb) / 64);
			tb = t;
		}
	}
	j->ns = (double)(evr_mono_ns() - t0) / (double)j->n;
	if (j->marks)
		raise(SIGSTOP);
	evr_producer_close(p);
	return NULL;
}

static uint64_t slots_of(const struct evr_ring *r)
{
	struct evr_ring_info info;
	evr_ring_get_info(r, &info);
	return info.slots_per_lane;
}

static double emit_single(struct evr_ring *r, uint64_t n, struct hist *h)
{
	struct emit_job j = { .ring = r, .n = n, .warm = slots_of(r), .cpu = 0, .batches = h };
	emit_thread(&j);
	return j.ns;
}

static double emit_threads(struct evr_ring *r, uint64_t n, int producers)
{
	pthread_t th[16];
	struct emit_job j[16];
	double sum = 0;
	for (int i = 0; i < producers; i++) {
		j[i] = (struct emit_job){ .ring = r, .n = n, .warm = slots_of(r), .cpu = i };
		pthread_create(&th[i], NULL, emit_thread, &j[i]);
	}
	for (int i = 0; i < producers; i++) {
		pthread_join(th[i], NULL);
		sum += j[i].ns;
	}
	return sum / producers;
}

/* Producers as processes: each reports its ns/emit through a shared page. */
static double emit_processes(uint64_t n, int producers)
{
	double *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid[16];
	for (int i = 0; i < producers; i++)
		if ((pid[i] = fork()) == 0) {
			struct evr_ring *r;
			if (evr_ring_open(ring_name, EVR_ROLE_PRODUCER, &r, NULL))
				_exit(1);
			struct emit_job j = { .ring = r, .n = n, .warm = slots_of(r), .cpu = i };
			emit_thread(&j);
			res[i] = j.ns;
			_exit(0);
		}
	double sum = 0;
	for (int i = 0; i < producers; i++) {
		waitpid(pid[i], NULL, 0);
		sum += res[i];
	}
	munmap(res, 4096);
	return sum / producers;
}

/* Consumer processes that keep reading (sleeping on the futex when caught up) until killed. */
static int spawn_consumers(int k, pid_t *pids)
{
	for (int i = 0; i < k; i++)
		if ((pids[i] = fork()) == 0) {
			struct evr_ring *r;
			struct evr_consumer *c;
			if (evr_ring_open(ring_name, EVR_ROLE_CONSUMER, &r, NULL) || evr_consumer_open(r, NULL, &c, NULL))
				_exit(1);
			struct evr_item it[64];
			for (;;)
				if (evr_consumer_poll_batch(c, it, 64) == 0)
					evr_consumer_wait(c, 10000000);
		}
	usleep(50000);
	return k;
}

static void stop_consumers(int k, pid_t *pids)
{
	for (int i = 0; i < k; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
}

static double median_of(double (*fn)(void *), void *arg)
{
	double v[RUNS];
	int runs = bench_quick ? 3 : RUNS;
	for (int i = 0; i < runs; i++)
		v[i] = fn(arg);
	return bench_median(v, runs);
}

struct scenario {
	int kind; /* 0 single, 1 threads, 2 processes */
	int producers;
	uint64_t n;
	enum evr_ts_source ts;
	uint32_t lanes, slots, record_size;
	struct hist *h;
};

static double run_scenario(void *arg)
{
	struct scenario *s = arg;
	struct evr_ring *r = make_ring(s->lanes, s->slots, s->record_size, s->ts);
	double ns = s->kind == 0 ? emit_single(r, s->n, s->h)
		  : s->kind == 1 ? emit_threads(r, s->n, s->producers)
				 : emit_processes(s->n, s->producers);
	drop_ring(r);
	return ns;
}

void bench_emit(void)
{
	uint64_t n = bench_quick ? 300000 : 2000000;
	int cpus = bench_cpus();
	/* The floors and the emits alternate, round by round, so that the machine's slow phases (these
	 * are shared VMs) hit both sides of a ratio; each ratio is the median of the rounds' ratios. */
	bench_progress("floor probes and typed emit, single producer, interleaved");
	int rounds = bench_quick ? 5 : RUNS;
	double fl_proto[RUNS], fl_mono[RUNS], fl_tsc[RUNS], em_mono[RUNS], em_tsc[RUNS], r_mono[RUNS], r_tsc[RUNS];
	struct hist *h = calloc(1, sizeof *h);
	struct scenario s = { .kind = 0, .n = n, .slots = 1u << 16, .record_size = 128 };
	for (int i = 0; i < rounds; i++) {
		fl_proto[i] = floor_protocol(n);
		fl_mono[i] = floor_clock(n, false);
		fl_tsc[i] = floor_clock(n, true);
		s.ts = EVR_TS_MONOTONIC;
		s.h = h;
		em_mono[i] = run_scenario(&s);
		s.ts = EVR_TS_TSC;
		s.h = NULL;
		em_tsc[i] = run_scenario(&s);
		r_mono[i] = em_mono[i] / (fl_proto[i] + fl_mono[i]);
		r_tsc[i] = em_tsc[i] / (fl_proto[i] + fl_tsc[i]);
	}
	double proto = bench_median(fl_proto, rounds), mono = bench_median(fl_mono, rounds), tsc = bench_median(fl_tsc, rounds);
	bench_row("floor", "fetch_add + 128 B copy + release store", "ns/op", proto, "ns", "into a 64 MiB shared mapping");
	bench_row("floor", "clock_gettime(MONOTONIC)", "ns/op", mono, "ns", NULL);
	bench_row("floor", "rdtsc", "ns/op", tsc, "ns", NULL);
	double one_mono = bench_median(em_mono, rounds);
	char note[96];
	snprintf(note, sizeof note, "64-emit batches: p50 %llu ns, p99 %llu ns, max %llu ns",
		 (unsigned long long)hist_pct(h, 50), (unsigned long long)hist_pct(h, 99), (unsigned long long)h->max);
	bench_row("emit", "typed emit, 1 producer, MONOTONIC", "ns/emit", one_mono, "ns", note);
	bench_row("emit", "  ratio to floor (protocol + clock)", "x", bench_median(r_mono, rounds), "x",
		  "target <= 1.5; median of per-round ratios");
	bench_row("emit", "typed emit, 1 producer, TSC", "ns/emit", bench_median(em_tsc, rounds), "ns", NULL);
	bench_row("emit", "  ratio to floor (protocol + rdtsc)", "x", bench_median(r_tsc, rounds), "x",
		  "target <= 1.5; median of per-round ratios");
	free(h);

	bench_progress("contended: 2 producers on 2 cores");
	s = (struct scenario){ .kind = 1, .producers = 2, .n = n, .ts = EVR_TS_MONOTONIC, .slots = 1u << 16, .record_size = 128 };
	double two_thr = median_of(run_scenario, &s);
	bench_row("emit", "2 producer threads, each", "ns/emit", two_thr, "ns", NULL);
	bench_row("emit", "  ratio to 1 producer", "x", two_thr / one_mono, "x", "target <= 2");
	s.kind = 2;
	double two_proc = median_of(run_scenario, &s);
	bench_row("emit", "2 producer processes, each", "ns/emit", two_proc, "ns", NULL);
	bench_row("emit", "  ratio to 1 producer", "x", two_proc / one_mono, "x", "target <= 2");
	s = (struct scenario){ .kind = 1, .producers = 2, .n = n, .ts = EVR_TS_MONOTONIC, .lanes = 1, .slots = 1u << 16, .record_size = 128 };
	double two_one_lane = median_of(run_scenario, &s);
	bench_row("emit", "2 producer threads, ONE lane, each", "ns/emit", two_one_lane, "ns", "why lanes: a shared head line");

	bench_progress("with 0, 1, 4 consumers attached");
	for (int k = 0; k <= 4; k += k ? 3 : 1) {
		struct evr_ring *r = make_ring(0, 1u << 16, 128, EVR_TS_MONOTONIC);
		pid_t pids[4];
		spawn_consumers(k, pids);
		double v[RUNS];
		int runs = bench_quick ? 3 : RUNS;
		for (int i = 0; i < runs; i++)
			v[i] = emit_single(r, n, NULL);
		stop_consumers(k, pids);
		drop_ring(r);
		char name[64];
		snprintf(name, sizeof name, "1 producer, %d consumer%s attached", k, k == 1 ? "" : "s");
		bench_row("emit", name, "ns/emit", bench_median(v, runs), "ns", k ? "consumers are processes on the same 2 cores" : NULL);
	}

	bench_progress("throughput with 1..%d producers", 2 * cpus);
	for (int p = 1; p <= 2 * cpus && p <= 8; p++) {
		s = (struct scenario){ .kind = 1, .producers = p, .n = n, .ts = EVR_TS_MONOTONIC, .slots = 1u << 16, .record_size = 128 };
		double ns = median_of(run_scenario, &s); /* each thread's wall time per emit, shared cores included */
		char name[48];
		snprintf(name, sizeof name, "%d producer%s", p, p == 1 ? "" : "s");
		bench_row("throughput", name, "events/s", p * 1e9 / ns, "ev/s", p > cpus ? "more producers than cores" : NULL);
	}

	bench_progress("consumer drain rate");
	{
		struct evr_ring *r = make_ring(1, 1u << 20, 128, EVR_TS_MONOTONIC);
		emit_single(r, 1u << 20, NULL);
		struct evr_ring *ro;
		evr_ring_open(ring_name, EVR_ROLE_CONSUMER, &ro, NULL);
		double v[RUNS];
		int runs = bench_quick ? 3 : RUNS;
		for (int i = 0; i < runs; i++) {
			struct evr_consumer *c;
			evr_consumer_open(ro, NULL, &c, NULL);
			struct evr_item it[256];
			uint64_t got = 0, t0 = evr_mono_ns();
			int k;
			while ((k = evr_consumer_poll_batch(c, it, 256)) > 0)
				got += (uint64_t)k;
			v[i] = (double)got * 1e9 / (double)(evr_mono_ns() - t0);
			evr_consumer_close(c);
		}
		double rate = bench_median(v, runs);
		bench_row("throughput", "1 consumer draining 1 Mi records", "records/s", rate, "rec/s", NULL);
		bench_row("throughput", "1 consumer draining", "GB/s", rate * 128 / 1e9, "GB/s", "128-byte records");
		evr_ring_close(ro);
		drop_ring(r);
	}

	bench_progress("slot size and ring size");
	for (uint32_t size = 128; size <= 1024; size *= 2) {
		s = (struct scenario){ .kind = 0, .n = n, .ts = EVR_TS_MONOTONIC, .slots = 1u << 14, .record_size = size };
		char name[48];
		snprintf(name, sizeof name, "slot size %u B (16 Ki slots)", size);
		bench_row("size", name, "ns/emit", median_of(run_scenario, &s), "ns", "the record is 128 B; the slot stride grows");
	}
	uint32_t ring_slots[] = { 256, 1u << 20 };
	const char *what[] = { "256 slots (32 KiB per lane: fits L1/L2)", "1 Mi slots (128 MiB per lane)" };
	for (int i = 0; i < 2; i++) {
		s = (struct scenario){ .kind = 0, .n = n, .ts = EVR_TS_MONOTONIC, .slots = ring_slots[i], .record_size = 128 };
		bench_row("size", what[i], "ns/emit", median_of(run_scenario, &s), "ns", NULL);
	}
}

/* For callgrind: n typed emits and nothing else. */
void bench_emit_only(uint64_t n, bool exclusive, bool tsc)
{
	struct evr_ring *r = make_ring_x(1, exclusive, 1u << 12, 128, tsc ? EVR_TS_TSC : EVR_TS_MONOTONIC);
	struct emit_job j = { .ring = r, .n = n, .warm = slots_of(r), .cpu = 0,
			      .flags = exclusive ? EVR_PRODUCER_EXCLUSIVE : 0,
			      .marks = getenv("EVR_BENCH_STEP_MARKS") != NULL };
	emit_thread(&j);
	drop_ring(r);
}
