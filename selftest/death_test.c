/*
 * death_test.c - death tests that pass, run inside deft's own suite: a
 * real crash, a subtest, a cleanup, and no descriptor or child left over.
 */
#include <deft.h>

#include <signal.h>
#include <stdint.h>
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

static void restore_sigchld(T *t, void *old)
{
	(void)t;
	sigaction(SIGCHLD, old, NULL);
}

static void on_sigchld(int sig)
{
	(void)sig;
}

/* fn(arg) runs with SIGCHLD as the test left it. */
static void exit_if_sigchld_ignored(void *arg)
{
	struct sigaction now;
	sigaction(SIGCHLD, NULL, &now);
	exit(now.sa_handler == arg || (now.sa_flags & SA_NOCLDWAIT) ? 7 : 1);
}

/* A process that ignores SIGCHLD has its children reaped by the kernel,
 * and how they ended lost: a death test undoes that while it runs, then
 * puts it back. */
static void kernel_would_reap(T *t, struct sigaction *sa)
{
	static struct sigaction old;
	sigaction(SIGCHLD, sa, &old);
	t_cleanup(t, restore_sigchld, &old);
	T_EXPECT(t, t_expect_exit(t, 7, exit_if_sigchld_ignored,
	                          (void *)sa->sa_handler));
	T_EXPECT(t, t_expect_signal(t, SIGABRT, abort_now, NULL));
	struct sigaction now;
	sigaction(SIGCHLD, NULL, &now);
	T_EXPECT(t, now.sa_handler == sa->sa_handler);
	T_EXPECT(t, (now.sa_flags & SA_NOCLDWAIT) == sa->sa_flags);
}

TEST(death_with_sigchld_ignored)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	kernel_would_reap(t, &ign);
}

TEST(death_with_sa_nocldwait)
{
	struct sigaction nowait = {.sa_handler = on_sigchld,
	                           .sa_flags = SA_NOCLDWAIT};
	kernel_would_reap(t, &nowait);
}

/* Writes arg's number of lines "line N of a long complaint" to stderr,
 * then exits 3. */
static void complains(void *arg)
{
	for (long i = 0; i < (long)(intptr_t)arg; i++)
		fprintf(stderr, "line %ld of a long complaint\n", i);
	exit(3);
}

/* Under 64 KiB the child's stderr is kept whole: a match may span the
 * point where its first 32 KiB end (in line 1129). */
TEST(death_stderr_kept_whole)
{
	T_EXPECT(t, t_expect_exit_stderr(t, 3,
	         "^line 1128 of a long complaint\nline 1129 of a long "
	         "complaint\nline 1130 of", complains, (void *)(intptr_t)2000));
}

/* Past 64 KiB its first and last 32 KiB are kept: what a dying program
 * says last (a failed assertion, a sanitizer's report) is matched after
 * any amount written before. */
TEST(death_stderr_keeps_the_end)
{
	T_EXPECT(t, t_expect_exit_stderr(t, 3, "^line 199999 of a long "
	         "complaint$", complains, (void *)(intptr_t)200000));
	T_EXPECT(t, t_expect_exit_stderr(t, 3, "^line 0 of a long "
	         "complaint$", complains, (void *)(intptr_t)200000));
}
