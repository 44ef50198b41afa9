/* Producer table: register/unregister producers, tell live from dead, report entries.
 *
 * Each entry is one cache line owned by one producer. An entry is claimed by a CAS of its state
 * from a reusable state (FREE, CLOSED, DEAD) to CLAIMING, filled, then published LIVE with a release
 * store. Liveness is pid + process start time (from /proc), so a recycled pid is not mistaken for
 * the producer that died; a zombie counts as dead.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ring_internal.h"

/* Fields 3 (state) and 22 (starttime) of /proc/PID/stat; the comm field may contain spaces and
 * parentheses, so parse from the last ')'. */
static int read_stat(int32_t pid, char *state, uint64_t *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	unsigned long long st = 0;
	/* after ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
	 * stime cutime cstime priority nice num_threads itrealvalue starttime(22) */
	if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   state, &st) != 2)
		return -EINVAL;
	*start = st;
	return 0;
}

int evr_proc_start_time(int32_t pid, uint64_t *start)
{
	char state;
	return read_stat(pid, &state, start);
}

int evr_proc_alive(int32_t pid, uint64_t start_time)
{
	if (pid <= 0)
		return 0;
	if (kill(pid, 0) && errno != EPERM)
		return 0;
	char state;
	uint64_t st;
	if (read_stat(pid, &state, &st))
		return 1; /* exists but /proc is unreadable: assume alive, never reclaim a live writer */
	return state != 'Z' && state != 'X' && st == start_time;
}

int evr_ring_producer_info(const struct evr_ring *r, unsigned idx, struct evr_producer_info *info)
{
	if (idx >= r->max_producers)
		return -EINVAL;
	const struct evr_producer_entry *e = evr_ring_producer(r, idx);
	memset(info, 0, sizeof *info);
	/* acquire: pairs with the release that published the entry; pid and name are then complete */
	info->state = (enum evr_producer_state)atomic_load_explicit(&((struct evr_producer_entry *)e)->state,
								     memory_order_acquire);
	if (info->state == EVR_PRODUCER_FREE)
		return -ENOENT;
	if (info->state == EVR_PRODUCER_CLAIMING)
		return 0; /* its owner is still filling it in */
	info->pid = e->pid;
	info->start_time = e->start_time;
	memcpy(info->service, e->service, sizeof info->service);
	info->service[sizeof info->service - 1] = '\0';
	/* relaxed: counters are statistics, each written by its owner only */
	info->emitted = atomic_load_explicit(&((struct evr_producer_entry *)e)->emitted, memory_order_relaxed);
	info->dropped = atomic_load_explicit(&((struct evr_producer_entry *)e)->dropped, memory_order_relaxed);
	info->lane_hint = atomic_load_explicit(&((struct evr_producer_entry *)e)->lane_hint, memory_order_relaxed);
	info->alive = info->state == EVR_PRODUCER_LIVE && evr_proc_alive(info->pid, info->start_time);
	return 0;
}
