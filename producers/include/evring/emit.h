/* evring typed emit: one inline function per event type, generated from the schema table.
 *
 *     evr_emit_tool_retried(p, corr, plan, &(struct evr_args_tool_retried){
 *             .tool = "web_search", .attempt = 2, .backoff_ms = 250 });
 *
 * struct evr_args_<type> has the type's fields from EVR_FIELDS_<TYPE> (strings as const char *,
 * NULL meaning empty) plus `details`. Because the argument structs and the functions are expanded
 * from the same X-macro table as the record layout, a field cannot be added to the schema without
 * appearing here. Strings that do not fit are cut at a UTF-8 boundary and the record is flagged
 * EVR_REC_TRUNCATED. The call returns evr_emit()'s status: 0, or -EAGAIN when the record was dropped
 * (already counted in the producer table); it never blocks, allocates or makes a system call.
 */
#ifndef EVRING_EMIT_H
#define EVRING_EMIT_H

#include <evring/producer.h>
#include <evring/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVR_X_ARG_DECL_U32(name, n) uint32_t name;
#define EVR_X_ARG_DECL_U64(name, n) uint64_t name;
#define EVR_X_ARG_DECL_STR(name, n) const char *name;
#define EVR_X_ARG_DECL(T, kind, name, n) EVR_X_ARG_DECL_##kind(name, n)

#define EVR_X_ARG_COPY_U32(T, name, n) EVR_EV(&r, T)->name = a->name;
#define EVR_X_ARG_COPY_U64(T, name, n) EVR_EV(&r, T)->name = a->name;
#define EVR_X_ARG_COPY_STR(T, name, n)                                                            \
	if (a->name)                                                                              \
		evr_record_set_str(&r, EVR_EV(&r, T)->name, sizeof EVR_EV(&r, T)->name, a->name);
#define EVR_X_ARG_COPY(T, kind, name, n) EVR_X_ARG_COPY_##kind(T, name, n)

#define EVR_X_TYPED_EMIT(U, l, d)                                                                 \
	struct evr_args_##l {                                                                     \
		EVR_FIELDS_##U(EVR_X_ARG_DECL, l) const char *details;                            \
	};                                                                                        \
	static inline int evr_emit_##l(struct evr_producer *p, uint64_t correlation_id,          \
				       uint64_t plan_id, const struct evr_args_##l *a)            \
	{                                                                                         \
		struct evr_record r;                                                              \
		evr_record_init(&r, EVR_##U, correlation_id, plan_id);                            \
		EVR_FIELDS_##U(EVR_X_ARG_COPY, l)                                                 \
		if (a->details)                                                                   \
			evr_record_set_details(&r, a->details);                                   \
		return evr_emit(p, &r);                                                           \
	}
EVR_EVENTS(EVR_X_TYPED_EMIT)
#undef EVR_X_TYPED_EMIT

#ifdef __cplusplus
}
#endif
#endif
