/* Record logs: byte-identical round trip, a writer SIGKILLed mid-block loses nothing that was
 * completed, a flipped byte is caught by the checksum and costs only its block (readers resync on
 * the next good one), a second writer is refused, and a reopened log resumes at its cursor. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "recordlog.h"
#include "test_util.h"
#include <evring/platform.h>

static char log_path[128];
static struct evr_test_ring fx;
static struct evr_ring *ring, *ro; /* fx's, by their short names */
static struct evr_producer *prod;

static void setup(void)
{
	cr_assert_eq(evr_test_ring_open(&fx, "log", 2, 4096, "log-test"), 0);
	ring = fx.ring, ro = fx.ro, prod = fx.prod;
	snprintf(log_path, sizeof log_path, "/tmp/evrt-log-%d.log", (int)getpid());
	unlink(log_path);
}

static void teardown(void)
{
	evr_test_ring_close(&fx);
	unlink(log_path);
}

static void emit_n(unsigned n, unsigned tag)
{
	for (unsigned i = 0; i < n; i++) {
		struct evr_record r;
		evr_record_init(&r, (enum evr_type)(i % EVR_EVENT_COUNT), tag, i);
		evr_record_set_details(&r, "round trip");
		cr_assert_eq(evr_emit(prod, &r), 0);
	}
}

static struct evr_log_writer *open_writer(struct evr_cursor *resume)
{
	struct evr_ring_info info;
	evr_ring_get_info(ro, &info);
	struct evr_log_writer *w;
	char err[512];
	cr_assert_eq(evr_log_writer_open(log_path, &info, NULL, EVR_FSYNC_NEVER, &w, resume, err, sizeof err), 0, "%s", err);
	return w;
}

/* Consume everything into the log in blocks of `block` records; keeps a copy of each record. */
static unsigned record_all(struct evr_log_writer *w, struct evr_consumer *c, unsigned block, struct evr_record *copy,
			   unsigned max)
{
	struct evr_item it;
	struct evr_cursor cur;
	evr_consumer_cursor(c, &cur);
	unsigned n = 0;
	while (evr_consumer_poll(c, &it) > 0) {
		cr_assert_eq(it.kind, EVR_ITEM_RECORD);
		cur.pos[it.lane] = it.pos + 1;
		if (n < max)
			copy[n] = it.rec;
		n++;
		evr_log_append(w, &it.rec);
		if (n % block == 0)
			cr_assert_eq(evr_log_flush(w, &cur), 0);
	}
	cr_assert_eq(evr_log_flush(w, &cur), 0);
	return n;
}

TestSuite(recordlog, .init = setup, .fini = teardown);

Test(recordlog, round_trip_is_byte_identical_per_record)
{
	emit_n(1000, 1);
	struct evr_consumer *c;
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	struct evr_cursor resume;
	struct evr_log_writer *w = open_writer(&resume);
	cr_assert_eq(resume.lanes, 0, "a new log has nothing to resume from");
	static struct evr_record copy[1000];
	cr_assert_eq(record_all(w, c, 64, copy, 1000), 1000);
	cr_assert_eq(evr_log_writer_close(w), 0);
	struct evr_log_reader r;
	char err[512];
	cr_assert_eq(evr_log_reader_open(&r, log_path, err, sizeof err), 0, "%s", err);
	struct evr_log_block b;
	unsigned n = 0;
	int rc;
	while ((rc = evr_log_next(&r, &b, err, sizeof err)) == 1)
		for (uint32_t i = 0; i < b.hdr->count; i++, n++)
			cr_assert_eq(memcmp(b.records + (size_t)i * EVR_RECORD_SIZE, &copy[n], EVR_RECORD_SIZE), 0,
				     "record %u differs", n);
	cr_assert_eq(rc, 0, "clean end: %s", err);
	cr_assert_eq(n, 1000);
	cr_assert_eq(r.blocks, 16); /* 15 full blocks of 64 and one of 40 */
	evr_log_reader_close(&r);
	evr_consumer_close(c);
}

#define BLOCK_BYTES (48 + 64 * 128 + 2 * 8) /* 64 records, 2 lanes */
/* the first block: after the 64-byte header and the schema section (16 bytes + the description) */
#define FIRST_BLOCK ((size_t)(64 + 16 + ((evr_platform_desc()->size + 7u) & ~7u)))

static void flip_byte(off_t where)
{
	int fd = open(log_path, O_RDWR);
	unsigned char byte;
	cr_assert_eq(pread(fd, &byte, 1, where), 1);
	byte ^= 0x10;
	cr_assert_eq(pwrite(fd, &byte, 1, where), 1);
	close(fd);
}

/* Reads the whole log with resync; returns the records read (compared with copy[] by correlation
 * and content) and fills *skip with the (single) skip met. */
static unsigned read_around_damage(const struct evr_record *copy, struct evr_log_skip *skip, int *skips)
{
	struct evr_log_reader r;
	char err[512];
	cr_assert_eq(evr_log_reader_open(&r, log_path, err, sizeof err), 0, "%s", err);
	struct evr_log_block b;
	unsigned n = 0;
	int rc;
	*skips = 0;
	for (;;) {
		while ((rc = evr_log_next(&r, &b, err, sizeof err)) == 1)
			for (uint32_t i = 0; i < b.hdr->count; i++, n++) {
				unsigned at = (unsigned)b.hdr->index * 64 + i; /* blocks of 64: where it was */
				cr_assert_eq(memcmp(b.records + (size_t)i * EVR_RECORD_SIZE, &copy[at], EVR_RECORD_SIZE), 0,
					     "record %u differs", at);
			}
		if (rc != -EPROTO)
			break;
		(*skips)++;
		evr_log_resync(&r, skip);
	}
	cr_assert_eq(rc, 0, "clean end: %s", err);
	evr_log_reader_close(&r);
	return n;
}

static void record_256(struct evr_record *copy)
{
	emit_n(256, 2);
	struct evr_consumer *c;
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	struct evr_cursor resume;
	struct evr_log_writer *w = open_writer(&resume);
	cr_assert_eq(record_all(w, c, 64, copy, 256), 256);
	evr_log_writer_close(w);
	evr_consumer_close(c);
}

/* Issue 13: one flipped byte in block 6 of 360 made 8.7k of 10.3k records unreadable. Now it costs
 * the records of that block only, and the reader says which bytes it skipped. */
Test(recordlog, a_flipped_byte_costs_only_its_block_and_the_skip_is_reported)
{
	static struct evr_record copy[256];
	record_256(copy);
	flip_byte(FIRST_BLOCK + 2 * BLOCK_BYTES + 1000); /* inside the third block's records */
	struct evr_log_reader r;
	char err[512];
	cr_assert_eq(evr_log_reader_open(&r, log_path, err, sizeof err), 0);
	struct evr_log_block b;
	cr_assert_eq(evr_log_next(&r, &b, err, sizeof err), 1);
	cr_assert_eq(evr_log_next(&r, &b, err, sizeof err), 1);
	cr_assert_eq(evr_log_next(&r, &b, err, sizeof err), -EPROTO);
	char want[64];
	snprintf(want, sizeof want, "block 2 at byte %zu fails its checksum", FIRST_BLOCK + 2 * BLOCK_BYTES);
	cr_assert(strstr(err, want), "message: %s", err);
	evr_log_reader_close(&r);
	struct evr_log_skip skip;
	int skips;
	cr_assert_eq(read_around_damage(copy, &skip, &skips), 192, "blocks 0, 1 and 3 are read");
	cr_assert_eq(skips, 1);
	cr_assert_eq(skip.from, FIRST_BLOCK + 2 * BLOCK_BYTES);
	cr_assert_eq(skip.to, FIRST_BLOCK + 3 * BLOCK_BYTES, "the skip ends where block 3 starts");
	cr_assert_eq(skip.first_block, 2);
	cr_assert_eq(skip.blocks, 1);
	cr_assert_not(skip.to_end);
}

Test(recordlog, a_damaged_block_header_is_skipped_too)
{
	static struct evr_record copy[256];
	record_256(copy);
	flip_byte(FIRST_BLOCK + 1 * BLOCK_BYTES + 0); /* block 1's magic */
	struct evr_log_skip skip;
	int skips;
	cr_assert_eq(read_around_damage(copy, &skip, &skips), 192);
	cr_assert_eq(skip.first_block, 1);
	cr_assert_eq(skip.blocks, 1);
	cr_assert_eq(skip.to, FIRST_BLOCK + 2 * BLOCK_BYTES);
}

Test(recordlog, damage_in_the_last_block_skips_to_the_end)
{
	static struct evr_record copy[256];
	record_256(copy);
	flip_byte(FIRST_BLOCK + 3 * BLOCK_BYTES + 100);
	struct evr_log_skip skip;
	int skips;
	cr_assert_eq(read_around_damage(copy, &skip, &skips), 192);
	cr_assert(skip.to_end);
	cr_assert_eq(skip.from, FIRST_BLOCK + 3 * BLOCK_BYTES);
	cr_assert_eq(skip.to, FIRST_BLOCK + 4 * BLOCK_BYTES);
}

/* The log carries the ring's description; a damaged description costs no block either. */
Test(recordlog, the_log_carries_the_schema_and_a_damaged_one_costs_no_block)
{
	static struct evr_record copy[256];
	record_256(copy);
	struct evr_log_reader r;
	char err[512];
	cr_assert_eq(evr_log_reader_open(&r, log_path, err, sizeof err), 0, "%s", err);
	cr_assert_not_null(r.schema);
	cr_assert_eq(r.schema->size, evr_platform_desc()->size);
	cr_assert_eq(memcmp(r.schema, evr_platform_desc(), r.schema->size), 0, "the ring's description, as stored");
	evr_log_reader_close(&r);

	flip_byte(64 + 16 + 100); /* inside the description: its CRC fails */
	cr_assert_eq(evr_log_reader_open(&r, log_path, err, sizeof err), 0, "%s", err);
	cr_assert(r.schema_damaged);
	cr_assert_null(r.schema);
	cr_assert_eq(evr_log_reader_schema(&r), evr_platform_desc(), "decode with the platform's table");
	struct evr_log_block b;
	unsigned n = 0;
	while (evr_log_next(&r, &b, err, sizeof err) == 1)
		n += b.hdr->count;
	cr_assert_eq(n, 256, "every block is read");
	evr_log_reader_close(&r);
	struct evr_ring_info info;
	evr_ring_get_info(fx.ro, &info);
	struct evr_log_writer *w;
	struct evr_cursor resume;
	cr_assert_eq(evr_log_writer_open(log_path, &info, NULL, EVR_FSYNC_NEVER, &w, &resume, err, sizeof err), -EBADMSG,
		     "a recorder never appends to it");
	cr_assert(strstr(err, "schema section is damaged"), "%s", err);
}

/* A flipped byte in the 64-byte header used to make the whole log unreadable. The blocks do not
 * need the header's ring id or schema, only the lane count, which each block's sizes give. */
Test(recordlog, a_damaged_header_costs_no_block)
{
	static struct evr_record copy[256];
	record_256(copy);
	for (int where = 0; where < 64; where += 21) { /* the magic, a field, the CRC */
		flip_byte(where);
		struct evr_log_reader r;
		char err[512];
		cr_assert_eq(evr_log_reader_open(&r, log_path, err, sizeof err), -EPROTO, "strict open refuses");
		cr_assert_eq(evr_log_reader_open_salvage(&r, log_path, err, sizeof err), 1, "%s", err);
		cr_assert(strstr(err, "the log header is damaged"), "message: %s", err);
		char implies[80];
		snprintf(implies, sizeof implies, "lane count 2, as the block at byte %zu implies", FIRST_BLOCK);
		cr_assert(strstr(err, implies), "message: %s", err);
		cr_assert(r.header_damaged);
		struct evr_log_block b;
		unsigned n = 0;
		int rc;
		while ((rc = evr_log_next(&r, &b, err, sizeof err)) == 1)
			for (uint32_t i = 0; i < b.hdr->count; i++, n++)
				cr_assert_eq(memcmp(b.records + (size_t)i * EVR_RECORD_SIZE, &copy[n], EVR_RECORD_SIZE), 0);
		cr_assert_eq(rc, 0, "%s", err);
		cr_assert_eq(n, 256, "every record of every block");
		evr_log_reader_close(&r);
		struct evr_ring_info info;
		evr_ring_get_info(ro, &info);
		struct evr_log_writer *w;
		struct evr_cursor resume;
		cr_assert_eq(evr_log_writer_open(log_path, &info, NULL, EVR_FSYNC_NEVER, &w, &resume, err, sizeof err),
			     -EBADMSG, "a recorder does not append to it either");
		cr_assert(strstr(err, "4 readable blocks; nothing was written"), "message: %s", err);
		flip_byte(where); /* mend it for the next round */
	}
	struct evr_log_reader r;
	char err[512];
	unsigned char junk[4096];
	memset(junk, 'x', sizeof junk);
	cr_assert_eq(evr_log_reader_salvage(&r, junk, sizeof junk, err, sizeof err), -EPROTO, "not a log: no salvage");
	cr_assert(strstr(err, "not an evring record log"), "message: %s", err);
}

/* A writer never appends after damage; set aside moves the file, byte for byte, and a new one starts. */
Test(recordlog, a_damaged_log_is_refused_then_set_aside_unchanged)
{
	static struct evr_record copy[256];
	record_256(copy);
	flip_byte(FIRST_BLOCK + 2 * BLOCK_BYTES + 1000);
	struct stat before, after;
	cr_assert_eq(stat(log_path, &before), 0);
	struct evr_ring_info info;
	evr_ring_get_info(ro, &info);
	struct evr_log_writer *w;
	struct evr_cursor resume;
	char err[512], aside[256], want[256];
	cr_assert_eq(evr_log_writer_open(log_path, &info, NULL, EVR_FSYNC_NEVER, &w, &resume, err, sizeof err), -EBADMSG,
		     "a recorder refuses to append after damage");
	cr_assert(strstr(err, "fails its checksum, and 1 readable block follows it; nothing was written"),
		  "message: %s", err);
	cr_assert_eq(stat(log_path, &after), 0);
	cr_assert_eq(after.st_size, before.st_size, "nothing cut, nothing appended");
	cr_assert_eq(evr_log_set_aside(log_path, aside, sizeof aside, err, sizeof err), 0, "%s", err);
	snprintf(want, sizeof want, "%s.1", log_path);
	cr_assert_str_eq(aside, want);
	cr_assert_eq(stat(aside, &after), 0);
	cr_assert_eq(after.st_size, before.st_size);
	cr_assert_eq(after.st_ino, before.st_ino, "moved, not copied");
	w = open_writer(&resume);
	cr_assert_eq(resume.lanes, 0, "a new log");
	evr_log_writer_close(w);
	unlink(aside);
}

/* Issue 13: two `evring record` on one log both exited 0 and left it corrupt. */
Test(recordlog, a_second_writer_is_refused_and_told_who_holds_the_log, .timeout = 30)
{
	struct evr_cursor resume;
	struct evr_log_writer *w = open_writer(&resume);
	evr_log_writer_close(w);
	int ready[2], done[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(done), 0);
	pid_t pid = fork();
	if (pid == 0) { /* holds a writer until the parent has tried */
		struct evr_log_writer *cw = open_writer(&resume);
		char c = 1;
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(2);
		evr_log_writer_close(cw);
		_exit(0);
	}
	char c;
	cr_assert_eq(read(ready[0], &c, 1), 1);
	struct evr_ring_info info;
	evr_ring_get_info(ro, &info);
	char err[512], want[128];
	cr_assert_eq(evr_log_writer_open(log_path, &info, NULL, EVR_FSYNC_NEVER, &w, &resume, err, sizeof err), -EBUSY);
	snprintf(want, sizeof want, "is being written by another recorder (pid %d)", (int)pid);
	cr_assert(strstr(err, want), "message: %s", err);
	char aside[256];
	cr_assert_eq(evr_log_set_aside(log_path, aside, sizeof aside, err, sizeof err), -EBUSY,
		     "a log being written is never moved");
	cr_assert_eq(write(done[1], &c, 1), 1);
	int st = evr_test_reap(pid, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	w = open_writer(&resume); /* the lock went with the first writer */
	/* the same process cannot hold two writers either: the lock belongs to the open file */
	struct evr_log_writer *w2;
	cr_assert_eq(evr_log_writer_open(log_path, &info, NULL, EVR_FSYNC_NEVER, &w2, &resume, err, sizeof err), -EBUSY);
	evr_log_writer_close(w);
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
}

Test(recordlog, sigkill_mid_write_keeps_every_completed_block, .timeout = 60)
{
	struct evr_cursor resume;
	struct evr_log_writer *w = open_writer(&resume);
	evr_log_writer_close(w); /* the header exists; the child appends */
	int pipefd[2];
	cr_assert_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	if (pid == 0) { /* writes blocks for ever, reporting each completed one */
		struct evr_log_writer *cw = open_writer(&resume);
		struct evr_cursor cur = { .lanes = 2 };
		struct evr_record rec;
		for (uint64_t n = 0;; n++) {
			evr_record_init(&rec, EVR_TOOL_INVOKED, n, n);
			evr_log_append(cw, &rec);
			cur.pos[0] = n + 1;
			if (n % 100 == 99) {
				if (evr_log_flush(cw, &cur))
					_exit(2);
				uint64_t blocks = (n + 1) / 100;
				if (write(pipefd[1], &blocks, sizeof blocks) != sizeof blocks)
					_exit(3);
			}
		}
	}
	close(pipefd[1]);
	uint64_t completed = 0, v;
	while (completed < 500 && read(pipefd[0], &v, sizeof v) == sizeof v)
		completed = v;
	evr_test_reap(pid, SIGKILL);
	while (read(pipefd[0], &v, sizeof v) == sizeof v) /* reports written before the kill */
		completed = v;
	close(pipefd[0]);
	struct evr_log_reader r;
	char err[512];
	cr_assert_eq(evr_log_reader_open(&r, log_path, err, sizeof err), 0);
	struct evr_log_block b;
	int rc;
	uint64_t records = 0;
	while ((rc = evr_log_next(&r, &b, err, sizeof err)) == 1) {
		for (uint32_t i = 0; i < b.hdr->count; i++, records++) {
			struct evr_record rec;
			memcpy(&rec, b.records + (size_t)i * EVR_RECORD_SIZE, sizeof rec);
			cr_assert_eq(rec.correlation_id, records, "records in order, none missing");
		}
	}
	cr_assert(rc == 0 || rc == -ENODATA, "only a torn tail, never corruption: %s", err);
	cr_assert_geq(r.blocks, completed, "%llu blocks read, %llu were completed before the kill",
		      (unsigned long long)r.blocks, (unsigned long long)completed);
	evr_log_reader_close(&r);
	/* reopening cuts the torn tail and resumes at the last complete block's cursor */
	w = open_writer(&resume);
	cr_assert_eq(resume.lanes, 2);
	cr_assert_eq(resume.pos[0], records);
	evr_log_writer_close(w);
	struct stat st;
	stat(log_path, &st);
	cr_assert_eq((size_t)st.st_size, FIRST_BLOCK + (size_t)(records / 100) * (48 + 100 * 128 + 16), "torn tail cut off");
}

Test(recordlog, a_log_of_another_ring_is_refused)
{
	struct evr_cursor resume;
	struct evr_log_writer *w = open_writer(&resume);
	evr_log_writer_close(w);
	struct evr_ring_info info;
	evr_ring_get_info(ro, &info);
	info.ring_id ^= 1;
	char err[512];
	cr_assert_eq(evr_log_writer_open(log_path, &info, NULL, EVR_FSYNC_NEVER, &w, &resume, err, sizeof err), -EEXIST);
	cr_assert(strstr(err, "another ring"), "message: %s", err);
}

Test(recordlog, garbage_and_short_files_are_not_logs)
{
	struct evr_log_reader r;
	char err[512];
	unsigned char junk[100] = "EVRLOG1";
	cr_assert_eq(evr_log_reader_init(&r, junk, 10, err, sizeof err), -EPROTO);
	cr_assert_eq(evr_log_reader_init(&r, junk, sizeof junk, err, sizeof err), -EPROTO);
	cr_assert(strstr(err, "checksum"), "message: %s", err);
	cr_assert_eq(evr_log_reader_open(&r, "/nonexistent/evr.log", err, sizeof err), -ENOENT);
}
