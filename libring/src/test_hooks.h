/* Test-only hooks, compiled in only when EVR_TEST_HOOKS is defined (the evring_testable library).
 * evr_test_hook_owned runs after a producer owns a slot and before it publishes it: a test sets it to
 * raise(SIGSTOP) or raise(SIGKILL) to stall or kill a producer exactly inside that window.
 * evr_test_hook_claimed runs after the fetch_add claim and before the ownership CAS: a producer stalled
 * there is the stale writer of the design note. */
#ifndef EVR_TEST_HOOKS_H
#define EVR_TEST_HOOKS_H

#include <stdint.h>

#ifdef EVR_TEST_HOOKS
extern void (*volatile evr_test_hook_owned)(unsigned lane, uint64_t pos);
extern void (*volatile evr_test_hook_claimed)(unsigned lane, uint64_t pos);
#define EVR_TEST_HOOK_CLAIMED(lane, pos)                                                          \
	do {                                                                                      \
		if (evr_test_hook_claimed)                                                        \
			evr_test_hook_claimed((lane), (pos));                                     \
	} while (0)
#define EVR_TEST_HOOK_OWNED(lane, pos)                                                            \
	do {                                                                                      \
		if (evr_test_hook_owned)                                                          \
			evr_test_hook_owned((lane), (pos));                                       \
	} while (0)
#else
#define EVR_TEST_HOOK_OWNED(lane, pos) ((void)(lane), (void)(pos))
#define EVR_TEST_HOOK_CLAIMED(lane, pos) ((void)(lane), (void)(pos))
#endif

#endif
