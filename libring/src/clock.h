/* Timestamp sources. Producers stamp records in the ring's own units (TSC ticks or CLOCK_MONOTONIC
 * ns, chosen at creation and recorded in the header); consumers convert to wall-clock ns using the
 * realtime/monotonic/timestamp triple taken together at creation and the TSC rate calibrated then.
 *
 * The conversion is a pure function of the raw value and of those header fields, fixed for the
 * ring's life: every consumer, at any time, maps one raw value to the same wall time, and a larger
 * raw value never to a smaller one. (It used to re-take the TSC rate every second, which moved
 * already-printed times by microseconds and made a producer's times step backwards.) The price is
 * the calibration error, kept small by bracketed clock reads (see evr_tsc_calibrate).
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
/* TSC ticks per second, measured against CLOCK_MONOTONIC over ~20 ms from bracketed clock pairs
 * (within 0.5 ppm of a long measurement on the 2026 test VMs). */
uint64_t evr_tsc_calibrate(void);

/* Consumer-side conversion of raw timestamps to wall-clock ns: wall = real0 + (raw - ts0) / rate.
 * Every field is set once from the ring header and never changes afterwards. */
struct evr_clock_conv {
	enum evr_ts_source src;
	uint64_t ts0, mono0, real0; /* taken together at creation */
	uint64_t tsc_hz;            /* ticks per second (TSC only) */
};

void evr_clock_conv_init(struct evr_clock_conv *c, enum evr_ts_source src, uint64_t ts0, uint64_t mono0,
			 uint64_t real0, uint64_t tsc_hz);
/* Pure and monotonic in raw (const: it reads no clock and learns nothing). */
uint64_t evr_clock_to_wall(const struct evr_clock_conv *c, uint64_t raw);

#endif
