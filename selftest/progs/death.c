/*
 * death.c - death tests that pass and every way one fails, for the golden
 * files death.txt and death_in_process.txt.  Signals are raised rather
 * than provoked, so a sanitizer's build prints the same.
 */
#include <deft.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void exit_with(void *arg)
{
	fprintf(stderr, "leaving with %d\n", *(int *)arg);
	exit(*(int *)arg);
}

static void underscore_exit_3(void *arg)
{
	(void)arg;
	_exit(3);
}

static void die_of(void *arg)
{
	fputs("about to die\n", stderr);
	raise(*(int *)arg);
}

static void just_return(void *arg)
{
	(void)arg;
	puts("stdout is not shown");
}

static void hang(void *arg)
{
	(void)arg;
	pause();
}

static void chatty_abort(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++)
		fprintf(stderr, "line %d of a long complaint\n", i);
	abort();
}

static void calls_fatal(void *arg)
{
	t_fatal(arg, "t_fatal in a death child");
}

static int zero = 0, three = 3, sigabrt = SIGABRT, sigkill = SIGKILL;

TEST(passes)
{
	T_EXPECT(t, t_expect_exit(t, 3, exit_with, &three));
	T_EXPECT(t, t_expect_exit(t, 0, exit_with, &zero));
	T_EXPECT(t, t_expect_exit(t, 3, underscore_exit_3, NULL));
	T_EXPECT(t, t_expect_signal(t, SIGABRT, die_of, &sigabrt));
	T_EXPECT(t, t_expect_signal(t, SIGKILL, die_of, &sigkill));
	T_EXPECT(t, t_expect_exit_stderr(t, 3, "^leaving with 3$",
	                                 exit_with, &three));
	T_EXPECT(t, t_expect_signal_stderr(t, SIGABRT, "about", die_of,
	                                   &sigabrt));
}

static int cleanups_run;

static void count_cleanup(T *t, void *arg)
{
	(void)t;
	(void)arg;
	printf("cleanup ran %d time(s)\n", ++cleanups_run);
}

TEST(no_cleanups_in_child)
{
	t_cleanup(t, count_cleanup, NULL);
	t_expect_exit(t, 0, exit_with, &zero);
	t_expect_signal(t, SIGABRT, die_of, &sigabrt);
}

TEST(wrong_status)
{
	T_EXPECT(t, !t_expect_exit(t, 4, exit_with, &three));
}

TEST(exited_not_killed)
{
	t_expect_signal(t, SIGSEGV, exit_with, &zero);
}

TEST(killed_not_exited)
{
	t_expect_exit(t, 1, die_of, &sigabrt);
}

TEST(wrong_signal)
{
	t_expect_signal(t, SIGSEGV, die_of, &sigabrt);
}

TEST(returned)
{
	t_expect_exit(t, 0, just_return, NULL);
	t_expect_signal(t, SIGABRT, just_return, NULL);
}

TEST(stderr_mismatch)
{
	t_expect_exit_stderr(t, 3, "^bye", exit_with, &three);
	t_expect_signal_stderr(t, SIGABRT, "nothing", underscore_exit_3, NULL);
}

TEST(stderr_truncated)
{
	t_expect_signal_stderr(t, SIGABRT, "line 20000 ", chatty_abort, NULL);
}

static void says_a_little(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		fprintf(stderr, "line %d of a short complaint\n", i);
	abort();
}

TEST(stderr_shown_cut)
{
	t_expect_signal_stderr(t, SIGABRT, "nothing", says_a_little, NULL);
}

TEST(bad_regex)
{
	T_EXPECT(t, !t_expect_exit_stderr(t, 0, "(", exit_with, &zero));
}

TEST(fatal_in_child)
{
	/* t_fatal in the child cannot reach deft; it is a plain death. */
	t_expect_signal(t, SIGABRT, calls_fatal, t);
}

TEST(timeout, .timeout_ms = 300)
{
	t_expect_exit(t, 0, hang, NULL);
}

/* No deadline of the test's own: the death test's limit ends the child
 * (10s; golden_test runs this with -timeout-scale 0.02). */
TEST(hang_past_limit)
{
	t_expect_exit(t, 0, hang, NULL);
}

static void reap_any(int sig)
{
	(void)sig;
	int saved = errno;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		continue;
	errno = saved;
}

/* exit_with, once the parent has read what it wrote and waits again: had
 * the child ended while the parent read, the parent's waitpid could take
 * it before the SIGCHLD handler runs, and the test would pass. */
static void exit_with_later(void *arg)
{
	fprintf(stderr, "leaving with %d\n", *(int *)arg);
	fflush(stderr);
	usleep(200 * 1000);
	exit(*(int *)arg);
}

/* A SIGCHLD handler that reaps every child takes the death test's too. */
TEST(reaped_by_handler)
{
	struct sigaction reap = {.sa_handler = reap_any}, old;
	sigaction(SIGCHLD, &reap, &old);
	t_expect_exit(t, 3, exit_with_later, &three);
	sigaction(SIGCHLD, &old, NULL);
}
