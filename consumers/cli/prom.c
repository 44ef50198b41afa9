/* Prometheus exposition: see prom.h. */
#include <inttypes.h>
#include <jemalloc/jemalloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "prom.h"

void evr_prom_put(struct evr_prom_body *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n < b->cap - b->len) {
			b->len += n < 0 ? 0 : (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 16384;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *grown = b->buf ? rallocx(b->buf, cap, 0) : mallocx(cap, 0);
		if (!grown)
			return;
		b->buf = grown;
		b->cap = cap;
	}
}

void evr_prom_body_free(struct evr_prom_body *b)
{
	if (b->buf)
		dallocx(b->buf, 0);
}

/* A label value as the exposition format wants it: backslash, quote and newline escaped. */
static const char *label(const char *v, char *out, size_t size)
{
	size_t o = 0;
	for (; *v && o + 3 < size; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n')
			out[o++] = '\\';
		out[o++] = *v == '\n' ? 'n' : *v;
	}
	out[o] = 0;
	return out;
}

void evr_prom_labels_init(struct evr_prom_labels *lb, struct evr_ring *ring)
{
	struct evr_ring_info info;
	evr_ring_get_info(ring, &info);
	char esc[2 * EVR_NAME_MAX + 4]; /* names are [A-Za-z0-9._-]: escaping is only a precaution */
	snprintf(lb->ring, sizeof lb->ring, "ring=\"%s\"", label(info.name, esc, sizeof esc));
}

enum producer_field { PRODUCER_EMITTED, PRODUCER_DROPPED, PRODUCER_ALIVE };

/* One metric family over the producer table. The exposition format wants the
 * samples of a family together, so each family reads the table on its own; a producer that
 * registers meanwhile shows up in the next scrape's earlier families. */
static void producer_family(const struct evr_agg *a, const struct evr_prom_labels *lb, struct evr_prom_body *b,
			    enum producer_field f, const char *metric, const char *type, const char *help)
{
	char svc[2 * EVR_SERVICE_NAME_MAX];
	evr_prom_put(b, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
	for (unsigned i = 0; i < a->max_producers; i++) {
		struct evr_producer_info pi;
		if (evr_ring_producer_info(a->ring, i, &pi))
			continue;
		uint64_t v = f == PRODUCER_EMITTED ? pi.emitted
			   : f == PRODUCER_DROPPED ? pi.dropped
						   : (uint64_t)(pi.state == EVR_PRODUCER_LIVE && pi.alive);
		evr_prom_put(b, "%s{%s,producer=\"%u\",service=\"%s\"} %" PRIu64 "\n", metric, lb->ring, i,
		    label(pi.service, svc, sizeof svc), v);
	}
}

void evr_prom_exposition(const struct evr_agg *a, const struct evr_prom_labels *lb, struct evr_prom_body *b)
{
	const struct evr_counts *n = &a->now;
	const char *r = lb->ring;
	evr_prom_put(b, "# HELP evring_events_total Records this server consumed since it started, by event type.\n"
	       "# TYPE evring_events_total counter\n");
	for (unsigned t = 0; t < a->schema->type_count; t++) /* the ring's own types, by its names */
		evr_prom_put(b, "evring_events_total{%s,type=\"%s\",domain=\"%s\"} %" PRIu64 "\n", r,
			     evr_desc_type(a->schema, t)->name, evr_desc_type(a->schema, t)->domain, n->by_type[t]);
	producer_family(a, lb, b, PRODUCER_EMITTED, "evring_producer_emitted_total", "counter",
			"Records published by each producer (the ring's own counter).");
	producer_family(a, lb, b, PRODUCER_DROPPED, "evring_producer_dropped_total", "counter",
			"Records each producer dropped (slot held by a stalled writer).");
	producer_family(a, lb, b, PRODUCER_ALIVE, "evring_producer_alive", "gauge",
			"1 while the producer is registered and its process runs.");
	evr_prom_put(b, "# HELP evring_consumer_lost_total Positions this server lost since it started, by reason.\n"
	       "# TYPE evring_consumer_lost_total counter\n"
	       "evring_consumer_lost_total{%s,reason=\"lapped\"} %" PRIu64 "\n"
	       "evring_consumer_lost_total{%s,reason=\"abandoned\"} %" PRIu64 "\n"
	       "# HELP evring_consumer_invalid_total Records that failed validation.\n"
	       "# TYPE evring_consumer_invalid_total counter\n"
	       "evring_consumer_invalid_total{%s} %" PRIu64 "\n"
	       "# HELP evring_consumer_lag Records published but not yet consumed.\n"
	       "# TYPE evring_consumer_lag gauge\n"
	       "evring_consumer_lag{%s} %" PRIu64 "\n"
	       "# HELP evring_lane_claimed_total Positions claimed in each lane since the ring was created.\n"
	       "# TYPE evring_lane_claimed_total counter\n",
	    r, n->lost_lapped, r, n->lost_abandoned, r, n->invalid, r, evr_agg_lag(a));
	for (unsigned l = 0; l < a->lanes; l++)
		evr_prom_put(b, "evring_lane_claimed_total{%s,lane=\"%u\"} %" PRIu64 "\n", r, l, evr_ring_lane_head(a->ring, l));
}

