/* evring emit: emit one event from a shell script, fields as key=value.
 *
 * Everything is checked before the ring is touched: an unknown type or field, a value that does not
 * parse, a string longer than its field, or a missing field of the type is a usage error (exit 2)
 * and nothing is written. The type's own fields are all required; correlation_id, plan_id and
 * details are optional. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <evring/platform.h>

static void list_fields(const struct evr_event_desc *d, char *buf, size_t len)
{
	size_t used = 0;
	for (unsigned f = 0; f < d->field_count && used < len; f++)
		used += (size_t)snprintf(buf + used, len - used, "%s, ", d->fields[f].name);
	if (used < len)
		snprintf(buf + used, len - used, "correlation_id, plan_id, details");
}

static int field_index(const struct evr_event_desc *d, const char *key)
{
	for (unsigned f = 0; f < d->field_count; f++)
		if (!strcmp(d->fields[f].name, key))
			return (int)f;
	return -1;
}

static int build(const char *type_name, int n, char **kv, struct evr_record *rec)
{
	int type = evr_type_from_name(type_name);
	if (type < 0)
		return evr_cli_usage_error("emit", "unknown event type '%s' (evring schema lists the 38 types)", type_name);
	const struct evr_event_desc *d = evr_event_desc((unsigned)type);
	char fields[512];
	list_fields(d, fields, sizeof fields);
	evr_record_init(rec, (enum evr_type)type, 0, 0);
	uint64_t seen = 0; /* bit f: field f given */
	for (int i = 0; i < n; i++) {
		char *eq = strchr(kv[i], '=');
		if (!eq || eq == kv[i])
			return evr_cli_usage_error("emit", "'%s' is not key=value", kv[i]);
		*eq = 0;
		const char *key = kv[i], *value = eq + 1;
		int f = field_index(d, key);
		if (f >= 0) {
			if (seen & (1ull << f))
				return evr_cli_usage_error("emit", "field '%s' given twice", key);
			seen |= 1ull << f;
		}
		int rc = evr_record_set_field(rec, key, value);
		if (rc == -ENOENT)
			return evr_cli_usage_error("emit", "%s has no field '%s' (fields: %s)", d->name, key, fields);
		if (rc == -EINVAL)
			return evr_cli_usage_error("emit", "%s=%s: not an unsigned number in range", key, value);
		if (rc == 1) {
			size_t cap = f >= 0 ? d->fields[f].size - 1u : d->details_size - 1u;
			return evr_cli_usage_error("emit", "%s is %zu bytes, longer than its field (%zu bytes)", key,
						   strlen(value), cap);
		}
	}
	for (unsigned f = 0; f < d->field_count; f++)
		if (!(seen & (1ull << f)))
			return evr_cli_usage_error("emit", "%s needs field '%s' (fields: %s)", d->name, d->fields[f].name,
						   fields);
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "service", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *service = "evring-emit";
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) { /* flags anywhere; -- ends them */
		if (c == 's')
			service = optarg;
		else if (c == 'j')
			json = true;
		else
			return evr_cli_usage_error("emit", "bad option");
	}
	if (argc - optind < 2)
		return evr_cli_usage_error("emit", "expects NAME TYPE [key=value...]");
	const char *name = argv[optind];
	struct evr_record rec;
	int rc = build(argv[optind + 1], argc - optind - 2, argv + optind + 2, &rec);
	if (rc)
		return rc;
	struct evr_ring *ring;
	struct evr_producer *p;
	int open_rc = evr_cli_open_ring_schema("emit", name, EVR_ROLE_PRODUCER, evr_platform_desc(), &ring);
	if (open_rc)
		return open_rc;
	struct evr_err err = { 0 };
	if ((rc = evr_producer_open(ring, service, &p, &err))) {
		evr_cli_error("emit", "%s", err.msg);
		evr_ring_close(ring);
		return EVR_EXIT_FAIL;
	}
	rc = evr_emit(p, &rec);
	evr_producer_close(p);
	evr_ring_close(ring);
	if (rc) {
		evr_cli_error("emit", "%s", rc == -EAGAIN ? "dropped: the slot was held by a stalled writer (counted)"
							   : evr_strerror(rc));
		return EVR_EXIT_FAIL;
	}
	if (json) {
		char buf[1024];
		rec.ts = 0; /* raw ring units here; consumers print wall-clock time */
		if (evr_record_to_json(&rec, buf, sizeof buf) > 0)
			puts(buf);
	}
	return EVR_EXIT_OK;
}

const struct evr_command evr_cmd_emit = {
	.name = "emit",
	.summary = "emit one event (fields as key=value)",
	.usage = "evring emit RING TYPE key=value... [--service NAME] [--json]\n"
		 "  every field of TYPE is required (evring schema lists them); correlation_id, plan_id and\n"
		 "  details are optional. Numbers may be decimal or 0x-hex. Nothing is written unless all\n"
		 "  fields are valid and fit.\n"
		 "  example: evring emit /events tool_retried tool=web_search attempt=2 backoff_ms=250 plan_id=7",
	.run = run,
};
