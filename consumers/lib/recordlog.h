/* Record logs: the durable, append-only file format of `evring record` and `evring replay`.
 *
 *   file   = header (64 B) schema (version 2 only) block*
 *   header = "EVRLOG1\0", version u32, record_size u32, schema_hash u64, schema_version u32,
 *            lanes u32, ring_id u64, created_ns u64, reserved, crc32 of the 60 bytes before it
 *   schema = "EVRD" u32, size u32, crc32 u32 (of the description), reserved u32, then the ring's
 *            schema description (evring/describe.h), zero-padded to a multiple of 8 bytes: a log
 *            decodes with the table it was recorded with, whatever table its reader was built with.
 *            Version 1 logs (before it) have none and decode with the platform's table.
 *   block  = block header (48 B), count records of record_size bytes, the cursor after the block
 *            (lanes x u64 lane positions)
 *   block header = "EVRB" u32, count u32, index u64 (0, 1, 2... in the file), lost_lapped u64,
 *            lost_abandoned u64, body_bytes u32, crc32 u32 (of the block header's first 40 bytes
 *            and the body)
 *
 * Every block carries the consumer cursor that follows its last record, so a recorder that
 * restarts resumes from the last complete block with no duplicate and no gap (beyond what the
 * ring itself lapped meanwhile, which the next block counts). A block either verifies completely
 * or none of it is used: a crash mid-write loses at most the block being written, and a damaged
 * block costs only itself, because a reader resynchronises on the next block that verifies
 * (evr_log_resync: magic, plausible header, CRC, later index) and says which bytes it skipped. A
 * damaged file header costs no block either (evr_log_reader_salvage: the lane count is all a block
 * needs, and its own sizes give it).
 * One writer per file: the writer holds an OFD lock on it (a second one gets -EBUSY).
 * All integers are little-endian (the machines this runs on); the layout is pinned below.
 */
#ifndef EVR_RECORDLOG_H
#define EVR_RECORDLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <evring/consumer.h>
#include <evring/describe.h>
#include <evring/platform.h>

#define EVR_LOG_MAGIC "EVRLOG1"
#define EVR_LOG_VERSION 2u
#define EVR_LOG_SCHEMA_MAGIC 0x44525645u /* "EVRD" */
#define EVR_LOG_BLOCK_MAGIC 0x42525645u /* "EVRB" */
#define EVR_LOG_MAX_BLOCK_RECORDS 4096u

struct evr_log_header {
	char magic[8];
	uint32_t version, record_size;
	uint64_t schema_hash;
	uint32_t schema_version, lanes;
	uint64_t ring_id, created_ns;
	uint32_t reserved[3];
	uint32_t crc;
};
_Static_assert(sizeof(struct evr_log_header) == 64, "log header is 64 bytes");

struct evr_log_schema_header {
	uint32_t magic, size, crc, reserved;
};
_Static_assert(sizeof(struct evr_log_schema_header) == 16, "schema section header is 16 bytes");

struct evr_log_block_header {
	uint32_t magic, count;
	uint64_t index, lost_lapped, lost_abandoned;
	uint32_t body_bytes, reserved;
	uint32_t crc, reserved2;
};
_Static_assert(sizeof(struct evr_log_block_header) == 48, "block header is 48 bytes");

enum evr_fsync_policy { EVR_FSYNC_NEVER, EVR_FSYNC_INTERVAL, EVR_FSYNC_EVERY };

/* ---- writing ---- */
struct evr_log_writer;

/* Open (or create) a log for the ring described by `info` and `schema` (its evr_ring_schema; NULL:
 * the platform's table), and lock it for as long as it is open:
 * -EBUSY when another writer holds it (err names its pid when it can). An existing file must have
 * the same ring id, schema and layout (-EEXIST); a torn last block is cut off. -EBADMSG: an evring
 * log with a damaged block or header (or of another format version), nothing written: see
 * evr_log_set_aside. -EPROTO: not an evring log at all (never to be moved aside). *resume gets the cursor stored in
 * the last complete block (resume->lanes == 0 when the file has no block yet). err gets a sentence. */
int evr_log_writer_open(const char *path, const struct evr_ring_info *info, const struct evr_desc_header *schema,
			enum evr_fsync_policy policy,
			struct evr_log_writer **out, struct evr_cursor *resume, char *err, size_t err_len);
/* Buffer one record; the block is written by evr_log_flush (or when it is full: returns 1 then, and
 * the caller must flush with the cursor that follows this record). */
int evr_log_append(struct evr_log_writer *w, const struct evr_record *rec);
void evr_log_note_loss(struct evr_log_writer *w, uint64_t lapped, uint64_t abandoned);
/* Write the buffered block (if it holds records or losses) ending at `cur`, fsync per policy. */
int evr_log_flush(struct evr_log_writer *w, const struct evr_cursor *cur);
uint64_t evr_log_size(const struct evr_log_writer *w);
/* Flush nothing; fsync and close. */
int evr_log_writer_close(struct evr_log_writer *w);
/* Rotation names: PATH.1, PATH.2, ... in the order written; the highest existing index, 0 if none. */
unsigned evr_log_last_rotation(const char *path);
/* Move a damaged log out of the way, untouched, to the next rotation name (written to `aside`), so
 * a writer can start a new PATH; -EBUSY (err says so) while a writer holds it. */
int evr_log_set_aside(const char *path, char *aside, size_t aside_len, char *err, size_t err_len);

/* ---- reading ---- */
struct evr_log_reader {
	const unsigned char *data;
	size_t len, off;
	struct evr_log_header hdr;
	uint64_t blocks;
	void *map; /* when opened from a file */
	size_t map_len;
	bool header_damaged; /* salvaged: hdr holds only the layout; ring id and schema are unknown */
	/* the log's own description (validated, a private copy), or NULL: a version 1 log, or a schema
	 * section that is damaged (then decode with the platform's table; evr_log_reader_schema) */
	struct evr_desc_header *schema;
	bool schema_damaged; /* a version 2 log whose schema section fails its checks: skipped */
};

/* What to decode the log's records with: its own description, else the platform's table's. */
static inline const struct evr_desc_header *evr_log_reader_schema(const struct evr_log_reader *r)
{
	return r->schema ? r->schema : evr_platform_desc();
}

struct evr_log_block {
	const struct evr_log_block_header *hdr;
	const unsigned char *records; /* hdr->count records of hdr.record_size bytes */
	const uint64_t *cursor;      /* lanes positions (unaligned-safe: copy with memcpy) */
};

/* 0, or -EPROTO with a sentence in err (not a log, another version, bad header checksum). */
int evr_log_reader_init(struct evr_log_reader *r, const void *data, size_t len, char *err, size_t err_len);
int evr_log_reader_open(struct evr_log_reader *r, const char *path, char *err, size_t err_len);
/* The same, but a header that fails its magic or checksum is not the end: 1 when the blocks can still
 * be read (the lane count is inferred from the first block that verifies; r->header_damaged is set
 * and err says so), 0 for a whole header, -EPROTO when nothing verifies. */
int evr_log_reader_salvage(struct evr_log_reader *r, const void *data, size_t len, char *err, size_t err_len);
int evr_log_reader_open_salvage(struct evr_log_reader *r, const char *path, char *err, size_t err_len);
void evr_log_reader_close(struct evr_log_reader *r);
/* 1: *b is the next verified block; 0: clean end of the log; -ENODATA: the log ends inside a block
 * (a crash mid-write: everything before it is good); -EPROTO: a block fails its checksum or its
 * header is impossible (corruption; evr_log_resync reads on). err says where, in both cases. */
int evr_log_next(struct evr_log_reader *r, struct evr_log_block *b, char *err, size_t err_len);

/* What a resync skipped: bytes [from, to) of the file, which held blocks first_block ..
 * first_block + blocks - 1 (when to_end, the skip ran to the end of the file and the number of
 * blocks lost is unknown: at least one). */
struct evr_log_skip {
	uint64_t from, to, first_block, blocks;
	bool to_end;
};
/* After evr_log_next returned -EPROTO: move to the next block that verifies and has a later index.
 * 1: found (the next evr_log_next returns it); 0: nothing verifies up to the end of the file. */
int evr_log_resync(struct evr_log_reader *r, struct evr_log_skip *skip);

/* Every block from r's position on that verifies, reading around damage (the one loop of replay,
 * record's resume and the writer's damage check): on_block for each, on_skip (may be NULL) for each
 * stretch evr_log_resync skipped, with the reason the block before it failed. Returns what ended
 * the walk: 0 (end of file, also after a skip to the end) or a negative errno of evr_log_next
 * (-ENODATA: the file ends inside a block; err says where). */
int evr_log_each(struct evr_log_reader *r, void (*on_block)(const struct evr_log_block *b, void *arg),
		 void (*on_skip)(const struct evr_log_skip *skip, const char *why, void *arg), void *arg, char *err,
		 size_t err_len);

#endif
