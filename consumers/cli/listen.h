/* A listening TCP socket from a --listen value, for `evring metrics` and `evring serve`. */
#ifndef EVR_LISTEN_H
#define EVR_LISTEN_H

/* spec: HOST:PORT, [IPV6]:PORT or :PORT (every address; IPv4 too). HOST may be a name. Returns 0
 * with *fd listening and `where` the address really bound ("127.0.0.1:43210": port 0 resolved);
 * EVR_EXIT_USAGE for an address that does not parse, EVR_EXIT_FAIL when it cannot be bound (each
 * after a message naming cmd). */
int evr_cli_listen(const char *cmd, const char *spec, int *fd, char where[80]);

#endif
