/* The agent platform's event schema: its 38 event types, as one table (EVR_EVENTS) from which
 * everything else about them derives: the enum, the payload views, the field descriptors, the
 * description every ring made for the platform stores (evr_platform_desc, evring/describe.h), the
 * typed emit API (evring/emit.h) and docs/schema.md (`evring schema --markdown`). libring, the
 * transport, includes none of it: a consumer that links only libring decodes these records from the
 * ring's own description.
 *
 * Rows and fields may only be appended (docs/design.md, evolution rules): a ring whose description
 * differs otherwise is refused on open, naming the type and field. Changing a row changes
 * evr_platform_hash().
 */
#ifndef EVRING_PLATFORM_H
#define EVRING_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include <evring/record.h>
#include <evring/ring.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVR_SCHEMA_VERSION 1u
#define EVR_SCHEMA_NAME "agent-platform"
#define EVR_MIN_DETAILS 16u /* every type keeps at least this much free text */

/* Domains: X(name) */
#define EVR_DOMAINS(X)                                                                            \
	X(plan) X(decision) X(invariant) X(actor) X(tool) X(resource) X(sandbox) X(context)          \
	X(validation) X(session) X(budget)

/* Per-type context fields: F(T, kind, name, size). kind is U32, U64 or STR (size = bytes incl. NUL);
 * T is passed through untouched so an expansion can name the type's struct (struct evr_ev_##T).
 * Order u64, then u32, then strings, so no struct has inner padding. */
#define EVR_FIELDS_PLAN_CREATED(F, T) F(T, STR, plan_name, 32)
#define EVR_FIELDS_PLAN_PHASE_CHANGED(F, T) F(T, STR, phase_from, 16) F(T, STR, phase_to, 16)
#define EVR_FIELDS_PLAN_STATE_CHANGED(F, T) F(T, STR, state_from, 16) F(T, STR, state_to, 16)
#define EVR_FIELDS_PLAN_APPLIED(F, T) F(T, U64, duration_ns, 0) F(T, U32, resources_changed, 0) F(T, U32, decisions, 0)
#define EVR_FIELDS_PLAN_CANCELLED(F, T) F(T, STR, phase, 16) F(T, STR, cancelled_by, 24)
#define EVR_FIELDS_PLAN_ERRORED(F, T) F(T, U32, error_code, 0) F(T, STR, phase, 16)
#define EVR_FIELDS_DECISION_CREATED(F, T) F(T, U64, decision_id, 0) F(T, STR, kind, 24)
#define EVR_FIELDS_DECISION_APPROVED(F, T) F(T, U64, decision_id, 0) F(T, STR, approver, 24)
#define EVR_FIELDS_DECISION_CORRECTED(F, T) F(T, U64, decision_id, 0) F(T, U32, revision, 0) F(T, STR, corrected_by, 24)
#define EVR_FIELDS_DECISION_SUPERSEDED(F, T) F(T, U64, decision_id, 0) F(T, U64, supersedes_id, 0)
#define EVR_FIELDS_INVARIANT_RECONCILED(F, T) F(T, STR, invariant, 32) F(T, STR, outcome, 16)
#define EVR_FIELDS_INVARIANT_VIOLATED(F, T) F(T, STR, invariant, 32) F(T, STR, outcome, 16)
#define EVR_FIELDS_INVARIANT_ENFORCED(F, T) F(T, STR, invariant, 32) F(T, STR, outcome, 16)
#define EVR_FIELDS_ACTOR_INVOKED(F, T) F(T, U32, attempt, 0) F(T, STR, actor, 24)
#define EVR_FIELDS_ACTOR_COMPLETED(F, T) F(T, U64, duration_ns, 0) F(T, U64, tokens, 0) F(T, STR, actor, 24)
#define EVR_FIELDS_ACTOR_ERRORED(F, T) F(T, U32, attempt, 0) F(T, U32, error_code, 0) F(T, STR, actor, 24)
#define EVR_FIELDS_ACTOR_ESCALATED(F, T) F(T, STR, actor, 24) F(T, STR, escalation_target, 24)
#define EVR_FIELDS_TOOL_INVOKED(F, T) F(T, U32, attempt, 0) F(T, STR, tool, 24) F(T, STR, actor, 24)
#define EVR_FIELDS_TOOL_COMPLETED(F, T) F(T, U64, duration_ns, 0) F(T, U32, attempt, 0) F(T, STR, tool, 24)
#define EVR_FIELDS_TOOL_ERRORED(F, T)                                                                \
	F(T, U64, duration_ns, 0) F(T, U32, attempt, 0) F(T, U32, error_code, 0) F(T, STR, tool, 24)
#define EVR_FIELDS_TOOL_RETRIED(F, T) F(T, U32, attempt, 0) F(T, U32, backoff_ms, 0) F(T, STR, tool, 24)
#define EVR_FIELDS_RESOURCE_MODIFIED(F, T) F(T, U64, resource_id, 0) F(T, U64, bytes, 0) F(T, STR, path, 40)
#define EVR_FIELDS_RESOURCE_ACCESSED(F, T) F(T, U64, resource_id, 0) F(T, STR, path, 40) F(T, STR, mode, 8)
#define EVR_FIELDS_RESOURCE_INDEXED(F, T) F(T, U64, resource_id, 0) F(T, U32, chunks, 0) F(T, STR, path, 40)
#define EVR_FIELDS_SANDBOX_CREATED(F, T) F(T, U64, sandbox_id, 0) F(T, STR, base, 24)
#define EVR_FIELDS_SANDBOX_COMMITTED(F, T) F(T, U64, sandbox_id, 0) F(T, U32, files_changed, 0)
#define EVR_FIELDS_SANDBOX_ROLLED_BACK(F, T) F(T, U64, sandbox_id, 0) F(T, U64, checkpoint_id, 0) F(T, STR, reason, 24)
#define EVR_FIELDS_CHECKPOINT_CREATED(F, T) F(T, U64, sandbox_id, 0) F(T, U64, checkpoint_id, 0)
#define EVR_FIELDS_CHECKPOINT_RESTORED(F, T) F(T, U64, sandbox_id, 0) F(T, U64, checkpoint_id, 0)
#define EVR_FIELDS_CONTEXT_BUILT(F, T) F(T, U32, token_count, 0) F(T, U32, token_budget, 0) F(T, U32, item_count, 0)
#define EVR_FIELDS_CONTEXT_QUERY_EXECUTED(F, T) F(T, U64, duration_ns, 0) F(T, U32, result_count, 0) F(T, STR, query, 32)
#define EVR_FIELDS_VALIDATION_STARTED(F, T) F(T, U32, check_count, 0) F(T, STR, validator, 24)
#define EVR_FIELDS_VALIDATION_PASSED(F, T) F(T, U64, duration_ns, 0) F(T, U32, check_count, 0) F(T, STR, validator, 24)
#define EVR_FIELDS_VALIDATION_FAILED(F, T) F(T, U32, check_count, 0) F(T, U32, failure_count, 0) F(T, STR, validator, 24)
#define EVR_FIELDS_SESSION_CREATED(F, T) F(T, U64, session_id, 0) F(T, STR, user, 24)
#define EVR_FIELDS_SESSION_MESSAGE_SENT(F, T)                                                        \
	F(T, U64, session_id, 0) F(T, U64, message_id, 0) F(T, U32, tokens, 0) F(T, STR, role, 16)
#define EVR_FIELDS_BUDGET_WARNING(F, T)                                                              \
	F(T, U64, spent_micros, 0) F(T, U64, limit_micros, 0) F(T, U32, threshold_pct, 0) F(T, STR, budget, 24)
#define EVR_FIELDS_BUDGET_EXCEEDED(F, T) F(T, U64, spent_micros, 0) F(T, U64, limit_micros, 0) F(T, STR, budget, 24)

/* The table: X(UPPER_NAME, lower_name, domain). Order is the wire value of the type. */
#define EVR_EVENTS(X)                                                                             \
	X(PLAN_CREATED, plan_created, plan)                                                       \
	X(PLAN_PHASE_CHANGED, plan_phase_changed, plan)                                           \
	X(PLAN_STATE_CHANGED, plan_state_changed, plan)                                           \
	X(PLAN_APPLIED, plan_applied, plan)                                                       \
	X(PLAN_CANCELLED, plan_cancelled, plan)                                                   \
	X(PLAN_ERRORED, plan_errored, plan)                                                       \
	X(DECISION_CREATED, decision_created, decision)                                           \
	X(DECISION_APPROVED, decision_approved, decision)                                         \
	X(DECISION_CORRECTED, decision_corrected, decision)                                       \
	X(DECISION_SUPERSEDED, decision_superseded, decision)                                     \
	X(INVARIANT_RECONCILED, invariant_reconciled, invariant)                                  \
	X(INVARIANT_VIOLATED, invariant_violated, invariant)                                      \
	X(INVARIANT_ENFORCED, invariant_enforced, invariant)                                      \
	X(ACTOR_INVOKED, actor_invoked, actor)                                                    \
	X(ACTOR_COMPLETED, actor_completed, actor)                                                \
	X(ACTOR_ERRORED, actor_errored, actor)                                                    \
	X(ACTOR_ESCALATED, actor_escalated, actor)                                                \
	X(TOOL_INVOKED, tool_invoked, tool)                                                       \
	X(TOOL_COMPLETED, tool_completed, tool)                                                   \
	X(TOOL_ERRORED, tool_errored, tool)                                                       \
	X(TOOL_RETRIED, tool_retried, tool)                                                       \
	X(RESOURCE_MODIFIED, resource_modified, resource)                                         \
	X(RESOURCE_ACCESSED, resource_accessed, resource)                                         \
	X(RESOURCE_INDEXED, resource_indexed, resource)                                           \
	X(SANDBOX_CREATED, sandbox_created, sandbox)                                              \
	X(SANDBOX_COMMITTED, sandbox_committed, sandbox)                                          \
	X(SANDBOX_ROLLED_BACK, sandbox_rolled_back, sandbox)                                      \
	X(CHECKPOINT_CREATED, checkpoint_created, sandbox)                                        \
	X(CHECKPOINT_RESTORED, checkpoint_restored, sandbox)                                      \
	X(CONTEXT_BUILT, context_built, context)                                                  \
	X(CONTEXT_QUERY_EXECUTED, context_query_executed, context)                                \
	X(VALIDATION_STARTED, validation_started, validation)                                     \
	X(VALIDATION_PASSED, validation_passed, validation)                                       \
	X(VALIDATION_FAILED, validation_failed, validation)                                       \
	X(SESSION_CREATED, session_created, session)                                              \
	X(SESSION_MESSAGE_SENT, session_message_sent, session)                                    \
	X(BUDGET_WARNING, budget_warning, budget)                                                 \
	X(BUDGET_EXCEEDED, budget_exceeded, budget)

enum evr_domain {
#define EVR_X_DOMAIN_ENUM(d) EVR_DOMAIN_##d,
	EVR_DOMAINS(EVR_X_DOMAIN_ENUM)
#undef EVR_X_DOMAIN_ENUM
	EVR_DOMAIN_COUNT
};

enum evr_type {
#define EVR_X_TYPE_ENUM(U, l, d) EVR_##U,
	EVR_EVENTS(EVR_X_TYPE_ENUM)
#undef EVR_X_TYPE_ENUM
	EVR_EVENT_COUNT
};

/* Payload views: struct evr_ev_plan_created { char plan_name[32]; } etc., read and written in place
 * through EVR_EV(rec, plan_created)->plan_name. The payload is raw bytes to the transport; may_alias
 * tells the compiler a view may touch bytes written as anything else (whole-record copies, other
 * views, the generic decoder), so no access through a view is undefined. */
#define EVR_X_FIELD_DECL_U32(name, n) uint32_t name;
#define EVR_X_FIELD_DECL_U64(name, n) uint64_t name;
#define EVR_X_FIELD_DECL_STR(name, n) char name[n];
#define EVR_X_FIELD_DECL(T, kind, name, n) EVR_X_FIELD_DECL_##kind(name, n)
#define EVR_X_PAYLOAD_STRUCT(U, l, d) struct __attribute__((may_alias)) evr_ev_##l { EVR_FIELDS_##U(EVR_X_FIELD_DECL, l) };
EVR_EVENTS(EVR_X_PAYLOAD_STRUCT)
#undef EVR_X_PAYLOAD_STRUCT

/* The payload of record `rec` (a pointer) as event type `type` (lower_name): EVR_EV(r, tool_retried)->attempt. */
#define EVR_EV(rec, type) ((struct evr_ev_##type *)(void *)(rec)->u.raw)

#define EVR_X_DETAILS_ROOM(U, l, d)                                                               \
	EVR_STATIC_ASSERT(sizeof(struct evr_ev_##l) + EVR_MIN_DETAILS <= EVR_PAYLOAD_SIZE,           \
		       #l " leaves room for details");
EVR_EVENTS(EVR_X_DETAILS_ROOM)
#undef EVR_X_DETAILS_ROOM

extern const struct evr_event_desc evr_events[EVR_EVENT_COUNT];

/* The table's rows, in the form evr_desc_build takes: evr_events[t] for t < EVR_EVENT_COUNT.
 * Name lookups: NULL for an out-of-range number, -ENOENT for an unknown name. Type names match
 * either case. */
const struct evr_event_desc *evr_event_desc(unsigned type);
const char *evr_type_name(unsigned type);
int evr_type_from_name(const char *name);
const char *evr_domain_name(unsigned domain);
int evr_domain_from_name(const char *name);

/* The description of this table (describe.h), built once: what evr_ring_create stores for the
 * platform (opts.schema) and what its producers open rings with (evr_platform_open). */
const struct evr_desc_header *evr_platform_desc(void);

/* FNV-1a over the bytes of the table's description (evr_desc_hash): any change to the table
 * changes it. A ring's info carries the hash of its own description. evr_platform_hash_of hashes a
 * variant of the table (`count` rows) under this schema's name and version. */
uint64_t evr_platform_hash(void);
uint64_t evr_platform_hash_of(const struct evr_event_desc *table, size_t count);

/* evr_ring_opts_default, with this table as the ring's schema. */
void evr_platform_opts(struct evr_ring_opts *opts);
/* evr_ring_open_schema with this table: what a process that writes records through the typed API
 * (emit.h) or reads them through EVR_EV opens a ring with, so that a ring of an incompatible table is
 * refused (naming the type and field) instead of misread. */
int evr_platform_open(const char *name, enum evr_role role, struct evr_ring **out, struct evr_err *err);

/* Build records. evr_record_init zeroes the record and sets type and ids; EVR_SET_STR copies into a
 * string field with evr_record_set_str (record.h). */
void evr_record_init(struct evr_record *r, enum evr_type type, uint64_t correlation_id, uint64_t plan_id);
#define EVR_SET_STR(rec, member, src) evr_record_set_str((rec), (member), sizeof(member), (src))
/* Returns 0, 1 when the text was truncated, -EINVAL for a record of unknown type. */
int evr_record_set_details(struct evr_record *r, const char *text);
/* The details text, or NULL for a record of unknown type or with details not NUL-terminated. */
const char *evr_record_details(const struct evr_record *r);

/* Set a field by name from text (for `evring emit key=value`). Keys: the type's fields, plus
 * correlation_id, plan_id and details. Returns 0, 1 when a string was truncated, -ENOENT for an
 * unknown key, -EINVAL for a value that does not parse or a record of unknown type. */
int evr_record_set_field(struct evr_record *r, const char *key, const char *value);

/* Validate a record: known type, known flags, every string NUL-terminated inside its field.
 * Returns 0 or -EPROTO, with a reason in why (if not NULL). Never reads outside the record. */
int evr_record_validate(const struct evr_record *r, char *why, size_t why_len);

/* One JSON object, no newline, stable field names. Returns the length written (as snprintf does,
 * the length it needed if buf was too small) or -EPROTO for a record that fails validation. */
int evr_record_to_json(const struct evr_record *r, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
