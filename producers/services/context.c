/* Context assembly: building a context window within its token budget, and the retrieval queries
 * that fill it. */
#include <errno.h>

#include "services.h"
#include <evring/platform.h>

int evr_context_build(struct evr_svc *s, uint64_t plan_id, uint64_t corr, uint32_t tokens, uint32_t budget,
		      uint32_t items)
{
	if (!budget || tokens > budget)
		return -EINVAL;
	evr_svc_note(s, EVR_CONTEXT_BUILT, evr_emit_context_built(s->p, corr, plan_id,
					       &(struct evr_args_context_built){
						       .token_count = tokens, .token_budget = budget, .item_count = items }));
	return 0;
}

int evr_context_query(struct evr_svc *s, uint64_t plan_id, uint64_t corr, const char *query, uint32_t results,
		      uint64_t duration_ns)
{
	if (!query || !*query)
		return -EINVAL;
	evr_svc_note(s, EVR_CONTEXT_QUERY_EXECUTED, evr_emit_context_query_executed(s->p, corr, plan_id,
							&(struct evr_args_context_query_executed){
								.duration_ns = duration_ns, .result_count = results,
								.query = query }));
	return 0;
}
