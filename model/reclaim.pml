/* Producer registration, reclaim and liveness, as libring/src/producer.c, reclaim.c and liveness.c
 * implement them, on top of one lane (lane.h, consumer.c) as in lane.pml.
 *
 * Actors. NPROC producer processes, NRECL reclaimer processes, one consumer, all concurrent:
 *   producer(me)   mirrors evr_producer_open -> claim_entry (two passes: FREE entries first, then
 *                  CLOSED/DEAD ones), then evr_emit -> evr_lane_write any number of times, then
 *                  evr_producer_close -> release_entry. With E = 1 the producers compete for one
 *                  entry, so a later producer gets the same index after a close or a reclaim
 *                  (entry reuse); spin also runs them one after the other, since either may be
 *                  delayed arbitrarily. A producer may close at any time.
 *   reclaimer(me)  mirrors evr_ring_reclaim + reclaim_locked + release_slots_of: NPASS passes over
 *                  the table. (evr_producer_open's own call to evr_ring_reclaim is one more run of the
 *                  same code, which these concurrent reclaimers cover.)
 *   consumer()     mirrors lane_step / evr_lane_read as in lane.pml (see "Steps" for one merge).
 *   init           after every producer and reclaimer is finished, runs one last clean reclaim (a
 *                  later evr_ring_reclaim, atomic) and checks that nothing leaked.
 * Every producer and reclaimer may die (its liveness lock is dropped in the same step: the kernel
 * drops an OFD lock exactly when the holder is gone), and a producer may also stall for good
 * (stopped, never continued: alive, keeps its lock), at every step where that makes a difference:
 * producer: after CLAIMING (a registration killed halfway), after the claim, after owning the slot,
 * and anywhere it emits; reclaimer: after RECLAIMING, between slots, before DEAD. (Dying between two
 * body stores is the same as dying before them: nobody reads the body of a slot never committed;
 * dying right after a try-lock or before an unlock only drops the lock a step early.) A finite stall
 * is just an interleaving.
 *
 * Encoding (scaled down to bytes):
 *   entry word  est[i] = state | generation << 3   (C: state | generation << 8, layout.h)
 *               state: FREE 0, CLAIMING 1, LIVE 2, CLOSED 3, DEAD 4, RECLAIMING 5 (enum evr_producer_state)
 *   liveness    lock[i] = 0 free, else holder id + 1: the OFD write lock on byte i of NAME~live.
 *               Process ids: producers 0 .. NPROC-1, reclaimers NPROC .. NPROC+NRECL-1.
 *   slot word   ctl[s] = position << 4 | owner << 2 | state, owner = the writer's ENTRY INDEX
 *               (what lane.h stores), state EMPTY 0, WRITING 1, COMMITTED 2, ABANDONED 3.
 *   body        d0[s], d1[s]: the writer stores its position in both; a copy not equal to the
 *               accepted position twice is torn.
 * Ghost state (no C counterpart, only for the assertions): dead[p], owns[p] (the entry p registered,
 * + 1, until p begins to close), reg[i] (last registrant of entry i, + 1), wproc[s] (the process that
 * made slot s WRITING).
 *
 * Steps. Each atomic block is one atomic instruction of the C code, or a sequence that is atomic
 * because the actor holds the entry's lock. A load immediately followed by a CAS on the same word is
 * modelled as the CAS alone (it judges the word it compares: the separate load only adds a failed
 * CAS, after which the C code skips). By default (what --ci checks) two more merges keep the state
 * space small, each losing only a transient or a skip:
 *   - registrant and reclaimer: relaxed first look + try-lock + re-read under the lock + CAS in one
 *     step (in between only lock holders write the word; the lost interleavings hold the lock for a
 *     moment on an entry they then give up, which only makes others skip it);
 *   - consumer: the body is copied in the step that loads the word (the re-check stays a separate
 *     step: a writer that moves the slot on in between shows in it, since slot words never repeat).
 * -DFINE keeps all of these as separate steps, exactly as the C code and lane.pml (--quick, full).
 *
 * Checked (scripts/model-check.sh); the assertion names are what pan prints:
 *   (1) single_owner:        a registration never succeeds while another live process owns the entry;
 *       reclaims_dead_owner: a reclaimer only takes an entry whose owners are all dead (or closing);
 *       live_store_own:      the LIVE store finds the registrant's own CLAIMING word;
 *       closes_own:          a close CAS only ever closes the closer's own registration;
 *   (2) read_whole, read_published: an accepted read is never torn and was published (as lane.pml);
 *   (3) commit_own_writing:  a commit (a plain store) finds its own WRITING(pos, me);
 *       slot_forward:        every store to a slot word moves it forward (a newer position, or at the
 *                            same position EMPTY -> WRITING -> COMMITTED | ABANDONED, same owner);
 *   (4) abandons_dead_writer: a reclaimer only abandons WRITING slots whose writer is dead;
 *   (5) (delivered+lapped+abandoned)==cur after every consumer step, == head at the end (as lane.pml);
 *   (6) no_leak:             after the final reclaim no entry is CLAIMING/LIVE/RECLAIMING and no slot
 *                            WRITING, unless a live (stalled) process holds that entry's lock;
 *   no invalid end state; in --quick/full also no non-progress cycle and LTL all_finish (the consumer
 *   and the final reclaim always get done, whatever dies or stalls).
 * (1) and (4) use ghost knowledge of who is dead; (2), (3), (5), (6) only what a process could see.
 * -DOFF=mask switches checks off (bits: single_owner 1, reclaims_dead_owner 2, live_store_own 4,
 * closes_own 8, read_whole 16, read_published 32, commit_own_writing 64, slot_forward 128,
 * abandons_dead_writer 256, no_leak 512), to show what else catches a mutant.
 * The model is sequentially consistent: it checks the protocol's logic, not the C11 orderings.
 *
 * Mutants, each must fail (caught first by, then with OFF by):
 *   BUG_CHECK_THEN_ACT   the old reclaim: no lock, no generation; checks "LIVE and its pid is dead",
 *                        then abandons the index's WRITING slots, then CASes LIVE -> DEAD, each a
 *                        separate step. A second reclaimer finishes the dead owner meanwhile, a new
 *                        producer registers LIVE (the same word), and the stale reclaimer abandons the
 *                        new owner's slot (abandons_dead_writer) and marks it DEAD (reclaims_dead_owner);
 *                        once that owner dies its DEAD entry and WRITING slot are never reclaimed (no_leak).
 *   BUG_PID_GUESS        liveness by a guess that may say "dead" for a live holder: the reclaimer goes
 *                        on although try-lock failed: reclaims_dead_owner; live_store_own (a late LIVE
 *                        store overwrites RECLAIMING); abandons_dead_writer; commit_own_writing and
 *                        slot_forward (the plain commit turns ABANDONED back into COMMITTED); with 2
 *                        entries read_whole (the live writer's late body store lands in a slot a
 *                        writer of the other entry took over and committed: a torn read is accepted).
 *   BUG_NO_REGISTER_LOCK registration CASes the word first and takes the lock afterwards (if free):
 *                        it registers over a CLOSED entry whose closer still holds the lock, runs
 *                        without the lock, and a reclaimer takes its live entry (reclaims_dead_owner).
 *   BUG_SKIP_CLAIMING    reclaim ignores CLAIMING: a registrant killed halfway leaks its entry (no_leak).
 *   BUG_UNLOCK_BEFORE_CLOSE close drops the lock before its LIVE -> CLOSED CAS. NOT a bug with
 *                        generations (passes every check): a reclaimer that gets the lock in the window
 *                        sees LIVE(g), finds no WRITING slot of it (the producer stopped emitting) and
 *                        marks it DEAD(g); the close CAS then fails and the entry shows DEAD instead of
 *                        CLOSED (and counts as reclaimed): a display matter. A new owner only comes
 *                        after that DEAD, with generation g+1, which the stale close CAS cannot match.
 *                        With BUG_NO_GEN as well it fails: the stale close CAS closes the new owner's
 *                        LIVE entry (closes_own), and once that owner dies its entry and WRITING slot
 *                        are never reclaimed (no_leak).
 *   BUG_NO_GEN           alone passes: under the lock discipline every CAS on an entry word is made
 *                        by the lock holder on the word it judged, so generations are defence in depth.
 */
#ifndef E
#define E 1 /* producer entries (1 or 2) */
#endif
#ifndef NPROC
#define NPROC 2 /* producer processes (2 or 3) */
#endif
#ifndef NRECL
#define NRECL 2 /* reclaimer processes */
#endif
#ifndef NPASS
#define NPASS 1 /* passes over the table per reclaimer */
#endif
#ifndef SLOTS
#define SLOTS 2
#endif
#ifndef MAXPOS
#define MAXPOS 3
#endif
#ifndef WAIT
#define WAIT 1
#endif

/* entry words */
#define FREE 0
#define CLAIMING 1
#define LIVE 2
#define CLOSED 3
#define DEAD 4
#define RECLAIMING 5
#if defined(BUG_CHECK_THEN_ACT) || defined(BUG_NO_GEN)
#define MKE(st, g) (st)
#else
#define MKE(st, g) ((st) | ((g) << 3))
#endif
#define EST(w) ((w) & 7)
#define GEN(w) ((w) >> 3)
/* held_by_someone (reclaim.c) */
#define HELD(st) ((st) == CLAIMING || (st) == LIVE || (st) == RECLAIMING)
#ifdef BUG_SKIP_CLAIMING
#define RHELD(st) ((st) == LIVE || (st) == RECLAIMING)
#else
#define RHELD(st) HELD(st)
#endif
/* reusable (producer.c) */
#define REUSABLE(st, pass) (((pass) == 0 && (st) == FREE) || ((pass) == 1 && ((st) == CLOSED || (st) == DEAD)))

/* slot words, as lane.pml */
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
byte ctl[SLOTS];
byte d0[SLOTS], d1[SLOTS];
bool published[MAXPOS];
byte est[E];                /* producer table entry words */
byte lock[E];               /* liveness locks */
bool dead[NPROC];           /* ghost: producer process died */
byte owns[NPROC];           /* ghost: entry index + 1 this producer owns and may write slots for */
byte reg[E];                /* ghost: last registrant + 1 */
byte wproc[SLOTS];          /* ghost: process that made the slot WRITING */
#ifdef BUG_CHECK_THEN_ACT
byte epid[E];               /* the entry's pid field (+ 1), which the old reclaim judged by */
#endif
byte finished;              /* producers done, dead, or stalled for good */
byte rdone;                 /* reclaimers done or dead */
bool consumer_done, final_done;

/* assertion names: hidden (not in the state vector), always set right before they are asserted */
hidden byte single_owner, reclaims_dead_owner, live_store_own, closes_own, read_whole, read_published,
	commit_own_writing, slot_forward, abandons_dead_writer, no_leak;
hidden byte k;
/* -DOFF=mask switches checks off (they then always hold), to see what the others catch */
#ifndef OFF
#define OFF 0
#endif
#define B_single_owner 1
#define B_reclaims_dead_owner 2
#define B_live_store_own 4
#define B_closes_own 8
#define B_read_whole 16
#define B_read_published 32
#define B_commit_own_writing 64
#define B_slot_forward 128
#define B_abandons_dead_writer 256
#define B_no_leak 512
#define CHECK(name, cond) name = ((cond) || (OFF & B_##name) != 0); assert(name)

/* every producer that owns entry i is dead */
#if NPROC == 2
#define OWNERS_DEAD(i) ((owns[0] != (i) + 1 || dead[0]) && (owns[1] != (i) + 1 || dead[1]))
#else
#define OWNERS_DEAD(i) ((owns[0] != (i) + 1 || dead[0]) && (owns[1] != (i) + 1 || dead[1]) && (owns[2] != (i) + 1 || dead[2]))
#endif

/* a store to slot word s: it must move forward */
#define FORWARD(o, n)                                                                             \
	(POS(n) > POS(o) || (POS(n) == POS(o) && ((ST(o) == EMPTY && ST(n) == WRITING) ||          \
	                     (ST(o) == WRITING && OWN(o) == OWN(n) && (ST(n) == COMMITTED || ST(n) == ABANDONED)))))
#define SETCTL(s, v) CHECK(slot_forward, FORWARD(ctl[s], v)); ctl[s] = (v)

/* the kernel drops every lock of a dead process */
#if E > 1
#define RELEASE(id)                                                                               \
	if :: lock[0] == (id) + 1 -> lock[0] = 0 :: else fi;                                     \
	if :: lock[1] == (id) + 1 -> lock[1] = 0 :: else fi
#else
#define RELEASE(id) if :: lock[0] == (id) + 1 -> lock[0] = 0 :: else fi
#endif

/* A producer may die or stall for good here (see the header for where this is placed). */
#define PFAIL                                                                                     \
	if                                                                                        \
	:: skip                                                                                   \
	:: atomic { dead[me] = true; RELEASE(me); finished++ }; goto out                          \
	:: atomic { finished++ }; goto end_stalled                                               \
	fi

/* A reclaimer may die here; its lock is dropped with it. */
#define RFAIL                                                                                     \
	if                                                                                        \
	:: skip                                                                                   \
	:: atomic { RELEASE(me); rdone++ }; goto out                                             \
	fi

/* release_slots_of, one slot: CAS WRITING(p, i) -> ABANDONED(p, i) */
#define ABANDON_SLOT(s, i)                                                                        \
	if                                                                                        \
	:: ST(ctl[s]) == WRITING && OWN(ctl[s]) == (i) ->                                         \
		CHECK(abandons_dead_writer, dead[wproc[s]]);                                     \
		SETCTL(s, (ctl[s] & 252) | ABANDONED)                                             \
	:: else                                                                                   \
	fi

proctype producer(byte me)
{
	byte i, pass, g, pos;
	bool ok;

	/* evr_producer_open -> claim_entry */
scan:
	if
	:: i >= E && pass == 0 -> pass = 1; i = 0; goto scan
	:: i >= E && pass == 1 -> atomic { finished++ }; goto out /* -ENOSPC */
	:: i < E -> skip
	fi;
#define REGISTER                                                                                  \
	CHECK(single_owner, OWNERS_DEAD(i));                                                      \
	g = GEN(est[i]) + 1;                                                                      \
	est[i] = MKE(CLAIMING, g);                                                                \
	owns[me] = i + 1;                                                                         \
	reg[i] = me + 1;                                                                          \
	PIDSET                                                                                    \
	ok = true
#ifdef BUG_CHECK_THEN_ACT
#define PIDSET epid[i] = me + 1;
#else
#define PIDSET
#endif
#if defined(BUG_NO_REGISTER_LOCK)
	atomic { /* first look; CAS to CLAIMING(gen + 1), no lock */
		if
		:: REUSABLE(EST(est[i]), pass) -> REGISTER
		:: else -> ok = false
		fi
	}
#elif defined(FINE)
	if
	:: REUSABLE(EST(est[i]), pass) -> skip /* relaxed first look */
	:: else -> i++; goto scan
	fi;
	if
	:: atomic { lock[i] == 0 -> lock[i] = me + 1 } /* evr_live_trylock */
	:: lock[i] != 0 -> i++; goto scan
	fi;
	atomic { /* re-read under the lock; CAS to CLAIMING(gen + 1) */
		if
		:: REUSABLE(EST(est[i]), pass) -> REGISTER
		:: else -> ok = false; lock[i] = 0
		fi
	}
#else
	/* first look, try-lock, re-read under the lock and CAS in one step: between them only lock
	 * holders write the word, and a failed try-lock or re-read only skips the entry */
	atomic {
		if
		:: REUSABLE(EST(est[i]), pass) && lock[i] == 0 -> lock[i] = me + 1; REGISTER
		:: else -> ok = false
		fi
	}
#endif
	if
	:: ok -> skip
	:: else -> i++; goto scan
	fi;
	PFAIL; /* killed halfway: CLAIMING with no holder */
	atomic { /* fill, then the release store of LIVE */
		CHECK(live_store_own, est[i] == MKE(CLAIMING, g));
		est[i] = MKE(LIVE, g)
	}
#ifdef BUG_NO_REGISTER_LOCK
	PFAIL;
	atomic { if :: lock[i] == 0 -> lock[i] = me + 1 :: else fi } /* the lock comes afterwards, if at all */
#endif

	/* evr_emit -> evr_lane_write, owner = entry index i */
	do
	:: atomic { head < MAXPOS -> pos = head; head++ } /* claim: fetch_add */
		PFAIL;
		atomic { /* own: CAS from "EMPTY, or older and not WRITING" */
			ok = CLAIMABLE(ctl[SLOT(pos)], pos);
			if
			:: ok -> SETCTL(SLOT(pos), MK(pos, i, WRITING)); wproc[SLOT(pos)] = me
			:: else -> skip /* dropped */
			fi
		}
		if
		:: ok ->
			PFAIL;
			d0[SLOT(pos)] = pos;
			d1[SLOT(pos)] = pos;
			atomic { /* publish: a plain release store */
				CHECK(commit_own_writing, ctl[SLOT(pos)] == MK(pos, i, WRITING));
				SETCTL(SLOT(pos), MK(pos, i, COMMITTED));
				published[pos] = true
			}
		:: else -> skip
		fi;
		ok = false;
		pos = 0
	:: break /* evr_producer_close, at any time */
	od;

	/* evr_producer_close -> release_entry, close(live_fd) */
#ifdef BUG_UNLOCK_BEFORE_CLOSE
	atomic { owns[me] = 0; lock[i] = 0 }
	atomic {
		if
		:: est[i] == MKE(LIVE, g) -> CHECK(closes_own, reg[i] == me + 1); est[i] = MKE(CLOSED, g)
		:: else
		fi;
		finished++
	}
#else
	atomic {
		owns[me] = 0; /* from here on it writes no slot */
		if
		:: est[i] == MKE(LIVE, g) -> CHECK(closes_own, reg[i] == me + 1); est[i] = MKE(CLOSED, g)
		:: else
		fi
	}
	atomic { lock[i] = 0; finished++ }
#endif
	goto out;
end_stalled:
	(false); /* stopped and never continued: alive, keeps its lock, blocks nobody */
out:
	skip
}

proctype reclaimer(byte me)
{
	byte i, pass, g, s;
	bool ok;
	do
	:: pass < NPASS ->
		i = 0;
		do
		:: i < E ->
#ifdef BUG_CHECK_THEN_ACT
			/* the old reclaim: judge, then act, in separate steps, without a lock */
			atomic { ok = EST(est[i]) == LIVE && epid[i] != 0 && dead[epid[i] - 1] }
			if
			:: ok ->
				RFAIL;
				s = 0;
				do
				:: s < SLOTS -> atomic { ABANDON_SLOT(s, i) }; RFAIL; s++
				:: else -> s = 0; break
				od;
				atomic {
					if
					:: est[i] == MKE(LIVE, 0) ->
						CHECK(reclaims_dead_owner, OWNERS_DEAD(i));
						est[i] = MKE(DEAD, 0)
					:: else
					fi
				}
			:: else
			fi;
			ok = false;
#else
#define MARK                                                                                      \
	CHECK(reclaims_dead_owner, OWNERS_DEAD(i));                                               \
	g = GEN(est[i]);                                                                          \
	est[i] = MKE(RECLAIMING, g);                                                              \
	ok = true
#ifdef FINE
			if
			:: RHELD(EST(est[i])) -> skip /* relaxed first look */
			:: else -> goto skip_entry
			fi;
			if
			:: atomic { lock[i] == 0 -> lock[i] = me + 1 } /* evr_live_trylock */
#ifdef BUG_PID_GUESS
			:: lock[i] != 0 /* "its pid looks dead": goes on without the lock */
#endif
			:: lock[i] != 0 -> goto skip_entry /* alive, or another reclaimer is at it */
			fi;
			atomic { /* reclaim_locked: re-read, CAS to RECLAIMING(gen) */
				if
				:: RHELD(EST(est[i])) -> MARK
				:: else -> ok = false; if :: lock[i] == me + 1 -> lock[i] = 0 :: else fi
				fi
			}
#else
			/* first look, try-lock, re-read and CAS in one step (see the producer) */
			atomic {
				if
				:: RHELD(EST(est[i])) && lock[i] == 0 -> lock[i] = me + 1; MARK
#ifdef BUG_PID_GUESS
				:: RHELD(EST(est[i])) && lock[i] != 0 -> MARK /* "its pid looks dead": on without the lock */
#endif
				:: else -> ok = false
				fi
			}
#endif
			if
			:: ok -> /* release_slots_of, then DEAD, then unlock */
				s = 0;
				do
				:: s < SLOTS -> RFAIL; atomic { ABANDON_SLOT(s, i) }; s++
				:: else -> s = 0; break
				od;
				RFAIL;
				est[i] = MKE(DEAD, g); /* release store */
				g = 0;
				atomic { if :: lock[i] == me + 1 -> lock[i] = 0 :: else fi } /* evr_live_unlock */
			:: else -> skip
			fi;
			ok = false;
skip_entry:
#endif
			i++
		:: else -> break
		od;
		pass++
	:: else -> break
	od;
	atomic { rdone++ };
out:
	skip
}

/* lane_step + evr_lane_read. Its counters are locals (nobody else reads them), so spin's partial
 * order reduction can treat their updates as local steps. Without FINE the body is copied in the step
 * that loads the word (lane.pml keeps them apart): a writer that moves the slot on between the two
 * shows in the re-check just the same, since a slot word never repeats. */
proctype consumer()
{
	byte cur, delivered, lapped, abandoned;
	byte w, c0, c1, next, waited;
	do
	:: atomic {
		cur < head -> w = ctl[SLOT(cur)]; /* acquire load */
#ifndef FINE
		if
		:: ST(w) == COMMITTED && POS(w) == cur -> c0 = d0[SLOT(cur)]; c1 = d1[SLOT(cur)]
		:: else
		fi
#endif
	   }
		if
		:: ST(w) != EMPTY && POS(w) > cur -> goto lapped_step
		:: ST(w) == ABANDONED && POS(w) == cur ->
			abandoned++; cur++; waited = 0
		:: ST(w) == COMMITTED && POS(w) == cur ->
#ifdef FINE
			c0 = d0[SLOT(cur)];
			c1 = d1[SLOT(cur)];
#endif
			if
			:: atomic { /* acquire fence, re-load: unchanged, so the copy is whole */
				ctl[SLOT(cur)] == w ->
				CHECK(read_whole, c0 == cur && c1 == cur);
				CHECK(read_published, published[cur])
			   }
				delivered++; cur++; waited = 0
			:: ctl[SLOT(cur)] != w -> goto lapped_step
			fi
		:: else -> /* not yet */
			if
			:: waited < WAIT -> waited++
			:: waited >= WAIT -> abandoned++; cur++; waited = 0 /* abandon timeout */
			fi
		fi;
		goto stepped;
lapped_step:
		next = (head > SLOTS -> head - SLOTS : 0);
		next = (next > cur -> next : cur + 1);
		lapped = lapped + next - cur;
		cur = next;
		waited = 0;
stepped:
		w = 0; c0 = 0; c1 = 0; next = 0;
		assert(delivered + lapped + abandoned == cur) /* accounted */
	:: atomic { cur >= head && finished == NPROC } -> break
	od;
	assert(cur == head);
	assert(delivered + lapped + abandoned == head); /* accounted */
	consumer_done = true
}

ltl all_finish { <> (consumer_done && final_done) }

/* The final clean reclaim of entry i (atomic: nobody else runs any more), as the fixed one
 * (or the mutant's reclaim predicate); then nothing may stay held without a live holder. */
#define FINAL(i)                                                                                  \
	if                                                                                        \
	:: lock[i] == 0 && RHELD(EST(est[i])) ->                                                  \
		CHECK(reclaims_dead_owner, OWNERS_DEAD(i));                                       \
		for (k : 0 .. SLOTS - 1) { ABANDON_SLOT(k, i) }                                  \
		est[i] = MKE(DEAD, GEN(est[i]))                                                   \
	:: else                                                                                   \
	fi;                                                                                       \
	CHECK(no_leak, !HELD(EST(est[i])) || lock[i] != 0)

init
{
	byte i;
	atomic {
		for (i : 0 .. SLOTS - 1) {
			d0[i] = 255;
			d1[i] = 255
		}
		for (i : 0 .. NPROC - 1) {
			run producer(i)
		}
		for (i : 0 .. NRECL - 1) {
			run reclaimer(NPROC + i)
		}
		run consumer();
		i = 0
	}
	atomic {
		finished == NPROC && rdone == NRECL ->
		FINAL(0);
#if E > 1
		FINAL(1);
#endif
		for (k : 0 .. SLOTS - 1) {
			CHECK(no_leak, ST(ctl[k]) != WRITING || lock[OWN(ctl[k])] != 0)
		}
		final_done = true
	}
}
