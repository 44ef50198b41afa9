/* Records: the one string copy every writer of a record uses (typed emit, evring emit, adapters). */
#include <string.h>

#include "evring/record.h"

int evr_record_set_str(struct evr_record *r, char *field, size_t field_size, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	int truncated = n >= field_size;
	if (truncated) {
		n = field_size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--; /* do not cut a UTF-8 sequence in half */
		r->flags |= EVR_REC_TRUNCATED;
	}
	memset(field, 0, field_size);
	if (n)
		memcpy(field, src, n);
	return truncated;
}
