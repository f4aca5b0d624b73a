/*
 * run_crash.c - the run's own process crashing while the run is under
 * way (run_exit.c has the other ways it ends).
 *
 * A test's process reports its own crash to the supervisor (child.c).
 * The runner's process runs code of the user's too: TEST_MAIN and the
 * main cleanups always, and every test with -isolation none.  A crash
 * there ended the run on the spot, with no report.  Handlers registered
 * as the run begins finish it instead.
 *
 * On a fatal signal the process raised on itself (SIGSEGV, SIGABRT...),
 * the test on the crashing thread and the tests around it fail as
 * crashed by it, the innermost with the signal, the fault, the
 * backtrace and the cleanups that did not run, the main cleanups
 * among them; the tests beside it fail too; the reports are finished;
 * then the signal has its way, as it had before (the default, or a
 * sanitizer's handler), so a core dump or a debugger still sees it.
 * No cleanup runs in a process that has crashed.  The crash may be
 * malloc's own (a double free, found with malloc's lock held): the
 * handler calls no malloc or free, directly or through stdio or the
 * symbolizer (alloc.c, report.c, symbolize.c).  It still uses what is
 * not async-signal-safe, since the process is dying anyway: should it
 * hang on a lock the crashed code or another thread holds (a report
 * stream blocked on a full pipe, say), an alarm ends it STUCK_S
 * seconds later, with a line on stderr.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "child.h"
#include "protocol.h"
#include "run_exit.h"
#include "sanitizers.h"
#include "text.h"
#include "../reporters/report.h"
#include "../reporters/report_file.h"

#include <execinfo.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STUCK_S 10
#define STUCK_TEXT "10s"

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,
                                    SIGABRT, SIGSYS, SIGTRAP};
enum { NFATAL = sizeof(fatal_signals) / sizeof(*fatal_signals) };
static struct sigaction fatal_before[NFATAL];
static bool fatal_caught;
static volatile sig_atomic_t crash_signo;

static void unblock(int sig)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

#ifdef DEFT_TSAN
/* The kernel's struct sigaction, behind libc's and ThreadSanitizer's. */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};
#define KERNEL_SA_RESTORER 0x04000000ul

/* ThreadSanitizer keeps a handler of its own in the kernel behind
 * sigaction(), and a fault taken again after a handler that reported
 * (ours) was seen to end the faulting thread alone, leaving the rest of
 * the process to hang until the run's -timeout.  Past it: the kernel's
 * default action, set and sent with the system calls themselves. */
static void die_by_default(int sig)
{
	struct kernel_sigaction dfl = {.handler = (void *)SIG_DFL};
	uint64_t unblock_mask = UINT64_C(1) << (sig - 1);
	syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
	syscall(SYS_tgkill, getpid(), gettid(), sig);
	syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &unblock_mask, NULL,
	        sizeof(unblock_mask));
	_exit(128 + sig);
}
#endif

/* Gives sig back the action it had before deft's, and has it act.  A
 * fault calls the handler from before, AddressSanitizer's say, as the
 * fault would, and otherwise dies of the default action: the instruction
 * is not run again, for what the reports did may have made it run (a
 * page mapped where it stored).  A signal raised or sent, or a trap, is
 * raised again.  Under ThreadSanitizer the process dies of the kernel's
 * default action instead. */
static void die_of(int sig, siginfo_t *si, void *uc)
{
#ifdef DEFT_TSAN
	(void)si;
	(void)uc;
	die_by_default(sig);
#endif
	struct sigaction before = {.sa_handler = SIG_DFL};
	for (size_t i = 0; i < NFATAL; i++)
		if (fatal_signals[i] == sig)
			before = fatal_before[i];
	/* sa_handler and sa_sigaction share their storage */
	bool handler = before.sa_handler != SIG_DFL &&
	               before.sa_handler != SIG_IGN;
	if (!handler)
		before = (struct sigaction){.sa_handler = SIG_DFL};
	sigaction(sig, &before, NULL);
	if (handler && si->si_code > 0 && sig != SIGTRAP) {
		if (before.sa_flags & SA_SIGINFO)
			before.sa_sigaction(sig, si, uc);
		else
			before.sa_handler(sig);
		/* Back from it: as by default. */
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		sigaction(sig, &dfl, NULL);
	}
	unblock(sig);
	raise(sig);
}

/* What on_stuck says, made before the reports are tried. */
static char stuck_msg[512];
static size_t stuck_len;

/* The reports did not finish in STUCK_S seconds after a crash: a lock
 * the crashed code held, malloc's say, keeps them. */
static void on_stuck(int sig)
{
	(void)sig;
	ssize_t n = syscall(SYS_write, STDERR_FILENO, stuck_msg, stuck_len);
	(void)n;
	deft_report_files_abandon();
#ifdef DEFT_TSAN
	die_by_default(crash_signo);
#endif
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigaction(crash_signo, &dfl, NULL);
	unblock(crash_signo);
	raise(crash_signo);
	_exit(128 + crash_signo);
}

static void arm_stuck_alarm(int sig, T *t)
{
	crash_signo = sig;
	const char *abbrev = sigabbrev_np(sig);
	struct text msg = text_in(stuck_msg, sizeof(stuck_msg));
	text_puts(&msg, "deft: the run's process crashed (SIG");
	text_puts(&msg, abbrev ? abbrev : "?");
	text_puts(&msg, t ? " in test " : " in no test");
	text_puts(&msg, t ? t->name : "");
	text_puts(&msg, "), and its reports could not be finished within "
	          STUCK_TEXT "\n");
	stuck_len = msg.len;
#ifdef DEFT_TSAN
	/* ThreadSanitizer holds back a signal it catches until the thread
	 * is in a call it knows to block, which a thread stuck on a lock
	 * never is: the handler is the kernel's to call.  It never returns,
	 * so any return trampoline does: the one deft's crash handlers got. */
	struct kernel_sigaction crash, stuck = {.handler = (void *)on_stuck};
	syscall(SYS_rt_sigaction, sig, NULL, &crash, sizeof(crash.mask));
	stuck.flags = crash.flags & KERNEL_SA_RESTORER;
	stuck.restorer = crash.restorer;
	uint64_t alarm_mask = UINT64_C(1) << (SIGALRM - 1);
	syscall(SYS_rt_sigaction, SIGALRM, &stuck, NULL, sizeof(stuck.mask));
	syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &alarm_mask, NULL,
	        sizeof(alarm_mask));
#else
	struct sigaction stuck = {.sa_handler = on_stuck};
	sigemptyset(&stuck.sa_mask);
	sigaction(SIGALRM, &stuck, NULL);
	unblock(SIGALRM);
#endif
	alarm(STUCK_S);
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
	/* A process a test forked dies as it would without deft; a signal
	 * sent from outside acts as its default does. */
	bool outside = si->si_code <= 0 && si->si_pid != getpid();
	if (getpid() != deft_run_pid || deft_forked || outside) {
		die_of(sig, si, uc);
		return;
	}
	if (!deft_run_take_ending()) {
		deft_run_exit_hold();
		die_of(sig, si, uc);
		return;
	}
	/* The crash may be malloc's, with its lock held or its heap
	 * broken (a double free): what follows does without it. */
	deft_avoid_malloc();
	T *t = deft_current();
	arm_stuck_alarm(sig, t);
	T *main = deft_main_cleanups_test(false);
	if (t && deft_in_main_cleanups(t))
		main = NULL;    /* listed with t's */
	uint64_t frames[DEFT_CRASH_FRAMES];
	char text[DEFT_CRASH_TEXT];
	struct deft_msg_crash cr;
	deft_crash_take(&cr, frames, text, t, main, sig, si, uc);
	struct deft_buf why = DEFT_BUF_INIT, detail = DEFT_BUF_INIT;
	deft_describe_crash(&why, &detail, &cr, frames, text, t != NULL);
	unsigned other = t ? 0 : deft_report_newest_open(NULL);
	if (t) {
		deft_emit(t, NULL, 0, "%s", why.data);
		struct deft_buf beside = DEFT_BUF_INIT;
		deft_buf_printf(&beside, "%s in another test", detail.data);
		deft_run_end_open(DEFT_CRASHED, t, detail.data, beside.data);
		deft_buf_free(&beside);
	} else if (other) {
		deft_log_on(other, why.data);
		deft_run_end_open(DEFT_CRASHED, NULL, NULL, detail.data);
	} else {
		/* Nothing is open to fail: the run's own test, whose
		 * cleanups will not run, fails, and with it the run. */
		T *m = deft_main_cleanups_test(true);
		clock_gettime(CLOCK_MONOTONIC, &m->started);
		deft_test_report_start(m);
		deft_emit(m, NULL, 0, "%s", why.data);
		deft_run_end_open(DEFT_CRASHED, m, detail.data, detail.data);
	}
	deft_buf_free(&why);
	deft_buf_free(&detail);
	deft_report_finish();
	alarm(0);
	deft_flush_after_crash();
	die_of(sig, si, uc);
}

void deft_run_crashes_catch(void)
{
	if (fatal_caught)
		return;
	/* The first thread's: one that runs tests without isolation, and
	 * TEST_MAIN and the main cleanups always. */
	deft_thread_altstack();
	/* backtrace() loads libgcc_s on its first call, which is not safe
	 * in a signal handler: load it here, once.  Test processes inherit
	 * it, instead of each loading and relocating it again (a third of a
	 * trivial test's cost). */
	void *warm[1];
	backtrace(warm, 1);
	/* What the reports allocate after a crash (alloc.c). */
	deft_own_heap_reserve();
	/* gmtime_r reads the time zone on its first call, with malloc:
	 * JUnit's timestamps are formatted as the run ends. */
	struct tm tm;
	time_t epoch = 0;
	gmtime_r(&epoch, &tm);
	struct sigaction sa = {.sa_sigaction = on_crash,
	                       .sa_flags = SA_SIGINFO | SA_ONSTACK};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &sa, &fatal_before[i]);
	fatal_caught = true;
}

void deft_run_crashes_uncatch(void)
{
	if (!fatal_caught)
		return;
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &fatal_before[i], NULL);
	fatal_caught = false;
}
