/* The process-local ring handle, shared by the private modules. Every layout field is copied out of
 * the header once, after validation, and never re-read: a neighbour that rewrites the header later
 * cannot steer this process outside its mapping. */
#ifndef EVR_RING_INTERNAL_H
#define EVR_RING_INTERNAL_H

#include "evring/describe.h"
#include <stdio.h>
#include <sys/stat.h>

#include "evring/ring.h"
#include "lane.h"
#include "layout.h"

struct evr_ring {
	char name[EVR_NAME_MAX + 1];
	enum evr_role role;
	int fd;
	unsigned char *base;
	size_t size;
	struct evr_shm_header *hdr;
	/* validated layout, copied from the header */
	/* lanes: every lane, what consumers read; the first shared_lanes are the per-CPU shared ones,
	 * the rest exclusive (lane.h) */
	uint32_t lanes, shared_lanes, slots, record_size, max_producers;
	uint64_t producers_offset, lanes_offset, lane_stride;
	enum evr_ts_source ts_source;
	uint64_t ring_id, schema_hash;
	int32_t creator_pid;
	uint32_t mode;
	uint64_t created_realtime_ns, created_mono_ns, created_ts, tsc_hz;
	/* the ring's description: a private copy, validated at open (a neighbour rewriting the region
	 * later cannot steer a decoder), and the table this process emits with (describe.h) */
	struct evr_desc_header *desc;
	const struct evr_desc_header *mine;
	/* per type of the ring: 1 when this process's layout of it differs (an older or newer table):
	 * evr_emit then adapts the record to the ring's layout (describe.c). NULL when none differs. */
	uint8_t *fix;
	/* set by the SIGBUS shield when the segment was truncated under us (see bus_shield.h) */
	atomic_int broken;
	/* the companion wake page; NULL when it could not be opened (consumers then poll with sleeps) */
	struct evr_wake_page *wake;
	/* NAME~live (liveness.c); -1 when this process may not open it (consumers without write access) */
	int live_fd;
	/* set by the SIGBUS shield when the wake page was truncated: only wakes are lost (see wake.c) */
	atomic_int wake_broken;
	/* 0; 1 while the first finder of a corruption writes `fault`; 2 once it is written (see
	 * evr_ring_mark_corrupt). Process-local, like broken. */
	atomic_int corrupt;
	char fault[256];
};

static inline struct evr_lane_ref evr_ring_lane(const struct evr_ring *r, unsigned lane)
{
	unsigned char *lb = r->base + r->lanes_offset + (uint64_t)lane * r->lane_stride;
	struct evr_lane_ref ref = {
		.hdr = (struct evr_lane_hdr *)(void *)lb,
		.slots = lb + EVR_LANE_HDR_SIZE,
		.mask = r->slots - 1,
		.record_shift = (uint32_t)__builtin_ctz(r->record_size),
	};
	return ref;
}

static inline struct evr_producer_entry *evr_ring_producer(const struct evr_ring *r, unsigned idx)
{
	return (struct evr_producer_entry *)(void *)(r->base + r->producers_offset) + idx;
}

/* The name of a ring's companion object: "NAME~wake", "NAME~live". */
#define EVR_COMPANION_NAME_MAX (EVR_NAME_MAX + 16)
static inline void evr_companion_name(const char *ring_name, const char *suffix, char out[EVR_COMPANION_NAME_MAX])
{
	snprintf(out, EVR_COMPANION_NAME_MAX, "%s~%s", ring_name, suffix);
}

/* Whether two descriptors refer to one object (both fstat-able, same inode on the same device). */
static inline bool evr_same_object(int a, int b)
{
	struct stat sa, sb;
	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

/* errors.c */
int evr_fail(struct evr_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* segment.c: the first call wins and its sentence is what evr_ring_fault() says; later polls and
 * emits of this process see evr_ring_status() == -EUCLEAN. */
void evr_ring_mark_corrupt(struct evr_ring *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* describe.c: the fix table of a producer whose table differs from the ring's; rec adapted to the
 * ring's layout into *tmp */
int evr_desc_fix_table(const struct evr_desc_header *ring, const struct evr_desc_header *mine, uint8_t **out);
const struct evr_record *evr_desc_adapt(const struct evr_ring *r, const struct evr_record *rec,
					struct evr_record *tmp);

/* wake.c */
int evr_wake_create(const char *ring_name, mode_t mode, atomic_int *broken, struct evr_wake_page **out,
		    struct evr_err *err);
struct evr_wake_page *evr_wake_open(const char *ring_name, uid_t ring_owner, atomic_int *broken);
void evr_wake_close(struct evr_wake_page *w);
int evr_wake_unlink(const char *ring_name);
void evr_wake_sleepers(struct evr_wake_page *w);
int evr_wake_wait(struct evr_wake_page *w, uint32_t seen_seq, int64_t timeout_ns);

/* producer.c: hold the lock that keeps fork() out of liveness-lock windows (and cancellation off);
 * enter returns the cancel state that leave restores */
int evr_fork_guard_enter(void);
void evr_fork_guard_leave(int cancel);

/* reclaim.c: abandon the WRITING slots of an owner whose liveness lock the caller holds */
unsigned evr_release_slots_of(struct evr_ring *r, unsigned owner);
/* reclaim.c: free the exclusive lanes of that owner (after its slots) */
void evr_release_xlanes_of(struct evr_ring *r, unsigned owner);

/* liveness.c */
int evr_live_create(const char *ring_name, mode_t ring_mode, int *fd_out);
int evr_live_open(const char *ring_name, int ring_fd, int *fd_out);
int evr_live_unlink(const char *ring_name);
int evr_live_reopen(int live_fd, const char *ring_name);
int evr_live_trylock(int fd, unsigned idx);
void evr_live_unlock(int fd, unsigned idx);
int evr_live_held(int fd, unsigned idx);

#endif
