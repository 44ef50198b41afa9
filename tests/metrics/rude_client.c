/* A client that sends a request and resets the connection (SO_LINGER 0) before the answer comes:
 * the server then writes to a reset socket, which must not kill it with SIGPIPE. With "mute" it
 * resets without sending anything: the server's read fails first, then its 400 goes to a dead peer.
 * Usage: evr_rude_client PORT [TIMES [mute]] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int times = argc > 2 ? atoi(argv[2]) : 1;
	int mute = argc > 3 && !strcmp(argv[3], "mute");
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	for (int i = 0; i < times; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
			perror("connect");
			return 1;
		}
		if (!mute && write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
			return 1;
		struct linger rst = { .l_onoff = 1, .l_linger = 0 }; /* close() sends RST, not FIN */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
		close(fd);
	}
	return 0;
}
