/* A consumer that links libring alone, no event table (this test is built BARE and includes no
 * schema header): it decodes every one of the platform's 38 types from a ring the services wrote
 * (evring-sim, separate processes), from the ring's own description, to exactly the JSON the typed
 * path (the platform table, typed_json) gives for the same records. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <evring/evring.h>

static char name[64];

static int run(const char *const argv[], int out_fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, STDOUT_FILENO);
		else
			dup2(open("/dev/null", O_WRONLY), STDOUT_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void unlink_ring(void)
{
	evr_ring_unlink(name, NULL);
}

Test(bare, decodes_all_38_types_from_the_rings_description_as_the_typed_path_does, .fini = unlink_ring)
{
	snprintf(name, sizeof name, "/evrt-bare-%d", (int)getpid());
	cr_assert_eq(run((const char *const[]){ EVR_CLI_BIN, "create", name, "--lanes", "1", "--slots", "65536", NULL }, -1), 0);
	/* a scripted workload: 4 service processes, about 3000 records each, all kept by the ring */
	cr_assert_eq(run((const char *const[]){ EVR_SIM_BIN, "--ring", name, "--quiet", "--procs", "4", "--events", "3000",
						"--duration", "0", "--seed", "7", NULL }, -1), 0);
	char path[] = "/tmp/evrt-bare-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(run((const char *const[]){ EVR_TYPED_JSON_BIN, name, NULL }, fd), 0);
	FILE *typed = fdopen(fd, "r");
	rewind(typed);

	struct evr_ring *r;
	struct evr_consumer *c;
	cr_assert_eq(evr_ring_open(name, EVR_ROLE_CONSUMER, &r, NULL), 0);
	cr_assert_eq(evr_consumer_open(r, NULL, &c, NULL), 0);
	const struct evr_desc_header *d = evr_ring_schema(r);
	cr_assert_eq(d->type_count, 38, "the ring describes the platform's 38 types");
	unsigned seen[38] = { 0 }, records = 0;
	struct evr_item it;
	char mine[1024], theirs[1024];
	while (evr_consumer_poll(c, &it) > 0) {
		cr_assert_eq(it.kind, EVR_ITEM_RECORD, "nothing lost, nothing invalid");
		cr_assert_gt(evr_desc_record_to_json(d, &it.rec, mine, sizeof mine), 0);
		cr_assert(fgets(theirs, sizeof theirs, typed), "the typed path has record %u too", records);
		theirs[strcspn(theirs, "\n")] = '\0';
		cr_assert_str_eq(mine, theirs, "record %u", records);
		seen[it.rec.type]++;
		records++;
	}
	cr_assert_null(fgets(theirs, sizeof theirs, typed), "the typed path has no more records");
	for (unsigned t = 0; t < 38; t++)
		cr_expect_gt(seen[t], 0, "type %s never written by the services", evr_desc_type(d, t)->name);
	cr_assert_geq(records, 3000, "%u records", records);
	cr_log_info("%u records, 38/38 types, byte-identical JSON", records);
	fclose(typed);
	evr_consumer_close(c);
	evr_ring_close(r);
}
