/* Segment: names, options, create/open validation, permissions, hostile headers, truncation. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "layout.h"
#include "ring_internal.h"
#include "test_util.h"
#include <evring/platform.h>

static char name[64];
static struct evr_ring *ring;

static void small_opts(struct evr_ring_opts *o)
{
	evr_platform_opts(o);
	o->lanes = 1;
	o->slots_per_lane = 16;
}

static void setup(void)
{
	struct evr_ring_opts o;
	small_opts(&o);
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, "seg"), &o, &ring, NULL), 0);
}

static void teardown(void)
{
	evr_ring_close(ring);
	evr_ring_unlink(name, NULL);
}

/* Rewrite a header field through a separate read-write mapping, as a hostile neighbour would. */
static struct evr_shm_header *map_header_rw(void)
{
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	void *p = mmap(NULL, EVR_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(p, MAP_FAILED);
	return p;
}

static void expect_open_fails(int code, const char *msg_part1, const char *msg_part2)
{
	struct evr_ring *r = NULL;
	struct evr_err err = {0};
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &r, &err), code, "open gave: %s", err.msg);
	cr_assert(strstr(err.msg, msg_part1), "'%s' in '%s'", msg_part1, err.msg);
	if (msg_part2)
		cr_assert(strstr(err.msg, msg_part2), "'%s' in '%s'", msg_part2, err.msg);
}

Test(segment, invalid_names_are_refused_with_a_reason)
{
	static const char *bad[] = {"", "/", "a/b", "/a/b", "ring~wake", "sp ace", "..", "/.", "tab\t"};
	struct evr_err err;
	struct evr_ring *r;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(evr_ring_create(bad[i], NULL, &r, &err), -EINVAL, "name '%s'", bad[i]);
		cr_assert_gt(strlen(err.msg), 0);
	}
	char longname[EVR_NAME_MAX + 10];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	cr_assert_eq(evr_ring_create(longname, NULL, &r, &err), -ENAMETOOLONG);
	char norm[EVR_NAME_MAX + 1];
	cr_assert_eq(evr_name_normalize("plain", norm, NULL), 0);
	cr_assert_str_eq(norm, "/plain");
}

Test(segment, zero_and_non_power_of_two_sizes_are_refused)
{
	struct {
		uint32_t lanes, slots, rsize, prods;
		mode_t mode;
	} bad[] = {
		{3, 16, 128, 8, 0600},    {1, 0, 128, 8, 0600},   {1, 24, 128, 8, 0600},  {1, 1, 128, 8, 0600},
		{1, 16, 0, 8, 0600},      {1, 16, 192, 8, 0600},  {1, 16, 64, 8, 0600},   {1, 16, 8192, 8, 0600},
		{1, 16, 128, 0, 0600},    {1, 16, 128, 5000, 0600}, {512, 16, 128, 8, 0600}, {1, 16, 128, 8, 04600},
		{1, 16, 128, 8, 0400},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct evr_ring_opts o;
		struct evr_err err;
		struct evr_ring *r;
		char n[64];
		evr_platform_opts(&o);
		o.lanes = bad[i].lanes;
		o.slots_per_lane = bad[i].slots;
		o.record_size = bad[i].rsize;
		o.max_producers = bad[i].prods;
		o.mode = bad[i].mode;
		cr_assert_eq(evr_ring_create(evr_test_name(n, sizeof n, "bad"), &o, &r, &err), -EINVAL, "case %zu", i);
		cr_assert_gt(strlen(err.msg), 0);
		cr_assert_eq(shm_unlink(n), -1, "nothing left behind for case %zu", i);
	}
}

Test(segment, existing_name_is_refused_and_its_data_kept, .init = setup, .fini = teardown)
{
	struct evr_producer *p;
	struct evr_record rec;
	cr_assert_eq(evr_producer_open(ring, "keeper", &p, NULL), 0);
	evr_record_init(&rec, EVR_PLAN_CREATED, 1, 1);
	cr_assert_eq(evr_emit(p, &rec), 0);

	struct evr_err err;
	struct evr_ring *again;
	cr_assert_eq(evr_ring_create(name, evr_test_opts(), &again, &err), -EEXIST);
	cr_assert(strstr(err.msg, "already exists"), "%s", err.msg);

	struct evr_ring *ro;
	struct evr_consumer *c;
	struct evr_item it;
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &ro, NULL), 0);
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	cr_assert_eq(it.kind, EVR_ITEM_RECORD);
	cr_assert_eq(it.rec.type, EVR_PLAN_CREATED);
	evr_consumer_close(c);
	evr_ring_close(ro);
	evr_producer_close(p);
}

Test(segment, missing_ring_is_reported_by_name)
{
	struct evr_err err;
	struct evr_ring *r;
	cr_assert_eq(evr_ring_open("/evrt-does-not-exist", EVR_ROLE_CONSUMER, &r, &err), -ENOENT);
	cr_assert(strstr(err.msg, "/evrt-does-not-exist"), "%s", err.msg);
	cr_assert_eq(evr_ring_unlink("/evrt-does-not-exist", &err), -ENOENT);
}

Test(segment, mode_is_0600_by_default_and_settable)
{
	char n[64];
	struct evr_ring *r;
	struct stat st;
	struct evr_ring_opts o;
	small_opts(&o);
	mode_t old = umask(0077); /* the mode must not depend on the umask */
	cr_assert_eq(evr_ring_create(evr_test_name(n, sizeof n, "mode"), &o, &r, NULL), 0);
	int fd = shm_open(n, O_RDONLY, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	close(fd);
	evr_ring_close(r);
	evr_ring_unlink(n, NULL);

	o.mode = 0640;
	cr_assert_eq(evr_ring_create(n, &o, &r, NULL), 0);
	fd = shm_open(n, O_RDONLY, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640);
	close(fd);
	struct evr_ring_info info;
	evr_ring_get_info(r, &info);
	cr_assert_eq(info.mode, 0640);
	evr_ring_close(r);
	evr_ring_unlink(n, NULL);
	umask(old);
}

Test(segment, header_describes_the_layout, .init = setup, .fini = teardown)
{
	struct evr_ring_info i;
	evr_ring_get_info(ring, &i);
	cr_assert_str_eq(i.name, name);
	cr_assert_eq(i.lanes, 1);
	cr_assert_eq(i.slots_per_lane, 16);
	cr_assert_eq(i.record_size, EVR_RECORD_SIZE);
	cr_assert_eq(i.schema_hash, evr_platform_hash());
	cr_assert_eq(i.abi_version, EVR_ABI_VERSION);
	cr_assert_eq(i.creator_pid, getpid());
	cr_assert(i.ts_source == EVR_TS_MONOTONIC || i.ts_source == EVR_TS_TSC);
	uint64_t now = (uint64_t)time(NULL) * 1000000000ull;
	cr_assert(i.created_realtime_ns <= now + 1000000000ull && i.created_realtime_ns + 60000000000ull > now);
	cr_assert_neq(i.ring_id, 0);
}

static void segv_exit_42(int sig)
{
	(void)sig;
	_exit(42);
}

Test(segment, consumer_role_cannot_produce_and_maps_read_only, .init = setup, .fini = teardown)
{
	struct evr_ring *ro;
	struct evr_producer *p;
	struct evr_err err;
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &ro, NULL), 0);
	cr_assert_eq(evr_producer_open(ro, "nope", &p, &err), -EBADF);
	cr_assert_eq(evr_ring_reclaim(ro, NULL), -EBADF);
	/* the mapping itself refuses writes: probe it in a child whose own SIGSEGV handler exits 42
	 * (its own handler, so the result is the same under AddressSanitizer) */
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, segv_exit_42);
		((volatile unsigned char *)ro->base)[EVR_HEADER_SIZE] = 1;
		_exit(0);
	}
	int st = evr_test_reap(pid, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 42, "write through a consumer mapping must fault");
	evr_ring_close(ro);
}

Test(segment, wrong_abi_version_is_refused_naming_both, .init = setup, .fini = teardown)
{
	struct evr_shm_header *h = map_header_rw();
	h->abi_version = 99;
	expect_open_fails(-EPROTO, "ABI version", "99");
	munmap(h, EVR_HEADER_SIZE);
}

Test(segment, wrong_schema_hash_is_refused_naming_both, .init = setup, .fini = teardown)
{
	struct evr_shm_header *h = map_header_rw();
	h->schema_hash ^= 0xdeadbeefull;
	char mine[32];
	snprintf(mine, sizeof mine, "0x%016llx", (unsigned long long)evr_platform_hash());
	expect_open_fails(-EPROTO, "schema", mine);
	munmap(h, EVR_HEADER_SIZE);
}

Test(segment, wrong_magic_is_refused, .init = setup, .fini = teardown)
{
	struct evr_shm_header *h = map_header_rw();
	atomic_store(&h->magic, 0x1234);
	expect_open_fails(-EPROTO, "not an evring ring", NULL);
	atomic_store(&h->magic, 0);
	expect_open_fails(-EPROTO, "never initialised", NULL);
	munmap(h, EVR_HEADER_SIZE);
}

Test(segment, corrupt_layout_fields_are_refused, .init = setup, .fini = teardown)
{
	struct evr_shm_header *h = map_header_rw();
	struct evr_shm_header saved = *h;
	h->slots_per_lane = 17;
	expect_open_fails(-EPROTO, "slots per lane", NULL);
	h->slots_per_lane = saved.slots_per_lane;
	h->lanes_offset += 64;
	expect_open_fails(-EPROTO, "offsets", NULL);
	h->lanes_offset = saved.lanes_offset;
	h->lane_count = 2; /* consistent-looking but larger than the object */
	h->lane_stride = saved.lane_stride;
	expect_open_fails(-EPROTO, "segment size", NULL);
	h->lane_count = saved.lane_count;
	h->exclusive_lanes = EVR_MAX_LANES; /* with the one shared lane: 257 lanes */
	expect_open_fails(-EPROTO, "exclusive lanes", NULL);
	h->exclusive_lanes = 1; /* a lane the object does not have */
	expect_open_fails(-EPROTO, "segment size", NULL);
	h->exclusive_lanes = saved.exclusive_lanes;
	struct evr_ring *r;
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &r, NULL), 0, "restored header opens again");
	evr_ring_close(r);
	munmap(h, EVR_HEADER_SIZE);
}

Test(segment, exclusive_lanes_follow_the_shared_ones_and_are_bounded)
{
	struct evr_ring_opts o;
	small_opts(&o);
	o.lanes = 2;
	o.exclusive_lanes = EVR_MAX_LANES - 1;
	struct evr_err err;
	cr_assert_eq(evr_ring_create(evr_test_name(name, sizeof name, "seg"), &o, &ring, &err), -EINVAL);
	cr_assert(strstr(err.msg, "exclusive lanes"), "%s", err.msg);
	o.exclusive_lanes = 3;
	cr_assert_eq(evr_ring_create(name, &o, &ring, NULL), 0);
	struct evr_ring_info i;
	evr_ring_get_info(ring, &i);
	cr_assert_eq(i.lanes, 5, "every lane a consumer reads");
	cr_assert_eq(i.exclusive_lanes, 3);
	teardown();
}

Test(segment, a_foreign_shm_object_is_refused)
{
	char n[64];
	evr_test_name(n, sizeof n, "foreign");
	int fd = shm_open(n, O_CREAT | O_EXCL | O_RDWR, 0600);
	cr_assert_geq(fd, 0);
	char junk[8192];
	memset(junk, 0xa5, sizeof junk);
	cr_assert_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
	close(fd);
	struct evr_err err;
	struct evr_ring *r;
	cr_assert_eq(evr_ring_open(n, EVR_ROLE_CONSUMER, &r, &err), -EPROTO);
	cr_assert(strstr(err.msg, "not an evring ring"), "%s", err.msg);
	shm_unlink(n);
	fd = shm_open(n, O_CREAT | O_EXCL | O_RDWR, 0600); /* too small to hold a header */
	close(fd);
	cr_assert_eq(evr_ring_open(n, EVR_ROLE_CONSUMER, &r, &err), -EPROTO);
	shm_unlink(n);
}

Test(segment, truncation_under_a_consumer_is_a_clean_error, .init = setup, .fini = teardown)
{
	struct evr_producer *p;
	struct evr_ring *ro;
	struct evr_consumer *c;
	struct evr_item first, it;
	struct evr_record rec;
	cr_assert_eq(evr_producer_open(ring, "trunc", &p, NULL), 0);
	for (int i = 0; i < 4; i++) {
		evr_record_init(&rec, EVR_RESOURCE_ACCESSED, (uint64_t)i, 0);
		cr_assert_eq(evr_emit(p, &rec), 0);
	}
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &ro, NULL), 0);
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	cr_assert_eq(evr_consumer_poll(c, &first), 1);
	struct evr_item kept = first;

	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_eq(ftruncate(fd, EVR_HEADER_SIZE), 0);
	close(fd);
	cr_assert_eq(evr_consumer_poll(c, &it), -EFAULT);
	cr_assert_eq(evr_consumer_poll(c, &it), -EFAULT, "stays failed");
	cr_assert_eq(evr_consumer_wait(c, 1000000), 1, "wait returns so the caller sees the error");
	cr_assert_eq(memcmp(&kept, &first, sizeof kept), 0, "what was delivered is intact");
	cr_assert_eq(first.rec.correlation_id, 0);

	struct evr_ring *again;
	struct evr_err err;
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &again, &err), -EPROTO);
	cr_assert(strstr(err.msg, "truncated") || strstr(err.msg, "segment size"), "%s", err.msg);

	/* the producer survives too: its first write past the end is absorbed and reported, then emits fail */
	evr_record_init(&rec, EVR_RESOURCE_ACCESSED, 99, 0);
	cr_assert_eq(evr_emit(p, &rec), -EFAULT, "the faulting emit says so");
	cr_assert_eq(evr_emit(p, &rec), -EFAULT);
	cr_assert_eq(evr_ring_status(ring), -EFAULT);
	cr_assert_eq(evr_ring_status(ro), -EFAULT);
	evr_consumer_close(c);
	evr_ring_close(ro);
	evr_producer_close(p);
}

/* Issue 13 item 4: an emit that fails for a fault is a drop like any other, counted in the
 * producer's own counters and in its table entry, where `evring info`, stats and metrics read it.
 * Here the lanes are cut off and the header and producer table kept, so the entry stays readable. */
Test(segment, an_emit_that_faults_is_counted_as_dropped_where_info_reads_it, .init = setup, .fini = teardown)
{
	struct evr_producer *p;
	struct evr_record rec;
	cr_assert_eq(evr_producer_open(ring, "faulty", &p, NULL), 0);
	evr_record_init(&rec, EVR_RESOURCE_ACCESSED, 1, 0);
	cr_assert_eq(evr_emit(p, &rec), 0);
	struct evr_ring *other;
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &other, NULL), 0);
	struct evr_ring_info ri;
	evr_ring_get_info(ring, &ri);
	uint64_t lanes_offset = ri.segment_size - ri.lanes * (128 + (uint64_t)ri.slots_per_lane * ri.record_size);
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_eq(ftruncate(fd, (off_t)lanes_offset), 0); /* everything before the lanes stays */
	close(fd);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(evr_emit(p, &rec), -EFAULT);
	uint64_t emitted, dropped;
	evr_producer_counters(p, &emitted, &dropped);
	cr_assert_eq(emitted, 1);
	cr_assert_eq(dropped, 3, "every faulted emit is a counted drop");
	struct evr_producer_info pi;
	cr_assert_eq(evr_ring_producer_info(other, evr_producer_id(p), &pi), 0);
	cr_assert_eq(pi.dropped, 3, "and another process sees it in the table (evring info)");
	cr_assert_eq(pi.emitted, 1);
	evr_ring_close(other);
	evr_producer_close(p);
}

Test(segment, unlink_removes_the_ring_and_its_wake_page, .init = setup)
{
	char wake[96];
	snprintf(wake, sizeof wake, "%s~wake", name);
	int fd = shm_open(wake, O_RDONLY, 0);
	cr_assert_geq(fd, 0, "wake page exists");
	close(fd);
	evr_ring_close(ring);
	cr_assert_eq(evr_ring_unlink(name, NULL), 0);
	cr_assert_lt(shm_open(name, O_RDONLY, 0), 0);
	cr_assert_lt(shm_open(wake, O_RDONLY, 0), 0);
}

Test(segment, a_full_producer_table_is_refused_and_closed_entries_are_reused_last)
{
	char n[64];
	struct evr_ring *r;
	struct evr_ring_opts o;
	struct evr_producer *a, *b, *c;
	struct evr_err err;
	small_opts(&o);
	o.max_producers = 2;
	cr_assert_eq(evr_ring_create(evr_test_name(n, sizeof n, "full"), &o, &r, NULL), 0);
	cr_assert_eq(evr_producer_open(r, "a", &a, NULL), 0);
	cr_assert_eq(evr_producer_open(r, "b", &b, NULL), 0);
	cr_assert_eq(evr_producer_open(r, "c", &c, &err), -ENOSPC);
	cr_assert(strstr(err.msg, "producer entries"), "%s", err.msg);
	struct evr_record rec;
	evr_record_init(&rec, EVR_SESSION_CREATED, 0, 0);
	cr_assert_eq(evr_emit(a, &rec), 0);
	evr_producer_close(a);
	struct evr_producer_info info;
	cr_assert_eq(evr_ring_producer_info(r, 0, &info), 0);
	cr_assert_eq(info.state, EVR_PRODUCER_CLOSED);
	cr_assert_eq(info.emitted, 1, "a closed producer's counters stay visible");
	cr_assert_eq(evr_producer_open(r, "c", &c, NULL), 0, "the closed entry is reused when nothing is free");
	cr_assert_eq(evr_producer_id(c), 0);
	cr_assert_eq(evr_ring_producer_info(r, 0, &info), 0);
	cr_assert_str_eq(info.service, "c");
	cr_assert_eq(info.emitted, 0);
	evr_producer_close(b);
	evr_producer_close(c);
	evr_ring_close(r);
	evr_ring_unlink(n, NULL);
}

Test(segment, larger_record_slots_carry_the_same_records)
{
	char n[64];
	struct evr_ring *r, *ro;
	struct evr_ring_opts o;
	struct evr_producer *p;
	struct evr_consumer *c;
	small_opts(&o);
	o.record_size = 1024;
	o.lanes = 2;
	cr_assert_eq(evr_ring_create(evr_test_name(n, sizeof n, "big"), &o, &r, NULL), 0);
	cr_assert_eq(evr_producer_open(r, "big", &p, NULL), 0);
	for (uint64_t i = 0; i < 40; i++) {
		struct evr_record rec;
		evr_record_init(&rec, EVR_CHECKPOINT_CREATED, i, i * 3);
		EVR_EV(&rec, checkpoint_created)->checkpoint_id = i * 7;
		cr_assert_eq(evr_emit(p, &rec), 0);
	}
	cr_assert_eq(evr_ring_open(n, EVR_ROLE_CONSUMER, &ro, NULL), 0);
	struct evr_ring_info info;
	evr_ring_get_info(ro, &info);
	cr_assert_eq(info.record_size, 1024);
	cr_assert_eq(evr_consumer_open(ro, NULL, &c, NULL), 0);
	struct evr_item it;
	uint64_t got = 0;
	while (evr_consumer_poll(c, &it) == 1) {
		if (it.kind != EVR_ITEM_RECORD)
			continue;
		cr_assert_eq(EVR_EV(&it.rec, checkpoint_created)->checkpoint_id, it.rec.correlation_id * 7);
		cr_assert_eq(it.rec.plan_id, it.rec.correlation_id * 3);
		got++;
	}
	struct evr_lane_stats s;
	evr_consumer_stats(c, &s);
	/* opened after the emits: each lane starts at its head - 16, and everything from there arrives */
	cr_assert_eq(s.start + got, 40);
	cr_assert_eq(s.lost_lapped + s.lost_abandoned, 0);
	cr_assert_geq(got, 16);
	evr_consumer_close(c);
	evr_ring_close(ro);
	evr_producer_close(p);
	evr_ring_close(r);
	evr_ring_unlink(n, NULL);
}

/* The stored description is validated like every header field, from a private copy. */
static unsigned char *map_description_rw(void)
{
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	unsigned char *p = mmap(NULL, EVR_HEADER_SIZE + 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(p, MAP_FAILED);
	return p;
}

Test(segment, a_damaged_schema_description_is_refused, .init = setup, .fini = teardown)
{
	unsigned char *p = map_description_rw();
	p[EVR_HEADER_SIZE + 64 + 16] = 'X'; /* the first type's name: not [a-z0-9_] */
	expect_open_fails(-EPROTO, "corrupt schema description", "type 0");
	munmap(p, EVR_HEADER_SIZE + 8192);
}

Test(segment, a_description_that_is_not_the_one_the_header_names_is_refused, .init = setup, .fini = teardown)
{
	unsigned char *p = map_description_rw();
	p[EVR_HEADER_SIZE + 64 + 16 + 1] = 'x'; /* "plan_created" -> "pxan_created": valid, another hash */
	expect_open_fails(-EPROTO, "its description is", NULL);
	munmap(p, EVR_HEADER_SIZE + 8192);
}

Test(segment, a_schema_size_beyond_its_bound_is_refused, .init = setup, .fini = teardown)
{
	struct evr_shm_header *h = map_header_rw();
	h->schema_size = 1u << 30;
	expect_open_fails(-EPROTO, "schema description at 4096", NULL);
	munmap(h, EVR_HEADER_SIZE);
}
