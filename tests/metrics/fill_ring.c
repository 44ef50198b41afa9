/* Known content for the CLI tests: one process, one producer per SERVICE:TYPE:N argument (all open
 * at once, so each gets its own producer table entry), N records of TYPE each, in argument order.
 * With --hold it then prints "ready" and stays registered (a live producer) until a signal kills it.
 * Usage: evr_fill_ring [--hold] NAME SERVICE:TYPE:N... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evring/evring.h>
#include <evring/platform.h>

#define MAX_SPECS 8

int main(int argc, char **argv)
{
	struct evr_ring *ring;
	struct evr_producer *p[MAX_SPECS];
	struct evr_err err = { 0 };
	bool hold = argc > 1 && !strcmp(argv[1], "--hold");
	if (hold) {
		argv++;
		argc--;
	}
	int specs = argc - 2;
	if (specs < 1 || specs > MAX_SPECS) {
		fprintf(stderr, "usage: evr_fill_ring [--hold] NAME SERVICE:TYPE:N...\n");
		return 2;
	}
	if (evr_platform_open(argv[1], EVR_ROLE_PRODUCER, &ring, &err)) {
		fprintf(stderr, "%s: %s\n", argv[1], err.msg);
		return 1;
	}
	char service[MAX_SPECS][64], type[MAX_SPECS][64];
	unsigned count[MAX_SPECS];
	for (int i = 0; i < specs; i++) {
		if (sscanf(argv[i + 2], "%63[^:]:%63[^:]:%u", service[i], type[i], &count[i]) != 3 ||
		    evr_type_from_name(type[i]) < 0) {
			fprintf(stderr, "bad spec '%s'\n", argv[i + 2]);
			return 2;
		}
		if (evr_producer_open(ring, service[i], &p[i], &err)) {
			fprintf(stderr, "producer %s: %s\n", service[i], err.msg);
			return 1;
		}
	}
	for (int i = 0; i < specs; i++) {
		for (unsigned n = 0; n < count[i]; n++) {
			struct evr_record r;
			evr_record_init(&r, (enum evr_type)evr_type_from_name(type[i]), n + 1, (uint64_t)i + 1);
			if (evr_emit(p[i], &r)) {
				fprintf(stderr, "emit failed\n");
				return 1;
			}
		}
	}
	if (hold) {
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	for (int i = 0; i < specs; i++)
		evr_producer_close(p[i]);
	evr_ring_close(ring);
	return 0;
}
