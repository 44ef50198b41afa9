/* evring metrics: Prometheus text exposition (format 0.0.4) of a ring on GET /metrics.
 *
 * One thread, no library: a listening socket and poll(). Between requests it keeps consuming the
 * ring (sleeping in evr_consumer_wait for at most 20 ms), so the counters are current when
 * Prometheus scrapes and a scrape is answered within 20 ms plus the time to catch up. Each
 * connection gets one response and is closed (HTTP/1.1, Connection: close).
 *
 * The consumer starts at the latest record: its counters are this process's, and start at 0 like
 * any Prometheus counter after a restart (increase() reads the drop as a reset). Starting from the
 * oldest record instead would count the retained records again at every restart. The ring's own
 * totals since its creation (lane positions claimed, each producer's emitted and dropped) are
 * counters too. Every sample carries a ring label, so one Prometheus can scrape several rings. */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jemalloc/jemalloc.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "aggregate.h"
#include "cli.h"

#define REQUEST_MAX 8192
#define IDLE_WAIT_NS 20000000 /* 20 ms: the longest a scrape waits to be accepted */

/* The response body, grown with jemalloc's rallocx like the aggregation tables (see aggregate.h).
 * On allocation failure it keeps what fits: a truncated scrape, never a crash. */
struct body {
	char *buf;
	size_t len, cap;
};

static void put(struct body *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct body *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n < b->cap - b->len) {
			b->len += n < 0 ? 0 : (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 16384;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *grown = b->buf ? rallocx(b->buf, cap, 0) : mallocx(cap, 0);
		if (!grown)
			return;
		b->buf = grown;
		b->cap = cap;
	}
}

static void body_free(struct body *b)
{
	if (b->buf)
		dallocx(b->buf, 0);
}

/* A label value as the exposition format wants it: backslash, quote and newline escaped. */
static const char *label(const char *v, char *out, size_t size)
{
	size_t o = 0;
	for (; *v && o + 3 < size; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n')
			out[o++] = '\\';
		out[o++] = *v == '\n' ? 'n' : *v;
	}
	out[o] = 0;
	return out;
}

/* The ring="NAME" label every sample starts with. */
struct labels {
	char ring[2 * EVR_NAME_MAX + 16];
};

enum producer_field { PRODUCER_EMITTED, PRODUCER_DROPPED, PRODUCER_ALIVE };

/* One metric family over the producer table. The exposition format wants the
 * samples of a family together, so each family reads the table on its own; a producer that
 * registers meanwhile shows up in the next scrape's earlier families. */
static void producer_family(const struct evr_agg *a, const struct labels *lb, struct body *b,
			    enum producer_field f, const char *metric, const char *type, const char *help)
{
	char svc[2 * EVR_SERVICE_NAME_MAX];
	put(b, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
	for (unsigned i = 0; i < a->max_producers; i++) {
		struct evr_producer_info pi;
		if (evr_ring_producer_info(a->ring, i, &pi))
			continue;
		uint64_t v = f == PRODUCER_EMITTED ? pi.emitted
			   : f == PRODUCER_DROPPED ? pi.dropped
						   : (uint64_t)(pi.state == EVR_PRODUCER_LIVE && pi.alive);
		put(b, "%s{%s,producer=\"%u\",service=\"%s\"} %" PRIu64 "\n", metric, lb->ring, i,
		    label(pi.service, svc, sizeof svc), v);
	}
}

static void exposition(const struct evr_agg *a, const struct labels *lb, struct body *b)
{
	const struct evr_counts *n = &a->now;
	const char *r = lb->ring;
	put(b, "# HELP evring_events_total Records this server consumed since it started, by event type.\n"
	       "# TYPE evring_events_total counter\n");
	for (unsigned t = 0; t < a->schema->type_count; t++) /* the ring's own types, by its names */
		put(b, "evring_events_total{%s,type=\"%s\",domain=\"%s\"} %" PRIu64 "\n", r,
		    evr_desc_type(a->schema, t)->name, evr_desc_type(a->schema, t)->domain, n->by_type[t]);
	producer_family(a, lb, b, PRODUCER_EMITTED, "evring_producer_emitted_total", "counter",
			"Records published by each producer (the ring's own counter).");
	producer_family(a, lb, b, PRODUCER_DROPPED, "evring_producer_dropped_total", "counter",
			"Records each producer dropped (slot held by a stalled writer).");
	producer_family(a, lb, b, PRODUCER_ALIVE, "evring_producer_alive", "gauge",
			"1 while the producer is registered and its process runs.");
	put(b, "# HELP evring_consumer_lost_total Positions this server lost since it started, by reason.\n"
	       "# TYPE evring_consumer_lost_total counter\n"
	       "evring_consumer_lost_total{%s,reason=\"lapped\"} %" PRIu64 "\n"
	       "evring_consumer_lost_total{%s,reason=\"abandoned\"} %" PRIu64 "\n"
	       "# HELP evring_consumer_invalid_total Records that failed validation.\n"
	       "# TYPE evring_consumer_invalid_total counter\n"
	       "evring_consumer_invalid_total{%s} %" PRIu64 "\n"
	       "# HELP evring_consumer_lag Records published but not yet consumed.\n"
	       "# TYPE evring_consumer_lag gauge\n"
	       "evring_consumer_lag{%s} %" PRIu64 "\n"
	       "# HELP evring_lane_claimed_total Positions claimed in each lane since the ring was created.\n"
	       "# TYPE evring_lane_claimed_total counter\n",
	    r, n->lost_lapped, r, n->lost_abandoned, r, n->invalid, r, evr_agg_lag(a));
	for (unsigned l = 0; l < a->lanes; l++)
		put(b, "evring_lane_claimed_total{%s,lane=\"%u\"} %" PRIu64 "\n", r, l, evr_ring_lane_head(a->ring, l));
}

/* MSG_NOSIGNAL: a client that resets the connection must cost an EPIPE, not the server's life. */
static bool send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* For HEAD, the headers of the GET (Content-Length included) without the body. A 405 says which
 * methods would do (RFC 9110 wants the Allow header there). */
static void respond(int fd, const char *status, const char *type, const char *body, size_t len, bool head)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof hdr,
			 "HTTP/1.1 %s\r\n%sContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, strncmp(status, "405", 3) ? "" : "Allow: GET, HEAD\r\n", type, len);
	if (send_all(fd, hdr, (size_t)n) && len && !head)
		send_all(fd, body, len);
}

/* Read one request head and answer it; returns true when it was a served GET /metrics. */
static bool serve(int fd, struct evr_agg *a, const struct labels *lb)
{
	char req[REQUEST_MAX + 1];
	size_t got = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	/* One thread serves everybody: a client that stops reading must not hold the server either. */
	struct timeval send_limit = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof send_limit);
	/* A client gets 2 s in all to send its head: dripping a byte at a time does not extend it. */
	uint64_t deadline = evr_mono_ns() + 2000000000u;
	while (got < REQUEST_MAX) {
		uint64_t now = evr_mono_ns();
		if (now >= deadline || poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
			break;
		ssize_t n = read(fd, req + got, REQUEST_MAX - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[got] = 0;
	char method[16] = "", path[256] = "";
	if (sscanf(req, "%15s %255s", method, path) != 2) {
		static const char msg[] = "bad request\n";
		respond(fd, "400 Bad Request", "text/plain", msg, sizeof msg - 1, false);
		return false;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static const char msg[] = "only GET\n";
		respond(fd, "405 Method Not Allowed", "text/plain", msg, sizeof msg - 1, false);
		return false;
	}
	path[strcspn(path, "?")] = 0; /* /metrics?x=y is still /metrics */
	if (strcmp(path, "/metrics")) {
		static const char msg[] = "not found: try /metrics\n";
		respond(fd, "404 Not Found", "text/plain", msg, sizeof msg - 1, false);
		return false;
	}
	evr_agg_catch_up(a); /* as current as the ring is at the request, and bounded */
	struct body b = { 0 };
	exposition(a, lb, &b);
	respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", b.buf, b.len, !strcmp(method, "HEAD"));
	body_free(&b);
	return true;
}

/* HOST:PORT, [IPV6]:PORT or :PORT (the first wildcard address getaddrinfo gives: 0.0.0.0). HOST may be a name (localhost). Address
 * errors are usage errors (2); a socket that cannot be bound is a runtime failure (1). */
static int listen_on(const char *spec, int *out, char where[80])
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	uint64_t port;
	if (!colon || (size_t)(colon - spec) >= sizeof host || evr_cli_parse_u64(colon + 1, false, &port) || port > 65535)
		return evr_cli_usage_error("metrics", "--listen: '%s' is not ADDRESS:PORT", spec);
	size_t hl = (size_t)(colon - spec);
	memcpy(host, spec, hl);
	host[hl] = 0;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') { /* [::1] */
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = 0;
	}
	/* Digits and dots only is meant as an IPv4 address: never ask a resolver about 300.1.1.1. */
	bool dotted = *host && strspn(host, "0123456789.") == strlen(host);
	char service[8];
	snprintf(service, sizeof service, "%u", (unsigned)port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV | (dotted ? AI_NUMERICHOST : 0) };
	struct addrinfo *res;
	int gai = getaddrinfo(*host ? host : NULL, service, &hints, &res);
	if (gai)
		return evr_cli_usage_error("metrics", "--listen: '%s' is not an address: %s", host, gai_strerror(gai));
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1, zero = 0;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ai->ai_family == AF_INET6 && !*host) /* ":PORT": IPv4 too, through the same socket */
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		evr_cli_error("metrics", "cannot listen on %s: %s", spec, strerror(err));
		return EVR_EXIT_FAIL;
	}
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	char num[INET6_ADDRSTRLEN] = "?", pnum[8] = "?";
	getsockname(fd, (struct sockaddr *)&sa, &len);
	getnameinfo((struct sockaddr *)&sa, len, num, sizeof num, pnum, sizeof pnum, NI_NUMERICHOST | NI_NUMERICSERV);
	/* the address really bound, and port 0 become a real one */
	snprintf(where, 80, sa.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", num, pnum);
	*out = fd;
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "once", no_argument, NULL, 'o' }, { NULL, 0, NULL, 0 },
	};
	const char *listen_spec = "127.0.0.1:9464";
	bool once = false;
	int c, rc;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'l') listen_spec = optarg;
		else if (c == 'o') once = true;
		else return evr_cli_usage_error("metrics", "bad option");
	}
	if (optind != argc - 1)
		return evr_cli_usage_error("metrics", "expects one ring NAME");
	int lfd = -1;
	char where[80];
	if ((rc = listen_on(listen_spec, &lfd, where))) /* address errors come before ring errors */
		return rc;
	/* From the latest record: see the top of this file. */
	struct evr_agg a;
	if ((rc = evr_cli_open_agg("metrics", argv[optind], EVR_START_LATEST, &a))) {
		close(lfd);
		return rc;
	}
	struct evr_consumer *cons = a.consumer;
	struct labels lb;
	struct evr_ring_info info;
	evr_ring_get_info(a.ring, &info);
	char esc[2 * EVR_NAME_MAX + 4]; /* names are [A-Za-z0-9._-]: escaping is only a precaution */
	snprintf(lb.ring, sizeof lb.ring, "ring=\"%s\"", label(info.name, esc, sizeof esc));
	/* Printed once the consumer is open: whoever waits for this line can rely on what follows. */
	printf("evring metrics: serving http://%s/metrics\n", where);
	fflush(stdout);
	evr_cli_handle_stop_signals();
	rc = EVR_EXIT_OK;
	/* Sleep on the ring, not on the socket: a burst of records wakes us at once (sleeping on the
	 * socket instead, a burst larger than a lane could lap us). A client waits at most one
	 * IDLE_WAIT_NS for its accept while the ring is quiet. */
	while (!evr_cli_stop) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		if (poll(&pfd, 1, 0) > 0) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				bool served = serve(fd, &a, &lb);
				close(fd);
				if (served && once)
					break;
			}
		}
		int n = evr_agg_drain(&a, 1u << 16);
		if (n < 0) {
			evr_cli_ring_unreadable("metrics", a.ring, n);
			rc = EVR_EXIT_FAIL;
			break;
		}
		if (n == 0)
			evr_consumer_wait(cons, IDLE_WAIT_NS);
	}
	close(lfd);
	evr_cli_close_agg(&a);
	return rc;
}

const struct evr_command evr_cmd_metrics = {
	.name = "metrics",
	.summary = "serve Prometheus metrics of a ring on http://ADDRESS:PORT/metrics",
	.usage = "evring metrics NAME [--listen 127.0.0.1:9464] [--once]\n"
		 "  --listen HOST:PORT, [IPV6]:PORT or :PORT (every IPv4 address); HOST may be a name.\n"
		 "  Port 0 picks a free port (printed on the first line). --once exits after one scrape.\n"
		 "  Counts start at 0 when the server starts (from the latest record), like any Prometheus\n"
		 "  counter after a restart; evring_lane_claimed_total and the producer counters are the\n"
		 "  ring's own totals since its creation. Every sample has a ring=\"NAME\" label.",
	.run = run,
};
