/* SIGBUS guard for consumer reads. Another process can ftruncate the shm object under a consumer;
 * touching a page past the new end raises SIGBUS. Consumer reads run inside a guard: the handler
 * (installed once, chaining to any previous handler for faults outside a guarded range) jumps back
 * to the guard, and the read fails with -EFAULT instead of killing the process. */
#ifndef EVR_BUS_GUARD_H
#define EVR_BUS_GUARD_H

#include <stddef.h>

void evr_bus_guard_install(void);

/* Run fn(arg) with SIGBUS inside [base, base+size) turned into a -EFAULT return. The jump target
 * lives in this call's own frame, so callers have no variables for longjmp to clobber. */
int evr_bus_guarded(const void *base, size_t size, int (*fn)(void *), void *arg);

#endif
