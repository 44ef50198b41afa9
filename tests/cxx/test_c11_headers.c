/* The public headers in strict ISO C11 (no _GNU_SOURCE/_POSIX_C_SOURCE: <time.h> then declares no
 * clock_gettime), with the inline claim, commit and a typed emit instantiated. Compiled by ctest at
 * -O0, -O2 and -Os with -std=c11 -Wall -Wextra -Wpedantic -Werror (see CMakeLists.txt): a user's
 * strict build must not fail inside evring/bits/producer_fast.h. */
#include <evring/evring.h>
#include <evring/emit.h>

int evr_strict_c11_use(struct evr_producer *p);

int evr_strict_c11_use(struct evr_producer *p)
{
	struct evr_record *r;
	int rc = evr_claim_fast(p, EVR_PLAN_CREATED, &r);
	if (rc)
		return rc;
	rc = evr_commit_fast(p);
	if (rc)
		return rc;
	return evr_emit_tool_retried(p, 1, 2, &(struct evr_args_tool_retried){ .tool = "x", .attempt = 1 });
}
