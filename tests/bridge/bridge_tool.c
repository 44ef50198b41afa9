/* Test helper for the bridge tests (tests/bridge/test_bridge.sh):
 *
 *   bridge_tool emit RING N [FIRST [RATE]]   emit N deterministic records, correlation ids FIRST..,
 *                                            RATE per second (0: as fast as possible)
 *   bridge_tool stream URL STREAM PREFIX     read the whole stream and check every message
 *   bridge_tool ringcmp RING_A RING_B        compare two rings record by record (by correlation id)
 *   bridge_tool mkstream URL STREAM SUBJECT DESC   create a stream the way someone else would
 *   bridge_tool schema URL STREAM                  the first description stored in a description stream
 *   bridge_tool leader URL STREAM            print the server name of the stream's leader
 *   bridge_tool pub URL SUBJECT SCHEMA       publish one record-sized message with that Evring-Schema
 *
 * Records are deterministic from their correlation id (type, every field, details), so any stage
 * can rebuild or compare them. Output is key=value lines the script greps. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include <evring/evring.h>
#include <evring/describe.h>
#include <evring/platform.h>

static void fill(struct evr_record *r, uint64_t id)
{
	unsigned type = (unsigned)(id % EVR_EVENT_COUNT);
	evr_record_init(r, (enum evr_type)type, id, 0xB41D6Eu + id % 3);
	const struct evr_event_desc *d = evr_event_desc(type);
	unsigned char *b = (unsigned char *)r;
	for (unsigned f = 0; f < d->field_count; f++) {
		const struct evr_field_desc *fd = &d->fields[f];
		uint64_t v = id * 1000003u + f;
		if (fd->kind == EVR_FIELD_U32) {
			uint32_t v32 = (uint32_t)v;
			memcpy(b + fd->offset, &v32, 4);
		} else if (fd->kind == EVR_FIELD_U64) {
			memcpy(b + fd->offset, &v, 8);
		} else {
			snprintf((char *)b + fd->offset, fd->size, "f%u-%" PRIu64, f, id);
		}
	}
	char details[64];
	snprintf(details, sizeof details, "bridge test record %" PRIu64, id);
	evr_record_set_details(r, details);
}

static int emit(const char *name, uint64_t n, uint64_t first, uint64_t rate)
{
	struct evr_ring *ring;
	struct evr_producer *p;
	struct evr_err err = { 0 };
	if (evr_platform_open(name, EVR_ROLE_PRODUCER, &ring, &err) < 0 || evr_producer_open(ring, "bridge-test", &p, &err) < 0) {
		fprintf(stderr, "emit: %s\n", err.msg);
		return 1;
	}
	uint64_t emitted = 0, dropped = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < n; i++) {
		struct evr_record r;
		fill(&r, first + i);
		if (evr_emit(p, &r) == 0)
			emitted++;
		else
			dropped++;
		if (rate && i % 64 == 63) { /* pace in bursts of 64 */
			struct timespec due = t0;
			uint64_t ns = (i + 1) * 1000000000ull / rate;
			due.tv_sec += (time_t)(ns / 1000000000u);
			due.tv_nsec += (long)(ns % 1000000000u);
			if (due.tv_nsec >= 1000000000) { due.tv_sec++; due.tv_nsec -= 1000000000; }
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
		}
	}
	printf("emitted=%" PRIu64 " dropped=%" PRIu64 "\n", emitted, dropped);
	evr_producer_close(p);
	evr_ring_close(ring);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t dups(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_u64);
	uint64_t d = 0;
	for (size_t i = 1; i < n; i++)
		d += v[i] == v[i - 1];
	return d;
}

/* 1 when the message is exactly what the bridge must have published for its record. */
static int check_msg(natsMsg *m, const char *prefix, uint64_t *corr, uint64_t *idkey)
{
	struct evr_record r, want;
	const char *schema = NULL, *id = NULL;
	char s[24], subj[200];
	if (natsMsg_GetDataLength(m) != (int)sizeof r)
		return 0;
	memcpy(&r, natsMsg_GetData(m), sizeof r);
	snprintf(s, sizeof s, "0x%016" PRIx64, evr_platform_hash());
	if (natsMsgHeader_Get(m, "Evring-Schema", &schema) != NATS_OK || strcmp(schema, s))
		return 0;
	if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) != NATS_OK)
		return 0;
	unsigned lane;
	uint64_t ring, pos;
	if (sscanf(id, "%" SCNx64 ":%u:%" SCNu64, &ring, &lane, &pos) != 3 || lane != r.lane || pos != r.seq)
		return 0;
	const struct evr_event_desc *d = evr_event_desc(r.type);
	if (!d)
		return 0;
	snprintf(subj, sizeof subj, "%s.%s.%s", prefix, d->domain, d->name);
	if (strcmp(subj, natsMsg_GetSubject(m)))
		return 0;
	fill(&want, r.correlation_id);
	if (memcmp((char *)&r + 16, (char *)&want + 16, 18) || memcmp(&r.u, &want.u, sizeof r.u))
		return 0;
	*corr = r.correlation_id;
	*idkey = (uint64_t)lane << 48 | pos;
	return 1;
}

static int stream(const char *url, const char *name, const char *prefix)
{
	natsConnection *nc;
	jsCtx *js;
	jsStreamInfo *si;
	jsErrCode jerr;
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK || natsConnection_JetStream(&js, nc, NULL) != NATS_OK ||
	    js_GetStreamInfo(&si, js, name, NULL, &jerr) != NATS_OK) {
		fprintf(stderr, "stream: cannot reach %s / %s: %s\n", url, name, nats_GetLastError(NULL));
		return 1;
	}
	uint64_t first = si->State.FirstSeq, last = si->State.LastSeq, n = 0, bad = 0;
	uint64_t *corr = calloc(last - first + 2, 8), *ids = calloc(last - first + 2, 8);
	uint64_t maxc = 0;
	for (uint64_t seq = first; seq && seq <= last; seq++) {
		natsMsg *m;
		if (js_GetMsg(&m, js, name, seq, NULL, &jerr) != NATS_OK)
			continue;
		if (check_msg(m, prefix, &corr[n], &ids[n])) {
			maxc = corr[n] > maxc ? corr[n] : maxc;
			n++;
		} else {
			bad++;
		}
		natsMsg_Destroy(m);
	}
	uint64_t dc = dups(corr, n), di = dups(ids, n);
	printf("msgs=%" PRIu64 " stream_msgs=%" PRIu64 " bad=%" PRIu64 " dup_ids=%" PRIu64 " dup_corr=%" PRIu64
	       " max_corr=%" PRIu64 "\n", n, (uint64_t)si->State.Msgs, bad, di, dc, maxc);
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	free(corr);
	free(ids);
	return 0;
}

static size_t read_ring(const char *name, struct evr_record **out)
{
	struct evr_ring *ring;
	struct evr_consumer *c;
	if (evr_ring_open(name, EVR_ROLE_CONSUMER, &ring, NULL) < 0 || evr_consumer_open(ring, NULL, &c, NULL) < 0) {
		fprintf(stderr, "ringcmp: cannot open %s\n", name);
		exit(1);
	}
	size_t n = 0, cap = 1024;
	struct evr_record *v = malloc(cap * sizeof *v);
	struct evr_item it;
	while (evr_consumer_poll(c, &it) > 0) {
		if (it.kind != EVR_ITEM_RECORD)
			continue;
		if (n == cap)
			v = realloc(v, (cap *= 2) * sizeof *v);
		v[n++] = it.rec;
	}
	evr_consumer_close(c);
	evr_ring_close(ring);
	*out = v;
	return n;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct evr_record *x = a, *y = b;
	return x->correlation_id < y->correlation_id ? -1 : x->correlation_id > y->correlation_id;
}

/* Identical except seq, ts, producer_id, lane (set by the ring) and the REPLAYED flag. */
static int ringcmp(const char *a, const char *b)
{
	struct evr_record *ra, *rb;
	size_t na = read_ring(a, &ra), nb = read_ring(b, &rb), same = 0;
	qsort(ra, na, sizeof *ra, cmp_rec);
	qsort(rb, nb, sizeof *rb, cmp_rec);
	for (size_t i = 0; i < na && i < nb; i++) {
		struct evr_record x = ra[i], y = rb[i];
		x.seq = y.seq = x.ts = y.ts = 0;
		x.producer_id = y.producer_id = x.lane = y.lane = 0;
		x.flags &= (uint16_t)~EVR_REC_REPLAYED;
		int replayed = (y.flags & EVR_REC_REPLAYED) != 0;
		y.flags &= (uint16_t)~EVR_REC_REPLAYED;
		same += replayed && !memcmp(&x, &y, sizeof x);
	}
	printf("a=%zu b=%zu identical=%zu\n", na, nb, same);
	free(ra);
	free(rb);
	return 0;
}

static int mkstream(const char *url, const char *name, const char *subject, const char *desc)
{
	natsConnection *nc;
	jsCtx *js;
	jsStreamInfo *si;
	jsErrCode jerr;
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	cfg.Name = name;
	cfg.Description = desc;
	cfg.Subjects = &subject;
	cfg.SubjectsLen = 1;
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK || natsConnection_JetStream(&js, nc, NULL) != NATS_OK ||
	    js_AddStream(&si, js, &cfg, NULL, &jerr) != NATS_OK) {
		fprintf(stderr, "mkstream: %s\n", nats_GetLastError(NULL));
		return 1;
	}
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}

static int leader(const char *url, const char *name)
{
	natsConnection *nc;
	jsCtx *js;
	jsStreamInfo *si;
	jsErrCode jerr;
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK || natsConnection_JetStream(&js, nc, NULL) != NATS_OK ||
	    js_GetStreamInfo(&si, js, name, NULL, &jerr) != NATS_OK || !si->Cluster || !si->Cluster->Leader) {
		fprintf(stderr, "leader: %s\n", nats_GetLastError(NULL));
		return 1;
	}
	printf("%s\n", si->Cluster->Leader);
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}

static int pub(const char *url, const char *subject, const char *schema)
{
	natsConnection *nc;
	natsMsg *m;
	struct evr_record r;
	fill(&r, 1);
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK ||
	    natsMsg_Create(&m, subject, NULL, (const char *)&r, sizeof r) != NATS_OK ||
	    natsMsgHeader_Set(m, "Evring-Schema", schema) != NATS_OK || natsConnection_PublishMsg(nc, m) != NATS_OK ||
	    natsConnection_Flush(nc) != NATS_OK) {
		fprintf(stderr, "pub: %s\n", nats_GetLastError(NULL));
		return 1;
	}
	natsMsg_Destroy(m);
	natsConnection_Destroy(nc);
	return 0;
}

/* The first description in a description stream: "schema=NAME vN types=T". */
static int schema(const char *url, const char *stream)
{
	natsConnection *nc;
	jsCtx *js;
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK || natsConnection_JetStream(&js, nc, NULL) != NATS_OK ||
	    js_GetMsg(&m, js, stream, 1, NULL, &jerr) != NATS_OK) {
		fprintf(stderr, "schema: %s (%d)\n", nats_GetLastError(NULL), (int)jerr);
		return 1;
	}
	char why[200] = "";
	const void *data = natsMsg_GetData(m);
	int len = natsMsg_GetDataLength(m);
	static _Alignas(8) unsigned char buf[EVR_DESC_MAX_SIZE];
	if (len <= 0 || (size_t)len > sizeof buf || (memcpy(buf, data, (size_t)len), evr_desc_validate(buf, (size_t)len, why, sizeof why))) {
		fprintf(stderr, "schema: invalid description (%d bytes): %s\n", len, why);
		return 1;
	}
	const struct evr_desc_header *d = (const void *)buf;
	printf("schema=%s v%u types=%u\n", d->name, d->schema_version, d->type_count);
	natsMsg_Destroy(m);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "schema"))
		return schema(argv[2], argv[3]);
	if (argc >= 4 && !strcmp(argv[1], "emit"))
		return emit(argv[2], strtoull(argv[3], NULL, 0), argc > 4 ? strtoull(argv[4], NULL, 0) : 0,
			    argc > 5 ? strtoull(argv[5], NULL, 0) : 0);
	if (argc == 5 && !strcmp(argv[1], "stream"))
		return stream(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "ringcmp"))
		return ringcmp(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "pub"))
		return pub(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "leader"))
		return leader(argv[2], argv[3]);
	if (argc == 6 && !strcmp(argv[1], "mkstream"))
		return mkstream(argv[2], argv[3], argv[4], argv[5]);
	fprintf(stderr, "usage: bridge_tool emit RING N [FIRST [RATE]] | stream URL STREAM PREFIX | ringcmp A B\n");
	return 2;
}
