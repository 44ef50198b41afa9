/* The tree's one monotonic clock, for intervals, deadlines and rates in the tools, services,
 * benchmarks and tests (never for record times, which are the ring's own). common/ holds what every
 * part of the tree shares; it is never installed. */
#ifndef EVR_MONOTIME_H
#define EVR_MONOTIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t evr_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
