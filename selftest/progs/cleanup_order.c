/*
 * cleanup_order.c - Go's defer lore, in deft.  Run with -v by the golden
 * tests; each test logs the order in which its cleanups run.
 */
#include <deft.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void say(T *t, void *arg)
{
	t_log(t, "cleanup %s", (const char *)arg);
}

static T *logger;               /* for t_defer of plain C functions */

static void log_int(int i)
{
	t_log(logger, "deferred log_int(%d)", i);
}

static void log_int_at(T *t, void *arg)
{
	t_log(t, "cleanup sees i = %d", *(int *)arg);
}

/* Last registered, first run. */
TEST(lifo)
{
	t_cleanup(t, say, "1");
	t_cleanup(t, say, "2");
	t_cleanup(t, say, "3");
	t_log(t, "body done");
}

/* defer fmt.Println(i): the argument is evaluated when deferred... */
TEST(arguments_captured_at_registration)
{
	logger = t;
	int i = 1;
	t_defer(t, log_int, i);
	i = 2;
	t_log(t, "i is now %d", i);
}

/* ...while a closure (here, a pointer) sees the value at run time. */
TEST(pointer_sees_value_at_run_time)
{
	static int i = 1;
	t_cleanup(t, log_int_at, &i);
	i = 2;
}

/* for i := 0; i < 4; i++ { defer fmt.Print(i) } prints 3 2 1 0. */
TEST(deferred_in_a_loop)
{
	logger = t;
	for (int i = 0; i < 4; i++)
		t_defer(t, log_int, i);
}

static void registers_more(T *t, void *arg)
{
	t_log(t, "cleanup outer: registering inner cleanups");
	t_cleanup(t, say, "inner 1");
	t_cleanup(t, say, "inner 2");
}

/* A cleanup may register cleanups; they run next, still LIFO. */
TEST(cleanup_registers_cleanups)
{
	t_cleanup(t, say, "registered first");
	t_cleanup(t, registers_more, NULL);
}

/* The "don't ignore the error from Close" idiom: a close that fails is a
 * test failure naming the deferred call. */
TEST(failing_close_is_reported)
{
	int fd = open("/dev/null", O_RDONLY);
	T_ASSERT_GE(t, fd, 0);
	t_defer_check(t, close, fd);
	close(fd); /* closed behind the deferred call's back */
}

static void sub_body(T *t, void *arg)
{
	t_cleanup(t, say, arg);
}

/* A parent's cleanups run after its subtests' cleanups. */
TEST(parent_cleanups_after_subtests)
{
	t_cleanup(t, say, "parent");
	t_run(t, "a", sub_body, "subtest a");
	t_run(t, "b", sub_body, "subtest b");
	t_log(t, "parent body done");
}

static void fatal_cleanup(T *t, void *arg)
{
	t_fatal(t, "cleanup calls t_fatal: %s", (const char *)arg);
	t_log(t, "not reached");
}

/* t_fatal in a cleanup stops only that cleanup; the rest still run. */
TEST(fatal_in_cleanup_stops_only_itself)
{
	t_cleanup(t, say, "still runs");
	t_cleanup(t, fatal_cleanup, "boom");
	t_cleanup(t, say, "runs first");
}

/* t_fatal in the body: the rest of the body is skipped, cleanups run. */
TEST(fatal_in_body_runs_cleanups)
{
	t_cleanup(t, say, "after fatal");
	t_fatal(t, "stopping");
	t_log(t, "not reached");
}

static void skip_cleanup(T *t, void *arg)
{
	t_skip(t, "cleanup skips");
}

TEST(skip_in_cleanup)
{
	t_cleanup(t, say, "still runs");
	t_cleanup(t, skip_cleanup, NULL);
}

/* t_cleanup_run_now: close early, keep the cleanup as a safety net. */
TEST(run_now_and_cancel)
{
	t_handle early = t_cleanup(t, say, "run early");
	t_handle cancelled = t_cleanup(t, say, "cancelled: never printed");
	t_cleanup(t, say, "at the end");
	t_cleanup_run_now(t, early);
	t_cleanup_run_now(t, early);     /* a second time does nothing */
	t_cleanup_cancel(t, cancelled);
	t_cleanup_cancel(t, cancelled);  /* nor does a second cancel */
	t_cleanup_cancel(t, early);      /* nor cancelling what has run */
	t_log(t, "body done");
}

static int fail_with(int code)
{
	errno = code;
	return code ? -1 : 0;
}

/* t_defer_check: every kind of failure names the call and errno. */
TEST(defer_check_kinds)
{
	t_defer_check(t, fail_with, 0);              /* passes */
	t_defer_check(t, fail_with, ENOENT);         /* -1 and errno */
	t_defer_check(t, getenv, "DEFT_NOT_SET_XYZ"); /* NULL */
	t_defer_check(t, fclose, fopen("/dev/null", "r")); /* passes */
}
