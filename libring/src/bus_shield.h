/* SIGBUS shield for ring mappings. Another process can ftruncate a ring's shm object; touching a
 * page past the new end raises SIGBUS, which would kill a producer in the middle of an emit or a
 * consumer in the middle of a copy. Every mapped ring registers its range here, and so does every
 * mapping of its wake page (with a flag of its own: a truncated wake page costs wakes, not emits). On a SIGBUS inside
 * a registered range the handler maps an anonymous zero page over the faulting page, sets the
 * ring's `broken` flag and returns, so the faulting access completes harmlessly. Producers and
 * consumers check the flag (one process-local load) and fail with -EFAULT from then on.
 * Faults outside every registered range go to the handler that was there before.
 *
 * mmap is not on POSIX's async-signal-safe list, but on Linux it is a plain system call with no
 * locks in libc; this is the one place the library relies on that. */
#ifndef EVR_BUS_SHIELD_H
#define EVR_BUS_SHIELD_H

#include <stdatomic.h>
#include <stddef.h>

/* 0, or -ENOSPC when more mappings are registered at once than the table holds (128; a ring
 * registers two, its segment and its wake page): then that mapping is unshielded and a truncation
 * kills the process as it would without evring. */
int evr_bus_shield_add(void *base, size_t size, atomic_int *broken);
void evr_bus_shield_remove(void *base);
/* Whether a fault was absorbed in the mapping registered at base (its flag is set). A scan of the
 * table: for slow paths only. */
int evr_bus_shield_tripped(const void *base);

#endif
