/* Helpers of bench.h. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

bool bench_quick;

void bench_pin_cpu(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu % bench_cpus(), &s);
	sched_setaffinity(0, sizeof s, &s);
}

int bench_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static unsigned bucket_of(uint64_t v)
{
	if (v < HIST_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= 5 */
	unsigned sub = (unsigned)(v >> (msb - 5)) & (HIST_SUB - 1);
	unsigned idx = (msb - 4) * HIST_SUB + sub;
	return idx < HIST_TOP * HIST_SUB ? idx : HIST_TOP * HIST_SUB - 1;
}

static uint64_t bucket_top(unsigned idx)
{
	if (idx < HIST_SUB)
		return idx;
	unsigned msb = idx / HIST_SUB + 4, sub = idx % HIST_SUB;
	return ((uint64_t)(HIST_SUB + sub + 1) << (msb - 5)) - 1;
}

void hist_add(struct hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	if (!h->count || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
}

uint64_t hist_pct(const struct hist *h, double pct)
{
	if (!h->count)
		return 0;
	uint64_t want = (uint64_t)((double)h->count * pct / 100.0 + 0.5), seen = 0;
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HIST_TOP * HIST_SUB; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t top = bucket_top(i);
			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}

struct row {
	char section[24], name[80], metric[32], unit[12], note[96];
	double value;
};
static struct row rows[1024];
static int nrows;

void bench_row(const char *section, const char *name, const char *metric, double value, const char *unit,
	       const char *note)
{
	if (nrows == (int)(sizeof rows / sizeof rows[0]))
		return;
	struct row *r = &rows[nrows++];
	snprintf(r->section, sizeof r->section, "%s", section);
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->metric, sizeof r->metric, "%s", metric);
	snprintf(r->unit, sizeof r->unit, "%s", unit);
	snprintf(r->note, sizeof r->note, "%s", note ? note : "");
	r->value = value;
}

void bench_write(const char *csv_path)
{
	FILE *f = fopen(csv_path, "w");
	if (!f) {
		perror(csv_path);
		return;
	}
	fprintf(f, "section,name,metric,value,unit,note\n");
	for (int i = 0; i < nrows; i++)
		fprintf(f, "%s,\"%s\",%s,%.3f,%s,\"%s\"\n", rows[i].section, rows[i].name, rows[i].metric, rows[i].value,
			rows[i].unit, rows[i].note);
	fclose(f);
}

void bench_progress(const char *fmt, ...)
{
	static uint64_t t0;
	if (!t0)
		t0 = evr_mono_ns();
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "  [%6.1f s] ", (double)(evr_mono_ns() - t0) / 1e9);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
