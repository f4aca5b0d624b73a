/*
 * run_deadline.c - what cancels the run's context: SIGINT and SIGTERM,
 * and the run's deadline (-timeout, or in a test's own process the test's
 * timeout); and Go's durations, which the flags that set them take.
 *
 * The signal handler only writes a byte to a pipe; a thread of deft's
 * ("deft-cancel") does the rest, and also waits for the deadline.  In a
 * test's own process that thread starts with the first context the test
 * makes, so a test that makes none pays nothing for it.  Without
 * isolation, a test deaf to the cancellation has -grace to stop before
 * the run ends at once with its reports (deft_run_end_now).
 */
#define _GNU_SOURCE
#include "internal.h"
#include "supervisor.h"
#include "text.h"
#include "../reporters/report.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool canceller_lazy;             /* starts with the first context */
static bool in_child;                   /* a test's own process */
static char deadline_what[64] = "-timeout"; /* for the cause */
static bool timed_out;                  /* the run's deadline passed */
static volatile sig_atomic_t early_signo; /* came before the canceller */

static int wake_pipe[2] = {-1, -1};
static pthread_t canceller;             /* while wake_pipe is open */
static bool interrupted;                /* by SIGINT or SIGTERM */
static int interrupted_by;              /* which */

bool deft_run_interrupted(void)
{
	return __atomic_load_n(&interrupted, __ATOMIC_ACQUIRE);
}

int deft_run_interrupted_by(void)
{
	return __atomic_load_n(&interrupted_by, __ATOMIC_ACQUIRE);
}

static struct timespec run_deadline;    /* CLOCK_MONOTONIC */
static double run_timeout;              /* 0: no deadline */
/* Without isolation: -grace after the deadline, or after the first
 * SIGINT or SIGTERM, the run ends at once. */
static struct timespec hard_deadline;
static double grace;

void deft_ctx_interrupt(int signo)
{
	if (wake_pipe[1] < 0)
		early_signo = signo;
	int saved = errno;
	unsigned char b = (unsigned char)signo;
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], &b, 1) < 0) {
		/* Nothing to do in a signal handler. */
	}
	errno = saved;
}

static void on_signal(int signo)
{
	/* The second ends the run, reports and all, through the canceller;
	 * a third, should that hang, as the signal would by default. */
	static volatile sig_atomic_t seen;
	if (++seen >= 2)
		signal(signo, SIG_DFL);
	deft_ctx_interrupt(signo);
}

static int ms_until(const struct timespec *when)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(when->tv_sec - now.tv_sec) * 1e3 +
	            (double)(when->tv_nsec - now.tv_nsec) / 1e6;
	return ms <= 0 ? 0 : ms > 1e9 ? 1000000000 : (int)ms + 1;
}

static struct timespec seconds_after(struct timespec when, double seconds)
{
	when.tv_sec += (time_t)seconds;
	when.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (when.tv_nsec >= 1000000000) {
		when.tv_sec++;
		when.tv_nsec -= 1000000000;
	}
	return when;
}

/* Tests still run -grace after the run's deadline, without isolation. */
static DEFT_NORETURN void time_up(void)
{
	char why[256], timeout[32], within[32];
	deft_format_duration(timeout, sizeof(timeout),
	                     (long)(run_timeout * 1000 + 0.5));
	deft_format_duration(within, sizeof(within), (long)(grace * 1000 + 0.5));
	snprintf(why, sizeof(why), "deft: the run timed out after %s "
	         "(-timeout), and the test did not stop within the %s grace "
	         "period: the run ends here", timeout, within);
	deft_run_end_now(why, false, 2);
}

/* Tests still run -grace after the run was interrupted by signo. */
static DEFT_NORETURN void grace_over(int signo)
{
	char why[256], within[32];
	deft_format_duration(within, sizeof(within), (long)(grace * 1000 + 0.5));
	snprintf(why, sizeof(why), "deft: interrupted by %s, and the test did "
	         "not stop within the %s grace period: the run ends here",
	         signo == SIGINT ? "SIGINT" : "SIGTERM", within);
	deft_run_end_now(why, true, 128 + signo);
}

/* The poll timeout until the sooner of a and b, each -1 for none. */
static int sooner(int a, int b)
{
	return a < 0 ? b : b < 0 || a < b ? a : b;
}

static void *canceller_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "deft-cancel");
	struct pollfd p = {wake_pipe[0], POLLIN, 0};
	bool fired = run_timeout <= 0;
	bool hard = !fired && !in_child;
	int hard_signo = 0;     /* the hard deadline follows this signal */
	for (;;) {
		int timeout = sooner(!fired ? ms_until(&run_deadline) : -1,
		                     hard ? ms_until(&hard_deadline) : -1);
		int n = poll(&p, 1, timeout);
		char cause[96];
		if (n == 0 && hard && ms_until(&hard_deadline) == 0) {
			if (hard_signo)
				grace_over(hard_signo);
			time_up();
		} else if (n == 0 && fired) {
			continue;
		} else if (n == 0) {
			if (in_child)
				snprintf(cause, sizeof(cause), "context "
				         "deadline exceeded: %s", deadline_what);
			else
				snprintf(cause, sizeof(cause), "context "
				         "deadline exceeded: -timeout %gs",
				         run_timeout);
			__atomic_store_n(&timed_out, !in_child,
			                 __ATOMIC_RELEASE);
			fired = true;
		} else if (n > 0) {
			unsigned char signo;
			if (read(wake_pipe[0], &signo, 1) != 1)
				continue;
			if (signo == 0)
				return NULL;    /* deft_run_canceller_end */
			snprintf(cause, sizeof(cause), "interrupted: %s",
			         signo == SIGINT ? "SIGINT" :
			         signo == SIGTERM ? "SIGTERM" : "signal");
			bool again = __atomic_exchange_n(&interrupted, true,
			                                 __ATOMIC_ACQ_REL);
			if (again && !in_child) {
				char why[96];
				snprintf(why, sizeof(why), "deft: interrupted "
				         "again by %s: the run ends here",
				         signo == SIGINT ? "SIGINT" : "SIGTERM");
				deft_run_end_now(why, true, 128 + signo);
			}
			__atomic_store_n(&interrupted_by, signo,
			                 __ATOMIC_RELEASE);
			if (!again && !in_child) {
				char note[128];
				snprintf(note, sizeof(note), "deft: %s: no "
				         "further tests start\n", cause);
				deft_report_note(note);
				/* A test deaf to the cancellation has -grace
				 * to stop, as it would in its own process. */
				struct timespec now;
				clock_gettime(CLOCK_MONOTONIC, &now);
				struct timespec end = seconds_after(now, grace);
				if (!hard || ms_until(&end) <
				             ms_until(&hard_deadline)) {
					hard_deadline = end;
					hard_signo = signo;
					hard = true;
				}
			}
		} else {
			continue;
		}
		deft_ctx_cancel_run(cause);
	}
	return NULL;
}


static void start_canceller(void)
{
	if (wake_pipe[0] >= 0)
		return;
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return;
	deft_leak_ignore_own_fd(wake_pipe[0]);
	deft_leak_ignore_own_fd(wake_pipe[1]);
	if (early_signo)
		deft_ctx_interrupt(early_signo);
	if (deft_thread_start(canceller_main, NULL, &canceller) != 0) {
		close(wake_pipe[0]);
		close(wake_pipe[1]);
		wake_pipe[0] = wake_pipe[1] = -1;
	}
}

void deft_ctx_install_signals(void)
{
	start_canceller();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void set_deadline(double seconds)
{
	run_timeout = seconds;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	run_deadline = seconds_after(now, seconds);
}

/* Call before deft_ctx_install_signals: the thread reads it at start. */
void deft_ctx_set_timeout(double seconds, double grace_s)
{
	grace = grace_s;
	if (seconds <= 0 || wake_pipe[0] >= 0)
		return;
	set_deadline(seconds);
	hard_deadline = seconds_after(run_deadline, grace_s);
	start_canceller();
}

bool deft_run_timed_out(void)
{
	return __atomic_load_n(&timed_out, __ATOMIC_ACQUIRE);
}

void deft_ctx_set_child_deadline(double seconds, const char *what)
{
	/* Not with printf: its code, first used here, would cost each test
	 * process a handful of page faults. */
	struct text t = text_in(deadline_what, sizeof(deadline_what));
	text_puts(&t, what);
	text_end(&t);
	if (seconds > 0)
		set_deadline(seconds);
	canceller_lazy = true;
	in_child = true;
}

bool t_deadline(T *t, struct timespec *when)
{
	(void)t;
	if (run_timeout <= 0)
		return false;
	if (when)
		*when = run_deadline;
	return true;
}

bool deft_parse_duration(const char *s, double *seconds)
{
	static const struct { const char *unit; double scale; } units[] = {
		{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3},
		{"s", 1}, {"m", 60}, {"h", 3600},
	};
	if (strcmp(s, "0") == 0) {
		*seconds = 0;
		return true;
	}
	double total = 0;
	if (*s == '\0')
		return false;
	while (*s) {
		/* Go's numbers: digits with a fraction, not strtod's signs,
		 * exponents, hexadecimal, "inf" or "nan". */
		size_t n = strspn(s, "0123456789");
		if (s[n] == '.')
			n += 1 + strspn(s + n + 1, "0123456789");
		char num[32];
		if (n == 0 || (n == 1 && *s == '.') || n >= sizeof(num))
			return false;
		memcpy(num, s, n);
		num[n] = '\0';
		double v = strtod(num, NULL);
		s += n;
		size_t best = 0;
		double scale = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
			size_t len = strlen(units[i].unit);
			if (len > best && strncmp(s, units[i].unit, len) == 0) {
				best = len;
				scale = units[i].scale;
			}
		}
		if (best == 0)
			return false;
		s += best;
		total += v * scale;
	}
	*seconds = total;
	return true;
}

/* As "%ldms" and %g's seconds ("1.5s", "2s", "1m30s") print it, without
 * printf: the runner formats durations at every test's end, and printf
 * reaches deep into the stack (its floating point deeper still), pages
 * the runner would write again after each fork. */
void deft_format_duration(char *buf, size_t size, long ms)
{
	if (size == 0)
		return;
	struct text t = text_in(buf, size);
	if (ms < 1000) {
		text_int(&t, ms);
		text_puts(&t, "ms");
	} else {
		if (ms >= 60000) {
			text_int(&t, ms / 60000);
			text_puts(&t, "m");
			ms %= 60000;
		}
		text_int(&t, ms / 1000);
		long frac = ms % 1000;
		char f[4] = {'.', (char)('0' + frac / 100),
		             (char)('0' + frac / 10 % 10), (char)('0' + frac % 10)};
		size_t n = sizeof(f);
		while (n > 1 && f[n - 1] == '0')
			n--;
		text_add(&t, f, n > 1 ? n : 0);
		text_puts(&t, "s");
	}
	text_end(&t);
}

void deft_run_canceller_wanted(void)
{
	if (canceller_lazy) {
		canceller_lazy = false;
		start_canceller();
	}
}

void deft_run_canceller_end(struct timespec *by)
{
	if (wake_pipe[0] < 0)
		return;
	unsigned char end = 0;
	if (write(wake_pipe[1], &end, 1) != 1)
		return;
	deft_thread_join_by(canceller, by);
	/* Forgotten before closed: a signal's handler writes to it. */
	int fds[2] = {wake_pipe[0], wake_pipe[1]};
	wake_pipe[0] = wake_pipe[1] = -1;
	close(fds[0]);
	close(fds[1]);
}

void deft_run_canceller_after_fork(void)
{
	if (wake_pipe[0] < 0)
		return;
	/* The pipe is shared with the parent, whose canceller reads it:
	 * the child needs its own pipe and thread. */
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
	start_canceller();
}
