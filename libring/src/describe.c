/* Schema descriptions: build one from a table, validate one from anywhere (a segment, a record log,
 * a stream), and decide whether a ring and a table can share records. The format is in
 * evring/describe.h; the generic record decoder is in describe_json.c.
 *
 * Validation trusts nothing: counts are checked against the size before any entry is read, every
 * name must be NUL-terminated inside its field, and every offset must lie inside the record, so a
 * decoder driven by a validated description never reads outside a 128-byte record. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evring/describe.h"

static int bad(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t len, const char *fmt, ...)
{
	if (why && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

const char *evr_field_kind_name(unsigned kind)
{
	static const char *const names[] = {
		[EVR_FIELD_U8] = "u8", [EVR_FIELD_U16] = "u16", [EVR_FIELD_U32] = "u32", [EVR_FIELD_U64] = "u64",
		[EVR_FIELD_I8] = "i8", [EVR_FIELD_I16] = "i16", [EVR_FIELD_I32] = "i32", [EVR_FIELD_I64] = "i64",
		[EVR_FIELD_STR] = "string",
	};
	return kind < sizeof names / sizeof names[0] && names[kind] ? names[kind] : "?";
}

/* Bytes of an integer kind; 0 for strings and unknown kinds. */
static unsigned int_size(unsigned kind)
{
	switch (kind) {
	case EVR_FIELD_U8: case EVR_FIELD_I8: return 1;
	case EVR_FIELD_U16: case EVR_FIELD_I16: return 2;
	case EVR_FIELD_U32: case EVR_FIELD_I32: return 4;
	case EVR_FIELD_U64: case EVR_FIELD_I64: return 8;
	default: return 0;
	}
}

/* A name must end inside its field, be non-empty and use [a-z0-9_] (domains and schema names may
 * also use '-' and '.'), so every printer can emit it unescaped in text, Markdown and JSON. */
static int check_name(const char *s, size_t cap, int loose)
{
	size_t n = strnlen(s, cap);
	if (n == 0 || n == cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (loose && (c == '-' || c == '.'))))
			return -1;
	}
	return 0;
}

static int validate_fields(const struct evr_desc_header *h, const struct evr_desc_type *t, char *why,
			   size_t len)
{
	const struct evr_desc_field *f = evr_desc_fields(h) + t->first_field;
	unsigned end = h->record_hdr_size; /* the next field may start here or later */
	for (unsigned j = 0; j < t->field_count; j++) {
		const struct evr_desc_field *fd = &f[j];
		if (check_name(fd->name, sizeof fd->name, 0))
			return bad(why, len, "type %u field %u: name not terminated or not [a-z0-9_]", t->id, j);
		for (unsigned k = 0; k < j; k++)
			if (!strcmp(f[k].name, fd->name))
				return bad(why, len, "type %s: field %s appears twice", t->name, fd->name);
		unsigned isz = int_size(fd->kind);
		if (fd->kind == EVR_FIELD_STR ? fd->size < 2 : isz == 0 || fd->size != isz)
			return bad(why, len, "type %s field %s: kind %u with size %u", t->name, fd->name, fd->kind,
				   fd->size);
		if (fd->offset < end || fd->offset + fd->size > t->details_offset)
			return bad(why, len, "type %s field %s: offset %u size %u overlaps a field or the details",
				   t->name, fd->name, fd->offset, fd->size);
		if (fd->since < t->since || fd->since > h->schema_version || fd->reserved)
			return bad(why, len, "type %s field %s: since version %u (type since %u, schema v%u)", t->name,
				   fd->name, fd->since, t->since, h->schema_version);
		end = fd->offset + fd->size;
	}
	return 0;
}

/* Whether v fits a field of integer kind `kind` (signed kinds: v is an int64_t). */
static int value_fits(unsigned kind, uint64_t v)
{
	unsigned bits = 8 * int_size(kind);
	if (bits == 64)
		return 1;
	if (!evr_field_kind_signed(kind))
		return v < (1ull << bits);
	int64_t s = (int64_t)v, lim = (int64_t)1 << (bits - 1);
	return s >= -lim && s < lim;
}

static int validate_values(const struct evr_desc_header *h, char *why, size_t len)
{
	const struct evr_desc_value *v = evr_desc_values(h);
	const struct evr_desc_field *f = evr_desc_fields(h);
	for (unsigned i = 0; i < h->value_count; i++) {
		if (v[i].field >= h->field_count || v[i].reserved)
			return bad(why, len, "named value %u: field %u of %u, or reserved bits set", i, v[i].field, h->field_count);
		const struct evr_desc_field *fd = &f[v[i].field];
		if (check_name(v[i].name, sizeof v[i].name, 0))
			return bad(why, len, "field %s: value %u: name not terminated or not [a-z0-9_]", fd->name, i);
		if (!int_size(fd->kind) || !value_fits(fd->kind, v[i].value))
			return bad(why, len, "field %s (%s): named value %s = %llu does not fit", fd->name,
				   evr_field_kind_name(fd->kind), v[i].name, (unsigned long long)v[i].value);
		if (v[i].since < fd->since || v[i].since > h->schema_version)
			return bad(why, len, "field %s value %s: since version %u (field since %u, schema v%u)", fd->name,
				   v[i].name, v[i].since, fd->since, h->schema_version);
		if (i && (v[i - 1].field > v[i].field || (v[i - 1].field == v[i].field && v[i - 1].value >= v[i].value)))
			return bad(why, len, "named values %u and %u are not in ascending field, value order (values compared as stored, unsigned)", i - 1, i);
		for (unsigned k = i; k-- > 0 && v[k].field == v[i].field;)
			if (!strcmp(v[k].name, v[i].name))
				return bad(why, len, "field %s: value name %s appears twice", fd->name, v[i].name);
	}
	return 0;
}

int evr_desc_validate(const void *buf, size_t size, char *why, size_t len)
{
	const struct evr_desc_header *h = buf;
	if (!buf || size < sizeof *h)
		return bad(why, len, "description is %zu bytes; the header alone is %zu", size, sizeof *h);
	if (h->magic != EVR_DESC_MAGIC || (h->format != EVR_DESC_FORMAT && h->format != EVR_DESC_FORMAT_VALUES))
		return bad(why, len, "description magic 0x%08x format %u; expected 0x%08x format %u or %u", h->magic,
			   h->format, EVR_DESC_MAGIC, EVR_DESC_FORMAT, EVR_DESC_FORMAT_VALUES);
	if ((h->format == EVR_DESC_FORMAT) != (h->value_count == 0) || h->value_count > EVR_DESC_MAX_VALUES)
		return bad(why, len, "description format %u with %u named values", h->format, h->value_count);
	if (h->type_count == 0 || h->type_count > EVR_DESC_MAX_TYPES)
		return bad(why, len, "description has %u types; 1 to %u allowed", h->type_count, EVR_DESC_MAX_TYPES);
	uint64_t need = sizeof *h + (uint64_t)h->type_count * sizeof(struct evr_desc_type) +
			(uint64_t)h->field_count * sizeof(struct evr_desc_field) +
			(uint64_t)h->value_count * sizeof(struct evr_desc_value);
	if (h->size != size || need != size || size > EVR_DESC_MAX_SIZE)
		return bad(why, len, "description size %u, buffer %zu, its counts need %llu (at most %u)", h->size, size,
			   (unsigned long long)need, EVR_DESC_MAX_SIZE);
	if (h->record_size != EVR_RECORD_SIZE || h->record_hdr_size != EVR_RECORD_HDR_SIZE)
		return bad(why, len, "description is for %u-byte records with a %u-byte header; expected %u and %u",
			   h->record_size, h->record_hdr_size, EVR_RECORD_SIZE, EVR_RECORD_HDR_SIZE);
	if (h->schema_version == 0 || h->schema_version > 255 || h->reserved16 || h->reserved)
		return bad(why, len, "description schema version %u (1 to 255) or reserved words set", h->schema_version);
	if (check_name(h->name, sizeof h->name, 1))
		return bad(why, len, "description: schema name not terminated or not [a-z0-9_.-]");
	const struct evr_desc_type *types = evr_desc_types(h);
	unsigned next_field = 0;
	for (unsigned i = 0; i < h->type_count; i++) {
		const struct evr_desc_type *t = &types[i];
		if (t->id != i || t->reserved)
			return bad(why, len, "type entry %u has id %u", i, t->id);
		if (check_name(t->name, sizeof t->name, 0) || check_name(t->domain, sizeof t->domain, 1))
			return bad(why, len, "type %u: name or domain not terminated or not [a-z0-9_]", i);
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(types[k].name, t->name))
				return bad(why, len, "type %s appears twice (ids %u and %u)", t->name, k, i);
		if (t->since == 0 || t->since > h->schema_version)
			return bad(why, len, "type %s: since version %u, schema is v%u", t->name, t->since, h->schema_version);
		if (t->first_field != next_field || t->field_count > EVR_DESC_MAX_FIELDS ||
		    next_field + t->field_count > h->field_count)
			return bad(why, len, "type %s: fields %u..+%u do not follow the previous type's", t->name,
				   t->first_field, t->field_count);
		next_field += t->field_count;
		if (t->details_offset < h->record_hdr_size || t->details_size < 1 ||
		    t->details_offset + t->details_size != h->record_size)
			return bad(why, len, "type %s: details at %u size %u do not end the record", t->name,
				   t->details_offset, t->details_size);
		int rc = validate_fields(h, t, why, len);
		if (rc)
			return rc;
	}
	if (next_field != h->field_count)
		return bad(why, len, "description has %u fields; its types use %u", h->field_count, next_field);
	return validate_values(h, why, len);
}

int evr_desc_build(const struct evr_event_desc *table, size_t count, const char *schema_name,
		   uint32_t schema_version, void *buf, size_t cap)
{
	size_t fields = 0, values = 0;
	if (!table || count == 0 || count > EVR_DESC_MAX_TYPES || !schema_name)
		return -EINVAL;
	for (size_t i = 0; i < count; i++) {
		fields += table[i].field_count;
		for (unsigned j = 0; j < table[i].field_count; j++)
			values += table[i].fields[j].value_count;
	}
	if (fields > UINT16_MAX || values > EVR_DESC_MAX_VALUES)
		return -EINVAL;
	size_t size = sizeof(struct evr_desc_header) + count * sizeof(struct evr_desc_type) +
		      fields * sizeof(struct evr_desc_field) + values * sizeof(struct evr_desc_value);
	if (size > EVR_DESC_MAX_SIZE)
		return -EINVAL;
	if (cap < size)
		return (int)size;
	memset(buf, 0, size);
	struct evr_desc_header *h = buf;
	*h = (struct evr_desc_header){.magic = EVR_DESC_MAGIC, .format = values ? EVR_DESC_FORMAT_VALUES : EVR_DESC_FORMAT,
				      .size = (uint32_t)size, .schema_version = schema_version, .type_count = (uint16_t)count,
				      .field_count = (uint16_t)fields, .record_size = EVR_RECORD_SIZE,
				      .record_hdr_size = EVR_RECORD_HDR_SIZE, .value_count = (uint16_t)values};
	snprintf(h->name, sizeof h->name, "%s", schema_name);
	struct evr_desc_type *t = (struct evr_desc_type *)(void *)(h + 1);
	struct evr_desc_field *f = (struct evr_desc_field *)(void *)(t + count);
	struct evr_desc_value *v = (struct evr_desc_value *)(void *)(f + fields);
	unsigned next = 0, next_value = 0;
	for (size_t i = 0; i < count; i++) {
		const struct evr_event_desc *e = &table[i];
		const char *dom = e->domain;
		t[i] = (struct evr_desc_type){.id = (uint16_t)i, .since = e->since ? e->since : 1,
					      .first_field = (uint16_t)next, .field_count = e->field_count,
					      .details_offset = e->details_offset, .details_size = e->details_size};
		snprintf(t[i].name, sizeof t[i].name, "%s", e->name ? e->name : "");
		snprintf(t[i].domain, sizeof t[i].domain, "%s", dom ? dom : "");
		for (unsigned j = 0; j < e->field_count; j++, next++) {
			const struct evr_field_desc *fd = &e->fields[j];
			f[next] = (struct evr_desc_field){.offset = fd->offset, .size = fd->size, .kind = (uint8_t)fd->kind,
							  .since = fd->since ? fd->since : t[i].since};
			snprintf(f[next].name, sizeof f[next].name, "%s", fd->name);
			for (unsigned k = 0; k < fd->value_count; k++, next_value++) {
				const struct evr_value_desc *vd = &fd->values[k];
				v[next_value] = (struct evr_desc_value){.field = (uint16_t)next, .value = vd->value,
									.since = vd->since ? vd->since : f[next].since};
				snprintf(v[next_value].name, sizeof v[next_value].name, "%s", vd->name ? vd->name : "");
			}
		}
	}
	return evr_desc_validate(buf, size, NULL, 0) ? -EINVAL : (int)size;
}

uint64_t evr_desc_hash(const struct evr_desc_header *d)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *b = (const unsigned char *)d;
	for (uint32_t i = 0; i < d->size; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* The first named value at or after (field, value) in d's sorted value array: its index. */
static unsigned value_lower_bound(const struct evr_desc_header *d, unsigned field, uint64_t value)
{
	const struct evr_desc_value *v = evr_desc_values(d);
	unsigned lo = 0, hi = d->value_count;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (v[mid].field < field || (v[mid].field == field && v[mid].value < value))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const char *evr_desc_value_name(const struct evr_desc_header *d, unsigned field, uint64_t value)
{
	const struct evr_desc_value *v = evr_desc_values(d);
	unsigned i = value_lower_bound(d, field, value);
	return i < d->value_count && v[i].field == field && v[i].value == value ? v[i].name : NULL;
}

uint64_t evr_desc_field_bits(const struct evr_desc_field *f, const struct evr_record *r)
{
	const unsigned char *p = (const unsigned char *)r + f->offset;
	switch (f->kind) {
	case EVR_FIELD_U8: return p[0];
	case EVR_FIELD_I8: return (uint64_t)(int64_t)(int8_t)p[0];
	case EVR_FIELD_U16: { uint16_t v; memcpy(&v, p, sizeof v); return v; }
	case EVR_FIELD_I16: { int16_t v; memcpy(&v, p, sizeof v); return (uint64_t)(int64_t)v; }
	case EVR_FIELD_U32: { uint32_t v; memcpy(&v, p, sizeof v); return v; }
	case EVR_FIELD_I32: { int32_t v; memcpy(&v, p, sizeof v); return (uint64_t)(int64_t)v; }
	case EVR_FIELD_U64: case EVR_FIELD_I64: { uint64_t v; memcpy(&v, p, sizeof v); return v; }
	default: return 0;
	}
}

/* The named values of field index fi in d: [*first, *first + return). */
static unsigned values_of(const struct evr_desc_header *d, unsigned fi, const struct evr_desc_value **first)
{
	const struct evr_desc_value *v = evr_desc_values(d);
	unsigned i = value_lower_bound(d, fi, 0), n = 0;
	while (i + n < d->value_count && v[i + n].field == fi)
		n++;
	*first = v + i;
	return n;
}

/* A value both name must have one name, and a name one value. */
static int compat_values(const struct evr_desc_header *ring, unsigned fa, const struct evr_desc_header *mine,
			 unsigned fb, const char *type, char *why, size_t len)
{
	const struct evr_desc_value *va, *vb;
	unsigned na = values_of(ring, fa, &va), nb = values_of(mine, fb, &vb);
	for (unsigned i = 0; i < na; i++)
		for (unsigned j = 0; j < nb; j++)
			if ((va[i].value == vb[j].value) != !strcmp(va[i].name, vb[j].name))
				return bad(why, len, "incompatible schema: type %s field %s: the ring (v%u) names %llu '%s', this "
					   "program's table (v%u) names %llu '%s'; a named value never changes",
					   type, evr_desc_fields(ring)[fa].name, ring->schema_version,
					   (unsigned long long)va[i].value, va[i].name, mine->schema_version,
					   (unsigned long long)vb[j].value, vb[j].name);
	return 0;
}

static void field_text(const struct evr_desc_field *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s at offset %u (%u bytes)", evr_field_kind_name(f->kind), f->name, f->offset, f->size);
}

int evr_desc_compat(const struct evr_desc_header *ring, const struct evr_desc_header *mine, char *why, size_t len)
{
	unsigned nt = ring->type_count < mine->type_count ? ring->type_count : mine->type_count;
	for (unsigned i = 0; i < nt; i++) {
		const struct evr_desc_type *a = &evr_desc_types(ring)[i], *b = &evr_desc_types(mine)[i];
		if (strcmp(a->name, b->name) || strcmp(a->domain, b->domain))
			return bad(why, len, "incompatible schema: type id %u is %s (domain %s) in the ring, %s (domain %s) "
				   "in this program's table (v%u); an id is never reused", i, a->name, a->domain, b->name,
				   b->domain, mine->schema_version);
		unsigned nf = a->field_count < b->field_count ? a->field_count : b->field_count;
		for (unsigned j = 0; j < nf; j++) {
			const struct evr_desc_field *fa = &evr_desc_fields(ring)[a->first_field + j];
			const struct evr_desc_field *fb = &evr_desc_fields(mine)[b->first_field + j];
			if (!strcmp(fa->name, fb->name) && fa->kind == fb->kind && fa->offset == fb->offset &&
			    fa->size == fb->size) {
				int rc = compat_values(ring, a->first_field + j, mine, b->first_field + j, a->name, why, len);
				if (rc)
					return rc;
				continue;
			}
			char ta[80], tb[80];
			field_text(fa, ta, sizeof ta);
			field_text(fb, tb, sizeof tb);
			return bad(why, len, "incompatible schema: type %s field %u: the ring (v%u) has %s, this program's "
				   "table (v%u) has %s; a field never moves, shrinks or changes kind", a->name, j,
				   ring->schema_version, ta, mine->schema_version, tb);
		}
		/* the same fields must leave the same details area, or one side's text is the other's padding */
		if (a->field_count == b->field_count && a->details_offset != b->details_offset)
			return bad(why, len, "incompatible schema: type %s: the ring (v%u) has its details at offset %u, this "
				   "program's table (v%u) at %u, with the same fields", a->name, ring->schema_version,
				   a->details_offset, mine->schema_version, b->details_offset);
	}
	return 0;
}
