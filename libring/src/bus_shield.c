/* SIGBUS shield (see bus_shield.h). The table is a fixed array of atomics so the handler can read
 * it without locks; entries are added before a mapping is used and removed before it is unmapped. */
#include "bus_shield.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EVR_SHIELDS 128 /* a ring takes two: its segment and its wake page */

static struct shield {
	_Atomic uintptr_t lo; /* 0: unused */
	_Atomic uintptr_t hi;
	atomic_int *_Atomic broken;
} shields[EVR_SHIELDS];

static struct sigaction previous;
static uintptr_t page_size;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void chain(int sig, siginfo_t *si, void *ctx)
{
	if (previous.sa_flags & SA_SIGINFO) {
		previous.sa_sigaction(sig, si, ctx);
	} else if (previous.sa_handler != SIG_IGN && previous.sa_handler != SIG_DFL) {
		previous.sa_handler(sig);
	} else {
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS);
	}
}

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	for (int i = 0; i < EVR_SHIELDS; i++) {
		/* acquire: pairs with the release in evr_bus_shield_add(); hi and broken are set */
		uintptr_t lo = atomic_load_explicit(&shields[i].lo, memory_order_acquire);
		if (!lo || a < lo || a >= atomic_load_explicit(&shields[i].hi, memory_order_relaxed))
			continue;
		void *page = (void *)(a & ~(page_size - 1));
		if (mmap(page, page_size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
		    MAP_FAILED)
			break;
		/* relaxed: a process-local flag, polled by the ring's users */
		atomic_store_explicit(atomic_load_explicit(&shields[i].broken, memory_order_relaxed), 1,
				      memory_order_relaxed);
		return;
	}
	chain(sig, si, ctx);
}

static void install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	sigaction(SIGBUS, &sa, &previous);
}

int evr_bus_shield_add(void *base, size_t size, atomic_int *broken)
{
	pthread_once(&once, install);
	for (int i = 0; i < EVR_SHIELDS; i++) {
		uintptr_t expect = 0;
		/* claim the entry with a placeholder, fill it, then publish lo (release) */
		if (!atomic_compare_exchange_strong(&shields[i].lo, &expect, UINTPTR_MAX))
			continue;
		atomic_store_explicit(&shields[i].hi, (uintptr_t)base + size, memory_order_relaxed);
		atomic_store_explicit(&shields[i].broken, broken, memory_order_relaxed);
		/* release: pairs with the acquire in on_sigbus() */
		atomic_store_explicit(&shields[i].lo, (uintptr_t)base, memory_order_release);
		return 0;
	}
	return -ENOSPC;
}

void evr_bus_shield_remove(void *base)
{
	for (int i = 0; i < EVR_SHIELDS; i++) {
		uintptr_t expect = (uintptr_t)base;
		/* seq_cst: the entry is gone before the caller unmaps the range */
		if (atomic_compare_exchange_strong(&shields[i].lo, &expect, 0))
			return;
	}
}

int evr_bus_shield_tripped(const void *base)
{
	for (int i = 0; i < EVR_SHIELDS; i++) {
		/* acquire: pairs with the release in evr_bus_shield_add(); broken is set */
		if (atomic_load_explicit(&shields[i].lo, memory_order_acquire) != (uintptr_t)base)
			continue;
		atomic_int *broken = atomic_load_explicit(&shields[i].broken, memory_order_relaxed);
		/* relaxed: a process-local flag, as in on_sigbus() */
		return atomic_load_explicit(broken, memory_order_relaxed);
	}
	return 0;
}
