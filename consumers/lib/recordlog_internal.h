/* Private to the record-log modules (recordlog_read.c, recordlog_write.c): what both sides of the
 * format must compute the same way. */
#ifndef EVR_RECORDLOG_INTERNAL_H
#define EVR_RECORDLOG_INTERNAL_H

#include <zlib.h>

#include "recordlog.h"

static inline uint32_t evr_log_crc(uint32_t crc, const void *p, size_t n)
{
	return (uint32_t)crc32(crc, p, (uInt)n);
}

/* A whole block: its header, `count` records and the cursor (one u64 per lane). */
static inline size_t evr_log_block_bytes(const struct evr_log_header *h, uint32_t count)
{
	return sizeof(struct evr_log_block_header) + (size_t)count * h->record_size + (size_t)h->lanes * 8u;
}

#endif
