/* Validation pipeline: a validator runs a number of checks; the run passes with no failures and
 * fails otherwise. One run at a time per struct evr_validation. */
#include <errno.h>

#include "services.h"
#include <evring/platform.h>

int evr_validation_start(struct evr_svc *s, struct evr_validation *v, uint32_t checks)
{
	if (!v->validator || !*v->validator || !checks)
		return -EINVAL;
	if (v->running)
		return -EPERM;
	v->running = true;
	v->checks = checks;
	v->started_ns = evr_mono_ns();
	evr_svc_note(s, EVR_VALIDATION_STARTED, evr_emit_validation_started(s->p, v->correlation_id, v->plan_id,
						    &(struct evr_args_validation_started){
							    .check_count = checks, .validator = v->validator }));
	return 0;
}

int evr_validation_finish(struct evr_svc *s, struct evr_validation *v, uint32_t failures)
{
	if (!v->running)
		return -EPERM;
	if (failures > v->checks)
		return -EINVAL;
	v->running = false;
	if (failures == 0)
		evr_svc_note(s, EVR_VALIDATION_PASSED, evr_emit_validation_passed(s->p, v->correlation_id, v->plan_id,
							   &(struct evr_args_validation_passed){
								   .duration_ns = evr_mono_ns() - v->started_ns,
								   .check_count = v->checks, .validator = v->validator }));
	else
		evr_svc_note(s, EVR_VALIDATION_FAILED, evr_emit_validation_failed(s->p, v->correlation_id, v->plan_id,
							   &(struct evr_args_validation_failed){
								   .check_count = v->checks, .failure_count = failures,
								   .validator = v->validator }));
	return 0;
}
