/* Producer table: report entries for display (`evring info`, `ls`, `stats`, `metrics`).
 *
 * Registration and unregistration live in producer.c, reclaim in reclaim.c; the rules that make
 * them safe (the per-entry liveness lock, the state word and its generation) in liveness.c and
 * layout.h. Here `alive` is read from the same lock (F_OFD_GETLK: is anybody holding entry i?). A
 * process that may not open NAME~live (a reader without write access) cannot ask the kernel; it
 * falls back to whether the registering pid exists in its own pid namespace, a guess for display
 * that nothing ever acts on.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "ring_internal.h"

static bool pid_exists(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int evr_ring_producer_info(const struct evr_ring *r, unsigned idx, struct evr_producer_info *info)
{
	if (idx >= r->max_producers)
		return -EINVAL;
	struct evr_producer_entry *e = evr_ring_producer(r, idx);
	memset(info, 0, sizeof *info);
	/* acquire: pairs with the release that published the entry; pid and name are then complete */
	uint64_t w = atomic_load_explicit(&e->word, memory_order_acquire);
	info->state = evr_entry_state(w);
	info->generation = evr_entry_gen(w);
	if (info->state == EVR_PRODUCER_FREE)
		return -ENOENT;
	if (info->state == EVR_PRODUCER_CLAIMING) {
		info->alive = evr_live_held(r->live_fd, idx) == 1;
		return 0; /* its owner is still filling in the rest */
	}
	info->pid = e->pid;
	memcpy(info->service, e->service, sizeof info->service);
	info->service[sizeof info->service - 1] = '\0';
	/* relaxed: counters are statistics, each written by its owner only */
	info->emitted = atomic_load_explicit(&e->emitted, memory_order_relaxed);
	info->dropped = atomic_load_explicit(&e->dropped, memory_order_relaxed);
	info->lane_hint = atomic_load_explicit(&e->lane_hint, memory_order_relaxed);
	if (info->state == EVR_PRODUCER_LIVE || info->state == EVR_PRODUCER_RECLAIMING) {
		int held = evr_live_held(r->live_fd, idx);
		info->alive = held < 0 ? pid_exists(info->pid) : held == 1;
	}
	return 0;
}
