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

uint64_t evr_tsc_calibrate(void)
{
	uint64_t m0 = evr_clock_ns(CLOCK_MONOTONIC), t0 = evr_ts_now(EVR_TS_TSC);
	struct timespec d = {0, 20 * 1000 * 1000};
	nanosleep(&d, NULL);
	uint64_t m1 = evr_clock_ns(CLOCK_MONOTONIC), t1 = evr_ts_now(EVR_TS_TSC);
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
	c->num = 1000000000ull;
	c->den = tsc_hz ? tsc_hz : 1000000000ull;
	c->next_refresh_mono = 0;
}

/* For TSC, the slope measured from creation to now is far more exact than the 20 ms calibration
 * (both ends are exact clock pairs), so re-take it once a second. */
static void refresh_slope(struct evr_clock_conv *c)
{
	uint64_t mono = evr_clock_ns(CLOCK_MONOTONIC);
	if (mono < c->next_refresh_mono)
		return;
	c->next_refresh_mono = mono + 1000000000ull;
	uint64_t ts = evr_ts_now(EVR_TS_TSC);
	if (mono - c->mono0 >= 1000000000ull && ts > c->ts0) {
		c->num = mono - c->mono0;
		c->den = ts - c->ts0;
	}
}

uint64_t evr_clock_to_wall(struct evr_clock_conv *c, uint64_t raw)
{
	int64_t since; /* ns since creation, signed: a record can predate a later calibration point */
	if (c->src == EVR_TS_TSC) {
		refresh_slope(c);
		__int128 ticks = (__int128)(int64_t)(raw - c->ts0);
		since = (int64_t)(ticks * (__int128)c->num / (__int128)c->den);
	} else {
		since = (int64_t)(raw - c->mono0);
	}
	return c->real0 + (uint64_t)since;
}
