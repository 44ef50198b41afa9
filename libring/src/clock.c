/* Timestamp source selection, TSC calibration and raw-to-wall conversion (see clock.h). */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int file_has_word(const char *path, const char *word)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char buf[4096];
	int found = 0;
	size_t wl = strlen(word);
	while (!found && fgets(buf, sizeof buf, f)) {
		for (char *p = strstr(buf, word); p && !found; p = strstr(p + 1, word)) {
			int left_ok = p == buf || p[-1] == ' ' || p[-1] == '\t' || p[-1] == ':';
			int right_ok = p[wl] == ' ' || p[wl] == '\n' || p[wl] == '\0';
			found = left_ok && right_ok;
		}
	}
	fclose(f);
	return found;
}

static int tsc_trusted(void)
{
	return EVR_HAVE_TSC &&
	       file_has_word("/sys/devices/system/clocksource/clocksource0/available_clocksource", "tsc") &&
	       file_has_word("/proc/cpuinfo", "constant_tsc") && file_has_word("/proc/cpuinfo", "nonstop_tsc");
}

int evr_ts_resolve(enum evr_ts_source want, enum evr_ts_source *out)
{
	switch (want) {
	case EVR_TS_AUTO:
		*out = tsc_trusted() ? EVR_TS_TSC : EVR_TS_MONOTONIC;
		return 0;
	case EVR_TS_MONOTONIC:
		*out = want;
		return 0;
	case EVR_TS_TSC:
		if (!EVR_HAVE_TSC)
			return -ENOTSUP;
		*out = want;
		return 0;
	}
	return -EINVAL;
}

/* One (CLOCK_MONOTONIC, TSC) pair: the TSC read just before and just after clock_gettime bracket
 * the instant the clock was read; of a few tries, the narrowest bracket wins (a preemption or an
 * interrupt between the reads only widens a bracket, which is then discarded) and its midpoint is
 * the pair's TSC. A plain pair of reads erred by 1-2 ppm over 20 ms on the test VMs, this by < 0.5. */
static void clock_pair(uint64_t *mono, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 16; i++) {
		uint64_t before = evr_ts_now(EVR_TS_TSC);
		uint64_t m = evr_clock_ns(CLOCK_MONOTONIC);
		uint64_t after = evr_ts_now(EVR_TS_TSC);
		if (after >= before && after - before < best) {
			best = after - before;
			*mono = m;
			*tsc = before + (after - before) / 2;
		}
	}
	if (best == UINT64_MAX) { /* the TSC went backwards every time: take anything, caught below */
		*mono = evr_clock_ns(CLOCK_MONOTONIC);
		*tsc = evr_ts_now(EVR_TS_TSC);
	}
}

uint64_t evr_tsc_calibrate(void)
{
	uint64_t m0, t0, m1, t1;
	clock_pair(&m0, &t0);
	struct timespec d = {0, 20 * 1000 * 1000};
	nanosleep(&d, NULL);
	clock_pair(&m1, &t1);
	if (m1 <= m0 || t1 <= t0)
		return 1000000000ull;
	return (uint64_t)((unsigned __int128)(t1 - t0) * 1000000000u / (m1 - m0));
}

void evr_clock_conv_init(struct evr_clock_conv *c, enum evr_ts_source src, uint64_t ts0, uint64_t mono0,
			 uint64_t real0, uint64_t tsc_hz)
{
	c->src = src;
	c->ts0 = ts0;
	c->mono0 = mono0;
	c->real0 = real0;
	c->tsc_hz = tsc_hz ? tsc_hz : 1000000000ull; /* a TSC ring always has a rate; never divide by 0 */
}

/* wall = real0 + elapsed since creation on the ring's clock. Signed elapsed: a record stamped on a
 * core whose TSC reads a little behind the creator's can predate ts0. The division truncates toward
 * zero, which is still monotonic (non-decreasing) in raw, so equal-or-later raw values never map to
 * an earlier wall time. Nothing here depends on when or by whom it is called. */
uint64_t evr_clock_to_wall(const struct evr_clock_conv *c, uint64_t raw)
{
	int64_t since;
	if (c->src == EVR_TS_TSC) {
		__int128 ticks = (__int128)(int64_t)(raw - c->ts0);
		since = (int64_t)(ticks * 1000000000 / (__int128)c->tsc_hz);
	} else {
		since = (int64_t)(raw - c->mono0);
	}
	return c->real0 + (uint64_t)since;
}
