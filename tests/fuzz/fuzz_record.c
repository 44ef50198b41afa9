/* Fuzz target: the record decoder and formatters. The input is a 128-byte record (short inputs
 * are zero-padded) followed by "key=value" text for evr_record_set_field. Nothing may crash, and
 * evr_record_to_json must keep snprintf's contract in small and large buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <evring/platform.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evr_record rec;
	memset(&rec, 0, sizeof rec);
	memcpy(&rec, data, size < sizeof rec ? size : sizeof rec);
	char why[128], big[4096], small[48];
	int valid = evr_record_validate(&rec, why, sizeof why) == 0;
	int n = evr_record_to_json(&rec, big, sizeof big);
	if (valid != (n >= 0))
		abort(); /* the formatter and the validator must agree */
	if (n >= 0 && (size_t)n < sizeof big && strlen(big) != (size_t)n)
		abort();
	int m = evr_record_to_json(&rec, small, sizeof small);
	if (m != n || (m >= 0 && strlen(small) != ((size_t)m < sizeof small ? (size_t)m : sizeof small - 1)))
		abort();
	if (size > sizeof rec && valid) { /* key=value text after the record */
		size_t len = size - sizeof rec;
		char *kv = malloc(len + 1);
		memcpy(kv, data + sizeof rec, len);
		kv[len] = 0;
		char *eq = strchr(kv, '=');
		if (eq) {
			*eq = 0;
			evr_record_set_field(&rec, kv, eq + 1);
			if (evr_record_validate(&rec, why, sizeof why))
				abort(); /* setting a field never makes a valid record invalid */
		}
		free(kv);
	}
	return 0;
}
