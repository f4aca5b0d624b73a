/*
 * run_exit.c - the run's own process ending while the run is under way:
 * exit(), pthread_exit, and without isolation the hard stops (a crash is
 * run_crash.c's, with which this shares the ending of the run).
 *
 * A test's process reports its own exit() and crashes to the supervisor
 * (child.c).  The runner's process runs code of the user's too: TEST_MAIN
 * and the main cleanups always, and every test with -isolation none.
 * exit() or a crash there ended the run on the spot: no test ended, no
 * summary, no JUnit file, and after exit(0) a passing status.  Handlers
 * registered as the run begins finish it instead:
 *
 *  - exit() while a test runs here (a test, a subtest, a cleanup, a main
 *    cleanup): the test and the tests around it fail, each as crashed
 *    with "exit(N)", the innermost saying which of its cleanups did not
 *    run; the main cleanups run unless they were what called exit(); the
 *    reports are finished; the status is 1, as for any failed run.
 *  - exit() from TEST_MAIN with no test running, exit(t_run_tests(m))
 *    as Go's os.Exit(m.Run()), or a setup that gives up: the main
 *    cleanups run, the reports are finished, and the status is the one
 *    given to exit(), or 1 if it was 0 and a main cleanup failed or a
 *    report could not be written.
 *  - pthread_exit on the thread running a test here: nothing would end
 *    the test, and the run would wait for it until -timeout.  A
 *    thread-specific destructor on the threads that run tests sees the
 *    thread end with a test on it: the test and the tests around it fail
 *    as crashed by "pthread_exit", and the run ends as for exit().
 *
 * Without isolation, a run whose tests do not stop when told to is ended
 * by deft_run_end_now, -grace after the run's -timeout or after a SIGINT
 * or SIGTERM, or at a second one: the tests still open fail as timed out
 * or interrupted and the reports are finished, but no main cleanup runs,
 * as a test still runs beside it.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "run_exit.h"
#include "../reporters/report.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

pid_t deft_run_pid;
static bool under_way;
/* The thread that is ending the run, once one is. */
static pid_t ending_tid;

bool deft_run_take_ending(void)
{
	if (!__atomic_exchange_n(&under_way, false, __ATOMIC_ACQ_REL))
		return false;
	__atomic_store_n(&ending_tid, gettid(), __ATOMIC_RELEASE);
	return true;
}

bool deft_in_main_cleanups(T *t)
{
	while (t->parent)
		t = t->parent;
	return t->is_main_cleanup;
}

void deft_run_end_open(enum deft_ending ending, T *t, const char *detail,
                       const char *beside)
{
	double elapsed = 0;
	for (unsigned id; (id = deft_report_newest_open(&elapsed)) != 0;) {
		T *p = t;
		while (p && p->id != id)
			p = p->parent;
		if (p)
			elapsed = p->elapsed_before +
			          deft_seconds_since(&p->started);
		deft_report_end(id, &(struct deft_test_end){
			DEFT_FAIL, ending, p ? detail : beside, elapsed,
			false});
	}
}

/* Logs "deft: what" on t, with the cleanups that will not run, and ends
 * every open test as crashed: t and its parents with detail, the others
 * with beside. */
static void end_open_on(T *t, const char *what, const char *detail,
                        const char *beside)
{
	struct deft_buf why = DEFT_BUF_INIT;
	deft_buf_printf(&why, "deft: %s", what);
	deft_pending_cleanups(&why, t);
	deft_emit(t, NULL, 0, "%s", why.data);
	deft_buf_free(&why);
	deft_run_end_open(DEFT_CRASHED, t, detail, beside);
}

void deft_run_exit_hold(void)
{
	pid_t by = __atomic_load_n(&ending_tid, __ATOMIC_ACQUIRE);
	if (by != 0 && by != gettid() && getpid() == deft_run_pid)
		for (;;)
			pause();
}

static void on_exit_in_run(int status, void *arg)
{
	(void)arg;
	if (getpid() != deft_run_pid)
		return;
	if (!deft_run_take_ending()) {
		deft_run_exit_hold();
		return;
	}
	T *t = deft_current();
	unsigned other = t ? 0 : deft_report_newest_open(NULL);
	bool cleaned = true;
	char detail[32];
	snprintf(detail, sizeof(detail), "exit(%d)", status);
	if (t) {
		char what[64];
		snprintf(what, sizeof(what), "test called exit(%d)", status);
		end_open_on(t, what, detail, "exit() in another test");
	} else if (other) {
		char why[64];
		snprintf(why, sizeof(why), "deft: exit(%d) was called by a "
		         "thread that runs no test", status);
		deft_log_on(other, why);
		deft_run_end_open(DEFT_CRASHED, NULL, NULL, detail);
	}
	if (t == NULL || !deft_in_main_cleanups(t))
		cleaned = deft_main_cleanups_run();
	bool written = deft_report_finish();
	if (t || other) {
		fflush(NULL);
		_exit(1);
	}
	/* No test runs: deft's threads are idle, and end as at t_main's. */
	deft_threads_end();
	deft_premature_exit_mark(false);
	if (status == 0 && (!cleaned || !written)) {
		fflush(NULL);
		_exit(1);
	}
}

/* ---- pthread_exit ---- */

static pthread_key_t test_thread_key;
static bool test_thread_key_made;

static void on_test_thread_exit(void *arg)
{
	(void)arg;
	T *t = deft_current();
	if (t == NULL || !pthread_equal(t->thread, pthread_self()) ||
	    getpid() != deft_run_pid)
		return;
	if (!deft_run_take_ending()) {
		deft_run_exit_hold();
		return;
	}
	end_open_on(t, "the test's thread called pthread_exit; without "
	            "isolation the run ends here", "pthread_exit",
	            "pthread_exit in another test");
	if (!deft_in_main_cleanups(t))
		deft_main_cleanups_run();
	deft_report_finish();
	fflush(NULL);
	_exit(1);
}

void deft_run_exit_thread(void)
{
	if (test_thread_key_made)
		pthread_setspecific(test_thread_key, &test_thread_key);
}

void deft_run_exit_watch(void)
{
	static bool registered;
	deft_run_pid = getpid();
	__atomic_store_n(&ending_tid, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&under_way, true, __ATOMIC_RELEASE);
	if (!registered)
		registered = on_exit(on_exit_in_run, NULL) == 0;
	if (!test_thread_key_made)
		test_thread_key_made = pthread_key_create(
		        &test_thread_key, on_test_thread_exit) == 0;
	deft_run_exit_thread();
	deft_run_crashes_catch();
}

void deft_run_exit_unwatch(void)
{
	__atomic_store_n(&under_way, false, __ATOMIC_RELEASE);
	deft_run_crashes_uncatch();
}

void deft_run_end_now(const char *why, bool interrupted, int status)
{
	if (deft_run_take_ending()) {
		unsigned id = deft_report_newest_open(NULL);
		if (id) {
			deft_log_on(id, why);
			deft_run_end_open(interrupted ? DEFT_INTERRUPTED
			                              : DEFT_TIMED_OUT,
			                  NULL, NULL,
			                  interrupted ? NULL
			                              : DEFT_RUN_TIMEOUT_DETAIL);
		} else {
			char note[256];
			snprintf(note, sizeof(note), "%s\n", why);
			deft_report_note(note);
		}
		deft_report_finish();
	}
	_exit(status);
}
