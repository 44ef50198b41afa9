/* Fuzz target: a hostile schema description, as a ring's segment, a record log or a stream could
 * carry it. The input is the description; when evr_desc_validate accepts it, it must be safe to
 * drive everything that reads one: the compatibility check against the platform's table (both ways)
 * and the generic decoder over records made of the input's own bytes. Refuse or decode, never read
 * outside a buffer (ASan) or crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <evring/evring.h>
#include <evring/platform.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > EVR_DESC_MAX_SIZE)
		return 0;
	/* an exact-size heap copy: ASan sees any read past the end of what validation accepted */
	void *d = malloc(size ? size : 1);
	memcpy(d, data, size);
	char why[256];
	if (evr_desc_validate(d, size, why, sizeof why) == 0) {
		const struct evr_desc_header *h = d;
		evr_desc_compat(h, evr_platform_desc(), why, sizeof why);
		evr_desc_compat(evr_platform_desc(), h, why, sizeof why);
		for (unsigned t = 0; t < h->type_count && t < 64; t++) {
			struct evr_record r;
			size_t take = size < sizeof r ? size : sizeof r;
			memset(&r, 0, sizeof r);
			memcpy(&r, (const uint8_t *)data + size - take, take);
			r.type = (uint16_t)t;
			r.flags &= EVR_REC_FLAGS_KNOWN;
			char json[1024];
			if (evr_desc_record_validate(h, &r, NULL, 0) == 0 && evr_desc_record_to_json(h, &r, json, sizeof json) < 0)
				abort(); /* a record that validates must decode */
			memset((char *)&r + EVR_RECORD_HDR_SIZE, 0, EVR_PAYLOAD_SIZE); /* all strings terminated */
			if (evr_desc_record_to_json(h, &r, json, sizeof json) < 0)
				abort();
		}
	}
	free(d);
	return 0;
}
