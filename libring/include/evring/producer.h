/* evring producers: register in a ring's producer table and emit records.
 *
 * evr_emit() is the hot path: pick the lane of the current CPU, claim a position with one fetch_add,
 * own the slot with one CAS, copy the record, publish with one release store, and read one flag to
 * see whether a consumer sleeps. It never allocates, locks or waits for anyone, and makes no system
 * call except one FUTEX_WAKE, by the first emit after a consumer went to sleep. When the slot is still
 * held by a stalled writer, or was already reused by a newer lap, the record is dropped and counted in
 * this producer's `dropped` counter.
 *
 * evr_claim() / evr_commit() / evr_abort() do the same without a record of the caller's: the claim
 * owns a slot and hands it out to be filled in place (the typed evr_emit_<type>() of evring/emit.h
 * work this way), the commit publishes it, the abort gives it up (consumers count the position as
 * abandoned; the producer counts it in `dropped`).
 *
 * A producer opened with EVR_PRODUCER_EXCLUSIVE owns one of the ring's exclusive lanes
 * (evr_ring_opts.exclusive_lanes) for its life and is that lane's only writer: its emits and claims
 * take no locked instruction (no fetch_add, no CAS). When its process dies, the reclaimer that finds
 * it dead releases its slots and gives the lane back for the next exclusive producer.
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
 * the producer for dead; on an exclusive lane a second writer would then be let in (records could be
 * torn, not only lost).
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
/* Flags of evr_producer_open_flags. */
#define EVR_PRODUCER_EXCLUSIVE 0x1u /* own an exclusive lane; fail with -EBUSY when none is free */

/* evr_producer_open with flags (0 or EVR_PRODUCER_EXCLUSIVE). An exclusive producer's records go to
 * its own lane, in emit order; its lane is given back by evr_producer_close or, when its process
 * died, by the reclaimer that finds it dead. Returns what evr_producer_open returns, or -EINVAL
 * (unknown flags), -EBUSY (every exclusive lane is owned by a live producer, or the ring has none). */
int evr_producer_open_flags(struct evr_ring *ring, const char *service, unsigned flags, struct evr_producer **out,
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

/* Claim a slot for a record of `type` and hand it out to be filled in place: *rec has type, ts,
 * producer_id and lane set and everything else zero; set correlation_id, plan_id and the type's
 * fields (through a schema's views, EVR_EV in evring/platform.h, or the offsets of the ring's
 * description; evr_record_set_str for strings), never seq (in the ring it is the slot's control word),
 * then evr_commit() to publish it or evr_abort() to give it up. One claim at a time per handle; keep
 * it short: a consumer skips a position left unpublished for its abandon timeout (10 ms by default).
 * A type whose layout differs between this table and the ring's is staged in the handle and written
 * by evr_commit as evr_emit would. Returns 0; -EAGAIN when dropped (counted; nothing to commit);
 * -EBUSY when a claim is open; -EINVAL / -EPROTO for a type the ring does not have (see evr_emit);
 * -EFAULT (the segment was truncated; counted); -ECHILD on a handle inherited through fork(). */
int evr_claim(struct evr_producer *p, unsigned type, struct evr_record **rec);
/* Publish the open claim. Returns 0; -EINVAL when no claim is open, or when the record's type was
 * changed or flags other than truncated|replayed were set (then it is aborted and counted); what
 * evr_emit returns for a staged claim; -EFAULT when the segment was truncated meanwhile (counted);
 * -ECHILD. */
int evr_commit(struct evr_producer *p);
/* Give the open claim up: consumers skip the position as abandoned, the producer counts it in
 * `dropped`. Returns 0, -EINVAL when no claim is open, -ECHILD. */
int evr_abort(struct evr_producer *p);

/* evr_claim and evr_commit, inlined into the caller (as liburing inlines its submission ring): the
 * same contract and the same results, without a call into the library in the common case (a type
 * this producer's table and the ring lay out alike, no claim open, a slot free, no consumer asleep).
 * Anything else is handed to evr_claim / evr_commit. Mix them freely with the out-of-line calls and
 * evr_abort on one handle. They compile the handle's layout and the slot protocol into the caller
 * (evring/bits/producer_fast.h): a program built with them needs the libevring soname it was built
 * against, which the soname guarantees. Under ThreadSanitizer they are the out-of-line calls. */
static inline int evr_claim_fast(struct evr_producer *p, unsigned type, struct evr_record **rec);
static inline int evr_commit_fast(struct evr_producer *p);

/* The producer's index in the ring's producer table: what records carry as producer_id. */
uint16_t evr_producer_id(const struct evr_producer *p);
/* Records this producer published and dropped (every emit or claim that did not publish, aborts and
 * faults included); either pointer may be NULL. The same counts `evring info` shows from the producer table. */
void evr_producer_counters(const struct evr_producer *p, uint64_t *emitted, uint64_t *dropped);

/* The ring's timestamp, in its own units (what evr_emit stores before consumers convert it). */
uint64_t evr_producer_now(const struct evr_producer *p);

#ifdef __cplusplus
}
#endif

#include "bits/producer_fast.h" /* the inline claim's definitions */
#endif
