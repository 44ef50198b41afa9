/* evring-sim: run the platform's services as several producer processes against a ring.
 *
 * The parent forks --procs children; child i runs the workload groups assigned to it (every group
 * runs in at least one process), paced to its share of --rate, until --duration elapses or it has
 * emitted --events records. Each child reports its counts through a pipe; the parent prints per-type,
 * per-process and drop totals. A full or lapping ring never slows a child: drops are counted. A ring
 * that faults (truncated under us: every emit fails with -EFAULT) stops the child at the end of its
 * scenario, with the library's reason on stderr, its drops counted and exit code 1: it does not go on
 * counting millions of drops against a dead segment.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "workload.h"
#include <evring/platform.h>

struct sim_opts {
	const char *ring;
	unsigned procs;
	double rate;       /* records/s over all processes, 0: as fast as possible */
	double duration_s; /* 0: no time limit (then --events must be set) */
	uint64_t events;   /* per process, 0: no count limit */
	uint64_t seed;
	bool create, quiet, exclusive;
};

struct child_report {
	int32_t index;
	uint32_t groups; /* bit per enum evr_sim_group */
	uint64_t emitted, dropped, illegal_rejected, scenarios;
	uint64_t by_type[EVR_EVENT_COUNT];
	double seconds;
	int32_t fault; /* 0, or evr_ring_status() when the ring became unusable */
};

static volatile sig_atomic_t stop;
static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	return (double)evr_mono_ns() * 1e-9;
}

static uint32_t groups_of(unsigned index, unsigned procs)
{
	uint32_t mask = 0;
	for (unsigned g = 0; g < EVR_SIM_GROUPS; g++)
		if (procs >= EVR_SIM_GROUPS ? g == index % EVR_SIM_GROUPS : g % procs == index)
			mask |= 1u << g;
	return mask;
}

static int run_child(const struct sim_opts *o, unsigned index, int fd)
{
	struct child_report rep = { .index = (int32_t)index, .groups = groups_of(index, o->procs) };
	char service[EVR_SERVICE_NAME_MAX] = "sim";
	for (unsigned g = 0; g < EVR_SIM_GROUPS; g++)
		if (rep.groups & (1u << g)) { /* named after its first group: planner-0, runtime-1, ... */
			snprintf(service, sizeof service, "%s-%u", evr_sim_group_name(g), index);
			break;
		}
	struct evr_ring *ring;
	struct evr_producer *p;
	struct evr_err err = { 0 };
	if (evr_platform_open(o->ring, EVR_ROLE_PRODUCER, &ring, &err) ||
	    evr_producer_open_flags(ring, service, o->exclusive ? EVR_PRODUCER_EXCLUSIVE : 0, &p, &err)) {
		fprintf(stderr, "evring-sim[%u]: %s\n", index, err.msg);
		return 1;
	}
	struct evr_sim_worker w;
	evr_sim_worker_init(&w, p, o->seed, index);
	double rate = o->rate > 0 ? o->rate / o->procs : 0, t0 = now_s(), end = t0 + o->duration_s;
	unsigned g = 0;
	while (!stop) {
		if (o->events && w.svc.emitted + w.svc.dropped >= o->events)
			break;
		double t = now_s();
		if (o->duration_s > 0 && t >= end)
			break;
		if (rate > 0) { /* pace: sleep until the schedule of the records already emitted */
			double due = t0 + (double)(w.svc.emitted + w.svc.dropped) / rate;
			if (due > t) {
				double d = due - t;
				struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };
				nanosleep(&ts, NULL);
				continue;
			}
		}
		while (!(rep.groups & (1u << g)))
			g = (g + 1) % EVR_SIM_GROUPS;
		evr_sim_run_scenario(&w, (enum evr_sim_group)g);
		g = (g + 1) % EVR_SIM_GROUPS;
		rep.scenarios++;
		if ((rep.fault = evr_ring_status(ring))) {
			fprintf(stderr, "evring-sim[%u]: ring %s became unreadable: %s; stopping\n", index, o->ring,
				evr_ring_fault(ring));
			break;
		}
	}
	rep.seconds = now_s() - t0;
	rep.emitted = w.svc.emitted;
	rep.dropped = w.svc.dropped;
	rep.illegal_rejected = w.illegal_rejected;
	memcpy(rep.by_type, w.svc.by_type, sizeof rep.by_type);
	if (write(fd, &rep, sizeof rep) != (ssize_t)sizeof rep)
		return 1;
	evr_producer_close(p);
	evr_ring_close(ring);
	return rep.fault ? 1 : 0;
}

/* fate[i]: NULL for a process that reported, else what became of it (it is listed as such, and
 * counts nothing: its records are in the ring, but nobody can say how many). */
static void print_summary(const struct sim_opts *o, const struct child_report *reps, char *const *fate, unsigned n,
			  bool quiet)
{
	uint64_t by_type[EVR_EVENT_COUNT] = { 0 }, emitted = 0, dropped = 0, rejected = 0;
	unsigned faulted = 0;
	double secs = 0;
	printf("evring-sim: %u processes, seed %llu\n\n%-5s %-28s %10s %10s %9s %9s\n", n,
	       (unsigned long long)o->seed, "proc", "groups", "emitted", "dropped", "rejected", "rate/s");
	for (unsigned i = 0; i < n; i++) {
		const struct child_report *r = &reps[i];
		if (fate[i]) {
			printf("%-5u %s\n", i, fate[i]);
			continue;
		}
		char groups[64] = "";
		for (unsigned g = 0; g < EVR_SIM_GROUPS; g++)
			if (r->groups & (1u << g))
				snprintf(groups + strlen(groups), sizeof groups - strlen(groups), "%s%s",
					 groups[0] ? "," : "", evr_sim_group_name(g));
		printf("%-5u %-28s %10llu %10llu %9llu %9.0f\n", i, groups, (unsigned long long)r->emitted,
		       (unsigned long long)r->dropped, (unsigned long long)r->illegal_rejected,
		       r->seconds > 0 ? (double)(r->emitted + r->dropped) / r->seconds : 0);
		for (unsigned t = 0; t < EVR_EVENT_COUNT; t++)
			by_type[t] += r->by_type[t];
		emitted += r->emitted;
		dropped += r->dropped;
		rejected += r->illegal_rejected;
		faulted += r->fault != 0;
		secs = r->seconds > secs ? r->seconds : secs;
	}
	unsigned seen = 0;
	if (!quiet)
		printf("\n%-26s %10s\n", "type", "emits");
	for (unsigned t = 0; t < EVR_EVENT_COUNT; t++) {
		if (!quiet)
			printf("%-26s %10llu\n", evr_type_name(t), (unsigned long long)by_type[t]);
		seen += by_type[t] > 0;
	}
	unsigned silent = 0;
	for (unsigned i = 0; i < n; i++)
		silent += fate[i] != NULL;
	if (silent)
		printf("\n%u of %u processes died without a report: the totals below leave out what they emitted\n",
		       silent, n);
	printf("\ntotal: %llu emitted, %llu dropped, %llu illegal transitions refused, %u/%u types, "
	       "%.0f records/s over %.2f s\n",
	       (unsigned long long)emitted, (unsigned long long)dropped, (unsigned long long)rejected, seen,
	       EVR_EVENT_COUNT, secs > 0 ? (double)(emitted + dropped) / secs : 0, secs);
	if (faulted)
		printf("%u of %u processes stopped early: the ring became unreadable (dropped includes the emits "
		       "that failed)\n", faulted, n);
}

static int usage_error(const char *why)
{
	fprintf(stderr, "evring-sim: %s (evring-sim --help lists the options)\n", why);
	return 2;
}

static const char usage[] =
	"usage: evring-sim --ring NAME [--create] [--procs N] [--rate R] [--duration S] [--events N]\n"
	"                  [--seed S] [--exclusive] [--quiet]\n"
	"  --ring NAME    ring to emit into (created with default options by --create if missing)\n"
	"  --procs N      producer processes (default 4, one per workload group; at least 1)\n"
	"  --rate R       records per second over all processes (default 0: as fast as possible)\n"
	"  --duration S   seconds to run (default 5; 0 with --events: until the count is reached)\n"
	"  --events N     stop each process after N records (a scripted workload)\n"
	"  --seed S       workload seed (default 1)\n"
	"  --exclusive    each process owns an exclusive lane (--create makes one per process)\n"
	"  --quiet        no per-type table\n";

static int parse(int argc, char **argv, struct sim_opts *o)
{
	static const struct option longopts[] = {
		{ "ring", required_argument, NULL, 'r' },   { "procs", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'R' },   { "duration", required_argument, NULL, 'd' },
		{ "events", required_argument, NULL, 'e' }, { "seed", required_argument, NULL, 's' },
		{ "create", no_argument, NULL, 'c' },       { "quiet", no_argument, NULL, 'q' },
		{ "exclusive", no_argument, NULL, 'x' },    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct sim_opts){ .procs = 4, .duration_s = 5, .seed = 1 };
	int c, idx;
	opterr = 0; /* our messages below name the option and say why */
	while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		char *end = NULL;
		errno = 0;
		switch (c) {
		case 'r': o->ring = optarg; continue;
		case 'c': o->create = true; continue;
		case 'q': o->quiet = true; continue;
		case 'x': o->exclusive = true; continue;
		case 'h': fputs(usage, stdout); exit(0);
		case 'p': o->procs = (unsigned)strtoul(optarg, &end, 10); break;
		case 'R': o->rate = strtod(optarg, &end); break;
		case 'd': o->duration_s = strtod(optarg, &end); break;
		case 'e': o->events = strtoull(optarg, &end, 10); break;
		case 's': o->seed = strtoull(optarg, &end, 0); break;
		case ':': /* fall through: getopt_long reports a missing value as '?' without a ':' optstring */
		default: {
			char why[160];
			const char *opt = argv[optind - 1];
			if (optopt && strncmp(opt, "--", 2))
				snprintf(why, sizeof why, "unknown option '-%c'", optopt);
			else if (optopt)
				snprintf(why, sizeof why, "option '%s' needs a value", opt);
			else
				snprintf(why, sizeof why, "unknown option '%s'", opt);
			return usage_error(why);
		}
		}
		if (errno || end == optarg || *end || optarg[0] == '-') {
			fprintf(stderr, "evring-sim: bad value '%s' for --%s\n", optarg, longopts[idx].name);
			return 2;
		}
	}
	if (!o->ring)
		return usage_error("--ring NAME is required");
	if (optind != argc)
		return usage_error("unexpected argument; every option is --name value");
	if (o->procs < 1 || o->procs > 256)
		return usage_error("--procs: 1 to 256 processes");
	if (o->rate < 0 || o->duration_s < 0)
		return usage_error("--rate and --duration cannot be negative");
	if (o->duration_s == 0 && o->events == 0)
		return usage_error("--duration 0 runs until --events N records: give N");
	return 0;
}

int main(int argc, char **argv)
{
	struct sim_opts o;
	int rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	struct evr_err err = { 0 };
	if (o.create) {
		struct evr_ring *r;
		struct evr_ring_opts ro;
		evr_platform_opts(&ro);
		ro.exclusive_lanes = o.exclusive ? o.procs : 0;
		rc = evr_ring_create(o.ring, &ro, &r, &err);
		if (rc == 0)
			evr_ring_close(r);
		else if (rc != -EEXIST) {
			fprintf(stderr, "evring-sim: %s\n", err.msg);
			return 1;
		}
	}
	struct evr_ring *probe; /* fail early, in the parent, with the library's reason */
	if (evr_platform_open(o.ring, EVR_ROLE_PRODUCER, &probe, &err)) {
		fprintf(stderr, "evring-sim: %s\n", err.msg);
		return 1;
	}
	evr_ring_close(probe);
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int fds[2];
	if (pipe(fds))
		return 1;
	pid_t *pids = calloc(o.procs, sizeof *pids);
	struct child_report *reps = calloc(o.procs, sizeof *reps);
	bool *reported = calloc(o.procs, sizeof *reported);
	for (unsigned i = 0; i < o.procs; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(fds[0]);
			_exit(run_child(&o, i, fds[1]));
		}
	}
	close(fds[1]);
	unsigned got = 0;
	struct child_report rep;
	while (got < o.procs) {
		ssize_t n = read(fds[0], &rep, sizeof rep);
		if (n < 0 && errno == EINTR) {
			for (unsigned i = 0; i < o.procs; i++) /* forward ^C / SIGTERM to the children */
				kill(pids[i], SIGTERM);
			continue;
		}
		if (n != (ssize_t)sizeof rep)
			break;
		if (rep.index >= 0 && (unsigned)rep.index < o.procs) {
			reps[rep.index] = rep;
			reported[rep.index] = true;
		}
		got++;
	}
	int failed = 0;
	char **fate = calloc(o.procs, sizeof *fate);
	for (unsigned i = 0; i < o.procs; i++) {
		int status;
		while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
			;
		bool died = !WIFEXITED(status) || WEXITSTATUS(status);
		failed |= died;
		if (reported[i])
			continue; /* its report says how it ended (a fault is in the summary) */
		char why[128];
		if (WIFSIGNALED(status))
			snprintf(why, sizeof why, "pid %d killed by signal %d (%s): no report", (int)pids[i],
				 WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			snprintf(why, sizeof why, "pid %d exited with status %d: no report", (int)pids[i],
				 WEXITSTATUS(status));
		fate[i] = strdup(why);
		fprintf(stderr, "evring-sim: process %u (%s)\n", i, why);
	}
	print_summary(&o, reps, fate, o.procs, o.quiet);
	for (unsigned i = 0; i < o.procs; i++)
		free(fate[i]);
	free(fate);
	free(reported);
	free(pids);
	free(reps);
	return failed || got < o.procs ? 1 : 0;
}
