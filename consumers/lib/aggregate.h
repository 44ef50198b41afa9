/* Aggregation for stats, top and metrics: counts of consumed items per type, domain and producer,
 * losses, and the consumer's lag, with snapshots to compute rates between two points in time.
 * The per-producer table is sized by the ring and allocated with jemalloc (mallocx/dallocx).
 * Counts are keyed by producer table index: an entry reused by a new producer after the old one
 * closed adds to the same row, which the report labels with the current service name. */
#ifndef EVR_AGGREGATE_H
#define EVR_AGGREGATE_H

#include <stdint.h>

#include <evring/consumer.h>
#include <evring/describe.h>

#include "monotime.h"

#define EVR_AGG_MAX_DOMAINS 64 /* distinct domains counted; a type of a 65th counts in no domain */

struct evr_counts {
	uint64_t records, invalid, lost_lapped, lost_abandoned;
	uint64_t by_type[EVR_DESC_MAX_TYPES]; /* by the ring's type ids: names from its description */
	uint64_t by_domain[EVR_AGG_MAX_DOMAINS]; /* by index in evr_agg.domains */
	uint64_t *by_producer; /* max_producers entries: records seen from each producer id */
	uint64_t at_ns;        /* CLOCK_MONOTONIC time of the snapshot */
};

struct evr_agg {
	struct evr_ring *ring;
	struct evr_consumer *consumer;
	unsigned max_producers, lanes;
	const struct evr_desc_header *schema; /* the ring's own description */
	const char *domains[EVR_AGG_MAX_DOMAINS]; /* the description's domains, in order of first type */
	unsigned domain_count;
	int16_t domain_of[EVR_DESC_MAX_TYPES]; /* a type's index in domains, or -1 */
	struct evr_counts now, prev; /* running totals, and the last snapshot */
};

int evr_agg_init(struct evr_agg *a, struct evr_ring *ring, struct evr_consumer *c);
void evr_agg_free(struct evr_agg *a);
void evr_agg_add(struct evr_agg *a, const struct evr_item *it);
/* Consume what is available now (at most `max` items); returns the count, or -EFAULT. */
int evr_agg_drain(struct evr_agg *a, unsigned max);
/* Consume what was published before the call and no more, so that a producer faster than this
 * consumer cannot keep a one-shot report (stats without --interval, a scrape) from finishing. */
int evr_agg_catch_up(struct evr_agg *a);
/* Positions claimed beyond our cursor, summed over lanes. Beyond a lane's slot count the excess is
 * already overwritten and will be reported as lost_lapped when we get there. */
uint64_t evr_agg_lag(const struct evr_agg *a);
/* now -> prev, and stamp the time; rates are (now - prev) / (now.at_ns - prev.at_ns). */
void evr_agg_snapshot(struct evr_agg *a);
double evr_agg_rate(const struct evr_agg *a, uint64_t now_count, uint64_t prev_count);

#endif
