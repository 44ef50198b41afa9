/* Scenarios: each draws its path with the worker's seeded generator, so a seed reproduces the exact
 * sequence of operations (the ring's interleaving across processes still varies). Probabilities are
 * chosen so that every one of the 38 event types shows up within a few hundred scenarios. */
#include <errno.h>
#include <stdio.h>

#include "workload.h"
#include <evring/platform.h>

static const char *const group_names[] = { "planner", "runtime", "workspace", "sessions" };

const char *evr_sim_group_name(enum evr_sim_group g)
{
	return group_names[g];
}

static uint64_t rnd(struct evr_sim_rng *r) /* xorshift64*: small, fast, good enough for workloads */
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1Dull;
}

static unsigned pct(struct evr_sim_worker *w) /* 0..99 */
{
	return (unsigned)(rnd(&w->rng) % 100);
}

static uint64_t below(struct evr_sim_worker *w, uint64_t n)
{
	return rnd(&w->rng) % n;
}

static uint64_t new_id(struct evr_sim_worker *w)
{
	return ++w->next_id;
}

void evr_sim_worker_init(struct evr_sim_worker *w, struct evr_producer *p, uint64_t seed, unsigned index)
{
	*w = (struct evr_sim_worker){ .next_id = (uint64_t)(index + 1) * 1000000 };
	evr_svc_init(&w->svc, p);
	w->rng.s = (seed ^ (0x9E3779B97F4A7C15ull * (index + 1))) | 1;
}

static void reject(struct evr_sim_worker *w, int rc)
{
	if (rc < 0)
		w->illegal_rejected++;
}

static const char *const plan_names[] = { "nightly-refactor", "dependency-bump", "flaky-test-triage",
					  "schema-migration", "docs-sync" };
static const char *const actors[] = { "planner", "coder", "reviewer", "researcher" };
static const char *const tools[] = { "web_search", "shell", "file_edit", "code_search", "http_get" };

static void decisions_for(struct evr_sim_worker *w, struct evr_plan *pl)
{
	struct evr_svc *s = &w->svc;
	struct evr_decision d, next;
	evr_decision_create(s, &d, new_id(w), pl->id, pl->correlation_id, "approach");
	pl->decisions++;
	if (pct(w) < 30)
		evr_decision_correct(s, &d, "reviewer");
	evr_decision_approve(s, &d, "lead");
	if (pct(w) < 25) {
		evr_decision_create(s, &next, new_id(w), pl->id, pl->correlation_id, "approach");
		evr_decision_supersede(s, &d, &next);
		reject(w, evr_decision_approve(s, &d, "lead")); /* superseded: refused, emits nothing */
		evr_decision_approve(s, &next, "lead");
		pl->decisions++;
	}
}

static void invariants_for(struct evr_sim_worker *w, struct evr_plan *pl)
{
	struct evr_invariant inv = { .name = pct(w) < 50 ? "tests-green" : "no-secret-in-diff",
				     .plan_id = pl->id, .correlation_id = pl->correlation_id };
	bool holds = pct(w) < 70;
	evr_invariant_reconcile(&w->svc, &inv, holds);
	if (!holds)
		evr_invariant_enforce(&w->svc, &inv);
	else
		reject(w, evr_invariant_enforce(&w->svc, &inv));
}

static void planner(struct evr_sim_worker *w)
{
	struct evr_svc *s = &w->svc;
	struct evr_plan pl;
	uint64_t id = new_id(w);
	evr_plan_create(s, &pl, id, id, plan_names[below(w, 5)]);
	struct evr_budget b;
	evr_budget_init(&b, "plan-cost", pl.id, pl.correlation_id, 1000000, 80);
	unsigned fate = pct(w); /* < 60 applied, < 80 fails, else cancelled */
	unsigned stop_phase = 1 + (unsigned)below(w, 3); /* where a failure or cancel happens */
	reject(w, evr_plan_complete(s, &pl)); /* nothing is processing yet */
	for (unsigned phase = 1; phase <= 3; phase++) {
		evr_plan_start_next(s, &pl);
		if (phase == 1)
			decisions_for(w, &pl);
		if (phase == 2) {
			invariants_for(w, &pl);
			pl.resources_changed = (uint32_t)below(w, 20);
		}
		evr_budget_charge(s, &b, 200000 + below(w, 250000));
		if (fate >= 60 && phase == stop_phase) {
			if (fate < 80)
				evr_plan_fail(s, &pl, 500 + phase);
			else
				evr_plan_cancel(s, &pl, "operator");
			return;
		}
		evr_plan_complete(s, &pl);
	}
	reject(w, evr_plan_start_next(s, &pl)); /* nothing after apply */
}

static void runtime(struct evr_sim_worker *w)
{
	struct evr_svc *s = &w->svc;
	uint64_t plan = below(w, 1000) + 1, corr = new_id(w);
	struct evr_actor_run a = { .actor = actors[below(w, 4)], .plan_id = plan, .correlation_id = corr };
	evr_actor_invoke(s, &a);
	evr_context_build(s, plan, corr, 2000 + (uint32_t)below(w, 6000), 8192, 1 + (uint32_t)below(w, 30));
	evr_context_query(s, plan, corr, "files touching the parser", (uint32_t)below(w, 50), 100000 + below(w, 900000));
	struct evr_tool_call t = { .tool = tools[below(w, 5)], .actor = a.actor, .plan_id = plan,
				   .correlation_id = corr, .max_attempts = 3, .base_backoff_ms = 100 };
	evr_tool_invoke(s, &t);
	while (pct(w) < 35 && evr_tool_error(s, &t, 429) == 0 && t.state == EVR_TOOL_ST_FAILED)
		evr_tool_retry(s, &t);
	if (t.state == EVR_TOOL_ST_RUNNING)
		evr_tool_complete(s, &t);
	reject(w, evr_tool_retry(s, &t)); /* done or gave up: no retry */
	if (t.state == EVR_TOOL_ST_GAVE_UP || pct(w) < 15) {
		evr_actor_error(s, &a, 1);
		if (pct(w) < 50) {
			evr_actor_escalate(s, &a, "human-review");
			return;
		}
		evr_actor_invoke(s, &a);
	}
	evr_actor_complete(s, &a, 500 + below(w, 4000));
	reject(w, evr_actor_escalate(s, &a, "human-review")); /* completed runs are not escalated */
}

static void workspace(struct evr_sim_worker *w)
{
	struct evr_svc *s = &w->svc;
	uint64_t plan = below(w, 1000) + 1, corr = new_id(w), res = new_id(w);
	char path[40];
	snprintf(path, sizeof path, "src/module_%u.c", (unsigned)below(w, 100));
	evr_resource_access(s, plan, corr, res, path, pct(w) < 50 ? "r" : "rw");
	struct evr_sandbox sb;
	evr_sandbox_create(s, &sb, new_id(w), plan, corr, "main");
	uint64_t first = new_id(w);
	evr_sandbox_checkpoint(s, &sb, first);
	evr_resource_modify(s, plan, corr, res, path, below(w, 8192));
	sb.files_changed++;
	if (pct(w) < 30) {
		evr_sandbox_checkpoint(s, &sb, new_id(w));
		evr_sandbox_restore(s, &sb, first);
	}
	struct evr_validation v = { .validator = pct(w) < 50 ? "unit-tests" : "lint", .plan_id = plan,
				    .correlation_id = corr };
	evr_validation_start(s, &v, 10 + (uint32_t)below(w, 90));
	reject(w, evr_validation_start(s, &v, 1)); /* already running */
	uint32_t failures = pct(w) < 25 ? 1 + (uint32_t)below(w, 5) : 0;
	evr_validation_finish(s, &v, failures);
	if (failures) {
		evr_sandbox_rollback(s, &sb, "validation failed");
	} else {
		evr_sandbox_commit(s, &sb);
		evr_resource_index(s, plan, corr, res, path, 1 + (uint32_t)below(w, 40));
	}
	reject(w, evr_sandbox_commit(s, &sb)); /* closed */
}

static void sessions(struct evr_sim_worker *w)
{
	struct evr_svc *s = &w->svc;
	struct evr_session se;
	uint64_t id = new_id(w);
	evr_session_create(s, &se, id, id, pct(w) < 50 ? "alice" : "bob");
	struct evr_budget b;
	evr_budget_init(&b, "session-tokens", 0, id, 20000, 75);
	unsigned messages = 2 + (unsigned)below(w, 8);
	for (unsigned m = 0; m < messages; m++) {
		uint32_t tokens = 200 + (uint32_t)below(w, 3000);
		evr_session_send(s, &se, m % 2 ? "assistant" : "user", tokens);
		if (evr_budget_charge(s, &b, tokens) == -EDQUOT)
			break;
	}
	evr_session_close(&se);
	reject(w, evr_session_send(s, &se, "user", 1)); /* closed */
}

void evr_sim_run_scenario(struct evr_sim_worker *w, enum evr_sim_group g)
{
	switch (g) {
	case EVR_SIM_PLANNER: planner(w); break;
	case EVR_SIM_RUNTIME: runtime(w); break;
	case EVR_SIM_WORKSPACE: workspace(w); break;
	case EVR_SIM_SESSIONS: sessions(w); break;
	default: break;
	}
}
