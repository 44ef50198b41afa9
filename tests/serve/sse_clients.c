/* Many Server-Sent Event clients in one process, for the serve tests and their throughput figures.
 * Opens CLIENTS streams to http://127.0.0.1:PORT/events (HTTP/1.0: no chunking, so the bytes are
 * the event stream), plus --stall streams that send their request and never read. Prints "ready"
 * once every reading stream has its first line, then reads until each has counted EXPECT
 * positions (records, plus the counts of `event: lost`) or the deadline passes. Prints one line:
 *   clients N records_min A records_max B lost L seconds S rate R
 * (R: records per second delivered over all clients, from the first record to the last).
 * Exit 0 when every client counted EXPECT positions, 1 otherwise.
 * Usage: sse_clients PORT CLIENTS EXPECT [--stall N] [--deadline S] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct client {
	int fd;
	bool hello, lost_next;
	uint64_t records, lost;
	size_t len;
	char line[4096];
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	static const char req[] = "GET /events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) || write(fd, req, sizeof req - 1) != sizeof req - 1) {
		perror("sse_clients: connect");
		exit(1);
	}
	return fd;
}

/* One complete line of the stream. */
static void line(struct client *c, double *first, double *last)
{
	if (!strncmp(c->line, ": evring serve", 14))
		c->hello = true;
	else if (!strncmp(c->line, "event: lost", 11))
		c->lost_next = true;
	else if (!strncmp(c->line, "event: ", 7) && strcmp(c->line, "event: end")) {
		c->records++;
		*last = now();
		if (*first == 0)
			*first = *last;
	} else if (c->lost_next && !strncmp(c->line, "data: ", 6)) {
		const char *n = strstr(c->line, "\"count\":");
		c->lost += n ? strtoull(n + 8, NULL, 10) : 0;
		c->lost_next = false;
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: sse_clients PORT CLIENTS EXPECT [--stall N] [--deadline S]\n");
		return 2;
	}
	int port = atoi(argv[1]), n = atoi(argv[2]), stall = 0;
	uint64_t expect = strtoull(argv[3], NULL, 10);
	double deadline_s = 60;
	for (int i = 4; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--stall"))
			stall = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--deadline"))
			deadline_s = atof(argv[i + 1]);
	struct client *c = calloc((size_t)n, sizeof *c);
	struct pollfd *p = calloc((size_t)n, sizeof *p);
	for (int i = 0; i < stall; i++) {
		int fd = connect_to(port); /* kept open, never read, until we exit */
		int small = 4096;          /* a small receive buffer: the server meets the stall sooner */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	}
	for (int i = 0; i < n; i++)
		c[i].fd = connect_to(port);
	double first = 0, last = 0, deadline = now() + deadline_s;
	bool ready = false;
	for (;;) {
		int done = 0, hello = 0;
		for (int i = 0; i < n; i++) {
			done += c[i].records + c[i].lost >= expect;
			hello += c[i].hello;
			p[i] = (struct pollfd){ .fd = c[i].fd, .events = POLLIN };
		}
		if (!ready && hello == n) {
			printf("ready\n");
			fflush(stdout);
			ready = true;
		}
		if (done == n || now() > deadline)
			break;
		if (poll(p, (nfds_t)n, 100) < 0)
			break;
		for (int i = 0; i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			char buf[65536];
			ssize_t got = read(c[i].fd, buf, sizeof buf);
			if (got <= 0) {
				c[i].fd = -1; /* poll ignores it from now */
				continue;
			}
			for (ssize_t k = 0; k < got; k++) {
				if (buf[k] != '\n') {
					if (c[i].len < sizeof c[i].line - 1)
						c[i].line[c[i].len++] = buf[k];
					continue;
				}
				c[i].line[c[i].len] = 0;
				c[i].len = 0;
				line(&c[i], &first, &last);
			}
		}
	}
	uint64_t rmin = UINT64_MAX, rmax = 0, lost = 0, total = 0;
	bool all = true;
	for (int i = 0; i < n; i++) {
		rmin = c[i].records < rmin ? c[i].records : rmin;
		rmax = c[i].records > rmax ? c[i].records : rmax;
		lost += c[i].lost;
		total += c[i].records;
		all &= c[i].records + c[i].lost >= expect;
	}
	double secs = last > first ? last - first : 0;
	printf("clients %d records_min %llu records_max %llu lost %llu seconds %.3f rate %.0f\n", n,
	       (unsigned long long)rmin, (unsigned long long)rmax, (unsigned long long)lost, secs,
	       secs > 0 ? (double)total / secs : 0);
	return all ? 0 : 1;
}
