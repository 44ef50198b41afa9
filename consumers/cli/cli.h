/* The evring CLI: the subcommand interface and the helpers every subcommand shares.
 *
 * Exit codes, for every subcommand: 0 success, 1 runtime failure (ring missing, I/O error, server
 * unreachable), 2 usage error (unknown flag, bad value, unknown event type or field). Every failure
 * prints one line to stderr starting with "evring <cmd>: ".
 */
#ifndef EVR_CLI_H
#define EVR_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <evring/evring.h>

enum { EVR_EXIT_OK = 0, EVR_EXIT_FAIL = 1, EVR_EXIT_USAGE = 2 };

struct evr_command {
	const char *name;
	const char *summary; /* one line for `evring --help` */
	const char *usage;   /* full text for `evring NAME --help` */
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name; getopt_long-ready */
};

/* Write evring.1 and evring-CMD.1 for every command into dir (man.c). 0 or EVR_EXIT_FAIL. */
int evr_cli_write_man(const char *dir, const struct evr_command *const *cmds, size_t n);

/* Print "evring <cmd>: <message>\n" to stderr. */
void evr_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For a usage error: the message, then "see 'evring CMD --help'"; returns EVR_EXIT_USAGE. */
int evr_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when argv holds -h or --help (then the usage text was printed to stdout). */
bool evr_cli_wants_help(const struct evr_command *cmd, int argc, char **argv);

/* Open a ring, printing the library's reason on failure. Returns 0, EVR_EXIT_USAGE for a name
 * that no ring can have, or EVR_EXIT_FAIL (no such ring, refused, ...). */
struct evr_desc_header;
int evr_cli_open_ring(const char *cmd, const char *name, enum evr_role role, struct evr_ring **out);
/* The same for a command that writes records of a compiled table (evring emit: the platform's), so
 * a ring of an incompatible table is refused and an older or newer one adapted (evr_ring_open_schema). */
int evr_cli_open_ring_schema(const char *cmd, const char *name, enum evr_role role,
			     const struct evr_desc_header *schema, struct evr_ring **out);
/* "CMD: the ring became unreadable: WHY", WHY being what evr_ring_fault() found (truncation,
 * corruption) or else the text of rc. */
/* The content of a JSON string for v (quote, backslash and control characters escaped), cut at a
 * whole character when out is too small; returns out. */
const char *evr_cli_json_escape(const char *v, char *out, size_t size);
void evr_cli_ring_unreadable(const char *cmd, const struct evr_ring *ring, int rc);

struct evr_agg;
/* stats, top and metrics: open the ring, a consumer from `start` and the aggregator over it, with
 * one message on failure. Returns 0, EVR_EXIT_USAGE or EVR_EXIT_FAIL; evr_cli_close_agg undoes it. */
int evr_cli_open_agg(const char *cmd, const char *name, enum evr_start start, struct evr_agg *a);
void evr_cli_close_agg(struct evr_agg *a);

/* Cursor files. Errors name the file and the reason: "not an evring cursor file", or the OS's
 * (never the ring's: evr_strerror(-ENOENT) is "no such ring"), and return EVR_EXIT_FAIL.
 * evr_cli_load_cursor with absent_ok: a missing file is no error (*found = false), but then its
 * directory must be writable, so that the first save cannot fail for that reason. */
int evr_cli_load_cursor(const char *cmd, const char *path, bool absent_ok, struct evr_cursor *cur, bool *found);
int evr_cli_save_cursor(const char *cmd, const char *path, const struct evr_cursor *cur);

/* Strict number parsing: the whole string, in range. 0 or -EINVAL/-ERANGE. Accepts k/M/G suffixes
 * (powers of 1024) for sizes when `suffixes` is true. */
int evr_cli_parse_u64(const char *s, bool suffixes, uint64_t *out);
/* A point in time as wall-clock ns: ISO 8601 ("2026-11-25T16:00:00Z", "...T16:00:00.25+01:00";
 * without a zone, local time like journalctl; a date alone is its midnight), "now", or relative to
 * now_ns: "-5m", "-30s", "-1.5h", "-2d" (the past), "+10s" (the future). 0 or -EINVAL. */
int evr_cli_parse_time(const char *s, uint64_t now_ns, uint64_t *out_ns);
/* CLOCK_REALTIME in ns. */
uint64_t evr_cli_wall_ns(void);

/* Seconds as a decimal ("0.5", "3") to ns. */
int evr_cli_parse_seconds(const char *s, uint64_t *out_ns);

/* SIGINT/SIGTERM set this flag (installed by evr_cli_handle_stop_signals), and so does a reader
 * of stdout that went away (evr_cli_flush). */
extern volatile sig_atomic_t evr_cli_stop;
void evr_cli_handle_stop_signals(void);

/* Flush stdout and check it: true while output works. On a write error it sets evr_cli_stop and
 * returns false. */
bool evr_cli_flush(void);
/* The same, and also false when stdout is a pipe whose reader left although nothing failed yet:
 * a following command calls it before it sleeps, so `evring tail R --follow | head -3` ends with
 * head even when the ring is quiet. */
bool evr_cli_flush_before_wait(void);
/* True once stdout's reader went away (EPIPE): the command then ends without its summary. */
bool evr_cli_output_closed(void);
/* Called by main() after every command: flushes stdout; on EPIPE the process ends quietly by
 * SIGPIPE, like any filter whose reader left (`| head`); another write error is reported, exit 1. */
int evr_cli_finish_output(const char *cmd, int rc);

/* The --summary table of tail and replay: records per event type, then the total (stdout); types
 * with no record are left out. evr_cli_print_type_counts takes the names from a description
 * (by_type has d->type_count entries). */
void evr_cli_print_counts(const char *const *names, const uint64_t *counts, unsigned n, uint64_t total);
void evr_cli_print_type_counts(const struct evr_desc_header *d, const uint64_t *by_type, uint64_t total);
/* A private copy of a ring's description (free it), to decode records held past the ring's close. */
struct evr_desc_header *evr_cli_schema_copy(const struct evr_ring *ring);

/* Wall-clock ns as "2026-11-25T02:03:04.123456789Z" (buffer of 32 bytes). */
void evr_cli_format_time(uint64_t wall_ns, char out[32]);

#endif
