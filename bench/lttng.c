/* LTTng-UST tracepoint cost, measured like evring's emit: n back-to-back events of 128 bytes. The
 * session (userspace-only session daemon, a session with this event enabled) is set up by
 * scripts/bench.sh; without one the tracepoint is disabled and the figure says so. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "lttng_tp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Prints one CSV row (the format of results.csv) that scripts/bench.sh appends. */
int main(int argc, char **argv)
{
	bench_quick = argc > 1 && !strcmp(argv[1], "--quick");
	uint64_t n = bench_quick ? 300000 : 2000000;
	char payload[128];
	memset(payload, 'x', sizeof payload);
	bool active = getenv("EVR_BENCH_LTTNG_SESSION") != NULL;
	double v[7];
	int runs = bench_quick ? 3 : 7;
	for (int r = 0; r < runs; r++) {
		uint64_t t0 = evr_mono_ns();
		for (uint64_t i = 0; i < n; i++) {
			memcpy(payload, &i, sizeof i);
			lttng_ust_tracepoint(evr_bench, record, payload);
		}
		v[r] = (double)(evr_mono_ns() - t0) / (double)n;
	}
	printf("peer,\"%s\",ns/event,%.3f,ns,\"%s\"\n",
	       active ? "lttng-ust tracepoint (session recording)" : "lttng-ust tracepoint (NO session: disabled)",
	       bench_median(v, runs), active ? "userspace-only lttng-sessiond, event enabled" : getenv("EVR_BENCH_LTTNG_WHY") ? getenv("EVR_BENCH_LTTNG_WHY") : "no session");
	return 0;
}
