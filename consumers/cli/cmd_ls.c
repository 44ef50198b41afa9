/* evring ls: the rings in /dev/shm (objects that open as a valid ring; companions and foreign
 * objects are skipped, or listed with their reason under --all). */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv)
{
	bool all = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--all") || !strcmp(argv[i], "-a"))
			all = true;
		else
			return evr_cli_usage_error("ls", "unknown argument '%s'", argv[i]);
	}
	DIR *dir = opendir("/dev/shm");
	if (!dir) {
		evr_cli_error("ls", "cannot read /dev/shm: %m");
		return EVR_EXIT_FAIL;
	}
	printf("%-32s %5s %8s %6s %12s %9s\n", "name", "lanes", "slots", "live", "records", "bytes");
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '~'))
			continue; /* NAME~wake and NAME~live companions are part of their ring */
		char name[sizeof de->d_name + 1];
		snprintf(name, sizeof name, "/%s", de->d_name);
		struct evr_ring *ring;
		struct evr_err err = { 0 };
		if (evr_ring_open(name, EVR_ROLE_CONSUMER, &ring, &err)) {
			if (all)
				printf("%-32s (not a usable ring: %s)\n", name, err.msg);
			continue;
		}
		struct evr_ring_info in;
		evr_ring_get_info(ring, &in);
		uint64_t records = 0;
		unsigned live = 0;
		for (unsigned l = 0; l < in.lanes; l++)
			records += evr_ring_lane_head(ring, l);
		for (unsigned p = 0; p < in.max_producers; p++) {
			struct evr_producer_info pi;
			if (!evr_ring_producer_info(ring, p, &pi) && pi.state == EVR_PRODUCER_LIVE && pi.alive)
				live++;
		}
		printf("%-32s %5u %8u %6u %12" PRIu64 " %9" PRIu64 "\n", name, in.lanes, in.slots_per_lane, live,
		       records, in.segment_size);
		evr_ring_close(ring);
	}
	closedir(dir);
	return EVR_EXIT_OK;
}

const struct evr_command evr_cmd_ls = {
	.name = "ls",
	.summary = "list the rings on this machine",
	.usage = "evring ls [--all]   (--all also lists shm objects that are not usable rings, and why)",
	.run = run,
};
