/* Timestamp sources. Producers stamp records in the ring's own units (TSC ticks or CLOCK_MONOTONIC
 * ns, chosen at creation and recorded in the header); consumers convert to wall-clock ns using the
 * realtime/monotonic/timestamp triple taken together at creation.
 *
 * TSC is used only when the kernel itself trusts it: "tsc" among the available clocksources (the
 * kernel removes it when it marks the TSC unstable) and constant_tsc + nonstop_tsc in cpuinfo. */
#ifndef EVR_CLOCK_H
#define EVR_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "evring/ring.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define EVR_HAVE_TSC 1
#else
#define EVR_HAVE_TSC 0
#endif

static inline uint64_t evr_clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t evr_ts_now(enum evr_ts_source src)
{
#if EVR_HAVE_TSC
	if (src == EVR_TS_TSC)
		return __rdtsc();
#else
	(void)src;
#endif
	return evr_clock_ns(CLOCK_MONOTONIC);
}

/* Resolve AUTO to a concrete source; -ENOTSUP for TSC where there is none. */
int evr_ts_resolve(enum evr_ts_source want, enum evr_ts_source *out);
/* TSC ticks per second, measured against CLOCK_MONOTONIC over ~20 ms. */
uint64_t evr_tsc_calibrate(void);

/* Consumer-side conversion of raw timestamps to wall-clock ns. */
struct evr_clock_conv {
	enum evr_ts_source src;
	uint64_t ts0, mono0, real0; /* taken together at creation */
	uint64_t num, den;          /* mono ns per tick = num / den */
	uint64_t next_refresh_mono;
};

void evr_clock_conv_init(struct evr_clock_conv *c, enum evr_ts_source src, uint64_t ts0, uint64_t mono0,
			 uint64_t real0, uint64_t tsc_hz);
uint64_t evr_clock_to_wall(struct evr_clock_conv *c, uint64_t raw);

#endif
