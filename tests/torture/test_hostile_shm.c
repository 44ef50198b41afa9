/* Hostile neighbours, part two (issue 13, items 1-4): the wake page and its owner, a truncation while
 * a ring is being opened, a truncated-then-regrown segment and a forged lane head, and a /dev/shm
 * too small for the ring. Each test names the attack; each attack used to crash a process, or lose
 * data without saying so. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
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
