/* evring unlink: remove rings. Processes that have a ring mapped keep using their mapping. An shm
 * object that does not open as a valid ring (another program's, or a corrupt ring) is only removed
 * with --force, so a typo cannot delete someone else's segment. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int unlink_one(const char *name, bool force)
{
	struct evr_err err = { 0 };
	struct evr_ring *ring;
	int rc = evr_ring_open(name, EVR_ROLE_CONSUMER, &ring, &err);
	if (rc == 0) {
		evr_ring_close(ring);
	} else if (rc != -ENOENT && !force) {
		evr_cli_error("unlink", "%s (not removed; --force removes it anyway)", err.msg);
		return EVR_EXIT_FAIL;
	}
	err = (struct evr_err){ 0 };
	if ((rc = evr_ring_unlink(name, &err)) < 0) {
		evr_cli_error("unlink", "%s", err.msg[0] ? err.msg : evr_strerror(rc));
		return EVR_EXIT_FAIL;
	}
	return EVR_EXIT_OK;
}

static int run(int argc, char **argv)
{
	bool force = false;
	int names = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
			force = true;
		else if (argv[i][0] == '-')
			return evr_cli_usage_error("unlink", "unknown option '%s'", argv[i]);
		else
			names++;
	}
	if (!names)
		return evr_cli_usage_error("unlink", "expects one or more ring NAMEs");
	int status = EVR_EXIT_OK;
	for (int i = 1; i < argc; i++)
		if (argv[i][0] != '-' && unlink_one(argv[i], force))
			status = EVR_EXIT_FAIL;
	return status;
}

const struct evr_command evr_cmd_unlink = {
	.name = "unlink",
	.summary = "remove a ring",
	.usage = "evring unlink [--force] NAME...\n"
		 "  Processes that have the ring mapped keep using it. An object that is not a valid ring\n"
		 "  (another program's segment, a corrupt ring) is removed only with --force.",
	.run = run,
};
