/* evring schema description: what a ring says about its own records.
 *
 * At creation a ring stores the description of its event table in its own region of the segment
 * (between the header page and the producer table): the schema's name and version, then for each
 * type its id, name, domain, since-version and details area, then for each field its name, kind,
 * offset, size and since-version. A reader needs no compiled table to decode a record: it looks the
 * record's type up in the ring's description. The same bytes travel in record logs and bridges.
 *
 * Format (native byte order, every entry fixed-size, names NUL-terminated inside their field):
 *   struct evr_desc_header                 64 bytes
 *   struct evr_desc_type  [type_count]     64 bytes each; entry i has id i (ids are wire values)
 *   struct evr_desc_field [field_count]    32 bytes each; a type's fields are contiguous, in
 *                                          ascending offset order (appended fields come last)
 *   struct evr_desc_value [value_count]    32 bytes each (format 2 only): named values of integer
 *                                          fields (an enum), by field index, then value as
 *                                          stored (unsigned), ascending
 * size == 64 + 64 * type_count + 32 * field_count + 32 * value_count, at most EVR_DESC_MAX_SIZE.
 * A description without named values is format 1, byte for byte what earlier versions wrote; one
 * with them is format 2, which readers older than it refuse by its format number. A description is
 * only used after evr_desc_validate() accepted it (open does this on a private copy).
 *
 * Evolution (see docs/design.md): types and fields are only appended; a field never moves, shrinks
 * or changes kind; a type never changes id, name or domain. evr_desc_compat() enforces this.
 */
#ifndef EVRING_DESCRIBE_H
#define EVRING_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EVR_DESC_MAGIC 0x44535645u /* "EVSD" little-endian */
#define EVR_DESC_FORMAT 1u        /* without named values */
#define EVR_DESC_FORMAT_VALUES 2u /* with named values */
#define EVR_DESC_MAX_TYPES 512u
#define EVR_DESC_MAX_FIELDS 32u /* per type: a payload of 88 bytes holds at most 22 integers */
#define EVR_DESC_MAX_VALUES 4096u
#define EVR_DESC_MAX_SIZE (64u + 64u * EVR_DESC_MAX_TYPES + 32u * 2048u + 32u * EVR_DESC_MAX_VALUES)

struct evr_desc_header {
	uint32_t magic;          /*  0: EVR_DESC_MAGIC */
	uint32_t format;         /*  4: EVR_DESC_FORMAT */
	uint32_t size;           /*  8: bytes, this header included */
	uint32_t schema_version; /* 12: version of the table that wrote it */
	uint16_t type_count;     /* 16 */
	uint16_t field_count;    /* 18: all types together */
	uint16_t record_size;    /* 20: EVR_RECORD_SIZE */
	uint16_t record_hdr_size; /* 22: EVR_RECORD_HDR_SIZE */
	uint16_t value_count;    /* 24: named values (format 2; zero in format 1) */
	uint16_t reserved16;     /* 26: zero */
	uint32_t reserved;       /* 28: zero */
	char name[32];           /* 32: the schema's name, e.g. "agent-platform" */
};

struct evr_desc_type {
	uint16_t id;             /*  0: the record's type value; equals the entry's index */
	uint16_t since;          /*  2: schema version that added the type */
	uint16_t first_field;    /*  4: index of its first field in the field array */
	uint16_t field_count;    /*  6 */
	uint16_t details_offset; /*  8: from the start of the record */
	uint16_t details_size;   /* 10: bytes, including the NUL; details run to the record's end */
	uint32_t reserved;       /* 12: zero */
	char name[32];           /* 16: "tool_retried" */
	char domain[16];         /* 48: "tool" */
};

struct evr_desc_field {
	char name[24];   /*  0 */
	uint16_t offset; /* 24: from the start of the record */
	uint16_t size;   /* 26: bytes (integers: 1, 2, 4, 8; strings: including the NUL) */
	uint8_t kind;    /* 28: enum evr_field_kind */
	uint8_t reserved; /* 29: zero */
	uint16_t since;  /* 30: schema version that added the field */
};

/* A named value of an integer field: the field reads `name` when it holds `value`. */
struct evr_desc_value {
	uint16_t field;    /*  0: index in the field array */
	uint16_t since;    /*  2: schema version that named it */
	uint32_t reserved; /*  4: zero */
	uint64_t value;    /*  8: the field's bits, zero-extended (a signed field's value as int64_t) */
	char name[16];     /* 16: "operator" */
};

EVR_STATIC_ASSERT(sizeof(struct evr_desc_header) == 64, "description header is 64 bytes");
EVR_STATIC_ASSERT(sizeof(struct evr_desc_value) == 32, "value entry is 32 bytes");
EVR_STATIC_ASSERT(sizeof(struct evr_desc_type) == 64, "type entry is 64 bytes");
EVR_STATIC_ASSERT(sizeof(struct evr_desc_field) == 32, "field entry is 32 bytes");

/* The entries of a validated description. */
static inline const struct evr_desc_type *evr_desc_types(const struct evr_desc_header *d)
{
	return (const struct evr_desc_type *)(const void *)(d + 1);
}

static inline const struct evr_desc_field *evr_desc_fields(const struct evr_desc_header *d)
{
	return (const struct evr_desc_field *)(const void *)(evr_desc_types(d) + d->type_count);
}

static inline const struct evr_desc_value *evr_desc_values(const struct evr_desc_header *d)
{
	return (const struct evr_desc_value *)(const void *)(evr_desc_fields(d) + d->field_count);
}

/* The entry of type `type`, or NULL when the description has no such type. */
static inline const struct evr_desc_type *evr_desc_type(const struct evr_desc_header *d, unsigned type)
{
	return type < d->type_count ? &evr_desc_types(d)[type] : (const struct evr_desc_type *)0;
}

/* Write the description of `count` types of `table` (ids 0..count-1) into buf. Types and fields
 * whose since is 0 count as version 1. Returns the size written (or needed, when cap is smaller:
 * nothing is written then), or -EINVAL when the table is not a valid description (the checks of
 * evr_desc_validate). */
int evr_desc_build(const struct evr_event_desc *table, size_t count, const char *schema_name,
		   uint32_t schema_version, void *buf, size_t cap);

/* Check every field of a description of `size` bytes: sizes and counts, names (NUL-terminated,
 * non-empty, [a-z0-9_], unique), ids, kinds and sizes, offsets inside the payload, fields in
 * ascending order and not overlapping the details. Never reads outside buf. Returns 0 or -EPROTO
 * with the first problem in why (if not NULL). */
int evr_desc_validate(const void *buf, size_t size, char *why, size_t why_len);

/* Whether a ring described by `ring` and a table described by `mine` (both validated) can share
 * records: every type both know has the same id, name and domain, every field both know has the
 * same name, kind, offset and size, and a value both name has the same name. Either may have more
 * types, fields or named values (appended). Returns 0,
 * or -EPROTO with a sentence naming the type, the field and both definitions. */
int evr_desc_compat(const struct evr_desc_header *ring, const struct evr_desc_header *mine, char *why,
		    size_t why_len);

/* FNV-1a over the description's bytes: equal hashes, equal descriptions. */
uint64_t evr_desc_hash(const struct evr_desc_header *d);

/* Kind as text: "u8".."u64", "i8".."i64", "string"; "?" for an unknown kind. */
const char *evr_field_kind_name(unsigned kind);

/* The name of `value` in field `field` (an index in the field array) of a validated description, or
 * NULL when it has none. */
const char *evr_desc_value_name(const struct evr_desc_header *d, unsigned field, uint64_t value);

/* The integer in a record's field of an integer kind, zero-extended (a signed kind sign-extended to
 * int64_t, then taken as uint64_t): what struct evr_desc_value's value is compared with. */
uint64_t evr_desc_field_bits(const struct evr_desc_field *f, const struct evr_record *r);

/* Whether an integer kind is signed: its evr_desc_field_bits are an int64_t. */
static inline int evr_field_kind_signed(unsigned kind)
{
	return kind >= EVR_FIELD_I8 && kind <= EVR_FIELD_I64;
}

/* The schema version of the producer that wrote r (flags bits 8-15), 0 when not recorded: records
 * of producers whose table is older than the ring's carry it, so a reader knows which fields they
 * could not set. */
static inline unsigned evr_record_version(const struct evr_record *r)
{
	return (unsigned)(r->flags >> EVR_REC_VERSION_SHIFT);
}

/* Validate a record against a description: a type it knows, known flags, every string field and
 * the details NUL-terminated. Returns 0 or -EPROTO with a reason in why (if not NULL). */
int evr_desc_record_validate(const struct evr_desc_header *d, const struct evr_record *r, char *why,
			     size_t why_len);

/* Bytes that hold the JSON of any record under any valid description, NUL included: the widest,
 * 32 one-byte fields with 23-byte names and 15-byte value names, or 88 bytes of control characters
 * escaped six-fold, stay under 2.2 KiB (test_describe checks both). A text line (consumers'
 * evr_format_line_desc) is shorter. */
#define EVR_DESC_JSON_MAX 4096

/* Decode a record with a description, without any compiled table: one JSON object, no newline,
 * fields in description order; a field added after the record's producer version (see
 * evr_record_version) is null, an integer with a named value is that name as a string. Returns the length written (snprintf-style) or -EPROTO for a
 * record that fails evr_desc_record_validate. */
int evr_desc_record_to_json(const struct evr_desc_header *d, const struct evr_record *r, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
