/* PRIVATE to libevring: the producer's fast path, inlined into the caller the way liburing inlines
 * its submission ring. Include evring/producer.h, never this file; use evr_claim_fast() and
 * evr_commit_fast() from there (and the typed evr_emit_<type>() of evring/emit.h, built on them).
 *
 * ABI: the layout of struct evr_lane_ref and struct evr_producer_hot, and the slot control word
 * below, are compiled into every caller. libevring changes any of them only with a new soname.
 *
 * The slot protocol (the whole argument is in libring/src/lane.h and model/): a slot starts with a
 * 64-bit control word,
 *
 *     bits 63..14  position (mod 2^50; full positions are rebuilt relative to a nearby position)
 *     bits 13..2   owner: the producer table index of the writer
 *     bits  1..0   state: EMPTY (never written), WRITING, COMMITTED, ABANDONED
 *
 * A writer claims a position (shared lane: fetch_add on the head; exclusive lane: plain load and
 * store of the head, by its one owner), owns the slot (shared: CAS from "older position, not
 * WRITING" to WRITING; exclusive: a plain store after the same check), writes the body, and
 * publishes COMMITTED with a release store. Atomics here are the GCC builtins on plain integers,
 * so the header is C and C++; libevring's own code uses C11 atomics on the same words. */
#ifndef EVRING_BITS_PRODUCER_FAST_H
#define EVRING_BITS_PRODUCER_FAST_H

#include <stdint.h>
#include <time.h>

#include "../record.h"

/* The thread pointer is read where that is known to compile: __has_builtin(__builtin_thread_pointer)
 * is no proof (GCC says yes on ppc64le, then refuses to expand it; clang 12 on x86-64 crashes). */
#if defined(__linux__) && defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35)) && \
	((defined(__x86_64__) && defined(__LP64__)) || defined(__aarch64__))
#include <sys/rseq.h>
#define EVR_X_HAVE_RSEQ 1
#endif
#ifndef EVR_X_HAVE_RSEQ
#define EVR_X_HAVE_RSEQ 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct evr_producer;

/* The emit path's pieces are inlined whatever the optimizer's size heuristics say (they would keep a
 * typed emit out of line at two call sites, and with it every literal string's strlen). */
#define EVR_X_INLINE static inline __attribute__((always_inline))

/* ---- the slot control word ---- */
enum evr_slot_state { EVR_SLOT_EMPTY = 0, EVR_SLOT_WRITING = 1, EVR_SLOT_COMMITTED = 2, EVR_SLOT_ABANDONED = 3 };

#define EVR_CTL_POS_SHIFT 14
#define EVR_CTL_OWNER_SHIFT 2
#define EVR_CTL_OWNER_MASK 0xfffu

/* The owner's bits of a control word: computed once per producer (evr_producer_hot.owner_bits). */
static inline uint64_t evr_ctl_owner_bits(unsigned owner)
{
	return (uint64_t)(owner & EVR_CTL_OWNER_MASK) << EVR_CTL_OWNER_SHIFT;
}

static inline uint64_t evr_ctl_word(uint64_t pos, uint64_t owner_bits, enum evr_slot_state st)
{
	return (pos << EVR_CTL_POS_SHIFT) | owner_bits | (uint64_t)st;
}

static inline uint64_t evr_ctl_make(uint64_t pos, unsigned owner, enum evr_slot_state st)
{
	return evr_ctl_word(pos, evr_ctl_owner_bits(owner), st);
}

static inline enum evr_slot_state evr_ctl_state(uint64_t w)
{
	return (enum evr_slot_state)(w & 3u);
}

static inline unsigned evr_ctl_owner(uint64_t w)
{
	return (unsigned)(w >> EVR_CTL_OWNER_SHIFT) & EVR_CTL_OWNER_MASK;
}

/* The full position stored in w, taken as the one nearest to `near` (within 2^49). */
static inline uint64_t evr_ctl_pos(uint64_t w, uint64_t near)
{
	uint64_t stored = w >> EVR_CTL_POS_SHIFT;
	int64_t diff = (int64_t)((stored - near) << EVR_CTL_POS_SHIFT) >> EVR_CTL_POS_SHIFT;
	return near + (uint64_t)diff;
}

/* A writer of position pos may take a slot whose word is EMPTY, or holds an older position that is
 * not being written. */
static inline int evr_slot_claimable(uint64_t w, uint64_t pos)
{
	enum evr_slot_state st = evr_ctl_state(w);
	if (st == EVR_SLOT_EMPTY)
		return 1;
	return st != EVR_SLOT_WRITING && evr_ctl_pos(w, pos) < pos;
}

/* ---- test hooks: only in the evring_testable build, which defines EVR_TEST_HOOKS for its users ---- */
#ifdef EVR_TEST_HOOKS
extern void (*volatile evr_test_hook_claimed)(unsigned lane, uint64_t pos);
extern void (*volatile evr_test_hook_owned)(unsigned lane, uint64_t pos);
/* Call a hook when a test has set it. */
#define EVR_TEST_HOOK_CALL(hook, a, b)                                                            \
	do {                                                                                      \
		if (hook)                                                                         \
			hook((a), (b));                                                           \
	} while (0)
#define EVR_TEST_HOOK_CLAIMED(lane, pos) EVR_TEST_HOOK_CALL(evr_test_hook_claimed, lane, pos)
#define EVR_TEST_HOOK_OWNED(lane, pos) EVR_TEST_HOOK_CALL(evr_test_hook_owned, lane, pos)
#else
#define EVR_TEST_HOOK_CLAIMED(lane, pos) ((void)(lane), (void)(pos))
#define EVR_TEST_HOOK_OWNED(lane, pos) ((void)(lane), (void)(pos))
#endif

/* ---- claiming a slot ---- */
struct evr_lane_hdr; /* its first word is the lane's head: the next position to claim */

struct evr_lane_ref {
	struct evr_lane_hdr *hdr;
	unsigned char *slots;
	uint64_t mask;
	uint32_t record_shift; /* log2 of the record size (a power of two): no multiply per slot */
};

static inline uint64_t *evr_lane_head_word(const struct evr_lane_ref *l)
{
	return (uint64_t *)(void *)l->hdr;
}

static inline unsigned char *evr_lane_slot(const struct evr_lane_ref *l, uint64_t pos)
{
	return l->slots + ((pos & l->mask) << l->record_shift);
}

static inline uint64_t *evr_slot_word(unsigned char *slot)
{
	return (uint64_t *)(void *)slot;
}

/* Claim a position on a shared lane and own its slot: the slot, now WRITING(*pos, owner), or NULL
 * when dropped because the slot is held by a stalled writer or was already reused by a newer lap. */
EVR_X_INLINE unsigned char *evr_lane_claim(const struct evr_lane_ref *l, unsigned lane, uint64_t owner_bits,
					    uint64_t *pos_out)
{
	/* relaxed: the claim only hands out a unique position; the slot's word orders the data */
	uint64_t pos = __atomic_fetch_add(evr_lane_head_word(l), 1, __ATOMIC_RELAXED);
	*pos_out = pos;
	EVR_TEST_HOOK_CLAIMED(lane, pos);
	unsigned char *slot = evr_lane_slot(l, pos);
	uint64_t *ctl = evr_slot_word(slot);
	/* relaxed: only a first guess for the CAS below, which re-reads the word atomically */
	uint64_t w = __atomic_load_n(ctl, __ATOMIC_RELAXED);
	for (;;) {
		if (!evr_slot_claimable(w, pos))
			return 0;
		/* acquire: our body stores below cannot move above taking ownership. A failed CAS reloads
		 * w and we re-judge it: the word only ever moves forward, so this loop is bounded. */
		if (__atomic_compare_exchange_n(ctl, &w, evr_ctl_word(pos, owner_bits, EVR_SLOT_WRITING), 1,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
	}
	/* release fence: pairs with the acquire fence in evr_lane_read(). A reader whose copy saw any
	 * byte stored below is then guaranteed to re-read the word as WRITING(pos) or newer. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	EVR_TEST_HOOK_OWNED(lane, pos);
	return slot;
}

/* The same on an exclusive lane, by its owner (the only writer of its head and slot words). */
EVR_X_INLINE unsigned char *evr_xlane_claim(const struct evr_lane_ref *l, unsigned lane, uint64_t owner_bits,
					     uint64_t *pos_out)
{
	/* relaxed load and store: only the owner writes the head (the acquire of the owner word at
	 * registration made the previous owner's last head visible); consumers read it as a bound */
	uint64_t *head = evr_lane_head_word(l);
	uint64_t pos = __atomic_load_n(head, __ATOMIC_RELAXED);
	__atomic_store_n(head, pos + 1, __ATOMIC_RELAXED);
	*pos_out = pos;
	EVR_TEST_HOOK_CLAIMED(lane, pos);
	unsigned char *slot = evr_lane_slot(l, pos);
	uint64_t *ctl = evr_slot_word(slot);
	/* relaxed: nobody else writes this lane's words while we own it (a reclaimer only turns a dead
	 * owner's WRITING words); the check drops instead of overwriting a newer position */
	if (!evr_slot_claimable(__atomic_load_n(ctl, __ATOMIC_RELAXED), pos))
		return 0;
	/* relaxed store, then a release fence: pairs with the acquire fence in evr_lane_read(). A reader
	 * whose copy saw any byte stored after the fence re-reads WRITING(pos) or newer. On x86 both are
	 * plain instructions: no locked instruction on the exclusive path. */
	__atomic_store_n(ctl, evr_ctl_word(pos, owner_bits, EVR_SLOT_WRITING), __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	EVR_TEST_HOOK_OWNED(lane, pos);
	return slot;
}

/* Publish an owned slot: the body written before it is visible with COMMITTED(pos). */
EVR_X_INLINE void evr_lane_publish(unsigned char *slot, uint64_t pos, uint64_t owner_bits)
{
	/* release: pairs with the acquire load in evr_lane_read(); the body is visible before COMMITTED */
	__atomic_store_n(evr_slot_word(slot), evr_ctl_word(pos, owner_bits, EVR_SLOT_COMMITTED), __ATOMIC_RELEASE);
}

/* ---- the producer handle's hot part: the first member of struct evr_producer ---- */
struct evr_producer_hot {
	/* line 0: what every inline claim reads */
	struct evr_lane_ref own;    /* the lane we write: our exclusive one (xlane >= 0), else the shared
				     * lane of the CPU of our last claim (last_lane) */
	uint64_t owner_bits;        /* our id as a control word holds it (evr_ctl_owner_bits) */
	struct evr_record *claim;   /* the open claim's record (in place or staged), or NULL */
	uint32_t inline_types;      /* claims of types below it may take the inline path; 0 disarms it
				     * (after fork, under ThreadSanitizer) */
	int32_t xlane;              /* our exclusive lane, or -1: claims go to the shared lane of the CPU */
	uint32_t last_lane;         /* the lane of our last claim (lane_hint in the producer table) */
	uint16_t id;                /* our producer table index */
	uint8_t tsc;                /* the ring stamps with rdtsc (else CLOCK_MONOTONIC) */
	uint8_t pad;
	/* line 1: the commit, and the shared lanes */
	uint64_t emitted;           /* private copy of the entry's counter */
	uint64_t *emitted_word;     /* the producer table entry's counter (shared memory) */
	const uint32_t *waiters;    /* the wake page's `waiters`, or a zero of the library's */
	const int *broken;          /* the ring's SIGBUS flag (process-local) */
	const struct evr_lane_ref *lanes; /* every lane of the ring */
	uint32_t *lane_hint_word;   /* the entry's lane_hint */
	uint32_t lane_mask;         /* shared lanes - 1 */
	uint16_t claim_type;        /* the open claim's type */
	uint16_t claim_lane;        /* and lane */
	/* line 2: evr_claim_fast / evr_commit_fast and the library's claims */
	uint64_t claim_pos;         /* the open claim's position */
	unsigned char *claim_slot;  /* the open claim's slot (WRITING), or NULL for a staged claim */
	unsigned char *inplace;     /* the same while evr_commit_fast may publish it, or NULL */
};
#if UINTPTR_MAX == UINT64_MAX /* the line split is laid out for 64-bit pointers; 32-bit ones pack tighter */
EVR_STATIC_ASSERT(offsetof(struct evr_producer_hot, emitted) == 64, "the inline claim reads one line");
EVR_STATIC_ASSERT(offsetof(struct evr_producer_hot, lane_hint_word) + 8 <= 128, "the typed emit touches two lines");
#endif

#ifndef EVRING_PRODUCER_H /* declared there already (-Wredundant-decls); libevring includes this alone */
int evr_claim(struct evr_producer *p, unsigned type, struct evr_record **rec);
int evr_commit(struct evr_producer *p);
uint64_t evr_producer_now(const struct evr_producer *p);
#endif

/* Out of line, in libevring: the drop of a claim whose slot could not be owned (counted, a sleeping
 * consumer woken: -EAGAIN), and the end of a commit that found the ring broken (-EFAULT, counted as
 * a drop) or a consumer asleep (counted, woken: 0). */
int evr_x_claim_dropped(struct evr_producer *p);
int evr_x_commit_finish(struct evr_producer *p);

/* The CPU this thread runs on, from the rseq area glibc registered (no call, no syscall); negative
 * when there is none: glibc stores RSEQ_CPU_ID_REGISTRATION_FAILED (-2) in its area when it did not
 * register one (kernel without rseq, glibc.pthread.rseq=0), so the area is read without first
 * loading __rseq_size. */
EVR_X_INLINE int evr_x_cpu(void)
{
#if EVR_X_HAVE_RSEQ
#if defined(__x86_64__)
	const char *tp; /* %fs:0 holds the thread control block's own address (x86-64 TLS ABI) */
	__asm__("mov %%fs:0, %0" : "=r"(tp));
#else
	const char *tp = (const char *)__builtin_thread_pointer();
#endif
	const struct rseq *rs = (const struct rseq *)(const void *)(tp + __rseq_offset);
	/* relaxed: the kernel updates it on migration; a stale value only picks another lane */
	return (int)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
#else
	return -1;
#endif
}

EVR_X_INLINE uint64_t evr_x_now(const struct evr_producer_hot *h)
{
	(void)h; /* used only by some of the branches below */
#if defined(__x86_64__) || defined(__i386__)
	if (h->tsc)
		return __builtin_ia32_rdtsc();
#endif
#ifdef CLOCK_MONOTONIC
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
#else
	/* a strict ISO C build (-std=c11, no _POSIX_C_SOURCE): <time.h> declares no clock_gettime, so
	 * the library reads the same clock (h is the start of the handle) */
	return evr_producer_now((const struct evr_producer *)(const void *)h);
#endif
}

/* Zero a slot's body (all but the control word) with 16-byte stores, written out: a loop here is
 * what compilers turn into `rep stos`, several times slower for 120 bytes. */
typedef uint64_t evr_x_v2 __attribute__((vector_size(16), may_alias));
EVR_X_INLINE void evr_x_zero_body(unsigned char *b)
{
	evr_x_v2 z = { 0, 0 };
	*(uint64_t *)(void *)(b + 8) = 0;
	*(evr_x_v2 *)(void *)(b + 16) = z;
	*(evr_x_v2 *)(void *)(b + 32) = z;
	*(evr_x_v2 *)(void *)(b + 48) = z;
	*(evr_x_v2 *)(void *)(b + 64) = z;
	*(evr_x_v2 *)(void *)(b + 80) = z;
	*(evr_x_v2 *)(void *)(b + 96) = z;
	*(evr_x_v2 *)(void *)(b + 112) = z;
}
EVR_STATIC_ASSERT(EVR_RECORD_SIZE == 128, "evr_x_zero_body writes 128-byte records");

/* Stamp a claimed record (zeroed) as evr_claim hands it out. */
EVR_X_INLINE void evr_x_stamp_claim(const struct evr_producer_hot *h, struct evr_record *rec, uint64_t ts,
				     unsigned type, unsigned lane)
{
	rec->ts = ts;
	/* type, flags (0), producer id and lane as one 8-byte store: evr_commit_fast loads type and
	 * flags back, and a load forwarded from a wider vector store (the zeroing) stalls */
	struct { uint16_t type, flags, producer_id, lane; } ids = { (uint16_t)type, 0, h->id, (uint16_t)lane };
	__builtin_memcpy(&rec->type, &ids, sizeof ids);
}

/* Own a slot of lane `lane`: our exclusive one when xlane >= 0, else a shared one. The slot,
 * WRITING at *pos, or NULL when the record must be dropped (the lane protocol above says when). */
EVR_X_INLINE unsigned char *evr_x_take_slot(struct evr_producer_hot *h, int xlane, unsigned lane, uint64_t *pos)
{
	if (xlane >= 0)
		return evr_xlane_claim(&h->own, lane, h->owner_bits, pos);
	/* `own` holds the last CPU's lane: while the CPU stays, the claim's chain of loads does not
	 * wait for the CPU number (the branch is predicted) */
	if (__builtin_expect(lane != h->last_lane, 0)) {
		h->last_lane = lane;
		h->own = h->lanes[lane];
		/* relaxed: for display only */
		__atomic_store_n(h->lane_hint_word, lane, __ATOMIC_RELAXED);
	}
	return evr_lane_claim(&h->own, lane, h->owner_bits, pos);
}

/* Note the open claim in the handle, where evr_commit, evr_commit_fast and evr_abort find it: its
 * record, its slot (NULL for a staged claim), the slot again when evr_commit_fast may publish it
 * (else NULL), its position, type and lane. */
EVR_X_INLINE void evr_x_note_claim(struct evr_producer_hot *h, struct evr_record *rec, unsigned char *slot,
				   unsigned char *inplace, uint64_t pos, unsigned type, unsigned lane)
{
	h->claim = rec;
	h->claim_slot = slot;
	h->inplace = inplace;
	h->claim_pos = pos;
	h->claim_type = (uint16_t)type;
	h->claim_lane = (uint16_t)lane;
}

/* A claim made inline, carried in the caller's registers. */
struct evr_x_claim {
	struct evr_record *rec; /* the slot, zeroed and stamped */
	uint64_t pos;
	unsigned lane;
	int inl; /* 1: made inline, to be published with evr_x_publish; 0: made by evr_claim */
};

/* evr_claim's common case, inline: own a slot, zero and stamp it. 1 with *c filled; 0 when there is
 * no inline way (no rseq to tell the CPU; a ring found broken, which evr_claim answers); -EAGAIN
 * when the slot was not claimable (counted). The caller checked inline_types and that no claim is
 * open. */
EVR_X_INLINE int evr_x_claim_inline(struct evr_producer *p, struct evr_producer_hot *h, unsigned type,
				     struct evr_x_claim *c)
{
	/* relaxed: the ring's SIGBUS flag (process-local); a truncation after this load is caught by
	 * the commit's */
	if (__builtin_expect(__atomic_load_n(h->broken, __ATOMIC_RELAXED), 0))
		return 0;
	int xlane = h->xlane;
	unsigned lane = (unsigned)xlane;
	if (xlane < 0) {
		int cpu = evr_x_cpu();
		if (__builtin_expect(cpu < 0, 0))
			return 0;
		lane = (unsigned)cpu & h->lane_mask;
	}
	/* the clock first: its latency then overlaps the claim's (on a shared lane, two locked
	 * instructions) instead of following it */
	uint64_t ts = evr_x_now(h);
	unsigned char *slot = evr_x_take_slot(h, xlane, lane, &c->pos);
	if (__builtin_expect(!slot, 0))
		return evr_x_claim_dropped(p);
	struct evr_record *rec = (struct evr_record *)(void *)slot;
	evr_x_zero_body(slot);
	evr_x_stamp_claim(h, rec, ts, type, lane);
	c->lane = lane;
	c->rec = rec;
	c->inl = 1;
	return 1;
}

/* Publish an inline claim's slot and count it; a ring found broken or a consumer asleep is left to
 * the library (evr_x_commit_finish). Returns what evr_commit returns. */
EVR_X_INLINE int evr_x_publish(struct evr_producer *p, struct evr_producer_hot *h, struct evr_record *rec,
				uint64_t pos)
{
	evr_lane_publish((unsigned char *)(void *)rec, pos, h->owner_bits);
	/* relaxed loads: the ring's SIGBUS flag (process-local) and the wake page's read-mostly
	 * `waiters` line (see wake.c for the bounded race with a sleeper setting it) */
	if (__builtin_expect(__atomic_load_n(h->broken, __ATOMIC_RELAXED) |
				     (int)__atomic_load_n(h->waiters, __ATOMIC_RELAXED), 0))
		return evr_x_commit_finish(p);
	/* relaxed store: single-writer statistics on our own table line, read by `evring info` */
	__atomic_store_n(h->emitted_word, ++h->emitted, __ATOMIC_RELAXED);
	return 0;
}

/* ---- evr_claim_fast and evr_commit_fast (declared and documented in evring/producer.h) ---- */
#if defined(__SANITIZE_THREAD__)
#define EVR_X_INLINE_CLAIMS 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EVR_X_INLINE_CLAIMS 0
#endif
#endif
#ifndef EVR_X_INLINE_CLAIMS
#define EVR_X_INLINE_CLAIMS 1
#endif

static inline int evr_claim_fast(struct evr_producer *p, unsigned type, struct evr_record **rec)
{
#if EVR_X_INLINE_CLAIMS
	struct evr_producer_hot *h = (struct evr_producer_hot *)(void *)p;
	if (__builtin_expect(type < h->inline_types && !h->claim, 1)) {
		struct evr_x_claim c = { 0, 0, 0, 0 }; /* scalar registers: free */
		int rc = evr_x_claim_inline(p, h, type, &c);
		if (__builtin_expect(rc > 0, 1)) {
			unsigned char *slot = (unsigned char *)(void *)c.rec;
			evr_x_note_claim(h, c.rec, slot, slot, c.pos, type, c.lane);
			*rec = c.rec;
			return 0;
		}
		if (rc < 0)
			return rc;
	}
#endif
	return evr_claim(p, type, rec);
}

static inline int evr_commit_fast(struct evr_producer *p)
{
#if EVR_X_INLINE_CLAIMS
	struct evr_producer_hot *h = (struct evr_producer_hot *)(void *)p;
	struct evr_record *rec = (struct evr_record *)(void *)h->inplace;
	/* a record whose type or flags the caller changed is judged (and refused) by evr_commit */
	if (__builtin_expect(rec && rec->type == h->claim_type &&
				     !(rec->flags & ~(EVR_REC_TRUNCATED | EVR_REC_REPLAYED)), 1)) {
		h->claim = 0;
		h->inplace = 0;
		rec->producer_id = h->id; /* ours, whatever the caller stored over them (see evr_commit) */
		rec->lane = h->claim_lane;
		return evr_x_publish(p, h, rec, h->claim_pos);
	}
#endif
	return evr_commit(p);
}

#ifdef __cplusplus
}
#endif
#endif
