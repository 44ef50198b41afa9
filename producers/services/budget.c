/* Cost budget: charges accumulate against a limit; crossing warn_pct of the limit emits one
 * BUDGET_WARNING, reaching the limit one BUDGET_EXCEEDED, and an exceeded budget refuses charges. */
#include <errno.h>

#include "services.h"
#include <evring/platform.h>

int evr_budget_init(struct evr_budget *b, const char *name, uint64_t plan_id, uint64_t corr,
		    uint64_t limit_micros, uint32_t warn_pct)
{
	if (!name || !*name || !limit_micros || !warn_pct || warn_pct >= 100)
		return -EINVAL;
	*b = (struct evr_budget){ .name = name, .plan_id = plan_id, .correlation_id = corr,
				  .limit_micros = limit_micros, .warn_pct = warn_pct };
	return 0;
}

int evr_budget_charge(struct evr_svc *s, struct evr_budget *b, uint64_t micros)
{
	if (b->exceeded)
		return -EDQUOT;
	b->spent_micros += micros;
	/* spent * 100 >= limit * pct, without the division's rounding */
	if (!b->warned && b->spent_micros * 100u >= b->limit_micros * b->warn_pct) {
		b->warned = true;
		evr_svc_note(s, EVR_BUDGET_WARNING, evr_emit_budget_warning(s->p, b->correlation_id, b->plan_id,
							&(struct evr_args_budget_warning){
								.spent_micros = b->spent_micros, .limit_micros = b->limit_micros,
								.threshold_pct = b->warn_pct, .budget = b->name }));
	}
	if (b->spent_micros >= b->limit_micros) {
		b->exceeded = true;
		evr_svc_note(s, EVR_BUDGET_EXCEEDED, evr_emit_budget_exceeded(s->p, b->correlation_id, b->plan_id,
							 &(struct evr_args_budget_exceeded){
								 .spent_micros = b->spent_micros,
								 .limit_micros = b->limit_micros, .budget = b->name }));
	}
	return 0;
}
