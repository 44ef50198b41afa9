/* Schema: the 38-type table, names, hash, record building, validation, JSON. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include <evring/platform.h>

/* Fill every field of a type with values derived from the type and field index. */
static void fill_all_fields(struct evr_record *r, unsigned type)
{
	const struct evr_event_desc *e = evr_event_desc(type);
	evr_record_init(r, (enum evr_type)type, 1000 + type, 2000 + type);
	for (unsigned f = 0; f < e->field_count; f++) {
		const struct evr_field_desc *fd = &e->fields[f];
		char val[64];
		if (fd->kind == EVR_FIELD_STR)
			snprintf(val, sizeof val, "%c%u", 'a' + (char)(f % 26), type);
		else
			snprintf(val, sizeof val, "%u", type * 100 + f + (fd->kind == EVR_FIELD_U64 ? 4000000000u : 7));
		cr_assert_eq(evr_record_set_field(r, fd->name, val), 0, "%s.%s", e->name, fd->name);
	}
	cr_assert_eq(evr_record_set_details(r, "details text"), 0);
}

ParameterizedTestParameters(schema, every_type_round_trips_through_the_ring)
{
	static unsigned types[EVR_EVENT_COUNT];
	for (unsigned t = 0; t < EVR_EVENT_COUNT; t++)
		types[t] = t;
	return cr_make_param_array(unsigned, types, EVR_EVENT_COUNT);
}

ParameterizedTest(unsigned *type, schema, every_type_round_trips_through_the_ring)
{
	struct evr_test_ring fx;
	struct evr_consumer *c;
	cr_assert_eq(evr_test_ring_open(&fx, "rt", 1, 16, "schema-test"), 0);
	struct evr_producer *p = fx.prod;
	cr_assert_eq(evr_consumer_open(fx.ro, NULL, &c, NULL), 0);

	struct evr_record in, expect;
	fill_all_fields(&in, *type);
	expect = in;
	cr_assert_eq(evr_emit(p, &in), 0);

	struct evr_item it;
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	cr_assert_eq(it.kind, EVR_ITEM_RECORD);
	cr_assert_eq(it.rec.type, *type);
	cr_assert_eq(it.rec.correlation_id, expect.correlation_id);
	cr_assert_eq(it.rec.plan_id, expect.plan_id);
	cr_assert_eq(it.rec.producer_id, evr_producer_id(p));
	cr_assert_eq(it.rec.seq, 0);
	cr_assert_eq(memcmp(it.rec.u.raw, expect.u.raw, EVR_PAYLOAD_SIZE), 0, "payload of %s intact",
		     evr_type_name(*type));
	cr_assert_str_eq(evr_record_details(&it.rec), "details text");

	/* decode: every field appears in the JSON with its value */
	char json[1024];
	int n = evr_record_to_json(&it.rec, json, sizeof json);
	cr_assert(n > 0 && n < (int)sizeof json);
	const struct evr_event_desc *e = evr_event_desc(*type);
	char needle[96];
	snprintf(needle, sizeof needle, "\"type\":\"%s\",\"domain\":\"%s\"", e->name, e->domain);
	cr_assert(strstr(json, needle), "%s in %s", needle, json);
	for (unsigned f = 0; f < e->field_count; f++) {
		snprintf(needle, sizeof needle, "\"%s\":", e->fields[f].name);
		cr_assert(strstr(json, needle), "%s in %s", needle, json);
	}
	evr_consumer_close(c);
	evr_test_ring_close(&fx);
}

Test(schema, table_has_38_types_in_11_domains_with_unique_names)
{
	static const unsigned per_domain[EVR_DOMAIN_COUNT] = {6, 4, 3, 4, 4, 3, 5, 2, 3, 2, 2};
	unsigned count[EVR_DOMAIN_COUNT] = {0};
	cr_assert_eq(EVR_EVENT_COUNT, 38);
	for (unsigned t = 0; t < EVR_EVENT_COUNT; t++) {
		count[evr_domain_from_name(evr_events[t].domain)]++;
		cr_assert_eq(evr_type_from_name(evr_events[t].name), (int)t);
		cr_assert_eq(evr_type_from_name(evr_events[t].upper_name), (int)t);
		for (unsigned u = t + 1; u < EVR_EVENT_COUNT; u++)
			cr_assert_str_neq(evr_events[t].name, evr_events[u].name);
		cr_assert_geq(evr_events[t].details_size, EVR_MIN_DETAILS);
		cr_assert_eq(evr_events[t].details_offset + evr_events[t].details_size, EVR_RECORD_SIZE);
	}
	for (unsigned d = 0; d < EVR_DOMAIN_COUNT; d++)
		cr_assert_eq(count[d], per_domain[d], "domain %s", evr_domain_name(d));
	cr_assert_eq(evr_type_from_name("no_such_event"), -ENOENT);
	cr_assert_eq(evr_domain_from_name("budget"), EVR_DOMAIN_budget);
	cr_assert_eq(evr_domain_from_name("nope"), -ENOENT);
	cr_assert_null(evr_type_name(EVR_EVENT_COUNT));
}

Test(schema, hash_changes_when_the_table_changes)
{
	struct evr_event_desc copy[EVR_EVENT_COUNT];
	struct evr_field_desc fields[8];
	uint64_t base = evr_platform_hash();
	memcpy(copy, evr_events, sizeof copy);
	cr_assert_eq(evr_platform_hash_of(copy, EVR_EVENT_COUNT), base);

	/* a renamed field */
	memcpy(fields, copy[EVR_TOOL_RETRIED].fields, copy[EVR_TOOL_RETRIED].field_count * sizeof fields[0]);
	fields[0].name = "attempts";
	copy[EVR_TOOL_RETRIED].fields = fields;
	cr_assert_neq(evr_platform_hash_of(copy, EVR_EVENT_COUNT), base);
	/* a resized field */
	fields[0].name = evr_events[EVR_TOOL_RETRIED].fields[0].name;
	cr_assert_eq(evr_platform_hash_of(copy, EVR_EVENT_COUNT), base);
	fields[2].size = 23;
	cr_assert_neq(evr_platform_hash_of(copy, EVR_EVENT_COUNT), base);
	/* two types swapped, a type moved to another domain, a type removed */
	memcpy(copy, evr_events, sizeof copy);
	copy[0] = evr_events[1];
	copy[1] = evr_events[0];
	cr_assert_neq(evr_platform_hash_of(copy, EVR_EVENT_COUNT), base);
	memcpy(copy, evr_events, sizeof copy);
	copy[5].domain = "budget";
	cr_assert_neq(evr_platform_hash_of(copy, EVR_EVENT_COUNT), base);
	cr_assert_neq(evr_platform_hash_of(evr_events, EVR_EVENT_COUNT - 1), base);
}

Test(schema, oversized_strings_are_truncated_and_flagged)
{
	struct evr_record r;
	evr_record_init(&r, EVR_ACTOR_ESCALATED, 1, 2);
	cr_assert_eq(EVR_SET_STR(&r, EVR_EV(&r, actor_escalated)->actor, "planner"), 0);
	cr_assert_eq(r.flags & EVR_REC_TRUNCATED, 0);
	char big[200];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cr_assert_eq(EVR_SET_STR(&r, EVR_EV(&r, actor_escalated)->escalation_target, big), 1);
	cr_assert(r.flags & EVR_REC_TRUNCATED);
	cr_assert_eq(strlen(EVR_EV(&r, actor_escalated)->escalation_target), sizeof EVR_EV(&r, actor_escalated)->escalation_target - 1);
	cr_assert_str_eq(EVR_EV(&r, actor_escalated)->actor, "planner", "the neighbouring field is untouched");
	cr_assert_eq(evr_record_set_details(&r, big), 1);
	cr_assert_eq(evr_record_validate(&r, NULL, 0), 0);
	/* a multi-byte UTF-8 character is never cut in half */
	evr_record_init(&r, EVR_SESSION_MESSAGE_SENT, 0, 0);
	cr_assert_eq(EVR_SET_STR(&r, EVR_EV(&r, session_message_sent)->role, "aaaaaaaaaaaaaa\xc3\xa9"), 1); /* 16 bytes */
	cr_assert_str_eq(EVR_EV(&r, session_message_sent)->role, "aaaaaaaaaaaaaa");
}

Test(schema, set_field_rejects_unknown_keys_and_bad_numbers)
{
	struct evr_record r;
	evr_record_init(&r, EVR_TOOL_RETRIED, 0, 0);
	cr_assert_eq(evr_record_set_field(&r, "attempt", "3"), 0);
	cr_assert_eq(EVR_EV(&r, tool_retried)->attempt, 3);
	cr_assert_eq(evr_record_set_field(&r, "backoff_ms", "0x10"), 0);
	cr_assert_eq(EVR_EV(&r, tool_retried)->backoff_ms, 16);
	cr_assert_eq(evr_record_set_field(&r, "plan_id", "18446744073709551615"), 0);
	cr_assert_eq(r.plan_id, UINT64_MAX);
	cr_assert_eq(evr_record_set_field(&r, "no_such_field", "1"), -ENOENT);
	cr_assert_eq(evr_record_set_field(&r, "attempt", "4294967296"), -EINVAL, "u32 overflow");
	cr_assert_eq(evr_record_set_field(&r, "attempt", "-1"), -EINVAL);
	cr_assert_eq(evr_record_set_field(&r, "attempt", "12abc"), -EINVAL);
	cr_assert_eq(evr_record_set_field(&r, "attempt", ""), -EINVAL);
	cr_assert_eq(EVR_EV(&r, tool_retried)->attempt, 3, "failed sets leave the field alone");
	r.type = 200;
	cr_assert_eq(evr_record_set_field(&r, "attempt", "1"), -EINVAL);
}

Test(schema, validate_rejects_unknown_types_flags_and_unterminated_strings)
{
	struct evr_record r;
	char why[128];
	evr_record_init(&r, EVR_INVARIANT_VIOLATED, 0, 0);
	cr_assert_eq(evr_record_validate(&r, why, sizeof why), 0);
	memset(EVR_EV(&r, invariant_violated)->invariant, 'z', sizeof EVR_EV(&r, invariant_violated)->invariant);
	cr_assert_eq(evr_record_validate(&r, why, sizeof why), -EPROTO);
	cr_assert(strstr(why, "invariant"), "%s", why);
	char json[512];
	cr_assert_eq(evr_record_to_json(&r, json, sizeof json), -EPROTO, "JSON refuses an invalid record");

	evr_record_init(&r, EVR_BUDGET_EXCEEDED, 0, 0);
	memset((char *)&r + evr_events[EVR_BUDGET_EXCEEDED].details_offset, 'd',
	       evr_events[EVR_BUDGET_EXCEEDED].details_size);
	cr_assert_eq(evr_record_validate(&r, why, sizeof why), -EPROTO);
	cr_assert(strstr(why, "details"), "%s", why);

	evr_record_init(&r, EVR_BUDGET_EXCEEDED, 0, 0);
	r.type = EVR_EVENT_COUNT;
	cr_assert_eq(evr_record_validate(&r, why, sizeof why), -EPROTO);
	cr_assert(strstr(why, "unknown event type"), "%s", why);
	r.type = 0xffff;
	cr_assert_eq(evr_record_validate(&r, NULL, 0), -EPROTO);

	evr_record_init(&r, EVR_BUDGET_EXCEEDED, 0, 0);
	r.flags = 0x80;
	cr_assert_eq(evr_record_validate(&r, why, sizeof why), -EPROTO);
	cr_assert(strstr(why, "flags"), "%s", why);
}

Test(schema, json_escapes_quotes_controls_and_invalid_utf8)
{
	struct evr_record r;
	evr_record_init(&r, EVR_CONTEXT_QUERY_EXECUTED, 5, 6);
	EVR_SET_STR(&r, EVR_EV(&r, context_query_executed)->query, "a\"b\\c\n\x01\xff\xc3\xa9");
	EVR_EV(&r, context_query_executed)->result_count = 42;
	r.seq = 9;
	r.ts = 1700000000123456789ull;
	char json[512];
	int n = evr_record_to_json(&r, json, sizeof json);
	cr_assert_gt(n, 0);
	cr_assert(strstr(json, "\"query\":\"a\\\"b\\\\c\\u000a\\u0001\\ufffd\xc3\xa9\""), "%s", json);
	cr_assert(strstr(json, "\"result_count\":42"), "%s", json);
	cr_assert(strstr(json, "\"time\":\"2023-11-14T22:13:20.123456789Z\""), "%s", json);
	/* snprintf semantics: a short buffer reports the full length and stays terminated */
	char small[16];
	cr_assert_eq(evr_record_to_json(&r, small, sizeof small), n);
	cr_assert_eq(strlen(small), sizeof small - 1);
}
