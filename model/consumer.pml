/* The consumer of one lane (lane_step in libring/src/consumer.c), shared by lane.pml and
 * exclusive.pml: at cursor cur, load the word; newer position: lapped, jump to max(head - SLOTS,
 * cur + 1); ABANDONED(cur): skip one; COMMITTED(cur): copy word 0, word 1, re-load the word, accept
 * if unchanged (else lapped); anything else is "not yet": when head > cur it waits at most WAIT polls
 * of the same position (the abandon timeout), then skips it as abandoned.
 * The including model declares head, ctl, d0, d1, published, finished, NPROD (producer processes
 * that each end by finished++), cur, delivered, lapped, abandoned, consumer_done, SLOT, ST, POS. */
#define ACCOUNTED assert(delivered + lapped + abandoned == cur)

proctype consumer()
{
	byte w, c0, c1, hd, next, waited;
	do
	:: cur < head ->
		w = ctl[SLOT(cur)]; /* acquire load */
		if
		:: ST(w) != EMPTY && POS(w) > cur -> goto lapped_step
		:: ST(w) == ABANDONED && POS(w) == cur ->
			abandoned++; cur++; waited = 0
		:: ST(w) == COMMITTED && POS(w) == cur ->
			c0 = d0[SLOT(cur)];
			c1 = d1[SLOT(cur)];
#ifdef BUG_NO_RECHECK
			if
			:: true ->
#else
			if
			:: ctl[SLOT(cur)] == w -> /* acquire fence, re-load: the copy is whole */
#endif
				assert(c0 == cur && c1 == cur); /* never torn, never misplaced */
				assert(published[cur]);
				delivered++; cur++; waited = 0
			:: else -> goto lapped_step
			fi
		:: else -> /* not yet: EMPTY, an older position, or WRITING(cur) */
			if
#ifdef BUG_UNBOUNDED_WAIT
			:: true -> skip
#else
			:: waited < WAIT -> waited++
			:: waited >= WAIT -> abandoned++; cur++; waited = 0 /* abandon timeout */
#endif
			fi
		fi;
		goto stepped;
lapped_step:
		hd = head;
		next = (hd > SLOTS -> hd - SLOTS : 0);
		next = (next > cur -> next : cur + 1);
		lapped = lapped + next - cur;
		cur = next;
		waited = 0;
stepped:
		ACCOUNTED
	:: cur >= head && finished == NPROD -> break
	od;
	assert(cur == head);
	assert(delivered + lapped + abandoned == head);
	consumer_done = true
}

ltl consumer_finishes { <> consumer_done }

