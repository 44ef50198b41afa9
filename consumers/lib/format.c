/* One-line text rendering: wall time, type, producer, ids, then each field as key=value.
 *
 * String values come from any producer, so they may hold newlines or terminal escapes: a line must
 * stay one line and must not drive the reader's terminal. Every string (fields and details alike)
 * is printed bare when it is plain, else in double quotes with C-style escapes (logfmt's rule). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include <evring/platform.h>

#define APPEND(...)                                                                               \
	do {                                                                                      \
		int n_ = snprintf(buf + (used < len ? used : len), used < len ? len - used : 0,  \
				  __VA_ARGS__);                                                   \
		used += (size_t)n_;                                                               \
	} while (0)

/* Length of the valid UTF-8 sequence at v that is not a C1 control (U+0080..U+009F, which some
 * terminals obey), or 0. */
static size_t utf8_len(const unsigned char *v)
{
	size_t n = *v >= 0xf0 && *v <= 0xf4 ? 4 : *v >= 0xe0 && *v < 0xf0 ? 3 : *v >= 0xc2 && *v < 0xe0 ? 2 : 0;
	for (size_t i = 1; i < n; i++)
		if ((v[i] & 0xc0) != 0x80)
			return 0;
	if (n == 2 && v[0] == 0xc2 && v[1] < 0xa0)
		return 0;
	return n;
}

/* Plain: non-empty; printable ASCII other than space, '"', '\\' and '=', or valid UTF-8. */
static bool needs_quotes(const unsigned char *v)
{
	if (!*v)
		return true;
	while (*v) {
		if (*v >= 0x80) {
			size_t n = utf8_len(v);
			if (!n)
				return true;
			v += n;
			continue;
		}
		if (*v <= ' ' || *v == '"' || *v == '\\' || *v == '=' || *v == 0x7f)
			return true;
		v++;
	}
	return false;
}

size_t evr_format_escaped(const char *value, char *buf, size_t len)
{
	const unsigned char *v = (const unsigned char *)value;
	size_t used = 0;
	if (!needs_quotes(v)) {
		APPEND("%s", value);
		return used;
	}
	APPEND("\"");
	while (*v) {
		size_t n = *v >= 0x80 ? utf8_len(v) : 0;
		if (n) {
			APPEND("%.*s", (int)n, (const char *)v);
			v += n;
			continue;
		}
		const char *esc = *v == '\n' ? "\\n" : *v == '\t' ? "\\t" : *v == '\r' ? "\\r"
				: *v == '"' ? "\\\"" : *v == '\\' ? "\\\\" : NULL;
		if (esc)
			APPEND("%s", esc);
		else if (*v < ' ' || *v >= 0x7f)
			APPEND("\\x%02x", *v);
		else
			APPEND("%c", *v);
		v++;
	}
	APPEND("\"");
	return used;
}

int evr_format_line(const struct evr_record *rec, char *buf, size_t len)
{
	return evr_format_line_desc(evr_platform_desc(), rec, buf, len);
}

int evr_format_line_desc(const struct evr_desc_header *d, const struct evr_record *rec, char *buf, size_t len)
{
	if (evr_desc_record_validate(d, rec, NULL, 0))
		return -EPROTO;
	const struct evr_desc_type *t = evr_desc_type(d, rec->type);
	const struct evr_desc_field *f = evr_desc_fields(d) + t->first_field;
	unsigned version = evr_record_version(rec);
	size_t used = 0;
	time_t secs = (time_t)(rec->ts / 1000000000u);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	APPEND("%s.%06lluZ %-22s p%u", when, (unsigned long long)(rec->ts % 1000000000u / 1000u), t->name,
	       rec->producer_id);
	if (rec->correlation_id)
		APPEND(" corr=%" PRIu64, rec->correlation_id);
	if (rec->plan_id)
		APPEND(" plan=%" PRIu64, rec->plan_id);
	const unsigned char *base = (const unsigned char *)rec;
	for (unsigned j = 0; j < t->field_count; j++) {
		if (version && f[j].since > version)
			continue; /* its producer's table predates the field: not present */
		APPEND(" %s=", f[j].name);
		if (f[j].kind == EVR_FIELD_STR) {
			used += evr_format_escaped((const char *)base + f[j].offset, buf + (used < len ? used : len),
						   used < len ? len - used : 0);
			continue;
		}
		uint64_t v = evr_desc_field_bits(&f[j], rec);
		const char *named = evr_desc_value_name(d, t->first_field + j, v);
		if (named)
			APPEND("%s", named);
		else if (evr_field_kind_signed(f[j].kind))
			APPEND("%" PRId64, (int64_t)v);
		else
			APPEND("%" PRIu64, v);
	}
	const char *details = (const char *)base + t->details_offset; /* terminated: validated above */
	if (*details) {
		APPEND(" details=");
		used += evr_format_escaped(details, buf + (used < len ? used : len), used < len ? len - used : 0);
	}
	if (rec->flags & EVR_REC_TRUNCATED)
		APPEND(" [truncated]");
	if (rec->flags & EVR_REC_REPLAYED)
		APPEND(" [replayed]");
	return (int)used;
}
