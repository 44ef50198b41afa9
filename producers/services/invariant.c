/* Invariant service: reconcile an invariant against observed state (holds or violated); a violated
 * invariant can be enforced (repaired), after which it holds again. */
#include <errno.h>

#include "services.h"
#include <evring/platform.h>

int evr_invariant_reconcile(struct evr_svc *s, struct evr_invariant *inv, bool holds)
{
	if (!inv->name || !*inv->name)
		return -EINVAL;
	inv->violated = !holds;
	if (holds)
		evr_svc_note(s, EVR_INVARIANT_RECONCILED, evr_emit_invariant_reconciled(s->p, inv->correlation_id, inv->plan_id,
							      &(struct evr_args_invariant_reconciled){
								      .invariant = inv->name, .outcome = "holds" }));
	else
		evr_svc_note(s, EVR_INVARIANT_VIOLATED, evr_emit_invariant_violated(s->p, inv->correlation_id, inv->plan_id,
							    &(struct evr_args_invariant_violated){
								    .invariant = inv->name, .outcome = "violated" }));
	return 0;
}

int evr_invariant_enforce(struct evr_svc *s, struct evr_invariant *inv)
{
	if (!inv->violated)
		return -EPERM;
	inv->violated = false;
	evr_svc_note(s, EVR_INVARIANT_ENFORCED, evr_emit_invariant_enforced(s->p, inv->correlation_id, inv->plan_id,
						    &(struct evr_args_invariant_enforced){ .invariant = inv->name,
											   .outcome = "repaired" }));
	return 0;
}
