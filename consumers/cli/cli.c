/* Helpers shared by the subcommands: errors, help, number parsing, ring opening, stop signals. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aggregate.h"
#include "cli.h"

volatile sig_atomic_t evr_cli_stop;

void evr_cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "evring %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int evr_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "evring %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see 'evring %s --help')\n", cmd);
	va_end(ap);
	return EVR_EXIT_USAGE;
}

bool evr_cli_wants_help(const struct evr_command *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: %s\n", cmd->usage);
			return true;
		}
	}
	return false;
}

int evr_cli_open_ring(const char *cmd, const char *name, enum evr_role role, struct evr_ring **out)
{
	return evr_cli_open_ring_schema(cmd, name, role, NULL, out);
}

int evr_cli_open_ring_schema(const char *cmd, const char *name, enum evr_role role,
			     const struct evr_desc_header *schema, struct evr_ring **out)
{
	struct evr_err err = { 0 };
	char norm[EVR_NAME_MAX + 1];
	if (evr_name_normalize(name, norm, &err) < 0) { /* a name that cannot be a ring's: usage */
		evr_cli_error(cmd, "%s", err.msg);
		return EVR_EXIT_USAGE;
	}
	int rc = evr_ring_open_schema(name, role, schema, out, &err);
	if (rc < 0) {
		evr_cli_error(cmd, "%s", err.msg[0] ? err.msg : evr_strerror(rc));
		return EVR_EXIT_FAIL;
	}
	return 0;
}

void evr_cli_ring_unreadable(const char *cmd, const struct evr_ring *ring, int rc)
{
	const char *why = ring ? evr_ring_fault(ring) : NULL;
	evr_cli_error(cmd, "the ring became unreadable: %s", why ? why : evr_strerror(rc));
}

int evr_cli_open_agg(const char *cmd, const char *name, enum evr_start start, struct evr_agg *a)
{
	struct evr_ring *ring;
	struct evr_consumer *c;
	struct evr_err err = { 0 };
	struct evr_consumer_opts co = { .start = start };
	int rc = evr_cli_open_ring(cmd, name, EVR_ROLE_CONSUMER, &ring);
	if (rc)
		return rc;
	if (evr_consumer_open(ring, &co, &c, &err)) {
		evr_cli_error(cmd, "%s", err.msg);
		evr_ring_close(ring);
		return EVR_EXIT_FAIL;
	}
	if (evr_agg_init(a, ring, c)) {
		evr_cli_error(cmd, "out of memory");
		evr_consumer_close(c);
		evr_ring_close(ring);
		memset(a, 0, sizeof *a); /* nothing of it is open: a caller's cleanup sees a->consumer NULL */
		return EVR_EXIT_FAIL;
	}
	return 0;
}

void evr_cli_close_agg(struct evr_agg *a)
{
	struct evr_ring *ring = a->ring;
	struct evr_consumer *c = a->consumer;
	evr_agg_free(a);
	evr_consumer_close(c);
	evr_ring_close(ring);
}

/* evr_cursor_load/save return -EPROTO for a file that is not a cursor, else an OS errno. */
static const char *cursor_strerror(int rc)
{
	return rc == -EPROTO ? "not an evring cursor file" : strerror(-rc);
}

int evr_cli_load_cursor(const char *cmd, const char *path, bool absent_ok, struct evr_cursor *cur, bool *found)
{
	int rc = evr_cursor_load(path, cur);
	*found = rc == 0;
	if (rc == -ENOENT && absent_ok) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", path);
		char *slash = strrchr(dir, '/');
		if (!slash)
			snprintf(dir, sizeof dir, ".");
		else
			slash[slash == dir] = '\0'; /* "/c" -> "/", "a/b/c" -> "a/b" */
		if (access(dir, W_OK | X_OK) == 0)
			return 0;
		evr_cli_error(cmd, "cursor file %s: cannot be created in %s: %s", path, dir, strerror(errno));
		return EVR_EXIT_FAIL;
	}
	if (rc < 0) {
		evr_cli_error(cmd, "cursor file %s: %s", path, cursor_strerror(rc));
		return EVR_EXIT_FAIL;
	}
	return 0;
}

int evr_cli_save_cursor(const char *cmd, const char *path, const struct evr_cursor *cur)
{
	int rc = evr_cursor_save(path, cur);
	if (rc < 0) {
		evr_cli_error(cmd, "cannot save the cursor to %s: %s", path, cursor_strerror(rc));
		return EVR_EXIT_FAIL;
	}
	return 0;
}

const char *evr_cli_json_escape(const char *v, char *out, size_t size)
{
	size_t o = 0;
	for (; *v && o + 7 < size; v++) {
		unsigned char ch = (unsigned char)*v;
		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(out + o, size - o, "\\%c", ch);
		else if (ch < 0x20)
			o += (size_t)snprintf(out + o, size - o, "\\u%04x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = 0;
	return out;
}

int evr_cli_parse_u64(const char *s, bool suffixes, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno)
		return -ERANGE;
	if (end == s)
		return -EINVAL;
	unsigned shift = 0;
	if (suffixes && *end) {
		const char *units = "kMG";
		const char *u = strchr(units, *end);
		if (!u || !*end)
			return -EINVAL;
		shift = 10u * (unsigned)(u - units + 1);
		end++;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (~0ull >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int evr_cli_parse_seconds(const char *s, uint64_t *out_ns)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e9)
		return -EINVAL;
	*out_ns = (uint64_t)(v * 1e9);
	return 0;
}

uint64_t evr_cli_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* "-5m", "+1.5h": a signed amount with a unit s, m, h or d. */
static int parse_relative(const char *s, uint64_t now_ns, uint64_t *out_ns)
{
	char *end;
	errno = 0;
	double v = strtod(s + 1, &end);
	static const char units[] = "smhd";
	static const double secs[] = { 1, 60, 3600, 86400 };
	const char *u = *end ? strchr(units, *end) : NULL;
	if (errno || end == s + 1 || !u || end[1] || !(v >= 0))
		return -EINVAL;
	double ns = v * secs[u - units] * 1e9;
	if (*s == '-')
		*out_ns = ns >= (double)now_ns ? 0 : now_ns - (uint64_t)ns;
	else
		*out_ns = now_ns + (uint64_t)ns;
	return 0;
}

int evr_cli_parse_time(const char *s, uint64_t now_ns, uint64_t *out_ns)
{
	if (!strcmp(s, "now")) {
		*out_ns = now_ns;
		return 0;
	}
	if (*s == '-' || *s == '+')
		return parse_relative(s, now_ns, out_ns);
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%d", &tm);
	if (!p)
		return -EINVAL;
	uint64_t frac = 0;
	if (*p == 'T' || *p == ' ') {
		if (!(p = strptime(p + 1, "%H:%M:%S", &tm)))
			return -EINVAL;
		if (*p == '.' || *p == ',') { /* up to 9 digits of fraction */
			uint64_t scale = 100000000u;
			for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
				frac += scale * (uint64_t)(*p - '0');
		}
	}
	time_t secs;
	if (!*p) { /* no zone: local time */
		tm.tm_isdst = -1;
		secs = mktime(&tm);
	} else {
		long off = 0;
		int hh, mm;
		if (*p == 'Z' && !p[1])
			off = 0;
		else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2 && strlen(p) == 6)
			off = (*p == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
		else
			return -EINVAL;
		secs = timegm(&tm) - off;
	}
	if (secs < 0)
		return -EINVAL;
	*out_ns = (uint64_t)secs * 1000000000u + frac;
	return 0;
}

static void on_stop(int sig)
{
	(void)sig;
	evr_cli_stop = 1;
}

void evr_cli_handle_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Ignored so that the command can end cleanly (save its cursor, close the ring) when stdout's
	 * reader leaves: evr_cli_flush() sees the EPIPE and evr_cli_finish_output() then dies by
	 * SIGPIPE. Sockets (metrics, bridge) see an EPIPE error instead of a signal as well. */
	signal(SIGPIPE, SIG_IGN);
}

static int out_errno; /* the first write error on stdout, 0 while it works */

static bool output_failed(void)
{
	out_errno = errno ? errno : EIO;
	evr_cli_stop = 1;
	return false;
}

bool evr_cli_flush(void)
{
	if (out_errno)
		return false;
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return true;
	return output_failed();
}

bool evr_cli_flush_before_wait(void)
{
	if (!evr_cli_flush())
		return false;
	/* A quiet ring writes nothing, so no write fails: ask the pipe (or socket) whether its reader
	 * is still there, as GNU tail -f does. POLLERR: the read end was closed. */
	struct pollfd pfd = { .fd = fileno(stdout), .events = 0 };
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLERR))
		return true;
	errno = EPIPE;
	return output_failed();
}

bool evr_cli_output_closed(void)
{
	return out_errno == EPIPE;
}

int evr_cli_finish_output(const char *cmd, int rc)
{
	if (evr_cli_flush())
		return rc;
	if (out_errno == EPIPE) {
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
	}
	evr_cli_error(cmd, "cannot write the output: %s", strerror(out_errno));
	return EVR_EXIT_FAIL;
}

void evr_cli_print_counts(const char *const *names, const uint64_t *counts, unsigned n, uint64_t total)
{
	printf("\n%-26s %10s\n", "type", "records");
	for (unsigned i = 0; i < n; i++)
		if (counts[i])
			printf("%-26s %10" PRIu64 "\n", names[i], counts[i]);
	printf("%-26s %10" PRIu64 "\n", "total", total);
}

void evr_cli_print_type_counts(const struct evr_desc_header *d, const uint64_t *by_type, uint64_t total)
{
	const char *names[EVR_DESC_MAX_TYPES];
	for (unsigned i = 0; i < d->type_count; i++)
		names[i] = evr_desc_type(d, i)->name;
	evr_cli_print_counts(names, by_type, d->type_count, total);
}

void evr_cli_format_time(uint64_t wall_ns, char out[32])
{
	time_t secs = (time_t)(wall_ns / 1000000000u);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%09lluZ", (unsigned long long)(wall_ns % 1000000000u));
}

struct evr_desc_header *evr_cli_schema_copy(const struct evr_ring *ring)
{
	const struct evr_desc_header *d = evr_ring_schema(ring);
	struct evr_desc_header *copy = malloc(d->size);
	if (!copy) {
		evr_cli_error("evring", "out of memory");
		exit(EVR_EXIT_FAIL);
	}
	return memcpy(copy, d, d->size);
}
