/*
 * deft.h - the public interface of deft, a unit-testing harness for C.
 *
 * A test is a C function registered with TEST().  Linking libdeft turns the
 * program into its own command-line runner (see t_main()).  Every test owns a
 * last-in, first-out stack of cleanups that runs after the test body and all
 * of its subtests have finished, however they ended; t_defer() pushes a call
 * of any C function with its arguments captured at registration.
 *
 * By default each top-level test runs in a process of its own, forked from
 * the runner: a crash, a hang past its deadline, exit() or a kill fails
 * that test alone, with the reason and a backtrace, and the run goes on
 * (-isolation none runs everything in one process, for debuggers: there
 * a crash ends the run, but only once it is reported on the test that
 * crashed and every report is finished).  A
 * process the test forks ends as it likes (exit, _exit, a signal) for the
 * test to wait for; a failure in it fails the test, and one that returns
 * from the test's code into deft is ended there with _exit(1) and fails
 * the test.  The report files (-json, -junit, -tap) are the runner's
 * alone: no forked process can write into them or repeat them.  A test's
 * process reads end of file from stdin (/dev/null), as under go test.
 *
 * The header is organised in sections: tests and results, logging and
 * failure, cleanups, deferred calls, subtests, assertions, the runner.
 * Everything public is spelled t_*, T_* or TEST; anything spelled deft_* is
 * an implementation detail that the macros need and may change.
 */
#ifndef DEFT_H
#define DEFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define DEFT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DEFT_NORETURN __attribute__((noreturn))
#else
#define DEFT_PRINTF(f, a)
#define DEFT_NORETURN
#endif

/* ------------------------------------------------------------------------
 * Tests and results
 * ------------------------------------------------------------------------ */

/* T is the state of one running test or subtest.  It is opaque: every call
 * takes it as its first argument.  A finished subtest's T stays valid until
 * its top-level test ends, for threads that outlive the subtest: a log or
 * failure on it goes to the nearest ancestor still running, saying so.
 * A top-level test's T, and with it its subtests', is freed when the test
 * ends, unless the leak check saw a thread the test started still running:
 * then they stay valid to the end of the run, and a late log or failure
 * on them goes to stderr. */
typedef struct T T;

/* The shape of every callback deft calls: a subtest body, a cleanup. */
typedef void t_fn(T *t, void *arg);

/* A registered cleanup, for t_cleanup_cancel() and t_cleanup_run_now(). */
typedef struct t_cleanup_handle *t_handle;

/* Registration record of one TEST; filled in by the TEST macro. */
struct deft_test_def {
	const char *name;
	void (*fn)(T *t);
	const char *file;
	int line;
	int timeout_ms;         /* .timeout_ms = N in TEST(); 0: the run's */
};
void deft_register(struct deft_test_def *def);

/*
 * TEST(name) - define and register a top-level test.
 * TEST(name, .timeout_ms = N) - the same, with options.
 *
 * Expands to the definition of `void name(T *t)`, registered before main()
 * runs, so there is no list of tests to maintain.  Tests run sorted by source
 * file, then by line, which is the order they are written in.
 *
 * Options, as designated initialisers after the name:
 *   .timeout_ms = N   the test's deadline in milliseconds, instead of the
 *                     run's -test-timeout (enforced when tests run in
 *                     processes of their own, the default); multiplied
 *                     by -timeout-scale
 */
#ifndef __cplusplus
#define TEST(fn_, ...)                                                     \
	DEFT_TEST_(fn_, .name = #fn_, .fn = fn_, .file = __FILE__,         \
	           .line = __LINE__, __VA_ARGS__)
#else /* C++: no options (its designated initialisers are stricter) */
#define TEST(fn_) DEFT_TEST_(fn_, #fn_, fn_, __FILE__, __LINE__, 0)
#endif
#define DEFT_TEST_(fn_, ...)                                               \
	void fn_(T *t);                                                    \
	static struct deft_test_def deft_def_##fn_ = {__VA_ARGS__};        \
	__attribute__((constructor)) static void deft_reg_##fn_(void)      \
	{                                                                  \
		deft_register(&deft_def_##fn_);                            \
	}                                                                  \
	void fn_(T *t)

/*
 * t_name() - the full name of the test, "parent/child" for subtests.
 * RETURNS: a string owned by the test, valid until the test is done.
 */
const char *t_name(T *t);

/* t_failed() - whether the test, or one of its subtests, has failed. */
bool t_failed(T *t);

/* t_skipped() - whether the test has been skipped with t_skip(). */
bool t_skipped(T *t);

/* ------------------------------------------------------------------------
 * Logging and failure
 *
 * Each of these records the caller's file:line.  Logs are kept with the
 * test and printed with its result: always with -v, otherwise only when the
 * test fails.
 * ------------------------------------------------------------------------ */

/* t_log(t, fmt, ...) - add a line to the test's log. */
#define t_log(t, ...) deft_log(t, __FILE__, __LINE__, __VA_ARGS__)

/* t_error(t, fmt, ...) - log, mark the test failed, and carry on. */
#define t_error(t, ...) deft_error(t, __FILE__, __LINE__, __VA_ARGS__)

/*
 * t_fatal(t, fmt, ...) - log, mark the test failed, and stop it.
 *
 * Control leaves the test body (or the cleanup that called it) and returns
 * to the harness, which still runs the test's cleanups.  Only the thread
 * that runs the test may stop it; called from any other thread, t_fatal
 * marks the test failed with a message saying so and ends the calling
 * thread (as Go's FailNow ends the calling goroutine).
 */
#define t_fatal(t, ...) deft_fatal(t, __FILE__, __LINE__, __VA_ARGS__)

/*
 * t_skip(t, fmt, ...) - log, mark the test skipped, and stop it as
 * t_fatal() does.  A test that has already failed stays failed.
 */
#define t_skip(t, ...) deft_skip(t, __FILE__, __LINE__, __VA_ARGS__)

/* t_fail() - mark the test failed and carry on. */
void t_fail(T *t);

/* t_failnow() - mark the test failed and stop it, as t_fatal() does. */
DEFT_NORETURN void t_failnow(T *t);

void deft_log(T *t, const char *file, int line, const char *fmt, ...)
	DEFT_PRINTF(4, 5);
void deft_error(T *t, const char *file, int line, const char *fmt, ...)
	DEFT_PRINTF(4, 5);
DEFT_NORETURN void deft_fatal(T *t, const char *file, int line,
                              const char *fmt, ...) DEFT_PRINTF(4, 5);
DEFT_NORETURN void deft_skip(T *t, const char *file, int line,
                             const char *fmt, ...) DEFT_PRINTF(4, 5);

/* ------------------------------------------------------------------------
 * Cleanups
 *
 * A test's cleanups run once, last registered first, after the test body
 * has returned (normally or through t_fatal/t_skip) and after every subtest
 * has finished and run its own cleanups.  They run on the thread that ran
 * the body.  A cleanup may register more cleanups; those run next.  A
 * cleanup that calls t_error fails the test; one that calls t_fatal or
 * t_skip stops only itself, and the remaining cleanups still run.
 *
 * So what a cleanup's pointers point to must outlive the function that
 * registers it.  A t_cleanup or t_main_cleanup argument, or a pointer or
 * string argument of t_defer, that points into the stack frame of that
 * function (the body, a fixture it calls, a cleanup) fails the test, and
 * is not registered.
 * ------------------------------------------------------------------------ */

/*
 * t_cleanup(t, fn, arg) - register fn(t, arg) to run when the test is done.
 * RETURNS: a handle for t_cleanup_cancel() or t_cleanup_run_now(), valid
 * until the test is done; NULL when the test failed instead (fn NULL, or
 * arg pointing into the caller's stack frame), which those calls ignore.
 */
#define t_cleanup(t, fn, arg) \
	deft_cleanup(t, __FILE__, __LINE__, #fn, fn, arg)
t_handle deft_cleanup(T *t, const char *file, int line, const char *what,
                      t_fn *fn, void *arg);

/*
 * t_cleanup_cancel() - remove a registered cleanup without running it.
 * Cancelling a cleanup that has already run or been cancelled does nothing.
 */
void t_cleanup_cancel(T *t, t_handle h);

/*
 * t_cleanup_run_now() - run a registered cleanup now and remove it, so it
 * does not run again when the test is done: close early, keep the cleanup
 * as a safety net for the paths that return before.  A handle that has
 * already run or been cancelled does nothing.
 */
void t_cleanup_run_now(T *t, t_handle h);

/* ------------------------------------------------------------------------
 * Deferred calls
 *
 * t_defer(t, f, args...) registers the call f(args...) as a cleanup.  The
 * arguments are evaluated now and the call is made later, through libffi.
 * Up to 12 arguments of any integer, floating or pointer type; the types
 * are taken from the argument expressions at compile time, as they are for
 * the variadic arguments of printf, so pass a double as 1.0, not 1.
 * Returns the cleanup's handle, or NULL when the test failed instead (a
 * NULL function, a pointer into the caller's stack frame).
 *
 * t_defer_check(t, f, args...) does the same and fails the test when the
 * call returns an error value for its type: a non-zero integer (-1 from
 * close, EOF from fclose, an error number from pthread_*) or a NULL
 * pointer.  The failure names the deferred expression, the value and
 * strerror(errno): the C answer to ignoring the result of close().
 * ------------------------------------------------------------------------ */

#define t_defer(t, ...) DEFT_DEFER_(t, 0, #__VA_ARGS__, __VA_ARGS__)
#define t_defer_check(t, ...) DEFT_DEFER_(t, 1, #__VA_ARGS__, __VA_ARGS__)

/* ------------------------------------------------------------------------
 * Subtests
 * ------------------------------------------------------------------------ */

/*
 * t_run() - run fn(sub, arg) as a subtest named "parent/name" and wait for
 * it, its subtests and its cleanups to finish.
 *
 * Names follow Go: white space becomes '_', unprintable bytes are escaped,
 * and a name used twice under one parent gets a suffix #01, #02, ...  A
 * full name longer than 16 KiB, which no report could carry, fails the
 * parent and runs nothing.  A subtest that -run or -skip filter out does
 * not run and counts as passed.  A failing subtest marks its parent
 * failed.
 * RETURNS: true unless the subtest failed (or did not start).
 */
bool t_run(T *t, const char *name, t_fn *fn, void *arg);

/*
 * t_parallel() - run the rest of this test in parallel with others, as Go's
 * t.Parallel does.
 *
 * The test pauses (-v prints "=== PAUSE name") and the t_run that started
 * it returns in the parent.  It resumes ("=== CONT name") once the
 * parent's body has returned, when one of the -parallel slots (default:
 * the number of online CPUs) is free, and runs concurrently with its
 * paused siblings.  The parent's cleanups run only after all of them have
 * finished and run their own cleanups.  A top-level test that calls it
 * resumes after the sequential top-level tests have run.  Calling it
 * twice, after t_setenv/t_chdir, from a cleanup, in a group member or
 * from a thread that does not run the test fails the test and stops it.
 *
 * A subtest runs on a fiber of its own: the part of its body before
 * t_parallel runs on its parent's thread, and the rest, with its
 * cleanups, on another thread; thread-local state (errno, pthread_self)
 * does not carry across the call.
 *
 * Nor does the parent's stack: an argument of t_run that points into the
 * parent's body frame is gone when the subtest resumes.  Read what it
 * needs through it first, or keep it in static or allocated memory; the
 * subtest's log notes such an argument.
 */
void t_parallel(T *t);

/* ------------------------------------------------------------------------
 * Groups: errgroup for subtests
 * ------------------------------------------------------------------------ */

/* A group of parallel subtests that is cancelled by its first failure. */
typedef struct t_group t_group;

/*
 * t_group_new() - make a group of subtests of t.
 * RETURNS: the group, owned by t and valid until t is done.
 */
t_group *t_group_new(T *t);

/*
 * t_group_limit() - run at most n members at once; t_go waits for a free
 * place.  n <= 0 means no limit.  Changing the limit while members run is
 * a test failure, as errgroup's SetLimit panics.
 */
void t_group_limit(t_group *g, int n);

/*
 * t_go() - start fn(sub, arg) now, on a thread of its own, as a subtest of
 * the group's test named "parent/name" (names as t_run gives them).
 *
 * The first member to fail cancels the group's context, and so every
 * member's, with the cause "cancelled: subtest parent/name failed: msg".
 * A member that fails after that, or ends without failing once the group
 * is cancelled, stopped because of the cancellation: it is reported as
 * skipped with that cause, not as a failure of its own.  Only the test's
 * own body may call t_go; the test finishes after all its members.
 */
void t_go(t_group *g, const char *name, t_fn *fn, void *arg);

/*
 * t_wait() - wait until every member started so far has finished, then
 * cancel the group's context ("context canceled: t_wait returned").
 * RETURNS: true when no member failed.
 */
bool t_wait(t_group *g);

/*
 * t_group_cause() - the group's first failure, "subtest parent/name
 * failed: file.c:12: message", or NULL while no member has failed.
 * The string is owned by the group.
 */
const char *t_group_cause(t_group *g);

/* ------------------------------------------------------------------------
 * Contexts
 *
 * Each test has a context that is cancelled once, with a cause: when the
 * run is interrupted (SIGINT, SIGTERM) or reaches its -timeout, when the
 * parent test's context or the test's group is cancelled, and just before
 * the test's cleanups run (cause "context canceled: the test is done and
 * its cleanups are running"), so background work the test started can
 * notice and stop.  Every t_ctx_* call is safe from any thread while the
 * test lives.
 * ------------------------------------------------------------------------ */

typedef struct t_ctx t_ctx;
/* A hook registered with t_after_cancel(). */
typedef struct t_stop t_stop;

/* t_context() - the test's context, valid until the test is done. */
t_ctx *t_context(T *t);

/* t_ctx_done() - whether c has been cancelled. */
bool t_ctx_done(t_ctx *c);

/*
 * t_ctx_cause() - why c was cancelled, as Go's context.Cause.
 * RETURNS: a message owned by c, or NULL while c is not cancelled.
 */
const char *t_ctx_cause(t_ctx *c);

/*
 * t_ctx_fd() - a file descriptor that becomes readable (at end of file)
 * when c is cancelled and stays so, for poll/epoll sets.  It is
 * close-on-exec and owned by c: do not close it.
 * RETURNS: the descriptor, or -1 with errno set if none could be made.
 */
int t_ctx_fd(t_ctx *c);

/*
 * t_ctx_wait() - wait until c is cancelled, at most timeout_ms
 * milliseconds (negative: no limit, 0: do not wait).
 * RETURNS: true if c is cancelled.
 */
bool t_ctx_wait(t_ctx *c, int timeout_ms);

/*
 * t_sleep() - sleep ms milliseconds, or less if t's context is cancelled.
 * RETURNS: true if the full time passed, false if cancelled.
 */
bool t_sleep(T *t, int ms);

/*
 * t_after_cancel() - run fn(arg) once, on a thread of its own, after c is
 * cancelled (at once if it is already), as Go's context.AfterFunc.
 * RETURNS: a stop handle for t_stop_call(), valid while c's test lives.
 */
t_stop *t_after_cancel(t_ctx *c, void (*fn)(void *), void *arg);

/*
 * t_stop_call() - keep a t_after_cancel hook from running.  It does not
 * wait for a hook that has started.
 * RETURNS: true if this call stopped the hook before it started; false if
 * it had started already or was stopped before.
 */
bool t_stop_call(t_stop *s);

/*
 * t_deadline() - when the run's -timeout expires, as Go's t.Deadline.
 * Stores the time, on CLOCK_MONOTONIC, in *when (if not NULL).
 * RETURNS: false when the run has no timeout.
 */
struct timespec;
bool t_deadline(T *t, struct timespec *when);

/* ------------------------------------------------------------------------
 * Assertions
 *
 * T_EXPECT_* record a failure and carry on, and return whether the check
 * passed; T_ASSERT_* stop the test as t_fatal() does.  A failure prints
 * the source expressions, the values and the caller's file:line.
 *
 *   T_EXPECT(t, cond)                 cond is true
 *   T_EXPECT_EQ/NE/LT/LE/GT/GE(t, a, b)
 *                                     a == b ... a >= b, by type: integers of
 *                                     any width and signedness compared by
 *                                     value (-1 < 1u holds), floating point
 *                                     exactly, C strings (char *) by
 *                                     content, NULL-safe, other pointers by
 *                                     address
 *   T_EXPECT_PTR_EQ/PTR_NE(t, a, b)   pointer identity, also for char *
 *   T_EXPECT_NULL/NOT_NULL(t, p)      p is (not) NULL
 *   T_EXPECT_NEAR(t, a, b, tol)       |a - b| <= tol
 *   T_EXPECT_FLOAT_EQ(t, a, b)        a and b within 4 units in the last
 *                                     place (as doubles)
 *   T_EXPECT_MEM_EQ(t, a, b, n)       n bytes equal; a failure shows a hex
 *                                     dump around the first difference
 *
 * and the same with T_ASSERT_ in place of T_EXPECT_.
 * ------------------------------------------------------------------------ */

#define T_EXPECT(t, c) deft_check_true(t, DEFT_HERE, #c, (c) ? 1 : 0, 0)
#define T_ASSERT(t, c) deft_check_true(t, DEFT_HERE, #c, (c) ? 1 : 0, 1)

#define T_EXPECT_EQ(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_EQ, #a, #b, a, b, 0)
#define T_EXPECT_NE(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_NE, #a, #b, a, b, 0)
#define T_EXPECT_LT(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_LT, #a, #b, a, b, 0)
#define T_EXPECT_LE(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_LE, #a, #b, a, b, 0)
#define T_EXPECT_GT(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_GT, #a, #b, a, b, 0)
#define T_EXPECT_GE(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_GE, #a, #b, a, b, 0)
#define T_ASSERT_EQ(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_EQ, #a, #b, a, b, 1)
#define T_ASSERT_NE(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_NE, #a, #b, a, b, 1)
#define T_ASSERT_LT(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_LT, #a, #b, a, b, 1)
#define T_ASSERT_LE(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_LE, #a, #b, a, b, 1)
#define T_ASSERT_GT(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_GT, #a, #b, a, b, 1)
#define T_ASSERT_GE(t, a, b) \
	DEFT_CMP_(t, DEFT_OP_GE, #a, #b, a, b, 1)

#define T_EXPECT_PTR_EQ(t, a, b) \
	DEFT_PTR_(t, DEFT_OP_EQ, #a, #b, a, b, 0)
#define T_EXPECT_PTR_NE(t, a, b) \
	DEFT_PTR_(t, DEFT_OP_NE, #a, #b, a, b, 0)
#define T_ASSERT_PTR_EQ(t, a, b) \
	DEFT_PTR_(t, DEFT_OP_EQ, #a, #b, a, b, 1)
#define T_ASSERT_PTR_NE(t, a, b) \
	DEFT_PTR_(t, DEFT_OP_NE, #a, #b, a, b, 1)
#define T_EXPECT_NULL(t, p) \
	DEFT_PTR_(t, DEFT_OP_EQ, #p, "NULL", p, NULL, 0)
#define T_EXPECT_NOT_NULL(t, p) \
	DEFT_PTR_(t, DEFT_OP_NE, #p, "NULL", p, NULL, 0)
#define T_ASSERT_NULL(t, p) \
	DEFT_PTR_(t, DEFT_OP_EQ, #p, "NULL", p, NULL, 1)
#define T_ASSERT_NOT_NULL(t, p) \
	DEFT_PTR_(t, DEFT_OP_NE, #p, "NULL", p, NULL, 1)

#define T_EXPECT_NEAR(t, a, b, tol) \
	deft_check_near(t, DEFT_HERE, #a, #b, #tol, a, b, tol, 0)
#define T_ASSERT_NEAR(t, a, b, tol) \
	deft_check_near(t, DEFT_HERE, #a, #b, #tol, a, b, tol, 1)
#define T_EXPECT_FLOAT_EQ(t, a, b) \
	deft_check_ulps(t, DEFT_HERE, #a, #b, a, b, 0)
#define T_ASSERT_FLOAT_EQ(t, a, b) \
	deft_check_ulps(t, DEFT_HERE, #a, #b, a, b, 1)
#define T_EXPECT_MEM_EQ(t, a, b, n) \
	deft_check_mem(t, DEFT_HERE, #a, #b, a, b, n, 0)
#define T_ASSERT_MEM_EQ(t, a, b, n) \
	deft_check_mem(t, DEFT_HERE, #a, #b, a, b, n, 1)

/* ------------------------------------------------------------------------
 * Fixtures: process state for one test
 *
 * A fixture is a function that takes T *, acquires something and pushes
 * its release on the test's cleanup stack; fixtures compose by calling
 * each other, and last-in, first-out order releases them in the right
 * order.  The helpers below are such fixtures for the state of the
 * process.  Each restores what it changed when the test is done, in LIFO
 * order with the test's other cleanups.  The process has one environment,
 * one working directory and one umask: like Go's, t_setenv, t_unsetenv,
 * t_chdir and t_umask fail and stop a test that is parallel or has a
 * parallel ancestor.  Each fails and stops the test when it cannot do
 * what it is asked, naming the reason.
 * ------------------------------------------------------------------------ */

/*
 * t_setenv(t, name, value) - set the environment variable name to value
 * for the rest of the test.  Afterwards it gets back its exact previous
 * value, or is unset if it was unset.
 */
#define t_setenv(t, name, value) \
	deft_setenv(t, __FILE__, __LINE__, name, value)

/* t_unsetenv(t, name) - unset name for the rest of the test; restored as
 * t_setenv restores. */
#define t_unsetenv(t, name) deft_unsetenv(t, __FILE__, __LINE__, name)

/*
 * t_chdir(t, dir) - make dir the working directory for the rest of the
 * test, and set $PWD to it, as Go does.  Afterwards the old directory is
 * the working directory again, even if dir has been removed, and $PWD has
 * its old value.
 */
#define t_chdir(t, dir) deft_chdir(t, __FILE__, __LINE__, dir)

/*
 * t_umask(t, mask) - set the file mode creation mask (0 to 0777) for the
 * rest of the test.
 * RETURNS: the previous mask, which is restored afterwards.
 */
#define t_umask(t, mask) deft_umask(t, __FILE__, __LINE__, mask)

/*
 * t_tempdir(t) - create a new directory, mode 0700, for the test alone:
 * each call makes another.  It is made under $TEST_TMPDIR (set by Bazel),
 * else $TMPDIR, else /tmp, and named deft-NAME-XXXXXX after the test.
 * When the test is done it is removed with everything in it; symbolic
 * links in it are removed, never followed, and a removal that fails
 * fails the test, naming the path.  Unlike the helpers above, it may be
 * used in parallel tests.
 * RETURNS: the directory's path, owned by the test, valid until it is
 * done.
 */
#define t_tempdir(t) deft_tempdir(t, __FILE__, __LINE__)

/*
 * t_main_cleanup(fn, arg) - register fn(t, arg) to run once when the run
 * is over, after the last test: for process-wide fixtures, such as a
 * server started by the first test that needs it and shared by the rest.
 * These cleanups run last registered first, with the rules of test
 * cleanups, as a test named "t_main_cleanup" that is reported (and fails
 * the run) like any other; t is that test.  May be called from any test.
 */
#define t_main_cleanup(fn, arg) \
	deft_main_cleanup(__FILE__, __LINE__, #fn, fn, arg)

void deft_setenv(T *t, const char *file, int line, const char *name,
                 const char *value);
void deft_unsetenv(T *t, const char *file, int line, const char *name);
void deft_chdir(T *t, const char *file, int line, const char *dir);
mode_t deft_umask(T *t, const char *file, int line, mode_t mask);
const char *deft_tempdir(T *t, const char *file, int line);
void deft_main_cleanup(const char *file, int line, const char *what,
                       t_fn *fn, void *arg);

/* ------------------------------------------------------------------------
 * Death tests
 *
 * Check that code ends its process as it should: exits with a status, or
 * is killed by a signal (GoogleTest's EXPECT_EXIT and EXPECT_DEATH).
 * fn(arg) runs in a process forked from the calling thread, which must be
 * the thread that runs t.  In that process:
 *
 *   - stdout and stderr go to pipes; stdout is thrown away, stderr is
 *     kept to match and to show in a failure: all of it up to 64 KiB,
 *     past that its first and last 32 KiB (the tail from a line's
 *     start);
 *   - the handlers of the fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 *     SIGABRT, SIGSYS, SIGTRAP, SIGPIPE) are reset to the default, deft's
 *     and a sanitizer's alike, so a crash is a death by that signal (a
 *     sanitizer may still catch undefined behaviour before it crashes,
 *     and exit with status 1);
 *   - nothing reports to deft: no cleanup of the test runs there, and
 *     when fn returns the process leaves with _exit; t_fatal, t_skip
 *     or t_failnow in fn end the child too (their message is lost),
 *     and t_error there does not fail the test.
 *
 * A child still alive after 10 seconds (times -timeout-scale), or when
 * the test's context is cancelled (its .timeout_ms passed, the run was
 * interrupted), is killed with SIGKILL, and the check fails.  Each of
 * these fails the test at the caller's file:line, and carries on, when
 * the child does not end as expected: it exited with another status,
 * was killed instead of exiting or the other way round, or fn returned;
 * the message says what happened ("exited with status 0", "killed by
 * SIGSEGV (Segmentation fault)", "returned normally") and shows the
 * child's stderr: its first and last lines, up to 512 bytes of each, and
 * how many bytes fell between.  The child is always waited for: it is
 * neither a zombie nor a leak.  SIGCHLD ignored by the test (SIG_IGN,
 * SA_NOCLDWAIT) is not ignored while the death test waits; a SIGCHLD
 * handler that reaps every child takes this one too, and the check fails
 * saying it cannot tell how the child ended.  Forking a process with
 * other threads running is as safe as fork() is: fn should not need a
 * lock another thread may hold (malloc's, stdio's).
 * RETURNS: true when the child ended as expected.
 * ------------------------------------------------------------------------ */

/* t_expect_exit(t, code, fn, arg) - fn(arg) calls exit(code) or _exit. */
#define t_expect_exit(t, code, fn, arg) \
	deft_expect_death(t, __FILE__, __LINE__, #fn, 0, code, NULL, fn, arg)

/* t_expect_signal(t, signo, fn, arg) - fn(arg) is killed by signo. */
#define t_expect_signal(t, signo, fn, arg) \
	deft_expect_death(t, __FILE__, __LINE__, #fn, 1, signo, NULL, fn, arg)

/*
 * t_expect_exit_stderr(t, code, regex, fn, arg),
 * t_expect_signal_stderr(t, signo, regex, fn, arg) - the same, and what
 * the child wrote to stderr matches regex, a POSIX extended regular
 * expression that may match anywhere in what is kept of it (past 64 KiB,
 * in its first 32 KiB or in its last); "^" and "$" match at the start
 * and end of each line, as in grep.
 * A regex that does not compile fails the test without running fn.
 */
#define t_expect_exit_stderr(t, code, regex, fn, arg) \
	deft_expect_death(t, __FILE__, __LINE__, #fn, 0, code, regex, fn, arg)
#define t_expect_signal_stderr(t, signo, regex, fn, arg) \
	deft_expect_death(t, __FILE__, __LINE__, #fn, 1, signo, regex, fn, \
	                  arg)

bool deft_expect_death(T *t, const char *file, int line, const char *what,
                       bool want_signal, int want, const char *regex,
                       void (*fn)(void *), void *arg);

/* ------------------------------------------------------------------------
 * Leak detection
 *
 * After a top-level test's cleanups have all run, and before its result
 * is reported, deft compares the process with a snapshot taken before the
 * test started, and reports what the test left behind:
 *
 *   - file descriptors opened and not closed, or closed and opened again
 *     as something else (compared by device and inode), each with its
 *     /proc/self/fd target: socket:[N], pipe:[N], anon_inode:[eventfd],
 *     a path;
 *   - threads still running, with their names (/proc/self/task/N/comm)
 *     and the system call they wait in, after a grace period of up to
 *     a second with growing sleeps, so a thread that is on its way out
 *     is not counted;
 *   - environment variables changed, set or unset, with the old and new
 *     values; deft restores them, and the working directory and umask
 *     too, so the next test starts as this one did;
 *   - the working directory and the umask changed;
 *   - child processes started and not waited for, running or zombie;
 *   - memory no longer reachable, when the program is built with
 *     -fsanitize=address or =leak and the test has a process of its own
 *     (the default): LeakSanitizer's report, with where each block was
 *     allocated, is the test's stderr.
 *
 * A leak verdict is re-checked once before it is reported.  With
 * -leaks=fail (the default) a leak fails the test; -leaks=warn only
 * reports it; -leaks=off skips the check.  deft's own descriptors and
 * threads never count.  Where a leaked thread or descriptor was created
 * is not known: deft does not interpose pthread_create or open.
 * ------------------------------------------------------------------------ */

/*
 * t_leak_ignore_fd(t, fd) - do not count the descriptor fd as a leak of
 * this test's top-level test: it is kept open on purpose (a process-wide
 * fixture's socket, say).
 */
void t_leak_ignore_fd(T *t, int fd);

/*
 * t_leak_ignore_thread_name(t, name) - do not count threads named name
 * (as pthread_setname_np sets it, at most 15 bytes: longer names are
 * compared on their first 15) as leaks of this test's top-level test.
 */
void t_leak_ignore_thread_name(T *t, const char *name);

/* ------------------------------------------------------------------------
 * The runner
 * ------------------------------------------------------------------------ */

/*
 * t_main() - run the registered tests as the command line asks and return
 * the exit status: 0 when every test passed, 1 when one failed, 2 for a
 * usage error.  libdeft supplies a main() that calls it; a program with a
 * main() of its own calls it instead.  Run the binary with -h for the flags.
 */
int t_main(int argc, char **argv);

/* The run, as TEST_MAIN's hook sees it: opaque, for t_run_tests(). */
typedef struct t_m t_m;

/*
 * TEST_MAIN(m) - define the program's main hook, as Go's TestMain:
 *
 *     TEST_MAIN(m)
 *     {
 *         setenv("APP_CONFIG", "test.conf", 1);   // set up
 *         return t_run_tests(m);                  // run the tests
 *     }
 *
 * t_main() calls it once, in the process that starts every test process
 * (the supervisor) or runs every test (-isolation none), after the flags
 * have been parsed (so -h, -list and usage errors never reach it) and
 * before the first test: what it sets up (environment variables,
 * temporary directories, servers, descriptors) every test inherits.
 * What it registers with t_main_cleanup() is torn down once, last
 * registered first, after the hook has returned, in that process.  The
 * hook may decide not to run the tests at all.
 *
 * The program's exit status is what the hook returns, except that a 0
 * becomes 1 when a main cleanup fails or a report cannot be written.
 * A hook that calls exit() instead (exit(t_run_tests(m)), as Go's
 * os.Exit(m.Run())) gets the same: the main cleanups run and the reports
 * are finished at exit(), whose status is kept.  A crash in the hook or
 * in a main cleanup fails the t_main_cleanup test with the signal and a
 * backtrace; the reports are finished and the process dies of it.
 * A program has at most one TEST_MAIN: with two, t_main says where both
 * are and returns 2 without running anything.
 */
#define TEST_MAIN(m_)                                                      \
	static int deft_test_main_(t_m *m_);                               \
	__attribute__((constructor)) static void deft_reg_test_main_(void) \
	{                                                                  \
		deft_register_main(deft_test_main_, __FILE__, __LINE__);   \
	}                                                                  \
	static int deft_test_main_(t_m *m_)
void deft_register_main(int (*fn)(t_m *m), const char *file, int line);

/*
 * t_run_tests() - run the tests the command line selects, from a
 * TEST_MAIN hook, and report them.  Call it at most once.
 * RETURNS: 0 when every test passed, 1 when one failed, 128 + N when
 * signal N interrupted the run; 2 if it was called before.
 */
int t_run_tests(t_m *m);

/* ------------------------------------------------------------------------
 * Implementation details the macros above need.
 * ------------------------------------------------------------------------ */

#define DEFT_HERE __FILE__, __LINE__

enum deft_op { DEFT_OP_EQ, DEFT_OP_NE, DEFT_OP_LT, DEFT_OP_LE, DEFT_OP_GT,
               DEFT_OP_GE };

/* A value captured for an assertion or a deferred call. */
enum deft_kind {
	DEFT_K_BOOL, DEFT_K_CHAR, DEFT_K_SCHAR, DEFT_K_UCHAR, DEFT_K_SHORT,
	DEFT_K_USHORT, DEFT_K_INT, DEFT_K_UINT, DEFT_K_LONG, DEFT_K_ULONG,
	DEFT_K_LLONG, DEFT_K_ULLONG, DEFT_K_FLOAT, DEFT_K_DOUBLE,
	DEFT_K_LDOUBLE, DEFT_K_PTR, DEFT_K_STR, DEFT_K_VOID
};

struct deft_val {
	enum deft_kind kind;
	union {
		intmax_t i;
		uintmax_t u;
		float f;
		double d;
		unsigned char ld[sizeof(long double)]; /* memcpy'd */
		const void *p;
		const char *s;
	} v;
};

bool deft_check_true(T *t, const char *file, int line, const char *expr,
                     int ok, int fatal);
bool deft_check_cmp(T *t, const char *file, int line, enum deft_op op,
                    const char *ea, const char *eb, struct deft_val a,
                    struct deft_val b, int fatal);
bool deft_check_near(T *t, const char *file, int line, const char *ea,
                     const char *eb, const char *etol, long double a,
                     long double b, long double tol, int fatal);
bool deft_check_ulps(T *t, const char *file, int line, const char *ea,
                     const char *eb, double a, double b, int fatal);
bool deft_check_mem(T *t, const char *file, int line, const char *ea,
                    const char *eb, const void *a, const void *b, size_t n,
                    int fatal);
t_handle deft_defer(T *t, const char *file, int line, const char *expr,
                    int check, void (*fn)(void), enum deft_kind ret,
                    int nargs, const struct deft_val *args);

#ifdef __cplusplus
} /* extern "C" */

/* C++ has no _Generic: overloads capture the same kinds for assertions.
 * t_defer is C only; in C++ pass a lambda without captures to t_cleanup:
 *   auto close_it = [](T *t, void *fd) { ... };
 *   t_cleanup(t, close_it, fd);                                        */
static inline deft_val deft_v_(deft_kind k)
{ deft_val v; v.kind = k; v.v.u = 0; return v; }
#define DEFT_V_(type, K, field)                                           \
	static inline deft_val deft_val_of(type x)                        \
	{ deft_val v = deft_v_(K); v.v.field = x; return v; }
DEFT_V_(bool, DEFT_K_BOOL, u)
DEFT_V_(char, DEFT_K_CHAR, i)
DEFT_V_(signed char, DEFT_K_SCHAR, i)
DEFT_V_(unsigned char, DEFT_K_UCHAR, u)
DEFT_V_(short, DEFT_K_SHORT, i)
DEFT_V_(unsigned short, DEFT_K_USHORT, u)
DEFT_V_(int, DEFT_K_INT, i)
DEFT_V_(unsigned, DEFT_K_UINT, u)
DEFT_V_(long, DEFT_K_LONG, i)
DEFT_V_(unsigned long, DEFT_K_ULONG, u)
DEFT_V_(long long, DEFT_K_LLONG, i)
DEFT_V_(unsigned long long, DEFT_K_ULLONG, u)
DEFT_V_(float, DEFT_K_FLOAT, f)
DEFT_V_(double, DEFT_K_DOUBLE, d)
DEFT_V_(char *, DEFT_K_STR, s)
DEFT_V_(const char *, DEFT_K_STR, s)
#undef DEFT_V_
static inline deft_val deft_val_of(const volatile void *x)
{
	deft_val v = deft_v_(DEFT_K_PTR);
	v.v.p = const_cast<const void *>(x);
	return v;
}
static inline deft_val deft_val_of(long double x)
{
	deft_val v = deft_v_(DEFT_K_LDOUBLE);
	__builtin_memcpy(v.v.ld, &x, sizeof(x));
	return v;
}
static inline deft_val deft_val_of(decltype(nullptr))
{ return deft_v_(DEFT_K_PTR); }
#define DEFT_VAL(x) deft_val_of(x)
#define DEFT_PTRVAL(x) deft_val_of((const volatile void *)(x))
#define DEFT_DEFER_(t, check, text, ...) \
	static_assert(false && check, "t_defer is C only: use t_cleanup")
#else /* C */

static inline struct deft_val deft_val_i(enum deft_kind k, intmax_t x)
{ struct deft_val v = {k, {0}}; v.v.i = x; return v; }
static inline struct deft_val deft_val_u(enum deft_kind k, uintmax_t x)
{ struct deft_val v = {k, {0}}; v.v.u = x; return v; }
static inline struct deft_val deft_val_f(float x)
{ struct deft_val v = {DEFT_K_FLOAT, {0}}; v.v.f = x; return v; }
static inline struct deft_val deft_val_d(double x)
{ struct deft_val v = {DEFT_K_DOUBLE, {0}}; v.v.d = x; return v; }
static inline struct deft_val deft_val_ld(long double x)
{
	struct deft_val v = {DEFT_K_LDOUBLE, {0}};
	__builtin_memcpy(v.v.ld, &x, sizeof(x));
	return v;
}
static inline struct deft_val deft_val_s(const char *x)
{ struct deft_val v = {DEFT_K_STR, {0}}; v.v.s = x; return v; }
static inline struct deft_val deft_val_p(const volatile void *x)
{ struct deft_val v = {DEFT_K_PTR, {0}}; v.v.p = (const void *)x; return v; }

/* The kind of an expression, from its type; x is not evaluated. */
#define DEFT_KIND(x) _Generic((x),                                        \
	_Bool: DEFT_K_BOOL, char: DEFT_K_CHAR, signed char: DEFT_K_SCHAR,  \
	unsigned char: DEFT_K_UCHAR, short: DEFT_K_SHORT,                  \
	unsigned short: DEFT_K_USHORT, int: DEFT_K_INT,                    \
	unsigned: DEFT_K_UINT, long: DEFT_K_LONG, unsigned long: DEFT_K_ULONG, \
	long long: DEFT_K_LLONG, unsigned long long: DEFT_K_ULLONG,        \
	float: DEFT_K_FLOAT, double: DEFT_K_DOUBLE,                        \
	long double: DEFT_K_LDOUBLE, char *: DEFT_K_STR,                   \
	const char *: DEFT_K_STR, default: DEFT_K_PTR)

/* Capture x (evaluated once) with its kind. */
#define DEFT_VAL(x) _Generic((x),                                         \
	_Bool: deft_val_u, char: deft_val_i, signed char: deft_val_i,      \
	unsigned char: deft_val_u, short: deft_val_i,                      \
	unsigned short: deft_val_u, int: deft_val_i, unsigned: deft_val_u, \
	long: deft_val_i, unsigned long: deft_val_u, long long: deft_val_i,\
	unsigned long long: deft_val_u, float: deft_val_f1,                \
	double: deft_val_d1, long double: deft_val_ld1, char *: deft_val_s1,\
	const char *: deft_val_s1, default: deft_val_p1)(DEFT_KIND(x), x)
static inline struct deft_val deft_val_f1(enum deft_kind k, float x)
{ (void)k; return deft_val_f(x); }
static inline struct deft_val deft_val_d1(enum deft_kind k, double x)
{ (void)k; return deft_val_d(x); }
static inline struct deft_val deft_val_ld1(enum deft_kind k, long double x)
{ (void)k; return deft_val_ld(x); }
static inline struct deft_val deft_val_s1(enum deft_kind k, const char *x)
{ (void)k; return deft_val_s(x); }
static inline struct deft_val deft_val_p1(enum deft_kind k,
                                          const volatile void *x)
{ (void)k; return deft_val_p(x); }
#define DEFT_PTRVAL(x) deft_val_p(x)

#define DEFT_RETKIND_(call)                                                \
	__builtin_choose_expr(                                             \
		__builtin_types_compatible_p(__typeof__(call), void),      \
		DEFT_K_VOID, DEFT_KIND(DEFT_NONVOID_(call)))
/* A value of call's type that does not need call to be non-void. */
#define DEFT_NONVOID_(call)                                                \
	(*(__typeof__(__builtin_choose_expr(                               \
		__builtin_types_compatible_p(__typeof__(call), void), 0,   \
		call)) *)0)
#define DEFT_FNPTR_(f) ((void (*)(void))(f))
#define DEFT_ARGS_(...) ((const struct deft_val[]){__VA_ARGS__})

/* Argument counting and mapping, for up to 12 deferred arguments. */
#define DEFT_NARG_(...) DEFT_NARG_N_(__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6,  \
	5, 4, 3, 2, 1, 0, _)
#define DEFT_NARG_N_(_f, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11,    \
	_12, n, ...) n
#define DEFT_CAT_(a, b) DEFT_CAT2_(a, b)
#define DEFT_CAT2_(a, b) a##b
#define DEFT_FIRST_(f, ...) f
#define DEFT_MAP_(...) DEFT_CAT_(DEFT_MAP_, DEFT_NARG_(__VA_ARGS__))(__VA_ARGS__)
#define DEFT_MAP_0(f) DEFT_VAL(0)
#define DEFT_MAP_1(f, a) DEFT_VAL(a)
#define DEFT_MAP_2(f, a, ...) DEFT_VAL(a), DEFT_MAP_1(f, __VA_ARGS__)
#define DEFT_MAP_3(f, a, ...) DEFT_VAL(a), DEFT_MAP_2(f, __VA_ARGS__)
#define DEFT_MAP_4(f, a, ...) DEFT_VAL(a), DEFT_MAP_3(f, __VA_ARGS__)
#define DEFT_MAP_5(f, a, ...) DEFT_VAL(a), DEFT_MAP_4(f, __VA_ARGS__)
#define DEFT_MAP_6(f, a, ...) DEFT_VAL(a), DEFT_MAP_5(f, __VA_ARGS__)
#define DEFT_MAP_7(f, a, ...) DEFT_VAL(a), DEFT_MAP_6(f, __VA_ARGS__)
#define DEFT_MAP_8(f, a, ...) DEFT_VAL(a), DEFT_MAP_7(f, __VA_ARGS__)
#define DEFT_MAP_9(f, a, ...) DEFT_VAL(a), DEFT_MAP_8(f, __VA_ARGS__)
#define DEFT_MAP_10(f, a, ...) DEFT_VAL(a), DEFT_MAP_9(f, __VA_ARGS__)
#define DEFT_MAP_11(f, a, ...) DEFT_VAL(a), DEFT_MAP_10(f, __VA_ARGS__)
#define DEFT_MAP_12(f, a, ...) DEFT_VAL(a), DEFT_MAP_11(f, __VA_ARGS__)

/* The call expression f(args...) for type derivation only: never run. */
#define DEFT_CALL_(f, ...) f(__VA_ARGS__)

#define DEFT_DEFER_(t, check, text, ...)                                   \
	deft_defer(t, __FILE__, __LINE__, text, check,                     \
	           DEFT_FNPTR_(DEFT_FIRST_(__VA_ARGS__, _)),               \
	           DEFT_RETKIND_(DEFT_CALL_(__VA_ARGS__)),                 \
	           DEFT_NARG_(__VA_ARGS__), DEFT_ARGS_(DEFT_MAP_(__VA_ARGS__)))
#endif /* C */


/* The expression texts are taken by the outermost macros, before their
 * arguments are expanded: a report shows NULL, not ((void *)0). */
#define DEFT_CMP_(t, op, ea, eb, a, b, fatal)                              \
	deft_check_cmp(t, DEFT_HERE, op, ea, eb, DEFT_VAL(a), DEFT_VAL(b), fatal)
#define DEFT_PTR_(t, op, ea, eb, a, b, fatal)                              \
	deft_check_cmp(t, DEFT_HERE, op, ea, eb, DEFT_PTRVAL(a),           \
	               DEFT_PTRVAL(b), fatal)

#endif /* DEFT_H */
