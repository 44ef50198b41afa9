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
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring_internal.h"

#define EVR_WAKE_PAGE 4096u

static void wake_name(const char *ring_name, char *out, size_t len)
{
	snprintf(out, len, "%s~wake", ring_name);
}

static struct evr_wake_page *map_fd(int fd)
{
	void *p = mmap(NULL, EVR_WAKE_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

int evr_wake_create(const char *ring_name, mode_t mode, struct evr_wake_page **out)
{
	char n[EVR_NAME_MAX + 16];
	wake_name(ring_name, n, sizeof n);
	/* no O_EXCL: a wake page left by an older ring of this name is only a hint page; reset it */
	int fd = shm_open(n, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* Whoever may read the ring may sleep on it, and sleeping writes this page: mirror the ring's
	 * group and other read bits into write bits (a 0640 ring gets a 0660 wake page). The page holds
	 * hints only (see above), so that grants nothing over the records. */
	mode_t wake_mode = (mode & 0777) | ((mode & 0044) >> 1);
	if (fchmod(fd, wake_mode) || ftruncate(fd, 0) || ftruncate(fd, EVR_WAKE_PAGE)) {
		int e = -errno;
		close(fd);
		shm_unlink(n);
		return e;
	}
	*out = map_fd(fd);
	return *out ? 0 : -ENOMEM;
}

struct evr_wake_page *evr_wake_open(const char *ring_name)
{
	char n[EVR_NAME_MAX + 16];
	wake_name(ring_name, n, sizeof n);
	int fd = shm_open(n, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) || st.st_size < (off_t)EVR_WAKE_PAGE) {
		close(fd);
		return NULL;
	}
	return map_fd(fd);
}

void evr_wake_close(struct evr_wake_page *w)
{
	if (w)
		munmap(w, EVR_WAKE_PAGE);
}

int evr_wake_unlink(const char *ring_name)
{
	char n[EVR_NAME_MAX + 16];
	wake_name(ring_name, n, sizeof n);
	return shm_unlink(n) ? -errno : 0;
}

void evr_wake_sleepers(struct evr_wake_page *w)
{
	/* acq_rel exchange: exactly one producer wins the flag, so one FUTEX_WAKE per sleep episode */
	if (!atomic_exchange_explicit(&w->waiters, 0, memory_order_acq_rel))
		return;
	/* release: a sleeper that reads the new seq also sees the record published before it */
	atomic_fetch_add_explicit(&w->seq, 1, memory_order_release);
	syscall(SYS_futex, &w->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

int evr_wake_wait(struct evr_wake_page *w, uint32_t seen_seq, int64_t timeout_ns)
{
	struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
	long rc = syscall(SYS_futex, &w->seq, FUTEX_WAIT, seen_seq, &ts, NULL, 0);
	return rc == 0 ? 0 : -errno;
}
