/*
 * supervisor.c - runs each top-level test in a forked process of its own.
 *
 * The supervisor is single-threaded and owns the reporters: one poll()
 * loop reads every child's message socket, stdout and stderr pipes, and a
 * signalfd for SIGCHLD and the signals that would end the runner (set
 * up by supervisor_signals.c), and keeps the deadlines.  A child that
 * crashes, hangs, calls exit() or is killed ends as one failed test,
 * reported on the innermost test it was running, and the run goes on.
 *
 * This file starts, stops and waits for the test processes (leftovers.c
 * kills what they leave running); child_output.c reads what each says
 * and writes, and child_events.c turns it into reports (with -jobs 1 as
 * it comes, with more once the process is done, so that the console
 * shows one test at a time).  The supervisor only reads from children, without
 * blocking, so none of them can stall it.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "protocol.h"
#include "child.h"
#include "leak_snapshot.h"
#include "supervised.h"
#include "../reporters/report.h"

#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
	DRAIN_MS = 2000,                /* reading on after a child exited */
	STACKS_MS = 300,                /* waiting for threads' backtraces */
};

static struct child *children;
static size_t started;
const struct deft_supervisor_options *deft_sup_opts;
static struct rlimit fd_limit;          /* the one tests get */
/* What a test reads from stdin, as under `go test`: the runner's stdin, a
 * terminal or a CI runner's pipe, is no test's input, and a test waiting
 * on it would wait for its deadline.  -1: it keeps the runner's. */
static int dev_null = -1;

static void set_nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* ---- the end of a child ---- */

/* Whether c is the only test process and always was: then what the
 * runner adopted since the last one ended is c's. */
static bool alone(const struct child *c)
{
	return !c->beside_another && children == c && c->next == NULL;
}

/* Kills what c left running in its process group, and what it left
 * outside when no other test process could have; names them. */
static void kill_leftovers(struct child *c)
{
	if (alone(c))
		deft_sup_kill_adopted(&c->leftovers, c->pid);
	deft_sup_kill_group(c);
}

/* c has ended and gone from the list: what the runner adopted and that is
 * still running is c's if c ran alone, and otherwise can be blamed on no
 * one test once none runs: it is killed then, and the run says so.  Again
 * after kill_leftovers: a process whose parent that killed is adopted
 * only once the parent is gone. */
static void kill_adopted_after(struct child *c)
{
	if (children != NULL)
		return;
	if (!c->beside_another) {
		deft_sup_kill_adopted(&c->leftovers, c->pid);
		return;
	}
	deft_sup_kill_unblamed(c->pid);
}

static void on_exited(struct child *c, int status, const struct rusage *ru)
{
	c->exited = true;
	c->exited_at = deft_now_ns();
	c->status = status;
	c->cpu_s = (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
	           (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
	kill_leftovers(c);
	c->drain_until = c->exited_at + (int64_t)DRAIN_MS * 1000000;
}

/* ---- starting a child ---- */

/* The other test processes' descriptors, which a new one closes: listed
 * before the fork in memory the new one gets (malloc's, and kept), since
 * their records are in the runner's own heap, which it does not get
 * (alloc.c).  The number listed. */
static int *others;
static size_t cap_others;

static size_t list_others(void)
{
	size_t n = 0;
	for (struct child *o = children; o; o = o->next) {
		if (n + 3 > cap_others) {
			cap_others = cap_others ? 2 * cap_others : 48;
			others = realloc(others, cap_others * sizeof(*others));
			if (others == NULL)
				abort();
		}
		others[n++] = o->chan;
		others[n++] = o->out;
		others[n++] = o->err;
	}
	return n;
}

static void close_others(size_t n, const int keep[3])
{
	for (size_t i = 0; i < n; i++)
		if (others[i] >= 0 && others[i] != keep[0] &&
		    others[i] != keep[1] && others[i] != keep[2])
			close(others[i]);
}

/* Reports the test of c, which has no process, as failed for why; frees
 * c. */
static void report_unstarted(struct child *c, const char *why,
                             enum deft_ending ending, const char *detail)
{
	c->exited = c->done = true;
	c->live = true;
	deft_sup_unstarted(c, why);
	struct open_test top = c->open[0];
	deft_sup_end_synthesised(top.id, &top, ending, detail, false, NULL);
	deft_sup_free(c);
}

/* Failed top-level tests waiting to run again (-retries), oldest first. */
struct pending_retry {
	const struct deft_test_def *def;
	unsigned retry;
	struct pending_retry *next;
};

static struct pending_retry *retries, **retries_tail = &retries;

static void retry_later(const struct deft_test_def *def, unsigned retry)
{
	struct pending_retry *r = deft_xcalloc(1, sizeof(*r));
	r->def = def;
	r->retry = retry;
	*retries_tail = r;
	retries_tail = &r->next;
}

static struct pending_retry *retry_take(void)
{
	struct pending_retry *r = retries;
	retries = r->next;
	if (retries == NULL)
		retries_tail = &retries;
	return r;
}

/* The CPUs the supervisor may run on, while it is pinned to one. */
static cpu_set_t run_cpus;

/* Pins the supervisor to the CPU it is on, for the fork of a test process
 * that will run alone: the child starts there too, beside a supervisor
 * that only waits for it, instead of on an idle CPU that has to be woken
 * and whose every message then wakes the supervisor's CPU in turn.  In a
 * VM such wake-ups are slow (bench/wake_floor.c; pinning saves a fifth of
 * a trivial test process on 2 CPUs).  The two then take back run_cpus,
 * the child before the test runs, so that the test's threads spread as
 * they would.
 * RETURNS: whether it pinned. */
static bool pin_here(void)
{
	int cpu = sched_getcpu();
	if (cpu < 0 || cpu >= CPU_SETSIZE ||
	    sched_getaffinity(0, sizeof(run_cpus), &run_cpus) != 0)
		return false;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one) == 0;
}

static struct child *spawn(const struct deft_test_def *def, unsigned retry,
                           int sigfd, int64_t run_deadline)
{
	struct child *c = deft_xcalloc(1, sizeof(*c));
	c->def = def;
	c->retry = retry;
	c->order = started++;
	c->chan = c->out = c->err = -1;
	c->live = deft_sup_opts->jobs <= 1;
	c->timeout_ms = def->timeout_ms > 0 ? deft_scaled_ms(def->timeout_ms)
	                                    : deft_sup_opts->test_timeout_ms;
	int sv[2], out[2], err[2];
	bool ok = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0;
	if (ok && pipe2(out, O_CLOEXEC) != 0) {
		close(sv[0]);
		close(sv[1]);
		ok = false;
	}
	if (ok && pipe2(err, O_CLOEXEC) != 0) {
		close(sv[0]);
		close(sv[1]);
		close(out[0]);
		close(out[1]);
		ok = false;
	}
	/* The test's own deadline: its timeout, or the run's if sooner. */
	int64_t now = deft_now_ns();
	int64_t deadline = c->timeout_ms ? now + (int64_t)c->timeout_ms * 1000000
	                                 : 0;
	char what[64], d[32];
	deft_format_duration(d, sizeof(d), c->timeout_ms);
	snprintf(what, sizeof(what), "the test's timeout of %s", d);
	if (run_deadline && (deadline == 0 || run_deadline < deadline)) {
		deadline = run_deadline;
		deft_format_duration(d, sizeof(d), deft_sup_opts->run_timeout_ms);
		snprintf(what, sizeof(what), "-timeout %s", d);
	}
	double deadline_s = deadline ? (double)(deadline - now) / 1e9 : 0;
	if (deadline && deadline_s <= 0)
		deadline_s = 1e-9;
	bool pinned = false;
	/* The child reads nothing of *c, which is in the runner's own heap
	 * (alloc.c): a test's process does not get that. */
	pid_t pid = 0;
	struct deft_out_counter *counter = NULL;
	size_t nothers = 0;
	if (ok) {
		c->counter = counter = deft_sup_counter_take();
		nothers = list_others();
		fflush(NULL);
		pinned = children == NULL && pin_here();
		pid = fork();
		if (pinned && pid != 0)
			sched_setaffinity(0, sizeof(run_cpus), &run_cpus);
	}
	if (!ok || pid < 0) {
		int e = errno;
		if (ok) {
			close(sv[0]); close(sv[1]); close(out[0]);
			close(out[1]); close(err[0]); close(err[1]);
		}
		struct deft_buf b = DEFT_BUF_INIT;
		deft_buf_printf(&b, "deft: cannot start the test's process: %s",
		                strerror(e));
		report_unstarted(c, b.data, DEFT_CRASHED, "cannot fork");
		deft_buf_free(&b);
		return NULL;
	}
	if (pid == 0) {
		int keep[3] = {sv[1], out[1], err[1]};
		if (pinned)
			sched_setaffinity(0, sizeof(run_cpus), &run_cpus);
		close(sigfd);
		if (dev_null == STDIN_FILENO) {
			fcntl(dev_null, F_SETFD, 0);
		} else if (dev_null >= 0) {
			dup2(dev_null, STDIN_FILENO);
			close(dev_null);
		}
		close_others(nothers, keep);
		close(sv[0]);
		close(out[0]);
		close(err[0]);
		setrlimit(RLIMIT_NOFILE, &fd_limit);
		deft_child_run(def, sv[1], out[1], err[1], counter,
		               deadline_s, what);
	}
	c->pid = pid;
	setpgid(c->pid, c->pid);
	close(sv[1]);
	close(out[1]);
	close(err[1]);
	c->chan = sv[0];
	c->out = out[0];
	c->err = err[0];
	set_nonblocking(c->out);
	set_nonblocking(c->err);
	c->deadline = c->timeout_ms ? now + (int64_t)c->timeout_ms * 1000000
	                            : 0;
	/* What the runner adopts from now on could be either's. */
	for (struct child *o = children; o; o = o->next)
		o->beside_another = c->beside_another = true;
	c->next = children;
	children = c;
	return c;
}

/* ---- stopping ---- */

/* Calls fn for each thread of the child. */
static void for_each_thread(struct child *c,
                            void (*fn)(struct child *c, int tid))
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", c->pid);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		int tid = atoi(e->d_name);
		if (tid > 0)
			fn(c, tid);
	}
	if (d)
		closedir(d);
}

/* Tells a test waiting in t_parallel that its turn came, or never will. */
static void send_turn(struct child *c, unsigned char turn)
{
	c->waiting = false;
	if (c->chan >= 0 && send(c->chan, &turn, 1,
	                         MSG_DONTWAIT | MSG_NOSIGNAL) != 1) {
		/* Gone already, or not reading: the rest is as for any
		 * child that ends. */
	}
}

/* Asks a child to stop: why is a timeout or an interrupt by signo, due
 * at that time.  A child found gone since then was still running when it
 * was due: its own timer (its context's deadline) stopped its test before
 * the supervisor got to it, which ends it as if asked. */
static void ask_to_stop(struct child *c, enum deft_ending why, int signo,
                        int64_t due, int64_t now)
{
	if (c->stage != RUNNING || (c->exited && c->exited_at < due))
		return;
	c->forced = why;
	c->stage = STOPPING;
	c->next_step = now + (int64_t)deft_sup_opts->grace_ms * 1000000;
	if (c->exited)
		return;
	if (c->waiting)
		send_turn(c, DEFT_TURN_STOP);
	union sigval v = {.sival_int = why == DEFT_INTERRUPTED ? signo : 0};
	sigqueue(c->pid, DEFT_SIG_STOP, v);
}

/* Asks every thread of a hung child for its backtrace. */
static void request_stack(struct child *c, int tid)
{
	syscall(SYS_tgkill, c->pid, tid, DEFT_SIG_STACK);
}

static void request_stacks(struct child *c, int64_t now)
{
	for_each_thread(c, request_stack);
	c->stage = DUMPING;
	c->next_step = now + (int64_t)STACKS_MS * 1000000;
}

static void kill_child(struct child *c)
{
	if (c->exited)
		return;
	/* Stopped (SIGSTOP, say), it could neither finish nor answer. */
	siginfo_t si = {0};
	if (waitid(P_PID, (id_t)c->pid, &si, WSTOPPED | WNOHANG | WNOWAIT) ==
	            0 && si.si_pid == c->pid && si.si_code == CLD_STOPPED)
		c->stopped_by = si.si_status;
	c->stage = KILLED;
	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL);
}

static void step_deadlines(struct child *c, int64_t now)
{
	if (c->stage == RUNNING && c->deadline && now >= c->deadline)
		ask_to_stop(c, DEFT_TIMED_OUT, 0, c->deadline, now);
	else if (c->exited)
		return;
	else if (c->stage == STOPPING && now >= c->next_step) {
		if (c->forced == DEFT_TIMED_OUT)
			request_stacks(c, now);
		else
			kill_child(c);
	} else if (c->stage == DUMPING && now >= c->next_step) {
		for_each_thread(c, deft_sup_note_silent_thread);
		kill_child(c);
	}
}

static int64_t next_wakeup(int64_t run_deadline)
{
	int64_t next = run_deadline;
	for (struct child *c = children; c; c = c->next) {
		int64_t t = c->exited ? c->drain_until
		            : c->stage == RUNNING ? c->deadline : c->next_step;
		if (t && (next == 0 || t < next))
			next = t;
	}
	return next;
}

/* ---- running and collecting ---- */

static void reap(void)
{
	int status;
	struct rusage ru;
	pid_t pid;
	while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0)
		for (struct child *c = children; c; c = c->next)
			if (c->pid == pid)
				on_exited(c, status, &ru);
}

static size_t running(void)
{
	size_t n = 0;
	for (struct child *c = children; c; c = c->next)
		n++;
	return n;
}

/* Children running sequential tests, and parallel ones let go on. */
static void count_running(size_t *sequential, size_t *parallel)
{
	*sequential = *parallel = 0;
	for (struct child *c = children; c; c = c->next)
		if (c->resumed)
			(*parallel)++;
		else if (!c->waiting)
			(*sequential)++;
}

/* The number of parallel tests that may run at once (-parallel). */
static size_t parallel_limit(void)
{
	if (deft_opt.parallel > 0)
		return (size_t)deft_opt.parallel;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (size_t)n : 1;
}

/* Go's order: top-level tests that called t_parallel go on, oldest
 * first, once every sequential one is done, at most -parallel at once.
 * Their reports are held until each is done when several run. */
static void resume(size_t parallel, int64_t now)
{
	size_t limit = parallel_limit();
	while (parallel < limit) {
		struct child *oldest = NULL;
		for (struct child *c = children; c; c = c->next)
			if (c->waiting && !c->exited &&
			    (oldest == NULL || c->order < oldest->order))
				oldest = c;
		if (oldest == NULL)
			return;
		oldest->resumed = true;
		oldest->live = oldest->live && limit == 1;
		oldest->deadline = oldest->timeout_ms
		        ? now + (int64_t)oldest->timeout_ms * 1000000 : 0;
		send_turn(oldest, DEFT_TURN_GO);
		parallel++;
	}
}

/* Finishes and frees the children that are done; returns how many. */
static size_t collect(int64_t now)
{
	size_t collected = 0;
	for (struct child **p = &children; *p;) {
		struct child *c = *p;
		bool drained = c->chan < 0 && c->out < 0 && c->err < 0;
		if (c->exited && (drained || now >= c->drain_until)) {
			deft_sup_read(c, false);
			deft_sup_drain(c);
			*p = c->next;
			kill_adopted_after(c);
			deft_sup_finish(c);
			if (c->retried)
				retry_later(c->def, c->retry + 1);
			if (c->chan >= 0)
				close(c->chan);
			if (c->out >= 0)
				close(c->out);
			if (c->err >= 0)
				close(c->err);
			deft_sup_free(c);
			collected++;
		} else {
			p = &c->next;
		}
	}
	return collected;
}

/* ---- signals ---- */

static bool stops(int sig)
{
	return sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Whether si was sent by a test's process, or by one of its process
 * group: then it is noted on that test, to fail it, and ignored. */
static bool from_a_test(const struct signalfd_siginfo *si)
{
	if (si->ssi_code > 0 || si->ssi_pid == 0)
		return false;           /* sent by the kernel */
	pid_t pgrp = getpgid((pid_t)si->ssi_pid);
	for (struct child *c = children; c; c = c->next)
		if ((pid_t)si->ssi_pid == c->pid || pgrp == c->pid) {
			char name[DEFT_SIGNAL_NAME];
			deft_signal_name(name, (int)si->ssi_signo);
			deft_buf_printf(&c->signals, "%s%s",
			                c->signals.len ? ", " : "", name);
			return true;
		}
	return false;
}

/* A signal read from the signalfd; *interrupted is the first that
 * interrupted the run, 0 before. */
static void on_signal(const struct signalfd_siginfo *si, int *interrupted)
{
	int sig = (int)si->ssi_signo;
	if (sig == SIGCHLD || from_a_test(si))
		return;
	if (stops(sig)) {
		/* Ctrl-Z: stopped, as without deft, and the test processes
		 * with it.  Each is in a process group of its own, which the
		 * terminal does not stop, nor continue at fg. */
		for (struct child *c = children; c; c = c->next)
			kill(-c->pid, SIGSTOP);
		raise(SIGSTOP);
		for (struct child *c = children; c; c = c->next)
			kill(-c->pid, SIGCONT);
		return;
	}
	if (sig == SIGPIPE && *interrupted)
		return;         /* the console's every write after the first */
	int64_t now = deft_now_ns();
	if (!*interrupted) {
		char name[DEFT_SIGNAL_NAME], note[112];
		deft_signal_name(name, sig);
		snprintf(note, sizeof(note), "deft: interrupted by %s: "
		         "tests are asked to stop; a second one kills them\n",
		         name);
		deft_report_note(note);
	}
	for (struct child *c = children; c; c = c->next) {
		if (*interrupted)
			kill_child(c);
		else
			ask_to_stop(c, DEFT_INTERRUPTED, sig, now, now);
	}
	if (!*interrupted)
		*interrupted = sig;
}

/* ---- the loop ---- */

static void poll_once(const struct deft_sup_signals *sigs, int64_t wake,
                      int *interrupted)
{
	enum { SIGNALS = 2 };   /* sigs->fds */
	size_t n = SIGNALS + 3 * running(), k = SIGNALS;
	struct pollfd *fds = deft_xcalloc(n, sizeof(*fds));
	struct child **owner = deft_xcalloc(n, sizeof(*owner));
	for (size_t i = 0; i < SIGNALS; i++)
		fds[i] = (struct pollfd){sigs->fds[i], POLLIN, 0};
	for (struct child *c = children; c; c = c->next) {
		int fd3[3] = {c->chan, c->out, c->err};
		for (int i = 0; i < 3; i++)
			if (fd3[i] >= 0) {
				owner[k] = c;
				fds[k++] = (struct pollfd){fd3[i], POLLIN, 0};
			}
	}
	int timeout = -1;
	if (wake) {
		int64_t ms = (wake - deft_now_ns()) / 1000000 + 1;
		timeout = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
	}
	if (poll(fds, k, timeout) > 0) {
		for (size_t i = SIGNALS; i < k; i++)
			if (fds[i].revents) {
				/* Output is given out with the
				 * messages around it. */
				deft_sup_read(owner[i],
				              fds[i].fd != owner[i]->chan);
			}
		struct signalfd_siginfo si;
		for (size_t i = 0; i < SIGNALS; i++)
			while (fds[i].revents &&
			       read(fds[i].fd, &si, sizeof(si)) ==
			       (ssize_t)sizeof(si))
				on_signal(&si, interrupted);
	}
	reap();
	deft_free(fds);
	deft_free(owner);
}

int deft_supervise(const struct deft_test_def *const *schedule, size_t n,
                   const struct deft_supervisor_options *opt)
{
	deft_sup_opts = opt;
	struct deft_sup_signals sigs;
	deft_sup_signals_catch(&sigs);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	deft_sup_own_children_note();
	dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* backtrace() is ready for the test processes' crash handlers
	 * (deft_run_exit_watch's deft_run_crashes_catch warmed it up). */
	deft_child_prepare();
	if (deft_opt.leaks != DEFT_LEAKS_OFF)
		deft_leak_start_runtime_threads();
	/* Three descriptors a test process: tests waiting in t_parallel
	 * can be many.  The tests themselves get the limit as it was. */
	getrlimit(RLIMIT_NOFILE, &fd_limit);
	struct rlimit raised = {fd_limit.rlim_max, fd_limit.rlim_max};
	setrlimit(RLIMIT_NOFILE, &raised);
	/* What is allocated from here on is the runner's alone. */
	deft_runner_heap_start();
	int64_t run_deadline = opt->run_timeout_ms
	        ? deft_now_ns() + (int64_t)opt->run_timeout_ms * 1000000 : 0;
	int interrupted = 0;
	bool run_timed_out = false;
	size_t next = 0;
	for (;;) {
		int64_t now = deft_now_ns();
		if (run_deadline && now >= run_deadline && !run_timed_out) {
			run_timed_out = true;
			char d[32], note[96];
			deft_format_duration(d, sizeof(d), opt->run_timeout_ms);
			snprintf(note, sizeof(note), "deft: the run timed out "
			         "after %s (-timeout)\n", d);
			deft_report_note(note);
			for (struct child *c = children; c; c = c->next) {
				c->by_run_timeout = c->stage == RUNNING;
				ask_to_stop(c, DEFT_TIMED_OUT, 0, run_deadline,
				            now);
			}
		}
		bool stop = interrupted || run_timed_out ||
		            (opt->failfast && deft_report_totals().failed);
		size_t sequential, parallel;
		count_running(&sequential, &parallel);
		while (!stop && (retries || next < n) &&
		       sequential < (size_t)opt->jobs) {
			/* A failed test runs again before the next starts. */
			const struct deft_test_def *def;
			unsigned retry = 0;
			if (retries) {
				struct pending_retry *r = retry_take();
				def = r->def;
				retry = r->retry;
				deft_free(r);
			} else {
				def = schedule[next++];
			}
			if (spawn(def, retry, sigs.fds[0], run_deadline))
				sequential++;
		}
		if (!interrupted && !run_timed_out && next >= n &&
		    retries == NULL && sequential == 0)
			resume(parallel, now);
		for (struct child *c = children; c; c = c->next)
			step_deadlines(c, now);
		if (collect(now) > 0)
			continue;       /* a slot is free: start the next test */
		if (children == NULL &&
		    (stop || (next >= n && retries == NULL)))
			break;
		poll_once(&sigs, next_wakeup(run_deadline), &interrupted);
	}
	/* Failed runs reported as followed by another that the run's stop
	 * left out: report those as failed, so no failure goes uncounted. */
	while (retries) {
		struct pending_retry *r = retry_take();
		struct child *c = deft_xcalloc(1, sizeof(*c));
		c->def = r->def;
		c->retry = r->retry;
		c->order = started++;
		c->chan = c->out = c->err = -1;
		report_unstarted(c, "deft: not run again: the run stopped first",
		                 interrupted ? DEFT_INTERRUPTED : DEFT_ENDED,
		                 "not run again");
		deft_free(r);
	}
	/* Left while tests ran side by side to the end, or adopted too
	 * late to be blamed on the test that left it. */
	deft_sup_kill_unblamed(0);
	deft_sup_own_children_forget();
	if (dev_null >= 0)
		close(dev_null);
	dev_null = -1;
	deft_sup_signals_release(&sigs);
	deft_runner_heap_stop();
	if (run_timed_out && !interrupted)
		return 0;
	return interrupted;
}
