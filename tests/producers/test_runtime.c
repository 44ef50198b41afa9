/* Actor and tool runtimes, context assembly, sessions and budgets: exact event sequences, including
 * the retry, give-up, error and escalation paths, and refused transitions. */
#include "svc_fixture.h"
#include <evring/platform.h>

TestSuite(actor, .init = fx_setup, .fini = fx_teardown);

Test(actor, invoke_then_complete)
{
	struct evr_actor_run a = { .actor = "coder", .plan_id = 3, .correlation_id = 4 };
	struct evr_record r[64];
	cr_assert_eq(evr_actor_invoke(&fx_svc, &a), 0);
	cr_assert_eq(evr_actor_complete(&fx_svc, &a, 1234), 0);
	FX_EXPECT(r, EVR_ACTOR_INVOKED, EVR_ACTOR_COMPLETED);
	cr_assert_eq(EVR_EV(&r[0], actor_invoked)->attempt, 1);
	cr_assert_str_eq(EVR_EV(&r[0], actor_invoked)->actor, "coder");
	cr_assert_eq(EVR_EV(&r[1], actor_completed)->tokens, 1234);
	cr_assert_eq(r[1].plan_id, 3);
}

Test(actor, error_then_reinvoke_then_error_then_escalate)
{
	struct evr_actor_run a = { .actor = "coder" };
	struct evr_record r[64];
	evr_actor_invoke(&fx_svc, &a);
	cr_assert_eq(evr_actor_error(&fx_svc, &a, 17), 0);
	cr_assert_eq(evr_actor_invoke(&fx_svc, &a), 0);
	cr_assert_eq(evr_actor_error(&fx_svc, &a, 18), 0);
	cr_assert_eq(evr_actor_escalate(&fx_svc, &a, "human-review"), 0);
	FX_EXPECT(r, EVR_ACTOR_INVOKED, EVR_ACTOR_ERRORED, EVR_ACTOR_INVOKED, EVR_ACTOR_ERRORED, EVR_ACTOR_ESCALATED);
	cr_assert_eq(EVR_EV(&r[1], actor_errored)->error_code, 17);
	cr_assert_eq(EVR_EV(&r[2], actor_invoked)->attempt, 2);
	cr_assert_eq(EVR_EV(&r[3], actor_errored)->attempt, 2);
	cr_assert_str_eq(EVR_EV(&r[4], actor_escalated)->escalation_target, "human-review");
	cr_assert_str_eq(EVR_EV(&r[4], actor_escalated)->actor, "coder");
}

Test(actor, illegal_transitions_emit_nothing)
{
	struct evr_actor_run a = { .actor = "coder" };
	cr_assert_eq(evr_actor_complete(&fx_svc, &a, 1), -EPERM, "complete before invoke");
	cr_assert_eq(evr_actor_escalate(&fx_svc, &a, "x"), -EPERM, "escalate without an error");
	evr_actor_invoke(&fx_svc, &a);
	struct evr_record r[64];
	fx_drain(r, 64);
	cr_assert_eq(evr_actor_invoke(&fx_svc, &a), -EPERM, "invoke while running");
	evr_actor_complete(&fx_svc, &a, 1);
	fx_drain(r, 64);
	cr_assert_eq(evr_actor_error(&fx_svc, &a, 1), -EPERM, "error after completion");
	struct evr_actor_run nameless = { 0 };
	cr_assert_eq(evr_actor_invoke(&fx_svc, &nameless), -EINVAL);
	FX_EXPECT_NOTHING();
}

TestSuite(tool, .init = fx_setup, .fini = fx_teardown);

Test(tool, retries_with_exponential_backoff_then_completes)
{
	struct evr_tool_call t = { .tool = "web_search", .actor = "researcher", .max_attempts = 3, .base_backoff_ms = 100 };
	struct evr_record r[64];
	evr_tool_invoke(&fx_svc, &t);
	evr_tool_error(&fx_svc, &t, 429);
	cr_assert_eq(evr_tool_retry(&fx_svc, &t), 0);
	evr_tool_error(&fx_svc, &t, 429);
	cr_assert_eq(evr_tool_retry(&fx_svc, &t), 0);
	cr_assert_eq(evr_tool_complete(&fx_svc, &t), 0);
	FX_EXPECT(r, EVR_TOOL_INVOKED, EVR_TOOL_ERRORED, EVR_TOOL_RETRIED, EVR_TOOL_INVOKED, EVR_TOOL_ERRORED,
		  EVR_TOOL_RETRIED, EVR_TOOL_INVOKED, EVR_TOOL_COMPLETED);
	cr_assert_str_eq(EVR_EV(&r[0], tool_invoked)->actor, "researcher");
	cr_assert_eq(EVR_EV(&r[1], tool_errored)->error_code, 429);
	cr_assert_eq(EVR_EV(&r[2], tool_retried)->attempt, 2);
	cr_assert_eq(EVR_EV(&r[2], tool_retried)->backoff_ms, 100);
	cr_assert_eq(EVR_EV(&r[5], tool_retried)->attempt, 3);
	cr_assert_eq(EVR_EV(&r[5], tool_retried)->backoff_ms, 200);
	cr_assert_eq(EVR_EV(&r[6], tool_invoked)->attempt, 3);
	cr_assert_eq(EVR_EV(&r[7], tool_completed)->attempt, 3);
	cr_assert_str_eq(EVR_EV(&r[7], tool_completed)->tool, "web_search");
}

Test(tool, gives_up_after_max_attempts_and_refuses_more_retries)
{
	struct evr_tool_call t = { .tool = "shell", .max_attempts = 2, .base_backoff_ms = 50 };
	struct evr_record r[64];
	evr_tool_invoke(&fx_svc, &t);
	evr_tool_error(&fx_svc, &t, 1);
	evr_tool_retry(&fx_svc, &t);
	evr_tool_error(&fx_svc, &t, 2);
	cr_assert_eq(t.state, EVR_TOOL_ST_GAVE_UP);
	cr_assert_eq(evr_tool_retry(&fx_svc, &t), -EPERM);
	cr_assert_eq(evr_tool_complete(&fx_svc, &t), -EPERM);
	FX_EXPECT(r, EVR_TOOL_INVOKED, EVR_TOOL_ERRORED, EVR_TOOL_RETRIED, EVR_TOOL_INVOKED, EVR_TOOL_ERRORED);
	cr_assert_eq(EVR_EV(&r[4], tool_errored)->attempt, 2);
}

Test(tool, illegal_transitions_emit_nothing)
{
	struct evr_tool_call t = { .tool = "shell", .max_attempts = 2 };
	cr_assert_eq(evr_tool_complete(&fx_svc, &t), -EPERM);
	cr_assert_eq(evr_tool_retry(&fx_svc, &t), -EPERM, "retry before any error");
	cr_assert_eq(evr_tool_error(&fx_svc, &t, 1), -EPERM);
	struct evr_tool_call unbounded = { .tool = "shell" };
	cr_assert_eq(evr_tool_invoke(&fx_svc, &unbounded), -EINVAL, "max_attempts 0");
	FX_EXPECT_NOTHING();
}

TestSuite(context, .init = fx_setup, .fini = fx_teardown);

Test(context, built_within_budget_and_query_executed)
{
	struct evr_record r[64];
	cr_assert_eq(evr_context_build(&fx_svc, 1, 2, 3000, 8192, 12), 0);
	cr_assert_eq(evr_context_query(&fx_svc, 1, 2, "parser files", 7, 5000), 0);
	cr_assert_eq(evr_context_build(&fx_svc, 1, 2, 9000, 8192, 12), -EINVAL, "over budget");
	cr_assert_eq(evr_context_query(&fx_svc, 1, 2, "", 7, 5000), -EINVAL);
	FX_EXPECT(r, EVR_CONTEXT_BUILT, EVR_CONTEXT_QUERY_EXECUTED);
	cr_assert_eq(EVR_EV(&r[0], context_built)->token_count, 3000);
	cr_assert_eq(EVR_EV(&r[0], context_built)->token_budget, 8192);
	cr_assert_eq(EVR_EV(&r[0], context_built)->item_count, 12);
	cr_assert_str_eq(EVR_EV(&r[1], context_query_executed)->query, "parser files");
	cr_assert_eq(EVR_EV(&r[1], context_query_executed)->result_count, 7);
	cr_assert_eq(EVR_EV(&r[1], context_query_executed)->duration_ns, 5000);
}

TestSuite(session, .init = fx_setup, .fini = fx_teardown);

Test(session, created_then_numbered_messages_then_closed_refuses)
{
	struct evr_session se;
	struct evr_record r[64];
	cr_assert_eq(evr_session_create(&fx_svc, &se, 77, 8, "alice"), 0);
	cr_assert_eq(evr_session_send(&fx_svc, &se, "user", 12), 0);
	cr_assert_eq(evr_session_send(&fx_svc, &se, "assistant", 340), 0);
	cr_assert_eq(evr_session_send(&fx_svc, &se, "robot", 1), -EINVAL);
	evr_session_close(&se);
	cr_assert_eq(evr_session_send(&fx_svc, &se, "user", 1), -EPERM);
	FX_EXPECT(r, EVR_SESSION_CREATED, EVR_SESSION_MESSAGE_SENT, EVR_SESSION_MESSAGE_SENT);
	cr_assert_eq(EVR_EV(&r[0], session_created)->session_id, 77);
	cr_assert_str_eq(EVR_EV(&r[0], session_created)->user, "alice");
	cr_assert_eq(EVR_EV(&r[1], session_message_sent)->message_id, 1);
	cr_assert_eq(EVR_EV(&r[2], session_message_sent)->message_id, 2);
	cr_assert_str_eq(EVR_EV(&r[2], session_message_sent)->role, "assistant");
	cr_assert_eq(EVR_EV(&r[2], session_message_sent)->tokens, 340);
	cr_assert_eq(r[2].correlation_id, 8);
}

TestSuite(budget, .init = fx_setup, .fini = fx_teardown);

Test(budget, warns_once_at_threshold_exceeds_once_at_limit_then_refuses)
{
	struct evr_budget b;
	struct evr_record r[64];
	cr_assert_eq(evr_budget_init(&b, "plan-cost", 9, 10, 1000, 80), 0);
	cr_assert_eq(evr_budget_charge(&fx_svc, &b, 500), 0);
	FX_EXPECT_NOTHING();
	cr_assert_eq(evr_budget_charge(&fx_svc, &b, 300), 0); /* 800 = 80 %: warning */
	cr_assert_eq(evr_budget_charge(&fx_svc, &b, 100), 0); /* no second warning */
	cr_assert_eq(evr_budget_charge(&fx_svc, &b, 150), 0); /* 1050 >= 1000: exceeded */
	cr_assert_eq(evr_budget_charge(&fx_svc, &b, 1), -EDQUOT);
	FX_EXPECT(r, EVR_BUDGET_WARNING, EVR_BUDGET_EXCEEDED);
	cr_assert_eq(EVR_EV(&r[0], budget_warning)->spent_micros, 800);
	cr_assert_eq(EVR_EV(&r[0], budget_warning)->limit_micros, 1000);
	cr_assert_eq(EVR_EV(&r[0], budget_warning)->threshold_pct, 80);
	cr_assert_str_eq(EVR_EV(&r[0], budget_warning)->budget, "plan-cost");
	cr_assert_eq(EVR_EV(&r[1], budget_exceeded)->spent_micros, 1050);
	cr_assert_eq(r[1].plan_id, 9);
}

Test(budget, one_charge_past_both_marks_emits_warning_then_exceeded)
{
	struct evr_budget b;
	struct evr_record r[64];
	evr_budget_init(&b, "tokens", 0, 0, 100, 50);
	cr_assert_eq(evr_budget_charge(&fx_svc, &b, 150), 0);
	FX_EXPECT(r, EVR_BUDGET_WARNING, EVR_BUDGET_EXCEEDED);
	cr_assert_eq(evr_budget_init(&b, "x", 0, 0, 100, 100), -EINVAL);
}
