/* evr-bench: shared helpers — clocks, CPU pinning, medians, an HDR-style histogram, result rows.
 *
 * Every figure is a median of repeated runs, and the report pairs each evring figure with a
 * baseline measured in the same run (a hardware floor or a peer transport), because the machines
 * this runs on are shared and noisy: ratios survive noise better than absolute numbers. */
#ifndef EVR_BENCH_H
#define EVR_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monotime.h" /* evr_mono_ns */

struct evr_ring;
struct evr_ring_opts;

/* A fresh ring NAME made with o (what a killed run left under the name is removed first); exits
 * with the library's reason when it cannot be made. */
struct evr_ring *bench_ring(const char *name, const struct evr_ring_opts *o);
void bench_pin_cpu(int cpu);
int bench_cpus(void);
double bench_median(double *v, int n); /* sorts v */

/* Log-linear histogram (HDR style): values in ns, 32 sub-buckets per power of two, so every
 * recorded value is kept within ~3% up to 2^40 ns. Written here because Debian packages
 * HdrHistogram only for Go and Java, not for C. */
#define HIST_SUB 32
#define HIST_TOP 41
struct hist {
	uint64_t count, max, min;
	uint64_t b[HIST_TOP * HIST_SUB];
};
void hist_add(struct hist *h, uint64_t v);
uint64_t hist_pct(const struct hist *h, double pct); /* upper bound of the bucket holding pct */

/* Results: one row per figure, written as CSV and Markdown by the caller of bench_report(). */
void bench_row(const char *section, const char *name, const char *metric, double value, const char *unit,
	       const char *note);
void bench_write(const char *csv_path);
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool bench_quick;

#endif
