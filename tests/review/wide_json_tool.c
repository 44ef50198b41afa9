/* Review repro: a ring whose (valid) description makes one record's JSON longer than 1024 bytes.
 *   wide_json_tool len            print evr_desc_record_to_json's length for the record
 *   wide_json_tool create NAME    create NAME with that description and emit the record */
#include <stdio.h>
#include <string.h>
#include <evring/evring.h>

static struct evr_field_desc f[32];
static char names[32][24];

int main(int argc, char **argv)
{
	for (int i = 0; i < 32; i++) {
		snprintf(names[i], sizeof names[i], "field_%016d", i); /* 22 chars */
		f[i] = (struct evr_field_desc){names[i], EVR_FIELD_I8, (uint16_t)(40 + i), 1, 1, NULL, 0};
	}
	struct evr_event_desc t = {"wide", "WIDE", "wide", f, 32, 72, 56, 1};
	static _Alignas(8) char buf[8192];
	if (evr_desc_build(&t, 1, "hostile", 1, buf, sizeof buf) <= 0)
		return 3;
	const struct evr_desc_header *d = (const void *)buf;
	struct evr_record r;
	memset(&r, 0, sizeof r);
	r.type = 0;
	memset((char *)&r + 40, 0x80, 32); /* every field -128 */
	memset((char *)&r + 72, 0x01, 55); /* details: 55 control bytes, \u0001 each */
	char out[1024];
	if (argc == 2 && !strcmp(argv[1], "len")) {
		printf("%d\n", evr_desc_record_to_json(d, &r, out, sizeof out));
		return 0;
	}
	if (argc != 3)
		return 2;
	struct evr_ring_opts o;
	evr_ring_opts_default(&o);
	o.lanes = 1;
	o.slots_per_lane = 64;
	o.schema = d;
	struct evr_ring *ring;
	struct evr_producer *p;
	struct evr_err err;
	if (evr_ring_create(argv[2], &o, &ring, &err) || evr_producer_open(ring, "hostile", &p, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	int rc = evr_emit(p, &r);
	evr_producer_close(p);
	evr_ring_close(ring);
	return rc != 0;
}
