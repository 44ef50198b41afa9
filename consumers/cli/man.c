/* `evring --man DIR`: the section 1 pages, written from the same text as `--help` (each command's
 * summary and usage), so a page cannot say something else than the command. evring(1) lists the
 * commands; evring-CMD(1) holds CMD's usage verbatim. The build runs this; cmake --install puts the
 * pages in man1. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Text as roff sees it: a backslash is \e, a line starting with '.' or '\'' is protected by \&. */
static void roff_text(FILE *f, const char *s)
{
	for (bool bol = true; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f); /* a real minus: copy-pasted options keep working */
		else
			fputc(*s, f);
		bol = *s == '\n';
	}
}

static const char exit_status[] =
	".SH EXIT STATUS\n"
	"0 on success; 1 on a runtime failure (a missing ring, an I/O error, a server that cannot be\n"
	"reached); 2 on a usage error (an unknown flag, a bad value, an unknown event type or field, a\n"
	"name no ring can have). A failure prints one line to stderr that starts with the command's name.\n"
	"Output into a closed pipe ends the command quietly, by SIGPIPE.\n";

static FILE *open_page(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.1", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "evring --man: %s: %s\n", path, strerror(errno));
	return f;
}

static int command_page(const char *dir, const struct evr_command *c)
{
	char name[64];
	snprintf(name, sizeof name, "evring-%s", c->name);
	FILE *f = open_page(dir, name);
	if (!f)
		return EVR_EXIT_FAIL;
	char title[64];
	for (size_t i = 0; i < sizeof title && (i == 0 || title[i - 1]); i++)
		title[i] = (char)toupper((unsigned char)name[i]);
	fprintf(f, ".TH %s 1 \"\" \"evring %s\" \"evring manual\"\n.SH NAME\n%s \\- ", title, EVR_VERSION_STRING,
		name);
	roff_text(f, c->summary);
	fputs("\n.SH SYNOPSIS AND OPTIONS\nThe text of \\fBevring ", f);
	roff_text(f, c->name);
	fputs(" \\-\\-help\\fR (also \\fBevring help ", f);
	roff_text(f, c->name);
	fputs("\\fR):\n.PP\n.nf\nusage: ", f);
	roff_text(f, c->usage);
	fprintf(f, "\n.fi\n%s.SH SEE ALSO\n\\fBevring\\fR(1), \\fBevring\\fR(7)\n", exit_status);
	return fclose(f) ? EVR_EXIT_FAIL : EVR_EXIT_OK;
}

int evr_cli_write_man(const char *dir, const struct evr_command *const *cmds, size_t n)
{
	FILE *f = open_page(dir, "evring");
	if (!f)
		return EVR_EXIT_FAIL;
	fprintf(f, ".TH EVRING 1 \"\" \"evring %s\" \"evring manual\"\n.SH NAME\nevring \\- %s\n"
		   ".SH SYNOPSIS\n\\fBevring\\fR \\fICOMMAND\\fR [\\fIARGS\\fR...]\n.br\n"
		   "\\fBevring help\\fR \\fICOMMAND\\fR\n.br\n\\fBevring \\-\\-version\\fR\n"
		   ".SH DESCRIPTION\nOne binary, one subcommand per task; \\fBevring\\fR(7) describes the ring "
		   "itself. Each command has its own page, \\fBevring\\-\\fICOMMAND\\fR(1), with the text of "
		   "its \\fB\\-\\-help\\fR.\n.SH COMMANDS\n",
		EVR_VERSION_STRING, "a lock-free multi-producer event ring in POSIX shared memory");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, ".TP\n\\fB%s\\fR\n", cmds[i]->name);
		roff_text(f, cmds[i]->summary);
		fprintf(f, " (\\fBevring\\-%s\\fR(1))\n", cmds[i]->name);
	}
	fputs(exit_status, f);
	fputs(".SH SEE ALSO\n\\fBevring\\fR(7), \\fBevring-sim\\fR \\-\\-help, and section 3 for the library: "
	      "\\fBevr_ring_create\\fR(3), \\fBevr_producer_open\\fR(3), \\fBevr_emit\\fR(3), "
	      "\\fBevr_consumer_open\\fR(3), \\fBevr_consumer_poll\\fR(3)\n", f);
	int rc = fclose(f) ? EVR_EXIT_FAIL : EVR_EXIT_OK;
	for (size_t i = 0; i < n && !rc; i++)
		rc = command_page(dir, cmds[i]);
	return rc;
}
