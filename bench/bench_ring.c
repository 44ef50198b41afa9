/* bench_ring (bench.h): the one place the evr-bench benchmarks make their rings. Kept out of
 * bench_util.c, which evr-bench-lttng links without libring. */
#include <stdio.h>
#include <stdlib.h>

#include <evring/ring.h>

#include "bench.h"

struct evr_ring *bench_ring(const char *name, const struct evr_ring_opts *o)
{
	evr_ring_unlink(name, NULL);
	struct evr_ring *r;
	struct evr_err err = { 0 };
	if (evr_ring_create(name, o, &r, &err)) {
		fprintf(stderr, "evr-bench: %s\n", err.msg);
		exit(1);
	}
	return r;
}
