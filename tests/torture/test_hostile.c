/* Hostile neighbours: a process truncates, unlinks or rewrites the header of a ring while producers
 * and a consumer (separate processes) use it. Nobody crashes, everyone gets a clean error or keeps
 * working, and what was delivered before stays intact. And a user without access cannot open a
 * 0600 ring, while a group member can read a 0640 one. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <grp.h>
#include <sys/stat.h>

#include "../multiproc/mp_util.h"
#include <evring/platform.h>

#define CLEAN_EXIT 42 /* a child saw the attack as an error return, not a crash */

struct shared {
	_Atomic uint64_t delivered, emitted;
	_Atomic int stop;
	_Atomic int attached; /* children that opened the ring: attacks wait for all of them */
};

static char name[64];
static struct evr_ring *ring;
static struct shared *sh;
static int spawned; /* children started by this test */

static void setup(void)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 1024;
	evr_test_name(name, sizeof name, "hostile");
	cr_assert_eq(evr_ring_create(name, &o, &ring, NULL), 0);
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	spawned = 0;
}

static void teardown(void)
{
	evr_ring_close(ring);
	evr_ring_unlink(name, NULL);
	munmap(sh, sizeof *sh);
}

/* Emits until told to stop (exit 0) or until emit reports the segment gone (exit CLEAN_EXIT). */
static pid_t spawn_producer(uint64_t id)
{
	spawned++;
	pid_t pid = fork();
	if (pid)
		return pid;
	struct evr_ring *r;
	struct evr_producer *p;
	if (evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL) || evr_producer_open(r, "hostile", &p, NULL))
		_exit(1);
	atomic_fetch_add(&sh->attached, 1);
	for (uint64_t n = 0; !atomic_load(&sh->stop); n++) {
		struct evr_record rec;
		mp_fill(&rec, id, n);
		int rc = evr_emit(p, &rec);
		if (rc == -EFAULT)
			_exit(evr_ring_status(r) == -EFAULT ? CLEAN_EXIT : 3);
		if (rc == 0)
			atomic_fetch_add(&sh->emitted, 1);
		if (n % 256 == 0)
			usleep(100);
	}
	_exit(0);
}

/* Reads and keeps a copy of everything delivered; at the end (stop, or -EFAULT from poll) checks
 * every kept record again: what was delivered before an attack must still be intact. */
static pid_t spawn_consumer(void)
{
	spawned++;
	pid_t pid = fork();
	if (pid)
		return pid;
	struct evr_ring *r;
	struct evr_consumer *c;
	if (evr_ring_open(name, EVR_ROLE_CONSUMER, &r, NULL) || evr_consumer_open(r, NULL, &c, NULL))
		_exit(1);
	atomic_fetch_add(&sh->attached, 1);
	static struct evr_record kept[1 << 16];
	unsigned nkept = 0;
	int status = 0;
	while (!atomic_load(&sh->stop)) {
		struct evr_item it;
		int rc = evr_consumer_poll(c, &it);
		if (rc == -EFAULT) {
			status = CLEAN_EXIT;
			break;
		}
		if (rc == 1 && it.kind == EVR_ITEM_RECORD) {
			if (!mp_intact(&it.rec))
				_exit(4); /* torn before any attack could explain it */
			if (nkept < sizeof kept / sizeof kept[0])
				kept[nkept++] = it.rec;
			atomic_fetch_add(&sh->delivered, 1);
		} else if (rc == 0) {
			evr_consumer_wait(c, 1000000);
		}
	}
	for (unsigned i = 0; i < nkept; i++)
		if (!mp_intact(&kept[i]))
			_exit(5);
	_exit(nkept ? status : 6);
}

/* Every child attached (one that opens after an attack is rightly refused, which is not what the
 * test is about) and records flowing. */
static void wait_for_traffic(uint64_t records)
{
	uint64_t end = evr_test_now_ns() + 20ull * 1000000000u;
	while ((atomic_load(&sh->delivered) < records || atomic_load(&sh->attached) < spawned) &&
	       evr_test_now_ns() < end)
		usleep(1000);
	cr_assert_eq(atomic_load(&sh->attached), spawned, "every child attached before the attack");
	cr_assert_geq(atomic_load(&sh->delivered), records, "traffic flows before the attack");
}

static void expect_exit(pid_t pid, int code, const char *who)
{
	uint64_t end = evr_test_now_ns() + 20ull * 1000000000u;
	int st = 0;
	while (waitpid(pid, &st, WNOHANG) != pid) {
		if (evr_test_now_ns() > end) {
			evr_test_reap(pid, SIGKILL);
			cr_assert_fail("%s did not finish", who);
		}
		usleep(1000);
	}
	cr_assert(WIFEXITED(st), "%s died of signal %d", who, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	cr_assert_eq(WEXITSTATUS(st), code, "%s exited %d, expected %d", who, WEXITSTATUS(st), code);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 60);

Test(hostile, truncation_under_live_processes_gives_clean_errors_and_keeps_what_was_delivered)
{
	pid_t p1 = spawn_producer(1), p2 = spawn_producer(2), c = spawn_consumer();
	wait_for_traffic(2000);
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4096), 0); /* only the header page is left */
	close(fd);
	expect_exit(p1, CLEAN_EXIT, "producer 1");
	expect_exit(p2, CLEAN_EXIT, "producer 2");
	expect_exit(c, CLEAN_EXIT, "consumer");
	struct evr_ring *again;
	struct evr_err err = { 0 };
	cr_assert_lt(evr_ring_open(name, EVR_ROLE_CONSUMER, &again, &err), 0, "a truncated ring is refused");
	cr_assert_neq(err.msg[0], 0, "with a message");
	cr_log_info("refused after truncation: %s", err.msg);
}

Test(hostile, unlink_under_live_processes_lets_them_finish_and_refuses_new_opens)
{
	pid_t p1 = spawn_producer(1), c = spawn_consumer();
	wait_for_traffic(1000);
	cr_assert_eq(evr_ring_unlink(name, NULL), 0);
	uint64_t at_unlink = atomic_load(&sh->delivered);
	struct evr_ring *again;
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &again, NULL), -ENOENT);
	uint64_t end = evr_test_now_ns() + 10ull * 1000000000u;
	while (atomic_load(&sh->delivered) < at_unlink + 1000 && evr_test_now_ns() < end)
		usleep(1000);
	cr_assert_geq(atomic_load(&sh->delivered), at_unlink + 1000, "records keep flowing on the unlinked segment");
	atomic_store(&sh->stop, 1);
	expect_exit(p1, 0, "producer");
	expect_exit(c, 0, "consumer");
}

Test(hostile, header_rewritten_under_live_processes_crashes_nobody_and_new_opens_are_refused)
{
	pid_t p1 = spawn_producer(1), c = spawn_consumer();
	wait_for_traffic(1000);
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	unsigned char *hdr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(hdr, MAP_FAILED);
	for (unsigned i = 0; i < 512; i++) /* magic, versions, schema hash, layout: all garbage */
		hdr[i] = (unsigned char)(0xA5 ^ i * 37);
	munmap(hdr, 4096);
	usleep(200000);
	struct evr_ring *again;
	struct evr_err err = { 0 };
	cr_assert_lt(evr_ring_open(name, EVR_ROLE_CONSUMER, &again, &err), 0, "a rewritten header is refused");
	cr_log_info("refused after rewrite: %s", err.msg);
	atomic_store(&sh->stop, 1);
	expect_exit(p1, 0, "producer"); /* it works from the layout it validated when it attached */
	expect_exit(c, 0, "consumer");
}

/* In a child: become nobody (uid 65534) with the given group, try both roles on ring `nm`, report
 * by exit code: bit 0 consumer open succeeded, bit 1 producer open succeeded, bit 2 the consumer can
 * sleep on the futex (opened the wake page read-write), 8+ unexpected errno. */
static int open_as_nobody(const char *nm, gid_t gid)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(gid) || setuid(65534))
			_exit(64);
		struct evr_ring *r;
		struct evr_err err = { 0 };
		int code = 0, rc = evr_ring_open(nm, EVR_ROLE_CONSUMER, &r, &err);
		if (rc == 0)
			code |= 1 | (evr_ring_can_sleep(r) ? 4 : 0);
		else if (rc != -EACCES || !strstr(err.msg, "ermission"))
			_exit(8);
		rc = evr_ring_open(nm, EVR_ROLE_PRODUCER, &r, &err);
		if (rc == 0)
			code |= 2;
		else if (rc != -EACCES)
			_exit(9);
		_exit(code);
	}
	int st = evr_test_reap(pid, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

Test(hostile, another_user_cannot_open_a_0600_ring_and_a_group_member_can_read_a_0640_one)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch to a second uid");
	cr_assert_eq(open_as_nobody(name, 65534), 0, "uid 65534 opened a 0600 ring of root");
	/* 0640 and group 65534: that group may read (consumer), not write (producer) */
	char path[128];
	snprintf(path, sizeof path, "/dev/shm%s", name);
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(chown(path, 0, 65534), 0);
	cr_assert_eq(open_as_nobody(name, 65534), 1, "group member: consumer yes, producer no, and no sleeping: "
						 "the wake page's group was left as it was");
}

Test(hostile, a_ring_created_0640_lets_its_group_read_and_sleep_but_not_write)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch to a second uid");
	char nm[64], path[128], wake[160];
	struct evr_ring *r;
	cr_assert_eq(evr_test_mode_ring(nm, sizeof nm, "group", 0640, &r, path, sizeof path, wake, sizeof wake), 0);
	struct stat st;
	cr_assert_eq(stat(wake, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0660, "wake page mode %o: the ring's readers must be able to sleep",
		     (unsigned)(st.st_mode & 0777));
	/* the operator hands both objects to the readers' group */
	cr_assert_eq(chown(path, 0, 65534), 0);
	cr_assert_eq(chown(wake, 0, 65534), 0);
	int code = open_as_nobody(nm, 65534);
	evr_ring_close(r);
	evr_ring_unlink(nm, NULL);
	cr_assert_eq(code, 1 | 4, "group member: consumer yes and sleeps on the futex, producer no (got %d)", code);
}
