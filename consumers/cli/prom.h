/* The Prometheus text exposition (format 0.0.4) of a ring, shared by `evring metrics` and the
 * /metrics of `evring serve`: the aggregation's counters, the producer table and the lane heads,
 * every sample labelled ring="NAME". The caller owns the aggregation and its consumer, and keeps
 * them still while the exposition is written. */
#ifndef EVR_PROM_H
#define EVR_PROM_H

#include <stddef.h>

#include "aggregate.h"

/* A growing text buffer (jemalloc's rallocx, like the aggregation tables). On allocation failure
 * it keeps what fits: a truncated scrape, never a crash. */
struct evr_prom_body {
	char *buf;
	size_t len, cap;
};

/* The ring="NAME" label every sample starts with. */
struct evr_prom_labels {
	char ring[2 * EVR_NAME_MAX + 16];
};

void evr_prom_labels_init(struct evr_prom_labels *lb, struct evr_ring *ring);
void evr_prom_exposition(const struct evr_agg *a, const struct evr_prom_labels *lb, struct evr_prom_body *b);
void evr_prom_put(struct evr_prom_body *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void evr_prom_body_free(struct evr_prom_body *b);

#define EVR_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
