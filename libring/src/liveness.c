/* Liveness: the kernel tells a live producer from a dead one.
 *
 * Every ring has a companion object NAME~live: empty, never mapped. Byte i of it stands for
 * producer entry i. Whoever acts on entry i holds an OFD write lock (fcntl F_OFD_SETLK) on byte i
 * for as long as it acts: the registrant while it claims the entry, the owner for the producer's
 * whole life, a reclaimer while it releases a dead owner's slots. The kernel drops an OFD lock when
 * the last descriptor of its open file description is closed, i.e. when the holding process is gone
 * with all its threads (see below for the exceptions), whatever pid namespace it lives in and
 * whichever thread exited first. So
 * "I got the lock on byte i and the entry still says LIVE" proves its owner is dead; no pid is
 * guessed on that path.
 *
 * Each holder opens its own file description (evr_live_reopen): locks of one description do not
 * conflict with each other, so two producers or a producer and a reclaimer in one process must never
 * share one. A fork() child inherits descriptors, and with them the parent's locks: producer.c closes
 * the child's copies (see evr_producer_open), so the lock still dies with the parent.
 *
 * The object is write-only (mode: the ring's write bits): only those who may produce can open it.
 * A reader that could open it could hold read locks on the bytes and keep dead entries from being
 * reclaimed. It is created with O_EXCL and must belong to the ring's owner: a squatter's object is
 * refused, never adopted. It is never mapped, so truncating it changes nothing.
 *
 * What the lock cannot see: a process that hands its description to another one (a child made by a
 * raw clone()/vfork()/_Fork(), which skip the atfork handler, or a descriptor passed over
 * SCM_RIGHTS) keeps the lock alive as long as that other process holds it; and a process that closes
 * descriptors it did not open (closefrom()) drops it while alive. producer.h states both rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring_internal.h"

static mode_t live_mode(mode_t ring_mode)
{
	return (ring_mode & 0222) | 0200;
}

int evr_live_create(const char *ring_name, mode_t ring_mode, int *fd_out)
{
	char n[EVR_COMPANION_NAME_MAX];
	evr_companion_name(ring_name, "live", n);
	int fd = shm_open(n, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0200);
	if (fd < 0)
		return -errno;
	/* fchmod: shm_open's mode is filtered by the umask; group producers need the group write bit */
	if (fchmod(fd, live_mode(ring_mode))) {
		int e = -errno;
		close(fd);
		shm_unlink(n);
		return e;
	}
	*fd_out = fd;
	return 0;
}

/* Open an existing NAME~live; it must be ours: a regular object owned by the ring's owner. (Its size
 * means nothing: any producer may ftruncate it, which changes no lock.) */
int evr_live_open(const char *ring_name, int ring_fd, int *fd_out)
{
	char n[EVR_COMPANION_NAME_MAX];
	evr_companion_name(ring_name, "live", n);
	int fd = shm_open(n, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct stat ls, rs;
	if (fstat(fd, &ls) || fstat(ring_fd, &rs)) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(ls.st_mode) || ls.st_uid != rs.st_uid) {
		close(fd);
		return -EPERM;
	}
	*fd_out = fd;
	return 0;
}

int evr_live_unlink(const char *ring_name)
{
	char n[EVR_COMPANION_NAME_MAX];
	evr_companion_name(ring_name, "live", n);
	return shm_unlink(n) ? -errno : 0;
}

/* A new open file description of the same object, for one holder. Through /proc/thread-self
 * (/proc/self names the thread-group leader, whose fd table is gone once the main thread exited
 * while workers run), so a ring unlinked or replaced under its name meanwhile still gets its own
 * object; by name, checked to be the same object, where /proc is not mounted. */
int evr_live_reopen(int live_fd, const char *ring_name)
{
	static const char *const dirs[] = {"/proc/thread-self/fd", "/proc/self/fd"};
	int fd = -1;
	for (unsigned i = 0; i < sizeof dirs / sizeof dirs[0] && fd < 0; i++) {
		char path[64];
		snprintf(path, sizeof path, "%s/%d", dirs[i], live_fd);
		fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		char n[EVR_COMPANION_NAME_MAX];
		evr_companion_name(ring_name, "live", n);
		fd = shm_open(n, O_WRONLY | O_CLOEXEC, 0);
	}
	if (fd < 0)
		return -errno;
	if (!evr_same_object(fd, live_fd)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

static int set_lock(int fd, unsigned idx, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = (off_t)idx, .l_len = 1};
	return fcntl(fd, F_OFD_SETLK, &fl) ? -errno : 0;
}

/* 0: this description now holds byte idx; -EAGAIN: a live holder has it. Never waits. */
int evr_live_trylock(int fd, unsigned idx)
{
	int rc = set_lock(fd, idx, F_WRLCK);
	return rc == -EACCES ? -EAGAIN : rc;
}

void evr_live_unlock(int fd, unsigned idx)
{
	set_lock(fd, idx, F_UNLCK);
}

/* 1: some live process holds byte idx; 0: nobody; negative errno when it cannot be told. */
int evr_live_held(int fd, unsigned idx)
{
	if (fd < 0)
		return -EBADF;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)idx, .l_len = 1};
	if (fcntl(fd, F_OFD_GETLK, &fl))
		return -errno;
	return fl.l_type != F_UNLCK;
}
