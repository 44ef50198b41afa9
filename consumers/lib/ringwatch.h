/* What became of a ring's name while we read the ring: unlinking a ring removes only its name, and
 * every process that has it mapped keeps reading (and producing into) the orphaned object, while a
 * new ring of that name is a different object. `evring tail --follow` asks this to behave like
 * `tail -F`; `evring unlink` asks which processes still have a ring mapped. Linux only (/proc). */
#ifndef EVR_RINGWATCH_H
#define EVR_RINGWATCH_H

#include <stdint.h>
#include <sys/types.h>

enum evr_name_state {
	EVR_NAME_SAME = 0,     /* NAME still opens the ring with this ring_id */
	EVR_NAME_UNLINKED = 1, /* no ring of that name any more: ours is orphaned */
	EVR_NAME_REPLACED = 2, /* NAME now opens another ring (or an object that is not one) */
};

/* Opens NAME read-only for a moment and compares its ring_id; for a follower, once a second. */
enum evr_name_state evr_ring_name_state(const char *name, uint64_t ring_id);

/* Processes other than this one that have the shm object NAME mapped, from /proc/PID/maps (only
 * those this user may inspect). Fills up to max pids; returns how many were found in all. */
int evr_ring_mappers(const char *name, pid_t *pids, int max);

#endif
