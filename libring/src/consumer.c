/* Consumers: per-lane cursors over a read-only mapping, exact loss accounting, bounded waits.
 *
 * Each lane is read in position order. At the cursor, evr_lane_read() says:
 *   OK         deliver the record (validated; timestamps converted to wall-clock ns);
 *   LAPPED     the slot holds a newer lap: skip to the oldest position that can still be valid,
 *              head - S, and report every skipped position as lost_lapped;
 *   ABANDONED  a reclaimer released it from a dead writer: report 1 lost_abandoned;
 *   NOT_YET    if the head has not passed the cursor, the lane is empty. Otherwise a producer claimed
 *              the position and has not published it: wait for it at most abandon_timeout_ns (a
 *              timer, not a spin: polls return 0 and evr_consumer_wait sleeps until it is due),
 *              then skip it as lost_abandoned. A slot published between the read and the look at
 *              its word is read again at once, never waited on.
 * A stalled writer keeps its slot WRITING for as long as it is stopped, and every later lap's writer
 * of that slot drops its record. So the word that made a position time out is remembered (a few per
 * lane): a later position that finds the very same word in its slot is skipped at once, and the
 * stall costs the consumer one abandoned position per lap, not one timeout per lap (which would get
 * it lapped on every lap). The word names a position, so it cannot come back once the writer moves on.
 * The cursor only moves by those steps, which is why, per lane,
 *     delivered + lost_lapped + lost_abandoned == cursor - start
 * holds exactly. With merge_by_time one record per lane is held back (pending) and the earliest is
 * handed out; the reported cursor then points at the held record, so the identity still holds.
 *
 * A segment truncated under us (the SIGBUS shield sets ring->broken) fails polls with -EFAULT; an
 * item read in the same poll as the fault is discarded and uncounted (unread), since zero pages may
 * have replaced it. A corrupted segment (a head that moved backwards or jumped, see lane_head; a
 * header gone to zeros) fails polls with -EUCLEAN the same way, and evr_ring_fault() says what was
 * found: damage is never reported as an empty lane or as lost records.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "clock.h"
#include "evring/consumer.h"
#include "ring_internal.h"
#include "test_hooks.h"

#ifdef EVR_TEST_HOOKS
void (*volatile evr_test_hook_not_yet)(unsigned lane, uint64_t pos);
#endif

#define EVR_SPIN_ROUNDS 256
#define EVR_STUCK_WORDS 4 /* stuck slot words remembered per lane: one per stalled writer */
#define EVR_SLEEP_CHUNK_NS (50ll * 1000 * 1000)

struct lane_state {
	struct evr_lane_ref ref;
	uint64_t start, cursor;
	uint64_t delivered, invalid, lapped, abandoned;
	int stalled;
	uint64_t stall_pos, stall_since, stall_word;
	uint64_t stuck[EVR_STUCK_WORDS]; /* WRITING words that already timed out; 0: none */
	unsigned stuck_next;
	int has_pending;
	struct evr_item pending;
	/* head sanity (see lane_head): the highest head known claimed, and the last clock check */
	struct evr_ring *ring;
	unsigned lane;
	uint64_t seen_head, checked_head, checked_ns;
};

struct evr_consumer {
	struct evr_ring *ring;
	uint64_t abandon_ns;
	bool merge;
	unsigned rr;
	struct evr_clock_conv clk;
	struct lane_state lanes[];
};

/* Head sanity. Producers only ever add to a head, so a head below one already known claimed (read
 * before, or proven by a record delivered from it) means the segment was rewritten under us: a
 * truncated-then-regrown object reads as zeros. And a head cannot run ahead faster than one position
 * per nanosecond (a claim is a locked fetch_add on one cache line, 5 ns at best, 7-180 ns measured; on
 * an exclusive lane a store, but each position also takes a 128-byte record: 20 ns measured),
 * so one that grew by more than 2^32 plus the nanoseconds since the last check is forged; the clock
 * is read only when the head has grown by 2^32 since then. Past 2^48 the 50-bit positions of the
 * slot words (lane.h) could no longer be compared at all. Any of these is reported as corruption,
 * never as lost records (a forged head near 2^64 made millions of them) nor as an empty lane. */
#define EVR_HEAD_FREE_GROWTH (1ull << 32)
#define EVR_HEAD_MAX_GROWTH (1ull << 48)
#define EVR_HEAD_MAX (1ull << 60) /* 36 years of claims at one per ns: no honest head gets there */

static uint64_t head_suspect(struct lane_state *ls, uint64_t h)
{
	if (h < ls->seen_head) {
		evr_ring_mark_corrupt(ls->ring, "ring %s corrupted: lane %u head moved backwards from %llu to %llu",
				      ls->ring->name, ls->lane, (unsigned long long)ls->seen_head,
				      (unsigned long long)h);
		return ls->seen_head;
	}
	uint64_t now = evr_clock_ns(CLOCK_MONOTONIC);
	uint64_t grown = h - ls->checked_head, limit = EVR_HEAD_FREE_GROWTH + (now - ls->checked_ns);
	if (grown > limit || grown > EVR_HEAD_MAX_GROWTH || h > EVR_HEAD_MAX) {
		evr_ring_mark_corrupt(ls->ring,
				      "ring %s corrupted: lane %u head jumped from %llu to %llu, more than producers "
				      "can claim in %.3f s",
				      ls->ring->name, ls->lane, (unsigned long long)ls->seen_head, (unsigned long long)h,
				      (double)(now - ls->checked_ns) / 1e9);
		return ls->seen_head;
	}
	ls->checked_head = h;
	ls->checked_ns = now;
	ls->seen_head = h;
	return h;
}

/* The head of a lane, checked (see above); a corrupt head reads as the last sane one. */
static uint64_t lane_head(struct lane_state *ls)
{
	/* relaxed: the head only tells whether a position was claimed; the slot word orders the data */
	uint64_t h = atomic_load_explicit(&ls->ref.hdr->head, memory_order_relaxed);
	if (h < ls->seen_head || h - ls->checked_head > EVR_HEAD_FREE_GROWTH)
		return head_suspect(ls, h);
	ls->seen_head = h;
	return h;
}

/* The first look at a lane's head: the start of its sanity checks. */
static uint64_t head_track_init(struct evr_consumer *c, unsigned lane)
{
	struct lane_state *ls = &c->lanes[lane];
	ls->ring = c->ring;
	ls->lane = lane;
	ls->checked_ns = evr_clock_ns(CLOCK_MONOTONIC);
	/* relaxed: as in lane_head() */
	uint64_t h = atomic_load_explicit(&ls->ref.hdr->head, memory_order_relaxed);
	if (h > EVR_HEAD_MAX) {
		evr_ring_mark_corrupt(c->ring, "ring %s corrupted: lane %u head %llu is beyond any position a ring "
				      "reaches", c->ring->name, lane, (unsigned long long)h);
		h = 0;
	}
	ls->seen_head = ls->checked_head = h;
	return h;
}

static int init_cursors(struct evr_consumer *c, const struct evr_consumer_opts *o, struct evr_err *err)
{
	struct evr_ring *r = c->ring;
	if (o->start == EVR_START_CURSOR) {
		if (!o->cursor)
			return evr_fail(err, -EINVAL, "start from cursor needs a cursor");
		if (o->cursor->ring_id != r->ring_id)
			return evr_fail(err, -EINVAL,
					"cursor belongs to ring id %016llx, not to %s (id %016llx): it was recreated?",
					(unsigned long long)o->cursor->ring_id, r->name, (unsigned long long)r->ring_id);
		if (o->cursor->lanes != r->lanes)
			return evr_fail(err, -EINVAL, "cursor has %u lanes, ring %s has %u", o->cursor->lanes, r->name,
					r->lanes);
	} else if (o->start != EVR_START_OLDEST && o->start != EVR_START_LATEST) {
		return evr_fail(err, -EINVAL, "unknown start position %d", (int)o->start);
	}
	for (unsigned l = 0; l < r->lanes; l++) {
		struct lane_state *ls = &c->lanes[l];
		ls->ref = evr_ring_lane(r, l);
		uint64_t head = head_track_init(c, l);
		if (o->start == EVR_START_OLDEST)
			ls->start = head > r->slots ? head - r->slots : 0;
		else if (o->start == EVR_START_LATEST)
			ls->start = head;
		else if (o->cursor->pos[l] > head)
			return evr_fail(err, -EINVAL, "cursor lane %u at %llu is ahead of the ring's head %llu", l,
					(unsigned long long)o->cursor->pos[l], (unsigned long long)head);
		else
			ls->start = o->cursor->pos[l];
		ls->cursor = ls->start;
	}
	return 0;
}

int evr_consumer_open(struct evr_ring *r, const struct evr_consumer_opts *opts, struct evr_consumer **out,
		      struct evr_err *err)
{
	struct evr_consumer_opts defaults = {.start = EVR_START_OLDEST};
	const struct evr_consumer_opts *o = opts ? opts : &defaults;
	struct evr_consumer *c = calloc(1, sizeof *c + r->lanes * sizeof c->lanes[0]);
	if (!c)
		return evr_fail(err, -ENOMEM, "out of memory");
	c->ring = r;
	c->abandon_ns = o->abandon_timeout_ns ? o->abandon_timeout_ns : EVR_ABANDON_TIMEOUT_DEFAULT_NS;
	c->merge = o->merge_by_time;
	evr_clock_conv_init(&c->clk, r->ts_source, r->created_ts, r->created_mono_ns, r->created_realtime_ns,
			    r->tsc_hz);
	int rc = init_cursors(c, o, err);
	if (!rc && (rc = evr_ring_status(r)) == -EFAULT)
		rc = evr_fail(err, rc, "ring %s was truncated while opening a consumer", r->name);
	else if (rc == -EUCLEAN)
		rc = evr_fail(err, rc, "%s", evr_ring_fault(r));
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void evr_consumer_close(struct evr_consumer *c)
{
	free(c);
}

static void set_loss(struct evr_item *out, enum evr_item_kind kind, unsigned lane, uint64_t pos, uint64_t n)
{
	out->kind = kind;
	out->lane = (uint16_t)lane;
	out->pos = pos;
	out->count = n;
}

static uint64_t slot_word(const struct lane_state *ls, uint64_t pos)
{
	/* relaxed: only compared with words seen before; evr_lane_read() orders any data read */
	return atomic_load_explicit(evr_slot_ctl(evr_lane_slot(&ls->ref, pos)), memory_order_relaxed);
}

/* A WRITING word that already made a position time out: its writer is still stuck on it. */
static int known_stuck(const struct lane_state *ls, uint64_t w)
{
	if (evr_ctl_state(w) != EVR_SLOT_WRITING)
		return 0;
	for (unsigned i = 0; i < EVR_STUCK_WORDS; i++)
		if (ls->stuck[i] == w)
			return 1;
	return 0;
}

static void remember_stuck(struct lane_state *ls, uint64_t w)
{
	if (evr_ctl_state(w) != EVR_SLOT_WRITING)
		return; /* a claim not yet owned (EMPTY or an older lap): the next lap's writer takes the slot */
	ls->stuck[ls->stuck_next] = w;
	ls->stuck_next = (ls->stuck_next + 1) % EVR_STUCK_WORDS;
}

/* The slot at pos holds a newer lap: skip to the oldest position that can still be valid. */
static int lapped_step(struct evr_consumer *c, unsigned lane, uint64_t pos, struct evr_item *out)
{
	struct lane_state *ls = &c->lanes[lane];
	uint64_t head = lane_head(ls);
	uint64_t oldest = head > c->ring->slots ? head - c->ring->slots : 0;
	uint64_t next = oldest > pos ? oldest : pos + 1;
	set_loss(out, EVR_ITEM_LOST_LAPPED, lane, pos, next - pos);
	ls->lapped += next - pos;
	ls->cursor = next;
	ls->stalled = 0;
	return 1;
}

/* One step on one lane: 1 when *out holds an item, 0 when the lane has nothing now. */
static int lane_step(struct evr_consumer *c, unsigned lane, struct evr_item *out)
{
	struct lane_state *ls = &c->lanes[lane];
	uint64_t pos = ls->cursor;
again:
	switch (evr_lane_read(&ls->ref, pos, &out->rec, sizeof out->rec)) {
	case EVR_READ_OK:
		/* against the ring's own description: types and fields of a newer table are records too */
		out->kind = evr_desc_record_validate(c->ring->desc, &out->rec, NULL, 0) ? EVR_ITEM_INVALID : EVR_ITEM_RECORD;
		out->lane = (uint16_t)lane;
		out->pos = pos;
		out->count = 1;
		out->rec.seq = pos;
		out->rec.ts = evr_clock_to_wall(&c->clk, out->rec.ts);
		ls->cursor = pos + 1;
		ls->stalled = 0;
		return 1;
	case EVR_READ_LAPPED:
		return lapped_step(c, lane, pos, out);
	case EVR_READ_ABANDONED:
		set_loss(out, EVR_ITEM_LOST_ABANDONED, lane, pos, 1);
		ls->abandoned++;
		ls->cursor = pos + 1;
		ls->stalled = 0;
		return 1;
	case EVR_READ_NOT_YET:
		break;
	}
	if (lane_head(ls) <= pos) {
		ls->stalled = 0;
		return 0; /* nothing claimed past the cursor: the lane is simply empty */
	}
	EVR_TEST_HOOK_NOT_YET(lane, pos);
	uint64_t w = slot_word(ls, pos);
	if (evr_ctl_state(w) != EVR_SLOT_EMPTY && evr_ctl_pos(w, pos) > pos)
		return lapped_step(c, lane, pos, out); /* a newer lap took the slot since the read above */
	/* published (or abandoned) since the read above: read it now. Taking this word for a stalled
	 * writer's would park the consumer until the stall timer on a record that is there, since a
	 * published word never changes again. Bounded: the word only moves forward, and what comes
	 * after COMMITTED or ABANDONED at pos is a newer lap (lapped, above). */
	if ((evr_ctl_state(w) == EVR_SLOT_COMMITTED || evr_ctl_state(w) == EVR_SLOT_ABANDONED) && evr_ctl_pos(w, pos) == pos)
		goto again;
	if (!known_stuck(ls, w)) {
		uint64_t now = evr_clock_ns(CLOCK_MONOTONIC);
		if (!ls->stalled || ls->stall_pos != pos) {
			ls->stalled = 1;
			ls->stall_pos = pos;
			ls->stall_since = now;
			ls->stall_word = w;
			return 0;
		}
		ls->stall_word = w; /* what evr_consumer_wait compares against: unchanged means keep sleeping */
		if (now - ls->stall_since < c->abandon_ns)
			return 0;
		remember_stuck(ls, w);
	}
	set_loss(out, EVR_ITEM_LOST_ABANDONED, lane, pos, 1);
	ls->abandoned++;
	ls->cursor = pos + 1;
	ls->stalled = 0;
	return 1;
}

static void count_delivery(struct evr_consumer *c, const struct evr_item *it)
{
	struct lane_state *ls = &c->lanes[it->lane];
	if (it->kind == EVR_ITEM_RECORD || it->kind == EVR_ITEM_INVALID) {
		ls->delivered++;
		ls->invalid += it->kind == EVR_ITEM_INVALID;
		/* a committed slot proves its claim: the head was past it (the writer's fetch_add comes
		 * before its release of COMMITTED, which our acquire of the slot word saw) */
		if (ls->seen_head < it->pos + 1)
			ls->seen_head = it->pos + 1;
	}
}

static int poll_round_robin(struct evr_consumer *c, struct evr_item *out)
{
	unsigned n = c->ring->lanes;
	for (unsigned i = 0; i < n; i++) {
		unsigned lane = (c->rr + i) % n; /* not a power of two with exclusive lanes */
		if (lane_step(c, lane, out)) {
			c->rr = (lane + 1) % n; /* next poll starts at the next lane: no lane starves the others */
			return 1;
		}
	}
	return 0;
}

static int poll_merged(struct evr_consumer *c, struct evr_item *out)
{
	int best = -1;
	for (unsigned l = 0; l < c->ring->lanes; l++) {
		struct lane_state *ls = &c->lanes[l];
		if (!ls->has_pending) {
			if (!lane_step(c, l, &ls->pending))
				continue;
			if (ls->pending.kind == EVR_ITEM_LOST_LAPPED || ls->pending.kind == EVR_ITEM_LOST_ABANDONED) {
				*out = ls->pending; /* losses are reported at once, never held */
				return 1;
			}
			ls->has_pending = 1;
		}
		if (best < 0 || ls->pending.rec.ts < c->lanes[best].pending.rec.ts)
			best = (int)l;
	}
	if (best < 0)
		return 0;
	*out = c->lanes[best].pending;
	c->lanes[best].has_pending = 0;
	return 1;
}

/* Undo the steps that produced `it`: a fault or a corruption found during the poll means zero pages
 * or forged heads may be what it was made from. Nothing is counted that is not handed out, so
 * delivered + lost == cursor - start still holds when polls fail. */
static void unread(struct evr_consumer *c, const struct evr_item *it)
{
	struct lane_state *ls = &c->lanes[it->lane];
	if (it->kind == EVR_ITEM_LOST_LAPPED)
		ls->lapped -= it->count;
	else if (it->kind == EVR_ITEM_LOST_ABANDONED)
		ls->abandoned -= it->count;
	else if (c->merge) {
		ls->has_pending = 1; /* the held record goes back where it was; reported_cursor() points at it */
		return;
	}
	ls->cursor = it->pos;
}

/* A truncated-then-regrown segment is zeros from the header on: no fault, and heads that may have
 * passed our cursors again. Checked on every poll: the header line is never written after creation,
 * so the load hits a clean shared line. */
static void check_header(struct evr_consumer *c)
{
	/* relaxed: the magic never changes after creation; its acquire was done in evr_ring_open() */
	uint64_t m = atomic_load_explicit(&c->ring->hdr->magic, memory_order_relaxed);
	if (m == 0)
		evr_ring_mark_corrupt(c->ring, "ring %s corrupted: its header is gone (truncated and regrown?)",
				      c->ring->name);
}

int evr_consumer_poll(struct evr_consumer *c, struct evr_item *out)
{
	int rc = evr_ring_status(c->ring);
	if (rc)
		return rc;
	int got = c->merge ? poll_merged(c, out) : poll_round_robin(c, out);
	check_header(c);
	if ((rc = evr_ring_status(c->ring))) {
		if (got)
			unread(c, out);
		return rc;
	}
	if (got)
		count_delivery(c, out);
	return got;
}

int evr_consumer_poll_batch(struct evr_consumer *c, struct evr_item *items, int n)
{
	int got = 0;
	while (got < n) {
		int rc = evr_consumer_poll(c, &items[got]);
		if (rc < 0)
			return got ? got : rc;
		if (rc == 0)
			break;
		got++;
	}
	return got;
}

/* Something to do: a held record, a head past a cursor whose position is not waiting on a stall
 * timer, a stall timer that is due, or a broken segment whose error the next poll reports. *due gets
 * the earliest running stall timer's deadline (UINT64_MAX: none), so a waiter sleeps until then. */
static int ready(struct evr_consumer *c, uint64_t *due)
{
	*due = UINT64_MAX;
	if (evr_ring_status(c->ring))
		return 1;
	uint64_t now = 0;
	for (unsigned l = 0; l < c->ring->lanes; l++) {
		struct lane_state *ls = &c->lanes[l];
		if (ls->has_pending)
			return 1;
		if (lane_head(ls) <= ls->cursor)
			continue;
		if (!ls->stalled || ls->stall_pos != ls->cursor || slot_word(ls, ls->cursor) != ls->stall_word)
			return 1; /* a record to read, or a change at the stalled slot */
		uint64_t deadline = ls->stall_since + c->abandon_ns;
		if (deadline < ls->stall_since)
			deadline = UINT64_MAX; /* a timeout near 2^64: never due, and no wrap to "due now" */
		if (!now)
			now = evr_clock_ns(CLOCK_MONOTONIC);
		if (now >= deadline)
			return 1;
		if (deadline < *due)
			*due = deadline;
	}
	return 0;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

int evr_consumer_wait(struct evr_consumer *c, int64_t timeout_ns)
{
	uint64_t due;
	for (int i = 0; i < EVR_SPIN_ROUNDS; i++) {
		if (ready(c, &due))
			return 1;
		cpu_relax();
	}
	uint64_t start = evr_clock_ns(CLOCK_MONOTONIC);
	struct evr_wake_page *w = c->ring->wake;
	for (;;) {
		uint64_t now = evr_clock_ns(CLOCK_MONOTONIC);
		int64_t left = EVR_SLEEP_CHUNK_NS;
		if (timeout_ns >= 0) {
			int64_t rest = timeout_ns - (int64_t)(now - start);
			if (rest <= 0)
				return 0;
			if (rest < left)
				left = rest;
		}
		if (due <= now)
			left = 1; /* a stall timer came due meanwhile */
		else if (due - now < (uint64_t)left)
			left = (int64_t)(due - now); /* wake when the stall timer is due */
		int rc = 0;
		if (!w) { /* no wake page (no write access to it): poll with short sleeps */
			struct timespec d = {0, left < 1000000 ? left : 1000000};
			rc = nanosleep(&d, NULL) ? -errno : 0;
		} else {
			/* acquire: a wake that bumped seq after this load makes FUTEX_WAIT return at once */
			uint32_t seq = atomic_load_explicit(&w->seq, memory_order_acquire);
			/* relaxed store + seq_cst fence: the flag is visible before we re-check the heads,
			 * so a producer that publishes after our re-check sees the flag (see wake.c) */
			atomic_store_explicit(&w->waiters, 1, memory_order_relaxed);
			atomic_thread_fence(memory_order_seq_cst);
			if (ready(c, &due))
				return 1;
			rc = evr_wake_wait(w, seq, left);
		}
		if (rc == -EINTR)
			return -EINTR; /* a handler interrupted the sleep: let the caller look at its flags */
		if (ready(c, &due))
			return 1;
	}
}

static uint64_t reported_cursor(const struct lane_state *ls)
{
	return ls->has_pending ? ls->pending.pos : ls->cursor;
}

void evr_consumer_cursor(const struct evr_consumer *c, struct evr_cursor *out)
{
	memset(out, 0, sizeof *out);
	out->ring_id = c->ring->ring_id;
	out->lanes = c->ring->lanes;
	for (unsigned l = 0; l < c->ring->lanes; l++)
		out->pos[l] = reported_cursor(&c->lanes[l]);
}

void evr_consumer_lane_stats(const struct evr_consumer *c, unsigned lane, struct evr_lane_stats *out)
{
	memset(out, 0, sizeof *out);
	if (lane >= c->ring->lanes)
		return;
	const struct lane_state *ls = &c->lanes[lane];
	out->start = ls->start;
	out->cursor = reported_cursor(ls);
	out->delivered = ls->delivered;
	out->invalid = ls->invalid;
	out->lost_lapped = ls->lapped;
	out->lost_abandoned = ls->abandoned;
}

void evr_consumer_stats(const struct evr_consumer *c, struct evr_lane_stats *out)
{
	struct evr_lane_stats sum = {0}, one;
	for (unsigned l = 0; l < c->ring->lanes; l++) {
		evr_consumer_lane_stats(c, l, &one);
		sum.start += one.start;
		sum.cursor += one.cursor;
		sum.delivered += one.delivered;
		sum.invalid += one.invalid;
		sum.lost_lapped += one.lost_lapped;
		sum.lost_abandoned += one.lost_abandoned;
	}
	*out = sum;
}

unsigned evr_consumer_lanes(const struct evr_consumer *c)
{
	return c->ring->lanes;
}

uint64_t evr_consumer_ts_to_wall(struct evr_consumer *c, uint64_t raw)
{
	return evr_clock_to_wall(&c->clk, raw);
}
