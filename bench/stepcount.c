/* stepcount: the user-space instructions a program executes between two marks, counted by
 * single-stepping it under ptrace. For the paths callgrind cannot run: valgrind does not implement
 * the rseq system call, so under it glibc registers no rseq area and a shared lane's inline claim
 * falls back to the library; single-stepped, the program runs natively.
 *
 *     stepcount PROGRAM [ARGS...]
 *
 * The program marks the window by raising SIGSTOP at its start and at its end (evr-bench
 * --emit-only does when EVR_BENCH_STEP_MARKS is set); stepcount runs it freely up to the first
 * mark, counts single steps up to the second, lets it finish and prints the count. A system call
 * counts as one step; the raise() of the end mark is in the count (a constant: take the
 * difference of two window lengths). Exit status: 0, or 1 when the program never marked two. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

/* Resume the stopped tracee with `req`; its next stop: the signal that stopped it, or 0 when it is
 * gone. Signals other than the marks' SIGSTOP and the steps' SIGTRAP are passed on. */
static int resume(pid_t pid, enum __ptrace_request req, int deliver)
{
	int st;
	if (ptrace(req, pid, NULL, (void *)(intptr_t)deliver) < 0 || waitpid(pid, &st, 0) != pid ||
	    !WIFSTOPPED(st))
		return 0;
	return WSTOPSIG(st);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: stepcount PROGRAM [ARGS...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) /* the exec's SIGTRAP */
		return 1;
	int sig = resume(pid, PTRACE_CONT, 0);
	while (sig && sig != SIGSTOP) /* up to the first mark */
		sig = resume(pid, PTRACE_CONT, sig);
	uint64_t steps = 0;
	for (sig = SIGTRAP; sig; steps++) {
		sig = resume(pid, PTRACE_SINGLESTEP, sig == SIGTRAP ? 0 : sig);
		if (sig == SIGSTOP)
			break;
	}
	int marked = sig == SIGSTOP;
	for (sig = resume(pid, PTRACE_CONT, 0); sig; sig = resume(pid, PTRACE_CONT, sig == SIGSTOP ? 0 : sig))
		;
	waitpid(pid, &st, 0);
	if (!marked) {
		fprintf(stderr, "stepcount: %s did not mark a window (two SIGSTOPs)\n", argv[1]);
		return 1;
	}
	printf("%llu\n", (unsigned long long)steps);
	return 0;
}
