/* evring-sim as separate processes: all 38 types observed by an independent consumer process, and
 * emission that never blocks (no consumer, a lapping ring, a SIGSTOPped consumer). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include <evring/platform.h>

struct type_counts {
	uint64_t by_type[EVR_EVENT_COUNT];
	uint64_t records, invalid, lost;
};

static pid_t spawn_sim(const char *ring, const char *const extra[])
{
	pid_t pid = fork();
	if (pid == 0) {
		const char *argv[32] = { EVR_SIM_BIN, "--ring", ring, "--quiet" };
		int n = 4;
		for (int i = 0; extra[i] && n < 31; i++)
			argv[n++] = extra[i];
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDOUT_FILENO);
		execv(EVR_SIM_BIN, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Wait up to bound_s for a child; returns its status, or -1 after killing it on timeout. */
static int wait_bounded(pid_t pid, double bound_s)
{
	uint64_t end = evr_test_now_ns() + (uint64_t)(bound_s * 1e9);
	int st;
	while (evr_test_now_ns() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		usleep(10000);
	}
	evr_test_reap(pid, SIGKILL);
	return -1;
}

/* A consumer process: counts records per type until `stop_fd` is closed by the parent, then drains
 * what is left and writes its counts to `out_fd`. */
static pid_t spawn_counting_consumer(const char *ring, int *stop_w, int *counts_r)
{
	int stop[2], counts[2];
	cr_assert_eq(pipe(stop), 0);
	cr_assert_eq(pipe(counts), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(stop[1]);
		close(counts[0]);
		struct evr_ring *r;
		struct evr_consumer *c;
		if (evr_ring_open(ring, EVR_ROLE_CONSUMER, &r, NULL) || evr_consumer_open(r, NULL, &c, NULL))
			_exit(3);
		fcntl(stop[0], F_SETFL, O_NONBLOCK);
		struct type_counts tc = { 0 };
		struct evr_item it[64];
		for (;;) {
			char b;
			bool stopping = read(stop[0], &b, 1) == 0;
			int n;
			while ((n = evr_consumer_poll_batch(c, it, 64)) > 0)
				for (int i = 0; i < n; i++) {
					if (it[i].kind == EVR_ITEM_RECORD) {
						tc.records++;
						tc.by_type[it[i].rec.type]++;
					} else if (it[i].kind == EVR_ITEM_INVALID) {
						tc.invalid++;
					} else {
						tc.lost += it[i].count;
					}
				}
			if (stopping)
				break;
			evr_consumer_wait(c, 20 * 1000 * 1000);
		}
		_exit(write(counts[1], &tc, sizeof tc) == sizeof tc ? 0 : 4);
	}
	close(stop[0]);
	close(counts[1]);
	*stop_w = stop[1];
	*counts_r = counts[0];
	return pid;
}

static struct evr_test_ring fx;
static char *const name = fx.name; /* fx's, by their short names */
static struct evr_ring *ring;

static void make_ring(unsigned lanes, unsigned slots)
{
	cr_assert_eq(evr_test_ring_open(&fx, "sim", lanes, slots, NULL), 0);
	ring = fx.ring;
}

static void drop_ring(void)
{
	evr_test_ring_close(&fx);
	ring = NULL;
}

TestSuite(sim, .fini = drop_ring);

Test(sim, all_38_types_are_emitted_and_observed_by_an_independent_consumer_process)
{
	make_ring(0, 1u << 14);
	int stop_w, counts_r;
	pid_t consumer = spawn_counting_consumer(name, &stop_w, &counts_r);
	pid_t sim = spawn_sim(name, (const char *const[]){ "--procs", "4", "--rate", "40000", "--duration", "1.5",
							   "--seed", "42", NULL });
	int st = wait_bounded(sim, 60);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "evring-sim failed: status %d", st);
	close(stop_w);
	struct type_counts tc;
	cr_assert_eq(read(counts_r, &tc, sizeof tc), (ssize_t)sizeof tc, "the consumer reported its counts");
	close(counts_r);
	st = evr_test_reap(consumer, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (unsigned t = 0; t < EVR_EVENT_COUNT; t++)
		cr_expect_gt(tc.by_type[t], 0, "type %s was never observed", evr_type_name(t));
	cr_assert_eq(tc.invalid, 0, "%llu records failed validation", (unsigned long long)tc.invalid);
	cr_assert_gt(tc.records, 10000);
}

/* The scripted workload: 4 processes x 300k records each at full speed into a 64-slot lane. */
static const char *const scripted[] = { "--procs", "4", "--events", "300000", "--duration", "0", NULL };

static void assert_workload_done_in_bound(void)
{
	pid_t sim = spawn_sim(name, scripted);
	int st = wait_bounded(sim, 60); /* ~0.2 s of work; 60 s only catches a wedged producer */
	cr_assert(st >= 0, "evring-sim did not finish its scripted workload within 60 s: a producer blocked");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "evring-sim failed: status %d", st);
	uint64_t attempted = 0;
	for (unsigned i = 0; i < 8; i++) {
		struct evr_producer_info pi;
		if (evr_ring_producer_info(ring, i, &pi) == 0)
			attempted += pi.emitted + pi.dropped;
	}
	cr_assert_geq(attempted, 4 * 300000, "every scripted emit was attempted");
}

Test(sim, never_blocks_with_no_consumer_and_a_lapping_ring)
{
	make_ring(1, 64);
	assert_workload_done_in_bound();
}

Test(sim, never_blocks_with_a_sigstopped_sleeping_consumer)
{
	make_ring(1, 64);
	int ready[2];
	cr_assert_eq(pipe(ready), 0);
	pid_t consumer = fork();
	if (consumer == 0) {
		struct evr_ring *r;
		struct evr_consumer *c;
		if (evr_ring_open(name, EVR_ROLE_CONSUMER, &r, NULL) || evr_consumer_open(r, NULL, &c, NULL))
			_exit(3);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		for (;;)
			evr_consumer_wait(c, -1); /* asleep on the futex when it is stopped */
	}
	char b;
	cr_assert_eq(read(ready[0], &b, 1), 1);
	usleep(100000); /* let it reach the futex sleep */
	kill(consumer, SIGSTOP);
	assert_workload_done_in_bound();
	kill(consumer, SIGCONT);
	evr_test_reap(consumer, SIGKILL);
	close(ready[0]);
	close(ready[1]);
}

/* A ring truncated under the sim: every emit then fails with -EFAULT. The sim used to go on counting
 * each one as dropped at full speed (131 million in one reported run) and exit 0; now each process
 * stops at the end of its scenario, says why on stderr, and the sim exits 1. --events is far beyond
 * what the run could reach, so only the fault can end it; the 60 s bound only catches a runaway. */
Test(sim, a_ring_truncated_under_it_stops_it_with_exit_1)
{
	make_ring(1, 1024);
	pid_t sim = spawn_sim(name, (const char *const[]){ "--procs", "2", "--events", "1000000000000", "--duration",
							   "0", "--rate", "100000", NULL });
	uint64_t end = evr_test_now_ns() + 20ull * 1000000000u;
	while (evr_ring_lane_head(ring, 0) < 2000 && evr_test_now_ns() < end)
		usleep(1000);
	cr_assert_geq(evr_ring_lane_head(ring, 0), 2000, "the sim emits before the attack");
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4096), 0);
	close(fd);
	int st = wait_bounded(sim, 60);
	cr_assert(st >= 0, "evring-sim kept running against a truncated ring");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "evring-sim status %d, expected exit 1", st);
}
