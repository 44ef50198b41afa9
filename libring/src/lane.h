/* The lane protocol: claim, own, write, publish; and the validated read.
 *
 * A lane is a multi-producer ring of S = slots_per_lane slots (a power of two). Position p lives in
 * slot p & (S-1). Each slot starts with a 64-bit control word:
 *
 *     bits 63..14  position (mod 2^50; full positions are rebuilt relative to a nearby position)
 *     bits 13..2   owner: the producer table index of the writer
 *     bits  1..0   state: EMPTY (never written), WRITING, COMMITTED, ABANDONED
 *
 * Writer of position p on a shared lane (evr_lane_claim, then evr_lane_publish or evr_lane_abort):
 *   1. claim p with one fetch_add on the lane head;
 *   2. own the slot with a CAS from "an older position, not WRITING" to WRITING(p). This is what
 *      defeats the stale-writer trap: a producer that stalled between claim and CAS for a whole lap
 *      finds a newer position in the word and drops its record instead of overwriting a newer one;
 *      a producer that finds another writer still WRITING (stalled or dead) drops too. It never waits.
 *   3. write the record body (copied, or filled in place by evr_claim's caller), then publish
 *      COMMITTED(p) with a release store; or, for an aborted claim, store ABANDONED(p), which readers
 *      count like a position reclaimed from a dead writer.
 *
 * Exclusive lanes (evr_xlane_claim) have one writer: the producer named in the lane header's
 * `owner`. It claims with a plain load and store of the head (nobody else writes it) and takes the
 * slot with a plain store of WRITING(p) after checking the word as above (which only guards against a
 * head that went backwards: a regrown segment); then steps 3 as on a shared lane. No locked
 * instruction. The owner word changes only under the owner's liveness lock: taken at registration
 * (free -> owner), given back at close or by the reclaimer of a dead owner (owner -> free), each
 * time after the owner's WRITING slots were released, so the next owner finds every slot word
 * COMMITTED, ABANDONED or EMPTY and the head where the last owner left it. A second writer can only
 * appear if the owner's lock is dropped while it lives (see producer.h: closefrom).
 *
 * Reader of position p (evr_lane_read), the seqlock pattern: acquire-load the word; if it says
 * COMMITTED(p), copy the record, acquire fence, load the word again; unchanged means the copy is whole.
 * A word showing a newer position means the reader was lapped.
 *
 * The copy of a slot that a newer writer may be overwriting is a data race in C11 terms; it is the
 * seqlock pattern, whose torn copies are always discarded by the re-check. Under ThreadSanitizer
 * (EVR_TSAN) the copies use relaxed atomic words so TSan sees what the protocol actually does.
 *
 * Positions never repeat within 2^49 of each other, so the 50-bit wrap is harmless (evr_ctl_pos).
 *
 * The writer's half (the control word, evr_lane_claim, evr_xlane_claim, evr_lane_publish) lives in
 * the public evring/bits/producer_fast.h, because callers inline it (evr_claim_fast); this file adds
 * the abort and the reader. One copy of each step, used by the library and the inline path alike.
 */
#ifndef EVR_LANE_H
#define EVR_LANE_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "evring/bits/producer_fast.h" /* the control word, the claim and the publish */
#include "layout.h"
#include "test_hooks.h"

_Static_assert(EVR_MAX_PRODUCERS - 1 <= EVR_CTL_OWNER_MASK, "owner fits the control word");

static inline _Atomic uint64_t *evr_slot_ctl(unsigned char *slot)
{
	return (_Atomic uint64_t *)(void *)slot;
}

/* Copy the body (everything after the control word) into or out of a slot. */
static inline void evr_slot_store_body(unsigned char *slot, const void *src, size_t len)
{
#ifdef EVR_TSAN
	for (size_t i = 8; i < len; i += 8) {
		uint64_t v;
		memcpy(&v, (const unsigned char *)src + i, 8);
		atomic_store_explicit((_Atomic uint64_t *)(void *)(slot + i), v, memory_order_relaxed);
	}
#else
	memcpy(slot + 8, (const unsigned char *)src + 8, len - 8);
#endif
}

static inline void evr_slot_load_body(const unsigned char *slot, void *dst, size_t len)
{
#ifdef EVR_TSAN
	for (size_t i = 8; i < len; i += 8) {
		uint64_t v = atomic_load_explicit((_Atomic uint64_t *)(void *)(slot + i), memory_order_relaxed);
		memcpy((unsigned char *)dst + i, &v, 8);
	}
#else
	memcpy((unsigned char *)dst + 8, slot + 8, len - 8);
#endif
}

/* Give an owned slot up unpublished (an aborted claim): readers skip pos as abandoned, and the next
 * lap's writer may take the slot. */
static inline void evr_lane_abort(unsigned char *slot, uint64_t pos, uint64_t owner_bits)
{
	/* release: pairs with the reader's acquire load; orders nothing of ours (the body is junk), but
	 * keeps the word's history in the order readers and the next writer judge it */
	atomic_store_explicit(evr_slot_ctl(slot), evr_ctl_word(pos, owner_bits, EVR_SLOT_ABANDONED), memory_order_release);
}

enum evr_read_result {
	EVR_READ_OK,        /* out holds a whole copy of position pos */
	EVR_READ_NOT_YET,   /* pos not published yet (not claimed, claimed, or being written) */
	EVR_READ_LAPPED,    /* the slot holds a newer position: pos is gone */
	EVR_READ_ABANDONED, /* pos was reclaimed from a dead writer */
};

static inline enum evr_read_result evr_lane_read(const struct evr_lane_ref *l, uint64_t pos, void *out, size_t len)
{
	const unsigned char *slot = evr_lane_slot(l, pos);
	_Atomic uint64_t *ctl = evr_slot_ctl((unsigned char *)slot);
	/* acquire: pairs with the release in evr_lane_publish(); the body is complete if COMMITTED. */
	uint64_t w = atomic_load_explicit(ctl, memory_order_acquire);
	if (evr_ctl_state(w) == EVR_SLOT_EMPTY)
		return EVR_READ_NOT_YET;
	uint64_t stored = evr_ctl_pos(w, pos);
	if (stored > pos)
		return EVR_READ_LAPPED;
	if (stored < pos || evr_ctl_state(w) == EVR_SLOT_WRITING)
		return EVR_READ_NOT_YET;
	if (evr_ctl_state(w) == EVR_SLOT_ABANDONED)
		return EVR_READ_ABANDONED;
	evr_slot_load_body(slot, out, len);
	/* acquire fence: pairs with the writer's release fence after its CAS (on an exclusive lane,
	 * after its WRITING store); the copy above happens before the re-check below, so a writer that
	 * overwrote any of it shows in the word. */
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(ctl, memory_order_relaxed) != w)
		return EVR_READ_LAPPED;
	return EVR_READ_OK;
}

#endif
