/* A stand-in for the subset of Criterion's API our tests use, for the ThreadSanitizer build only:
 * Criterion cannot start under TSan (its boxfort arena collides with TSan's address layout, Criterion
 * issue #274). Same test sources, same semantics: each test runs in its own forked process with its
 * .init/.fini, .timeout and expected .signal; the runner prints "N passed, N failed". */
#ifndef EVR_TSAN_SHIM_CRITERION_H
#define EVR_TSAN_SHIM_CRITERION_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shim_test {
	const char *suite, *name;
	void (*fn)(void);
	void (*init)(void);
	void (*fini)(void);
	double timeout;
	int signal;
	int exit_code;
	const char *description;
	bool disabled;
};

void shim_register(struct shim_test *t);
void shim_fail(const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));
void shim_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define Test(S, N, ...)                                                                           \
	static void S##_##N##_impl(void);                                                         \
	static struct shim_test S##_##N##_desc = {.suite = #S, .name = #N, .fn = S##_##N##_impl, __VA_ARGS__}; \
	__attribute__((constructor)) static void S##_##N##_reg(void)                              \
	{                                                                                         \
		shim_register(&S##_##N##_desc);                                                   \
	}                                                                                         \
	static void S##_##N##_impl(void)

#define cr_assert(cond, ...)                                                                      \
	do {                                                                                      \
		if (!(cond))                                                                      \
			shim_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__);                     \
	} while (0)
#define cr_assert_not(cond, ...) cr_assert(!(cond), __VA_ARGS__)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) cr_assert(strcmp((a), (b)) != 0, __VA_ARGS__)
#define cr_expect(cond, ...) cr_assert(cond, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) cr_assert_eq(a, b, __VA_ARGS__)
#define cr_fatal(...) shim_fail(__FILE__, __LINE__, "cr_fatal", "" __VA_ARGS__)
#define cr_skip_test(...) shim_skip("" __VA_ARGS__)
#define cr_log_info(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr))

#endif
