/* The platform's eleven domain services as small state machines that emit evring events at their
 * lifecycle points.
 *
 * Every service call either performs a legal transition, emits its events and returns 0, or rejects
 * an illegal one (-EPERM: not allowed in the current state; -EINVAL: bad argument) and emits nothing.
 * Emission is fire-and-forget: a dropped record (full or contended ring) is counted in the service's
 * `dropped` and never fails or delays the operation. The structs are plain values owned by the
 * caller; nothing here allocates or locks.
 */
#ifndef EVR_SERVICES_H
#define EVR_SERVICES_H

#include <stdbool.h>
#include <stdint.h>

#include <evring/emit.h>

#include "monotime.h" /* evr_mono_ns: durations carried in events */

struct evr_svc {
	struct evr_producer *p;
	uint64_t emitted, dropped;
	uint64_t by_type[EVR_EVENT_COUNT]; /* emits attempted per type (published or dropped) */
};

static inline void evr_svc_init(struct evr_svc *s, struct evr_producer *p)
{
	*s = (struct evr_svc){ .p = p };
}

/* Count an emit status: a drop is recorded, never propagated. */
static inline void evr_svc_note(struct evr_svc *s, enum evr_type type, int rc)
{
	s->by_type[type]++;
	if (rc == 0)
		s->emitted++;
	else
		s->dropped++;
}

/* ---- plan lifecycle: create -> strategize -> execute -> apply ------------------------------ */
enum evr_plan_phase { EVR_PHASE_CREATED, EVR_PHASE_STRATEGIZE, EVR_PHASE_EXECUTE, EVR_PHASE_APPLY };
enum evr_plan_state { EVR_PLAN_ST_PENDING, EVR_PLAN_ST_PROCESSING, EVR_PLAN_ST_COMPLETED, EVR_PLAN_ST_FAILED, EVR_PLAN_ST_CANCELLED };
struct evr_plan {
	uint64_t id, correlation_id;
	enum evr_plan_phase phase;
	enum evr_plan_state state;
	uint64_t created_ns; /* for PLAN_APPLIED's duration */
	uint32_t decisions, resources_changed;
};
const char *evr_plan_phase_name(enum evr_plan_phase ph);
const char *evr_plan_state_name(enum evr_plan_state st);
int evr_plan_create(struct evr_svc *s, struct evr_plan *pl, uint64_t id, uint64_t corr, const char *name);
/* Enter the next phase (strategize, execute, apply) and start processing it: the current phase
 * must be completed (or the plan just created). */
int evr_plan_start_next(struct evr_svc *s, struct evr_plan *pl);
/* Complete the phase being processed; completing apply also emits PLAN_APPLIED. */
int evr_plan_complete(struct evr_svc *s, struct evr_plan *pl);
int evr_plan_fail(struct evr_svc *s, struct evr_plan *pl, uint32_t error_code);
int evr_plan_cancel(struct evr_svc *s, struct evr_plan *pl, const char *by);

/* ---- decisions ---------------------------------------------------------------------------- */
enum evr_decision_state { EVR_DECISION_ST_PROPOSED, EVR_DECISION_ST_APPROVED, EVR_DECISION_ST_SUPERSEDED };
struct evr_decision {
	uint64_t id, plan_id, correlation_id;
	enum evr_decision_state state;
	uint32_t revision;
};
int evr_decision_create(struct evr_svc *s, struct evr_decision *d, uint64_t id, uint64_t plan_id,
			uint64_t corr, const char *kind);
int evr_decision_approve(struct evr_svc *s, struct evr_decision *d, const char *approver);
/* A correction revises a proposed or approved decision; it must be approved (again) afterwards. */
int evr_decision_correct(struct evr_svc *s, struct evr_decision *d, const char *by);
/* `next` (already created) replaces `old`; old can no longer be approved or corrected. */
int evr_decision_supersede(struct evr_svc *s, struct evr_decision *old, const struct evr_decision *next);

/* ---- invariants --------------------------------------------------------------------------- */
struct evr_invariant {
	const char *name;
	uint64_t plan_id, correlation_id;
	bool violated;
};
/* Reconcile against the observed truth: emits RECONCILED (holds) or VIOLATED. */
int evr_invariant_reconcile(struct evr_svc *s, struct evr_invariant *inv, bool holds);
/* Repair a violated invariant: ENFORCED. Enforcing one that holds is -EPERM. */
int evr_invariant_enforce(struct evr_svc *s, struct evr_invariant *inv);

/* ---- actor runtime ------------------------------------------------------------------------ */
enum evr_actor_state { EVR_ACTOR_ST_IDLE, EVR_ACTOR_ST_RUNNING, EVR_ACTOR_ST_ERRORED, EVR_ACTOR_ST_DONE };
struct evr_actor_run {
	const char *actor;
	uint64_t plan_id, correlation_id, started_ns;
	uint32_t attempt;
	enum evr_actor_state state;
};
int evr_actor_invoke(struct evr_svc *s, struct evr_actor_run *a); /* idle or errored -> running */
int evr_actor_complete(struct evr_svc *s, struct evr_actor_run *a, uint64_t tokens);
int evr_actor_error(struct evr_svc *s, struct evr_actor_run *a, uint32_t error_code);
int evr_actor_escalate(struct evr_svc *s, struct evr_actor_run *a, const char *target); /* after error */

/* ---- tool runtime ------------------------------------------------------------------------- */
enum evr_tool_state { EVR_TOOL_ST_IDLE, EVR_TOOL_ST_RUNNING, EVR_TOOL_ST_FAILED, EVR_TOOL_ST_DONE, EVR_TOOL_ST_GAVE_UP };
struct evr_tool_call {
	const char *tool, *actor;
	uint64_t plan_id, correlation_id, started_ns;
	uint32_t attempt, max_attempts, base_backoff_ms;
	enum evr_tool_state state;
};
int evr_tool_invoke(struct evr_svc *s, struct evr_tool_call *t);
int evr_tool_complete(struct evr_svc *s, struct evr_tool_call *t);
/* An error leaves the call retryable while attempts remain, else it has given up. */
int evr_tool_error(struct evr_svc *s, struct evr_tool_call *t, uint32_t error_code);
/* RETRIED (attempt, exponential backoff), then INVOKED again. */
int evr_tool_retry(struct evr_svc *s, struct evr_tool_call *t);

/* ---- resources ---------------------------------------------------------------------------- */
int evr_resource_access(struct evr_svc *s, uint64_t plan_id, uint64_t corr, uint64_t id, const char *path,
			const char *mode /* "r", "w", "rw" */);
int evr_resource_modify(struct evr_svc *s, uint64_t plan_id, uint64_t corr, uint64_t id, const char *path,
			uint64_t bytes);
int evr_resource_index(struct evr_svc *s, uint64_t plan_id, uint64_t corr, uint64_t id, const char *path,
		       uint32_t chunks);

/* ---- sandboxes and checkpoints ------------------------------------------------------------ */
#define EVR_SANDBOX_MAX_CHECKPOINTS 8
struct evr_sandbox {
	uint64_t id, plan_id, correlation_id;
	bool open;
	uint32_t files_changed, checkpoints;
	uint64_t checkpoint_ids[EVR_SANDBOX_MAX_CHECKPOINTS];
};
int evr_sandbox_create(struct evr_svc *s, struct evr_sandbox *sb, uint64_t id, uint64_t plan_id, uint64_t corr,
		       const char *base);
int evr_sandbox_checkpoint(struct evr_svc *s, struct evr_sandbox *sb, uint64_t checkpoint_id);
int evr_sandbox_restore(struct evr_svc *s, struct evr_sandbox *sb, uint64_t checkpoint_id);
int evr_sandbox_commit(struct evr_svc *s, struct evr_sandbox *sb);
int evr_sandbox_rollback(struct evr_svc *s, struct evr_sandbox *sb, const char *reason);

/* ---- context assembly --------------------------------------------------------------------- */
/* Over budget is -EINVAL: the assembler must trim before building. */
int evr_context_build(struct evr_svc *s, uint64_t plan_id, uint64_t corr, uint32_t tokens, uint32_t budget,
		      uint32_t items);
int evr_context_query(struct evr_svc *s, uint64_t plan_id, uint64_t corr, const char *query, uint32_t results,
		      uint64_t duration_ns);

/* ---- validation pipeline ------------------------------------------------------------------ */
struct evr_validation {
	const char *validator;
	uint64_t plan_id, correlation_id, started_ns;
	uint32_t checks;
	bool running;
};
int evr_validation_start(struct evr_svc *s, struct evr_validation *v, uint32_t checks);
/* PASSED when failures == 0, else FAILED. */
int evr_validation_finish(struct evr_svc *s, struct evr_validation *v, uint32_t failures);

/* ---- sessions ----------------------------------------------------------------------------- */
struct evr_session {
	uint64_t id, correlation_id, next_message_id;
	bool open;
};
int evr_session_create(struct evr_svc *s, struct evr_session *se, uint64_t id, uint64_t corr, const char *user);
int evr_session_send(struct evr_svc *s, struct evr_session *se, const char *role, uint32_t tokens);
void evr_session_close(struct evr_session *se);

/* ---- cost budget -------------------------------------------------------------------------- */
struct evr_budget {
	const char *name;
	uint64_t plan_id, correlation_id;
	uint64_t spent_micros, limit_micros;
	uint32_t warn_pct;
	bool warned, exceeded;
};
int evr_budget_init(struct evr_budget *b, const char *name, uint64_t plan_id, uint64_t corr,
		    uint64_t limit_micros, uint32_t warn_pct);
/* Charge a cost: WARNING once when spent crosses warn_pct of the limit, EXCEEDED once when it reaches
 * the limit. A charge to an exceeded budget is refused (-EDQUOT), nothing emitted. */
int evr_budget_charge(struct evr_svc *s, struct evr_budget *b, uint64_t micros);

#endif
