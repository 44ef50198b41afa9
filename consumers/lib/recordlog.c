/* Record log writer and reader (format in recordlog.h). The writer appends whole blocks with one
 * write() each and never rewrites anything except cutting off a torn tail on open; the reader
 * verifies each block's CRC before handing out a single record of it. */
#include <errno.h>
#include <fcntl.h>
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "recordlog.h"

struct evr_log_writer {
	int fd;
	enum evr_fsync_policy policy;
	struct evr_log_header hdr;
	uint64_t next_index, size, last_sync_ns;
	uint64_t lost_lapped, lost_abandoned;
	uint32_t count;
	unsigned char *buf; /* block header + records + cursor */
	size_t cap;
};

static uint32_t crc_of(uint32_t crc, const void *p, size_t n)
{
	return (uint32_t)crc32(crc, p, (uInt)n);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t block_bytes(const struct evr_log_header *h, uint32_t count)
{
	return sizeof(struct evr_log_block_header) + (size_t)count * h->record_size + (size_t)h->lanes * 8u;
}

/* ---- reader ---- */

int evr_log_reader_init(struct evr_log_reader *r, const void *data, size_t len, char *err, size_t err_len)
{
	memset(r, 0, sizeof *r);
	r->data = data;
	r->len = len;
	if (len < sizeof r->hdr) {
		snprintf(err, err_len, "not an evring record log: %zu bytes, shorter than the 64-byte header", len);
		return -EPROTO;
	}
	memcpy(&r->hdr, data, sizeof r->hdr);
	if (memcmp(r->hdr.magic, EVR_LOG_MAGIC, 8)) {
		snprintf(err, err_len, "not an evring record log (bad magic)");
		return -EPROTO;
	}
	if (crc_of(0, &r->hdr, offsetof(struct evr_log_header, crc)) != r->hdr.crc) {
		snprintf(err, err_len, "the log header fails its checksum");
		return -EPROTO;
	}
	if (r->hdr.version != EVR_LOG_VERSION) {
		snprintf(err, err_len, "log format version %u, this evring reads version %u", r->hdr.version,
			 EVR_LOG_VERSION);
		return -EPROTO;
	}
	if (r->hdr.record_size != EVR_RECORD_SIZE || r->hdr.lanes == 0 || r->hdr.lanes > EVR_MAX_LANES) {
		snprintf(err, err_len, "log header has an impossible layout (record size %u, %u lanes)",
			 r->hdr.record_size, r->hdr.lanes);
		return -EPROTO;
	}
	r->off = sizeof r->hdr;
	return 0;
}

int evr_log_reader_open(struct evr_log_reader *r, const char *path, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "%s is not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	size_t len = (size_t)st.st_size;
	void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, err_len, "cannot map %s: %s", path, strerror(errno));
		return -errno;
	}
	int rc = evr_log_reader_init(r, map, len, err, err_len);
	r->map = map;
	r->map_len = len;
	if (rc)
		evr_log_reader_close(r);
	return rc;
}

void evr_log_reader_close(struct evr_log_reader *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	r->map = NULL;
}

int evr_log_next(struct evr_log_reader *r, struct evr_log_block *b, char *err, size_t err_len)
{
	size_t left = r->len - r->off;
	if (left == 0)
		return 0;
	const struct evr_log_block_header *h = (const void *)(r->data + r->off);
	if (left < sizeof *h) {
		snprintf(err, err_len, "the log ends inside block %llu at byte %zu (%zu of 48 header bytes): "
			 "a write was cut short; the %llu blocks before it are good",
			 (unsigned long long)r->blocks, r->off, left, (unsigned long long)r->blocks);
		return -ENODATA;
	}
	struct evr_log_block_header hc;
	memcpy(&hc, h, sizeof hc); /* the mapping may be unaligned for a fuzzed length; work on a copy */
	if (hc.magic != EVR_LOG_BLOCK_MAGIC || hc.count > EVR_LOG_MAX_BLOCK_RECORDS ||
	    hc.body_bytes != block_bytes(&r->hdr, hc.count) - sizeof hc || hc.index != r->blocks) {
		snprintf(err, err_len, "block %llu at byte %zu is corrupt (bad block header)",
			 (unsigned long long)r->blocks, r->off);
		return -EPROTO;
	}
	if (left - sizeof hc < hc.body_bytes) {
		snprintf(err, err_len, "the log ends inside block %llu at byte %zu (%zu of %zu bytes): a write was "
			 "cut short; the %llu blocks before it are good",
			 (unsigned long long)r->blocks, r->off, left, sizeof hc + hc.body_bytes,
			 (unsigned long long)r->blocks);
		return -ENODATA;
	}
	const unsigned char *body = r->data + r->off + sizeof hc;
	uint32_t crc = crc_of(crc_of(0, &hc, offsetof(struct evr_log_block_header, crc)), body, hc.body_bytes);
	if (crc != hc.crc) {
		snprintf(err, err_len, "block %llu at byte %zu fails its checksum: the log is corrupt from there on; "
			 "the %llu blocks before it are good",
			 (unsigned long long)r->blocks, r->off, (unsigned long long)r->blocks);
		return -EPROTO;
	}
	b->hdr = h;
	b->records = body;
	b->cursor = (const uint64_t *)(body + (size_t)hc.count * r->hdr.record_size);
	r->off += sizeof hc + hc.body_bytes;
	r->blocks++;
	return 1;
}

/* ---- writer ---- */

static int fail(char *err, size_t len, int rc, const char *fmt, const char *path)
{
	snprintf(err, len, fmt, path, strerror(-rc));
	return rc;
}

/* Check an existing log against the ring, find the end of its last good block and its cursor. */
static int recover(struct evr_log_writer *w, const char *path, const struct evr_ring_info *info,
		   struct evr_cursor *resume, uint64_t *good_end, char *err, size_t err_len)
{
	struct evr_log_reader r;
	int rc = evr_log_reader_open(&r, path, err, err_len);
	if (rc)
		return rc;
	if (r.hdr.ring_id != info->ring_id || r.hdr.schema_hash != info->schema_hash || r.hdr.lanes != info->lanes) {
		snprintf(err, err_len, "%s was recorded from another ring (ring id %016llx, %u lanes, schema %016llx); "
			 "record into a new file", path, (unsigned long long)r.hdr.ring_id, r.hdr.lanes,
			 (unsigned long long)r.hdr.schema_hash);
		evr_log_reader_close(&r);
		return -EEXIST;
	}
	struct evr_log_block b;
	char why[256];
	while ((rc = evr_log_next(&r, &b, why, sizeof why)) == 1) {
		resume->ring_id = info->ring_id;
		resume->lanes = r.hdr.lanes;
		memcpy(resume->pos, b.cursor, r.hdr.lanes * 8u);
	}
	if (rc == -EPROTO) { /* never append after corruption: it would hide it */
		snprintf(err, err_len, "%s: %s", path, why);
		evr_log_reader_close(&r);
		return -EPROTO;
	}
	*good_end = r.off; /* a torn block (-ENODATA) is cut off here */
	w->hdr = r.hdr;
	w->next_index = r.blocks;
	evr_log_reader_close(&r);
	return 0;
}

int evr_log_writer_open(const char *path, const struct evr_ring_info *info, enum evr_fsync_policy policy,
			struct evr_log_writer **out, struct evr_cursor *resume, char *err, size_t err_len)
{
	struct evr_log_writer *w = mallocx(sizeof *w, MALLOCX_ZERO);
	if (!w)
		return -ENOMEM;
	w->policy = policy;
	memset(resume, 0, sizeof *resume);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		dallocx(w, 0);
		return fail(err, err_len, -errno, "cannot open %s: %s", path);
	}
	struct stat st;
	fstat(fd, &st);
	int rc = 0;
	if (st.st_size > 0) {
		uint64_t good_end = 0;
		rc = recover(w, path, info, resume, &good_end, err, err_len);
		if (!rc && ftruncate(fd, (off_t)good_end))
			rc = fail(err, err_len, -errno, "cannot cut the torn tail of %s: %s", path);
		w->size = good_end;
	} else {
		struct evr_log_header *h = &w->hdr;
		memcpy(h->magic, EVR_LOG_MAGIC, 8);
		h->version = EVR_LOG_VERSION;
		h->record_size = EVR_RECORD_SIZE;
		h->schema_hash = info->schema_hash;
		h->schema_version = info->schema_version;
		h->lanes = info->lanes;
		h->ring_id = info->ring_id;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		h->created_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		h->crc = crc_of(0, h, offsetof(struct evr_log_header, crc));
		if (pwrite(fd, h, sizeof *h, 0) != (ssize_t)sizeof *h || fsync(fd))
			rc = fail(err, err_len, -errno, "cannot write the header of %s: %s", path);
		w->size = sizeof *h;
	}
	w->cap = block_bytes(&w->hdr, EVR_LOG_MAX_BLOCK_RECORDS);
	w->buf = rc ? NULL : mallocx(w->cap, 0);
	if (rc || !w->buf || lseek(fd, (off_t)w->size, SEEK_SET) < 0) {
		close(fd);
		if (w->buf)
			dallocx(w->buf, 0);
		dallocx(w, 0);
		return rc ? rc : -ENOMEM;
	}
	w->fd = fd;
	w->last_sync_ns = mono_ns();
	*out = w;
	return 0;
}

int evr_log_append(struct evr_log_writer *w, const struct evr_record *rec)
{
	memcpy(w->buf + sizeof(struct evr_log_block_header) + (size_t)w->count * EVR_RECORD_SIZE, rec, EVR_RECORD_SIZE);
	return ++w->count == EVR_LOG_MAX_BLOCK_RECORDS;
}

void evr_log_note_loss(struct evr_log_writer *w, uint64_t lapped, uint64_t abandoned)
{
	w->lost_lapped += lapped;
	w->lost_abandoned += abandoned;
}

int evr_log_flush(struct evr_log_writer *w, const struct evr_cursor *cur)
{
	if (!w->count && !w->lost_lapped && !w->lost_abandoned)
		return 0;
	struct evr_log_block_header h = {
		.magic = EVR_LOG_BLOCK_MAGIC, .count = w->count, .index = w->next_index,
		.lost_lapped = w->lost_lapped, .lost_abandoned = w->lost_abandoned,
	};
	size_t total = block_bytes(&w->hdr, w->count);
	h.body_bytes = (uint32_t)(total - sizeof h);
	unsigned char *cursor = w->buf + sizeof h + (size_t)w->count * EVR_RECORD_SIZE;
	memcpy(cursor, cur->pos, w->hdr.lanes * 8u);
	h.crc = crc_of(crc_of(0, &h, offsetof(struct evr_log_block_header, crc)), w->buf + sizeof h, h.body_bytes);
	memcpy(w->buf, &h, sizeof h);
	for (size_t done = 0; done < total;) { /* one write() normally; loop for short writes */
		ssize_t n = write(w->fd, w->buf + done, total - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		done += (size_t)n;
	}
	w->size += total;
	w->next_index++;
	w->count = 0;
	w->lost_lapped = w->lost_abandoned = 0;
	uint64_t now = mono_ns();
	if (w->policy == EVR_FSYNC_EVERY || (w->policy == EVR_FSYNC_INTERVAL && now - w->last_sync_ns >= 1000000000u)) {
		if (fdatasync(w->fd))
			return -errno;
		w->last_sync_ns = now;
	}
	return 0;
}

uint64_t evr_log_size(const struct evr_log_writer *w)
{
	return w->size;
}

int evr_log_writer_close(struct evr_log_writer *w)
{
	int rc = w->policy != EVR_FSYNC_NEVER && fsync(w->fd) ? -errno : 0;
	close(w->fd);
	dallocx(w->buf, 0);
	dallocx(w, 0);
	return rc;
}
