/* Listening sockets for the CLI's servers (metrics, serve): see listen.h. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "listen.h"

/* The backlog is SOMAXCONN: a burst of event streams connecting at once (evring serve) must not
 * wait for SYN retransmits.
 * HOST:PORT, [IPV6]:PORT or :PORT (the first wildcard address getaddrinfo gives: 0.0.0.0). HOST may be a name (localhost). Address
 * errors are usage errors (2); a socket that cannot be bound is a runtime failure (1). */
int evr_cli_listen(const char *cmd, const char *spec, int *out, char where[80])
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	uint64_t port;
	if (!colon || (size_t)(colon - spec) >= sizeof host || evr_cli_parse_u64(colon + 1, false, &port) || port > 65535)
		return evr_cli_usage_error(cmd, "--listen: '%s' is not ADDRESS:PORT", spec);
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
		return evr_cli_usage_error(cmd, "--listen: '%s' is not an address: %s", host, gai_strerror(gai));
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
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, SOMAXCONN)) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		evr_cli_error(cmd, "cannot listen on %s: %s", spec, strerror(err));
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

