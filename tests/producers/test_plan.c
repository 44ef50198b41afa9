/* Plan and decision services: exact event sequences of every path, and refused transitions. */
#include "svc_fixture.h"
#include <evring/platform.h>

TestSuite(plan, .init = fx_setup, .fini = fx_teardown);

static void check_state(const struct evr_record *r, const char *from, const char *to)
{
	cr_assert_str_eq(EVR_EV(r, plan_state_changed)->state_from, from);
	cr_assert_str_eq(EVR_EV(r, plan_state_changed)->state_to, to);
}

static void check_phase(const struct evr_record *r, const char *from, const char *to)
{
	cr_assert_str_eq(EVR_EV(r, plan_phase_changed)->phase_from, from);
	cr_assert_str_eq(EVR_EV(r, plan_phase_changed)->phase_to, to);
}

Test(plan, full_lifecycle_emits_every_phase_and_state_change_then_applied)
{
	struct evr_plan pl;
	struct evr_record r[64];
	cr_assert_eq(evr_plan_create(&fx_svc, &pl, 42, 7, "nightly"), 0);
	for (int ph = 0; ph < 3; ph++) {
		cr_assert_eq(evr_plan_start_next(&fx_svc, &pl), 0);
		cr_assert_eq(evr_plan_complete(&fx_svc, &pl), 0);
	}
	FX_EXPECT(r, EVR_PLAN_CREATED, EVR_PLAN_PHASE_CHANGED, EVR_PLAN_STATE_CHANGED, EVR_PLAN_STATE_CHANGED,
		  EVR_PLAN_PHASE_CHANGED, EVR_PLAN_STATE_CHANGED, EVR_PLAN_STATE_CHANGED, EVR_PLAN_PHASE_CHANGED,
		  EVR_PLAN_STATE_CHANGED, EVR_PLAN_STATE_CHANGED, EVR_PLAN_APPLIED);
	cr_assert_str_eq(EVR_EV(&r[0], plan_created)->plan_name, "nightly");
	for (int i = 0; i < 11; i++) {
		cr_assert_eq(r[i].plan_id, 42);
		cr_assert_eq(r[i].correlation_id, 7);
	}
	check_phase(&r[1], "created", "strategize");
	check_state(&r[2], "pending", "processing");
	check_state(&r[3], "processing", "completed");
	check_phase(&r[4], "strategize", "execute");
	check_state(&r[5], "completed", "processing");
	check_phase(&r[7], "execute", "apply");
	check_state(&r[9], "processing", "completed");
	cr_assert_gt(EVR_EV(&r[10], plan_applied)->duration_ns, 0);
	cr_assert_eq(fx_svc.emitted, 11);
}

Test(plan, failing_in_each_processing_phase_emits_failed_state_then_errored)
{
	static const char *const phases[] = { "strategize", "execute", "apply" };
	for (int fail_at = 0; fail_at < 3; fail_at++) {
		struct evr_plan pl;
		struct evr_record r[64];
		evr_plan_create(&fx_svc, &pl, 1, 1, "p");
		for (int ph = 0; ph < fail_at; ph++) {
			evr_plan_start_next(&fx_svc, &pl);
			evr_plan_complete(&fx_svc, &pl);
		}
		evr_plan_start_next(&fx_svc, &pl);
		fx_drain(r, 64);
		cr_assert_eq(evr_plan_fail(&fx_svc, &pl, 503), 0);
		FX_EXPECT(r, EVR_PLAN_STATE_CHANGED, EVR_PLAN_ERRORED);
		check_state(&r[0], "processing", "failed");
		cr_assert_eq(EVR_EV(&r[1], plan_errored)->error_code, 503);
		cr_assert_str_eq(EVR_EV(&r[1], plan_errored)->phase, phases[fail_at]);
		cr_assert_eq(evr_plan_start_next(&fx_svc, &pl), -EPERM, "a failed plan is final");
		FX_EXPECT_NOTHING();
	}
}

Test(plan, cancel_emits_cancelled_state_and_plan_cancelled_and_is_final)
{
	struct evr_plan pl;
	struct evr_record r[64];
	evr_plan_create(&fx_svc, &pl, 5, 9, "p");
	evr_plan_start_next(&fx_svc, &pl);
	fx_drain(r, 64);
	cr_assert_eq(evr_plan_cancel(&fx_svc, &pl, "operator"), 0);
	FX_EXPECT(r, EVR_PLAN_STATE_CHANGED, EVR_PLAN_CANCELLED);
	check_state(&r[0], "processing", "cancelled");
	cr_assert_str_eq(EVR_EV(&r[1], plan_cancelled)->phase, "strategize");
	cr_assert_str_eq(EVR_EV(&r[1], plan_cancelled)->cancelled_by, "operator");
	cr_assert_eq(evr_plan_cancel(&fx_svc, &pl, "operator"), -EPERM);
	cr_assert_eq(evr_plan_complete(&fx_svc, &pl), -EPERM);
	FX_EXPECT_NOTHING();
}

Test(plan, illegal_transitions_are_refused_and_emit_nothing)
{
	struct evr_plan pl;
	struct evr_record r[64];
	evr_plan_create(&fx_svc, &pl, 3, 3, "p");
	fx_drain(r, 64);
	cr_assert_eq(evr_plan_complete(&fx_svc, &pl), -EPERM, "complete before any phase started");
	cr_assert_eq(evr_plan_fail(&fx_svc, &pl, 1), -EPERM, "fail before any phase started");
	evr_plan_start_next(&fx_svc, &pl); /* strategize, processing */
	fx_drain(r, 64);
	cr_assert_eq(evr_plan_start_next(&fx_svc, &pl), -EPERM, "execute before strategize completed");
	FX_EXPECT_NOTHING();
	for (int i = 0; i < 3; i++) {
		if (i)
			evr_plan_start_next(&fx_svc, &pl);
		evr_plan_complete(&fx_svc, &pl);
	}
	fx_drain(r, 64);
	cr_assert_eq(evr_plan_start_next(&fx_svc, &pl), -EPERM, "nothing after apply");
	cr_assert_eq(evr_plan_cancel(&fx_svc, &pl, "x"), -EPERM, "an applied plan cannot be cancelled");
	cr_assert_eq(evr_plan_create(&fx_svc, &pl, 0, 0, "p"), -EINVAL);
	FX_EXPECT_NOTHING();
}

TestSuite(decision, .init = fx_setup, .fini = fx_teardown);

Test(decision, create_correct_approve_supersede_sequence_with_ids)
{
	struct evr_decision d, next;
	struct evr_record r[64];
	cr_assert_eq(evr_decision_create(&fx_svc, &d, 100, 42, 7, "approach"), 0);
	cr_assert_eq(evr_decision_correct(&fx_svc, &d, "reviewer"), 0);
	cr_assert_eq(evr_decision_approve(&fx_svc, &d, "lead"), 0);
	cr_assert_eq(evr_decision_create(&fx_svc, &next, 101, 42, 7, "approach"), 0);
	cr_assert_eq(evr_decision_supersede(&fx_svc, &d, &next), 0);
	FX_EXPECT(r, EVR_DECISION_CREATED, EVR_DECISION_CORRECTED, EVR_DECISION_APPROVED, EVR_DECISION_CREATED,
		  EVR_DECISION_SUPERSEDED);
	cr_assert_eq(EVR_EV(&r[0], decision_created)->decision_id, 100);
	cr_assert_str_eq(EVR_EV(&r[0], decision_created)->kind, "approach");
	cr_assert_eq(EVR_EV(&r[1], decision_corrected)->revision, 1);
	cr_assert_str_eq(EVR_EV(&r[1], decision_corrected)->corrected_by, "reviewer");
	cr_assert_str_eq(EVR_EV(&r[2], decision_approved)->approver, "lead");
	cr_assert_eq(EVR_EV(&r[4], decision_superseded)->decision_id, 101);
	cr_assert_eq(EVR_EV(&r[4], decision_superseded)->supersedes_id, 100);
	cr_assert_eq(r[4].plan_id, 42);
}

Test(decision, a_superseded_decision_cannot_be_approved_corrected_or_superseded_again)
{
	struct evr_decision d, next, third;
	struct evr_record r[64];
	evr_decision_create(&fx_svc, &d, 1, 1, 1, "k");
	evr_decision_create(&fx_svc, &next, 2, 1, 1, "k");
	evr_decision_create(&fx_svc, &third, 3, 1, 1, "k");
	evr_decision_supersede(&fx_svc, &d, &next);
	fx_drain(r, 64);
	cr_assert_eq(evr_decision_approve(&fx_svc, &d, "lead"), -EPERM);
	cr_assert_eq(evr_decision_correct(&fx_svc, &d, "x"), -EPERM);
	cr_assert_eq(evr_decision_supersede(&fx_svc, &d, &third), -EPERM);
	cr_assert_eq(evr_decision_approve(&fx_svc, &next, "lead"), 0);
	cr_assert_eq(evr_decision_approve(&fx_svc, &next, "lead"), -EPERM, "approved twice");
	FX_EXPECT(r, EVR_DECISION_APPROVED);
}

TestSuite(invariant, .init = fx_setup, .fini = fx_teardown);

Test(invariant, holds_reconciles_violated_then_enforced)
{
	struct evr_invariant inv = { .name = "tests-green", .plan_id = 4, .correlation_id = 5 };
	struct evr_record r[64];
	cr_assert_eq(evr_invariant_reconcile(&fx_svc, &inv, true), 0);
	cr_assert_eq(evr_invariant_enforce(&fx_svc, &inv), -EPERM, "nothing to enforce");
	cr_assert_eq(evr_invariant_reconcile(&fx_svc, &inv, false), 0);
	cr_assert_eq(evr_invariant_enforce(&fx_svc, &inv), 0);
	FX_EXPECT(r, EVR_INVARIANT_RECONCILED, EVR_INVARIANT_VIOLATED, EVR_INVARIANT_ENFORCED);
	cr_assert_str_eq(EVR_EV(&r[0], invariant_reconciled)->invariant, "tests-green");
	cr_assert_str_eq(EVR_EV(&r[0], invariant_reconciled)->outcome, "holds");
	cr_assert_str_eq(EVR_EV(&r[1], invariant_violated)->outcome, "violated");
	cr_assert_str_eq(EVR_EV(&r[2], invariant_enforced)->outcome, "repaired");
	cr_assert_eq(r[2].plan_id, 4);
}
