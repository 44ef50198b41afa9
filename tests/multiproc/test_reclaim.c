/* Registration, liveness and reclaim under concurrency, over real segments with forked processes.
 *
 * The windows the old protocol lost in are held open with the test hooks (a process stops or dies
 * exactly inside one step), so each race is played deterministically; a loop then plays the plain
 * race of two opens after a death many times. Liveness must come from the kernel: producers in
 * another pid namespace, or whose main thread exited, are alive; a fork child does not keep its
 * parent's entry alive. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "lane.h"
#include "mp_util.h"
#include "ring_internal.h"
#include <evring/platform.h>

#define SLOTS 16

static char name[64];
static struct evr_ring *ring;

static void make_ring(unsigned max_producers)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = SLOTS;
	o.max_producers = max_producers;
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, "reclaim"), &o, &ring, NULL), 0);
}

static void teardown(void)
{
	mp_kill_tracked();
	evr_ring_close(ring);
	evr_ring_unlink(name, NULL);
}

static struct evr_producer_info entry(unsigned idx)
{
	struct evr_producer_info pi;
	evr_ring_producer_info(ring, idx, &pi);
	return pi;
}

/* A child that registers and dies without closing: entry 0 is left LIVE with a dead holder. */
static void leave_dead_entry(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct evr_ring *r;
		struct evr_producer *p;
		if (evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL) || evr_producer_open(r, "doomed", &p, NULL))
			_exit(1);
		_exit(0); /* no close: the kernel drops the lock, the entry still says LIVE */
	}
	int st = evr_test_reap(pid, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(entry(0).state, EVR_PRODUCER_LIVE);
	cr_assert_not(entry(0).alive, "its holder is gone");
}

/* Child side of the races: open a producer, report the id (or 255 for failure) through the pipe,
 * then stay registered until killed. `hook_at`/`hook_sig` stop or kill it at one protocol step. */
static enum evr_hook_point hook_at;
static int hook_sig;
static void entry_hook(enum evr_hook_point at, unsigned idx)
{
	(void)idx;
	if (at == hook_at)
		raise(hook_sig);
}

static pid_t start_opener(int fd, int use_hook, enum evr_hook_point at, int sig)
{
	pid_t pid = mp_track(fork());
	if (pid == 0) {
		if (use_hook) {
			hook_at = at;
			hook_sig = sig;
			evr_test_hook_entry = entry_hook;
		}
		struct evr_ring *r;
		struct evr_producer *p;
		unsigned char id = 255;
		if (!evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL) && !evr_producer_open(r, "opener", &p, NULL)) {
			id = (unsigned char)evr_producer_id(p);
			for (uint64_t i = 0; i < 3; i++) {
				struct evr_record rec;
				mp_fill(&rec, (uint64_t)getpid(), i);
				evr_emit(p, &rec);
			}
		}
		if (write(fd, &id, 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	return pid;
}

static unsigned char read_id(int fd)
{
	unsigned char id;
	cr_assert_eq(read(fd, &id, 1), 1);
	return id;
}

static void wait_stopped(pid_t pid)
{
	int st;
	cr_assert_eq(waitpid(pid, &st, WUNTRACED), pid);
	cr_assert(WIFSTOPPED(st), "child stopped in the window");
}

/* The old bug 1, deterministically: a reclaimer stopped between its judgement and its act while a
 * second process opens. The stopped reclaimer holds the entry's lock, so the second process can
 * neither reclaim nor claim entry 0 (the table is full: -ENOSPC); once continued, the first one
 * reclaims and registers. Exactly one of them ever owns entry 0. */
static void reclaimer_stopped_at(enum evr_hook_point at)
{
	make_ring(1);
	leave_dead_entry();
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t slow = start_opener(pfd[1], 1, at, SIGSTOP);
	wait_stopped(slow);
	pid_t fast = start_opener(pfd[1], 0, 0, 0);
	cr_assert_eq(read_id(pfd[0]), 255, "the second opener finds no free entry while the first acts on it");
	cr_assert_neq(entry(0).state, EVR_PRODUCER_DEAD, "nobody but the stopped reclaimer touched entry 0");
	kill(slow, SIGCONT);
	cr_assert_eq(read_id(pfd[0]), 0, "the continued reclaimer registers");
	struct evr_producer_info pi = entry(0);
	cr_assert_eq(pi.state, EVR_PRODUCER_LIVE);
	cr_assert(pi.alive);
	cr_assert_eq(pi.generation, 2, "registered twice: the dead owner, then the reclaimer");
	evr_test_reap(slow, SIGKILL);
	evr_test_reap(fast, SIGKILL);
	close(pfd[0]);
	close(pfd[1]);
}

Test(reclaim, reclaimer_stopped_after_locking_excludes_a_concurrent_open, .fini = teardown)
{
	reclaimer_stopped_at(EVR_HOOK_RECLAIM_LOCKED);
}

Test(reclaim, reclaimer_stopped_mid_reclaim_excludes_a_concurrent_open, .fini = teardown)
{
	reclaimer_stopped_at(EVR_HOOK_RECLAIM_MARKED);
}

Test(reclaim, reclaimer_stopped_before_marking_dead_excludes_a_concurrent_open, .fini = teardown)
{
	reclaimer_stopped_at(EVR_HOOK_RECLAIM_RELEASED);
}

/* A reclaimer that dies mid-reclaim leaves RECLAIMING; the next one finishes the job. */
Test(reclaim, reclaimer_killed_mid_reclaim_is_finished_by_the_next, .fini = teardown)
{
	make_ring(1);
	leave_dead_entry();
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t victim = start_opener(pfd[1], 1, EVR_HOOK_RECLAIM_MARKED, SIGKILL);
	evr_test_reap(victim, 0);
	cr_assert_eq(entry(0).state, EVR_PRODUCER_RECLAIMING);
	cr_assert_not(entry(0).alive);
	pid_t next = start_opener(pfd[1], 0, 0, 0);
	cr_assert_eq(read_id(pfd[0]), 0);
	cr_assert_eq(entry(0).state, EVR_PRODUCER_LIVE);
	evr_test_reap(next, SIGKILL);
	close(pfd[0]);
	close(pfd[1]);
}

/* Old bug 5: a registration killed halfway (CLAIMING) was never reclaimed. */
Test(reclaim, registration_killed_halfway_is_reclaimed, .fini = teardown)
{
	make_ring(1);
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t victim = start_opener(pfd[1], 1, EVR_HOOK_REGISTER_CLAIMING, SIGKILL);
	evr_test_reap(victim, 0);
	cr_assert_eq(entry(0).state, EVR_PRODUCER_CLAIMING);
	struct evr_reclaim_report rep;
	cr_assert_eq(evr_ring_reclaim(ring, &rep), 0);
	cr_assert_eq(rep.producers_reclaimed, 1);
	cr_assert_eq(entry(0).state, EVR_PRODUCER_DEAD);
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(ring, "after", &p, NULL), 0);
	cr_assert_eq(evr_producer_id(p), 0);
	evr_producer_close(p);
	close(pfd[0]);
	close(pfd[1]);
}

/* A registrant stopped while CLAIMING is alive: never reclaimed. */
Test(reclaim, registration_stopped_halfway_is_not_reclaimed, .fini = teardown)
{
	make_ring(1);
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t slow = start_opener(pfd[1], 1, EVR_HOOK_REGISTER_CLAIMING, SIGSTOP);
	wait_stopped(slow);
	struct evr_reclaim_report rep;
	cr_assert_eq(evr_ring_reclaim(ring, &rep), 0);
	cr_assert_eq(rep.producers_reclaimed, 0);
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(ring, "intruder", &p, NULL), -ENOSPC);
	kill(slow, SIGCONT);
	cr_assert_eq(read_id(pfd[0]), 0);
	evr_test_reap(slow, SIGKILL);
	close(pfd[0]);
	close(pfd[1]);
}

/* The plain race, many times: a producer dies, two processes open at once on a one-entry table.
 * Never both get the id; the winner's entry is LIVE and alive; records it then writes are intact. */
#define ROUNDS 1000
Test(reclaim, concurrent_opens_after_a_death_never_share_an_id, .fini = teardown, .timeout = 120)
{
	make_ring(1);
	struct evr_ring *ro;
	struct evr_consumer *c;
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &ro, NULL), 0);
	struct evr_consumer_opts co = {.start = EVR_START_OLDEST, .abandon_timeout_ns = 1000000};
	cr_assert_eq(evr_consumer_open(ro, &co, &c, NULL), 0);
	unsigned dup = 0, none = 0, dead_live = 0, records = 0, torn = 0;
	for (int round = 0; round < ROUNDS; round++) {
		leave_dead_entry();
		int pfd[2];
		cr_assert_eq(pipe(pfd), 0);
		pid_t a = start_opener(pfd[1], 0, 0, 0), b = start_opener(pfd[1], 0, 0, 0);
		unsigned char x = read_id(pfd[0]), y = read_id(pfd[0]);
		dup += x == 0 && y == 0;
		none += x != 0 && y != 0;
		struct evr_producer_info pi = entry(0);
		dead_live += pi.state != EVR_PRODUCER_LIVE || !pi.alive;
		evr_test_reap(a, SIGKILL);
		evr_test_reap(b, SIGKILL);
		close(pfd[0]);
		close(pfd[1]);
		struct evr_item it;
		while (evr_consumer_poll(c, &it) > 0)
			if (it.kind == EVR_ITEM_RECORD) {
				records++;
				torn += !mp_intact(&it.rec);
			}
	}
	struct evr_lane_stats ls;
	evr_consumer_lane_stats(c, 0, &ls);
	cr_assert_eq(ls.delivered + ls.lost_lapped + ls.lost_abandoned, ls.cursor - ls.start);
	evr_consumer_close(c);
	evr_ring_close(ro);
	cr_assert_gt(records, 0);
	cr_assert_eq(torn, 0, "%u of %u delivered records torn", torn, records);
	cr_log_info("%d rounds: %u duplicate ids, %u rounds without a winner, %u winners not live", ROUNDS, dup,
		    none, dead_live);
	cr_assert_eq(dup, 0, "%u of %d rounds handed one id to two processes", dup, ROUNDS);
	cr_assert_eq(none, 0, "%u rounds left the dead entry unclaimed", none);
	cr_assert_eq(dead_live, 0, "%u rounds left a winner whose entry is not LIVE and alive", dead_live);
}

/* Old bug 2's scenario: a writer stopped mid-slot while a reclaimer runs and new producers come and
 * go on a dead index. The writer keeps its slot; nobody tears it; every delivered record is whole. */
static void stop_at_pos5(unsigned lane, uint64_t pos)
{
	(void)lane;
	if (pos == 5)
		raise(SIGSTOP);
}

Test(reclaim, stopped_writer_keeps_its_slot_across_reclaims_and_reuse, .fini = teardown)
{
	make_ring(2);
	leave_dead_entry(); /* entry 0: dead holder */
	pid_t w = mp_track(fork());
	if (w == 0) {
		evr_test_hook_owned = stop_at_pos5;
		mp_producer_child(name, 7, 10); /* entry 1; stops owning position 5 */
	}
	wait_stopped(w);
	struct evr_lane_ref lane = evr_ring_lane(ring, 0);
	uint64_t held = atomic_load(evr_slot_ctl(evr_lane_slot(&lane, 5)));
	cr_assert_eq(evr_ctl_state(held), EVR_SLOT_WRITING);
	cr_assert_eq(evr_ctl_owner(held), 1);
	/* reclaimers and a new owner of entry 0 writing many laps meanwhile */
	cr_assert_eq(entry(0).state, EVR_PRODUCER_DEAD, "the writer's open reclaimed the dead entry 0");
	struct evr_reclaim_report rep;
	cr_assert_eq(evr_ring_reclaim(ring, &rep), 0);
	cr_assert_eq(rep.producers_reclaimed, 0, "the stopped writer is alive");
	cr_assert_eq(rep.slots_reclaimed, 0);
	pid_t n = mp_track(fork()); /* the new owner of entry 0 */
	if (n == 0)
		mp_producer_child(name, 8, 5 * SLOTS);
	int st = evr_test_reap(n, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(atomic_load(evr_slot_ctl(evr_lane_slot(&lane, 5))), held, "the stopped writer's slot is untouched");
	cr_assert_eq(entry(0).generation, 2, "entry 0 was reused by the new producer");
	cr_assert_eq(entry(1).state, EVR_PRODUCER_LIVE);
	cr_assert(entry(1).alive, "stopped is alive");
	/* a consumer reading now and after the writer resumes gets only whole records */
	struct evr_ring *ro;
	struct evr_consumer *c;
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &ro, NULL), 0);
	struct evr_consumer_opts co = {.start = EVR_START_OLDEST, .abandon_timeout_ns = 1000000};
	cr_assert_eq(evr_consumer_open(ro, &co, &c, NULL), 0);
	kill(w, SIGCONT);
	st = evr_test_reap(w, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct evr_item it;
	unsigned records = 0;
	uint64_t t0 = evr_test_now_ns();
	while (evr_test_now_ns() - t0 < 200000000ull) {
		int rc = evr_consumer_poll(c, &it);
		cr_assert_geq(rc, 0);
		if (rc == 0)
			continue;
		if (it.kind == EVR_ITEM_RECORD) {
			cr_assert(mp_intact(&it.rec), "record at %llu is whole", (unsigned long long)it.pos);
			records++;
		}
	}
	struct evr_lane_stats ls;
	evr_consumer_lane_stats(c, 0, &ls);
	cr_assert_eq(ls.delivered + ls.lost_lapped + ls.lost_abandoned, ls.cursor - ls.start);
	cr_assert_gt(records, 0);
	evr_consumer_close(c);
	evr_ring_close(ro);
}

/* A producer in its own pid namespace (a container sharing /dev/shm), stopped mid-slot: its pid
 * means nothing here, but its lock does. Never reclaimed; its records arrive whole afterwards. */
Test(reclaim, producer_in_another_pid_namespace_is_alive, .fini = teardown)
{
	make_ring(2);
	pid_t outer = mp_track(fork());
	if (outer == 0) {
		setpgid(0, 0);
		if (unshare(CLONE_NEWPID))
			_exit(3);
		pid_t inner = fork(); /* pid 1 of the new namespace */
		if (inner == 0) {
			/* as a container has it: its own /proc, where pids are the namespace's (the host's
			 * /proc would show the host's process of the same number, and a pid guess would
			 * compare two readings of the wrong process) */
			if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
			    mount("proc", "/proc", "proc", 0, NULL))
				_exit(6);
			pid_t w = fork(); /* pid 2 there: the producer (init cannot be stopped from inside) */
			if (w == 0) {
				evr_test_hook_owned = stop_at_pos5;
				mp_producer_child(name, 9, 10);
			}
			int st;
			waitpid(w, &st, 0);
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 4);
		}
		int st;
		waitpid(inner, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 5);
	}
	/* wait until the producer holds position 5 */
	struct evr_lane_ref lane = evr_ring_lane(ring, 0);
	uint64_t t0 = evr_test_now_ns();
	while (evr_ctl_state(atomic_load(evr_slot_ctl(evr_lane_slot(&lane, 5)))) != EVR_SLOT_WRITING) {
		int st;
		if (waitpid(outer, &st, WNOHANG) == outer) {
			if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
				cr_skip_test("unshare(CLONE_NEWPID) is not permitted here");
			cr_assert_fail("producer in the namespace exited early (status %d)", st);
		}
		cr_assert_lt(evr_test_now_ns() - t0, 10000000000ull, "producer never reached position 5");
		usleep(1000);
	}
	usleep(20000); /* let it reach the stop */
	cr_assert_neq(entry(0).pid, 0);
	struct evr_reclaim_report rep;
	cr_assert_eq(evr_ring_reclaim(ring, &rep), 0);
	cr_assert_eq(rep.producers_reclaimed, 0, "a live producer in another pid namespace is never reclaimed");
	cr_assert_eq(entry(0).state, EVR_PRODUCER_LIVE);
	kill(-outer, SIGCONT);
	int st = evr_test_reap(outer, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the producer finished (status %d)", st);
	cr_assert_eq(entry(0).state, EVR_PRODUCER_CLOSED);
	cr_assert_eq(entry(0).emitted, 10, "every record published, none dropped");
}

/* A multi-threaded producer whose main thread exited (the leader is a zombie in /proc) while a
 * worker is mid-emit: alive as long as the worker runs. */
static void slow_at_pos3(unsigned lane, uint64_t pos)
{
	(void)lane;
	if (pos == 3)
		usleep(300000);
}

static void *worker(void *arg)
{
	(void)arg;
	evr_test_hook_owned = slow_at_pos3;
	mp_producer_child(name, 11, 8); /* exits the process when done */
	return NULL;
}

Test(reclaim, producer_whose_main_thread_exited_is_alive, .fini = teardown)
{
	make_ring(2);
	pid_t pid = mp_track(fork());
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, worker, NULL);
		pthread_exit(NULL);
	}
	struct evr_lane_ref lane = evr_ring_lane(ring, 0);
	uint64_t t0 = evr_test_now_ns();
	while (evr_ctl_state(atomic_load(evr_slot_ctl(evr_lane_slot(&lane, 3)))) != EVR_SLOT_WRITING) {
		int st;
		cr_assert_neq(waitpid(pid, &st, WNOHANG), pid, "the worker gave up early (status %d)", st);
		cr_assert_lt(evr_test_now_ns() - t0, 10000000000ull, "the worker never reached position 3");
		usleep(1000);
	}
	struct evr_reclaim_report rep;
	cr_assert_eq(evr_ring_reclaim(ring, &rep), 0);
	cr_assert_eq(rep.producers_reclaimed, 0, "the worker thread is alive");
	cr_assert_eq(rep.slots_reclaimed, 0);
	int st = evr_test_reap(pid, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(entry(0).emitted, 8);
	cr_assert_eq(entry(0).dropped, 0);
}

/* fork() after evr_producer_open: the child's copy is disarmed and does not keep the entry alive. */
Test(reclaim, fork_child_neither_emits_on_nor_keeps_alive_its_parents_entry, .fini = teardown)
{
	make_ring(2);
	int pfd[2], qfd[2];
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(pipe(qfd), 0);
	pid_t parent = mp_track(fork());
	if (parent == 0) {
		struct evr_ring *r;
		struct evr_producer *p;
		setpgid(0, 0); /* its child is in its group: the fixture's kill reaches both */
		if (evr_ring_open(name, EVR_ROLE_PRODUCER, &r, NULL) || evr_producer_open(r, "parent", &p, NULL))
			_exit(1);
		pid_t child = fork();
		if (child == 0) {
			struct evr_record rec;
			mp_fill(&rec, 1, 1);
			unsigned char ok = evr_emit(p, &rec) == -ECHILD;
			evr_producer_close(p); /* frees only: the entry is the parent's */
			struct evr_producer *own;
			ok &= evr_producer_open(r, "child", &own, NULL) == 0 && evr_producer_id(own) == 1;
			ok &= evr_emit(own, &rec) == 0;
			if (write(qfd[1], &ok, 1) != 1)
				_exit(2);
			for (;;)
				pause(); /* outlives the parent, holding its own entry */
		}
		unsigned char cpid[sizeof child];
		memcpy(cpid, &child, sizeof child);
		if (write(pfd[1], cpid, sizeof cpid) != sizeof cpid)
			_exit(2);
		for (;;)
			pause();
	}
	pid_t child;
	unsigned char ok;
	cr_assert_eq(read(pfd[0], &child, sizeof child), (ssize_t)sizeof child);
	cr_assert_eq(read(qfd[0], &ok, 1), 1);
	cr_assert(ok, "in the child, the inherited handle returns -ECHILD and a new one works");
	cr_assert_eq(entry(0).state, EVR_PRODUCER_LIVE, "the child's close left the parent's entry alone");
	evr_test_reap(parent, SIGKILL);
	cr_assert_not(entry(0).alive, "the parent is dead although its child lives on");
	cr_assert(entry(1).alive);
	struct evr_reclaim_report rep;
	cr_assert_eq(evr_ring_reclaim(ring, &rep), 0);
	cr_assert_eq(rep.producers_reclaimed, 1);
	cr_assert_eq(entry(0).state, EVR_PRODUCER_DEAD);
	cr_assert_eq(entry(1).state, EVR_PRODUCER_LIVE);
	kill(child, SIGKILL);
	close(pfd[0]);
	close(pfd[1]);
	close(qfd[0]);
	close(qfd[1]);
}

/* NAME~live in another user's hands: a squatter who creates it before the ring is refused at
 * creation (never adopted), and an object swapped in after creation is refused by producers, who
 * would otherwise take their liveness from locks the squatter controls. */
static int as_nobody_create(const char *shm_name)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(64);
		int fd = shm_open(shm_name, O_CREAT | O_EXCL | O_WRONLY, 0222);
		_exit(fd >= 0 ? 0 : 5);
	}
	int st = evr_test_reap(pid, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(reclaim, a_liveness_object_of_another_user_is_refused, .fini = mp_kill_tracked)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch to a second uid");
	char lname[96];
	evr_test_name(name, sizeof name, "squatlive");
	snprintf(lname, sizeof lname, "%s~live", name);
	cr_assert_eq(as_nobody_create(lname), 0);
	struct evr_err err = {0};
	int rc = evr_ring_create(name, evr_test_opts(), &ring, &err);
	cr_log_info("create over a squatted liveness object: %s", err.msg);
	int left = shm_open(name, O_RDONLY, 0);
	shm_unlink(lname);
	cr_assert_eq(rc, -EEXIST);
	cr_assert(strstr(err.msg, "~live: it already exists"), "%s", err.msg);
	cr_assert_lt(left, 0, "no ring left behind");

	/* swapped in after creation */
	make_ring(2);
	snprintf(lname, sizeof lname, "%s~live", name);
	shm_unlink(lname);
	cr_assert_eq(as_nobody_create(lname), 0);
	struct evr_ring *again;
	rc = evr_ring_open(name, EVR_ROLE_PRODUCER, &again, &err);
	cr_log_info("open with a foreign liveness object: %s", err.msg);
	cr_assert_eq(rc, -EPERM);
	cr_assert(strstr(err.msg, "not owned by the ring's owner"), "%s", err.msg);
	teardown();
	shm_unlink(lname);
}

/* A ring removed and created again under its name while evr_ring_open is between the ring and its
 * companions: the companions opened by name then belong to the new ring, and the old ring's
 * producers would be judged by the new ring's locks. The open notices and opens the new ring whole. */
static char replaced_id_hook_done;
static void replace_ring_once(enum evr_hook_point at, unsigned idx)
{
	(void)idx;
	if (at != EVR_HOOK_OPEN_VALIDATED || replaced_id_hook_done)
		return;
	replaced_id_hook_done = 1;
	evr_ring_close(ring);
	evr_ring_unlink(name, NULL);
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = SLOTS;
	cr_assert_eq(evr_ring_create(name, &o, &ring, NULL), 0);
}

Test(reclaim, a_ring_replaced_while_it_is_opened_is_opened_whole, .fini = teardown)
{
	make_ring(2);
	struct evr_ring *opened;
	evr_test_hook_entry = replace_ring_once;
	int rc = evr_ring_open(name, EVR_ROLE_PRODUCER, &opened, NULL);
	evr_test_hook_entry = NULL;
	cr_assert_eq(rc, 0);
	cr_assert(replaced_id_hook_done);
	struct evr_ring_info now, got;
	evr_ring_get_info(ring, &now);
	evr_ring_get_info(opened, &got);
	cr_assert_eq(got.ring_id, now.ring_id, "the new ring was opened, with its own companions");
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(opened, "after-replace", &p, NULL), 0);
	cr_assert(entry(0).alive, "its lock is on the new ring's liveness object");
	evr_producer_close(p);
	evr_ring_close(opened);
}

/* A child made without the atfork handler (a raw fork system call) still has the parent's handle
 * armed; its evr_producer_close must not close the parent's entry or drop the parent's lock. */
Test(reclaim, a_raw_fork_childs_close_leaves_the_parents_entry_alone, .fini = teardown)
{
	make_ring(2);
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(ring, "parent", &p, NULL), 0);
	pid_t pid = mp_track((pid_t)syscall(SYS_fork));
	if (pid == 0) {
		evr_producer_close(p);
		_exit(0);
	}
	int st = evr_test_reap(pid, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(entry(0).state, EVR_PRODUCER_LIVE);
	cr_assert(entry(0).alive);
	struct evr_producer *q;
	cr_assert_eq(evr_producer_open(ring, "other", &q, NULL), 0);
	cr_assert_eq(evr_producer_id(q), 1, "entry 0 is still the parent's");
	evr_producer_close(q);
	evr_producer_close(p);
}

/* An emit that never returns (a signal handler jumps out of it) leaves its slot WRITING; closing the
 * producer releases it, so the slot is not a hole for ever once the entry is CLOSED. */
static sigjmp_buf jump_out;
static void jump_handler(int sig)
{
	(void)sig;
	siglongjmp(jump_out, 1);
}

static void raise_usr1_at_3(unsigned lane, uint64_t pos)
{
	(void)lane;
	if (pos == 3)
		raise(SIGUSR1);
}

Test(reclaim, closing_releases_a_slot_an_abandoned_emit_left_writing, .fini = teardown)
{
	make_ring(2);
	struct evr_producer *p;
	cr_assert_eq(evr_producer_open(ring, "jumper", &p, NULL), 0);
	signal(SIGUSR1, jump_handler);
	evr_test_hook_owned = raise_usr1_at_3;
	for (uint64_t i = 0; i < 5; i++) {
		struct evr_record rec;
		mp_fill(&rec, 1, i);
		if (!sigsetjmp(jump_out, 1))
			evr_emit(p, &rec);
	}
	evr_test_hook_owned = NULL;
	signal(SIGUSR1, SIG_DFL);
	struct evr_lane_ref lane = evr_ring_lane(ring, 0);
	_Atomic uint64_t *ctl = evr_slot_ctl(evr_lane_slot(&lane, 3));
	cr_assert_eq(evr_ctl_state(atomic_load(ctl)), EVR_SLOT_WRITING, "the jumped-out emit left position 3");
	evr_producer_close(p);
	cr_assert_eq(evr_ctl_state(atomic_load(ctl)), EVR_SLOT_ABANDONED, "released at close");
	cr_assert_eq(entry(0).state, EVR_PRODUCER_CLOSED);
}
