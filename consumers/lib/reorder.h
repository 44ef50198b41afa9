/* A bounded reorder window: records go in roughly in time order (a record log holds the lanes
 * interleaved as they were consumed, each lane in order) and come out sorted by timestamp, exactly
 * so as long as no record arrives more than `cap` records behind its place. A min-heap on
 * (ts, lane, seq), so that equal timestamps keep each lane's order. `evring replay` uses it. */
#ifndef EVR_REORDER_H
#define EVR_REORDER_H

#include <stdbool.h>
#include <stddef.h>

#include <evring/platform.h>

struct evr_reorder {
	struct evr_record *heap;
	size_t len, cap;
};

/* 0 or -ENOMEM. */
int evr_reorder_init(struct evr_reorder *r, size_t cap);
void evr_reorder_free(struct evr_reorder *r);
/* Add rec; when the window is full, the earliest record comes out into *out (true). */
bool evr_reorder_push(struct evr_reorder *r, const struct evr_record *rec, struct evr_record *out);
/* Drain: the earliest record into *out, false when empty. */
bool evr_reorder_pop(struct evr_reorder *r, struct evr_record *out);

#endif
