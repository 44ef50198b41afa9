/* The record filters tail, replay and serve share: the same flags, the same meaning, one parser.
 * --type T,... and --domain D,... (names, unioned), --plan ID, --correlation ID, --since TIME and
 * --until TIME (evr_cli_parse_time; both bounds included). Type and domain names are those of the
 * ring's (or the log's) own description, not of any table compiled in: they are kept as text when
 * parsed and resolved by evr_filter_bind once the description is known. */
#ifndef EVR_FILTER_H
#define EVR_FILTER_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <evring/describe.h>

struct evr_filter {
	char type_names[512], domain_names[256]; /* "a,b" as given (joined with ',' when repeated) */
	bool by_type;                    /* bound: keep only the types set in types[] */
	uint64_t types[EVR_DESC_MAX_TYPES / 64]; /* bit t: type id t of the bound description */
	uint64_t seen; /* bit k: the k-th name (types, then domains) named a type of some bound description */
	bool has_plan, has_corr;
	uint64_t plan, corr, since, until; /* since/until: wall-clock ns; until 0: no bound */
};

/* getopt_long values, above any short option character. */
enum { EVR_FILTER_TYPE = 0x100, EVR_FILTER_DOMAIN, EVR_FILTER_PLAN, EVR_FILTER_CORR, EVR_FILTER_SINCE,
       EVR_FILTER_UNTIL };

#define EVR_FILTER_LONGOPTS                                                                        \
	{ "type", required_argument, NULL, EVR_FILTER_TYPE },                                      \
	{ "domain", required_argument, NULL, EVR_FILTER_DOMAIN },                                  \
	{ "plan", required_argument, NULL, EVR_FILTER_PLAN },                                      \
	{ "correlation", required_argument, NULL, EVR_FILTER_CORR },                               \
	{ "since", required_argument, NULL, EVR_FILTER_SINCE },                                    \
	{ "until", required_argument, NULL, EVR_FILTER_UNTIL }

#define EVR_FILTER_USAGE "[--type T,...] [--domain D,...] [--plan ID] [--correlation ID] [--since TIME] [--until TIME]"
#define EVR_FILTER_HELP                                                                            \
	"  --type/--domain keep those event types or domains; --plan/--correlation those ids.\n"   \
	"  --since/--until TIME keep the records stamped in that span (inclusive): ISO 8601\n"      \
	"  (2026-11-25T16:00:00Z; without a zone, local time), now, or relative: -5m, -30s, -2h, -1d."

/* For a getopt_long value c: -1 when c is not a filter option; else 0, or EVR_EXIT_USAGE after a
 * message naming cmd. */
int evr_filter_option(const char *cmd, struct evr_filter *f, int c, const char *arg);
/* Whether a valid record passes (its ts must be wall-clock ns, as delivered or recorded). */
/* The same without printing (for `evring serve`'s query strings): 0; -EINVAL with the reason in
 * why; -ENOENT when c is not a filter option. */
int evr_filter_parse(struct evr_filter *f, int c, const char *arg, char *why, size_t why_len);
/* Resolve the type and domain names against description d (a ring's or a log's): 0, or (strict)
 * -ENOENT with "unknown event type 'x' in schema NAME vN (known: a, b, ...)" in why. Bind again for
 * another description; replay binds each log leniently (a name only another log's table has selects
 * nothing in this one) and asks evr_filter_unseen at the end: 0, or -ENOENT naming the first name
 * no bound description had. */
int evr_filter_bind(struct evr_filter *f, const struct evr_desc_header *d, bool strict, char *why, size_t why_len);
int evr_filter_unseen(const struct evr_filter *f, char *why, size_t why_len);
bool evr_filter_match(const struct evr_filter *f, const struct evr_record *rec);

#endif
