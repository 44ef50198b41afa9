/* evring unlink: remove a ring (processes that have it mapped keep their mapping). */
#include <stdio.h>

#include "cli.h"

static int run(int argc, char **argv)
{
	if (argc < 2)
		return evr_cli_usage_error("unlink", "expects one or more ring NAMEs");
	int status = EVR_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			return evr_cli_usage_error("unlink", "unknown option '%s'", argv[i]);
	}
	for (int i = 1; i < argc; i++) {
		struct evr_err err = { 0 };
		int rc = evr_ring_unlink(argv[i], &err);
		if (rc < 0) {
			evr_cli_error("unlink", "%s", err.msg[0] ? err.msg : evr_strerror(rc));
			status = EVR_EXIT_FAIL;
		}
	}
	return status;
}

const struct evr_command evr_cmd_unlink = {
	.name = "unlink",
	.summary = "remove a ring",
	.usage = "evring unlink NAME...   (mapped rings stay usable by the processes that have them)",
	.run = run,
};
