/* Counting engine behind stats, top and metrics (see aggregate.h). */
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "aggregate.h"

int evr_agg_init(struct evr_agg *a, struct evr_ring *ring, struct evr_consumer *c)
{
	struct evr_ring_info info;
	evr_ring_get_info(ring, &info);
	memset(a, 0, sizeof *a);
	a->ring = ring;
	a->consumer = c;
	a->max_producers = info.max_producers;
	a->lanes = info.lanes;
	a->schema = evr_ring_schema(ring);
	for (unsigned t = 0; t < a->schema->type_count; t++) { /* the ring's own domains, by name */
		const char *dom = evr_desc_type(a->schema, t)->domain;
		unsigned d = 0;
		while (d < a->domain_count && strcmp(a->domains[d], dom))
			d++;
		if (d == a->domain_count && d < EVR_AGG_MAX_DOMAINS)
			a->domains[a->domain_count++] = dom;
		a->domain_of[t] = (int16_t)(d < a->domain_count ? (int)d : -1);
	}
	a->now.by_producer = mallocx(info.max_producers * sizeof(uint64_t), MALLOCX_ZERO);
	a->prev.by_producer = mallocx(info.max_producers * sizeof(uint64_t), MALLOCX_ZERO);
	if (!a->now.by_producer || !a->prev.by_producer) {
		evr_agg_free(a);
		return -ENOMEM;
	}
	a->now.at_ns = a->prev.at_ns = evr_mono_ns();
	return 0;
}

void evr_agg_free(struct evr_agg *a)
{
	if (a->now.by_producer)
		dallocx(a->now.by_producer, 0);
	if (a->prev.by_producer)
		dallocx(a->prev.by_producer, 0);
	a->now.by_producer = a->prev.by_producer = NULL;
}

void evr_agg_add(struct evr_agg *a, const struct evr_item *it)
{
	struct evr_counts *n = &a->now;
	switch (it->kind) {
	case EVR_ITEM_RECORD:
		if (it->rec.type >= a->schema->type_count) { /* validated by the consumer; the tables must not trust it */
			n->invalid++;
			break;
		}
		n->records++;
		n->by_type[it->rec.type]++;
		if (a->domain_of[it->rec.type] >= 0)
			n->by_domain[a->domain_of[it->rec.type]]++;
		if (it->rec.producer_id < a->max_producers)
			n->by_producer[it->rec.producer_id]++;
		break;
	case EVR_ITEM_INVALID: n->invalid++; break;
	case EVR_ITEM_LOST_LAPPED: n->lost_lapped += it->count; break;
	case EVR_ITEM_LOST_ABANDONED: n->lost_abandoned += it->count; break;
	}
}

int evr_agg_drain(struct evr_agg *a, unsigned max)
{
	struct evr_item items[64];
	unsigned total = 0;
	if (max > INT_MAX)
		max = INT_MAX; /* the count is returned as an int */
	while (total < max) {
		int want = max - total < 64 ? (int)(max - total) : 64;
		int n = evr_consumer_poll_batch(a->consumer, items, want);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		for (int i = 0; i < n; i++)
			evr_agg_add(a, &items[i]);
		total += (unsigned)n;
	}
	return (int)total;
}

int evr_agg_catch_up(struct evr_agg *a)
{
	/* Every item covers at least one position, so the lag bounds the items that were there. */
	uint64_t lag = evr_agg_lag(a);
	return evr_agg_drain(a, lag > UINT_MAX ? UINT_MAX : (unsigned)lag);
}

uint64_t evr_agg_lag(const struct evr_agg *a)
{
	uint64_t lag = 0;
	for (unsigned l = 0; l < a->lanes; l++) {
		struct evr_lane_stats st;
		evr_consumer_lane_stats(a->consumer, l, &st);
		uint64_t head = evr_ring_lane_head(a->ring, l);
		lag += head > st.cursor ? head - st.cursor : 0;
	}
	return lag;
}

void evr_agg_snapshot(struct evr_agg *a)
{
	uint64_t *keep = a->prev.by_producer;
	a->now.at_ns = evr_mono_ns();
	memcpy(keep, a->now.by_producer, a->max_producers * sizeof(uint64_t));
	a->prev = a->now;
	a->prev.by_producer = keep;
}

double evr_agg_rate(const struct evr_agg *a, uint64_t now_count, uint64_t prev_count)
{
	uint64_t dt = evr_mono_ns() - a->prev.at_ns;
	return dt ? (double)(now_count - prev_count) * 1e9 / (double)dt : 0;
}
