/* JetStream -> ring: `evring bridge --from-nats URL --into NAME`.
 *
 * A durable pull consumer on <prefix>.> fetches batches; each message's record is checked against
 * the description its Evring-Schema hash names (the ring's own, or one fetched from the stream's
 * description stream: bridge.h) and re-emitted with EVR_REC_REPLAYED, then acked. A record of
 * another schema is emitted when that schema is compatible with the ring's (evr_desc_compat) and
 * lays the record's type out as the ring does; otherwise it is skipped, counted and named.
 * The durable consumer on the server is the resume point, so a restart continues after the last
 * acked message; a crash between an emit and its ack re-emits that message (at-least-once).
 * evr_emit overwrites seq, ts, producer_id and lane: the re-created ring stamps records with its
 * own clock and lanes; the original values (wall-clock ts included) stay in the stream's payload. */
#include <ctype.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "cli.h"
#include <stdlib.h>

/* Durable names allow [A-Za-z0-9_-]: derive one from the ring name. */
static void durable_name(const struct evr_bridge_opts *o, const char *ring, char *out, size_t len)
{
	if (o->durable) {
		snprintf(out, len, "%s", o->durable);
		return;
	}
	snprintf(out, len, "evring-into-%.100s", ring[0] == '/' ? ring + 1 : ring);
	for (char *c = out; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			*c = '_';
}

/* The description of the schema the last foreign message named, fetched once per change. */
struct schemas {
	const struct evr_desc_header *ring; /* the target ring's */
	uint64_t ring_hash, hash;
	bool cached;                   /* `hash` names a description fetched and judged */
	struct evr_desc_header *other; /* for `hash`, or NULL when it could not be used */
	char why[240];                 /* why `other` is NULL */
};

/* Why a record of type t, written with description d, cannot go into the ring as it is; NULL if it can. */
static const char *unfit(struct schemas *sc, const struct evr_desc_header *d, const struct evr_record *r, char *why,
			 size_t len)
{
	if (evr_desc_record_validate(d, r, why, len))
		return why;
	const struct evr_desc_type *a = evr_desc_type(d, r->type), *b = evr_desc_type(sc->ring, r->type);
	if (!b)
		snprintf(why, len, "type %s is not in the ring's schema %s v%u", a->name, sc->ring->name,
			 sc->ring->schema_version);
	else if (a->field_count != b->field_count || a->details_offset != b->details_offset)
		snprintf(why, len, "type %s has %u fields in schema v%u, %u in the ring's v%u", a->name, a->field_count,
			 d->schema_version, b->field_count, sc->ring->schema_version);
	else
		return NULL;
	return why;
}

/* 1: a record we can emit; 0: skipped (counted); -1: its description cannot be had now (retry). */
static int to_record(const struct evr_bridge_opts *o, struct evr_bridge_conn *conn, struct schemas *sc, natsMsg *m,
		     struct evr_record *r, struct evr_bridge_stats *st)
{
	const char *schema = NULL, *fmt = NULL;
	natsMsgHeader_Get(m, EVR_BRIDGE_SCHEMA_HDR, &schema);
	natsMsgHeader_Get(m, EVR_BRIDGE_FORMAT_HDR, &fmt);
	char why[256] = "", *end = NULL;
	uint64_t hash = schema ? strtoull(schema, &end, 16) : 0;
	const struct evr_desc_header *d = NULL;
	if (!schema || end == schema || *end) {
		snprintf(why, sizeof why, "no schema hash (header %s)", EVR_BRIDGE_SCHEMA_HDR);
	} else if ((fmt && strcmp(fmt, "record")) || natsMsg_GetDataLength(m) != (int)sizeof *r) {
		snprintf(why, sizeof why, "payload is %s, not a raw record (publish without --json)", fmt ? fmt : "?");
	} else if (hash == sc->ring_hash) {
		d = sc->ring;
	} else {
		if (!sc->cached || hash != sc->hash) { /* a schema we have not seen last: fetch and check it once */
			free(sc->other);
			sc->other = NULL;
			sc->cached = false;
			char miss[240];
			if (evr_bridge_get_schema(o, conn, hash, &sc->other, miss, sizeof miss)) {
				/* missing, damaged or replaced, or NATS did not answer: nothing to cache, and the
				 * message is not lost for it (redelivered later, not acked) */
				if (st->skipped++ < 5)
					evr_cli_error(o->cmd, "message on %s: %s; redelivered later", natsMsg_GetSubject(m), miss);
				return -1;
			}
			sc->hash = hash;
			sc->cached = true;
			if (evr_desc_compat(sc->ring, sc->other, sc->why, sizeof sc->why)) {
				free(sc->other);
				sc->other = NULL;
			}
		}
		d = sc->other;
		if (!d)
			snprintf(why, sizeof why, "%s", sc->why);
	}
	if (d) {
		memcpy(r, natsMsg_GetData(m), sizeof *r);
		if (!unfit(sc, d, r, why, sizeof why))
			return 1;
	}
	if (st->skipped++ < 5)
		evr_cli_error(o->cmd, "skipping message on %s: %s", natsMsg_GetSubject(m), why);
	return 0;
}

static int subscribe(const struct evr_bridge_opts *o, struct evr_bridge_conn *conn, const char *ring,
		     natsSubscription **sub)
{
	char subject[256], durable[128];
	snprintf(subject, sizeof subject, "%s.>", o->prefix);
	durable_name(o, ring, durable, sizeof durable);
	jsSubOptions so;
	jsSubOptions_Init(&so);
	so.Stream = o->stream;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.DeliverPolicy = js_DeliverAll;
	so.Config.MaxAckPending = 4096;
	so.Config.AckWait = 30 * (int64_t)1000000000;
	jsErrCode jerr = 0;
	natsStatus s = js_PullSubscribe(sub, conn->js, subject, durable, NULL, &so, &jerr);
	if (s != NATS_OK) {
		const char *last = nats_GetLastError(NULL);
		evr_cli_error(o->cmd, "pull consumer %s on %s: %s (%s, jetstream error %d)", durable, o->stream,
			      natsStatus_GetText(s), last ? last : "", (int)jerr);
		return EVR_EXIT_FAIL;
	}
	return 0;
}

int evr_bridge_into(const struct evr_bridge_opts *o, struct evr_bridge_conn *conn, struct evr_ring *ring,
		    struct evr_bridge_stats *st)
{
	struct evr_ring_info info;
	evr_ring_get_info(ring, &info);
	struct evr_producer *p = NULL;
	struct evr_err err = { 0 };
	int rc = evr_producer_open(ring, "bridge", &p, &err);
	if (rc < 0) {
		evr_cli_error(o->cmd, "%s", err.msg[0] ? err.msg : evr_strerror(rc));
		return EVR_EXIT_FAIL;
	}
	struct schemas sc = { .ring = evr_ring_schema(ring), .ring_hash = info.schema_hash };
	natsSubscription *sub = NULL;
	rc = subscribe(o, conn, info.name, &sub);
	uint64_t t0 = evr_mono_ns(), last_msg = t0;
	while (!rc && !evr_cli_stop && !(o->count && st->received >= o->count)) {
		natsMsgList list = { 0 };
		jsErrCode jerr = 0;
		int batch = 256;
		if (o->count && o->count - st->received < (uint64_t)batch)
			batch = (int)(o->count - st->received);
		natsStatus s = natsSubscription_Fetch(&list, sub, batch, 200, &jerr);
		uint64_t now = evr_mono_ns();
		if (s != NATS_OK && s != NATS_TIMEOUT && natsConnection_IsClosed(conn->nc)) {
			evr_cli_error(o->cmd, "fetch: %s", natsStatus_GetText(s));
			rc = EVR_EXIT_FAIL;
		}
		for (int i = 0; i < list.Count; i++) {
			struct evr_record r;
			st->received++;
			int k = to_record(o, conn, &sc, list.Msgs[i], &r, st);
			if (k > 0) {
				r.flags |= EVR_REC_REPLAYED;
				if (evr_emit(p, &r) == 0)
					st->emitted++;
				else
					st->dropped++;
			}
			if (k < 0)
				natsMsg_NakWithDelay(list.Msgs[i], 5000, NULL); /* ms */
			else
				natsMsg_Ack(list.Msgs[i], NULL);
		}
		if (list.Count) {
			if (!st->first_ns)
				st->first_ns = now;
			now = evr_mono_ns();
			st->last_ns = last_msg = now;
		}
		natsMsgList_Destroy(&list);
		if (o->idle_exit_ns && now - last_msg >= o->idle_exit_ns)
			break;
	}
	st->elapsed_ns = evr_mono_ns() - t0;
	if (sub) {
		natsConnection_Flush(conn->nc); /* the last acks must leave before we close */
		natsSubscription_Destroy(sub);
	}
	evr_producer_close(p);
	free(sc.other);
	return rc;
}
