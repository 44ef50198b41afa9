/* One-line text rendering: wall time, type, producer, ids, then each field as key=value. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "format.h"

#define APPEND(...)                                                                               \
	do {                                                                                      \
		int n_ = snprintf(buf + (used < len ? used : len), used < len ? len - used : 0,  \
				  __VA_ARGS__);                                                   \
		used += (size_t)n_;                                                               \
	} while (0)

int evr_format_line(const struct evr_record *rec, char *buf, size_t len)
{
	if (evr_record_validate(rec, NULL, 0))
		return -EPROTO;
	const struct evr_event_desc *d = evr_event_desc(rec->type);
	size_t used = 0;
	time_t secs = (time_t)(rec->ts / 1000000000u);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	APPEND("%s.%06lluZ %-22s p%u", when, (unsigned long long)(rec->ts % 1000000000u / 1000u), d->name,
	       rec->producer_id);
	if (rec->correlation_id)
		APPEND(" corr=%" PRIu64, rec->correlation_id);
	if (rec->plan_id)
		APPEND(" plan=%" PRIu64, rec->plan_id);
	const unsigned char *base = (const unsigned char *)rec;
	for (unsigned f = 0; f < d->field_count; f++) {
		const struct evr_field_desc *fd = &d->fields[f];
		if (fd->kind == EVR_FIELD_U32) {
			uint32_t v;
			memcpy(&v, base + fd->offset, sizeof v);
			APPEND(" %s=%" PRIu32, fd->name, v);
		} else if (fd->kind == EVR_FIELD_U64) {
			uint64_t v;
			memcpy(&v, base + fd->offset, sizeof v);
			APPEND(" %s=%" PRIu64, fd->name, v);
		} else {
			APPEND(" %s=%s", fd->name, (const char *)base + fd->offset);
		}
	}
	const char *details = evr_record_details(rec);
	if (details && *details)
		APPEND(" details=\"%s\"", details);
	if (rec->flags & EVR_REC_TRUNCATED)
		APPEND(" [truncated]");
	if (rec->flags & EVR_REC_REPLAYED)
		APPEND(" [replayed]");
	return (int)used;
}
