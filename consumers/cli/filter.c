/* Record filters shared by tail and replay: see filter.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dispatch.h"
#include "filter.h"

/* "a,b,c" of type or domain names into a type mask; 0 with the reason in why on an unknown name. */
static uint64_t parse_names(const char *list, bool domains, char *why, size_t why_len)
{
	uint64_t m = 0;
	char *copy = strdup(list), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); copy && tok; tok = strtok_r(NULL, ",", &save)) {
		int v = domains ? evr_domain_from_name(tok) : evr_type_from_name(tok);
		if (v < 0) {
			snprintf(why, why_len, "unknown %s '%s'", domains ? "domain" : "event type", tok);
			free(copy);
			return 0;
		}
		m |= domains ? evr_type_mask_of_domain((unsigned)v) : 1ull << v;
	}
	free(copy);
	if (!m) /* "" or "," */
		snprintf(why, why_len, "'%s' names no %s", list, domains ? "domain" : "event type");
	return m;
}

int evr_filter_parse(struct evr_filter *f, int c, const char *arg, char *why, size_t why_len)
{
	uint64_t m;
	switch (c) {
	case EVR_FILTER_TYPE:
	case EVR_FILTER_DOMAIN:
		if (!(m = parse_names(arg, c == EVR_FILTER_DOMAIN, why, why_len)))
			return -EINVAL;
		f->types |= m;
		return 0;
	case EVR_FILTER_PLAN:
	case EVR_FILTER_CORR:
		if (evr_cli_parse_u64(arg, false, c == EVR_FILTER_PLAN ? &f->plan : &f->corr)) {
			snprintf(why, why_len, "--%s: '%s' is not a number", c == EVR_FILTER_PLAN ? "plan" : "correlation", arg);
			return -EINVAL;
		}
		*(c == EVR_FILTER_PLAN ? &f->has_plan : &f->has_corr) = true;
		return 0;
	case EVR_FILTER_SINCE:
	case EVR_FILTER_UNTIL:
		if (evr_cli_parse_time(arg, evr_cli_wall_ns(), c == EVR_FILTER_SINCE ? &f->since : &f->until)) {
			snprintf(why, why_len, "--%s: '%s' is not a time (2026-11-25T16:00:00Z, -5m, now)",
				 c == EVR_FILTER_SINCE ? "since" : "until", arg);
			return -EINVAL;
		}
		return 0;
	default:
		return -ENOENT;
	}
}

int evr_filter_option(const char *cmd, struct evr_filter *f, int c, const char *arg)
{
	char why[256];
	int rc = evr_filter_parse(f, c, arg, why, sizeof why);
	if (rc == -ENOENT)
		return -1;
	return rc ? evr_cli_usage_error(cmd, "%s", why) : 0;
}

bool evr_filter_match(const struct evr_filter *f, const struct evr_record *rec)
{
	return (!f->types || (rec->type < 64 && (f->types >> rec->type & 1))) &&
	       (!f->has_plan || rec->plan_id == f->plan) && (!f->has_corr || rec->correlation_id == f->corr) &&
	       rec->ts >= f->since && (!f->until || rec->ts <= f->until);
}
