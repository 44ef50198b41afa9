/* Record logs: byte-identical round trip, a writer SIGKILLed mid-block loses nothing that was
 * completed, a flipped byte is caught by the checksum, and a reopened log resumes at its cursor. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "recordlog.h"
#include "test_util.h"

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
	cr_assert_eq(evr_log_writer_open(log_path, &info, EVR_FSYNC_NEVER, &w, resume, err, sizeof err), 0, "%s", err);
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

Test(recordlog, a_flipped_byte_is_detected_and_earlier_blocks_stay_readable)
{
	emit_n(256, 2);
	struct evr_consumer *c;
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	struct evr_cursor resume;
	struct evr_log_writer *w = open_writer(&resume);
	static struct evr_record copy[256];
	record_all(w, c, 64, copy, 256);
	evr_log_writer_close(w);
	size_t block = 48 + 64 * 128 + 2 * 8;
	int fd = open(log_path, O_RDWR);
	unsigned char byte;
	off_t where = (off_t)(64 + 2 * block + 1000); /* inside the third block's records */
	cr_assert_eq(pread(fd, &byte, 1, where), 1);
	byte ^= 0x10;
	cr_assert_eq(pwrite(fd, &byte, 1, where), 1);
	close(fd);
	struct evr_log_reader r;
	char err[512];
	cr_assert_eq(evr_log_reader_open(&r, log_path, err, sizeof err), 0);
	struct evr_log_block b;
	cr_assert_eq(evr_log_next(&r, &b, err, sizeof err), 1);
	cr_assert_eq(evr_log_next(&r, &b, err, sizeof err), 1);
	cr_assert_eq(evr_log_next(&r, &b, err, sizeof err), -EPROTO);
	cr_assert(strstr(err, "checksum"), "message: %s", err);
	evr_log_reader_close(&r);
	struct evr_ring_info info;
	evr_ring_get_info(ro, &info);
	char werr[512];
	cr_assert_eq(evr_log_writer_open(log_path, &info, EVR_FSYNC_NEVER, &w, &resume, werr, sizeof werr), -EPROTO,
		     "a recorder refuses to append after corruption");
	evr_consumer_close(c);
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
	cr_assert_eq((size_t)st.st_size, 64 + (size_t)(records / 100) * (48 + 100 * 128 + 16), "torn tail cut off");
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
	cr_assert_eq(evr_log_writer_open(log_path, &info, EVR_FSYNC_NEVER, &w, &resume, err, sizeof err), -EEXIST);
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
