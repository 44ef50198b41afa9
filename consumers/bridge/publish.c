/* Ring -> JetStream with a bounded window of publishes in flight.
 *
 * Every item the consumer hands out (record, loss notice, invalid record) takes the next entry of a
 * window in consumer order; only records are published. Publishes are core NATS messages whose
 * reply subject is <inbox>.<g>, g being the entry's global number, so JetStream's ack comes back to
 * our own synchronous subscription and is matched to its entry without a lock or a callback thread.
 * Entries retire from the tail, in order, once acknowledged; retiring moves the committed cursor,
 * which is the only cursor ever saved: a restart re-sends at most the unacknowledged tail, and the
 * stream's duplicate window drops what it already stored (the Nats-Msg-Id is ring:lane:pos).
 *
 * A publish unacknowledged after ack_timeout (server frozen, connection lost, leader moved) is sent
 * again with the same id, with a doubling delay. While the window is full the bridge stops reading
 * the ring; producers never wait for it, and what the ring overwrites meanwhile comes back as
 * EVR_ITEM_LOST_LAPPED and is counted exactly. */
#define _GNU_SOURCE /* memmem */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "cli.h"

enum { ENT_FREE = 0, ENT_PENDING, ENT_DONE };

struct entry {
	uint64_t g;          /* global entry number; the reply subject's last token */
	uint64_t pos;        /* lane position of the record (or of the first lost one) */
	uint64_t next;       /* the lane's cursor once this entry retires */
	uint64_t due_ns;     /* when to (re)send; 0 while the publish is not yet out */
	uint32_t tries;
	uint16_t lane;
	uint8_t state;
	struct evr_record rec; /* kept for re-sends: the ring may have overwritten the slot */
};

struct pub {
	const struct evr_bridge_opts *o;
	struct evr_bridge_conn *conn;
	struct evr_bridge_stats *st;
	struct entry *win;
	uint64_t head, tail, mask; /* entries [tail, head) are in use */
	uint64_t ring_id, schema_hash;
	const struct evr_desc_header *desc; /* the ring's own: subjects and JSON come from it */
	struct evr_cursor committed;
	bool dirty;
	uint64_t last_complaint_ns; /* error acks are reported at most every 10 s */
	char inbox[128];
	natsSubscription *acks;
};

static void subject_of(const struct pub *p, const struct evr_record *r, char *out, size_t len)
{
	const struct evr_desc_type *d = evr_desc_type(p->desc, r->type); /* records are validated: non-NULL */
	snprintf(out, len, "%s.%s.%s", p->o->prefix, d->domain, d->name);
}

/* Build and send one message for entry e. Failure (reconnect buffer full, closed) leaves it for
 * the retry scan. */
static void send_entry(struct pub *p, struct entry *e, uint64_t now)
{
	char subj[160], reply[160], id[64], schema[24], buf[EVR_DESC_JSON_MAX]; /* the length is checked all the same */
	subject_of(p, &e->rec, subj, sizeof subj);
	snprintf(reply, sizeof reply, "%s.%" PRIu64, p->inbox, e->g);
	snprintf(id, sizeof id, "%016" PRIx64 ":%u:%" PRIu64, p->ring_id, e->lane, e->pos);
	snprintf(schema, sizeof schema, "0x%016" PRIx64, p->schema_hash);
	const char *data = (const char *)&e->rec;
	int len = (int)sizeof e->rec;
	if (p->o->json) {
		len = evr_desc_record_to_json(p->desc, &e->rec, buf, sizeof buf);
		data = buf;
		if (len < 0 || (size_t)len >= sizeof buf) { /* never a read past buf: not published, counted */
			e->state = ENT_DONE;
			p->st->invalid++;
			return;
		}
	}
	natsMsg *m = NULL;
	natsStatus s = natsMsg_Create(&m, subj, reply, data, len);
	if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
	if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Expected-Stream", p->o->stream);
	if (s == NATS_OK) s = natsMsgHeader_Set(m, EVR_BRIDGE_SCHEMA_HDR, schema);
	if (s == NATS_OK) s = natsMsgHeader_Set(m, EVR_BRIDGE_FORMAT_HDR, p->o->json ? "json" : "record");
	if (s == NATS_OK) s = natsConnection_PublishMsg(p->conn->nc, m);
	natsMsg_Destroy(m);
	uint64_t backoff = p->o->ack_timeout_ns << (e->tries < 4 ? e->tries : 4);
	if (s != NATS_OK) {
		e->due_ns = now + p->o->ack_timeout_ns; /* try again later */
		return;
	}
	if (e->tries++)
		p->st->retried++;
	else if (!p->st->published++)
		p->st->first_ns = now;
	e->due_ns = now + backoff;
}

static void add_item(struct pub *p, const struct evr_item *it, uint64_t now)
{
	struct entry *e = &p->win[p->head & p->mask];
	memset(e, 0, offsetof(struct entry, rec));
	e->g = p->head++;
	e->lane = it->lane;
	e->pos = it->pos;
	e->next = it->pos + it->count;
	e->state = ENT_DONE;
	switch (it->kind) {
	case EVR_ITEM_RECORD:
		e->state = ENT_PENDING;
		e->rec = it->rec;
		send_entry(p, e, now);
		break;
	case EVR_ITEM_LOST_LAPPED: p->st->lost_lapped += it->count; break;
	case EVR_ITEM_LOST_ABANDONED: p->st->lost_abandoned += it->count; break;
	default: p->st->invalid++; break;
	}
}

static void complain(struct pub *p, natsMsg *m, const char *data, int len)
{
	uint64_t now = evr_mono_ns();
	p->st->nacked++;
	if (p->last_complaint_ns && now - p->last_complaint_ns < 10000000000u)
		return;
	p->last_complaint_ns = now;
	if (natsMsg_IsNoResponders(m))
		evr_cli_error(p->o->cmd, "stream %s does not answer (no responders: deleted, or JetStream down); "
			      "re-sending", p->o->stream);
	else
		evr_cli_error(p->o->cmd, "stream %s refused a publish: %.*s; re-sending", p->o->stream,
			      len > 200 ? 200 : len, data ? data : "");
}

/* One ack message: match it to its entry by the reply subject's last token. */
static void on_ack(struct pub *p, natsMsg *m)
{
	const char *subj = natsMsg_GetSubject(m);
	const char *dot = strrchr(subj, '.');
	uint64_t g = dot ? strtoull(dot + 1, NULL, 10) : UINT64_MAX;
	struct entry *e = &p->win[g & p->mask];
	if (g < p->tail || g >= p->head || e->g != g || e->state != ENT_PENDING)
		return; /* the ack of a re-send whose first copy was acked already */
	const char *data = natsMsg_GetData(m);
	int len = natsMsg_GetDataLength(m);
	/* A status reply (503 no responders) has no body; an error ack has "error": both re-send later. */
	if (len <= 0 || !data || memmem(data, (size_t)len, "\"error\"", 7)) {
		complain(p, m, data, len);
		return;
	}
	e->state = ENT_DONE;
	p->st->acked++;
	p->st->last_ns = evr_mono_ns();
	/* {"stream":"EVENTS", "seq":7,"duplicate": true}: the server omits the field when false. */
	const char *dup = memmem(data, (size_t)len, "\"duplicate\"", 11);
	if (dup && memmem(dup, (size_t)(data + len - dup), "true", 4))
		p->st->duplicates++;
}

/* NextMsg refuses a zero timeout, so ask how many are queued and take exactly those. */
static int drain_acks(struct pub *p, int64_t wait_ms)
{
	int n = 0, queued = 0;
	natsMsg *m = NULL;
	natsSubscription_GetPending(p->acks, &queued, NULL);
	if (!queued && wait_ms > 0 && natsSubscription_NextMsg(&m, p->acks, wait_ms) == NATS_OK) {
		on_ack(p, m);
		natsMsg_Destroy(m);
		n++;
		natsSubscription_GetPending(p->acks, &queued, NULL);
	}
	for (; queued > 0 && natsSubscription_NextMsg(&m, p->acks, 1) == NATS_OK; queued--, n++) {
		on_ack(p, m);
		natsMsg_Destroy(m);
	}
	return n;
}

static void retire(struct pub *p)
{
	while (p->tail < p->head) {
		struct entry *e = &p->win[p->tail & p->mask];
		if (e->state != ENT_DONE)
			break;
		p->committed.pos[e->lane] = e->next;
		e->state = ENT_FREE;
		p->tail++;
		p->dirty = true;
	}
}

static void resend_due(struct pub *p, uint64_t now)
{
	if (natsConnection_Status(p->conn->nc) != NATS_CONN_STATUS_CONNECTED)
		return; /* the library replays its reconnect buffer; re-sending now only grows it */
	for (uint64_t g = p->tail; g < p->head; g++) {
		struct entry *e = &p->win[g & p->mask];
		if (e->state == ENT_PENDING && e->due_ns <= now)
			send_entry(p, e, now);
	}
}

/* A cursor that cannot be saved stops the bridge: running on would re-send everything after a
 * restart while claiming to resume. */
static int save_cursor(struct pub *p)
{
	if (!p->o->cursor_path || !p->dirty)
		return 0;
	if (evr_cli_save_cursor(p->o->cmd, p->o->cursor_path, &p->committed))
		return EVR_EXIT_FAIL;
	p->dirty = false;
	return 0;
}

static int open_consumer(struct pub *p, struct evr_ring *ring, struct evr_consumer **c)
{
	const struct evr_cursor *cur = p->o->cursor;
	struct evr_consumer_opts co = { .start = EVR_START_OLDEST };
	if (cur) {
		if (cur->ring_id != p->ring_id) {
			evr_cli_error(p->o->cmd, "cursor %s belongs to ring id %016" PRIx64 ", not this ring (%016" PRIx64
				      "); remove it to start from the oldest record", p->o->cursor_path, cur->ring_id, p->ring_id);
			return EVR_EXIT_FAIL;
		}
		co.start = EVR_START_CURSOR;
		co.cursor = cur;
	}
	struct evr_err err = { 0 };
	int rc = evr_consumer_open(ring, &co, c, &err);
	if (rc < 0) {
		evr_cli_error(p->o->cmd, "%s", err.msg[0] ? err.msg : evr_strerror(rc));
		return EVR_EXIT_FAIL;
	}
	evr_consumer_cursor(*c, &p->committed);
	p->dirty = true; /* saved at once: a path that cannot be written fails now, not at the end */
	return save_cursor(p);
}

static int setup(struct pub *p, struct evr_ring *ring, struct evr_consumer **c)
{
	struct evr_ring_info info;
	evr_ring_get_info(ring, &info);
	/* the ring's description goes into the stream before the first record that names it */
	p->desc = evr_ring_schema(ring);
	p->schema_hash = info.schema_hash;
	if (evr_bridge_put_schema(p->o, p->conn, p->desc))
		return EVR_EXIT_FAIL;
	p->ring_id = info.ring_id;
	p->mask = p->o->window - 1;
	p->win = calloc(p->o->window, sizeof *p->win);
	natsInbox *inbox = NULL;
	if (!p->win || natsInbox_Create(&inbox) != NATS_OK) {
		evr_cli_error(p->o->cmd, "out of memory");
		return EVR_EXIT_FAIL;
	}
	snprintf(p->inbox, sizeof p->inbox, "%s", (const char *)inbox);
	natsInbox_Destroy(inbox);
	char sub[140];
	snprintf(sub, sizeof sub, "%s.*", p->inbox);
	if (natsConnection_SubscribeSync(&p->acks, p->conn->nc, sub) != NATS_OK) {
		evr_cli_error(p->o->cmd, "subscribe to acks: %s", nats_GetLastError(NULL));
		return EVR_EXIT_FAIL;
	}
	return open_consumer(p, ring, c);
}

int evr_bridge_publish(const struct evr_bridge_opts *o, struct evr_bridge_conn *conn, struct evr_ring *ring,
		       struct evr_bridge_stats *st)
{
	struct pub p = { .o = o, .conn = conn, .st = st };
	struct evr_consumer *c = NULL;
	int rc = setup(&p, ring, &c);
	uint64_t t0 = evr_mono_ns(), last_item = t0, last_save = t0, last_scan = t0;
	while (!rc && !evr_cli_stop) {
		uint64_t now = evr_mono_ns();
		bool got = false;
		struct evr_item it;
		while (p.head - p.tail <= p.mask && !(o->count && st->published >= o->count)) {
			int r = evr_consumer_poll(c, &it);
			if (r < 0) {
				evr_cli_ring_unreadable(o->cmd, ring, r);
				rc = EVR_EXIT_FAIL;
				break;
			}
			if (r == 0)
				break;
			add_item(&p, &it, now);
			got = true;
		}
		int acked = drain_acks(&p, 0);
		retire(&p);
		bool empty = p.tail == p.head;
		/* idle means the ring had nothing new for us: while messages wait on NATS (an outage fills
		 * the window and stops the polls above), the idle clock does not run */
		if (got || !empty)
			last_item = now;
		if (now - last_scan > 50000000u) {
			resend_due(&p, now);
			last_scan = now;
		}
		if (now - last_save >= o->save_interval_ns) {
			rc = save_cursor(&p);
			last_save = now;
		}
		if (o->count && st->acked >= o->count && empty)
			break;
		if (o->idle_exit_ns && empty && now - last_item >= o->idle_exit_ns)
			break;
		if (got || acked)
			continue;
		if (!empty)
			drain_acks(&p, 5); /* waiting on NATS */
		else
			evr_consumer_wait(c, 50000000); /* waiting on producers */
	}
	/* Stopping: give acks in flight a moment so the saved cursor is as far as it can be. */
	for (uint64_t end = evr_mono_ns() + 2000000000u; !rc && p.tail < p.head && evr_mono_ns() < end;) {
		drain_acks(&p, 20);
		retire(&p);
	}
	if (!rc)
		rc = save_cursor(&p);
	st->elapsed_ns = evr_mono_ns() - t0;
	if (p.acks)
		natsSubscription_Destroy(p.acks);
	if (c)
		evr_consumer_close(c);
	free(p.win);
	return rc;
}
