/* Actor runtime: an invocation runs, then completes or errors; an errored actor is either invoked
 * again (the next attempt) or escalated to a human or a stronger actor, which ends the run. */
#include <errno.h>

#include "services.h"
#include <evring/platform.h>

int evr_actor_invoke(struct evr_svc *s, struct evr_actor_run *a)
{
	if (!a->actor || !*a->actor)
		return -EINVAL;
	if (a->state != EVR_ACTOR_ST_IDLE && a->state != EVR_ACTOR_ST_ERRORED)
		return -EPERM;
	a->state = EVR_ACTOR_ST_RUNNING;
	a->attempt++;
	a->started_ns = evr_mono_ns();
	evr_svc_note(s, EVR_ACTOR_INVOKED, evr_emit_actor_invoked(s->p, a->correlation_id, a->plan_id,
					       &(struct evr_args_actor_invoked){ .attempt = a->attempt, .actor = a->actor }));
	return 0;
}

int evr_actor_complete(struct evr_svc *s, struct evr_actor_run *a, uint64_t tokens)
{
	if (a->state != EVR_ACTOR_ST_RUNNING)
		return -EPERM;
	a->state = EVR_ACTOR_ST_DONE;
	evr_svc_note(s, EVR_ACTOR_COMPLETED, evr_emit_actor_completed(s->p, a->correlation_id, a->plan_id,
						 &(struct evr_args_actor_completed){
							 .duration_ns = evr_mono_ns() - a->started_ns,
							 .tokens = tokens, .actor = a->actor }));
	return 0;
}

int evr_actor_error(struct evr_svc *s, struct evr_actor_run *a, uint32_t error_code)
{
	if (a->state != EVR_ACTOR_ST_RUNNING)
		return -EPERM;
	a->state = EVR_ACTOR_ST_ERRORED;
	evr_svc_note(s, EVR_ACTOR_ERRORED, evr_emit_actor_errored(s->p, a->correlation_id, a->plan_id,
					       &(struct evr_args_actor_errored){
						       .attempt = a->attempt, .error_code = error_code, .actor = a->actor }));
	return 0;
}

int evr_actor_escalate(struct evr_svc *s, struct evr_actor_run *a, const char *target)
{
	if (a->state != EVR_ACTOR_ST_ERRORED)
		return -EPERM;
	if (!target || !*target)
		return -EINVAL;
	a->state = EVR_ACTOR_ST_DONE;
	evr_svc_note(s, EVR_ACTOR_ESCALATED, evr_emit_actor_escalated(s->p, a->correlation_id, a->plan_id,
						 &(struct evr_args_actor_escalated){ .actor = a->actor,
										     .escalation_target = target }));
	return 0;
}
