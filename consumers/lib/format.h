/* Human-readable one-line rendering of a record, for `evring tail` and `evring replay`, driven by a
 * schema description (describe.h), like the JSON. */
#ifndef EVR_FORMAT_H
#define EVR_FORMAT_H

#include <stddef.h>

#include <evring/describe.h>

/* "2026-11-25T02:03:04.123456789Z plan_created p3 corr=7 plan=42 plan_name=nightly details=..."
 * rec->ts must already be wall-clock ns (as consumers deliver it). Returns the length as snprintf,
 * or -EPROTO for an invalid record. */
int evr_format_line(const struct evr_record *rec, char *buf, size_t len);
/* The same from a description (a ring's own, evr_ring_schema): types and fields this program was
 * not built with are printed by name; a field its producer's table predates is left out.
 * evr_format_line is this with the platform's description. */
int evr_format_line_desc(const struct evr_desc_header *d, const struct evr_record *rec, char *buf, size_t len);

/* value bare when plain (non-empty; no space, quote, backslash, '=' or control character), else
 * "quoted" with \n \t \r \" \\ and \xHH for other control bytes and invalid UTF-8. Returns the
 * length as snprintf does (what it needed when len was too small); buf stays NUL-terminated. */
size_t evr_format_escaped(const char *value, char *buf, size_t len);

#endif
