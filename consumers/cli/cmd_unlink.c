/* evring unlink: remove rings. Processes that have a ring mapped keep using their mapping, so
 * unlink names them: their producers and consumers go on with an orphan that nobody new can
 * open. An shm object that does not open as a valid ring (another program's, or a corrupt ring) is
 * only removed with --force, so a typo cannot delete someone else's segment. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ringwatch.h"

/* After the name is gone: who still has the ring mapped (stderr; the unlink itself succeeded). */
static void say_orphans(const char *name, const pid_t *pids, int n)
{
	if (n <= 0)
		return;
	char list[256] = "";
	size_t used = 0;
	for (int i = 0; i < n && i < 16 && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%d", i ? " " : "", (int)pids[i]);
	evr_cli_error("unlink", "%s removed, but %d process%s still %s it mapped (pid %s%s), going on "
		      "with the orphaned ring; a new ring of this name will be another one",
		      name, n, n == 1 ? "" : "es", n == 1 ? "has" : "have", list, n > 16 ? " ..." : "");
}

static int unlink_one(const char *name, bool force)
{
	struct evr_err err = { 0 };
	struct evr_ring *ring;
	char norm[EVR_NAME_MAX + 1];
	if (evr_name_normalize(name, norm, &err) < 0) {
		evr_cli_error("unlink", "%s", err.msg);
		return EVR_EXIT_USAGE;
	}
	int rc = evr_ring_open(name, EVR_ROLE_CONSUMER, &ring, &err);
	if (rc == 0) {
		evr_ring_close(ring);
	} else if (rc != -ENOENT && !force) {
		evr_cli_error("unlink", "%s (not removed; --force removes it anyway)", err.msg);
		return EVR_EXIT_FAIL;
	}
	pid_t pids[16];
	int mappers = rc == 0 ? evr_ring_mappers(name, pids, 16) : 0;
	err = (struct evr_err){ 0 };
	if ((rc = evr_ring_unlink(name, &err)) < 0) {
		evr_cli_error("unlink", "%s", err.msg[0] ? err.msg : evr_strerror(rc));
		return EVR_EXIT_FAIL;
	}
	say_orphans(name, pids, mappers);
	return EVR_EXIT_OK;
}

static int run(int argc, char **argv)
{
	bool force = false, options = true;
	int names = 0;
	for (int i = 1; i < argc; i++) {
		if (options && !strcmp(argv[i], "--"))
			options = false;
		else if (options && (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")))
			force = true;
		else if (options && argv[i][0] == '-')
			return evr_cli_usage_error("unlink", "unknown option '%s'", argv[i]);
		else
			argv[++names] = argv[i]; /* names packed after argv[0] */
	}
	if (!names)
		return evr_cli_usage_error("unlink", "expects one or more ring NAMEs");
	int status = EVR_EXIT_OK;
	for (int i = 1; i <= names; i++) {
		int rc = unlink_one(argv[i], force);
		if (rc > status)
			status = rc;
	}
	return status;
}

const struct evr_command evr_cmd_unlink = {
	.name = "unlink",
	.summary = "remove a ring",
	.usage = "evring unlink [--force] NAME...\n"
		 "  Processes that have the ring mapped keep using it; unlink names them (stderr). An\n"
		 "  `evring tail --follow` among them says so and moves to a new ring of the name.\n"
		 "  An object that is not a valid ring\n"
		 "  (another program's segment, a corrupt ring) is removed only with --force.",
	.run = run,
};
