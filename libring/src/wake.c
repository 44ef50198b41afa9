/* Wait/wake: the companion page NAME~wake and its shared futex.
 *
 * A sleeping consumer: read seq, set waiters, full fence, re-check the lanes, FUTEX_WAIT(seq) with a
 * timeout. A producer, after publishing: a plain relaxed load of waiters (one read-mostly line); only
 * the producer that clears it with an exchange bumps seq and calls FUTEX_WAKE. With nobody asleep the
 * emit path pays that one load.
 *
 * The known race, and its bound: the producer's publish store and its load of waiters are not
 * fenced against each other (a store-load fence on every emit would cost more than the emit), so a
 * sleeper that sets waiters just as a record is published can miss that wake. It then wakes at its
 * timeout, which the consumer keeps short (evr_consumer_wait sleeps at most 50 ms at a time).
 *
 * The page is the only thing consumers write, and producers only read it as a hint: a corrupt value
 * causes spurious or missed wakes, never a wrong record. The futex is shared (no FUTEX_PRIVATE_FLAG)
 * because sleepers and wakers are different processes mapping the same object.
 *
 * A reader of the ring's group can write the page, so it is treated as hostile ground:
 *   - it is created O_EXCL; a page of another owner under the name is never adopted (create fails,
 *     open ignores it and consumers nap instead of sleeping on the futex);
 *   - every mapping of it is SIGBUS-shielded with a flag of its own (ring->wake_broken): truncating
 *     it leaves zero pages behind, so producers read waiters == 0 and carry on, and sleepers nap 1 ms
 *     at a time instead of waiting on a futex nobody wakes;
 *   - a waiters flag held at 1 costs a producer thread at most one FUTEX_WAKE per EVR_WAKE_QUIET_NS.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bus_shield.h"
#include "clock.h"
#include "ring_internal.h"

#define EVR_WAKE_PAGE 4096u
/* After a FUTEX_WAKE, a thread issues no other one on the same page for this long. An honest
 * sleeper cannot need two wakes that close together (it has to be scheduled, drain the ring and spin
 * before it sets waiters again); a waiters flag held at 1 by a hostile reader otherwise puts a system
 * call into every emit. A wake skipped here leaves the flag set: the next emit after the interval
 * wakes, and the sleeper's own timeout (50 ms) bounds the delay if none comes. */
#define EVR_WAKE_QUIET_NS 10000u

static _Thread_local struct {
	const struct evr_wake_page *page;
	uint64_t quiet_until;
} last_wake;

/* Map the page and shield it: a reader that truncates it must cost us nothing but wakes (the handler
 * maps a private zero page over it, so waiters then reads 0 and producers stop waking). */
static struct evr_wake_page *map_fd(int fd, atomic_int *broken)
{
	void *p = mmap(NULL, EVR_WAKE_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	evr_bus_shield_add(p, EVR_WAKE_PAGE, broken);
	return p;
}

/* The name is taken: by a page of ours left behind (the ring object, created O_EXCL just before, did
 * not exist), which we remove; or by someone else's, which we never adopt: its owner could truncate
 * it or hold waiters at will. */
static int name_taken(const char *n, const char *ring_name, struct evr_err *err)
{
	struct stat st;
	int fd = shm_open(n, O_RDONLY | O_CLOEXEC, 0);
	int known = fd >= 0 && fstat(fd, &st) == 0;
	if (fd >= 0)
		close(fd);
	if (known && st.st_uid == geteuid())
		return shm_unlink(n) ? evr_fail(err, -errno, "cannot remove the stale %s: %s", n, strerror(errno)) : 0;
	if (known)
		return evr_fail(err, -EEXIST,
				"cannot create ring %s: %s already exists and belongs to uid %u, not to uid %u; "
				"remove /dev/shm%s if nothing uses it", ring_name, n, (unsigned)st.st_uid,
				(unsigned)geteuid(), n);
	return evr_fail(err, -EEXIST, "cannot create ring %s: %s already exists and belongs to another user; "
			"remove /dev/shm%s if nothing uses it", ring_name, n, n);
}

int evr_wake_create(const char *ring_name, mode_t mode, atomic_int *broken, struct evr_wake_page **out,
		    struct evr_err *err)
{
	char n[EVR_COMPANION_NAME_MAX];
	evr_companion_name(ring_name, "wake", n);
	int fd = shm_open(n, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		int rc = name_taken(n, ring_name, err);
		if (rc)
			return rc;
		fd = shm_open(n, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return evr_fail(err, -errno, "cannot create %s: %s", n, strerror(errno));
	/* Whoever may read the ring as its group may sleep on it, and sleeping writes this page: the
	 * group read bit is mirrored into the group write bit (0640 ring, 0660 page). Others never get
	 * write access: a world-writable page would let any local user truncate it or hold waiters. */
	mode_t wake_mode = (mode & 0777) | ((mode & 0040) >> 1);
	int e = fchmod(fd, wake_mode) || ftruncate(fd, EVR_WAKE_PAGE) ? errno : 0;
	if (!e)
		e = posix_fallocate(fd, 0, EVR_WAKE_PAGE); /* a sleeper's store must not fault on a full tmpfs */
	if (e) {
		close(fd);
		shm_unlink(n);
		return evr_fail(err, -e, "cannot size %s: %s", n, strerror(e));
	}
	*out = map_fd(fd, broken);
	if (!*out) {
		shm_unlink(n);
		return evr_fail(err, -ENOMEM, "cannot map %s", n);
	}
	return 0;
}

struct evr_wake_page *evr_wake_open(const char *ring_name, uid_t ring_owner, atomic_int *broken)
{
	char n[EVR_COMPANION_NAME_MAX];
	evr_companion_name(ring_name, "wake", n);
	int fd = shm_open(n, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	struct stat st;
	/* The page must be the ring owner's: one that someone else put under this name is not adopted. */
	if (fstat(fd, &st) || st.st_uid != ring_owner || st.st_size < (off_t)EVR_WAKE_PAGE) {
		close(fd);
		return NULL;
	}
	return map_fd(fd, broken);
}

void evr_wake_close(struct evr_wake_page *w)
{
	if (w) {
		evr_bus_shield_remove(w);
		munmap(w, EVR_WAKE_PAGE);
	}
}

int evr_wake_unlink(const char *ring_name)
{
	char n[EVR_COMPANION_NAME_MAX];
	evr_companion_name(ring_name, "wake", n);
	return shm_unlink(n) ? -errno : 0;
}

void evr_wake_sleepers(struct evr_wake_page *w)
{
	uint64_t now = evr_clock_ns(CLOCK_MONOTONIC);
	if (last_wake.page == w && now < last_wake.quiet_until)
		return; /* waiters stays set; see EVR_WAKE_QUIET_NS */
	/* acq_rel exchange: exactly one producer wins the flag, so one FUTEX_WAKE per sleep episode */
	if (!atomic_exchange_explicit(&w->waiters, 0, memory_order_acq_rel))
		return;
	/* release: a sleeper that reads the new seq also sees the record published before it */
	atomic_fetch_add_explicit(&w->seq, 1, memory_order_release);
	syscall(SYS_futex, &w->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	last_wake.page = w;
	last_wake.quiet_until = now + EVR_WAKE_QUIET_NS;
}

int evr_wake_wait(struct evr_wake_page *w, uint32_t seen_seq, int64_t timeout_ns)
{
	/* A truncated page (the shield replaced it with a private zero page) is seen by no producer:
	 * nobody would wake us before the timeout. Nap 1 ms instead, as consumers without the page do. */
	if (evr_bus_shield_tripped(w)) {
		struct timespec d = {0, timeout_ns < 1000000 ? (long)timeout_ns : 1000000};
		nanosleep(&d, NULL);
		return -ETIMEDOUT;
	}
	struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
	long rc = syscall(SYS_futex, &w->seq, FUTEX_WAIT, seen_seq, &ts, NULL, 0);
	return rc == 0 ? 0 : -errno;
}
