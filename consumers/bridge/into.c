/* JetStream -> ring: `evring bridge --from-nats URL --into NAME`.
 *
 * A durable pull consumer on <prefix>.> fetches batches; each message's record is checked (schema
 * header, raw-record format, evr_record_validate) and re-emitted with EVR_REC_REPLAYED, then acked.
 * The durable consumer on the server is the resume point, so a restart continues after the last
 * acked message; a crash between an emit and its ack re-emits that message (at-least-once).
 * evr_emit overwrites seq, ts, producer_id and lane: the re-created ring stamps records with its
 * own clock and lanes; the original values (wall-clock ts included) stay in the stream's payload. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "cli.h"
#include <evring/platform.h>

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

/* 1: a record we can emit; 0: skipped (counted). */
static int to_record(const struct evr_bridge_opts *o, natsMsg *m, struct evr_record *r, struct evr_bridge_stats *st)
{
	const char *schema = NULL, *fmt = NULL;
	char want[24];
	snprintf(want, sizeof want, "0x%016" PRIx64, evr_platform_hash());
	natsMsgHeader_Get(m, EVR_BRIDGE_SCHEMA_HDR, &schema);
	natsMsgHeader_Get(m, EVR_BRIDGE_FORMAT_HDR, &fmt);
	char why[128] = "";
	if (!schema || strcmp(schema, want)) {
		snprintf(why, sizeof why, "schema %s, want %s", schema ? schema : "(none)", want);
	} else if ((fmt && strcmp(fmt, "record")) || natsMsg_GetDataLength(m) != (int)sizeof *r) {
		snprintf(why, sizeof why, "payload is %s, not a raw record (publish without --json)", fmt ? fmt : "?");
	} else {
		memcpy(r, natsMsg_GetData(m), sizeof *r);
		if (evr_record_validate(r, why, sizeof why) == 0)
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
			if (to_record(o, list.Msgs[i], &r, st)) {
				r.flags |= EVR_REC_REPLAYED;
				if (evr_emit(p, &r) == 0)
					st->emitted++;
				else
					st->dropped++;
			}
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
	return rc;
}
