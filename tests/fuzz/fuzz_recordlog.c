/* Fuzz target: the record-log reader. The input is a log file image; every block the reader hands
 * out must have verified, and every record in it is validated and formatted. The reader opens and
 * resynchronises as `evring replay` does (around a damaged header, then around damaged blocks):
 * every skip must move forward, stay inside the image and land on a block that then verifies with
 * a later index. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recordlog.h"
#include <evring/platform.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evr_log_reader r;
	char err[512];
	int hdr = evr_log_reader_salvage(&r, data, size, err, sizeof err); /* strict, then around a bad header */
	if (hdr < 0)
		return 0;
	if (hdr == 1 && (!r.header_damaged || !err[0] || r.hdr.lanes == 0 || r.hdr.lanes > EVR_MAX_LANES))
		abort();
	struct evr_log_block b;
	int rc, resynced = 0, have_block = 0;
	uint64_t last_index = 0;
	for (;;) {
		while ((rc = evr_log_next(&r, &b, err, sizeof err)) == 1) {
			resynced = 0;
			if (have_block && b.hdr->index <= last_index)
				abort(); /* indexes only grow */
			last_index = b.hdr->index;
			have_block = 1;
			for (uint32_t i = 0; i < b.hdr->count; i++) {
				struct evr_record rec;
				char json[1024];
				memcpy(&rec, b.records + (size_t)i * EVR_RECORD_SIZE, sizeof rec);
				if (evr_record_validate(&rec, NULL, 0) == 0 && evr_record_to_json(&rec, json, sizeof json) < 0)
					abort();
				/* and with the log's own description, when it carries a valid one */
				const struct evr_desc_header *d = evr_log_reader_schema(&r);
				if (evr_desc_record_validate(d, &rec, NULL, 0) == 0 &&
				    evr_desc_record_to_json(d, &rec, json, sizeof json) < 0)
					abort();
			}
			uint64_t cur;
			memcpy(&cur, b.cursor, sizeof cur);
			(void)cur;
		}
		if (resynced)
			abort(); /* a resync lands on a block that verifies */
		if (rc != -EPROTO)
			break;
		if (!err[0])
			abort(); /* every stop has its message */
		struct evr_log_skip skip;
		size_t before = r.off;
		int found = evr_log_resync(&r, &skip);
		if (skip.from != before || skip.to <= skip.from || skip.to > size || r.off != skip.to)
			abort();
		if (found != (int)!skip.to_end)
			abort();
		resynced = found;
		err[0] = 0;
	}
	if (rc != 0 && rc != -ENODATA && rc != -EPROTO)
		abort();
	if (rc < 0 && !err[0])
		abort(); /* every stop has its message */
	evr_log_reader_close(&r); /* frees the schema copy; no mapping here */
	return 0;
}
