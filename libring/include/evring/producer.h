/* evring producers: register in a ring's producer table and emit records.
 *
 * evr_emit() is the hot path: pick the lane of the current CPU, claim a position with one fetch_add,
 * own the slot with one CAS, copy the record, publish with one release store, and read one flag to
 * see whether a consumer sleeps. It never allocates, locks or waits for anyone, and makes no system
 * call except one FUTEX_WAKE, by the first emit after a consumer went to sleep. When the slot is still
 * held by a stalled writer, or was already reused by a newer lap, the record is dropped and counted in
 * this producer's `dropped` counter.
 *
 * A registered producer holds its entry's liveness lock (an OFD lock on NAME~live) for its life; the
 * kernel drops it when the process dies, which is how reclaimers tell a dead producer from a stopped
 * one. A struct evr_producer is for one thread at a time (one per thread, or your own lock). After
 * fork(), handles opened before the fork belong to the parent: in the child, evr_emit returns -ECHILD
 * and evr_producer_close only frees the handle; open a new producer there. A child made by a raw
 * clone()/vfork()/_Fork() system call skips that handling: do not emit on inherited handles there
 * (closing them is safe), and know that it keeps the parent's entries alive while it lives. Do not
 * close descriptors you did not open while a producer is open (closefrom(), a daemon's
 * close-everything): closing the liveness descriptor drops the lock, and a reclaimer would then take
 * the producer for dead.
 */
#ifndef EVRING_PRODUCER_H
#define EVRING_PRODUCER_H

#include <stdint.h>

#include "ring.h"
#include "record.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evr_producer;

/* Register in the ring's producer table under a service name (truncated to 27 bytes), after
 * reclaiming what dead producers left (evr_ring_reclaim). The ring must have been opened with
 * EVR_ROLE_PRODUCER. Returns 0; -EBADF (a consumer's read-only ring); -ENOSPC (every entry is held by
 * a live producer, or is being registered or reclaimed right now); -ENOMEM; or the errno of opening
 * NAME~live again (-ESTALE when what is there now is another object). */
int evr_producer_open(struct evr_ring *ring, const char *service, struct evr_producer **out,
		      struct evr_err *err);
/* Unregister: the entry becomes EVR_PRODUCER_CLOSED, its counters kept until the entry is reused,
 * and its liveness lock is dropped. */
void evr_producer_close(struct evr_producer *p);

/* Emit: fills rec->ts, producer_id and lane, then publishes the record. The caller's seq is ignored.
 * A producer whose table differs from the ring's (evr_ring_open_schema) writes the ring's layout:
 * see the evolution rules in docs/design.md.
 * Returns 0 when published, -EAGAIN when dropped (counted), -EINVAL for an unknown type or flags,
 * -EPROTO for a type of this producer's table that the ring's (older) description does not have,
 * -EFAULT when the segment was found truncated before or during this emit (counted as dropped;
 * evr_ring_status), -ECHILD on a handle inherited through fork(). */
int evr_emit(struct evr_producer *p, struct evr_record *rec);

/* The producer's index in the ring's producer table: what records carry as producer_id. */
uint16_t evr_producer_id(const struct evr_producer *p);
/* Records this producer published and dropped (every emit that did not publish, faults included);
 * either pointer may be NULL. The same counts `evring info` shows from the producer table. */
void evr_producer_counters(const struct evr_producer *p, uint64_t *emitted, uint64_t *dropped);

/* The ring's timestamp, in its own units (what evr_emit stores before consumers convert it). */
uint64_t evr_producer_now(const struct evr_producer *p);

#ifdef __cplusplus
}
#endif
#endif
