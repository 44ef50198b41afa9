/* evring consumers: read a ring with private per-lane cursors.
 *
 * A consumer never writes the ring. It keeps one cursor per lane and hands out items: records, and
 * loss notices. A position the consumer was lapped past is reported as EVR_ITEM_LOST_LAPPED; a
 * position whose producer claimed it but did not publish it within abandon_timeout_ns (stalled or
 * dead) is skipped and reported as EVR_ITEM_LOST_ABANDONED; while a writer stays stopped on its
 * slot, each later lap of that slot costs one abandoned position, skipped at once. Per lane, always:
 *
 *     delivered + lost_lapped + lost_abandoned == cursor - start
 *
 * Timestamps are converted to wall-clock ns on delivery, by a mapping fixed at the ring's creation:
 * every consumer gets the same time for a record, and a producer's times never decrease (see
 * docs/design.md, Timestamps, for the drift bound, clock steps and suspend). A consumer is for one
 * thread at a time.
 */
#ifndef EVRING_CONSUMER_H
#define EVRING_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "ring.h"
#include "record.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evr_consumer;

/* How long a claimed but unpublished position is waited for before it is skipped as abandoned. */
#define EVR_ABANDON_TIMEOUT_DEFAULT_NS (10ull * 1000 * 1000) /* 10 ms */

enum evr_start { EVR_START_OLDEST = 0, EVR_START_LATEST = 1, EVR_START_CURSOR = 2 };

/* A saved position: one cursor per lane, tied to one ring by its ring_id. */
struct evr_cursor {
	uint64_t ring_id;
	uint32_t lanes;
	uint64_t pos[EVR_MAX_LANES];
};

struct evr_consumer_opts {
	enum evr_start start;
	const struct evr_cursor *cursor; /* with EVR_START_CURSOR */
	uint64_t abandon_timeout_ns;     /* 0: EVR_ABANDON_TIMEOUT_DEFAULT_NS */
	bool merge_by_time;              /* deliver across lanes in timestamp order */
};

enum evr_item_kind {
	EVR_ITEM_RECORD = 1,         /* rec holds a validated record */
	EVR_ITEM_INVALID = 2,        /* rec failed validation (why in rec.u.raw is not given); counted */
	EVR_ITEM_LOST_LAPPED = 3,    /* count positions from pos were overwritten before we read them */
	EVR_ITEM_LOST_ABANDONED = 4, /* count positions from pos were claimed and never published */
};

struct evr_item {
	enum evr_item_kind kind;
	uint16_t lane;
	uint64_t pos;   /* lane position of the record, or of the first lost position */
	uint64_t count; /* 1 for records, number of positions for losses */
	struct evr_record rec;
};

struct evr_lane_stats {
	uint64_t start, cursor;
	uint64_t delivered; /* records and invalid records handed out */
	uint64_t invalid;   /* the part of delivered that failed validation */
	uint64_t lost_lapped, lost_abandoned;
};

/* opts NULL: from the oldest record, lanes in turn. Returns 0; -EINVAL (an unknown start, or a
 * cursor missing, of another ring, of another lane count or ahead of a lane's head); -ENOMEM;
 * -EFAULT (the segment was truncated). */
int evr_consumer_open(struct evr_ring *ring, const struct evr_consumer_opts *opts,
		      struct evr_consumer **out, struct evr_err *err);
/* Free the consumer; its ring stays open. */
void evr_consumer_close(struct evr_consumer *c);

/* 1: *out holds an item; 0: nothing available now; -EFAULT: the segment was truncated or replaced
 * under us; -EUCLEAN: the segment is corrupted (a lane head moved backwards or jumped, the header
 * vanished); evr_ring_fault() says what was found. After an error every item already returned stays
 * valid, and the item of the failing poll is neither returned nor counted in the stats. Never
 * blocks. */
int evr_consumer_poll(struct evr_consumer *c, struct evr_item *out);
/* Up to n items; returns how many, 0 when none is available, or -EFAULT / -EUCLEAN when none
 * could be read for that reason. */
int evr_consumer_poll_batch(struct evr_consumer *c, struct evr_item *items, int n);

/* Wait until an item may be available: spin briefly, then sleep on the ring's shared futex (or nap
 * 1 ms at a time without the wake page). A position waiting on its abandon timer does not count as
 * available: the wait sleeps until the timer is due. Returns 1 when something may be there, 0 on
 * timeout, -EINTR when a signal handler interrupted the sleep itself. A handler that runs while the
 * wait spins, or between two sleeps, is not seen, and a handler installed with SA_RESTART lets the
 * kernel restart the sleep (futex(2), signal(7)); so a program that stops on a signal installs its
 * handler without SA_RESTART, checks its flag before each wait, and gives the wait a finite timeout
 * that bounds how late a missed signal is noticed. timeout_ns < 0 waits until data arrives or an
 * interrupting signal. */
int evr_consumer_wait(struct evr_consumer *c, int64_t timeout_ns);

/* Where the consumer is, per lane (for evr_cursor_save), and one lane's counters. */
void evr_consumer_cursor(const struct evr_consumer *c, struct evr_cursor *out);
void evr_consumer_lane_stats(const struct evr_consumer *c, unsigned lane, struct evr_lane_stats *out);
/* Those counters summed over the lanes. */
void evr_consumer_stats(const struct evr_consumer *c, struct evr_lane_stats *out);
/* The number of lanes this consumer reads (the ring's). */
unsigned evr_consumer_lanes(const struct evr_consumer *c);

/* Convert a raw timestamp of this ring (as evr_producer_now returns) to wall-clock ns. */
uint64_t evr_consumer_ts_to_wall(struct evr_consumer *c, uint64_t raw);

/* Save and load cursors as a small text file (written to a temp file and renamed: atomic).
 * Save returns 0; -EINVAL (a cursor of 0 or too many lanes); -ENAMETOOLONG; or the errno of the
 * file operations (-ENOENT for a missing directory, -EACCES, -ENOSPC, ...). Load returns 0; -EPROTO
 * (not an evring cursor file); or the errno of fopen (-ENOENT, -EACCES, ...). */
int evr_cursor_save(const char *path, const struct evr_cursor *cur);
int evr_cursor_load(const char *path, struct evr_cursor *cur);

#ifdef __cplusplus
}
#endif
#endif
