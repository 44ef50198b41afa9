/* SIGBUS guard (see bus_guard.h). The guard stack is per thread; the handler only jumps for faults
 * inside the innermost guard's range, so unrelated SIGBUS keep their old behaviour. */
#include "bus_guard.h"

#include <errno.h>
#include <setjmp.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

struct evr_bus_guard {
	sigjmp_buf env;
	const void *lo, *hi;
	struct evr_bus_guard *prev;
};

static _Thread_local struct evr_bus_guard *current;
static struct sigaction previous;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	struct evr_bus_guard *g = current;
	const char *a = si->si_addr;
	if (g && a >= (const char *)g->lo && a < (const char *)g->hi)
		siglongjmp(g->env, 1);
	/* not ours: behave as before we were installed */
	if (previous.sa_flags & SA_SIGINFO) {
		previous.sa_sigaction(sig, si, ctx);
	} else if (previous.sa_handler != SIG_IGN && previous.sa_handler != SIG_DFL) {
		previous.sa_handler(sig);
	} else {
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS);
	}
}

static void install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER; /* NODEFER: the jump leaves the handler without unblocking */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &previous);
}

void evr_bus_guard_install(void)
{
	pthread_once(&once, install);
}

int evr_bus_guarded(const void *base, size_t size, int (*fn)(void *), void *arg)
{
	struct evr_bus_guard g = {.lo = base, .hi = (const char *)base + size, .prev = current};
	int rc = -EFAULT;
	if (sigsetjmp(g.env, 0) == 0) {
		/* compiler barrier: the handler (same thread) must see the guard whole once it is current */
		atomic_signal_fence(memory_order_seq_cst);
		current = &g;
		rc = fn(arg);
	}
	current = g.prev;
	return rc;
}
