/* The NATS JetStream bridge behind `evring bridge` (consumers/cli/cmd_bridge.c).
 *
 * Outbound (ring -> JetStream, publish.c): a plain consumer of the ring; it never makes producers
 * wait. Every record becomes one message on <prefix>.<domain>.<type> whose Nats-Msg-Id is derived
 * from (ring id, lane, position), so a re-send after a timeout, a reconnect or a restart is dropped
 * by the stream's duplicate window: at-least-once delivery plus de-duplication, effectively once.
 * The cursor file only ever moves up to positions whose publishes JetStream acknowledged.
 *
 * Inbound (JetStream -> ring, into.c): a durable pull consumer re-emits every message into a local
 * ring (flag EVR_REC_REPLAYED), acknowledging it only after evr_emit. At-least-once: a crash between
 * the emit and the ack re-emits that batch once more.
 *
 * The stream carries the schema with the records: every message has an Evring-Schema header (the
 * hash of its ring's description, evr_desc_hash), and the description itself is in the stream
 * <stream>_SCHEMAS on <prefix>-schema.<hash, 16 hex digits>, put there before the first record,
 * without limits. A reader of any evring version decodes a message with the description its hash
 * names (evr_desc_record_to_json), years later, whatever table it was built with.
 *
 * stream.c owns the connection and the streams: creation with limits, the check that a stream was
 * made by evring, and putting and getting descriptions.
 */
#ifndef EVR_BRIDGE_H
#define EVR_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include <nats/nats.h>

#include <evring/evring.h>
#include <evring/describe.h>

#include "monotime.h"

#define EVR_BRIDGE_SCHEMA_HDR "Evring-Schema"
#define EVR_BRIDGE_FORMAT_HDR "Evring-Format" /* "record" (128 raw bytes) or "json" */

struct evr_bridge_opts {
	const char *cmd;            /* for error messages: "bridge" */
	const char *url;            /* nats://host:port[,nats://...] */
	const char *stream;         /* default EVENTS */
	const char *prefix;         /* default evring */
	const char *cursor_path;    /* outbound: resume file, or NULL */
	const struct evr_cursor *cursor; /* outbound: its content (loaded before connecting), or NULL */
	const char *durable;        /* inbound: durable consumer name, or NULL for one derived from --into */
	bool json;                  /* outbound payload: JSON text instead of the raw record */
	bool inbound;               /* --from-nats: the stream must exist already */
	uint32_t window;            /* outbound: publishes in flight, a power of two */
	uint32_t replicas;          /* stream creation */
	int64_t max_age_ns, max_bytes, dup_window_ns;
	uint64_t ack_timeout_ns;    /* outbound: re-send a publish unacknowledged for this long */
	uint64_t idle_exit_ns;      /* 0: run until a signal */
	uint64_t count;             /* 0: no limit; else stop after this many records acked/emitted */
	uint64_t save_interval_ns;  /* cursor save period */
	uint32_t into_lanes, into_slots; /* inbound: geometry when the ring must be created */
};

struct evr_bridge_stats {
	uint64_t published, acked, duplicates, retried, nacked, lost_lapped, lost_abandoned, invalid;
	uint64_t received, emitted, dropped, skipped; /* inbound */
	uint64_t elapsed_ns;
	uint64_t first_ns, last_ns; /* first publish / receive and last ack / emit: the busy span for the rate */
};

struct evr_bridge_conn {
	natsConnection *nc;
	jsCtx *js;
};

/* Connect and make sure the stream exists and carries our schema (creating it when absent).
 * Prints the reason and returns EVR_EXIT_FAIL on failure, 0 on success. */
int evr_bridge_connect(const struct evr_bridge_opts *o, struct evr_bridge_conn *conn);
void evr_bridge_disconnect(struct evr_bridge_conn *conn);
/* Put description d in the description stream (idempotent). 0, or EVR_EXIT_FAIL after a message. */
int evr_bridge_put_schema(const struct evr_bridge_opts *o, struct evr_bridge_conn *conn,
			  const struct evr_desc_header *d);
/* Get the description whose hash is `hash`, validated and hash-checked, into *out (malloc'd).
 * 0; -ENOENT (none stored) or -EPROTO (damaged) with the reason in why. */
int evr_bridge_get_schema(const struct evr_bridge_opts *o, struct evr_bridge_conn *conn, uint64_t hash,
			  struct evr_desc_header **out, char *why, size_t why_len);

/* Run a direction until a signal, --count or --exit-when-idle. Return an exit code. */
int evr_bridge_publish(const struct evr_bridge_opts *o, struct evr_bridge_conn *conn, struct evr_ring *ring,
		       struct evr_bridge_stats *st);
int evr_bridge_into(const struct evr_bridge_opts *o, struct evr_bridge_conn *conn, struct evr_ring *ring,
		    struct evr_bridge_stats *st);


#endif
