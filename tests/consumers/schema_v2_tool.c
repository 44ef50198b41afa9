/* A producer built with a newer platform table, for test_cli_schema.sh: v2 = the platform's table
 * (v1) + a field jitter_ms (u32) appended to tool_retried + a new type tool_cancelled, whose
 * reason (u8) is an enum with named values. It stands
 * for "the services of next year" next to the evring CLI of today (v1).
 *   schema_v2_tool create NAME     create NAME with the v2 table
 *   schema_v2_tool emit NAME       emit tool_retried (jitter_ms=75) and tool_cancelled
 *                                  (reason=operator) with v2
 * Exit 0, or 1 with the library's message on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evring/evring.h>
#include <evring/platform.h>

static struct evr_field_desc retried[8];
static const struct evr_value_desc reasons[] = {{"timeout", 1, 2}, {"operator", 2, 2}, {"budget", 3, 2}};
static const struct evr_field_desc cancelled_f[] = {{"tool", EVR_FIELD_STR, 40, 24, 2, NULL, 0},
						    {"cancelled_by", EVR_FIELD_STR, 64, 16, 2, NULL, 0},
						    {"reason", EVR_FIELD_U8, 80, 1, 2, reasons, 3}};
static struct evr_event_desc v2[EVR_EVENT_COUNT + 1];

static struct evr_desc_header *build_v2(void)
{
	memcpy(v2, evr_events, sizeof evr_events);
	const struct evr_event_desc *r = &evr_events[EVR_TOOL_RETRIED];
	memcpy(retried, r->fields, r->field_count * sizeof retried[0]);
	retried[r->field_count] = (struct evr_field_desc){"jitter_ms", EVR_FIELD_U32, r->details_offset, 4, 2, NULL, 0};
	v2[EVR_TOOL_RETRIED].fields = retried;
	v2[EVR_TOOL_RETRIED].field_count = (uint16_t)(r->field_count + 1);
	v2[EVR_TOOL_RETRIED].details_offset = (uint16_t)(r->details_offset + 4);
	v2[EVR_TOOL_RETRIED].details_size = (uint16_t)(r->details_size - 4);
	v2[EVR_EVENT_COUNT] = (struct evr_event_desc){"tool_cancelled", "TOOL_CANCELLED", "tool", cancelled_f,
						      3, 81, 47, 2};
	static char buf[8192];
	if (evr_desc_build(v2, EVR_EVENT_COUNT + 1, EVR_SCHEMA_NAME, 2, buf, sizeof buf) <= 0)
		abort();
	return (struct evr_desc_header *)(void *)buf;
}

static int emit(const char *name, const struct evr_desc_header *d)
{
	struct evr_ring *ring;
	struct evr_producer *p;
	struct evr_err err;
	if (evr_ring_open_schema(name, EVR_ROLE_PRODUCER, d, &ring, &err) ||
	    evr_producer_open(ring, "v2-service", &p, &err)) {
		fprintf(stderr, "schema_v2_tool: %s\n", err.msg);
		return 1;
	}
	struct evr_record r;
	evr_record_init(&r, EVR_TOOL_RETRIED, 0, 42);
	EVR_SET_STR(&r, EVR_EV(&r, tool_retried)->tool, "web_search");
	EVR_EV(&r, tool_retried)->attempt = 3;
	EVR_EV(&r, tool_retried)->backoff_ms = 500;
	uint32_t jitter = 75;
	memcpy((char *)&r + retried[3].offset, &jitter, 4);
	evr_record_set_str(&r, (char *)&r + v2[EVR_TOOL_RETRIED].details_offset, v2[EVR_TOOL_RETRIED].details_size,
			   "from v2");
	int rc1 = evr_emit(p, &r);
	evr_record_init(&r, (enum evr_type)EVR_EVENT_COUNT, 0, 42);
	evr_record_set_str(&r, (char *)&r + 40, 24, "web_search");
	evr_record_set_str(&r, (char *)&r + 64, 16, "operator");
	((unsigned char *)&r)[80] = 2; /* reason: operator */
	int rc2 = evr_emit(p, &r);
	if (rc2)
		fprintf(stderr, "schema_v2_tool: tool_cancelled: %s\n", evr_strerror(rc2));
	evr_producer_close(p);
	evr_ring_close(ring);
	return rc1 || rc2;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	const struct evr_desc_header *d = build_v2();
	if (!strcmp(argv[1], "emit"))
		return emit(argv[2], d);
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.lanes = 1;
	o.slots_per_lane = 64;
	o.schema = d;
	struct evr_ring *ring;
	struct evr_err err;
	if (evr_ring_create(argv[2], &o, &ring, &err)) {
		fprintf(stderr, "schema_v2_tool: %s\n", err.msg);
		return 1;
	}
	evr_ring_close(ring);
	return 0;
}
