/* evring serve: a ring's events as Server-Sent Events, its Prometheus metrics and a live page, over
 * HTTP by libmicrohttpd.
 *
 * Threads: one pump reads the ring (the only consumer, from the oldest record, so that a client can
 * resume from any cursor the ring still holds) and appends to the hub (serve_hub.h); libmicrohttpd
 * runs one thread per connection, so an event stream may block in its content callback while it
 * waits for the hub, and a client that stops reading blocks only its own thread in send(). The
 * pump never waits for a client: a client that falls a whole hub behind gets `event: lost` with
 * the exact count and goes on, and one whose socket accepts nothing for --client-timeout seconds
 * is cut by libmicrohttpd. Memory: the hub's entries, and per client a 64 KiB stage, a stack and
 * the socket's buffers.
 *
 * /metrics is `evring metrics`' exposition (prom.c), fed by the same pump: it counts the items
 * from the heads at the server's start (its counters start at 0 like any counter after a restart). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aggregate.h"
#include "cli.h"
#include "filter.h"
#include "listen.h"
#include "prom.h"
#include "serve_hub.h"
#include "serve_page.gen.h"
#include <evring/platform.h>

#define CMD "serve"

struct server {
	struct evr_hub *hub;
	pthread_mutex_t agg_mu; /* the aggregation, and the consumer's stats it reads (lag) */
	struct evr_agg agg;     /* also holds the ring and its one consumer (evr_cli_open_agg) */
	uint64_t start_head[EVR_MAX_LANES]; /* /metrics counts the items from here */
	struct evr_prom_labels lb;
	char token[256];
	bool has_token;
	unsigned max_clients;
	atomic_uint clients; /* open event streams */
	uint64_t heartbeat_ns;
	atomic_bool stop;
};

/* --- the pump --------------------------------------------------------------------------------- */

/* The part of an item at or after the start heads, for the metrics; count 0 when none. */
static struct evr_item since_start(const struct server *s, const struct evr_item *it)
{
	struct evr_item c = *it;
	uint64_t from = s->start_head[it->lane], end = it->pos + it->count;
	if (end <= from)
		c.count = 0;
	else if (it->pos < from) {
		c.pos = from;
		c.count = end - from;
	}
	return c;
}

static void *pump(void *arg)
{
	struct server *s = arg;
	static struct evr_item items[256];
	const char *why = "server stopping";
	while (!atomic_load(&s->stop)) {
		pthread_mutex_lock(&s->agg_mu);
		int n = evr_consumer_poll_batch(s->agg.consumer, items, 256);
		for (int i = 0; i < n; i++) {
			struct evr_item c = since_start(s, &items[i]);
			if (c.count)
				evr_agg_add(&s->agg, &c);
		}
		pthread_mutex_unlock(&s->agg_mu);
		if (n < 0) {
			evr_cli_ring_unreadable(CMD, s->agg.ring, n);
			why = "the ring became unreadable";
			atomic_store(&s->stop, true);
			break;
		}
		if (n > 0)
			evr_hub_publish(s->hub, items, n);
		else
			evr_consumer_wait(s->agg.consumer, 50000000); /* 50 ms: how late a stop is seen */
	}
	evr_hub_close(s->hub, why);
	return NULL;
}

/* --- responses -------------------------------------------------------------------------------- */

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status, const char *type, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	enum MHD_Result rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* An error: the status and one line saying why. */
static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg - 1, fmt, ap);
	va_end(ap);
	n = n < 0 ? 0 : n > (int)sizeof msg - 2 ? (int)sizeof msg - 2 : n;
	msg[n] = '\n';
	msg[n + 1] = 0;
	return text(conn, status, "text/plain; charset=utf-8", msg);
}

static enum MHD_Result metrics(struct server *s, struct MHD_Connection *conn)
{
	struct evr_prom_body b = { 0 };
	pthread_mutex_lock(&s->agg_mu);
	evr_prom_exposition(&s->agg, &s->lb, &b);
	pthread_mutex_unlock(&s->agg_mu);
	enum MHD_Result rc = text(conn, MHD_HTTP_OK, EVR_PROM_CONTENT_TYPE, b.buf ? b.buf : "");
	evr_prom_body_free(&b);
	return rc;
}

/* /api/stats for the page: counts since the server started, per domain, and the producer table;
 * the page turns two of them into rates. */
static enum MHD_Result api_stats(struct server *s, struct MHD_Connection *conn)
{
	struct evr_prom_body b = { 0 };
	struct evr_hub_stats hs;
	evr_hub_stats(s->hub, &hs);
	pthread_mutex_lock(&s->agg_mu);
	struct evr_counts now = s->agg.now; /* a copy: the pump waits only for this, not for the producer walk */
	pthread_mutex_unlock(&s->agg_mu);
	const struct evr_counts *n = &now;
	evr_prom_put(&b, "{\"mono_ns\":%" PRIu64 ",\"records\":%" PRIu64 ",\"lost_lapped\":%" PRIu64
		     ",\"lost_abandoned\":%" PRIu64 ",\"published\":%" PRIu64 ",\"positions\":%" PRIu64 ",\"clients\":%" PRIu64 ",\"clients_behind\":%" PRIu64 ",\"domains\":{",
		     evr_mono_ns(), n->records, n->lost_lapped, n->lost_abandoned, hs.published, hs.positions, hs.readers, hs.reader_losses);
	for (unsigned d = 0; d < s->agg.domain_count; d++)
		evr_prom_put(&b, "%s\"%s\":%" PRIu64, d ? "," : "", s->agg.domains[d], n->by_domain[d]);
	evr_prom_put(&b, "},\"producers\":[");
	for (unsigned i = 0, first = 1; i < s->agg.max_producers; i++) {
		struct evr_producer_info pi;
		if (evr_ring_producer_info(s->agg.ring, i, &pi))
			continue;
		char svc[6 * EVR_SERVICE_NAME_MAX + 8];
		evr_prom_put(&b, "%s{\"id\":%u,\"service\":\"%s\",\"pid\":%d,\"alive\":%s,\"emitted\":%" PRIu64
			     ",\"dropped\":%" PRIu64 "}", first ? "" : ",", i, evr_cli_json_escape(pi.service, svc, sizeof svc), pi.pid,
			     pi.state == EVR_PRODUCER_LIVE && pi.alive ? "true" : "false", pi.emitted, pi.dropped);
		first = 0;
	}
	evr_prom_put(&b, "]}");
	enum MHD_Result rc = text(conn, MHD_HTTP_OK, "application/json", b.buf ? b.buf : "{}");
	evr_prom_body_free(&b);
	return rc;
}

/* --- /events ---------------------------------------------------------------------------------- */

struct stream {
	struct server *s;
	struct evr_hub_reader *r;
	bool hello; /* the first bytes: a retry hint, so that headers and a first line go out at once */
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct stream *st = cls;
	if (!st->hello) {
		static const char hello[] = "retry: 1000\n: evring serve\n\n";
		st->hello = true;
		if (max >= sizeof hello - 1) {
			memcpy(buf, hello, sizeof hello - 1);
			return (ssize_t)(sizeof hello - 1);
		}
	}
	long n = evr_hub_reader_read(st->r, buf, max);
	return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	evr_hub_reader_close(st->r);
	atomic_fetch_sub(&st->s->clients, 1);
	free(st);
}

struct query {
	struct evr_filter f;
	bool has_since;
	const char *cursor, *token;
	char why[300];
};

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct query *q = cls;
	static const struct { const char *name; int c; } keys[] = {
		{ "type", EVR_FILTER_TYPE }, { "domain", EVR_FILTER_DOMAIN }, { "plan", EVR_FILTER_PLAN },
		{ "correlation", EVR_FILTER_CORR }, { "since", EVR_FILTER_SINCE },
	};
	if (!value)
		value = "";
	if (!strcmp(key, "cursor")) {
		q->cursor = value;
		return MHD_YES;
	}
	if (!strcmp(key, "token")) {
		q->token = value;
		return MHD_YES;
	}
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (!strcmp(key, keys[i].name)) {
			if (evr_filter_parse(&q->f, keys[i].c, value, q->why, sizeof q->why))
				return MHD_NO;
			q->has_since |= keys[i].c == EVR_FILTER_SINCE;
			return MHD_YES;
		}
	snprintf(q->why, sizeof q->why, "unknown parameter '%.64s' (type, domain, plan, correlation, since, cursor, token)", key);
	return MHD_NO;
}

/* Constant time, so that the token cannot be guessed a byte at a time from response times. */
static bool same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return !d;
}

static enum MHD_Result events(struct server *s, struct MHD_Connection *conn)
{
	struct query q = { 0 };
	if (MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_arg, &q) < 0 || q.why[0] ||
	    evr_filter_bind(&q.f, evr_ring_schema(s->agg.ring), true, q.why, sizeof q.why)) {
		return refuse(conn, MHD_HTTP_BAD_REQUEST, "%s", q.why);
	}
	if (s->has_token) {
		const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		const char *given = auth && !strncmp(auth, "Bearer ", 7) ? auth + 7 : q.token;
		if (!given || !same(given, s->token))
			return refuse(conn, MHD_HTTP_UNAUTHORIZED, "/events wants 'Authorization: Bearer TOKEN' (or ?token=)");
	}
	/* Last-Event-ID (what EventSource sends on reconnecting) or ?cursor= (for a page that pauses) */
	const char *last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
	if (!last)
		last = q.cursor;
	struct evr_cursor cur;
	enum evr_hub_from from = q.has_since ? EVR_HUB_FROM_OLDEST : EVR_HUB_FROM_NOW;
	if (last && *last) {
		int rc = evr_hub_parse_token(s->hub, last, &cur);
		if (rc == -ESRCH)
			return refuse(conn, MHD_HTTP_BAD_REQUEST, "Last-Event-ID '%.64s' is a cursor of another ring", last);
		if (rc)
			return refuse(conn, MHD_HTTP_BAD_REQUEST, "Last-Event-ID '%.64s' is not a cursor (RINGID.POS0.POS1...)", last);
		for (unsigned l = 0; l < cur.lanes; l++)
			if (cur.pos[l] > evr_ring_lane_head(s->agg.ring, l))
				return refuse(conn, MHD_HTTP_BAD_REQUEST, "Last-Event-ID: lane %u is ahead of the ring", l);
		from = EVR_HUB_FROM_CURSOR;
	}
	if (atomic_fetch_add(&s->clients, 1) >= s->max_clients) {
		atomic_fetch_sub(&s->clients, 1);
		return refuse(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "too many event streams (--max-clients %u)", s->max_clients);
	}
	struct stream *st = calloc(1, sizeof *st);
	if (st)
		st->r = evr_hub_reader_open(s->hub, &q.f, from, &cur, s->heartbeat_ns);
	if (!st || !st->r) {
		free(st);
		atomic_fetch_sub(&s->clients, 1);
		return refuse(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
	}
	st->s = s;
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, st, stream_free);
	if (!r) {
		stream_free(st);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(r, "X-Accel-Buffering", "no"); /* nginx: pass events through at once */
	enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result route(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			     const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version, (void)upload, (void)con_cls;
	struct server *s = cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return refuse(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "%.32s: only GET and HEAD", method);
	if (*upload_size)
		return refuse(conn, MHD_HTTP_BAD_REQUEST, "a GET has no body");
	if (!strcmp(url, "/events"))
		return events(s, conn);
	if (!strcmp(url, "/metrics"))
		return metrics(s, conn);
	if (!strcmp(url, "/api/stats"))
		return api_stats(s, conn);
	if (!strcmp(url, "/"))
		return text(conn, MHD_HTTP_OK, "text/html; charset=utf-8", evr_serve_page);
	return refuse(conn, MHD_HTTP_NOT_FOUND, "no %.64s here: try /, /events, /metrics", url);
}

/* --- the command ------------------------------------------------------------------------------ */

static int read_token(const char *path, struct server *s)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		evr_cli_error(CMD, "--token-file %s: %s", path, strerror(errno));
		return EVR_EXIT_FAIL;
	}
	bool got = fgets(s->token, sizeof s->token, f) != NULL;
	fclose(f);
	s->token[strcspn(s->token, "\r\n")] = 0;
	if (!got || !*s->token)
		return evr_cli_usage_error(CMD, "--token-file %s: the first line is empty", path);
	s->has_token = true;
	return 0;
}

static int open_ring(struct server *s, const char *name, size_t buffer)
{
	int rc = evr_cli_open_agg(CMD, name, EVR_START_OLDEST, &s->agg);
	if (rc)
		return rc;
	struct evr_cursor start;
	evr_consumer_cursor(s->agg.consumer, &start);
	for (unsigned l = 0; l < start.lanes; l++)
		s->start_head[l] = evr_ring_lane_head(s->agg.ring, l);
	if (evr_hub_create(buffer, &start, evr_ring_schema(s->agg.ring), &s->hub)) {
		evr_cli_error(CMD, "out of memory (--buffer %zu)", buffer);
		return EVR_EXIT_FAIL;
	}
	evr_prom_labels_init(&s->lb, s->agg.ring);
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },      { "token-file", required_argument, NULL, 't' },
		{ "max-clients", required_argument, NULL, 'm' }, { "buffer", required_argument, NULL, 'b' },
		{ "heartbeat", required_argument, NULL, 'h' },   { "client-timeout", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	static struct server s; /* the threads outlive no part of run(), but keep it off the stack */
	const char *listen_spec = "127.0.0.1:8080", *token_file = NULL;
	uint64_t max_clients = 256, buffer = 16384, heartbeat_ns = 15000000000u, timeout_ns = 60000000000u;
	int c, rc;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'l') listen_spec = optarg;
		else if (c == 't') token_file = optarg;
		else if (c == 'm' && !evr_cli_parse_u64(optarg, false, &max_clients) && max_clients && max_clients <= 10000) continue;
		else if (c == 'b' && !evr_cli_parse_u64(optarg, true, &buffer) && buffer >= 64 && buffer <= (1u << 24)) continue;
		else if (c == 'h' && !evr_cli_parse_seconds(optarg, &heartbeat_ns) && heartbeat_ns >= 1000000) continue;
		else if (c == 'c' && !evr_cli_parse_seconds(optarg, &timeout_ns) && timeout_ns >= 1000000000u) continue;
		else if (c == 'm' || c == 'b' || c == 'h' || c == 'c')
			return evr_cli_usage_error(CMD, "bad value '%s' for --%s", optarg, longopts[c == 'm' ? 2 : c == 'b' ? 3 : c == 'h' ? 4 : 5].name);
		else return evr_cli_usage_error(CMD, "bad option");
	}
	if (optind != argc - 1)
		return evr_cli_usage_error(CMD, "expects one ring NAME");
	if (heartbeat_ns >= timeout_ns)
		return evr_cli_usage_error(CMD, "--heartbeat must be shorter than --client-timeout");
	s.max_clients = (unsigned)max_clients;
	s.heartbeat_ns = heartbeat_ns;
	if (token_file && (rc = read_token(token_file, &s)))
		return rc;
	int lfd = -1;
	char where[80];
	if ((rc = evr_cli_listen(CMD, listen_spec, &lfd, where))) /* address errors come before ring errors */
		return rc;
	pthread_mutex_init(&s.agg_mu, NULL);
	pthread_t pump_thread;
	bool pumping = false;
	struct MHD_Daemon *d = NULL;
	if ((rc = open_ring(&s, argv[optind], (size_t)buffer)))
		goto out;
	if (pthread_create(&pump_thread, NULL, pump, &s)) {
		evr_cli_error(CMD, "cannot start the pump thread");
		rc = EVR_EXIT_FAIL;
		goto out;
	}
	pumping = true;
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
			     NULL, NULL, route, &s, MHD_OPTION_LISTEN_SOCKET, lfd,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)(max_clients + 32),
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, /* request heads: 32 KiB at most */
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(timeout_ns / 1000000000u),
			     MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024), MHD_OPTION_END);
	if (!d) {
		evr_cli_error(CMD, "libmicrohttpd did not start on %s", where);
		rc = EVR_EXIT_FAIL;
		goto out;
	}
	lfd = -1; /* the daemon's now */
	printf("evring serve: serving http://%s/\n", where);
	fflush(stdout);
	evr_cli_handle_stop_signals();
	while (!evr_cli_stop && !atomic_load(&s.stop))
		usleep(50000);
	rc = atomic_load(&s.stop) ? EVR_EXIT_FAIL : EVR_EXIT_OK;
out:
	atomic_store(&s.stop, true);
	if (pumping)
		pthread_join(pump_thread, NULL); /* closes the hub: every stream ends, so the daemon can stop */
	if (d)
		MHD_stop_daemon(d);
	if (lfd >= 0)
		close(lfd);
	evr_hub_destroy(s.hub);
	if (s.agg.consumer)
		evr_cli_close_agg(&s.agg);
	return rc;
}

const struct evr_command evr_cmd_serve = {
	.name = "serve",
	.summary = "serve a ring's events (Server-Sent Events), metrics and a live page over HTTP",
	.usage = "evring serve NAME [--listen 127.0.0.1:8080] [--token-file FILE] [--max-clients 256]\n"
		 "             [--buffer 16384] [--heartbeat 15] [--client-timeout 60]\n"
		 "  GET /events[?type=T,..&domain=D,..&plan=ID&correlation=ID&since=TIME]: text/event-stream,\n"
		 "    from now (since: from the oldest record the server holds, stamped at TIME or later);\n"
		 "    each record is 'id: CURSOR', 'event: TYPE', 'data: JSON'. A reconnect with the header\n"
		 "    Last-Event-ID: CURSOR (or ?cursor=CURSOR) resumes right after that event, also on\n"
		 "    another server of the same ring. Missed positions come as 'event: lost' with a count:\n"
		 "    reason lapped or abandoned (the ring's), or behind (the server no longer held them:\n"
		 "    the client fell --buffer records behind, or resumed from an older cursor; counted in\n"
		 "    ring positions, whether or not the filter would have kept them). Every --heartbeat\n"
		 "    seconds without an event, a ': heartbeat' comment. --token-file: /events wants\n"
		 "    'Authorization: Bearer TOKEN' (or ?token=TOKEN) with the file's first line.\n"
		 "  GET /metrics: the Prometheus exposition of 'evring metrics'. GET /: a live page (rates per\n"
		 "    domain, producers, losses, a filtered tail). GET /api/stats: the page's counters (JSON).\n"
		 "  --listen as for 'evring metrics' (HOST:PORT, [IPV6]:PORT, :PORT for every address; port 0\n"
		 "  picks one, printed on the first line). --buffer: records held for the streams (each\n"
		 "  about 2 KiB). A client whose socket takes nothing for --client-timeout seconds is cut.",
	.run = run,
};
