/* One evring lane, as libring/src/lane.h, consumer.c and reclaim.c implement it.
 *
 * NPROD producers share one lane of SLOTS slots and claim positions 0 .. MAXPOS-1 between them.
 * Each slot has a control word with the encoding of lane.h, scaled down to a byte:
 *
 *     bits 7..4 position   bits 3..2 owner (producer index)   bits 1..0 state
 *     state: EMPTY 0, WRITING 1, COMMITTED 2, ABANDONED 3        (EVR_CTL_*_SHIFT are 14 and 2)
 *
 * and a two-word body. A producer writes its position into both words, so a copy whose words are
 * not both equal to the position the consumer accepted is torn (or misplaced).
 *
 * Producer (evr_lane_write): claim = fetch_add on head; own = CAS from "EMPTY, or an older position
 * not WRITING" to WRITING(pos, me), else drop; write word 0, word 1; publish COMMITTED(pos, me).
 * At every step a producer may die (its slot stays WRITING until the reclaimer sees it dead) or stall
 * for good (SIGSTOP never followed by SIGCONT: alive, never reclaimed). A stall of any finite length
 * is simply an interleaving: the other processes run meanwhile.
 *
 * Reclaimer (evr_ring_reclaim): turns WRITING(pos, owner) of a dead owner into ABANDONED(pos, owner)
 * with a CAS, one slot at a time.
 *
 * Consumer (lane_step in consumer.c): at cursor cur, load the word; newer position: lapped, jump to
 * max(head - SLOTS, cur + 1); ABANDONED(cur): skip one; COMMITTED(cur): copy word 0, word 1, re-load
 * the word, accept if unchanged (else lapped); anything else is "not yet": when head > cur it waits
 * at most WAIT polls of the same position (the abandon timeout), then skips it as abandoned. The
 * bounded wait is what lets a consumer finish although a producer stalls for ever.
 *
 * The model is sequentially consistent: it checks the protocol's logic, not the C11 fences (those
 * are reviewed in lane.h and exercised by the TSan tests).
 *
 * Checked (scripts/model-check.sh):
 *   - an accepted read is never torn, and the position it holds was published by its producer;
 *   - delivered + lapped + abandoned == cur - start after every consumer step, and == head at the end;
 *   - no invalid end state: the consumer never deadlocks, whatever producers die or stall;
 *   - no non-progress cycle (pan -l): the consumer never spins for ever without advancing;
 *   - LTL consumer_finishes: <> consumer_done (every claimed position is eventually accounted for).
 * Mutants (-DBUG_NO_OWN, -DBUG_NO_RECHECK, -DBUG_UNBOUNDED_WAIT) must each fail, which shows that the
 * checks above are not vacuous.
 */
#ifndef NPROD
#define NPROD 2
#endif
#ifndef SLOTS
#define SLOTS 2
#endif
#ifndef MAXPOS
#define MAXPOS 6
#endif
#ifndef WAIT
#define WAIT 2
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
/* evr_slot_claimable */
#define CLAIMABLE(w, p) (ST(w) == EMPTY || (ST(w) != WRITING && POS(w) < (p)))

byte head;                 /* the lane head: next position to claim */
byte ctl[SLOTS];           /* control words */
byte d0[SLOTS], d1[SLOTS]; /* bodies */
bool dead[NPROD];
byte finished;             /* producers that are done, dead, or stalled for good */
bool published[MAXPOS];
byte dropped, reclaimed;
byte cur, delivered, lapped, abandoned;
bool consumer_done;

/* A producer may die or stall for good at any step. */
#define FAIL_POINT                                                                                \
	if                                                                                        \
	:: skip                                                                                   \
	:: atomic { dead[id] = true; finished++ }; goto gone                                    \
	:: atomic { finished++ }; goto end_stalled                                               \
	fi

proctype producer(byte id)
{
	byte pos, w;
	bool owned;
	do
	:: atomic { head < MAXPOS -> pos = head; head++ } /* claim: fetch_add */
		FAIL_POINT;
		atomic { /* own: one CAS, judged on the word it compares */
			w = ctl[SLOT(pos)];
#ifdef BUG_NO_OWN
			owned = true;
#else
			owned = CLAIMABLE(w, pos);
#endif
			if
			:: owned -> ctl[SLOT(pos)] = MK(pos, id, WRITING)
			:: else -> dropped++
			fi
		}
		if
		:: owned ->
			FAIL_POINT;
			d0[SLOT(pos)] = pos;
			FAIL_POINT;
			d1[SLOT(pos)] = pos;
			FAIL_POINT;
			atomic { ctl[SLOT(pos)] = MK(pos, id, COMMITTED); published[pos] = true } /* publish */
		:: else -> skip
		fi
	:: atomic { head >= MAXPOS -> finished++; break }
	od;
gone:
	goto out;
end_stalled:
	(false); /* stopped and never continued: alive, blocks nobody */
out:
	skip
}

/* The reclaimer: one CAS per slot found WRITING by a dead owner. Idle (a valid end) otherwise. */
#define RECLAIM(s)                                                                                \
	:: atomic {                                                                               \
		ST(ctl[s]) == WRITING && dead[OWN(ctl[s])] ->                                     \
		ctl[s] = (ctl[s] & 252) | ABANDONED; reclaimed++                                  \
	}

proctype reclaimer()
{
end_idle:
	do
	RECLAIM(0)
	RECLAIM(1)
#if SLOTS > 2
	RECLAIM(2)
	RECLAIM(3)
#endif
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
