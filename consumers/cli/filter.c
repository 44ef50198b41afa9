/* Record filters shared by tail and replay: see filter.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "filter.h"

/* Append "a,b" to a name list: repeated flags union. */
static int add_names(char *list, size_t cap, const char *names, char *why, size_t why_len)
{
	size_t old = strlen(list);
	if (old + 1 + strlen(names) >= cap) {
		snprintf(why, why_len, "more than %zu bytes of names", cap - 1);
		return -EINVAL;
	}
	snprintf(list + old, cap - old, "%s%s", old ? "," : "", names);
	return 0;
}

/* A name list, and what it must name. */
static int names_valid(const char *list, const char *what, char *why, size_t why_len)
{
	if (strspn(list, ",") == strlen(list)) { /* "" or "," */
		snprintf(why, why_len, "'%s' names no %s", list, what);
		return -EINVAL;
	}
	return 0;
}

/* The names d knows, for the message: "a, b, c", or "a, b, ..." when they do not all fit. */
static void known_names(const struct evr_desc_header *d, bool domains, char *out, size_t len)
{
	size_t pos = 0;
	out[0] = '\0';
	for (unsigned t = 0; t < d->type_count; t++) {
		const struct evr_desc_type *e = evr_desc_type(d, t);
		const char *name = domains ? e->domain : e->name;
		bool seen = false;
		for (unsigned u = 0; domains && u < t && !seen; u++)
			seen = !strcmp(evr_desc_type(d, u)->domain, name);
		if (seen)
			continue;
		if (pos + strlen(name) + sizeof ", , ..." > len) { /* room for this one and the ellipsis */
			snprintf(out + pos, len - pos, "%s...", pos ? ", " : "");
			return;
		}
		pos += (size_t)snprintf(out + pos, len - pos, "%s%s", pos ? ", " : "", name);
	}
}

/* Set the types of d that the names in `list` name. Every name d lacks is noted; the first one is
 * described in why and makes it -ENOENT when strict (else the walk goes on). `*k` numbers the
 * names across both lists, for f->seen. */
static int bind_list(struct evr_filter *f, const struct evr_desc_header *d, const char *list, bool domains,
		     bool strict, unsigned *k, char *why, size_t why_len)
{
	char *copy = strdup(list), *save = NULL;
	if (!copy) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), ++*k) {
		bool found = false;
		for (unsigned t = 0; t < d->type_count; t++) {
			const struct evr_desc_type *e = evr_desc_type(d, t);
			if (!strcasecmp(tok, domains ? e->domain : e->name)) {
				f->types[t / 64] |= 1ull << (t % 64);
				found = true;
			}
		}
		if (found && *k < 64)
			f->seen |= 1ull << *k;
		if (!found && !rc) {
			char known[160];
			known_names(d, domains, known, sizeof known);
			snprintf(why, why_len, "unknown %s '%s' in schema %s v%u (known: %s)", domains ? "domain" : "event type",
				 tok, d->name, d->schema_version, known);
			rc = -ENOENT;
		}
	}
	free(copy);
	return strict ? rc : 0;
}

int evr_filter_bind(struct evr_filter *f, const struct evr_desc_header *d, bool strict, char *why, size_t why_len)
{
	memset(f->types, 0, sizeof f->types);
	f->by_type = f->type_names[0] || f->domain_names[0];
	unsigned k = 0;
	int rc = f->type_names[0] ? bind_list(f, d, f->type_names, false, strict, &k, why, why_len) : 0;
	return rc ? rc : f->domain_names[0] ? bind_list(f, d, f->domain_names, true, strict, &k, why, why_len) : 0;
}

int evr_filter_unseen(const struct evr_filter *f, char *why, size_t why_len)
{
	unsigned k = 0;
	for (int domains = 0; domains < 2; domains++) {
		char copy[sizeof f->type_names], *save = NULL;
		snprintf(copy, sizeof copy, "%s", domains ? f->domain_names : f->type_names);
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), k++)
			if (k < 64 && !(f->seen >> k & 1)) {
				snprintf(why, why_len, "no log's schema has %s '%s'", domains ? "a domain" : "an event type", tok);
				return -ENOENT;
			}
	}
	return 0;
}

int evr_filter_parse(struct evr_filter *f, int c, const char *arg, char *why, size_t why_len)
{
	switch (c) {
	case EVR_FILTER_TYPE:
	case EVR_FILTER_DOMAIN:
		if (names_valid(arg, c == EVR_FILTER_DOMAIN ? "domain" : "event type", why, why_len))
			return -EINVAL;
		if (c == EVR_FILTER_DOMAIN)
			return add_names(f->domain_names, sizeof f->domain_names, arg, why, why_len);
		return add_names(f->type_names, sizeof f->type_names, arg, why, why_len);
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
	return (!f->by_type || (rec->type < EVR_DESC_MAX_TYPES && (f->types[rec->type / 64] >> (rec->type % 64) & 1))) &&
	       (!f->has_plan || rec->plan_id == f->plan) && (!f->has_corr || rec->correlation_id == f->corr) &&
	       rec->ts >= f->since && (!f->until || rec->ts <= f->until);
}
