/* The LTTng-UST tracepoint the benchmark compares against: one event carrying the same 128-byte
 * payload an evring record has. Compiled only when liblttng-ust-dev is present. */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER evr_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./lttng_tp.h"

#if !defined(EVR_BENCH_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define EVR_BENCH_LTTNG_TP_H

#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(evr_bench, record,
	LTTNG_UST_TP_ARGS(const char *, payload),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_array(char, payload, payload, 128)))

#endif

#include <lttng/tracepoint-event.h>
