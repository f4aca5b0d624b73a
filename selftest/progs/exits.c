/*
 * exits.c - exit() called in the runner's own process while the run is
 * under way, for the golden files exits_*.txt and reports_check.py.
 *
 * With -isolation none the tests run in that process: a test, a subtest
 * or a thread of a test that calls exit() fails, with the tests around
 * it, and the run ends there with its reports finished and status 1.
 * DEFT_EXITS_MAIN picks what TEST_MAIN does, in any isolation: "exit"
 * calls exit() with 10 plus what t_run_tests(m) returned, as Go's
 * os.Exit(m.Run()) does without the 10, which is there to show that the
 * status is kept; "cleanup" pushes a main cleanup that calls exit(0).
 * Either way the main cleanups run (but one that calls exit) and every
 * report is finished.
 *
 * hangs_with_an_alarm ignores the run's context: without isolation the
 * run ends at -timeout plus -grace, reporting it, though the test set an
 * alarm() of its own.
 */
#include <deft.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void tear_down(T *t, void *arg)
{
	(void)t;
	(void)arg;
	puts("main cleanup: tearing down");
	fflush(stdout);
}

static void exits_zero(T *t, void *arg)
{
	(void)t;
	(void)arg;
	exit(0);
}

static void never_runs(T *t, void *arg)
{
	(void)arg;
	t_log(t, "never_runs ran");
}

TEST_MAIN(m)
{
	const char *how = getenv("DEFT_EXITS_MAIN");
	t_main_cleanup(tear_down, NULL);
	if (how && strcmp(how, "cleanup") == 0)
		t_main_cleanup(exits_zero, NULL);
	int rc = t_run_tests(m);
	if (how && strcmp(how, "exit") == 0)
		exit(10 + rc);
	return rc;
}

TEST(passes)
{
	t_log(t, "passes");
}

TEST(fails)
{
	t_error(t, "fails");
}

static void inner(T *t, void *arg)
{
	(void)arg;
	t_cleanup(t, never_runs, NULL);
	t_log(t, "calling exit(0)");
	exit(0);
}

TEST(exits_in_subtest)
{
	t_cleanup(t, never_runs, NULL);
	t_run(t, "inner", inner, NULL);
	t_log(t, "not reached");
}

static void *exit_three(void *arg)
{
	(void)arg;
	exit(3);
}

TEST(exits_from_thread)
{
	pthread_t th;
	T_ASSERT_EQ(t, pthread_create(&th, NULL, exit_three, NULL), 0);
	pthread_join(th, NULL);
	t_log(t, "not reached");
}

TEST(hangs_with_an_alarm)
{
	alarm(60);
	for (;;)
		pause();
}

/* Ends the thread that runs it: without isolation the run ends there, as
 * for exit(), rather than wait for it until -timeout. */
TEST(pthread_exits)
{
	t_cleanup(t, never_runs, NULL);
	t_log(t, "calling pthread_exit");
	pthread_exit(NULL);
}

static void member_exits(T *t, void *arg)
{
	(void)arg;
	t_log(t, "calling pthread_exit in a group member");
	pthread_exit(NULL);
}

/* The same on a worker thread, in a member of a group. */
TEST(pthread_exits_in_member)
{
	t_group *g = t_group_new(t);
	t_go(g, "member", member_exits, NULL);
	t_wait(g);
	t_log(t, "not reached");
}
