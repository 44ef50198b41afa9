/* JSON for records: one object per record, stable field names, valid UTF-8 always (bytes that are
 * not valid UTF-8 become U+FFFD), snprintf-style return. Derived from the schema table. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "evring/schema.h"

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

int evr_record_to_json(const struct evr_record *r, char *buf, size_t len)
{
	if (evr_record_validate(r, NULL, 0))
		return -EPROTO;
	const struct evr_event_desc *e = evr_event_desc(r->type);
	struct out o = {buf, len, 0};
	putf(&o, "{\"type\":\"%s\",\"domain\":\"%s\",\"seq\":%" PRIu64 ",\"ts\":%" PRIu64 ",\"time\":", e->name,
	     evr_domain_name(e->domain), r->seq, r->ts);
	put_time(&o, r->ts);
	putf(&o, ",\"lane\":%u,\"producer\":%u,\"correlation_id\":%" PRIu64 ",\"plan_id\":%" PRIu64
		 ",\"truncated\":%s,\"replayed\":%s",
	     r->lane, r->producer_id, r->correlation_id, r->plan_id, (r->flags & EVR_REC_TRUNCATED) ? "true" : "false",
	     (r->flags & EVR_REC_REPLAYED) ? "true" : "false");
	for (unsigned f = 0; f < e->field_count; f++) {
		const struct evr_field_desc *fd = &e->fields[f];
		const char *p = (const char *)r + fd->offset;
		putf(&o, ",\"%s\":", fd->name);
		if (fd->kind == EVR_FIELD_STR) {
			put_string(&o, p, fd->size);
		} else if (fd->kind == EVR_FIELD_U32) {
			uint32_t v;
			memcpy(&v, p, sizeof v);
			putf(&o, "%" PRIu32, v);
		} else {
			uint64_t v;
			memcpy(&v, p, sizeof v);
			putf(&o, "%" PRIu64, v);
		}
	}
	put(&o, ",\"details\":", 11);
	put_string(&o, (const char *)r + e->details_offset, e->details_size);
	put(&o, "}", 1);
	if (len)
		buf[o.pos < len ? o.pos : len - 1] = '\0';
	return (int)o.pos;
}
