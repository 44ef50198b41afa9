/* Hostile neighbours, part two (issue 13, items 1-4): the wake page and its owner, a truncation while
 * a ring is being opened, a truncated-then-regrown segment and a forged lane head, and a /dev/shm
 * too small for the ring. Each test names the attack; each attack used to crash a process, or lose
 * data without saying so. */
#define _GNU_SOURCE /* unshare */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdatomic.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/stat.h>

#include "../multiproc/mp_util.h"
#include "layout.h"

#define CLEAN_EXIT 42 /* a child saw the attack as an error return, not a crash */

/* Wait for a child and return its exit code; a child killed by a signal fails the test. */
static int child_exit(pid_t pid, const char *who)
{
	int st = evr_test_reap(pid, 0);
	cr_assert(WIFEXITED(st), "%s died of signal %d", who, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return WEXITSTATUS(st);
}

/* Whether process pid has object `name` mapped (it appears in /proc/PID/maps as /dev/shm/NAME). */
static int has_mapped(pid_t pid, const char *name)
{
	char path[64], line[512], want[128];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	snprintf(want, sizeof want, "/dev/shm%s", name);
	FILE *f = fopen(path, "r");
	int found = 0;
	while (f && !found && fgets(line, sizeof line, f))
		found = strstr(line, want) != NULL;
	if (f)
		fclose(f);
	return found;
}

TestSuite(hostile_shm, .timeout = 60);

/* Item 2: the opener waits for the magic of a ring still being initialised; a neighbour truncates
 * the object meanwhile. The opener used to read the header unshielded and die of SIGBUS. */
Test(hostile_shm, truncation_while_a_ring_is_opened_is_a_clean_error)
{
	char name[64];
	evr_test_name(name, sizeof name, "openrace");
	int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600); /* a "creator" that never publishes */
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct evr_ring *r;
		struct evr_err err = { 0 };
		int rc = evr_ring_open(name, EVR_ROLE_CONSUMER, &r, &err);
		fprintf(stderr, "open during truncation: %s\n", err.msg);
		_exit(rc == -EFAULT && strstr(err.msg, "truncated while opening") ? CLEAN_EXIT : 3);
	}
	while (!has_mapped(pid, name)) /* the opener is now waiting for the magic (200 ms) */
		usleep(100);
	cr_assert_eq(ftruncate(fd, 0), 0);
	close(fd);
	int code = child_exit(pid, "opener");
	shm_unlink(name);
	cr_assert_eq(code, CLEAN_EXIT, "opener exited %d", code);
}

/* In a child: a mount namespace of its own with a private 8 MiB tmpfs on /dev/shm, so the test fills
 * no real /dev/shm and leaves no mount behind (the namespace dies with the child). Exit 77: no
 * privilege for it here. */
static int enter_small_shm(void)
{
	if (unshare(CLONE_NEWNS))
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=1777"))
		return -1;
	return 0;
}

#ifdef EVR_CLI_PATH
/* Runs `evring create NAME --lanes 2 --slots 64k` and returns its exit code; its stderr in msg. */
static int cli_create(const char *name, char *msg, size_t len)
{
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		execl(EVR_CLI_PATH, "evring", "create", name, "--lanes", "2", "--slots", "64k", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t n;
	while (got < len - 1 && (n = read(p[0], msg + got, len - 1 - got)) > 0)
		got += (size_t)n;
	msg[got] = 0;
	close(p[0]);
	int st = evr_test_reap(pid, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}
#endif

/* Item 4: a 16 MiB ring on an 8 MiB /dev/shm. It used to be created (sparse) and then its producers
 * faulted and lost records without a word in `evring info`. Now creation fails, names both sizes,
 * and leaves no object behind; so does `evring create`, with exit code 1. */
Test(hostile_shm, a_ring_larger_than_dev_shm_is_refused_at_creation_with_both_sizes)
{
	if (geteuid() != 0)
		cr_skip_test("needs root for a mount namespace");
	pid_t pid = fork();
	if (pid == 0) {
		if (enter_small_shm())
			_exit(77);
		char name[64], msg[512];
		evr_test_name(name, sizeof name, "small");
		struct evr_ring_opts o;
		evr_ring_opts_default(&o);
		o.lanes = 2;
		o.slots_per_lane = 65536; /* 2 x 8 MiB of slots */
		struct evr_ring *r;
		struct evr_err err = { 0 };
		int rc = evr_ring_create(name, &o, &r, &err);
		fprintf(stderr, "library: rc %d: %s\n", rc, err.msg);
		if (rc != -ENOSPC || !strstr(err.msg, "needs 16.") || !strstr(err.msg, "MiB, /dev/shm has"))
			_exit(3);
		struct statvfs v;
		if (shm_open(name, O_RDONLY, 0) >= 0 || statvfs("/dev/shm", &v) || v.f_bfree != v.f_blocks)
			_exit(4); /* the partial object is gone, and so is every page it held */
#ifdef EVR_CLI_PATH
		int code = cli_create(name, msg, sizeof msg);
		fprintf(stderr, "cli: exit %d: %s", code, msg);
		_exit(code == 1 && strstr(msg, "MiB free") ? CLEAN_EXIT : 5);
#else
		_exit(CLEAN_EXIT);
#endif
	}
	int code = child_exit(pid, "creator in a small /dev/shm");
	if (code == 77)
		cr_skip_test("cannot mount a private tmpfs here");
	cr_assert_eq(code, CLEAN_EXIT, "creator exited %d", code);
}
