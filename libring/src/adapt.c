/* Emit across schema versions: a producer whose table is older or newer than the ring's (and
 * compatible, evr_desc_compat) writes records in the ring's layout. The common fields of a type
 * sit at the same offsets in both (the evolution rules guarantee it); what differs is where the
 * details text starts, because an appended field takes its bytes from the details. So the record
 * is copied, everything after the last common field is cleared (a newer producer's fields the ring
 * does not know, or the bytes of ring fields an older producer cannot set), and the details text is
 * placed at the ring's offset (cut at a UTF-8 boundary and flagged if the ring's room is smaller).
 * A record of an older producer carries its version in flags bits 8-15, so readers show the fields
 * it could not set as not present rather than as zero.
 *
 * Only types whose layout differs take this path; evr_emit checks one byte for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring_internal.h"

static int same_layout(const struct evr_desc_type *a, const struct evr_desc_type *b)
{
	return a->field_count == b->field_count && a->details_offset == b->details_offset;
}

int evr_desc_fix_table(const struct evr_desc_header *ring, const struct evr_desc_header *mine, uint8_t **out)
{
	*out = NULL;
	unsigned n = ring->type_count < mine->type_count ? ring->type_count : mine->type_count;
	for (unsigned i = 0; i < n; i++) {
		if (same_layout(evr_desc_type(ring, i), evr_desc_type(mine, i)))
			continue;
		if (!*out && !(*out = calloc(ring->type_count, 1)))
			return -ENOMEM;
		(*out)[i] = 1;
	}
	return 0;
}

const struct evr_record *evr_desc_adapt(const struct evr_ring *r, const struct evr_record *rec,
					struct evr_record *tmp)
{
	const struct evr_desc_type *rt = evr_desc_type(r->desc, rec->type), *mt = evr_desc_type(r->mine, rec->type);
	const struct evr_desc_field *rf = evr_desc_fields(r->desc) + rt->first_field;
	unsigned common = rt->field_count < mt->field_count ? rt->field_count : mt->field_count;
	unsigned keep = common ? rf[common - 1].offset + rf[common - 1].size : EVR_RECORD_HDR_SIZE;
	char details[EVR_PAYLOAD_SIZE];
	const char *src = (const char *)rec + mt->details_offset;
	size_t n = strnlen(src, mt->details_size);
	memcpy(details, src, n);
	details[n] = '\0';
	memcpy(tmp, rec, keep);
	memset((unsigned char *)tmp + keep, 0, EVR_RECORD_SIZE - keep);
	evr_record_set_str(tmp, (char *)tmp + rt->details_offset, rt->details_size, details);
	if (mt->field_count < rt->field_count) /* older producer: say which fields it could not set */
		tmp->flags = (uint16_t)((tmp->flags & 0xffu) | r->mine->schema_version << EVR_REC_VERSION_SHIFT);
	return tmp;
}
