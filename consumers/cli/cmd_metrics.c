/* evring metrics: Prometheus text exposition (format 0.0.4) of a ring on GET /metrics.
 *
 * One thread, no library: a listening socket and poll() (`evring serve` has the same exposition on
 * libmicrohttpd, next to its event streams; prom.c writes it for both). Between requests it keeps consuming the
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
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "aggregate.h"
#include "cli.h"
#include "listen.h"
#include "prom.h"

#define REQUEST_MAX 8192
#define IDLE_WAIT_NS 20000000 /* 20 ms: the longest a scrape waits to be accepted */

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
static bool serve(int fd, struct evr_agg *a, const struct evr_prom_labels *lb)
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
	struct evr_prom_body b = { 0 };
	evr_prom_exposition(a, lb, &b);
	respond(fd, "200 OK", EVR_PROM_CONTENT_TYPE, b.buf, b.len, !strcmp(method, "HEAD"));
	evr_prom_body_free(&b);
	return true;
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
	if ((rc = evr_cli_listen("metrics", listen_spec, &lfd, where))) /* address errors come before ring errors */
		return rc;
	/* From the latest record: see the top of this file. */
	struct evr_agg a;
	if ((rc = evr_cli_open_agg("metrics", argv[optind], EVR_START_LATEST, &a))) {
		close(lfd);
		return rc;
	}
	struct evr_consumer *cons = a.consumer;
	struct evr_prom_labels lb;
	evr_prom_labels_init(&lb, a.ring);
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
