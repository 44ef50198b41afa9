/* One exclusive lane, as libring/src/lane.h and evring/bits/producer_fast.h (evr_xlane_claim),
 * producer.c (take_xlane, evr_abort) and reclaim.c (evr_release_slots_of, evr_release_xlanes_of) implement it.
 *
 * NPROD producer processes (successive incarnations) want the lane. Its owner word `owner` is 0 when
 * free, else 1 + the owner's id; a producer takes it with one CAS from 0 (at registration) or gives
 * up (-EBUSY), at any time. The owner is the lane's only writer, with plain stores (no fetch_add, no
 * CAS): pos = head; head = pos + 1; check the slot word (EMPTY, or an older position not WRITING),
 * store WRITING(pos, me); write word 0, word 1; then COMMITTED(pos, me), or ABANDONED(pos, me) for
 * an aborted claim. It may close (give the lane back: owner = 0), die, or stall for good at any
 * step. Slot words use lane.pml's encoding: bits 7..4 position, 3..2 owner, 1..0 state.
 *
 * Reclaimer: only for an owner that is dead (the liveness lock: the kernel drops it when the process
 * is gone; a stalled owner keeps it): turn its WRITING words into ABANDONED at the same position,
 * then give its lane back (owner = 0). Then the next producer may take the lane and carries on from
 * the head the dead one left.
 *
 * Checked (scripts/model-check.sh): writes_own_lane (every store to the lane is made by its current
 * owner: never two writers), an accepted read is never torn and was published, the accounting
 * identity after every consumer step and at the end, no invalid end state.
 * Mutants: -DBUG_GUESS_DEAD (the reclaimer gives away the lane of an owner it only guesses is dead:
 * a stalled one), -DBUG_CHECK_THEN_TAKE (the lane is taken by a load then a store instead of a CAS).
 * Both let a second writer in, which writes_own_lane catches.
 *
 * Sequentially consistent, like lane.pml: the fences are reviewed in lane.h and exercised by TSan.
 */
#ifndef NPROD
#define NPROD 2
#endif
#ifndef SLOTS
#define SLOTS 2
#endif
#ifndef MAXPOS
#define MAXPOS 4
#endif
#ifndef WAIT
#define WAIT 1
#endif

#define EMPTY 0
#define WRITING 1
#define COMMITTED 2
#define ABANDONED 3
#define MK(p, o, s) (((p) << 4) | ((o) << 2) | (s))
#define ST(w) ((w) & 3)
#define OWN(w) (((w) >> 2) & 3)
#define POS(w) ((w) >> 4)
#define SLOT(p) ((p) % SLOTS)
#define CLAIMABLE(w, p) (ST(w) == EMPTY || (ST(w) != WRITING && POS(w) < (p)))

byte head;
byte owner; /* 0: free; else 1 + the owning producer's id */
byte ctl[SLOTS];
byte d0[SLOTS], d1[SLOTS];
bool dead[NPROD];
byte finished;
bool published[MAXPOS];
byte dropped, aborted, reclaimed;
byte cur, delivered, lapped, abandoned;
bool consumer_done;

#define FAIL_POINT                                                                                \
	if                                                                                        \
	:: skip                                                                                   \
	:: atomic { dead[id] = true; finished++ }; goto gone                                    \
	:: atomic { finished++ }; goto end_stalled                                               \
	fi

/* Every store to the lane: only its owner makes one. */
#define OWNED_STORE(stmt) atomic { assert(owner == id + 1); stmt }

proctype producer(byte id)
{
	byte pos, w;
	/* registration: take the lane (one CAS from free), or give up at any time */
	do
#ifdef BUG_CHECK_THEN_TAKE
	:: owner == 0 -> owner = id + 1; break /* a load, then a store: both may see it free */
#else
	:: atomic { owner == 0 -> owner = id + 1 }; break
#endif
	:: atomic { finished++ }; goto out
	od;
	do
	:: head < MAXPOS ->
		pos = head; /* plain load: nobody else writes the head */
		FAIL_POINT;
		OWNED_STORE(head = pos + 1);
		FAIL_POINT;
		w = ctl[SLOT(pos)];
		if
		:: CLAIMABLE(w, pos) ->
			OWNED_STORE(ctl[SLOT(pos)] = MK(pos, id, WRITING));
			FAIL_POINT;
			OWNED_STORE(d0[SLOT(pos)] = pos);
			FAIL_POINT;
			OWNED_STORE(d1[SLOT(pos)] = pos);
			FAIL_POINT;
			if
			:: OWNED_STORE(ctl[SLOT(pos)] = MK(pos, id, COMMITTED); published[pos] = true)
			:: OWNED_STORE(ctl[SLOT(pos)] = MK(pos, id, ABANDONED); aborted++) /* evr_abort */
			fi
		:: else -> dropped++
		fi
	:: head < MAXPOS -> break /* close early: the next producer takes over */
	:: head >= MAXPOS -> break
	od;
	/* close: our slots are all published or abandoned (no claim open); give the lane back */
	atomic { owner = 0; finished++ };
	goto out;
gone:
	goto out;
end_stalled:
	(false); /* stopped and never continued: alive, keeps its lane */
out:
	skip
}

/* The reclaimer of a dead owner (it holds the owner's liveness lock, which only a dead owner has
 * lost): release its WRITING slots, then its lane. */
#ifdef BUG_GUESS_DEAD
#define JUDGED_DEAD(o) true /* e.g. a pid that looks gone: also true of a stalled owner */
#else
#define JUDGED_DEAD(o) dead[o]
#endif
#define RELEASED(s) !(ST(ctl[s]) == WRITING && OWN(ctl[s]) == owner - 1)
#define RECLAIM(s)                                                                                \
	:: atomic {                                                                               \
		ST(ctl[s]) == WRITING && dead[OWN(ctl[s])] ->                                     \
		ctl[s] = (ctl[s] & 252) | ABANDONED; reclaimed++                                  \
	}

proctype reclaimer()
{
	byte o;
end_idle:
	do
	RECLAIM(0)
	RECLAIM(1)
#if SLOTS > 2
	RECLAIM(2)
	RECLAIM(3)
#endif
	:: atomic {
		owner != 0 && JUDGED_DEAD(owner - 1) && RELEASED(0) && RELEASED(1)
#if SLOTS > 2
		&& RELEASED(2) && RELEASED(3)
#endif
		-> owner = 0 /* evr_release_xlanes_of, after the slots */
	}
	od
}

#include "consumer.pml"

init
{
	byte i;
	atomic {
		for (i : 0 .. SLOTS - 1) {
			d0[i] = 255;
			d1[i] = 255
		}
		for (i : 0 .. NPROD - 1) {
			run producer(i)
		}
		run reclaimer();
		run consumer()
	}
}
