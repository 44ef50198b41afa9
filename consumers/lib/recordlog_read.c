#define _GNU_SOURCE /* memmem */
/* Record log reader (format in recordlog.h). Every block's CRC is verified before a single record of
 * it is handed out. Damage costs only what it touches: evr_log_resync scans for the next block that
 * verifies, and evr_log_reader_salvage reads the blocks of a log whose file header is damaged. The
 * reader never writes; the file is mapped read-only and private. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recordlog_internal.h"

/* Is there a whole block at `off` whose header is plausible (magic, count, body size, index) and
 * whose CRC matches? 1 yes; 0 the header is not plausible; -EBADMSG plausible but the CRC fails;
 * -ENODATA plausible (or under 48 bytes) but cut off by the end of the file. *out gets the header. */
static int block_at(const struct evr_log_reader *r, size_t off, uint64_t min_index, bool exact_index,
		    struct evr_log_block_header *out)
{
	size_t left = r->len - off;
	struct evr_log_block_header hc;
	memset(out, 0, sizeof *out);
	if (left < sizeof hc)
		return -ENODATA;
	memcpy(&hc, r->data + off, sizeof hc); /* the mapping may be unaligned for a fuzzed length: copy */
	*out = hc;
	if (hc.magic != EVR_LOG_BLOCK_MAGIC || hc.count > EVR_LOG_MAX_BLOCK_RECORDS ||
	    hc.body_bytes != evr_log_block_bytes(&r->hdr, hc.count) - sizeof hc || hc.index < min_index ||
	    (exact_index && hc.index != min_index))
		return 0;
	if (left - sizeof hc < hc.body_bytes)
		return -ENODATA;
	const unsigned char *body = r->data + off + sizeof hc;
	uint32_t crc = evr_log_crc(evr_log_crc(0, &hc, offsetof(struct evr_log_block_header, crc)), body, hc.body_bytes);
	return crc == hc.crc ? 1 : -EBADMSG;
}

/* The schema section at r->off (version 2 logs): 1 and r->schema set, r->off past it; 0 when there
 * is none; -1 when it is there but damaged (its size cannot be trusted). r->off moves only on 1. */
static int read_schema(struct evr_log_reader *r)
{
	struct evr_log_schema_header sh;
	if (r->len - r->off < sizeof sh)
		return 0;
	memcpy(&sh, r->data + r->off, sizeof sh);
	if (sh.magic != EVR_LOG_SCHEMA_MAGIC)
		return 0;
	if (sh.size > EVR_DESC_MAX_SIZE || r->len - r->off - sizeof sh < sh.size)
		return -1;
	const unsigned char *bytes = r->data + r->off + sizeof sh;
	struct evr_desc_header *d = malloc(sh.size ? sh.size : 1); /* aligned, and ours to keep */
	if (!d)
		return -1;
	memcpy(d, bytes, sh.size);
	if (evr_log_crc(0, d, sh.size) != sh.crc || evr_desc_validate(d, sh.size, NULL, 0)) {
		free(d);
		return -1;
	}
	r->schema = d;
	r->off += sizeof sh + ((sh.size + 7u) & ~7u);
	if (r->off > r->len)
		r->off = r->len;
	return 1;
}

/* After a damaged schema section: move to the first block 0 that verifies (if none does, stay: the
 * first evr_log_next reports the damage as usual). */
static void skip_damaged_schema(struct evr_log_reader *r)
{
	static const uint32_t magic = EVR_LOG_BLOCK_MAGIC;
	r->schema_damaged = true;
	for (size_t off = r->off; off < r->len; off++) {
		const unsigned char *m = memmem(r->data + off, r->len - off, &magic, sizeof magic);
		if (!m)
			return;
		off = (size_t)(m - r->data);
		struct evr_log_block_header hc;
		if (block_at(r, off, 0, true, &hc) == 1) {
			r->off = off;
			return;
		}
	}
}

/* 0; -EBADMSG when the header is damaged (bad magic or checksum: evr_log_reader_salvage may help);
 * -EPROTO when it is whole but not ours (too short, another version, an impossible layout). */
static int header_check(struct evr_log_reader *r, const void *data, size_t len, char *err, size_t err_len)
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
		return -EBADMSG;
	}
	if (evr_log_crc(0, &r->hdr, offsetof(struct evr_log_header, crc)) != r->hdr.crc) {
		snprintf(err, err_len, "the log header fails its checksum");
		return -EBADMSG;
	}
	if (r->hdr.version != 1 && r->hdr.version != EVR_LOG_VERSION) {
		snprintf(err, err_len, "log format version %u, this evring reads versions 1 and %u", r->hdr.version,
			 EVR_LOG_VERSION);
		return -EPROTO;
	}
	if (r->hdr.record_size != EVR_RECORD_SIZE || r->hdr.lanes == 0 || r->hdr.lanes > EVR_MAX_LANES) {
		snprintf(err, err_len, "log header has an impossible layout (record size %u, %u lanes)",
			 r->hdr.record_size, r->hdr.lanes);
		return -EPROTO;
	}
	r->off = sizeof r->hdr;
	/* a damaged (or missing) schema section costs no block: the blocks start at the first block 0
	 * that verifies after it, and records decode with the platform's table (r->schema NULL) */
	if (r->hdr.version >= 2 && read_schema(r) != 1)
		skip_damaged_schema(r);
	return 0;
}

int evr_log_reader_init(struct evr_log_reader *r, const void *data, size_t len, char *err, size_t err_len)
{
	int rc = header_check(r, data, len, err, err_len);
	return rc == -EBADMSG ? -EPROTO : rc;
}

/* A damaged header costs the ring id and schema, not the blocks: the only layout a block needs is
 * the lane count, and a block's own sizes give it (body = count records + lanes cursor words). The
 * first block anywhere that verifies under the layout it implies is taken as the witness. */
int evr_log_reader_salvage(struct evr_log_reader *r, const void *data, size_t len, char *err, size_t err_len)
{
	int rc = header_check(r, data, len, err, err_len);
	if (rc != -EBADMSG)
		return rc;
	static const uint32_t magic = EVR_LOG_BLOCK_MAGIC;
	for (size_t off = sizeof r->hdr; off < len; off++) {
		const unsigned char *m = memmem(r->data + off, len - off, &magic, sizeof magic);
		if (!m)
			break;
		off = (size_t)(m - r->data);
		struct evr_log_block_header hc;
		if (len - off < sizeof hc)
			break;
		memcpy(&hc, m, sizeof hc);
		size_t records = (size_t)hc.count * EVR_RECORD_SIZE;
		if (hc.count > EVR_LOG_MAX_BLOCK_RECORDS || hc.body_bytes < records + 8 || (hc.body_bytes - records) % 8 ||
		    (hc.body_bytes - records) / 8 > EVR_MAX_LANES)
			continue;
		memset(&r->hdr, 0, sizeof r->hdr);
		memcpy(r->hdr.magic, EVR_LOG_MAGIC, 8);
		r->hdr.version = EVR_LOG_VERSION;
		r->hdr.record_size = EVR_RECORD_SIZE;
		r->hdr.lanes = (uint32_t)((hc.body_bytes - records) / 8);
		if (block_at(r, off, 0, false, &hc) != 1)
			continue;
		snprintf(err, err_len, "the log header is damaged (%s); reading its blocks anyway (lane count %u, as "
			 "the block at byte %zu implies); its ring id and schema are unknown",
			 memcmp(data, EVR_LOG_MAGIC, 8) ? "bad magic" : "it fails its checksum", r->hdr.lanes, off);
		r->off = sizeof r->hdr;
		r->header_damaged = true;
		read_schema(r); /* a whole schema section right after the header still names the fields */
		return 1;
	}
	memset(&r->hdr, 0, sizeof r->hdr);
	return -EPROTO;
}

static int map_file(const char *path, void **map, size_t *len, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, err_len, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "%s is not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	*len = (size_t)st.st_size;
	*map = *len ? mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	int e = errno;
	close(fd);
	if (*map == MAP_FAILED) {
		snprintf(err, err_len, "cannot map %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

static int reader_open(struct evr_log_reader *r, const char *path, bool salvage, char *err, size_t err_len)
{
	void *map = NULL;
	size_t len = 0;
	int rc = map_file(path, &map, &len, err, err_len);
	if (rc) {
		memset(r, 0, sizeof *r);
		return rc;
	}
	rc = salvage ? evr_log_reader_salvage(r, map, len, err, err_len) : evr_log_reader_init(r, map, len, err, err_len);
	r->map = map;
	r->map_len = len;
	if (rc < 0)
		evr_log_reader_close(r);
	return rc;
}

int evr_log_reader_open(struct evr_log_reader *r, const char *path, char *err, size_t err_len)
{
	return reader_open(r, path, false, err, err_len);
}

int evr_log_reader_open_salvage(struct evr_log_reader *r, const char *path, char *err, size_t err_len)
{
	return reader_open(r, path, true, err, err_len);
}

void evr_log_reader_close(struct evr_log_reader *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	r->map = NULL;
	free(r->schema);
	r->schema = NULL;
}

int evr_log_next(struct evr_log_reader *r, struct evr_log_block *b, char *err, size_t err_len)
{
	size_t left = r->len - r->off;
	if (left == 0)
		return 0;
	struct evr_log_block_header hc;
	int rc = block_at(r, r->off, r->blocks, true, &hc);
	if (rc == -ENODATA && left < sizeof hc) {
		snprintf(err, err_len, "the log ends inside block %llu at byte %zu (%zu of 48 header bytes): "
			 "a write was cut short (the recorder stopped mid-write); everything before it was read",
			 (unsigned long long)r->blocks, r->off, left);
		return -ENODATA;
	}
	if (rc == -ENODATA) {
		snprintf(err, err_len, "the log ends inside block %llu at byte %zu (%zu of %zu bytes): a write was "
			 "cut short (the recorder stopped mid-write); everything before it was read",
			 (unsigned long long)r->blocks, r->off, left, sizeof hc + hc.body_bytes);
		return -ENODATA;
	}
	if (rc == -EBADMSG) {
		snprintf(err, err_len, "block %llu at byte %zu fails its checksum", (unsigned long long)r->blocks,
			 r->off);
		return -EPROTO;
	}
	if (rc == 0) {
		snprintf(err, err_len, "block %llu at byte %zu is corrupt (bad block header)",
			 (unsigned long long)r->blocks, r->off);
		return -EPROTO;
	}
	const unsigned char *body = r->data + r->off + sizeof hc;
	b->hdr = (const void *)(r->data + r->off);
	b->records = body;
	b->cursor = (const uint64_t *)(body + (size_t)hc.count * r->hdr.record_size);
	r->off += sizeof hc + hc.body_bytes;
	r->blocks++;
	return 1;
}

/* Scan byte by byte for the next occurrence of the block magic that starts a whole block with a
 * valid CRC and a later index than the last good block. The CRC (over header and body) is what makes
 * a stray "EVRB" inside a record harmless. Cost: one CRC per candidate magic, each bounded by what is
 * left of the file. */
int evr_log_resync(struct evr_log_reader *r, struct evr_log_skip *skip)
{
	static const uint32_t magic = EVR_LOG_BLOCK_MAGIC;
	memset(skip, 0, sizeof *skip);
	skip->from = r->off;
	skip->first_block = r->blocks;
	for (size_t off = r->off + 1; off < r->len;) {
		const unsigned char *m = memmem(r->data + off, r->len - off, &magic, sizeof magic);
		if (!m)
			break;
		off = (size_t)(m - r->data);
		struct evr_log_block_header hc;
		if (block_at(r, off, r->blocks, false, &hc) == 1) {
			skip->to = off;
			skip->blocks = hc.index - r->blocks;
			r->off = off;
			r->blocks = hc.index;
			return 1;
		}
		off++;
	}
	skip->to = r->len;
	skip->to_end = true;
	r->off = r->len;
	return 0;
}

int evr_log_each(struct evr_log_reader *r, void (*on_block)(const struct evr_log_block *b, void *arg),
		 void (*on_skip)(const struct evr_log_skip *skip, const char *why, void *arg), void *arg, char *err,
		 size_t err_len)
{
	struct evr_log_block b;
	for (;;) {
		int rc;
		while ((rc = evr_log_next(r, &b, err, err_len)) == 1)
			on_block(&b, arg);
		if (rc != -EPROTO)
			return rc;
		struct evr_log_skip skip;
		int found = evr_log_resync(r, &skip);
		if (on_skip)
			on_skip(&skip, err, arg);
		if (!found)
			return 0;
	}
}
