/* Test-only hooks, compiled in only when EVR_TEST_HOOKS is defined (the evring_testable library).
 * A test sets a hook to raise(SIGSTOP), raise(SIGKILL) or sleep, to stop, kill or delay a process
 * exactly inside one window of the protocol:
 *   evr_test_hook_claimed  after the claim of a position (the fetch_add; on an exclusive lane the head
 *                          store), before the slot is owned (the stale writer);
 *   evr_test_hook_owned    after the slot is owned (the CAS; the WRITING store), before the publish
 *                          (a writer stalled mid-slot; evr_claim returns after it);
 *   evr_test_hook_entry    at the producer-table steps named by enum evr_hook_point below;
 *   evr_test_hook_not_yet  in a consumer's poll, after the slot at the cursor read as not yet
 *                          published, before it decides to wait (a publish landing in between). */
#ifndef EVR_TEST_HOOKS_H
#define EVR_TEST_HOOKS_H

#include <stdint.h>

enum evr_hook_point {
	EVR_HOOK_REGISTER_CLAIMING, /* a registrant holds entry idx's lock and made it CLAIMING */
	EVR_HOOK_RECLAIM_LOCKED,  /* a reclaimer holds idx's lock, before it re-reads the entry */
	EVR_HOOK_RECLAIM_MARKED,  /* the entry is RECLAIMING, before the dead owner's slots are released */
	EVR_HOOK_RECLAIM_RELEASED, /* the slots are released, before the entry is marked DEAD */
	EVR_HOOK_OPEN_VALIDATED,   /* evr_ring_open validated the header, before it opens the companions */
};

/* EVR_TEST_HOOK_CLAIMED and EVR_TEST_HOOK_OWNED are in evring/bits/producer_fast.h: the claim they
 * sit in is inlined into callers, which then call the hooks too (the testable build's users get
 * EVR_TEST_HOOKS defined). */
#include "evring/bits/producer_fast.h"

#ifdef EVR_TEST_HOOKS
extern void (*volatile evr_test_hook_entry)(enum evr_hook_point at, unsigned idx);
extern void (*volatile evr_test_hook_not_yet)(unsigned lane, uint64_t pos);
#define EVR_TEST_HOOK_ENTRY(at, idx) EVR_TEST_HOOK_CALL(evr_test_hook_entry, at, idx)
#define EVR_TEST_HOOK_NOT_YET(lane, pos) EVR_TEST_HOOK_CALL(evr_test_hook_not_yet, lane, pos)
#else
#define EVR_TEST_HOOK_NOT_YET(lane, pos) ((void)(lane), (void)(pos))
#define EVR_TEST_HOOK_ENTRY(at, idx) ((void)(at), (void)(idx))
#endif

#endif
