/* evring records: the fixed 128-byte wire format every ring, record log and bridge carries.
 *
 * The transport knows a record's header (position, time, ids, type, flags, producer, lane) and that
 * the rest is 88 bytes of payload: the type's own fields, then NUL-terminated details text. What the
 * fields of a type are is the business of a schema (an event table such as the platform's,
 * evring/platform.h) and of the description each ring stores of it (evring/describe.h), never of
 * libring itself.
 *
 * Strings are NUL-padded and always NUL-terminated inside their field; a string that did not fit was
 * truncated and the record carries EVR_REC_TRUNCATED.
 */
#ifndef EVRING_RECORD_H
#define EVRING_RECORD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* C11 spells it _Static_assert, C++ static_assert: the layout checks hold in both languages. */
#ifdef __cplusplus
#define EVR_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define EVR_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#define EVR_RECORD_SIZE 128u
#define EVR_RECORD_HDR_SIZE 40u
#define EVR_PAYLOAD_SIZE (EVR_RECORD_SIZE - EVR_RECORD_HDR_SIZE) /* 88 */

/* Record flags. */
#define EVR_REC_TRUNCATED 0x1u /* a string field or the details text was cut to fit */
#define EVR_REC_REPLAYED 0x2u  /* re-emitted from a record log or a bridge, not by its service */
#define EVR_REC_VERSION_SHIFT 8 /* bits 8-15: schema version of an older producer (see describe.h) */
#define EVR_REC_FLAGS_KNOWN (EVR_REC_TRUNCATED | EVR_REC_REPLAYED | 0xff00u)

/* The record. In a ring slot, bytes 0..7 are the slot's control word (private); in a record
 * delivered to a consumer they hold the record's position in its lane. A schema reads the payload
 * through its own views (evring/platform.h: EVR_EV). */
struct evr_record {
	uint64_t seq;            /*  0: lane position (delivered records) */
	uint64_t ts;             /*  8: wall-clock ns since the epoch (delivered records) */
	uint64_t correlation_id; /* 16 */
	uint64_t plan_id;        /* 24 */
	uint16_t type;           /* 32: the type's id in the ring's description */
	uint16_t flags;          /* 34: EVR_REC_* */
	uint16_t producer_id;    /* 36: index in the ring's producer table */
	uint16_t lane;           /* 38 */
	union {                  /* 40: the type's own fields, then NUL-terminated details text */
		unsigned char raw[EVR_PAYLOAD_SIZE];
		uint64_t align; /* views of the payload may hold 8-byte integers at 8-aligned offsets */
	} u;
};

EVR_STATIC_ASSERT(sizeof(struct evr_record) == EVR_RECORD_SIZE, "record is 128 bytes");
EVR_STATIC_ASSERT(offsetof(struct evr_record, u) == EVR_RECORD_HDR_SIZE, "payload at 40");
EVR_STATIC_ASSERT(offsetof(struct evr_record, type) == 32, "type at 32");

/* Field kinds, as stored in ring descriptions. Values never change. */
enum evr_field_kind {
	EVR_FIELD_U32 = 1, EVR_FIELD_U64 = 2, EVR_FIELD_STR = 3, EVR_FIELD_U8 = 4, EVR_FIELD_U16 = 5,
	EVR_FIELD_I8 = 6, EVR_FIELD_I16 = 7, EVR_FIELD_I32 = 8, EVR_FIELD_I64 = 9,
};

/* An event table in C, the input of evr_desc_build (describe.h): a schema module (such as the
 * platform's) defines one, a ring stores its description. */
struct evr_value_desc { /* a named value of an integer field (an enum) */
	const char *name;
	uint64_t value; /* a signed field's value as int64_t */
	uint16_t since; /* schema version that named it; 0 means the field's */
};

struct evr_field_desc {
	const char *name;
	enum evr_field_kind kind;
	uint16_t offset; /* from the start of the record */
	uint16_t size;
	uint16_t since; /* schema version that added the field; 0 means 1 */
	const struct evr_value_desc *values; /* integer fields: named values, ascending by value as stored
					     * (unsigned), or NULL */
	uint16_t value_count;
};

struct evr_event_desc {
	const char *name;       /* "plan_created" */
	const char *upper_name; /* "PLAN_CREATED" */
	const char *domain;     /* "plan" */
	const struct evr_field_desc *fields;
	uint16_t field_count;
	uint16_t details_offset; /* from the start of the record */
	uint16_t details_size;   /* bytes, including the terminating NUL */
	uint16_t since;          /* schema version that added the type; 0 means 1 */
};

/* Copy src into a string field of the record, truncating at a UTF-8 boundary (and flagging
 * EVR_REC_TRUNCATED) when it does not fit; NULL copies the empty string. Returns 1 when it
 * truncated, 0 otherwise. */
int evr_record_set_str(struct evr_record *r, char *field, size_t field_size, const char *src);

#ifdef __cplusplus
}
#endif
#endif
