/* Segment: create, open (with full header validation), close and unlink a ring's shm object.
 *
 * Creation initialises everything, then publishes the magic with a release store; an opener
 * acquire-loads the magic, then checks every header field against what it can recompute, and copies
 * the layout into its private handle. Consumers open O_RDONLY and map PROT_READ.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "bus_shield.h"
#include "clock.h"
#include "evring/describe.h"
#include "ring_internal.h"
#include "test_hooks.h"

#define EVR_MAX_SEGMENT (64ull << 30) /* 64 GiB: a sanity bound against absurd layouts */
#define EVR_INIT_WAIT_NS (200ull * 1000 * 1000)

void evr_ring_opts_default(struct evr_ring_opts *o)
{
	memset(o, 0, sizeof *o);
	o->slots_per_lane = 4096;
	o->record_size = EVR_RECORD_SIZE;
	o->max_producers = 256;
	o->mode = 0600;
	o->ts_source = EVR_TS_AUTO;
}

int evr_name_normalize(const char *name, char out[EVR_NAME_MAX + 1], struct evr_err *err)
{
	if (!name || !*name)
		return evr_fail(err, -EINVAL, "ring name is empty");
	const char *s = name[0] == '/' ? name + 1 : name;
	size_t n = strlen(s);
	if (n == 0)
		return evr_fail(err, -EINVAL, "ring name '%s' has nothing after the '/'", name);
	if (n + 1 > EVR_NAME_MAX)
		return evr_fail(err, -ENAMETOOLONG, "ring name is %zu bytes; at most %d", n, EVR_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
			 c == '_' || c == '-';
		if (!ok)
			return evr_fail(err, -EINVAL, "ring name '%s': character '%c' not allowed (use A-Z a-z 0-9 . _ -)",
					name, c);
	}
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return evr_fail(err, -EINVAL, "ring name '%s' is not allowed", name);
	out[0] = '/';
	memcpy(out + 1, s, n + 1);
	return 0;
}

static uint64_t producers_bytes(uint32_t max_producers)
{
	return evr_align_up((size_t)max_producers * EVR_CACHELINE, 4096);
}

/* The description's region: whole pages, so the producer table stays page-aligned. */
static uint64_t schema_bytes(uint32_t schema_size)
{
	return evr_align_up(schema_size, 4096);
}

static unsigned online_cpus_pow2(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned l = 1;
	while (l < (unsigned long)(n > 0 ? n : 1) && l < EVR_MAX_LANES)
		l <<= 1;
	return l;
}

static int check_opts(const struct evr_ring_opts *o, uint32_t *lanes, struct evr_err *err)
{
	*lanes = o->lanes ? o->lanes : online_cpus_pow2();
	if (!evr_is_pow2(*lanes) || *lanes > EVR_MAX_LANES)
		return evr_fail(err, -EINVAL, "lanes = %u: must be a power of two from 1 to %u", *lanes, EVR_MAX_LANES);
	if (o->exclusive_lanes > EVR_MAX_LANES - *lanes)
		return evr_fail(err, -EINVAL, "exclusive lanes = %u: with %u shared lanes, at most %u", o->exclusive_lanes,
				*lanes, EVR_MAX_LANES - *lanes);
	if (!evr_is_pow2(o->slots_per_lane) || o->slots_per_lane < 2 || o->slots_per_lane > (1u << 24))
		return evr_fail(err, -EINVAL, "slots per lane = %u: must be a power of two from 2 to 2^24",
				o->slots_per_lane);
	if (!evr_is_pow2(o->record_size) || o->record_size < EVR_RECORD_SIZE || o->record_size > 4096)
		return evr_fail(err, -EINVAL, "record size = %u: must be a power of two from %u to 4096",
				o->record_size, EVR_RECORD_SIZE);
	if (o->max_producers < 1 || o->max_producers > EVR_MAX_PRODUCERS)
		return evr_fail(err, -EINVAL, "max producers = %u: must be from 1 to %u", o->max_producers,
				EVR_MAX_PRODUCERS);
	if (o->mode & ~0777u)
		return evr_fail(err, -EINVAL, "mode %o: only permission bits (0777) are allowed", (unsigned)o->mode);
	if (!(o->mode & 0600u) || (o->mode & 0600u) != 0600u)
		return evr_fail(err, -EINVAL, "mode %o: the owner needs read and write (0600)", (unsigned)o->mode);
	return 0;
}

static void fill_header(struct evr_shm_header *h, const char *name, const struct evr_ring_opts *o,
			const struct evr_desc_header *d, uint32_t lanes, enum evr_ts_source src, uint64_t size)
{
	h->abi_version = EVR_ABI_VERSION;
	h->schema_version = d->schema_version;
	h->schema_hash = evr_desc_hash(d);
	h->schema_offset = EVR_HEADER_SIZE;
	h->schema_size = d->size;
	memcpy((unsigned char *)h + EVR_HEADER_SIZE, d, d->size);
	h->segment_size = size;
	h->header_size = EVR_HEADER_SIZE;
	h->record_size = o->record_size;
	h->lane_count = lanes;
	h->exclusive_lanes = o->exclusive_lanes;
	h->slots_per_lane = o->slots_per_lane;
	h->max_producers = o->max_producers;
	h->ts_source = src;
	h->producers_offset = EVR_HEADER_SIZE + schema_bytes(d->size);
	h->lanes_offset = h->producers_offset + producers_bytes(o->max_producers);
	h->lane_stride = EVR_LANE_HDR_SIZE + (uint64_t)o->slots_per_lane * o->record_size;
	if (getrandom(&h->ring_id, sizeof h->ring_id, 0) != sizeof h->ring_id)
		h->ring_id = evr_clock_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32);
	h->creator_pid = (int32_t)getpid();
	h->mode = (uint32_t)o->mode;
	h->tsc_hz = src == EVR_TS_TSC ? evr_tsc_calibrate() : 0;
	/* the clock triple, taken back to back so consumers can map any timestamp to wall time */
	h->created_ts = evr_ts_now(src);
	h->created_mono_ns = evr_clock_ns(CLOCK_MONOTONIC);
	h->created_realtime_ns = evr_clock_ns(CLOCK_REALTIME);
	snprintf(h->name, sizeof h->name, "%s", name);
}

static void copy_layout(struct evr_ring *r, const struct evr_shm_header *h)
{
	r->lanes = h->lane_count + h->exclusive_lanes;
	r->shared_lanes = h->lane_count;
	r->slots = h->slots_per_lane;
	r->record_size = h->record_size;
	r->max_producers = h->max_producers;
	r->producers_offset = h->producers_offset;
	r->lanes_offset = h->lanes_offset;
	r->lane_stride = h->lane_stride;
	r->ts_source = (enum evr_ts_source)h->ts_source;
	r->ring_id = h->ring_id;
	r->schema_hash = h->schema_hash;
	r->creator_pid = h->creator_pid;
	r->mode = h->mode;
	r->created_realtime_ns = h->created_realtime_ns;
	r->created_mono_ns = h->created_mono_ns;
	r->created_ts = h->created_ts;
	r->tsc_hz = h->tsc_hz;
}

/* Take the ring's description: copy it out of the segment (validated where no neighbour can change
 * it), check it, check that this process's table is compatible, and work out which types emit must
 * adapt. */
static int adopt_schema(struct evr_ring *r, const unsigned char *region, uint32_t size,
			const struct evr_desc_header *mine, const struct evr_shm_header *h, struct evr_err *err)
{
	char why[240];
	if (mine && evr_desc_validate(mine, mine->size, why, sizeof why))
		return evr_fail(err, -EINVAL, "this program's schema description is invalid: %s", why);
	if (!(r->desc = malloc(size)))
		return evr_fail(err, -ENOMEM, "out of memory");
	memcpy(r->desc, region, size);
	if (evr_desc_validate(r->desc, size, why, sizeof why))
		return evr_fail(err, -EPROTO, "corrupt schema description: %s", why);
	/* the header names its description by version and hash: a valid description that is not that
	 * one was rewritten, and is corruption, not another table */
	uint32_t hv = h->schema_version;
	uint64_t hh = h->schema_hash;
	if (r->desc->schema_version != hv || evr_desc_hash(r->desc) != hh)
		return evr_fail(err, -EPROTO, "corrupt header: schema v%u hash 0x%016llx, its description is v%u hash "
				"0x%016llx", hv, (unsigned long long)hh, r->desc->schema_version,
				(unsigned long long)evr_desc_hash(r->desc));
	r->mine = mine ? mine : r->desc; /* no table of its own: the ring's is this process's */
	if (evr_desc_compat(r->desc, r->mine, why, sizeof why))
		return evr_fail(err, -EPROTO, "%s", why);
	if (evr_desc_fix_table(r->desc, r->mine, &r->fix))
		return evr_fail(err, -ENOMEM, "out of memory");
	return 0;
}

/* Allocate every page of the object now. ftruncate alone makes a sparse object: on a /dev/shm too
 * small for it, creation succeeded and the first write to a page tmpfs could not supply raised
 * SIGBUS in a producer, long after the mistake. The error names both sizes so the fix is obvious. */
static int reserve(int fd, const char *name, uint64_t size, struct evr_err *err)
{
	int e = posix_fallocate(fd, 0, (off_t)size); /* returns the error; errno is untouched */
	if (e == 0)
		return 0;
	struct statvfs vfs;
	if ((e == ENOSPC || e == EFBIG) && statvfs("/dev/shm", &vfs) == 0)
		return evr_fail(err, -ENOSPC, "ring %s needs %.1f MiB, /dev/shm has %.1f MiB free", name,
				(double)size / (1 << 20), (double)vfs.f_bavail * (double)vfs.f_frsize / (1 << 20));
	return evr_fail(err, -e, "cannot allocate the %llu bytes of ring %s: %s", (unsigned long long)size, name,
			strerror(e));
}

int evr_ring_create(const char *name, const struct evr_ring_opts *opts, struct evr_ring **out, struct evr_err *err)
{
	char norm[EVR_NAME_MAX + 1];
	uint32_t lanes;
	enum evr_ts_source src;
	int rc = evr_name_normalize(name, norm, err);
	if (rc)
		return rc;
	if (!opts || !opts->schema)
		return evr_fail(err, -EINVAL, "ring %s: no schema given (opts.schema: the description of the event table "
				"it carries, e.g. evr_platform_desc())", norm);
	if ((rc = check_opts(opts, &lanes, err)))
		return rc;
	if (evr_ts_resolve(opts->ts_source, &src))
		return evr_fail(err, -ENOTSUP, "timestamp source TSC is not available on this machine");
	const struct evr_desc_header *d = opts->schema;
	char why[200];
	if (evr_desc_validate(d, d->size, why, sizeof why))
		return evr_fail(err, -EINVAL, "the ring's schema description is invalid: %s", why);
	uint64_t size = EVR_HEADER_SIZE + schema_bytes(d->size) + producers_bytes(opts->max_producers) +
			((uint64_t)lanes + opts->exclusive_lanes) * (EVR_LANE_HDR_SIZE + (uint64_t)opts->slots_per_lane * opts->record_size);
	if (size > EVR_MAX_SEGMENT)
		return evr_fail(err, -EFBIG, "ring of %llu bytes is larger than the %llu-byte limit",
				(unsigned long long)size, (unsigned long long)EVR_MAX_SEGMENT);

	int fd = shm_open(norm, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return evr_fail(err, -EEXIST, "ring %s already exists (remove it with: evring unlink %s)",
					norm, norm);
		return evr_fail(err, -errno, "cannot create ring %s: %s", norm, strerror(errno));
	}
	struct evr_ring *r = calloc(1, sizeof *r);
	void *base = MAP_FAILED;
	if (!r) {
		rc = evr_fail(err, -ENOMEM, "out of memory");
		goto fail;
	}
	r->live_fd = -1;
	/* fchmod: shm_open's mode is filtered by the umask; the ring's mode is an explicit choice */
	if (fchmod(fd, opts->mode) || ftruncate(fd, (off_t)size)) {
		rc = evr_fail(err, -errno, "cannot size ring %s to %llu bytes: %s", norm, (unsigned long long)size,
			      strerror(errno));
		goto fail;
	}
	if ((rc = reserve(fd, norm, size, err)))
		goto fail;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = evr_fail(err, -errno, "cannot map ring %s: %s", norm, strerror(errno));
		goto fail;
	}
	struct evr_shm_header *h = base;
	fill_header(h, norm, opts, d, lanes, src, size); /* the rest is zero: new tmpfs pages are zero-filled */
	if ((rc = adopt_schema(r, (unsigned char *)base + EVR_HEADER_SIZE, d->size, NULL, h, err)))
		goto fail;
	if ((rc = evr_wake_create(norm, opts->mode, &r->wake_broken, &r->wake, err)))
		goto fail;
	if ((rc = evr_live_create(norm, opts->mode, &r->live_fd))) {
		if (rc == -EEXIST)
			evr_fail(err, rc, "cannot create %s~live: it already exists (left by a crashed creator, or "
				 "another user's); remove /dev/shm%s~live if nothing uses it", norm, norm);
		else
			evr_fail(err, rc, "cannot create the liveness object of ring %s: %s", norm, evr_strerror(rc));
		goto fail;
	}
	/* release: pairs with the acquire load of magic in evr_ring_open(); everything above is visible
	 * to any process that sees the magic. */
	atomic_store_explicit(&h->magic, EVR_MAGIC, memory_order_release);

	memcpy(r->name, norm, sizeof norm);
	evr_bus_shield_add(base, size, &r->broken);
	r->role = EVR_ROLE_PRODUCER;
	r->fd = fd;
	r->base = base;
	r->size = size;
	r->hdr = h;
	copy_layout(r, h);
	*out = r;
	return 0;
fail:
	if (base != MAP_FAILED)
		munmap(base, size);
	if (r && r->wake) {
		evr_wake_close(r->wake);
		evr_wake_unlink(norm);
	}
	if (r && r->live_fd >= 0) {
		close(r->live_fd);
		evr_live_unlink(norm);
	}
	if (r) {
		free(r->desc);
		free(r->fix);
	}
	free(r);
	close(fd);
	shm_unlink(norm);
	return rc;
}

/* Every field must be what a ring of this library would have written. */
static int validate_header(const struct evr_shm_header *h, uint64_t file_size, struct evr_err *err)
{
#define BAD(...) return evr_fail(err, -EPROTO, __VA_ARGS__)
	if (h->abi_version != EVR_ABI_VERSION)
		BAD("ABI version mismatch: ring has version %u, this library speaks version %u", h->abi_version,
		    EVR_ABI_VERSION);
	if (h->schema_offset != EVR_HEADER_SIZE || h->schema_size < sizeof(struct evr_desc_header) ||
	    h->schema_size > EVR_DESC_MAX_SIZE)
		BAD("corrupt header: schema description at %llu, %u bytes", (unsigned long long)h->schema_offset,
		    h->schema_size);
	if (h->header_size != EVR_HEADER_SIZE)
		BAD("corrupt header: header size %u, expected %u", h->header_size, EVR_HEADER_SIZE);
	if (!evr_is_pow2(h->record_size) || h->record_size < EVR_RECORD_SIZE || h->record_size > 4096)
		BAD("corrupt header: record size %u", h->record_size);
	if (!evr_is_pow2(h->lane_count) || h->lane_count > EVR_MAX_LANES)
		BAD("corrupt header: lane count %u", h->lane_count);
	if (h->exclusive_lanes > EVR_MAX_LANES - h->lane_count)
		BAD("corrupt header: %u exclusive lanes beside %u shared ones (at most %u lanes)", h->exclusive_lanes,
		    h->lane_count, EVR_MAX_LANES);
	if (!evr_is_pow2(h->slots_per_lane) || h->slots_per_lane < 2 || h->slots_per_lane > (1u << 24))
		BAD("corrupt header: slots per lane %u", h->slots_per_lane);
	if (h->max_producers < 1 || h->max_producers > EVR_MAX_PRODUCERS)
		BAD("corrupt header: max producers %u", h->max_producers);
	if (h->ts_source != EVR_TS_MONOTONIC && h->ts_source != EVR_TS_TSC)
		BAD("corrupt header: timestamp source %u", h->ts_source);
	if (h->ts_source == EVR_TS_TSC && (!EVR_HAVE_TSC || h->tsc_hz == 0))
		BAD("ring uses TSC timestamps, which this machine or header cannot convert");
	uint64_t prod_off = EVR_HEADER_SIZE + schema_bytes(h->schema_size);
	uint64_t lanes_off = prod_off + producers_bytes(h->max_producers);
	uint64_t stride = EVR_LANE_HDR_SIZE + (uint64_t)h->slots_per_lane * h->record_size;
	uint64_t size = lanes_off + ((uint64_t)h->lane_count + h->exclusive_lanes) * stride;
	if (h->producers_offset != prod_off || h->lanes_offset != lanes_off || h->lane_stride != stride)
		BAD("corrupt header: offsets do not match the layout");
	if (h->segment_size != size)
		BAD("corrupt header: segment size %llu, layout needs %llu", (unsigned long long)h->segment_size,
		    (unsigned long long)size);
	if (file_size != size)
		BAD("segment is %llu bytes but its header describes %llu (truncated or replaced?)",
		    (unsigned long long)file_size, (unsigned long long)size);
	return 0;
#undef BAD
}

/* Wait briefly for a creator still initialising; then the magic must be ours. The mapping is already
 * shielded: a truncation while we wait turns the header into zero pages and sets *broken, which ends
 * the wait with a clean error instead of SIGBUS. */
static int await_magic(const struct evr_shm_header *h, const char *name, atomic_int *broken, struct evr_err *err)
{
	uint64_t deadline = evr_clock_ns(CLOCK_MONOTONIC) + EVR_INIT_WAIT_NS;
	for (;;) {
		/* acquire: pairs with the release store of magic in evr_ring_create() */
		uint64_t m = atomic_load_explicit(&h->magic, memory_order_acquire);
		/* relaxed: set by our own SIGBUS handler, in this thread, during the load above */
		if (atomic_load_explicit(broken, memory_order_relaxed))
			return evr_fail(err, -EFAULT, "ring %s was truncated while opening it", name);
		if (m == EVR_MAGIC)
			return 0;
		if (m != 0)
			return evr_fail(err, -EPROTO, "%s is not an evring ring (magic 0x%016llx)", name,
					(unsigned long long)m);
		if (evr_clock_ns(CLOCK_MONOTONIC) > deadline)
			return evr_fail(err, -EPROTO, "ring %s was never initialised (its creator died?) or its header is gone "
					"(truncated and regrown?)", name);
		struct timespec d = {0, 1000 * 1000};
		nanosleep(&d, NULL);
	}
}

/* Whether `norm` still names the object behind fd. The companions are opened by name after the
 * ring: a ring unlinked and created again under its name in between would pair this ring with the
 * new ring's NAME~live, whose locks say nothing about this ring's producers. */
static int still_named(const char *norm, int fd)
{
	int again = shm_open(norm, O_RDONLY | O_CLOEXEC, 0);
	if (again < 0)
		return 0;
	bool same = evr_same_object(again, fd);
	close(again);
	return same;
}

static int open_once(const char *norm, enum evr_role role, const struct evr_desc_header *schema,
		     struct evr_ring **out, struct evr_err *err)
{
	int rc;
	int writable = role == EVR_ROLE_PRODUCER;
	int fd = shm_open(norm, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == ENOENT)
			return evr_fail(err, -ENOENT, "no ring named %s (create it with: evring create %s)", norm, norm);
		return evr_fail(err, -errno, "cannot open ring %s: %s", norm, strerror(errno));
	}
	struct stat st;
	void *base = MAP_FAILED;
	struct evr_ring *r = calloc(1, sizeof *r);
	if (!r) {
		rc = evr_fail(err, -ENOMEM, "out of memory");
		goto fail;
	}
	r->live_fd = -1;
	if (fstat(fd, &st)) {
		rc = evr_fail(err, -errno, "cannot stat ring %s: %s", norm, strerror(errno));
		goto fail;
	}
	if ((uint64_t)st.st_size < EVR_HEADER_SIZE || (uint64_t)st.st_size > EVR_MAX_SEGMENT) {
		rc = evr_fail(err, -EPROTO, "%s is %lld bytes: not an evring ring", norm, (long long)st.st_size);
		goto fail;
	}
	base = mmap(NULL, (size_t)st.st_size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = evr_fail(err, -errno, "cannot map ring %s: %s", norm, strerror(errno));
		goto fail;
	}
	/* Shield before the first read of the header: the object can be truncated from here on. */
	evr_bus_shield_add(base, (size_t)st.st_size, &r->broken);
	const struct evr_shm_header *h = base;
	if ((rc = await_magic(h, norm, &r->broken, err)))
		goto fail;
	/* One private copy of the header, read once: it is what is validated and what the handle keeps.
	 * Anyone who can write the ring may rewrite the shared header at any time; a field read again
	 * after its validation (a compiler is free to) could be another value, and a consumer would
	 * index lanes its mapping does not have. */
	struct evr_shm_header snap;
	memcpy(&snap, (const void *)h, sizeof snap);
	rc = validate_header(&snap, (uint64_t)st.st_size, err);
	copy_layout(r, &snap);
	if (rc == 0)
		rc = adopt_schema(r, (const unsigned char *)base + EVR_HEADER_SIZE, snap.schema_size, schema, &snap, err);
	/* relaxed: our own handler's flag. A truncation during validation or the copy leaves zero pages
	 * where the header was: say so rather than blame the fields it zeroed. */
	if (atomic_load_explicit(&r->broken, memory_order_relaxed))
		rc = evr_fail(err, -EFAULT, "ring %s was truncated while opening it", norm);
	if (rc)
		goto fail;
	EVR_TEST_HOOK_ENTRY(EVR_HOOK_OPEN_VALIDATED, 0);
	rc = evr_live_open(norm, fd, &r->live_fd);
	if (rc && writable) {
		rc = evr_fail(err, rc, "ring %s: its liveness object %s~live cannot be used (%s); producers need it",
			      norm, norm, rc == -EPERM ? "not owned by the ring's owner" : evr_strerror(rc));
		goto fail;
	}
	snprintf(r->name, sizeof r->name, "%s", norm);
	r->role = role;
	r->fd = fd;
	r->base = base;
	r->size = (size_t)st.st_size;
	r->hdr = base;
	r->wake = evr_wake_open(norm, st.st_uid, &r->wake_broken);
	if (!still_named(norm, fd)) {
		evr_ring_close(r);
		return evr_fail(err, -ESTALE, "ring %s was removed or replaced while it was being opened", norm);
	}
	*out = r;
	return 0;
fail:
	if (base != MAP_FAILED) {
		evr_bus_shield_remove(base);
		munmap(base, (size_t)st.st_size);
	}
	if (r && r->live_fd >= 0)
		close(r->live_fd);
	if (r) {
		free(r->desc);
		free(r->fix);
	}
	free(r);
	close(fd);
	return rc;
}

int evr_ring_open(const char *name, enum evr_role role, struct evr_ring **out, struct evr_err *err)
{
	return evr_ring_open_schema(name, role, NULL, out, err);
}

int evr_ring_open_schema(const char *name, enum evr_role role, const struct evr_desc_header *schema,
			 struct evr_ring **out, struct evr_err *err)
{
	char norm[EVR_NAME_MAX + 1];
	int rc = evr_name_normalize(name, norm, err);
	if (rc)
		return rc;
	if (role != EVR_ROLE_PRODUCER && role != EVR_ROLE_CONSUMER)
		return evr_fail(err, -EINVAL, "role must be producer or consumer");
	/* a replacement during the open is retried: the next attempt meets the new ring whole */
	for (int attempt = 0;; attempt++)
		if ((rc = open_once(norm, role, schema, out, err)) != -ESTALE || attempt == 2)
			return rc;
}

void evr_ring_close(struct evr_ring *r)
{
	if (!r)
		return;
	evr_wake_close(r->wake);
	if (r->live_fd >= 0)
		close(r->live_fd);
	evr_bus_shield_remove(r->base);
	munmap(r->base, r->size);
	close(r->fd);
	free(r->desc);
	free(r->fix);
	free(r);
}

const struct evr_desc_header *evr_ring_schema(const struct evr_ring *r)
{
	return r->desc;
}

int evr_ring_unlink(const char *name, struct evr_err *err)
{
	char norm[EVR_NAME_MAX + 1];
	int rc = evr_name_normalize(name, norm, err);
	if (rc)
		return rc;
	/* companions first: a ring name that is free again must not find stale ones at create */
	int companions = (evr_wake_unlink(norm) == 0) + (evr_live_unlink(norm) == 0);
	if (shm_unlink(norm)) {
		if (errno == ENOENT && companions)
			return 0; /* only leftovers of a ring that is gone (a creator killed mid-create) */
		if (errno == ENOENT)
			return evr_fail(err, -ENOENT, "no ring named %s", norm);
		return evr_fail(err, -errno, "cannot unlink ring %s: %s", norm, strerror(errno));
	}
	return 0;
}

void evr_ring_get_info(const struct evr_ring *r, struct evr_ring_info *i)
{
	memset(i, 0, sizeof *i);
	memcpy(i->name, r->name, sizeof i->name);
	i->abi_version = EVR_ABI_VERSION;
	i->schema_version = r->desc->schema_version;
	i->schema_hash = r->schema_hash;
	i->lanes = r->lanes;
	i->exclusive_lanes = r->lanes - r->shared_lanes;
	i->slots_per_lane = r->slots;
	i->record_size = r->record_size;
	i->max_producers = r->max_producers;
	i->segment_size = r->size;
	i->ring_id = r->ring_id;
	i->creator_pid = r->creator_pid;
	i->created_realtime_ns = r->created_realtime_ns;
	i->ts_source = r->ts_source;
	i->tsc_hz = r->tsc_hz;
	i->mode = (mode_t)r->mode;
}

uint64_t evr_ring_lane_head(const struct evr_ring *r, unsigned lane)
{
	if (lane >= r->lanes)
		return 0;
	struct evr_lane_ref l = evr_ring_lane(r, lane);
	/* relaxed: a snapshot for display and lag; nothing is read through it */
	return atomic_load_explicit(&l.hdr->head, memory_order_relaxed);
}

int evr_ring_status(const struct evr_ring *r)
{
	struct evr_ring *m = (struct evr_ring *)r;
	/* relaxed: set by our own SIGBUS handler, in this process */
	if (atomic_load_explicit(&m->broken, memory_order_relaxed))
		return -EFAULT;
	/* relaxed: a process-local flag; evr_ring_fault() orders the sentence that goes with it */
	return atomic_load_explicit(&m->corrupt, memory_order_relaxed) ? -EUCLEAN : 0;
}

void evr_ring_mark_corrupt(struct evr_ring *r, const char *fmt, ...)
{
	int expect = 0;
	/* acquire: nothing; the CAS only elects the one writer of `fault` */
	if (!atomic_compare_exchange_strong_explicit(&r->corrupt, &expect, 1, memory_order_acquire,
						     memory_order_relaxed))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->fault, sizeof r->fault, fmt, ap);
	va_end(ap);
	/* release: pairs with the acquire in evr_ring_fault(); the sentence is complete */
	atomic_store_explicit(&r->corrupt, 2, memory_order_release);
}

const char *evr_ring_fault(const struct evr_ring *r)
{
	struct evr_ring *m = (struct evr_ring *)r;
	/* relaxed: our own SIGBUS handler's flag */
	if (atomic_load_explicit(&m->broken, memory_order_relaxed))
		return "ring segment was truncated or replaced under this process";
	/* acquire: pairs with the release in evr_ring_mark_corrupt() */
	int c = atomic_load_explicit(&m->corrupt, memory_order_acquire);
	return c == 2 ? r->fault : c ? "ring corrupted" : NULL;
}

enum evr_role evr_ring_role(const struct evr_ring *r)
{
	return r->role;
}

bool evr_ring_can_sleep(const struct evr_ring *r)
{
	return r->wake != NULL;
}
