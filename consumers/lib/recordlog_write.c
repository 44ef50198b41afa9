#define _GNU_SOURCE /* F_OFD_SETLK */
/* Record log writer (format in recordlog.h). It appends whole blocks with one write() each and never
 * rewrites anything except cutting off a torn tail on open; it holds the log's lock for its life and
 * refuses a damaged log, which evr_log_set_aside moves away untouched. */
#include <errno.h>
#include <fcntl.h>
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "recordlog_internal.h"
#include <evring/platform.h>

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

static void count_block(const struct evr_log_block *b, void *arg)
{
	(void)b;
	++*(uint64_t *)arg;
}

/* Blocks that still verify from r's position on, reading around damage. */
static uint64_t count_readable(struct evr_log_reader *r)
{
	char why[256];
	uint64_t n = 0;
	evr_log_each(r, count_block, NULL, &n, why, sizeof why);
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
	if (r.schema_damaged) { /* its blocks verify, but a recorder never appends to a damaged log */
		snprintf(err, err_len, "%s: its schema section is damaged; nothing was written to it", path);
		evr_log_reader_close(&r);
		return -EBADMSG;
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

/* The schema section of a new log: its header, then the description padded to 8 bytes. */
static int write_schema(int fd, const struct evr_desc_header *d, uint64_t *size)
{
	struct evr_log_schema_header sh = {EVR_LOG_SCHEMA_MAGIC, d->size, evr_log_crc(0, d, d->size), 0};
	static const unsigned char pad[8];
	size_t padded = (d->size + 7u) & ~7u;
	if (pwrite(fd, &sh, sizeof sh, (off_t)*size) != (ssize_t)sizeof sh ||
	    pwrite(fd, d, d->size, (off_t)(*size + sizeof sh)) != (ssize_t)d->size ||
	    (padded > d->size &&
	     pwrite(fd, pad, padded - d->size, (off_t)(*size + sizeof sh + d->size)) != (ssize_t)(padded - d->size)))
		return -1;
	*size += sizeof sh + padded;
	return 0;
}

int evr_log_writer_open(const char *path, const struct evr_ring_info *info, const struct evr_desc_header *schema,
			enum evr_fsync_policy policy,
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
		h->crc = evr_log_crc(0, h, offsetof(struct evr_log_header, crc));
		w->size = sizeof *h;
		if (pwrite(fd, h, sizeof *h, 0) != (ssize_t)sizeof *h ||
		    write_schema(fd, schema ? schema : evr_platform_desc(), &w->size) || fsync(fd))
			rc = fail(err, err_len, -errno, "cannot write the header of %s: %s", path);
	}
	w->cap = evr_log_block_bytes(&w->hdr, EVR_LOG_MAX_BLOCK_RECORDS);
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
	w->last_sync_ns = evr_mono_ns();
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
	size_t total = evr_log_block_bytes(&w->hdr, w->count);
	h.body_bytes = (uint32_t)(total - sizeof h);
	unsigned char *cursor = w->buf + sizeof h + (size_t)w->count * EVR_RECORD_SIZE;
	memcpy(cursor, cur->pos, w->hdr.lanes * 8u);
	h.crc = evr_log_crc(evr_log_crc(0, &h, offsetof(struct evr_log_block_header, crc)), w->buf + sizeof h, h.body_bytes);
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
	uint64_t now = evr_mono_ns();
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
