/* Helpers shared by the test suites: unique ring names, the ring fixture (setup/teardown), a
 * monotonic clock, child reaping. Criterion-free, so that fork-based tests can use it too: the
 * fixture returns an error code for the caller's cr_assert. */
#ifndef EVR_TEST_UTIL_H
#define EVR_TEST_UTIL_H

#include <evring/evring.h>
#include <evring/platform.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "test_hooks.h"

/* "/evrt-<tag>-<pid>-<n>": unique per process and call, so parallel tests never collide. */
static inline const char *evr_test_name(char *buf, size_t len, const char *tag)
{
	static unsigned n;
	snprintf(buf, len, "/evrt-%s-%d-%u", tag, (int)getpid(), n++);
	return buf;
}

/* The ring most tests need: `lanes` x `slots` under a unique name, a producer registered as
 * `service` (none when NULL) and the same ring opened read-only, as a consumer process would. */
struct evr_test_ring {
	char name[64];
	struct evr_ring *ring, *ro;
	struct evr_producer *prod;
};

/* The ring options every test starts from: the defaults, with the platform's table as the schema. */
static inline const struct evr_ring_opts *evr_test_opts(void)
{
	static struct evr_ring_opts o;
	evr_platform_opts(&o);
	return &o;
}

/* 0, or the first failing call's error (what was opened is closed again). `xlanes` exclusive lanes
 * follow the `lanes` shared ones. */
static inline int evr_test_ring_open_x(struct evr_test_ring *t, const char *tag, uint32_t lanes, uint32_t xlanes,
				       uint32_t slots, const char *service)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = lanes;
	o.exclusive_lanes = xlanes;
	o.slots_per_lane = slots;
	*t = (struct evr_test_ring){ .ring = NULL };
	int rc = evr_ring_create(evr_test_name(t->name, sizeof t->name, tag), &o, &t->ring, NULL);
	if (!rc && service)
		rc = evr_producer_open(t->ring, service, &t->prod, NULL);
	if (!rc)
		rc = evr_ring_open(t->name, EVR_ROLE_CONSUMER, &t->ro, NULL);
	if (rc && t->ring) {
		if (t->prod)
			evr_producer_close(t->prod);
		evr_ring_close(t->ring);
		evr_ring_unlink(t->name, NULL);
		t->ring = NULL;
	}
	return rc;
}

static inline int evr_test_ring_open(struct evr_test_ring *t, const char *tag, uint32_t lanes, uint32_t slots,
				     const char *service)
{
	return evr_test_ring_open_x(t, tag, lanes, 0, slots, service);
}

/* Close everything and unlink the ring; a fixture that failed to open is left alone. */
static inline void evr_test_ring_close(struct evr_test_ring *t)
{
	if (!t->ring)
		return;
	if (t->prod)
		evr_producer_close(t->prod);
	if (t->ro)
		evr_ring_close(t->ro);
	evr_ring_close(t->ring);
	evr_ring_unlink(t->name, NULL);
	*t = (struct evr_test_ring){ .ring = NULL };
}

/* A one-lane ring with the given mode (the hostile tests' group and world rings); fills the paths
 * of the ring and of its wake page under /dev/shm. 0, or evr_ring_create's error. */
static inline int evr_test_mode_ring(char *name, size_t len, const char *tag, mode_t mode, struct evr_ring **r,
				     char *path, size_t plen, char *wake, size_t wlen)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.mode = mode;
	int rc = evr_ring_create(evr_test_name(name, len, tag), &o, r, NULL);
	snprintf(path, plen, "/dev/shm%s", name);
	snprintf(wake, wlen, "/dev/shm%s~wake", name);
	return rc;
}

/* The ring's shm object, opened read-write as a neighbour would (to truncate or rewrite it): the
 * descriptor, or -1. */
static inline int evr_test_open_segment(const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/dev/shm%s", name);
	return open(path, O_RDWR);
}

/* The tree's monotonic clock, under the name the fork-based tests know. */
static inline uint64_t evr_test_now_ns(void)
{
	return evr_mono_ns();
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
