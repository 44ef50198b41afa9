/* The typed path, for test_bare_decode: every record of ring NAME as the platform table decodes it
 * (evr_record_to_json), one per line, after opening the ring with that table. */
#include <stdio.h>

#include <evring/evring.h>
#include <evring/platform.h>

int main(int argc, char **argv)
{
	struct evr_ring *r;
	struct evr_consumer *c;
	struct evr_err err = { 0 };
	if (argc != 2 || evr_platform_open(argv[1], EVR_ROLE_CONSUMER, &r, &err) || evr_consumer_open(r, NULL, &c, &err)) {
		fprintf(stderr, "typed_json: %s\n", err.msg);
		return 1;
	}
	struct evr_item it;
	char json[EVR_DESC_JSON_MAX];
	while (evr_consumer_poll(c, &it) > 0)
		if (it.kind == EVR_ITEM_RECORD && evr_record_to_json(&it.rec, json, sizeof json) > 0)
			puts(json);
	evr_consumer_close(c);
	evr_ring_close(r);
	return 0;
}
