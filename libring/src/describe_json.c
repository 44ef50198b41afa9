/* The generic record decoder: validation and JSON driven by a description (describe.h), never by a
 * compiled table, so a reader decodes types and fields it was not built with. One object per record,
 * stable field names, valid UTF-8 always (bytes that are not valid UTF-8 become U+FFFD),
 * snprintf-style return. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "evring/describe.h"

struct out {
	char *buf;
	size_t len, pos;
};

static void put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->pos++)
		if (o->pos + 1 < o->len)
			o->buf[o->pos] = s[i];
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	/* 512: the longest expansion (the header: fixed text, two table names, four u64 numbers) is
	 * under 300 bytes; a 128-byte buffer here once copied past its end (found by fuzz_record) */
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof tmp)
		n = (int)sizeof tmp - 1; /* never copy more than vsnprintf wrote */
	put(o, tmp, n > 0 ? (size_t)n : 0);
}

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	if (!len || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] >= 0x90))
		return 0; /* overlong, surrogate or beyond U+10FFFF */
	return len;
}

static void put_string(struct out *o, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	put(o, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			put(o, "\\", 1);
			put(o, (const char *)&c, 1);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			putf(o, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			put(o, (const char *)&c, 1);
			i++;
		} else {
			size_t l = utf8_len((const unsigned char *)s + i, n - i);
			if (l) {
				put(o, s + i, l);
				i += l;
			} else {
				put(o, "\\ufffd", 6);
				i++;
			}
		}
	}
	put(o, "\"", 1);
}

static void put_time(struct out *o, uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	char buf[40];
	gmtime_r(&sec, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	putf(o, "\"%s.%09" PRIu64 "Z\"", buf, ns % 1000000000u);
}

static int why_fail(char *buf, size_t len, const char *msg, const char *arg)
{
	if (buf && len)
		snprintf(buf, len, "%s%s", msg, arg ? arg : "");
	return -EPROTO;
}

int evr_desc_record_validate(const struct evr_desc_header *d, const struct evr_record *r, char *why, size_t len)
{
	const struct evr_desc_type *t = evr_desc_type(d, r->type);
	if (!t)
		return why_fail(why, len, "unknown event type", NULL);
	if (r->flags & ~EVR_REC_FLAGS_KNOWN)
		return why_fail(why, len, "unknown record flags", NULL);
	const struct evr_desc_field *f = evr_desc_fields(d) + t->first_field;
	for (unsigned j = 0; j < t->field_count; j++)
		if (f[j].kind == EVR_FIELD_STR && !memchr((const char *)r + f[j].offset, 0, f[j].size))
			return why_fail(why, len, "unterminated string field ", f[j].name);
	if (!memchr((const char *)r + t->details_offset, 0, t->details_size))
		return why_fail(why, len, "unterminated details", NULL);
	return 0;
}

/* An integer field's bits (evr_desc_field_bits), as a number of its kind. */
static void put_int(struct out *o, unsigned kind, uint64_t v)
{
	if (evr_field_kind_signed(kind))
		putf(o, "%" PRId64, (int64_t)v);
	else
		putf(o, "%" PRIu64, v);
}

int evr_desc_record_to_json(const struct evr_desc_header *d, const struct evr_record *r, char *buf, size_t len)
{
	if (evr_desc_record_validate(d, r, NULL, 0))
		return -EPROTO;
	const struct evr_desc_type *t = evr_desc_type(d, r->type);
	unsigned version = evr_record_version(r);
	struct out o = {buf, len, 0};
	putf(&o, "{\"type\":\"%s\",\"domain\":\"%s\",\"seq\":%" PRIu64 ",\"ts\":%" PRIu64 ",\"time\":", t->name,
	     t->domain, r->seq, r->ts);
	put_time(&o, r->ts);
	putf(&o, ",\"lane\":%u,\"producer\":%u,\"correlation_id\":%" PRIu64 ",\"plan_id\":%" PRIu64
		 ",\"truncated\":%s,\"replayed\":%s",
	     r->lane, r->producer_id, r->correlation_id, r->plan_id, (r->flags & EVR_REC_TRUNCATED) ? "true" : "false",
	     (r->flags & EVR_REC_REPLAYED) ? "true" : "false");
	const struct evr_desc_field *f = evr_desc_fields(d) + t->first_field;
	for (unsigned j = 0; j < t->field_count; j++) {
		putf(&o, ",\"%s\":", f[j].name);
		if (version && f[j].since > version) {
			put(&o, "null", 4); /* its producer's table predates the field: not present */
			continue;
		}
		if (f[j].kind == EVR_FIELD_STR) {
			put_string(&o, (const char *)r + f[j].offset, f[j].size);
			continue;
		}
		uint64_t v = evr_desc_field_bits(&f[j], r);
		const char *name = evr_desc_value_name(d, t->first_field + j, v);
		if (name)
			putf(&o, "\"%s\"", name); /* validated names need no escaping */
		else
			put_int(&o, f[j].kind, v);
	}
	put(&o, ",\"details\":", 11);
	put_string(&o, (const char *)r + t->details_offset, t->details_size);
	put(&o, "}", 1);
	if (len)
		buf[o.pos < len ? o.pos : len - 1] = '\0';
	return (int)o.pos;
}
