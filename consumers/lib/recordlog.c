#define _GNU_SOURCE /* memmem, F_OFD_SETLK */
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

static int block_at(const struct evr_log_reader *r, size_t off, uint64_t min_index, bool exact_index,
		    struct evr_log_block_header *out);

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
	if (crc_of(0, &r->hdr, offsetof(struct evr_log_header, crc)) != r->hdr.crc) {
		snprintf(err, err_len, "the log header fails its checksum");
		return -EBADMSG;
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
}

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
	    hc.body_bytes != block_bytes(&r->hdr, hc.count) - sizeof hc || hc.index < min_index ||
	    (exact_index && hc.index != min_index))
		return 0;
	if (left - sizeof hc < hc.body_bytes)
		return -ENODATA;
	const unsigned char *body = r->data + off + sizeof hc;
	uint32_t crc = crc_of(crc_of(0, &hc, offsetof(struct evr_log_block_header, crc)), body, hc.body_bytes);
	return crc == hc.crc ? 1 : -EBADMSG;
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

/* ---- writer ---- */

static int fail(char *err, size_t len, int rc, const char *fmt, const char *path)
{
	snprintf(err, len, fmt, path, strerror(-rc));
	return rc;
}

/* One recorder per log. Two used to interleave their blocks at their own offsets and both exit 0,
 * leaving a log that fails its checksums. The writer holds an OFD write lock on byte 0 for its life:
 * owned by its open file description, so it conflicts even with another writer in the same process,
 * survives the reader's open/close of the same file (a classic POSIX lock would not: any close by
 * the process drops it), and the kernel releases it when the recorder dies. OFD locks report no pid,
 * so the writer also takes a classic lock on byte 1, for naming only: a refused recorder asks for it
 * with F_GETLK (it may have been dropped by a close in the holder's process; then no pid is shown). */
static int lock_log(int fd, const char *path, char *err, size_t err_len)
{
	struct flock own = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	struct flock name = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1 };
	if (fcntl(fd, F_OFD_SETLK, &own) == 0)
		return 0;
	if (errno != EAGAIN && errno != EACCES)
		return fail(err, err_len, -errno, "cannot lock %s: %s", path);
	if (fcntl(fd, F_GETLK, &name) == 0 && name.l_type != F_UNLCK && name.l_pid > 0)
		snprintf(err, err_len, "%s is being written by another recorder (pid %d); stop it or record into "
			 "another file", path, (int)name.l_pid);
	else
		snprintf(err, err_len, "%s is being written by another recorder; stop it or record into another file",
			 path);
	return -EBUSY;
}

/* The naming lock of lock_log(), taken once the writer no longer opens the file elsewhere. */
static void name_lock(int fd)
{
	struct flock name = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1 };
	(void)fcntl(fd, F_SETLK, &name); /* best effort: it only feeds the message of a refused recorder */
}

/* Blocks that still verify from r's position on, reading around damage. */
static uint64_t count_readable(struct evr_log_reader *r)
{
	struct evr_log_block b;
	struct evr_log_skip skip;
	char why[256];
	uint64_t n = 0;
	int rc;
	do
		while ((rc = evr_log_next(r, &b, why, sizeof why)) == 1)
			n++;
	while (rc == -EPROTO && evr_log_resync(r, &skip) == 1);
	return n;
}

/* recover() found no usable header. -EBADMSG when the file is an evring log all the same (its blocks
 * still verify, or its magic is ours: another version), so it may be set aside; else -EPROTO. */
static int unreadable_header(const char *path, int fd, char *err, size_t err_len)
{
	struct evr_log_reader r;
	char why[512];
	if (evr_log_reader_open_salvage(&r, path, why, sizeof why) == 1) {
		uint64_t n = count_readable(&r);
		snprintf(err, err_len, "%s: %s; %llu readable block%s; nothing was written to it", path, why,
			 (unsigned long long)n, n == 1 ? "" : "s");
		evr_log_reader_close(&r);
		return -EBADMSG;
	}
	char magic[8];
	if (pread(fd, magic, 8, 0) == 8 && !memcmp(magic, EVR_LOG_MAGIC, 8))
		return -EBADMSG; /* err (from recover) already says what is wrong with it */
	return -EPROTO;
}

/* Check an existing log against the ring, find the end of its last good block and its cursor. */
static int recover(struct evr_log_writer *w, const char *path, const struct evr_ring_info *info,
		   struct evr_cursor *resume, uint64_t *good_end, char *err, size_t err_len)
{
	struct evr_log_reader r;
	char why[256];
	int rc = evr_log_reader_open(&r, path, why, sizeof why);
	if (rc) {
		snprintf(err, err_len, "%s: %s", path, why);
		return rc;
	}
	if (r.hdr.ring_id != info->ring_id || r.hdr.schema_hash != info->schema_hash || r.hdr.lanes != info->lanes) {
		snprintf(err, err_len, "%s was recorded from another ring (ring id %016llx, %u lanes, schema %016llx); "
			 "record into a new file", path, (unsigned long long)r.hdr.ring_id, r.hdr.lanes,
			 (unsigned long long)r.hdr.schema_hash);
		evr_log_reader_close(&r);
		return -EEXIST;
	}
	struct evr_log_block b;
	while ((rc = evr_log_next(&r, &b, why, sizeof why)) == 1) {
		resume->ring_id = info->ring_id;
		resume->lanes = r.hdr.lanes;
		memcpy(resume->pos, b.cursor, r.hdr.lanes * 8u);
	}
	if (rc == -EPROTO) { /* never append after damage: the next block would hide it */
		struct evr_log_skip skip;
		uint64_t after = evr_log_resync(&r, &skip) == 1 ? count_readable(&r) : 0;
		snprintf(err, err_len, "%s: %s, and %llu readable block%s follow%s it; nothing was written to it", path,
			 why, (unsigned long long)after, after == 1 ? "" : "s", after == 1 ? "s" : "");
		evr_log_reader_close(&r);
		return -EBADMSG;
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
	int rc = lock_log(fd, path, err, err_len);
	struct stat st;
	if (!rc && fstat(fd, &st))
		rc = fail(err, err_len, -errno, "cannot stat %s: %s", path);
	if (rc) {
		close(fd);
		dallocx(w, 0);
		return rc;
	}
	if (st.st_size > 0) {
		uint64_t good_end = 0;
		rc = recover(w, path, info, resume, &good_end, err, err_len);
		if (rc == -EPROTO)
			rc = unreadable_header(path, fd, err, err_len);
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
	name_lock(fd); /* after recover(): its close of the reader's descriptor would drop it */
	w->fd = fd;
	w->last_sync_ns = mono_ns();
	*out = w;
	return 0;
}

unsigned evr_log_last_rotation(const char *path)
{
	char p[4096];
	struct stat st;
	unsigned n = 0;
	for (;;) {
		snprintf(p, sizeof p, "%s.%u", path, n + 1);
		if (stat(p, &st))
			return n;
		n++;
	}
}

/* Under the writer's lock, so a recorder still writing the log cannot have it moved away. The file is
 * renamed, never rewritten: every readable byte stays where `evring replay` finds it. */
int evr_log_set_aside(const char *path, char *aside, size_t aside_len, char *err, size_t err_len)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(err, err_len, -errno, "cannot open %s: %s", path);
	int rc = lock_log(fd, path, err, err_len);
	if (!rc) {
		snprintf(aside, aside_len, "%s.%u", path, evr_log_last_rotation(path) + 1);
		if (rename(path, aside))
			rc = fail(err, err_len, -errno, "cannot move %s aside: %s", path);
	}
	close(fd);
	return rc;
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
