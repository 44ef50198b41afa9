/* Plan lifecycle service. A plan walks the phases created -> strategize -> execute -> apply; within a
 * phase its processing state goes pending/completed -> processing -> completed, or ends in failed or
 * cancelled. Every state change emits PLAN_STATE_CHANGED, every phase change PLAN_PHASE_CHANGED. */
#include <errno.h>
#include <time.h>

#include "services.h"
#include <evring/platform.h>

static const char *const phase_names[] = { "created", "strategize", "execute", "apply" };
static const char *const state_names[] = { "pending", "processing", "completed", "failed", "cancelled" };

const char *evr_plan_phase_name(enum evr_plan_phase ph)
{
	return phase_names[ph];
}

const char *evr_plan_state_name(enum evr_plan_state st)
{
	return state_names[st];
}

static bool terminal(const struct evr_plan *pl)
{
	return pl->state == EVR_PLAN_ST_FAILED || pl->state == EVR_PLAN_ST_CANCELLED ||
	       (pl->phase == EVR_PHASE_APPLY && pl->state == EVR_PLAN_ST_COMPLETED);
}

static void set_state(struct evr_svc *s, struct evr_plan *pl, enum evr_plan_state to)
{
	evr_svc_note(s, EVR_PLAN_STATE_CHANGED, evr_emit_plan_state_changed(s->p, pl->correlation_id, pl->id,
						    &(struct evr_args_plan_state_changed){
							    .state_from = state_names[pl->state],
							    .state_to = state_names[to] }));
	pl->state = to;
}

int evr_plan_create(struct evr_svc *s, struct evr_plan *pl, uint64_t id, uint64_t corr, const char *name)
{
	if (!id || !name || !*name)
		return -EINVAL;
	*pl = (struct evr_plan){ .id = id, .correlation_id = corr, .created_ns = evr_mono_ns() };
	evr_svc_note(s, EVR_PLAN_CREATED, evr_emit_plan_created(s->p, corr, id, &(struct evr_args_plan_created){ .plan_name = name }));
	return 0;
}

int evr_plan_start_next(struct evr_svc *s, struct evr_plan *pl)
{
	bool ready = (pl->phase == EVR_PHASE_CREATED && pl->state == EVR_PLAN_ST_PENDING) ||
		     (pl->phase != EVR_PHASE_APPLY && pl->state == EVR_PLAN_ST_COMPLETED);
	if (!ready)
		return -EPERM;
	enum evr_plan_phase next = pl->phase + 1;
	evr_svc_note(s, EVR_PLAN_PHASE_CHANGED, evr_emit_plan_phase_changed(s->p, pl->correlation_id, pl->id,
						    &(struct evr_args_plan_phase_changed){
							    .phase_from = phase_names[pl->phase],
							    .phase_to = phase_names[next] }));
	pl->phase = next;
	set_state(s, pl, EVR_PLAN_ST_PROCESSING);
	return 0;
}

int evr_plan_complete(struct evr_svc *s, struct evr_plan *pl)
{
	if (pl->state != EVR_PLAN_ST_PROCESSING)
		return -EPERM;
	set_state(s, pl, EVR_PLAN_ST_COMPLETED);
	if (pl->phase == EVR_PHASE_APPLY)
		evr_svc_note(s, EVR_PLAN_APPLIED, evr_emit_plan_applied(s->p, pl->correlation_id, pl->id,
						      &(struct evr_args_plan_applied){
							      .duration_ns = evr_mono_ns() - pl->created_ns,
							      .resources_changed = pl->resources_changed,
							      .decisions = pl->decisions }));
	return 0;
}

int evr_plan_fail(struct evr_svc *s, struct evr_plan *pl, uint32_t error_code)
{
	if (pl->state != EVR_PLAN_ST_PROCESSING || pl->phase == EVR_PHASE_CREATED)
		return -EPERM;
	set_state(s, pl, EVR_PLAN_ST_FAILED);
	evr_svc_note(s, EVR_PLAN_ERRORED, evr_emit_plan_errored(s->p, pl->correlation_id, pl->id,
					      &(struct evr_args_plan_errored){ .error_code = error_code,
									       .phase = phase_names[pl->phase] }));
	return 0;
}

int evr_plan_cancel(struct evr_svc *s, struct evr_plan *pl, const char *by)
{
	if (terminal(pl))
		return -EPERM;
	set_state(s, pl, EVR_PLAN_ST_CANCELLED);
	evr_svc_note(s, EVR_PLAN_CANCELLED, evr_emit_plan_cancelled(s->p, pl->correlation_id, pl->id,
						&(struct evr_args_plan_cancelled){ .phase = phase_names[pl->phase],
										   .cancelled_by = by }));
	return 0;
}
