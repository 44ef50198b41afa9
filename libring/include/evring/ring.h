/* evring ring segment: create, open, inspect, reclaim and unlink a ring.
 *
 * A ring is one POSIX shm object NAME (header page, producer table, lanes) plus a one-page companion
 * object NAME~wake that sleeping consumers use to ask producers for a futex wake, and an empty
 * companion NAME~live whose byte locks tell live producers from dead ones. Producers map the
 * ring read-write; consumers open it O_RDONLY and map it PROT_READ, so a consumer cannot corrupt it.
 *
 * Errors: every call returns 0 or a negative errno; evr_strerror() gives the text, and calls that
 * can fail for a reason worth explaining fill an optional struct evr_err with a full sentence
 * ("incompatible schema: type job_done field 1: the ring (v1) has u32 status at offset 48 ...").
 */
#ifndef EVRING_RING_H
#define EVRING_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVR_ABI_VERSION 4u /* 3: the segment stores its schema description; 4: exclusive lanes */
#define EVR_NAME_MAX 200     /* bytes, including the leading '/' */
#define EVR_MAX_LANES 256u
#define EVR_MAX_PRODUCERS 4096u
#define EVR_SERVICE_NAME_MAX 28 /* bytes, including the NUL */

struct evr_ring;
struct evr_desc_header; /* a schema description, evring/describe.h */

struct evr_err {
	int code;
	char msg[256];
};

enum evr_role { EVR_ROLE_PRODUCER = 1, EVR_ROLE_CONSUMER = 2 };

enum evr_ts_source {
	EVR_TS_AUTO = 0,      /* TSC when the kernel trusts it as a clocksource, else MONOTONIC */
	EVR_TS_MONOTONIC = 1, /* clock_gettime(CLOCK_MONOTONIC) through the vDSO */
	EVR_TS_TSC = 2,       /* rdtsc, calibrated against CLOCK_MONOTONIC (x86-64 only) */
};

struct evr_ring_opts {
	uint32_t lanes;          /* 0: one per online CPU; power of two after rounding up, <= 256 */
	uint32_t slots_per_lane; /* power of two, 2 .. 2^24; default 4096 */
	uint32_t record_size;    /* power of two, 128 .. 4096; default 128 */
	uint32_t max_producers;  /* 1 .. 4096; default 256 */
	mode_t mode;             /* default 0600 */
	enum evr_ts_source ts_source;
	/* required: the description of the event table the ring carries (describe.h; e.g. the
	 * platform's, evr_platform_desc() in evring/platform.h). Copied into the segment; must pass
	 * evr_desc_validate. libring itself knows no event table. */
	const struct evr_desc_header *schema;
	/* lanes owned by one producer at a time (evr_producer_open_flags with EVR_PRODUCER_EXCLUSIVE),
	 * after the shared ones; lanes + exclusive_lanes <= 256. Default 0. */
	uint32_t exclusive_lanes;
};

/* Fill opts with the defaults above (one lane per CPU, 4096 slots of 128 bytes, 256 producers, mode
 * 0600, timestamp source AUTO, no schema); set the schema and what else you need, then pass it to
 * evr_ring_create. */
void evr_ring_opts_default(struct evr_ring_opts *opts);

/* Name rules: a leading '/' (added if missing), then 1..EVR_NAME_MAX-1 of [A-Za-z0-9._-].
 * Returns 0; -EINVAL (empty, a character not allowed, "." or ".."); -ENAMETOOLONG. */
int evr_name_normalize(const char *name, char out[EVR_NAME_MAX + 1], struct evr_err *err);

/* Create NAME and map it read-write. Returns 0; -EINVAL (a bad name or option, no schema or an
 * invalid one); -ENAMETOOLONG; -EEXIST (NAME exists); -ENOTSUP (EVR_TS_TSC without a usable TSC); -EFBIG
 * (the ring would exceed the size limit); -ENOMEM; or the errno of shm_open, ftruncate or mmap
 * (-EACCES, -ENOSPC, ...). */
int evr_ring_create(const char *name, const struct evr_ring_opts *opts, struct evr_ring **out,
		    struct evr_err *err);
/* Open NAME: a producer maps it read-write, a consumer read-only. The process takes the ring's own
 * description as its table: it decodes records with evr_ring_schema(), and its evr_emit checks
 * records against it. Returns 0; -EINVAL (a bad name or role); -ENAMETOOLONG; -ENOENT (no such
 * ring); -EPROTO (not an evring ring, never initialised, another ABI or layout, a damaged schema
 * description); -ENOMEM; or the errno of shm_open, fstat or mmap (-EACCES, ...). */
int evr_ring_open(const char *name, enum evr_role role, struct evr_ring **out, struct evr_err *err);
/* evr_ring_open for a process built with an event table of its own, `schema` (NULL: none, as
 * evr_ring_open; otherwise it must pass evr_desc_validate, else -EINVAL, and stay valid until
 * evr_ring_close). The ring's stored description must be compatible with
 * it (evr_desc_compat: either may have appended types or fields); otherwise -EPROTO with a sentence
 * naming the type, the field and both definitions. */
int evr_ring_open_schema(const char *name, enum evr_role role, const struct evr_desc_header *schema,
			 struct evr_ring **out, struct evr_err *err);
/* The ring's own description, as validated at create or open: decode any record of the ring with
 * it (evr_desc_record_to_json), whatever table this program was built with. Valid until
 * evr_ring_close(). */
const struct evr_desc_header *evr_ring_schema(const struct evr_ring *ring);
/* Unmap the ring in this process; the ring itself stays until evr_ring_unlink. */
void evr_ring_close(struct evr_ring *ring);
/* Remove NAME and its companions NAME~wake and NAME~live. Processes that have it mapped keep their
 * mapping. Returns 0 (also when only companions were left, by a creator killed mid-create); -EINVAL;
 * -ENAMETOOLONG; -ENOENT when none of the three exists; or the errno of shm_unlink (-EACCES, ...). */
int evr_ring_unlink(const char *name, struct evr_err *err);

/* Text for an error this library returned, in the ring's terms: -EEXIST is "a ring with that name
 * already exists", -ENOENT "no such ring" (so a caller names file errors itself). */
const char *evr_strerror(int err);

struct evr_ring_info {
	char name[EVR_NAME_MAX + 1];
	uint32_t abi_version, schema_version;
	uint64_t schema_hash;
	uint32_t lanes, slots_per_lane, record_size, max_producers;
	uint64_t segment_size;
	uint64_t ring_id; /* random, fixed at creation: names this ring in cursors and bridges */
	int32_t creator_pid;
	uint64_t created_realtime_ns;
	enum evr_ts_source ts_source;
	uint64_t tsc_hz; /* calibrated at creation when ts_source is TSC */
	mode_t mode;
	/* of `lanes`, the last exclusive_lanes are exclusive (owned by one producer at a time); the
	 * others are shared by every producer, one per CPU */
	uint32_t exclusive_lanes;
};

/* Copy the ring's validated layout and identity (as read once at create or open) into *info. */
void evr_ring_get_info(const struct evr_ring *ring, struct evr_ring_info *info);
/* The next position producers will claim in lane `lane` (0 for a lane that does not exist): a
 * snapshot, for lag and display. */
uint64_t evr_ring_lane_head(const struct evr_ring *ring, unsigned lane);
/* The role the ring was opened with (evr_ring_create opens as EVR_ROLE_PRODUCER). */
enum evr_role evr_ring_role(const struct evr_ring *ring);

/* Whether this process opened the ring's wake page read-write, so that evr_consumer_wait() sleeps
 * on the futex; if not (no write access to NAME~wake), it naps 1 ms at a time instead. */
bool evr_ring_can_sleep(const struct evr_ring *ring);

/* 0, or -EFAULT once this process found the segment truncated under it. Nothing crashes: the
 * missing pages read as zeros and writes to them go nowhere; emits and polls fail with -EFAULT.
 * Or -EUCLEAN once a consumer of this process found the ring corrupted (a lane head that moved
 * backwards or jumped further than producers can claim, a header that vanished): polls then fail
 * with -EUCLEAN instead of reporting the damage as emptiness or as lost records. */
int evr_ring_status(const struct evr_ring *ring);

/* NULL while evr_ring_status() is 0; otherwise a sentence saying what was found, e.g.
 * "ring /r corrupted: lane 0 head moved backwards from 1000 to 12". Valid until evr_ring_close(). */
const char *evr_ring_fault(const struct evr_ring *ring);

/* A producer table entry's life: FREE -> CLAIMING -> LIVE -> CLOSED (closed by its owner) or
 * RECLAIMING -> DEAD (its process died; a reclaimer released what it held). CLOSED and DEAD entries
 * keep their counters for display until the entry is reused (FREE ones first). */
enum evr_producer_state {
	EVR_PRODUCER_FREE = 0,
	EVR_PRODUCER_CLAIMING = 1,
	EVR_PRODUCER_LIVE = 2,
	EVR_PRODUCER_CLOSED = 3,
	EVR_PRODUCER_DEAD = 4,
	EVR_PRODUCER_RECLAIMING = 5,
};

struct evr_producer_info {
	enum evr_producer_state state;
	uint64_t generation; /* grows by one each time the entry is registered */
	int32_t pid;         /* of the registering process, in its pid namespace; for display */
	bool alive;          /* CLAIMING, LIVE or RECLAIMING, and its holder's liveness lock is held (a
			      * reader that cannot open NAME~live gets a guess from the pid instead;
			      * CLAIMING entries have no pid, name or counters yet) */
	char service[EVR_SERVICE_NAME_MAX];
	uint64_t emitted, dropped;
	uint32_t lane_hint;
};

/* Returns 0; -EINVAL for idx >= max_producers; -ENOENT for an entry that was never used. */
int evr_ring_producer_info(const struct evr_ring *ring, unsigned idx, struct evr_producer_info *info);

struct evr_reclaim_report {
	unsigned producers_reclaimed; /* entries whose holder died (LIVE, CLAIMING, RECLAIMING), now DEAD */
	unsigned slots_reclaimed;     /* slots those holders left mid-write, now abandoned */
};

/* Slow path for maintenance (producer role only): release what dead producers left behind. An
 * entry is dead when its liveness lock (an OFD lock the kernel drops when the holding process is
 * gone, see docs/design.md) can be taken while the entry is still registered; a stopped or slow
 * producer keeps its lock and is never touched. Under that lock the reclaimer turns the dead
 * owner's WRITING slots into ABANDONED, then marks the entry DEAD (reusable). Any number of
 * processes may reclaim at once: each entry is acted on by one of them. Called by
 * evr_producer_open and by `evring reclaim`.
 * Returns 0, -EBADF for a consumer-role ring, or a negative errno when the liveness object cannot be
 * opened. */
int evr_ring_reclaim(struct evr_ring *ring, struct evr_reclaim_report *report);

#ifdef __cplusplus
}
#endif
#endif
