/* The ring's own schema description: validation of hostile descriptions, the compatibility rules,
 * and two versions of a small table (v1; v2 = v1 + one field appended to job_done + one new type)
 * sharing one ring in all four producer/consumer pairings, asserted field by field on the JSON the
 * generic decoder prints from the ring's description. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "test_util.h"
#include <evring/platform.h>

/* v1: job_started { u64 job_id; u32 attempt; char queue[16]; } job_done { u64 job_id; u32 status; } */
static const struct evr_field_desc started_f[] = {
	{"job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0}, {"attempt", EVR_FIELD_U32, 48, 4, 1, NULL, 0}, {"queue", EVR_FIELD_STR, 52, 16, 1, NULL, 0}};
static const struct evr_field_desc done_v1_f[] = {{"job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0}, {"status", EVR_FIELD_U32, 48, 4, 1, NULL, 0}};
/* v2 appends retries to job_done (its details start 4 bytes later) and adds job_moved */
static const struct evr_field_desc done_v2_f[] = {
	{"job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0}, {"status", EVR_FIELD_U32, 48, 4, 1, NULL, 0}, {"retries", EVR_FIELD_U32, 52, 4, 2, NULL, 0}};
static const struct evr_field_desc moved_f[] = {{"job_id", EVR_FIELD_U64, 40, 8, 2, NULL, 0}, {"to", EVR_FIELD_STR, 48, 16, 2, NULL, 0}};

static const struct evr_event_desc v1[] = {
	{"job_started", "JOB_STARTED", "tool", started_f, 3, 68, 60, 1},
	{"job_done", "JOB_DONE", "tool", done_v1_f, 2, 52, 76, 1},
};
static const struct evr_event_desc v2[] = {
	{"job_started", "JOB_STARTED", "tool", started_f, 3, 68, 60, 1},
	{"job_done", "JOB_DONE", "tool", done_v2_f, 3, 56, 72, 1},
	{"job_moved", "JOB_MOVED", "tool", moved_f, 2, 64, 64, 2},
};

static struct evr_desc_header *build(const struct evr_event_desc *t, size_t n, uint32_t version)
{
	int size = evr_desc_build(t, n, "jobs", version, NULL, 0);
	cr_assert_gt(size, 0);
	struct evr_desc_header *d = malloc((size_t)size);
	cr_assert_eq(evr_desc_build(t, n, "jobs", version, d, (size_t)size), size);
	return d;
}

static struct evr_desc_header *d1, *d2;
static char name[64];

static void setup(void)
{
	d1 = build(v1, 2, 1);
	d2 = build(v2, 3, 2);
	evr_test_name(name, sizeof name, "desc");
}

static void teardown(void)
{
	evr_ring_unlink(name, NULL);
	free(d1);
	free(d2);
}

static void create_with(const struct evr_desc_header *d)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 16;
	o.schema = d;
	struct evr_ring *r;
	struct evr_err err;
	cr_assert_eq(evr_ring_create(name, &o, &r, &err), 0, "%s", err.msg);
	evr_ring_close(r);
}

/* Emit one record of `type` with a table's layout: ids, then u32 fields set to `v`, the details. */
static int emit_as(const struct evr_desc_header *mine, const struct evr_event_desc *table, unsigned type,
		   uint32_t v, const char *details)
{
	struct evr_ring *r;
	struct evr_producer *p;
	struct evr_err err;
	cr_assert_eq(evr_ring_open_schema(name, EVR_ROLE_PRODUCER, mine, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(evr_producer_open(r, "jobs", &p, &err), 0, "%s", err.msg);
	struct evr_record rec;
	evr_record_init(&rec, (enum evr_type)type, 0, 0);
	const struct evr_event_desc *e = &table[type < 3 ? type : 0];
	for (unsigned f = 0; type < 3 && f < e->field_count; f++) {
		const struct evr_field_desc *fd = &e->fields[f];
		if (fd->kind == EVR_FIELD_U32)
			memcpy((char *)&rec + fd->offset, &v, 4);
		else if (fd->kind == EVR_FIELD_U64)
			memcpy((char *)&rec + fd->offset, &(uint64_t){v * 100u}, 8);
		else
			evr_record_set_str(&rec, (char *)&rec + fd->offset, fd->size, "q");
	}
	evr_record_set_str(&rec, (char *)&rec + e->details_offset, e->details_size, details);
	int rc = evr_emit(p, &rec);
	evr_producer_close(p);
	evr_ring_close(r);
	return rc;
}

/* Read every record as a consumer with table `mine`, decoded from the ring's description; the JSON
 * without its times (seq, ts, time vary), one per line in out. */
static unsigned read_as(const struct evr_desc_header *mine, char out[][512], unsigned max)
{
	struct evr_ring *r;
	struct evr_consumer *c;
	struct evr_err err;
	cr_assert_eq(evr_ring_open_schema(name, EVR_ROLE_CONSUMER, mine, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(evr_consumer_open(r, NULL, &c, NULL), 0);
	struct evr_item it;
	unsigned n = 0;
	while (n < max && evr_consumer_poll(c, &it) > 0) {
		cr_assert_eq(it.kind, EVR_ITEM_RECORD);
		char json[512];
		cr_assert_gt(evr_desc_record_to_json(evr_ring_schema(r), &it.rec, json, sizeof json), 0);
		const char *from = strstr(json, ",\"correlation_id\""); /* producer ids differ by run */
		cr_assert_not_null(from);
		const char *type_end = strstr(json, ",\"seq\"");
		snprintf(out[n++], 512, "%.*s%s", (int)(type_end - json), json, from);
	}
	evr_consumer_close(c);
	evr_ring_close(r);
	return n;
}

#define COMMON ",\"correlation_id\":0,\"plan_id\":0,\"truncated\":false,\"replayed\":false"

Test(describe, v1_ring_takes_v1_and_v2_producers_and_serves_v1_and_v2_consumers, .init = setup, .fini = teardown)
{
	create_with(d1);
	cr_assert_eq(emit_as(d1, v1, 1, 7, "from v1"), 0);
	cr_assert_eq(emit_as(d2, v2, 1, 8, "from v2"), 0, "v2 emits job_done into a v1 ring: its retries dropped");
	cr_assert_eq(emit_as(d2, v2, 2, 9, "moved"), -EPROTO, "the v1 ring has no job_moved");
	const struct evr_desc_header *consumers[] = {d1, d2};
	for (unsigned i = 0; i < 2; i++) {
		char got[4][512];
		cr_assert_eq(read_as(consumers[i], got, 4), 2);
		cr_assert_str_eq(got[0], "{\"type\":\"job_done\",\"domain\":\"tool\"" COMMON
					 ",\"job_id\":700,\"status\":7,\"details\":\"from v1\"}");
		cr_assert_str_eq(got[1], "{\"type\":\"job_done\",\"domain\":\"tool\"" COMMON
					 ",\"job_id\":800,\"status\":8,\"details\":\"from v2\"}");
	}
}

Test(describe, v2_ring_takes_v1_and_v2_producers_and_serves_v1_and_v2_consumers, .init = setup, .fini = teardown)
{
	create_with(d2);
	cr_assert_eq(emit_as(d1, v1, 1, 7, "from v1"), 0);
	cr_assert_eq(emit_as(d2, v2, 1, 8, "from v2"), 0);
	cr_assert_eq(emit_as(d2, v2, 2, 9, "moved"), 0);
	cr_assert_eq(emit_as(d1, v1, 0, 3, "started"), 0, "an unchanged type needs no adapting");
	const struct evr_desc_header *consumers[] = {d1, d2};
	for (unsigned i = 0; i < 2; i++) {
		char got[4][512];
		cr_assert_eq(read_as(consumers[i], got, 4), 4);
		/* v1's job_done: retries did not exist for its producer, so it is not present (null) */
		cr_assert_str_eq(got[0], "{\"type\":\"job_done\",\"domain\":\"tool\"" COMMON
					 ",\"job_id\":700,\"status\":7,\"retries\":null,\"details\":\"from v1\"}");
		cr_assert_str_eq(got[1], "{\"type\":\"job_done\",\"domain\":\"tool\"" COMMON
					 ",\"job_id\":800,\"status\":8,\"retries\":8,\"details\":\"from v2\"}");
		/* a v1 consumer decodes the type it was not built with, by name, from the ring */
		cr_assert_str_eq(got[2], "{\"type\":\"job_moved\",\"domain\":\"tool\"" COMMON
					 ",\"job_id\":900,\"to\":\"q\",\"details\":\"moved\"}");
		cr_assert_str_eq(got[3], "{\"type\":\"job_started\",\"domain\":\"tool\"" COMMON
					 ",\"job_id\":300,\"attempt\":3,\"queue\":\"q\",\"details\":\"started\"}");
	}
}

/* An incompatible table is refused at open, by producers and consumers, naming what differs. */
static void expect_refused(const struct evr_event_desc *bad, const char *const *words)
{
	create_with(d1);
	struct evr_desc_header *d = build(bad, 2, 2);
	for (int role = EVR_ROLE_PRODUCER; role <= EVR_ROLE_CONSUMER; role++) {
		struct evr_ring *r;
		struct evr_err err;
		cr_assert_eq(evr_ring_open_schema(name, (enum evr_role)role, d, &r, &err), -EPROTO);
		for (unsigned i = 0; words[i]; i++)
			cr_assert_not_null(strstr(err.msg, words[i]), "'%s' not in: %s", words[i], err.msg);
	}
	free(d);
}

Test(describe, a_moved_field_is_refused_naming_type_field_and_both_definitions, .init = setup, .fini = teardown)
{
	static const struct evr_field_desc f[] = {{"job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0}, {"status", EVR_FIELD_U32, 52, 4, 1, NULL, 0}};
	const struct evr_event_desc bad[] = {v1[0], {"job_done", "JOB_DONE", "tool", f, 2, 56, 72, 1}};
	expect_refused(bad, (const char *const[]){"job_done", "u32 status at offset 48", "u32 status at offset 52", NULL});
}

Test(describe, a_retyped_field_is_refused_naming_type_field_and_both_definitions, .init = setup, .fini = teardown)
{
	static const struct evr_field_desc f[] = {{"job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0}, {"status", EVR_FIELD_U64, 48, 8, 1, NULL, 0}};
	const struct evr_event_desc bad[] = {v1[0], {"job_done", "JOB_DONE", "tool", f, 2, 56, 72, 1}};
	expect_refused(bad, (const char *const[]){"job_done", "u32 status at offset 48 (4 bytes)",
						  "u64 status at offset 48 (8 bytes)", NULL});
}

Test(describe, a_reused_type_id_is_refused_naming_both_types, .init = setup, .fini = teardown)
{
	const struct evr_event_desc bad[] = {v1[0], {"job_failed", "JOB_FAILED", "tool", done_v1_f, 2, 52, 76, 1}};
	expect_refused(bad, (const char *const[]){"type id 1", "job_done", "job_failed", NULL});
}

/* Hostile descriptions: each mutation of a valid one is refused with a reason. */
struct mutant {
	char what[32]; /* an array: Criterion copies parameters into the test's process */
	size_t at;     /* byte offset into the platform's description */
	unsigned char value;
	unsigned len;  /* bytes set from `at` */
};

ParameterizedTestParameters(describe, a_damaged_description_is_refused)
{
	static struct mutant m[] = {
		{"magic", 0, 0x00, 1}, {"format", 4, 2, 1}, {"size", 8, 0x41, 1}, {"version 0", 12, 0, 1},
		{"type count", 16, 0x27, 1}, {"field count", 18, 0x01, 1}, {"record size", 20, 0x40, 1},
		{"schema name unterminated", 32, 'x', 32}, {"schema name empty", 32, 0, 1},
		{"type id", 64, 5, 1}, {"type since", 64 + 2, 9, 1}, {"first field", 64 + 4, 1, 1},
		{"details offset", 64 + 8, 0, 1}, {"type name unterminated", 64 + 16, 'a', 32},
		{"type name charset", 64 + 16, 'A', 1}, {"domain empty", 64 + 48, 0, 1},
		{"field name", 64 + 64 * EVR_EVENT_COUNT, '{', 1}, {"field offset", 64 + 64 * EVR_EVENT_COUNT + 24, 0, 1},
		{"field kind", 64 + 64 * EVR_EVENT_COUNT + 28, 99, 1}, {"field size", 64 + 64 * EVR_EVENT_COUNT + 26, 1, 1},
		{"field since", 64 + 64 * EVR_EVENT_COUNT + 30, 3, 1},
	};
	return cr_make_param_array(struct mutant, m, sizeof m / sizeof m[0]);
}

ParameterizedTest(struct mutant *m, describe, a_damaged_description_is_refused)
{
	const struct evr_desc_header *d = evr_platform_desc();
	unsigned char *copy = malloc(d->size);
	memcpy(copy, d, d->size);
	cr_assert_eq(evr_desc_validate(copy, d->size, NULL, 0), 0);
	memset(copy + m->at, m->value, m->len);
	char why[200] = "";
	cr_assert_eq(evr_desc_validate(copy, d->size, why, sizeof why), -EPROTO, "%s accepted", m->what);
	cr_assert_neq(why[0], 0);
	free(copy);
}

Test(describe, a_duplicate_type_or_field_name_is_refused)
{
	const struct evr_event_desc dup[] = {v1[1], v1[1]};
	cr_assert_eq(evr_desc_build(dup, 2, "jobs", 1, NULL, 0) > 0, 1, "size only: nothing validated yet");
	char buf[512];
	cr_assert_eq(evr_desc_build(dup, 2, "jobs", 1, buf, sizeof buf), -EINVAL);
	static const struct evr_field_desc f[] = {{"job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0}, {"job_id", EVR_FIELD_U32, 48, 4, 1, NULL, 0}};
	const struct evr_event_desc two[] = {{"job_done", "JOB_DONE", "tool", f, 2, 52, 76, 1}};
	cr_assert_eq(evr_desc_build(two, 1, "jobs", 1, buf, sizeof buf), -EINVAL);
}

Test(describe, the_platform_description_has_38_types_and_fits_two_pages)
{
	const struct evr_desc_header *d = evr_platform_desc();
	cr_assert_eq(d->type_count, EVR_EVENT_COUNT);
	unsigned fields = 0;
	for (unsigned t = 0; t < EVR_EVENT_COUNT; t++)
		fields += evr_events[t].field_count;
	cr_assert_eq(d->field_count, fields);
	cr_assert_eq(d->size, 64 + 64 * EVR_EVENT_COUNT + 32 * fields);
	cr_assert_leq(d->size, 8192u);
	cr_assert_eq(evr_desc_hash(d), evr_platform_hash());
}

ParameterizedTestParameters(describe, every_platform_type_decodes_from_the_ring_as_the_typed_path_does)
{
	static unsigned types[EVR_EVENT_COUNT];
	for (unsigned t = 0; t < EVR_EVENT_COUNT; t++)
		types[t] = t;
	return cr_make_param_array(unsigned, types, EVR_EVENT_COUNT);
}

/* The ring's description alone (no compiled table) gives the JSON the compiled path gives. */
ParameterizedTest(unsigned *type, describe, every_platform_type_decodes_from_the_ring_as_the_typed_path_does)
{
	struct evr_test_ring fx;
	struct evr_consumer *c;
	cr_assert_eq(evr_test_ring_open(&fx, "dec", 1, 16, "describe-test"), 0);
	cr_assert_eq(evr_consumer_open(fx.ro, NULL, &c, NULL), 0);
	struct evr_record in;
	evr_record_init(&in, (enum evr_type)*type, 11, 22);
	const struct evr_event_desc *e = evr_event_desc(*type);
	for (unsigned f = 0; f < e->field_count; f++) {
		char v[24];
		snprintf(v, sizeof v, "%u", 1000u + f);
		cr_assert_eq(evr_record_set_field(&in, e->fields[f].name, v), 0);
	}
	evr_record_set_details(&in, "d\"etails\n");
	cr_assert_eq(evr_emit(fx.prod, &in), 0);
	struct evr_item it;
	cr_assert_eq(evr_consumer_poll(c, &it), 1);
	char a[1024], b[1024];
	int na = evr_desc_record_to_json(evr_ring_schema(fx.ro), &it.rec, a, sizeof a);
	int nb = evr_record_to_json(&it.rec, b, sizeof b);
	cr_assert_gt(na, 0);
	cr_assert_eq(na, nb);
	cr_assert_str_eq(a, b);
	evr_consumer_close(c);
	evr_test_ring_close(&fx);
}

Test(describe, a_type_whose_details_moved_under_the_same_fields_is_refused, .init = setup, .fini = teardown)
{
	const struct evr_event_desc bad[] = {v1[0], {"job_done", "JOB_DONE", "tool", done_v1_f, 2, 56, 72, 1}};
	expect_refused(bad, (const char *const[]){"job_done", "details at offset 52", "at 56", NULL});
}

/* Named values (an enum): job_done.status is {ok=0, failed=1} in "e1"; "e2" names one more value
 * (appended, compatible); "e3" renames 1 (refused, naming both). */
static const struct evr_value_desc status_e1[] = {{"ok", 0, 1}, {"failed", 1, 1}};
static const struct evr_value_desc status_e2[] = {{"ok", 0, 1}, {"failed", 1, 1}, {"retried", 2, 2}};
static const struct evr_value_desc status_e3[] = {{"ok", 0, 1}, {"error", 1, 1}};
static const struct evr_field_desc done_e1_f[] = {{"job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0},
						  {"status", EVR_FIELD_U32, 48, 4, 1, status_e1, 2}};
static const struct evr_field_desc done_e2_f[] = {{"job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0},
						  {"status", EVR_FIELD_U32, 48, 4, 1, status_e2, 3}};
static const struct evr_field_desc done_e3_f[] = {{"job_id", EVR_FIELD_U64, 40, 8, 1, NULL, 0},
						  {"status", EVR_FIELD_U32, 48, 4, 1, status_e3, 2}};

Test(describe, named_values_decode_by_name_and_may_be_appended_but_never_renamed, .init = setup, .fini = teardown)
{
	const struct evr_event_desc e1[] = {v1[0], {"job_done", "JOB_DONE", "tool", done_e1_f, 2, 52, 76, 1}};
	const struct evr_event_desc e2[] = {v1[0], {"job_done", "JOB_DONE", "tool", done_e2_f, 2, 52, 76, 1}};
	const struct evr_event_desc e3[] = {v1[0], {"job_done", "JOB_DONE", "tool", done_e3_f, 2, 52, 76, 1}};
	struct evr_desc_header *de1 = build(e1, 2, 1), *de2 = build(e2, 2, 2);
	cr_assert_eq(d1->format, EVR_DESC_FORMAT, "no named values: format 1, as before");
	cr_assert_eq(de1->format, EVR_DESC_FORMAT_VALUES);
	cr_assert_eq(de1->value_count, 2);
	cr_assert_eq(de1->size, d1->size + 2 * 32, "32 bytes a named value");
	create_with(de1);
	cr_assert_eq(emit_as(de1, e1, 1, 1, "named"), 0);
	cr_assert_eq(emit_as(de2, e2, 1, 2, "named by v2 only"), 0, "appending a name is compatible");
	cr_assert_eq(emit_as(de1, e1, 1, 7, "unnamed"), 0);
	char out[4][512];
	cr_assert_eq(read_as(NULL, out, 4), 3);
	cr_assert_str_eq(out[0], "{\"type\":\"job_done\",\"domain\":\"tool\"" COMMON ",\"job_id\":100,\"status\":\"failed\",\"details\":\"named\"}");
	cr_assert_str_eq(out[1], "{\"type\":\"job_done\",\"domain\":\"tool\"" COMMON ",\"job_id\":200,\"status\":2,\"details\":\"named by v2 only\"}",
			 "the ring's description does not name 2: the number");
	cr_assert_str_eq(out[2], "{\"type\":\"job_done\",\"domain\":\"tool\"" COMMON ",\"job_id\":700,\"status\":7,\"details\":\"unnamed\"}");
	struct evr_desc_header *de3 = build(e3, 2, 2);
	struct evr_ring *r;
	struct evr_err err;
	cr_assert_eq(evr_ring_open_schema(name, EVR_ROLE_CONSUMER, de3, &r, &err), -EPROTO);
	cr_log_info("%s", err.msg);
	cr_assert(strstr(err.msg, "job_done") && strstr(err.msg, "status") && strstr(err.msg, "'failed'") &&
		  strstr(err.msg, "'error'"), "%s", err.msg);
	free(de1);
	free(de2);
	free(de3);
}

/* Hostile named values: each mutation of a valid description is refused with a reason. */
Test(describe, damaged_named_values_are_refused, .init = setup, .fini = teardown)
{
	const struct evr_event_desc e2[] = {v1[0], {"job_done", "JOB_DONE", "tool", done_e2_f, 2, 52, 76, 1}};
	struct evr_desc_header *good = build(e2, 2, 2);
	static const char *const what[] = {"field out of range", "a string field", "unsorted values", "a duplicate name",
					   "an unterminated name", "since above the schema", "reserved bits",
					   "values in format 1", "a value wider than the field"};
	for (unsigned k = 0; k < sizeof what / sizeof what[0]; k++) {
		struct evr_desc_header *d = malloc(good->size);
		memcpy(d, good, good->size);
		struct evr_desc_value *v = (struct evr_desc_value *)(void *)(evr_desc_fields(d) + d->field_count);
		switch (k) {
		case 0: v[0].field = 99; break;
		case 1: v[0].field = 2; break; /* job_started.queue: a string */
		case 2: v[1].value = 5; break; /* 0, 5, 2 */
		case 3: memcpy(v[2].name, "ok", 3); break;
		case 4: memset(v[1].name, 'a', sizeof v[1].name); break;
		case 5: v[2].since = 3; break;
		case 6: v[0].reserved = 1; break;
		case 7: d->format = EVR_DESC_FORMAT; break;
		default: v[2].value = 1ull << 32; break; /* status is a u32 */
		}
		char why[200] = "";
		cr_assert_eq(evr_desc_validate(d, d->size, why, sizeof why), -EPROTO, "%s accepted", what[k]);
		cr_log_info("%s: %s", what[k], why);
		free(d);
	}
	free(good);
}

/* Review: EVR_DESC_MAX_SIZE bounds every description (describe.h), and open refuses a larger one, so
 * validation must too: else create makes a ring that no one, its creator included, can open. */
Test(describe, a_description_over_the_size_limit_is_refused)
{
	unsigned nt = 300, nf = 32; /* 64 + 300 x 64 + 9600 x 32 = 326464 bytes, every entry valid */
	size_t size = 64 + 64 * (size_t)nt + 32 * (size_t)nt * nf;
	struct evr_desc_header *h = calloc(1, size);
	*h = (struct evr_desc_header){.magic = EVR_DESC_MAGIC, .format = EVR_DESC_FORMAT, .size = (uint32_t)size,
				      .schema_version = 1, .type_count = (uint16_t)nt, .field_count = (uint16_t)(nt * nf),
				      .record_size = EVR_RECORD_SIZE, .record_hdr_size = EVR_RECORD_HDR_SIZE};
	strcpy(h->name, "big");
	struct evr_desc_type *t = (void *)(h + 1);
	struct evr_desc_field *f = (void *)(t + nt);
	for (unsigned i = 0; i < nt; i++) {
		t[i] = (struct evr_desc_type){.id = (uint16_t)i, .since = 1, .first_field = (uint16_t)(i * nf),
					      .field_count = (uint16_t)nf, .details_offset = 72, .details_size = 56};
		snprintf(t[i].name, sizeof t[i].name, "t%u", i);
		strcpy(t[i].domain, "d");
		for (unsigned j = 0; j < nf; j++) {
			f[i * nf + j] = (struct evr_desc_field){.offset = (uint16_t)(40 + j), .size = 1, .kind = EVR_FIELD_U8, .since = 1};
			snprintf(f[i * nf + j].name, sizeof f[i * nf + j].name, "f%u", j);
		}
	}
	cr_assert_gt(size, EVR_DESC_MAX_SIZE);
	cr_expect_eq(evr_desc_validate(h, size, NULL, 0), -EPROTO);
	free(h);
}

/* The widest records a valid description allows decode within EVR_DESC_JSON_MAX: 32 one-byte
 * fields with 23-byte names, each holding a value with a 15-byte name, and control bytes (escaped
 * six-fold) in the details; and one 87-byte string field of control bytes. */
Test(describe, the_widest_records_json_fits_EVR_DESC_JSON_MAX)
{
	static struct evr_field_desc f[32];
	static char names[32][24];
	static const struct evr_value_desc v[] = {{"value_name_15ch", 0x80, 1}};
	for (int i = 0; i < 32; i++) {
		snprintf(names[i], sizeof names[i], "field_%017d", i); /* 23 bytes */
		f[i] = (struct evr_field_desc){names[i], EVR_FIELD_U8, (uint16_t)(40 + i), 1, 1, v, 1};
	}
	static const struct evr_field_desc s[] = {{"s_field_name_of_23bytes", EVR_FIELD_STR, 40, 87, 1, NULL, 0}};
	const struct evr_event_desc t[] = {{"wide_integers_type_name_31bytes", "W", "domain_15_bytes", f, 32, 72, 56, 1},
					   {"wide_string_type_name_of_31byte", "S", "domain_15_bytes", s, 1, 127, 1, 1}};
	struct evr_desc_header *d = build(t, 2, 1);
	struct evr_record r;
	memset(&r, 0, sizeof r);
	r.seq = r.ts = r.correlation_id = r.plan_id = UINT64_MAX;
	r.flags = EVR_REC_TRUNCATED | EVR_REC_REPLAYED;
	r.producer_id = r.lane = UINT16_MAX;
	memset((char *)&r + 40, 0x80, 32);
	memset((char *)&r + 72, 0x01, 55);
	char json[EVR_DESC_JSON_MAX + 1];
	int n = evr_desc_record_to_json(d, &r, json, sizeof json);
	cr_log_info("widest integer record: %d bytes of JSON", n);
	cr_assert(n > 1024 && n < EVR_DESC_JSON_MAX, "%d", n);
	r.type = 1;
	memset((char *)&r + 40, 0x01, 86);
	((char *)&r)[126] = ((char *)&r)[127] = 0;
	n = evr_desc_record_to_json(d, &r, json, sizeof json);
	cr_log_info("widest string record: %d bytes of JSON", n);
	cr_assert(n > 0 && n < EVR_DESC_JSON_MAX, "%d", n);
	free(d);
}
