/* evring typed emit: one function per event type, generated from the schema table and always inlined
 * into its call site (about 100 instructions of code each; LTTng inlines its tracepoints the same way).
 *
 *     evr_emit_tool_retried(p, corr, plan, &(struct evr_args_tool_retried){
 *             .tool = "web_search", .attempt = 2, .backoff_ms = 250 });
 *
 * struct evr_args_<type> has the type's fields from EVR_FIELDS_<TYPE> (strings as const char *,
 * NULL meaning empty) plus `details`. Because the argument structs and the functions are expanded
 * from the same X-macro table as the record layout, a field cannot be added to the schema without
 * appearing here. Strings that do not fit are cut at a UTF-8 boundary and the record is flagged
 * EVR_REC_TRUNCATED. The fields are written straight into the ring's slot, claimed and published
 * inline (evr_x_typed_claim below): no record on the stack, no second copy, no call into the library
 * in the common case. The call returns 0, or -EAGAIN when the
 * record was dropped (already counted in the producer table), or another evr_claim() error; it never
 * blocks, allocates or makes a system call (except evr_emit's one FUTEX_WAKE for a sleeping consumer).
 */
#ifndef EVRING_EMIT_H
#define EVRING_EMIT_H

#include <evring/producer.h>
#include <evring/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Copy src into a string field that evr_claim zeroed (so no memset); when it does not fit, cut it
 * at a UTF-8 boundary and flag the record EVR_REC_TRUNCATED, as evr_record_set_str does. The
 * builtins are libc's strlen and memcpy (vectorised), without a header of their own. */
EVR_X_INLINE void evr_x_put_str(struct evr_record *r, char *field, size_t size, const char *src)
{
	size_t n = __builtin_strlen(src);
	if (__builtin_expect(n >= size, 0)) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--; /* do not cut a UTF-8 sequence in half */
		r->flags |= EVR_REC_TRUNCATED;
	}
	__builtin_memcpy(field, src, n);
}

/* The claim and commit of a typed emit: evr_claim_fast and evr_commit_fast without what the typed
 * emit cannot need. It writes only its own fields, inside their bounds, and EVR_REC_TRUNCATED, so
 * the record's type, producer id and lane are still the claim's at the commit, and no other code
 * sees the claim in between: the handle's note of an open claim is skipped, and so is the commit's
 * re-check. A claim the inline path cannot make is made by evr_claim and committed by evr_commit. */
EVR_X_INLINE int evr_x_typed_claim(struct evr_producer *p, unsigned type, struct evr_x_claim *c)
{
#if EVR_X_INLINE_CLAIMS
	struct evr_producer_hot *h = (struct evr_producer_hot *)(void *)p;
	if (__builtin_expect(type < h->inline_types && !h->claim, 1)) {
		int rc = evr_x_claim_inline(p, h, type, c);
		if (__builtin_expect(rc != 0, 1))
			return rc < 0 ? rc : 0;
	}
#endif
	c->inl = 0;
	return evr_claim(p, type, &c->rec);
}

EVR_X_INLINE int evr_x_typed_commit(struct evr_producer *p, const struct evr_x_claim *c)
{
#if EVR_X_INLINE_CLAIMS
	if (__builtin_expect(c->inl, 1))
		return evr_x_publish(p, (struct evr_producer_hot *)(void *)p, c->rec, c->pos);
#else
	(void)c; /* every claim was evr_claim's */
#endif
	return evr_commit(p);
}

#define EVR_X_ARG_DECL_U32(name, n) uint32_t name;
#define EVR_X_ARG_DECL_U64(name, n) uint64_t name;
#define EVR_X_ARG_DECL_STR(name, n) const char *name;
#define EVR_X_ARG_DECL(T, kind, name, n) EVR_X_ARG_DECL_##kind(name, n)

#define EVR_X_ARG_COPY_U32(T, name, n) EVR_EV(r, T)->name = a->name;
#define EVR_X_ARG_COPY_U64(T, name, n) EVR_EV(r, T)->name = a->name;
#define EVR_X_ARG_COPY_STR(T, name, n)                                                            \
	if (a->name)                                                                              \
		evr_x_put_str(r, EVR_EV(r, T)->name, sizeof EVR_EV(r, T)->name, a->name);
#define EVR_X_ARG_COPY(T, kind, name, n) EVR_X_ARG_COPY_##kind(T, name, n)

#define EVR_X_TYPED_EMIT(U, l, d)                                                                 \
	struct evr_args_##l {                                                                     \
		EVR_FIELDS_##U(EVR_X_ARG_DECL, l) const char *details;                            \
	};                                                                                        \
	EVR_X_INLINE int evr_emit_##l(struct evr_producer *p, uint64_t correlation_id,           \
				       uint64_t plan_id, const struct evr_args_##l *a)            \
	{                                                                                         \
		struct evr_x_claim c = { 0, 0, 0, 0 };                                            \
		int rc = evr_x_typed_claim(p, EVR_##U, &c);                                       \
		if (rc)                                                                           \
			return rc;                                                                \
		struct evr_record *r = c.rec;                                                     \
		r->correlation_id = correlation_id;                                               \
		r->plan_id = plan_id;                                                             \
		EVR_FIELDS_##U(EVR_X_ARG_COPY, l)                                                 \
		if (a->details) /* the details follow the type's fields (evr_events[].details_offset) */  \
			evr_x_put_str(r, (char *)&r->u + sizeof(struct evr_ev_##l),               \
				      EVR_PAYLOAD_SIZE - sizeof(struct evr_ev_##l), a->details);       \
		return evr_x_typed_commit(p, &c);                                                 \
	}
EVR_EVENTS(EVR_X_TYPED_EMIT)
#undef EVR_X_TYPED_EMIT

#ifdef __cplusplus
}
#endif
#endif
