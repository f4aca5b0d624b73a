/*
 * supervisor_signals.c - the runner's signals while its tests run.
 *
 * The supervisor reads every signal that would end or stop the runner
 * from descriptors in its poll loop, and decides there what each one
 * means (supervisor.c): a test's fault, an interrupt, a stop.  This file
 * sets that up and takes it down: which signals, blocked onto a signalfd
 * or, for the faults the runner could raise itself, passed on by a
 * handler; SIGPIPE ignored.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "supervised.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* The signals whose default would end or stop the runner and that it
 * never raises on itself by a fault, caught on its signalfd: one from
 * outside is an interrupt (a stop is a stop), one that a test's process
 * sends to its parent is that test's fault.  SIGPIPE is the runner's own
 * when its stdout or stderr is a pipe whose reader has gone: the run is
 * interrupted, and its reports are still written.  The real-time signals
 * are added to these by caught_mask(). */
static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
                             SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO,
                             SIGPWR, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE,
                             SIGXCPU, SIGXFSZ, SIGSTKFLT, SIGTRAP, SIGSYS,
                             SIGABRT};

/* Signals that a fault of the runner's own raises, and that it must not
 * block: a blocked one would kill it without the handler a sanitizer
 * keeps for its report.  A handler passes one sent with kill() or
 * sigqueue() by another process to the loop, through a pipe, as the
 * signalfd would; any other goes to the action it had. */
static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
static struct sigaction faults_before[sizeof(faults) / sizeof(*faults)];
static int fault_pipe[2] = {-1, -1};

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (si->si_code <= 0 && si->si_pid != getpid()) {
		struct signalfd_siginfo fwd = {
			.ssi_signo = (uint32_t)sig,
			.ssi_code = si->si_code,
			.ssi_pid = (uint32_t)si->si_pid,
		};
		int saved = errno;
		ssize_t n = write(fault_pipe[1], &fwd, sizeof(fwd));
		(void)n;
		errno = saved;
		return;
	}
	for (size_t i = 0; i < sizeof(faults) / sizeof(*faults); i++)
		if (faults[i] == sig)
			sigaction(sig, &faults_before[i], NULL);
	/* A fault happens again as the instruction runs again; a signal
	 * the runner sent itself is sent again. */
	if (si->si_code <= 0)
		raise(sig);
}

static void catch_faults(void)
{
	if (pipe2(fault_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		fault_pipe[0] = fault_pipe[1] = -1;
		return;
	}
	struct sigaction sa = {.sa_sigaction = on_fault,
	                       .sa_flags = SA_SIGINFO | SA_RESTART};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(faults) / sizeof(*faults); i++)
		sigaction(faults[i], &sa, &faults_before[i]);
}

static void uncatch_faults(void)
{
	if (fault_pipe[0] < 0)
		return;
	for (size_t i = 0; i < sizeof(faults) / sizeof(*faults); i++)
		sigaction(faults[i], &faults_before[i], NULL);
	close(fault_pipe[0]);
	close(fault_pipe[1]);
	fault_pipe[0] = fault_pipe[1] = -1;
}

static void caught_mask(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGCHLD);
	for (size_t i = 0; i < sizeof(caught) / sizeof(*caught); i++)
		sigaddset(mask, caught[i]);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaddset(mask, sig);
}

void deft_sup_signals_catch(struct deft_sup_signals *s)
{
	/* Ignored from here on, and blocked while tests run, so that the
	 * reports that follow are still written. */
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	caught_mask(&mask);
	sigprocmask(SIG_BLOCK, &mask, &s->old_mask);
	s->fds[0] = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	catch_faults();
	s->fds[1] = fault_pipe[0];
}

void deft_sup_signals_release(struct deft_sup_signals *s)
{
	if (s->fds[0] >= 0)
		close(s->fds[0]);
	uncatch_faults();
	sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
	s->fds[0] = s->fds[1] = -1;
}
