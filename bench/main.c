/* evr-bench: runs every benchmark and writes bench/results/results.csv (and the latency data for
 * the plots); scripts/bench.sh turns them into the Markdown table and the PNG plots.
 *   evr-bench [--quick] OUTDIR          all benchmarks
 *   evr-bench --limit [--quick] OUTDIR  only the hardware-limit table (bench/limit.c)
 *   evr-bench --emit-only N [x] [tsc]   N typed emits and nothing else (for callgrind and
 *                                       stepcount); x: on an exclusive lane, tsc: with the TSC clock
 *                                       (default: a shared lane and CLOCK_MONOTONIC); with
 *                                       EVR_BENCH_STEP_MARKS set it raises SIGSTOP before and after
 *                                       the N emits (the window stepcount counts)
 * The LTTng-UST figure comes from evr-bench-lttng, a separate program: lttng-ust starts threads in
 * every process that links it, which would disturb the fork-based measurements here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

void bench_emit(void);
void bench_emit_only(uint64_t n, bool exclusive, bool tsc);
void bench_latency(const char *plot_path);
void bench_limit(void);

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--emit-only")) {
		bool x = false, tsc = false;
		for (int i = 3; i < argc; i++) {
			x |= !strcmp(argv[i], "x");
			tsc |= !strcmp(argv[i], "tsc");
		}
		bench_emit_only(strtoull(argv[2], NULL, 10), x, tsc);
		return 0;
	}
	static const char usage[] = "usage: evr-bench [--limit] [--quick] OUTDIR | evr-bench --emit-only N [x] [tsc]\n";
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	int a = 1;
	bool limit_only = a < argc && !strcmp(argv[a], "--limit");
	a += limit_only;
	if (a < argc && !strcmp(argv[a], "--quick")) {
		bench_quick = true;
		a++;
	}
	if (a != argc - 1 || argv[a][0] == '-') {
		fputs(usage, stderr);
		return 2;
	}
	struct stat st; /* before minutes of measuring: the results must have somewhere to go */
	if (stat(argv[a], &st) || !S_ISDIR(st.st_mode) || access(argv[a], W_OK)) {
		fprintf(stderr, "evr-bench: OUTDIR %s is not a writable directory (mkdir -p it first)\n", argv[a]);
		return 2;
	}
	char path[4096];
	fprintf(stderr, "== emit at the hardware limit\n");
	bench_limit();
	snprintf(path, sizeof path, "%s/results.csv", argv[a]);
	if (limit_only) {
		bench_write(path);
		return 0;
	}
	fprintf(stderr, "== emit cost, floors, throughput\n");
	bench_emit();
	fprintf(stderr, "== end-to-end latency and send cost\n");
	snprintf(path, sizeof path, "%s/latency.dat", argv[a]);
	bench_latency(path);
	snprintf(path, sizeof path, "%s/results.csv", argv[a]);
	bench_write(path);
	return 0;
}
