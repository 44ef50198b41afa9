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
#include <evring/platform.h>

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
		evr_platform_opts(&o);
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

/* Counters the children share with the test. */
struct traffic {
	_Atomic uint64_t emitted, delivered;
	_Atomic int attached, stop;
};

static struct traffic *traffic_new(void)
{
	struct traffic *t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(t, MAP_FAILED);
	return t;
}

/* A producer child: emits (with short pauses, so the consumer goes to sleep between bursts) until
 * told to stop; exit 0, or 3 when an emit failed. */
static pid_t spawn_emitter(const char *name, struct traffic *t)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	struct evr_ring *r;
	struct evr_producer *p;
	if (evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL) || evr_producer_open(r, "hostile-shm", &p, NULL))
		_exit(1);
	atomic_fetch_add(&t->attached, 1);
	for (uint64_t n = 0; !atomic_load(&t->stop); n++) {
		struct evr_record rec;
		mp_fill(&rec, 1, n);
		if (evr_emit(p, &rec))
			_exit(3);
		atomic_fetch_add(&t->emitted, 1);
		if (n % 64 == 0)
			usleep(2000);
	}
	_exit(0);
}

/* A consumer child that sleeps in evr_consumer_wait whenever the ring is empty; exit 0 at stop,
 * 3 on a poll error, 4 on a torn record. */
static pid_t spawn_sleeper(const char *name, struct traffic *t)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	struct evr_ring *r;
	struct evr_consumer *c;
	if (evr_ring_open(name, EVR_ROLE_CONSUMER, &r, NULL) || evr_consumer_open(r, NULL, &c, NULL))
		_exit(1);
	if (!evr_ring_can_sleep(r))
		_exit(2);
	atomic_fetch_add(&t->attached, 1);
	while (!atomic_load(&t->stop)) {
		struct evr_item it;
		int rc = evr_consumer_poll(c, &it);
		if (rc < 0)
			_exit(3);
		if (rc == 1 && it.kind == EVR_ITEM_RECORD && !mp_intact(&it.rec))
			_exit(4);
		if (rc == 1)
			atomic_fetch_add(&t->delivered, 1);
		else
			evr_consumer_wait(c, 20 * 1000 * 1000);
	}
	_exit(0);
}

/* Wait (bounded, not timed) until both counters passed `at`. A child that dies meanwhile, or no
 * progress at all, fails the test, and both children are killed first. */
static void expect_progress(struct traffic *t, uint64_t at, const pid_t kids[2], const char *when)
{
	uint64_t end = evr_test_now_ns() + 20ull * 1000000000u;
	while (atomic_load(&t->emitted) < at || atomic_load(&t->delivered) < at) {
		for (int i = 0; i < 2; i++) {
			int st;
			if (waitpid(kids[i], &st, WNOHANG) == kids[i]) {
				evr_test_reap(kids[1 - i], SIGKILL);
				cr_assert_fail("%s %s: %s %d", i ? "the consumer" : "the producer", when,
					       WIFSIGNALED(st) ? "died of signal" : "exited", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			}
		}
		if (evr_test_now_ns() > end) {
			evr_test_reap(kids[0], SIGKILL);
			evr_test_reap(kids[1], SIGKILL);
			cr_assert_fail("no progress %s", when);
		}
		usleep(1000);
	}
}

/* In a child as uid 65534 in group 65534: truncate NAME~wake to nothing. Exit 0 when it did. */
static int truncate_wake_as_nobody(const char *name)
{
	pid_t pid = fork();
	if (pid == 0) {
		char wn[128];
		snprintf(wn, sizeof wn, "%s~wake", name);
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(64);
		int fd = shm_open(wn, O_RDWR, 0);
		_exit(fd >= 0 && ftruncate(fd, 0) == 0 ? 0 : 5);
	}
	return child_exit(pid, "truncating reader");
}

/* Item 1: a member of a 0640 ring's group may write the wake page (that is how it sleeps), so it can
 * truncate it. Producers (emit reads waiters) and sleeping consumers used to die of SIGBUS. Now the
 * page is shielded: producers and consumers carry on, and only wakes are lost. */
Test(hostile_shm, a_reader_that_truncates_the_wake_page_kills_nobody)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch to a second uid");
	char name[64], path[128], wake[160];
	struct evr_ring *r;
	cr_assert_eq(evr_test_mode_ring(name, sizeof name, "wakecut", 0640, &r, path, sizeof path, wake, sizeof wake), 0);
	cr_assert_eq(chown(path, 0, 65534), 0); /* the operator hands both objects to the readers' group */
	cr_assert_eq(chown(wake, 0, 65534), 0);
	struct traffic *t = traffic_new();
	pid_t kids[2] = { spawn_emitter(name, t), spawn_sleeper(name, t) };
	expect_progress(t, 500, kids, "before the attack");
	cr_assert_eq(atomic_load(&t->attached), 2);
	cr_assert_eq(truncate_wake_as_nobody(name), 0, "the group member could truncate the wake page");
	uint64_t at = atomic_load(&t->emitted);
	expect_progress(t, at + 1000, kids, "after the wake page was truncated");
	atomic_store(&t->stop, 1);
	int pc = child_exit(kids[0], "producer"), cc = child_exit(kids[1], "sleeping consumer");
	evr_ring_close(r);
	evr_ring_unlink(name, NULL);
	munmap(t, sizeof *t);
	cr_assert_eq(pc, 0, "producer exited %d", pc);
	cr_assert_eq(cc, 0, "consumer exited %d", cc);
}

/* Item 1: a local user who creates NAME~wake before the ring's owner creates the ring used to keep
 * owning the page (no O_EXCL, no owner check): it could hold waiters or truncate it at will, even for
 * a 0600 ring. Now creation refuses the name, says whose page it is, and leaves nothing behind; and an
 * opener never adopts a page whose owner is not the ring's. */
Test(hostile_shm, a_squatted_wake_page_is_refused_not_adopted)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch to a second uid");
	char name[64], wn[128];
	evr_test_name(name, sizeof name, "squat");
	snprintf(wn, sizeof wn, "%s~wake", name);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(64);
		int fd = shm_open(wn, O_CREAT | O_EXCL | O_RDWR, 0666);
		_exit(fd >= 0 && ftruncate(fd, 4096) == 0 ? 0 : 5);
	}
	cr_assert_eq(child_exit(pid, "squatter"), 0);
	struct evr_ring *r;
	struct evr_err err = { 0 };
	int rc = evr_ring_create(name, evr_test_opts(), &r, &err);
	cr_log_info("create over a squatted wake page: %s", err.msg);
	int left = shm_open(name, O_RDONLY, 0);
	if (rc == 0)
		evr_ring_close(r);
	if (left >= 0) {
		close(left);
		shm_unlink(name);
	}
	cr_expect_eq(rc, -EEXIST, "creation refused (rc %d)", rc);
	cr_expect(strstr(err.msg, "belongs to uid 65534"), "the message names the squatter: %s", err.msg);
	cr_expect_lt(left, 0, "no ring object left behind");

	/* The same page, met by an opener of a ring that exists: not adopted, consumers nap instead. */
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	char other[64], ow[128];
	evr_test_name(other, sizeof other, "squat");
	snprintf(ow, sizeof ow, "/dev/shm%s~wake", other);
	cr_assert_eq(evr_ring_create(other, &o, &r, NULL), 0);
	cr_assert_eq(chown(ow, 65534, 65534), 0); /* as if the page had been replaced by that user's */
	struct evr_ring *c;
	cr_assert_eq(evr_ring_open(other, EVR_ROLE_CONSUMER, &c, NULL), 0);
	bool sleeps = evr_ring_can_sleep(c);
	evr_ring_close(c);
	evr_ring_close(r);
	evr_ring_unlink(other, NULL);
	shm_unlink(wn);
	cr_assert(!sleeps, "a wake page of another owner was adopted");
}

/* A one-lane ring with `n` records from a producer child, drained by a consumer of this process. */
static void ring_with_records(char *name, size_t len, const char *tag, uint64_t n, struct evr_ring **cr,
			      struct evr_consumer **c)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 1024;
	struct evr_ring *owner;
	evr_test_name(name, len, tag);
	cr_assert_eq(evr_ring_create(name, &o, &owner, NULL), 0);
	evr_ring_close(owner); /* the object stays; the test unlinks it */
	pid_t pid = fork();
	if (pid == 0)
		mp_producer_child(name, 1, n);
	cr_assert_eq(child_exit(pid, "producer"), 0);
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, cr, NULL), 0);
	cr_assert_eq(evr_consumer_open(*cr, NULL, c, NULL), 0);
	struct evr_item it;
	for (uint64_t i = 0; i < n; i++) {
		cr_assert_eq(evr_consumer_poll(*c, &it), 1);
		cr_assert_eq(it.kind, EVR_ITEM_RECORD);
	}
	cr_assert_eq(evr_consumer_poll(*c, &it), 0, "drained");
}

/* Polls until something other than "nothing yet" or a record comes (bounded); returns that. */
static int poll_until_news(struct evr_consumer *c, struct evr_item *it)
{
	for (int i = 0; i < 1000; i++) {
		int rc = evr_consumer_poll(c, it);
		if (rc < 0 || (rc == 1 && it->kind != EVR_ITEM_RECORD))
			return rc;
		if (rc == 0)
			evr_consumer_wait(c, 1000000);
	}
	return 0;
}

/* A ring with 100 records read by a consumer, a producer ready to write more, and a read-write
 * descriptor of the object for the attack; returns the descriptor (st: its stat). */
static int ring_under_attack(char *name, size_t len, const char *tag, struct evr_ring **cr, struct evr_consumer **c,
			     struct evr_ring **pr, struct evr_producer **p, struct stat *st)
{
	ring_with_records(name, len, tag, 100, cr, c);
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_PRODUCER, pr, NULL), 0);
	cr_assert_eq(evr_producer_open(*pr, "after", p, NULL), 0);
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert(fd >= 0 && fstat(fd, st) == 0);
	return fd;
}

/* Poll until news, then close both sides and unlink. The fault text and the consumer's totals are
 * copied out first: they live in the handles. */
static int poll_then_close(const char *name, const char *when, struct evr_ring *cr, struct evr_consumer *c,
			   struct evr_ring *pr, struct evr_producer *p, struct evr_item *it, char *why, size_t len,
			   struct evr_lane_stats *ls)
{
	int rc = poll_until_news(c, it);
	snprintf(why, len, "%s", evr_ring_fault(cr) ? evr_ring_fault(cr) : "");
	cr_log_info("%s: poll %d: %s", when, rc, why);
	evr_consumer_stats(c, ls);
	evr_producer_close(p);
	evr_ring_close(pr);
	evr_consumer_close(c);
	evr_ring_close(cr);
	evr_ring_unlink(name, NULL);
	return rc;
}

/* Item 3: truncated to nothing, then regrown to its size: no fault, producers' emits return 0 into a
 * zeroed segment, and the consumer used to find its lane head below its cursor and call it empty.
 * Now the poll fails with -EUCLEAN and says the head moved backwards; what was delivered stays
 * counted and nothing is reported lost. */
Test(hostile_shm, a_segment_truncated_and_regrown_is_reported_as_corruption)
{
	char name[64];
	struct evr_ring *cr, *pr;
	struct evr_consumer *c;
	struct evr_producer *p;
	struct stat st;
	int fd = ring_under_attack(name, sizeof name, "regrow", &cr, &c, &pr, &p, &st);
	cr_assert_eq(ftruncate(fd, 0), 0);
	cr_assert_eq(ftruncate(fd, st.st_size), 0);
	close(fd);
	for (uint64_t n = 0; n < 10; n++) {
		struct evr_record rec;
		mp_fill(&rec, 2, n);
		cr_assert_eq(evr_emit(p, &rec), 0, "emits into the regrown segment succeed: nothing faults");
	}
	struct evr_item it;
	struct evr_lane_stats ls;
	char why[256];
	int rc = poll_then_close(name, "after truncate+regrow", cr, c, pr, p, &it, why, sizeof why, &ls);
	cr_assert_eq(rc, -EUCLEAN, "poll returned %d (kind %d), not -EUCLEAN", rc, rc == 1 ? (int)it.kind : -1);
	cr_assert(strstr(why, "lane 0 head moved backwards from 100 to 10"), "%s", why);
	cr_assert_eq(ls.delivered, 100);
	cr_assert_eq(ls.lost_lapped + ls.lost_abandoned, 0, "the damage is not reported as loss");
	cr_assert_eq(ls.cursor - ls.start, 100);
}

/* Item 3: a writer sets a lane head near 2^64; producers then claim positions there. The consumer used
 * to report the distance as millions of lost records (or time out position after position as
 * abandoned). Now the poll fails with -EUCLEAN, says the head jumped, and reports no loss. */
Test(hostile_shm, a_forged_lane_head_is_reported_as_corruption_not_as_loss)
{
	char name[64];
	struct evr_ring *cr, *pr;
	struct evr_consumer *c;
	struct evr_producer *p;
	struct stat st;
	int fd = ring_under_attack(name, sizeof name, "head", &cr, &c, &pr, &p, &st);
	unsigned char *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(base, MAP_FAILED);
	const struct evr_shm_header *h = (const void *)base;
	struct evr_lane_hdr *lane0 = (void *)(base + h->lanes_offset);
	atomic_store(&lane0->head, UINT64_MAX - (1u << 20)); /* the forgery */
	munmap(base, (size_t)st.st_size);
	for (uint64_t n = 0; n < 2000; n++) { /* two laps at the forged positions */
		struct evr_record rec;
		mp_fill(&rec, 2, n);
		evr_emit(p, &rec);
	}
	struct evr_item it;
	struct evr_lane_stats ls;
	char why[256];
	int rc = poll_then_close(name, "after a forged head", cr, c, pr, p, &it, why, sizeof why, &ls);
	cr_assert_eq(rc, -EUCLEAN, "poll returned %d (kind %d, count %llu), not -EUCLEAN", rc,
		     rc == 1 ? (int)it.kind : -1, rc == 1 ? (unsigned long long)it.count : 0ull);
	cr_assert(strstr(why, "lane 0 head jumped from 100 to"), "%s", why);
	cr_assert_eq(ls.lost_lapped + ls.lost_abandoned, 0, "the forgery is not reported as loss");
	cr_assert_eq(ls.delivered, 100);
}

/* Item 4's rule for consumers: a poll that fails with -EFAULT must not count the item it was reading
 * as delivered. Two lanes, records in lane 0 only; the segment is cut at the end of lane 0. The next
 * poll starts at lane 1 (round robin), faults there, then reads a record from lane 0: it used to count
 * that record as delivered while returning -EFAULT, so the stats claimed a record nobody received. */
Test(hostile_shm, a_poll_that_faults_counts_nothing_as_delivered)
{
	char name[64];
	evr_test_name(name, sizeof name, "faultpoll");
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 2;
	o.slots_per_lane = 1024;
	struct evr_ring *owner, *cr;
	cr_assert_eq(evr_ring_create(name, &o, &owner, NULL), 0);
	pid_t pid = fork();
	if (pid == 0) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(0, &one);
		if (sched_setaffinity(0, sizeof one, &one)) /* CPU 0 emits into lane 0 */
			_exit(2);
		mp_producer_child(name, 1, 2);
	}
	cr_assert_eq(child_exit(pid, "producer"), 0);
	cr_assert_eq(evr_ring_lane_head(owner, 0), 2, "both records in lane 0");
	struct evr_consumer *c;
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &cr, NULL), 0);
	cr_assert_eq(evr_consumer_open(cr, NULL, &c, NULL), 0);
	struct evr_item it;
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	cr_assert_eq(it.lane, 0); /* the next poll starts at lane 1 */
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	const struct evr_shm_header *h = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq(h, MAP_FAILED);
	off_t cut = (off_t)((h->lanes_offset + h->lane_stride) & ~4095ull); /* lane 1's first slot is past it */
	munmap((void *)h, 4096);
	cr_assert_eq(ftruncate(fd, cut), 0);
	close(fd);
	int rc = evr_consumer_poll(c, &it);
	struct evr_lane_stats st;
	evr_consumer_lane_stats(c, 0, &st);
	evr_consumer_close(c);
	evr_ring_close(cr);
	evr_ring_close(owner);
	evr_ring_unlink(name, NULL);
	cr_assert_eq(rc, -EFAULT);
	cr_assert_eq(st.delivered, 1, "delivered %llu: only the record handed out counts",
		     (unsigned long long)st.delivered);
	cr_assert_eq(st.cursor - st.start, 1, "the cursor stays at the record not handed out");
}

/* Item 1: the wake page used to mirror every read bit into a write bit, so a 0644 ring had a 0666
 * page any local user could truncate or hold. Only the group's read bit is mirrored now. */
Test(hostile_shm, a_world_readable_ring_gives_others_no_write_access_to_its_wake_page)
{
	char name[64], path[128], wake[160];
	struct evr_ring *r;
	cr_assert_eq(evr_test_mode_ring(name, sizeof name, "mode", 0644, &r, path, sizeof path, wake, sizeof wake), 0);
	struct stat st;
	int rc = stat(wake, &st);
	evr_ring_close(r);
	evr_ring_unlink(name, NULL);
	cr_assert_eq(rc, 0);
	cr_assert_eq(st.st_mode & 0777, 0664, "wake page mode %o", (unsigned)(st.st_mode & 0777));
}
