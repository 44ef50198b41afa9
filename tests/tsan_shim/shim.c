/* The runner of the TSan Criterion shim (see criterion/criterion.h). */
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criterion/criterion.h"

#define SHIM_MAX_TESTS 512
#define SHIM_SKIP_EXIT 77

static struct shim_test *tests[SHIM_MAX_TESTS];
static int ntests;

void shim_register(struct shim_test *t)
{
	if (ntests < SHIM_MAX_TESTS)
		tests[ntests++] = t;
}

void shim_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	fprintf(stderr, "[----] %s:%d: Assertion failed: %s\n", file, line, expr);
	if (fmt && *fmt) {
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, "[----]   ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	exit(1);
}

void shim_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "[SKIP] ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(SHIM_SKIP_EXIT);
}

static int run_one(const struct shim_test *t)
{
	pid_t pid = fork();
	if (pid == 0) {
		alarm((unsigned)(t->timeout > 0 ? t->timeout : 120));
		if (t->init)
			t->init();
		t->fn();
		if (t->fini)
			t->fini();
		exit(0);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		;
	if (t->signal)
		return WIFSIGNALED(st) && WTERMSIG(st) == t->signal ? 0 : 1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == SHIM_SKIP_EXIT)
		return -1;
	if (WIFSIGNALED(st))
		fprintf(stderr, "[----] killed by signal %d%s\n", WTERMSIG(st),
			WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
	return WIFEXITED(st) && WEXITSTATUS(st) == t->exit_code ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 2 && !strcmp(argv[1], "--filter") ? argv[2] : NULL;
	int passed = 0, failed = 0, skipped = 0;
	for (int i = 0; i < ntests; i++) {
		const struct shim_test *t = tests[i];
		char full[256];
		snprintf(full, sizeof full, "%s::%s", t->suite, t->name);
		if (t->disabled || (filter && !strstr(full, filter)))
			continue;
		int rc = run_one(t);
		fprintf(stderr, "[%s] %s\n", rc == 0 ? "PASS" : rc < 0 ? "SKIP" : "FAIL", full);
		rc == 0 ? passed++ : rc < 0 ? skipped++ : failed++;
	}
	printf("tsan-shim: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
