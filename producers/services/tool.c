/* Tool runtime: a call is invoked, then completes or errors; an errored call is retried with
 * exponential backoff while attempts remain (TOOL_RETRIED, then TOOL_INVOKED of the next attempt),
 * and gives up once max_attempts have failed. */
#include <errno.h>

#include "services.h"
#include <evring/platform.h>

static int invoke(struct evr_svc *s, struct evr_tool_call *t)
{
	t->state = EVR_TOOL_ST_RUNNING;
	t->started_ns = evr_mono_ns();
	evr_svc_note(s, EVR_TOOL_INVOKED, evr_emit_tool_invoked(s->p, t->correlation_id, t->plan_id,
					      &(struct evr_args_tool_invoked){
						      .attempt = t->attempt, .tool = t->tool, .actor = t->actor }));
	return 0;
}

int evr_tool_invoke(struct evr_svc *s, struct evr_tool_call *t)
{
	if (!t->tool || !*t->tool || !t->max_attempts)
		return -EINVAL;
	if (t->state != EVR_TOOL_ST_IDLE)
		return -EPERM;
	t->attempt = 1;
	return invoke(s, t);
}

int evr_tool_complete(struct evr_svc *s, struct evr_tool_call *t)
{
	if (t->state != EVR_TOOL_ST_RUNNING)
		return -EPERM;
	t->state = EVR_TOOL_ST_DONE;
	evr_svc_note(s, EVR_TOOL_COMPLETED, evr_emit_tool_completed(s->p, t->correlation_id, t->plan_id,
						&(struct evr_args_tool_completed){
							.duration_ns = evr_mono_ns() - t->started_ns,
							.attempt = t->attempt, .tool = t->tool }));
	return 0;
}

int evr_tool_error(struct evr_svc *s, struct evr_tool_call *t, uint32_t error_code)
{
	if (t->state != EVR_TOOL_ST_RUNNING)
		return -EPERM;
	t->state = t->attempt < t->max_attempts ? EVR_TOOL_ST_FAILED : EVR_TOOL_ST_GAVE_UP;
	evr_svc_note(s, EVR_TOOL_ERRORED, evr_emit_tool_errored(s->p, t->correlation_id, t->plan_id,
					      &(struct evr_args_tool_errored){
						      .duration_ns = evr_mono_ns() - t->started_ns,
						      .attempt = t->attempt, .error_code = error_code, .tool = t->tool }));
	return 0;
}

int evr_tool_retry(struct evr_svc *s, struct evr_tool_call *t)
{
	if (t->state != EVR_TOOL_ST_FAILED)
		return -EPERM;
	uint32_t shift = t->attempt - 1 < 16 ? t->attempt - 1 : 16;
	uint32_t backoff = t->base_backoff_ms << shift;
	t->attempt++;
	evr_svc_note(s, EVR_TOOL_RETRIED, evr_emit_tool_retried(s->p, t->correlation_id, t->plan_id,
					      &(struct evr_args_tool_retried){
						      .attempt = t->attempt, .backoff_ms = backoff, .tool = t->tool }));
	return invoke(s, t);
}
