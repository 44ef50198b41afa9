/* Shared by the fork-based tests: self-checking payloads and a child-side producer loop. */
#ifndef EVR_MP_UTIL_H
#define EVR_MP_UTIL_H

#include <string.h>

#include "test_util.h"
#include <evring/platform.h>

/* Children a test forked, killed (with their process groups) by mp_kill_tracked() in the test's
 * .fini, so a failed assertion never leaves a stopped child behind to hang the run. The last 64 are
 * kept; one the test reaped already is skipped (its pid may belong to someone else by now). */
static pid_t mp_children[64];
static unsigned mp_nchildren;

static inline pid_t mp_track(pid_t pid)
{
	if (pid > 0)
		mp_children[mp_nchildren++ % 64] = pid;
	return pid;
}

static inline void mp_kill_tracked(void)
{
	for (unsigned i = 0; i < mp_nchildren && i < 64; i++) {
		pid_t pid = mp_children[i];
		if (waitpid(pid, NULL, WNOHANG) != 0)
			continue; /* reaped now (it was a zombie), or not our child any more */
		kill(-pid, SIGKILL); /* its group, when it made one */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	mp_nchildren = 0;
}

/* The payload is a pure function of (producer, counter), so a torn or misplaced copy fails intact().
 * mp_fill_in_place fills a claimed EVR_TOOL_COMPLETED record (zeroed by evr_claim). */
static inline void mp_fill_in_place(struct evr_record *r, uint64_t producer, uint64_t n)
{
	r->correlation_id = producer;
	r->plan_id = n;
	EVR_EV(r, tool_completed)->duration_ns = n * 0x9e3779b97f4a7c15ull ^ producer;
	EVR_EV(r, tool_completed)->attempt = (uint32_t)(n * 31 + producer);
	/* a long pair is cut, the same way every time: the check rebuilds the payload with this call */
#if defined(__GNUC__) && !defined(__clang__) /* GCC's warning; clang (the TSan build) has none such */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
	snprintf(EVR_EV(r, tool_completed)->tool, sizeof EVR_EV(r, tool_completed)->tool, "p%llu-%llu",
		 (unsigned long long)producer, (unsigned long long)n);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
}

static inline void mp_fill(struct evr_record *r, uint64_t producer, uint64_t n)
{
	evr_record_init(r, EVR_TOOL_COMPLETED, producer, n);
	mp_fill_in_place(r, producer, n);
}

static inline int mp_intact(const struct evr_record *r)
{
	struct evr_record want;
	if (r->type != EVR_TOOL_COMPLETED)
		return 0;
	mp_fill(&want, r->correlation_id, r->plan_id);
	return !memcmp(&want.u, &r->u, sizeof want.u);
}

/* In a child: open the ring as a producer (evr_producer_open_flags) and emit records 0..n-1 as
 * producer `id`: with evr_emit, or (in_place) claimed and committed in place, through the inline
 * calls (evr_claim_fast, evr_commit_fast) for even records and the library's for odd ones. Exits 0,
 * or 1 when the ring could not be opened. */
static inline void mp_producer_child_flags(const char *name, uint64_t id, uint64_t n, unsigned flags, int in_place)
{
	struct evr_ring *r;
	struct evr_producer *p;
	if (evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL) || evr_producer_open_flags(r, "mp-producer", flags, &p, NULL))
		_exit(1);
	for (uint64_t i = 0; i < n; i++) {
		struct evr_record rec, *in;
		if (!in_place) {
			mp_fill(&rec, id, i);
			evr_emit(p, &rec);
		} else if ((i & 1) == 0 ? evr_claim_fast(p, EVR_TOOL_COMPLETED, &in) == 0
					: evr_claim(p, EVR_TOOL_COMPLETED, &in) == 0) {
			mp_fill_in_place(in, id, i);
			if ((i & 1) == 0)
				evr_commit_fast(p);
			else
				evr_commit(p);
		}
	}
	evr_producer_close(p);
	evr_ring_close(r);
	_exit(0);
}

static inline void mp_producer_child(const char *name, uint64_t id, uint64_t n)
{
	mp_producer_child_flags(name, id, n, 0, 0);
}

#endif
