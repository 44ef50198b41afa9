/* evring: one binary, one subcommand per cli/cmd_*.c file (see consumers/CMakeLists.txt). */
#include <stdio.h>
#include <string.h>

#include <evring/platform.h>

#include "cli.h"

#define EVR_CMD(n) extern const struct evr_command evr_cmd_##n;
#include "evr_commands.gen.h"
#undef EVR_CMD

static const struct evr_command *const commands[] = {
#define EVR_CMD(n) &evr_cmd_##n,
#include "evr_commands.gen.h"
#undef EVR_CMD
};

static const struct evr_command *find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i]->name))
			return commands[i];
	return NULL;
}

static void print_help(FILE *out)
{
	fprintf(out, "usage: evring COMMAND [ARGS...]   (evring help COMMAND, or evring COMMAND --help: its options)\n\n"
		     "A lock-free multi-producer event ring in POSIX shared memory.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_help(stderr);
		return EVR_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		if (argc > 2 && !strcmp(argv[1], "help")) { /* evring help CMD = evring CMD --help */
			const struct evr_command *cmd = find(argv[2]);
			if (!cmd) {
				fprintf(stderr, "evring help: unknown command '%s'\n\n", argv[2]);
				print_help(stderr);
				return EVR_EXIT_USAGE;
			}
			char *help[] = { argv[2], "--help", NULL };
			evr_cli_wants_help(cmd, 2, help);
			return evr_cli_finish_output("help", EVR_EXIT_OK);
		}
		print_help(stdout);
		return evr_cli_finish_output("help", EVR_EXIT_OK);
	}
	if (!strcmp(argv[1], "--man") && argc == 3) /* for the build: the section 1 pages */
		return evr_cli_write_man(argv[2], commands, sizeof(commands) / sizeof(commands[0]));
	if (!strcmp(argv[1], "--version")) {
		printf("evring %s (ABI %u, schema %u, schema hash 0x%016llx)\n", EVR_VERSION_STRING,
		       EVR_ABI_VERSION, EVR_SCHEMA_VERSION, (unsigned long long)evr_platform_hash());
		return EVR_EXIT_OK;
	}
	const struct evr_command *cmd = find(argv[1]);
	if (cmd) {
		if (evr_cli_wants_help(cmd, argc - 1, argv + 1))
			return evr_cli_finish_output(cmd->name, EVR_EXIT_OK);
		return evr_cli_finish_output(cmd->name, cmd->run(argc - 1, argv + 1));
	}
	fprintf(stderr, "evring: unknown command '%s'\n\n", argv[1]);
	print_help(stderr);
	return EVR_EXIT_USAGE;
}
