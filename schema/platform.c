/* The platform schema: descriptors derived from EVR_EVENTS, its description, name lookups, the
 * schema hash, record building and validation. JSON comes from libring's generic decoder, given
 * this table's description. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evring/platform.h"
#include "evring/describe.h"

#define FIELD_DESC(T, kind_, fname, n)                                                             \
	{.name = #fname, .kind = EVR_FIELD_##kind_,                                                 \
	 .offset = (uint16_t)(EVR_RECORD_HDR_SIZE + offsetof(struct evr_ev_##T, fname)),                \
	 .size = (uint16_t)sizeof(((struct evr_ev_##T *)0)->fname), .since = 1},
#define FIELD_ARRAY(U, l, d) static const struct evr_field_desc fields_##l[] = {EVR_FIELDS_##U(FIELD_DESC, l)};
EVR_EVENTS(FIELD_ARRAY)

#define EVENT_DESC(U, l, d)                                                                       \
	[EVR_##U] = {#l, #U, #d, fields_##l, sizeof fields_##l / sizeof fields_##l[0],   \
		     EVR_RECORD_HDR_SIZE + sizeof(struct evr_ev_##l),                                \
		     EVR_PAYLOAD_SIZE - sizeof(struct evr_ev_##l), 1},
const struct evr_event_desc evr_events[EVR_EVENT_COUNT] = {EVR_EVENTS(EVENT_DESC)};

#define DOMAIN_NAME(d) #d,
static const char *const domain_names[EVR_DOMAIN_COUNT] = {EVR_DOMAINS(DOMAIN_NAME)};

const struct evr_event_desc *evr_event_desc(unsigned type)
{
	return type < EVR_EVENT_COUNT ? &evr_events[type] : NULL;
}

const char *evr_type_name(unsigned type)
{
	return type < EVR_EVENT_COUNT ? evr_events[type].name : NULL;
}

int evr_type_from_name(const char *name)
{
	for (unsigned t = 0; name && t < EVR_EVENT_COUNT; t++)
		if (!strcasecmp(name, evr_events[t].name))
			return (int)t;
	return -ENOENT;
}

const char *evr_domain_name(unsigned domain)
{
	return domain < EVR_DOMAIN_COUNT ? domain_names[domain] : NULL;
}

int evr_domain_from_name(const char *name)
{
	for (unsigned d = 0; name && d < EVR_DOMAIN_COUNT; d++)
		if (!strcasecmp(name, domain_names[d]))
			return (int)d;
	return -ENOENT;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s, strlen(s) + 1); /* the NUL separates names: "ab","c" != "a","bc" */
}

static uint64_t fnv_u32(uint64_t h, uint32_t v)
{
	return fnv(h, &v, sizeof v);
}

/* The table walk: only for a table that is not a valid description (a test's mutant), so that any
 * change still changes the hash. */
static uint64_t walk_hash(const struct evr_event_desc *table, size_t count)
{
	uint64_t h = 0xcbf29ce484222325ull;
	h = fnv_u32(h, EVR_SCHEMA_VERSION);
	for (size_t t = 0; t < count; t++) {
		const struct evr_event_desc *e = &table[t];
		h = fnv_str(fnv_str(h, e->name), e->domain ? e->domain : "?");
		h = fnv_u32(fnv_u32(h, e->details_offset), e->details_size);
		for (unsigned f = 0; f < e->field_count; f++) {
			h = fnv_str(h, e->fields[f].name);
			h = fnv_u32(fnv_u32(fnv_u32(h, e->fields[f].kind), e->fields[f].offset), e->fields[f].size);
		}
	}
	return h;
}

static const struct evr_desc_header *built;
static pthread_once_t built_once = PTHREAD_ONCE_INIT;

static void build_desc(void)
{
	int n = evr_desc_build(evr_events, EVR_EVENT_COUNT, EVR_SCHEMA_NAME, EVR_SCHEMA_VERSION, NULL, 0);
	void *buf = n > 0 ? malloc((size_t)n) : NULL;
	if (buf && evr_desc_build(evr_events, EVR_EVENT_COUNT, EVR_SCHEMA_NAME, EVR_SCHEMA_VERSION, buf,
				  (size_t)n) == n)
		built = buf;
	else
		abort(); /* the compiled table is checked by the tests; this cannot fail at run time */
}

const struct evr_desc_header *evr_platform_desc(void)
{
	pthread_once(&built_once, build_desc);
	return built;
}

void evr_platform_opts(struct evr_ring_opts *opts)
{
	evr_ring_opts_default(opts);
	opts->schema = evr_platform_desc();
}

int evr_platform_open(const char *name, enum evr_role role, struct evr_ring **out, struct evr_err *err)
{
	return evr_ring_open_schema(name, role, evr_platform_desc(), out, err);
}

uint64_t evr_platform_hash_of(const struct evr_event_desc *table, size_t count)
{
	int n = evr_desc_build(table, count, EVR_SCHEMA_NAME, EVR_SCHEMA_VERSION, NULL, 0);
	void *buf = n > 0 ? malloc((size_t)n) : NULL;
	uint64_t h = buf && evr_desc_build(table, count, EVR_SCHEMA_NAME, EVR_SCHEMA_VERSION, buf, (size_t)n) == n
			     ? evr_desc_hash(buf)
			     : walk_hash(table, count) ^ 1; /* never the hash of a valid description's bytes by design */
	free(buf);
	return h;
}

uint64_t evr_platform_hash(void)
{
	static _Atomic uint64_t cached;
	/* relaxed: racing first callers compute and store the same value; nothing else is published */
	uint64_t h = atomic_load_explicit(&cached, memory_order_relaxed);
	if (!h) {
		h = evr_desc_hash(evr_platform_desc());
		atomic_store_explicit(&cached, h, memory_order_relaxed);
	}
	return h;
}

void evr_record_init(struct evr_record *r, enum evr_type type, uint64_t correlation_id, uint64_t plan_id)
{
	memset(r, 0, sizeof *r);
	r->type = (uint16_t)type;
	r->correlation_id = correlation_id;
	r->plan_id = plan_id;
}

static char *details_ptr(struct evr_record *r, size_t *cap)
{
	const struct evr_event_desc *e = evr_event_desc(r->type);
	if (!e)
		return NULL;
	*cap = e->details_size;
	return (char *)r + e->details_offset;
}

int evr_record_set_details(struct evr_record *r, const char *text)
{
	size_t cap;
	char *d = details_ptr(r, &cap);
	if (!d)
		return -EINVAL;
	return evr_record_set_str(r, d, cap, text);
}

const char *evr_record_details(const struct evr_record *r)
{
	size_t cap;
	const char *d = details_ptr((struct evr_record *)r, &cap);
	return d && memchr(d, 0, cap) ? d : NULL;
}

static int parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	if (!v || !*v || *v == '-' || *v == '+' || *v == ' ')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	if (errno || *end || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

int evr_record_set_field(struct evr_record *r, const char *key, const char *value)
{
	const struct evr_event_desc *e = evr_event_desc(r->type);
	uint64_t v;
	if (!e || !key || !value)
		return -EINVAL;
	if (!strcmp(key, "correlation_id") || !strcmp(key, "plan_id")) {
		if (parse_uint(value, UINT64_MAX, &v))
			return -EINVAL;
		*(key[0] == 'c' ? &r->correlation_id : &r->plan_id) = v;
		return 0;
	}
	if (!strcmp(key, "details"))
		return evr_record_set_details(r, value);
	for (unsigned f = 0; f < e->field_count; f++) {
		const struct evr_field_desc *fd = &e->fields[f];
		if (strcmp(key, fd->name))
			continue;
		unsigned char *p = (unsigned char *)r + fd->offset;
		if (fd->kind == EVR_FIELD_STR)
			return evr_record_set_str(r, (char *)p, fd->size, value);
		if (parse_uint(value, fd->kind == EVR_FIELD_U32 ? UINT32_MAX : UINT64_MAX, &v))
			return -EINVAL;
		if (fd->kind == EVR_FIELD_U32) {
			uint32_t v32 = (uint32_t)v;
			memcpy(p, &v32, sizeof v32);
		} else {
			memcpy(p, &v, sizeof v);
		}
		return 0;
	}
	return -ENOENT;
}

static int why(char *buf, size_t len, const char *msg, const char *arg)
{
	if (buf && len) {
		size_t m = strlen(msg), a = arg ? strlen(arg) : 0;
		size_t n = 0;
		for (size_t i = 0; i < m && n + 1 < len; i++)
			buf[n++] = msg[i];
		for (size_t i = 0; i < a && n + 1 < len; i++)
			buf[n++] = arg[i];
		buf[n] = '\0';
	}
	return -EPROTO;
}

int evr_record_validate(const struct evr_record *r, char *why_buf, size_t why_len)
{
	const struct evr_event_desc *e = evr_event_desc(r->type);
	if (!e)
		return why(why_buf, why_len, "unknown event type", NULL);
	if (r->flags & ~EVR_REC_FLAGS_KNOWN)
		return why(why_buf, why_len, "unknown record flags", NULL);
	for (unsigned f = 0; f < e->field_count; f++) {
		const struct evr_field_desc *fd = &e->fields[f];
		if (fd->kind == EVR_FIELD_STR && !memchr((const char *)r + fd->offset, 0, fd->size))
			return why(why_buf, why_len, "unterminated string field ", fd->name);
	}
	if (!memchr((const char *)r + e->details_offset, 0, e->details_size))
		return why(why_buf, why_len, "unterminated details", NULL);
	return 0;
}

int evr_record_to_json(const struct evr_record *r, char *buf, size_t len)
{
	/* the compiled check first: a record of this table, flags and strings included */
	if (evr_record_validate(r, NULL, 0))
		return -EPROTO;
	return evr_desc_record_to_json(evr_platform_desc(), r, buf, len);
}
