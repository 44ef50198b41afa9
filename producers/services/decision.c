/* Decision service: decisions are proposed, approved, corrected (a new revision that needs approval
 * again) and superseded by a newer decision, after which they are frozen. */
#include <errno.h>

#include "services.h"
#include <evring/platform.h>

int evr_decision_create(struct evr_svc *s, struct evr_decision *d, uint64_t id, uint64_t plan_id, uint64_t corr,
			const char *kind)
{
	if (!id || !kind || !*kind)
		return -EINVAL;
	*d = (struct evr_decision){ .id = id, .plan_id = plan_id, .correlation_id = corr };
	evr_svc_note(s, EVR_DECISION_CREATED, evr_emit_decision_created(s->p, corr, plan_id,
						  &(struct evr_args_decision_created){ .decision_id = id, .kind = kind }));
	return 0;
}

int evr_decision_approve(struct evr_svc *s, struct evr_decision *d, const char *approver)
{
	if (d->state != EVR_DECISION_ST_PROPOSED || !approver || !*approver)
		return d->state != EVR_DECISION_ST_PROPOSED ? -EPERM : -EINVAL;
	d->state = EVR_DECISION_ST_APPROVED;
	evr_svc_note(s, EVR_DECISION_APPROVED, evr_emit_decision_approved(s->p, d->correlation_id, d->plan_id,
						   &(struct evr_args_decision_approved){ .decision_id = d->id,
											 .approver = approver }));
	return 0;
}

int evr_decision_correct(struct evr_svc *s, struct evr_decision *d, const char *by)
{
	if (d->state == EVR_DECISION_ST_SUPERSEDED)
		return -EPERM;
	d->state = EVR_DECISION_ST_PROPOSED;
	d->revision++;
	evr_svc_note(s, EVR_DECISION_CORRECTED, evr_emit_decision_corrected(s->p, d->correlation_id, d->plan_id,
						    &(struct evr_args_decision_corrected){
							    .decision_id = d->id, .revision = d->revision, .corrected_by = by }));
	return 0;
}

int evr_decision_supersede(struct evr_svc *s, struct evr_decision *old, const struct evr_decision *next)
{
	if (old->state == EVR_DECISION_ST_SUPERSEDED || next->state == EVR_DECISION_ST_SUPERSEDED)
		return -EPERM;
	if (old->id == next->id)
		return -EINVAL;
	old->state = EVR_DECISION_ST_SUPERSEDED;
	evr_svc_note(s, EVR_DECISION_SUPERSEDED, evr_emit_decision_superseded(s->p, next->correlation_id, next->plan_id,
						     &(struct evr_args_decision_superseded){
							     .decision_id = next->id, .supersedes_id = old->id }));
	return 0;
}
