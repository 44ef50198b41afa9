/* Fuzz target: a hostile segment image. A pristine ring (2 lanes x 8 slots) is made once; each
 * input is laid over a fresh copy of it (header, producer table, lanes), then the image is opened
 * as a consumer and read: open/validate/consume/decode must refuse or report, never crash or hang. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <evring/evring.h>
#include <evring/platform.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char name[64];
static unsigned char *pristine, *live;
static size_t seg_size;

static void cleanup(void)
{
	evr_ring_unlink(name, NULL);
}

static void make_pristine(void)
{
	snprintf(name, sizeof name, "/evrf-segment-%d", (int)getpid());
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 2;
	o.slots_per_lane = 8;
	o.max_producers = 4;
	struct evr_ring *r;
	struct evr_producer *p;
	evr_ring_unlink(name, NULL);
	if (evr_ring_create(name, &o, &r, NULL) || evr_producer_open(r, "fuzz", &p, NULL))
		abort();
	for (unsigned i = 0; i < 12; i++) { /* some records, one lane wrapped */
		struct evr_record rec;
		evr_record_init(&rec, (enum evr_type)(i % EVR_EVENT_COUNT), i, i);
		evr_record_set_details(&rec, "fuzz seed");
		evr_emit(p, &rec);
	}
	evr_producer_close(p);
	struct evr_ring_info info;
	evr_ring_get_info(r, &info);
	seg_size = info.segment_size;
	evr_ring_close(r);
	int fd = shm_open(name, O_RDWR, 0);
	live = mmap(NULL, seg_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	pristine = malloc(seg_size);
	memcpy(pristine, live, seg_size);
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!pristine)
		make_pristine();
	memcpy(live, pristine, seg_size);
	memcpy(live, data, size < seg_size ? size : seg_size);
	struct evr_ring *r;
	struct evr_err err;
	if (evr_ring_open(name, EVR_ROLE_CONSUMER, &r, &err))
		return 0; /* refused, with a message: fine */
	struct evr_consumer *c;
	struct evr_consumer_opts co = { .start = EVR_START_OLDEST, .abandon_timeout_ns = 1000 };
	if (evr_consumer_open(r, &co, &c, &err) == 0) {
		struct evr_item it;
		char json[1024];
		for (int i = 0; i < 64 && evr_consumer_poll(c, &it) > 0; i++)
			if (it.kind == EVR_ITEM_RECORD && evr_record_to_json(&it.rec, json, sizeof json) < 0)
				abort(); /* a delivered record is a validated record */
		evr_consumer_close(c);
	}
	struct evr_ring_info info;
	evr_ring_get_info(r, &info);
	for (unsigned i = 0; i < info.max_producers && i < 4096; i++) {
		struct evr_producer_info pi;
		evr_ring_producer_info(r, i, &pi);
	}
	evr_ring_close(r);
	return 0;
}
