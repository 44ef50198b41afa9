/* Helpers shared by the test suites: unique ring names, ring setup/teardown, child reaping. */
#ifndef EVR_TEST_UTIL_H
#define EVR_TEST_UTIL_H

#include <evring/evring.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_hooks.h"

/* "/evrt-<tag>-<pid>-<n>": unique per process and call, so parallel tests never collide. */
static inline const char *evr_test_name(char *buf, size_t len, const char *tag)
{
	static unsigned n;
	snprintf(buf, len, "/evrt-%s-%d-%u", tag, (int)getpid(), n++);
	return buf;
}

static inline uint64_t evr_test_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Kill (if still running) and reap a child; returns its wait status. */
static inline int evr_test_reap(pid_t pid, int sig)
{
	int st = 0;
	if (sig)
		kill(pid, sig);
	while (waitpid(pid, &st, 0) < 0)
		;
	return st;
}

#endif
