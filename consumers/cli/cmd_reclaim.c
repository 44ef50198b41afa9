/* evring reclaim: release the producer entries and mid-write slots of dead producers. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--")) { /* reclaim -- NAME */
		argv[1] = argv[2];
		argc = 2;
	}
	if (argc != 2 || argv[1][0] == '-')
		return evr_cli_usage_error("reclaim", "expects one ring NAME");
	struct evr_ring *ring;
	int open_rc = evr_cli_open_ring("reclaim", argv[1], EVR_ROLE_PRODUCER, &ring);
	if (open_rc)
		return open_rc;
	struct evr_reclaim_report rep = { 0 };
	int rc = evr_ring_reclaim(ring, &rep);
	evr_ring_close(ring);
	if (rc < 0) {
		evr_cli_error("reclaim", "%s", evr_strerror(rc));
		return EVR_EXIT_FAIL;
	}
	printf("reclaimed %u dead producers, %u abandoned slots\n", rep.producers_reclaimed, rep.slots_reclaimed);
	return EVR_EXIT_OK;
}

const struct evr_command evr_cmd_reclaim = {
	.name = "reclaim",
	.summary = "free what dead producers left behind (their entries and mid-write slots)",
	.usage = "evring reclaim NAME   (needs write access to the ring)",
	.run = run,
};
