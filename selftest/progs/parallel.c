/*
 * parallel.c - t_parallel's order of events, for the golden tests.  The
 * same scenarios written with Go's testing package print the same lines
 * (Go 1.20 and later print "=== NAME" where Go 1.19 printed "=== CONT"
 * for a change of test in the output).  Each parent has at most one
 * parallel subtest, so that the output does not depend on scheduling.
 */
#include <deft.h>

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

static void say(T *t, void *arg)
{
	t_log(t, "%s", (const char *)arg);
}

TEST(top_parallel)
{
	t_log(t, "top before");
	t_parallel(t);
	t_log(t, "top after");
}

static void par(T *t, void *arg)
{
	t_log(t, "before");
	t_cleanup(t, say, "par cleanup");
	t_parallel(t);
	t_log(t, "after");
	t_run(t, "inner", say, "inner");
}

TEST(pause_cont)
{
	t_cleanup(t, say, "parent cleanup");
	t_run(t, "seq1", say, "seq1");
	bool ok = t_run(t, "par", par, NULL);
	t_log(t, "t_run(par) returned %s", ok ? "true" : "false");
	t_run(t, "seq2", say, "seq2");
	t_log(t, "body ends");
}

TEST(seq_last)
{
	t_log(t, "seq last");
}

static void fails_after_pause(T *t, void *arg)
{
	t_parallel(t);
	t_error(t, "fails after pause");
}

TEST(par_fails)
{
	bool ok = t_run(t, "bad", fails_after_pause, NULL);
	t_log(t, "t_run(bad) returned %s", ok ? "true" : "false");
}

static void twice(T *t, void *arg)
{
	t_parallel(t);
	t_parallel(t);
	t_log(t, "not reached");
}

TEST(parallel_twice)
{
	t_run(t, "twice", twice, NULL);
}

static void in_cleanup(T *t, void *arg)
{
	t_parallel(t);
}

TEST(parallel_in_cleanup)
{
	t_cleanup(t, in_cleanup, NULL);
}

static void fatal_parallel(T *t, void *arg)
{
	t_cleanup(t, say, "cleanup of the stopped subtest");
	t_parallel(t);
	t_fatal(t, "fatal in a parallel subtest");
}

TEST(parallel_fatal)
{
	t_cleanup(t, say, "parent cleanup after the subtest's");
	t_run(t, "stops", fatal_parallel, NULL);
	t_log(t, "the parent carries on");
}

TEST(waits_for_deadline)
{
	struct timespec when, now;
	if (!t_deadline(t, &when))
		t_skip(t, "the run has no -timeout");
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (when.tv_sec - now.tv_sec > 60)
		t_skip(t, "the run's deadline is over a minute away");
	const char *yes = t_ctx_wait(t_context(t), 10000) ? "yes" : "no";
	t_log(t, "cancelled: %s; cause: %s", yes, t_ctx_cause(t_context(t)));
}

static void *misuses(void *arg)
{
	T *t = arg;
	bool ok = t_run(t, "from_a_thread", say, "not reached");
	t_log(t, "t_run from another thread returned %s", ok ? "true" : "f");
	t_group *g = t_group_new(t);
	t_go(g, "from_a_thread", say, "not reached");
	return NULL;
}

TEST(foreign_thread_misuse)
{
	pthread_t th;
	pthread_create(&th, NULL, misuses, t);
	pthread_join(th, NULL);
}

/* Last in the file: after it, every context of the run is cancelled. */
TEST(interrupted_by_sigint)
{
	raise(SIGINT);
	const char *yes = t_ctx_wait(t_context(t), 10000) ? "yes" : "no";
	t_log(t, "cancelled: %s; cause: %s", yes, t_ctx_cause(t_context(t)));
}

TEST(not_started_after_interrupt)
{
	t_error(t, "started after the run was interrupted");
}
