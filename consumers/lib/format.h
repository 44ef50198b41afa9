/* Human-readable one-line rendering of a record, for `evring tail` and `evring replay`. */
#ifndef EVR_FORMAT_H
#define EVR_FORMAT_H

#include <stddef.h>

#include <evring/schema.h>

/* "2026-11-25T02:03:04.123456789Z plan_created p3 corr=7 plan=42 plan_name=nightly details=..."
 * rec->ts must already be wall-clock ns (as consumers deliver it). Returns the length as snprintf,
 * or -EPROTO for an invalid record. */
int evr_format_line(const struct evr_record *rec, char *buf, size_t len);

#endif
