/*
 * death_test.c - death tests that pass, run inside deft's own suite: a
 * real crash, a subtest, a cleanup, and no descriptor or child left over.
 */
#include <deft.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DEFT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(undefined_behavior_sanitizer)
#define DEFT_SANITIZED 1
#endif
#endif

static void segfault(void *arg)
{
	*(volatile int *)arg = 1;
}

static void exit_7(void *arg)
{
	(void)arg;
	fputs("seven\n", stderr);
	exit(7);
}

static void abort_now(void *arg)
{
	(void)arg;
	abort();
}

TEST(death_real_segfault)
{
#ifdef DEFT_SANITIZED
	t_skip(t, "a sanitizer catches the null store before it faults "
	       "and exits with status 1");
#endif
	T_EXPECT(t, t_expect_signal(t, SIGSEGV, segfault, NULL));
}

static void death_in_subtest(T *t, void *arg)
{
	(void)arg;
	T_EXPECT(t, t_expect_exit_stderr(t, 7, "^seven$", exit_7, NULL));
}

TEST(death_in_subtest_and_cleanup)
{
	T_EXPECT(t, t_run(t, "sub", death_in_subtest, NULL));
	t_cleanup(t, death_in_subtest, NULL);
}

TEST(death_returns_false_on_failure_values)
{
	T_EXPECT(t, t_expect_signal(t, SIGABRT, abort_now, NULL));
	T_EXPECT(t, t_expect_exit(t, 7, exit_7, NULL));
}
