/*
 * run_exit.c - the run's own process ending while the run is under way:
 * exit(), and without isolation the hard stops.
 *
 * A test's process reports its own exit() to the supervisor (child.c).
 * The runner's process runs code of the user's too: TEST_MAIN and the
 * main cleanups always, and every test with -isolation none.  exit() there
 * ended the run on the spot: no test ended, no summary, no JUnit file, and
 * exit(0) a passing status.  A handler registered as the run begins
 * finishes it instead:
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
 *
 * Without isolation, a run whose tests do not stop when told to is ended
 * by deft_run_end_now, -grace after the run's -timeout or at a second
 * SIGINT or SIGTERM: the tests still open fail as timed out or
 * interrupted and the reports are finished, but no main cleanup runs, as
 * a test still runs beside it.
 */
#include "internal.h"
#include "../reporters/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pid_t runner;
static bool under_way;

/* The root of the tests open around t is the main cleanups' test. */
static bool in_main_cleanups(T *t)
{
	while (t->parent)
		t = t->parent;
	return t->is_main_cleanup;
}

/* t and each test around it end, failed, as ended by exit(code). */
static void end_tests(T *t, int code)
{
	char detail[32];
	snprintf(detail, sizeof(detail), "exit(%d)", code);
	struct deft_buf why = DEFT_BUF_INIT;
	deft_buf_printf(&why, "deft: test called exit(%d)", code);
	deft_pending_cleanups(&why, t);
	deft_emit(t, NULL, 0, "%s", why.data);
	deft_buf_free(&why);
	for (T *p = t; p; p = p->parent) {
		struct deft_test_end end = {
			DEFT_FAIL, DEFT_CRASHED, detail,
			p->elapsed_before + deft_seconds_since(&p->started),
			false};
		deft_report_end(p->id, &end);
	}
}

/* The newest open test logs why (one line), and every open test ends. */
static void end_open_tests(unsigned newest, const char *why,
                           enum deft_ending ending, const char *detail)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "    %s\n", why);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	deft_report_output(newest, DEFT_STREAM_LOG, line, (size_t)n);
	deft_report_end_open(ending, detail);
}

static void on_exit_in_run(int status, void *arg)
{
	(void)arg;
	if (getpid() != runner ||
	    !__atomic_exchange_n(&under_way, false, __ATOMIC_ACQ_REL))
		return;
	T *t = deft_current();
	unsigned other = t ? 0 : deft_report_newest_open();
	bool cleaned = true;
	if (t) {
		end_tests(t, status);
		deft_report_end_open(DEFT_CRASHED, "exit() in another test");
	} else if (other) {
		char why[64], detail[32];
		snprintf(why, sizeof(why), "deft: exit(%d) was called by a "
		         "thread that runs no test", status);
		snprintf(detail, sizeof(detail), "exit(%d)", status);
		end_open_tests(other, why, DEFT_CRASHED, detail);
	}
	if (t == NULL || !in_main_cleanups(t))
		cleaned = deft_main_cleanups_run();
	bool written = deft_report_finish();
	if (t || other) {
		fflush(NULL);
		_exit(1);
	}
	deft_premature_exit_mark(false);
	if (status == 0 && (!cleaned || !written)) {
		fflush(NULL);
		_exit(1);
	}
}

void deft_run_exit_watch(void)
{
	static bool registered;
	runner = getpid();
	__atomic_store_n(&under_way, true, __ATOMIC_RELEASE);
	if (!registered)
		registered = on_exit(on_exit_in_run, NULL) == 0;
}

void deft_run_exit_unwatch(void)
{
	__atomic_store_n(&under_way, false, __ATOMIC_RELEASE);
}

void deft_run_end_now(const char *why, bool interrupted, int status)
{
	if (__atomic_exchange_n(&under_way, false, __ATOMIC_ACQ_REL)) {
		unsigned id = deft_report_newest_open();
		if (id) {
			end_open_tests(id, why, interrupted ? DEFT_INTERRUPTED
			               : DEFT_TIMED_OUT, interrupted ?
			               "interrupted" : "timed out");
		} else {
			char note[256];
			snprintf(note, sizeof(note), "%s\n", why);
			deft_report_note(note);
		}
		deft_report_finish();
	}
	_exit(status);
}
