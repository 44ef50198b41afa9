/* The fan-out of `evring serve`: one consumer pass over the ring, many Server-Sent Event streams.
 *
 * The pump thread (the only one that touches the consumer) formats each item once and appends it
 * to a bounded in-memory ring of entries with a global sequence number. Each client is a reader
 * with its own sequence number and its own per-lane cursor. The pump never waits for a reader: it
 * overwrites the oldest entry, and a reader that was overtaken learns exactly how many ring
 * positions it missed from the per-lane base (the first position still held per lane): the same
 * arithmetic serves a reader resuming from a cursor token older than what the hub holds.
 *
 * Invariant, per lane l: the entries of lane l in the hub cover the positions [base[l], cur[l])
 * without a gap (records cover 1, loss items their count), in order. A reader's cursor is the
 * pump's cursor after the last entry it consumed, so the id of every event it gets is a cursor a
 * later reader can resume from: no duplicate, and every gap reported as `event: lost`.
 *
 * Locking: one mutex for the entries, held by the pump while it copies a batch in and by a reader
 * while it copies frames out into its private staging buffer; never while a socket is written. */
#ifndef EVR_SERVE_HUB_H
#define EVR_SERVE_HUB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <evring/evring.h>

#include "filter.h"

struct evr_hub;

/* cap entries, for a ring of `lanes` lanes whose consumer starts at `start` (cursor). */
int evr_hub_create(size_t cap, const struct evr_cursor *start, const struct evr_desc_header *desc,
		   struct evr_hub **out);
void evr_hub_destroy(struct evr_hub *h);

/* Pump side: append items (records are formatted here, outside the lock). */
void evr_hub_publish(struct evr_hub *h, const struct evr_item *items, int n);
/* No more items: readers get `event: end` with this reason, then the end of their stream. */
void evr_hub_close(struct evr_hub *h, const char *why);

/* A cursor token: "RINGID.POS0.POS1..." in lower-case hex. -EINVAL for text that is not one,
 * -ESRCH for a token of another ring or lane count. */
int evr_hub_parse_token(const struct evr_hub *h, const char *text, struct evr_cursor *out);

struct evr_hub_reader;
enum evr_hub_from { EVR_HUB_FROM_NOW, EVR_HUB_FROM_OLDEST, EVR_HUB_FROM_CURSOR };
/* A reader of the hub with its filter. from NOW: the next entry; OLDEST: the first record the
 * ring held when the pump started; CURSOR: right after `cur`. What the hub no longer holds of that
 * is reported as lost (reason behind), exactly. NULL when out of memory or too many readers. */
struct evr_hub_reader *evr_hub_reader_open(struct evr_hub *h, const struct evr_filter *f, enum evr_hub_from from,
					   const struct evr_cursor *cur, uint64_t heartbeat_ns);
void evr_hub_reader_close(struct evr_hub_reader *r);
/* Fill buf with whole or partial SSE frames, waiting up to the heartbeat interval for one (then a
 * heartbeat comment). Returns the bytes written, 0 never, or -1 at the end of the stream. */
long evr_hub_reader_read(struct evr_hub_reader *r, char *buf, size_t max);

/* For the page and the tests: sequence numbers and readers. */
struct evr_hub_stats {
	uint64_t published; /* entries: records and loss notices */
	uint64_t positions; /* ring positions those cover, summed over the lanes */
	uint64_t readers, reader_losses; /* reader_losses: positions readers were overtaken by */
};
void evr_hub_stats(struct evr_hub *h, struct evr_hub_stats *out);

#endif
