/* Shared-memory layout of a ring segment. Offsets only, never pointers: every process maps the
 * segment at its own address.
 *
 *   0                      header page (struct evr_shm_header), EVR_HEADER_SIZE bytes
 *   schema_offset          the ring's schema description (evring/describe.h), schema_size bytes,
 *                          its region rounded up to whole pages; written once, before the magic
 *   producers_offset       producer table: max_producers entries of 64 bytes, one cache line each
 *   lanes_offset           lane 0: struct evr_lane_hdr (128 bytes), then slots_per_lane slots of
 *                          record_size bytes; lane 1 at lanes_offset + lane_stride; ...
 *                          lane_count shared lanes, then exclusive_lanes exclusive ones (one owner
 *                          at a time, named in the lane header's `owner`; see lane.h)
 *
 * A slot is a struct evr_record whose first 8 bytes are the slot's control word (see lane.h).
 * The companion object NAME~wake holds one struct evr_wake_page (see wake.c); NAME~live is an empty
 * object whose byte i is the liveness lock of producer entry i (see liveness.c).
 *
 * Initialisation order: the creator fills everything, then publishes `magic` with a release store;
 * an attacher acquire-loads `magic` before reading anything else.
 */
#ifndef EVR_LAYOUT_H
#define EVR_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "evring/ring.h"

#define EVR_MAGIC 0x31474e4952525645ull /* "EVRRING1" little-endian */
#define EVR_HEADER_SIZE 4096u
#define EVR_CACHELINE 64u
#define EVR_LANE_HDR_SIZE 128u /* head alone on a line; the adjacent-line prefetcher pulls pairs */

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free to work across processes");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free to work across processes");

struct evr_shm_header {
	_Atomic uint64_t magic;      /*   0: published last (release) */
	uint32_t abi_version;        /*   8 */
	uint32_t schema_version;     /*  12 */
	uint64_t schema_hash;        /*  16 */
	uint64_t segment_size;       /*  24 */
	uint32_t header_size;        /*  32 */
	uint32_t record_size;        /*  36 */
	uint32_t lane_count;         /*  40 */
	uint32_t slots_per_lane;     /*  44 */
	uint32_t max_producers;      /*  48 */
	uint32_t ts_source;          /*  52: enum evr_ts_source, never AUTO */
	uint64_t producers_offset;   /*  56 */
	uint64_t lanes_offset;       /*  64 */
	uint64_t lane_stride;        /*  72 */
	uint64_t ring_id;            /*  80 */
	int32_t creator_pid;         /*  88 */
	uint32_t mode;               /*  92 */
	uint64_t created_realtime_ns; /* 96: the clock pair taken together at creation */
	uint64_t created_mono_ns;    /* 104 */
	uint64_t created_ts;         /* 112: the ring's timestamp source at creation */
	uint64_t tsc_hz;             /* 120: TSC ticks per second, calibrated at creation (TSC only) */
	char name[EVR_NAME_MAX + 8]; /* 128 */
	uint64_t schema_offset;      /* 336: EVR_HEADER_SIZE */
	uint32_t schema_size;        /* 344: bytes of the description */
	uint32_t exclusive_lanes;    /* 348: after the lane_count shared lanes (ABI 4) */
};
_Static_assert(offsetof(struct evr_shm_header, name) == 128, "header layout is fixed");
_Static_assert(offsetof(struct evr_shm_header, schema_offset) == 336, "header layout is fixed");
_Static_assert(sizeof(struct evr_shm_header) <= EVR_HEADER_SIZE, "header fits its page");

/* One producer table entry, one cache line: only its owner writes the counters, so emitting never
 * shares a written line with another producer. `word` is changed only by whoever holds the entry's
 * liveness lock (liveness.c), always by CAS; its generation grows by one at every registration, so
 * an entry reused by a new owner never looks like its old self. */
struct evr_producer_entry {
	_Atomic uint64_t word;      /*  0: enum evr_producer_state (bits 0-7) | generation << 8 */
	int32_t pid;                /*  8: for display only; never used to judge liveness */
	_Atomic uint32_t lane_hint; /* 12: the lane it last emitted on */
	_Atomic uint64_t emitted;   /* 16: written by the owner only (relaxed) */
	_Atomic uint64_t dropped;   /* 24: written by the owner only (relaxed) */
	char service[EVR_SERVICE_NAME_MAX]; /* 32 */
	uint32_t reserved;          /* 60 */
};
_Static_assert(sizeof(struct evr_producer_entry) == EVR_CACHELINE, "one line per producer");
_Static_assert(offsetof(struct evr_producer_entry, emitted) == 16, "entry layout is fixed");

static inline uint64_t evr_entry_word(enum evr_producer_state st, uint64_t gen)
{
	return gen << 8 | (uint64_t)st;
}

static inline enum evr_producer_state evr_entry_state(uint64_t w)
{
	return (enum evr_producer_state)(w & 0xffu);
}

static inline uint64_t evr_entry_gen(uint64_t w)
{
	return w >> 8;
}

/* `owner` is used by exclusive lanes only: 0 when free, else 1 + the owner's producer table index.
 * It is on the second line, away from the head: it is written at registration, close and reclaim,
 * by whoever holds that producer entry's liveness lock (see lane.h, "Exclusive lanes"). */
struct evr_lane_hdr {
	alignas(EVR_CACHELINE) _Atomic uint64_t head; /* next position to claim */
	unsigned char pad[EVR_CACHELINE - sizeof(uint64_t)];
	alignas(EVR_CACHELINE) _Atomic uint64_t owner;
	unsigned char pad2[EVR_CACHELINE - sizeof(uint64_t)];
};
_Static_assert(sizeof(struct evr_lane_hdr) == EVR_LANE_HDR_SIZE, "lane header is 128 bytes");
_Static_assert(offsetof(struct evr_lane_hdr, head) == 0, "head first: evr_lane_head_word (bits/producer_fast.h) and its own cache line");
_Static_assert(offsetof(struct evr_lane_hdr, owner) == EVR_CACHELINE, "owner on the second line");

/* The wake page (object NAME~wake): the one thing consumers write. Producers treat it as a hint:
 * a hostile value costs spurious or missed wakes (bounded by the sleeper's timeout), nothing more. */
struct evr_wake_page {
	alignas(EVR_CACHELINE) _Atomic uint32_t waiters; /* a consumer sleeps or is about to */
	alignas(EVR_CACHELINE) _Atomic uint32_t seq;     /* the futex word: bumped before each wake */
};

static inline size_t evr_align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline int evr_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

#endif
