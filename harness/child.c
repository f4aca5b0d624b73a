/*
 * child.c - a top-level test's own process, under the supervisor.
 *
 * The child sends every reporter event to the supervisor as a message
 * (protocol.h) and writes its stdout and stderr into pipes the supervisor
 * reads.  When something ends the process early it says so first, where it
 * can: a fatal signal's handler (on an alternate stack, so a stack overflow
 * is reported too) sends the signal, the faulting address, a backtrace and
 * the cleanups that will not run; an atexit handler does the same for a
 * test that calls exit().  At a timeout the supervisor signals each thread
 * in turn, and each sends its own backtrace.  Everything the handlers call
 * is async-signal-safe, or is used only once the process is dying.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "protocol.h"
#include "child.h"
#include "leak_snapshot.h"
#include "../reporters/report.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum { OUTPUT_CHUNK = 60000 };

static int channel = -1;
static volatile sig_atomic_t channel_lost;

/* The write ends of the stdout and stderr pipes, kept out of the test's
 * way (it may redirect fds 1 and 2), and the counts of what the
 * supervisor has read from them (protocol.h). */
static int pipe_fd[2] = {-1, -1};
static struct deft_out_counter *counter;

/* The supervisor, whose pid the marks' wait checks against getppid(). */
static pid_t supervisor;

/* How long a message waits for the supervisor to finish a read of a pipe
 * before it goes without marks, and between looks once yielding has not
 * been enough. */
#define MARK_WAIT_NS (10 * 1000000000LL)
#define MARK_NAP_NS (50 * 1000LL)

/* How many bytes were written to each pipe so far: what the supervisor
 * has read plus what is still in the pipe, taken while the supervisor
 * was not reading.  A read takes it microseconds, but it may be
 * descheduled, slowed by a sanitizer or stopped in a debugger meanwhile:
 * the message waits for it (yielding, then napping), as long as the
 * supervisor lives and for up to MARK_WAIT_NS.  Async-signal-safe. */
static void bytes_written(uint64_t written[2])
{
	written[0] = written[1] = DEFT_WRITTEN_UNKNOWN;
	if (counter == NULL || pipe_fd[0] < 0 || pipe_fd[1] < 0)
		return;
	int64_t since = 0;
	for (unsigned tries = 0;; tries++) {
		uint64_t seq = __atomic_load_n(&counter->seq, __ATOMIC_ACQUIRE);
		if (!(seq & 1)) {
			int unread[2];
			if (ioctl(pipe_fd[0], FIONREAD, &unread[0]) != 0 ||
			    ioctl(pipe_fd[1], FIONREAD, &unread[1]) != 0)
				return;
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			uint64_t read[2] = {
				__atomic_load_n(&counter->read[0], __ATOMIC_RELAXED),
				__atomic_load_n(&counter->read[1], __ATOMIC_RELAXED),
			};
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (__atomic_load_n(&counter->seq, __ATOMIC_RELAXED) == seq) {
				for (int i = 0; i < 2; i++)
					written[i] = read[i] + (uint64_t)unread[i];
				return;
			}
		}
		if (tries < 100) {
			sched_yield();
			continue;
		}
		int64_t now = deft_now_ns();
		if (since == 0)
			since = now;
		else if (now - since > MARK_WAIT_NS || getppid() != supervisor)
			return;
		struct timespec nap = {0, MARK_NAP_NS};
		nanosleep(&nap, NULL);
	}
}

/* Sends one message: header, a fixed part and up to two variable parts. */
static bool send_parts(uint16_t type, const void *head, size_t hlen,
                       const void *a, size_t alen, const void *b, size_t blen)
{
	if (channel < 0 || channel_lost)
		return false;
	int saved = errno;
	struct deft_msg m = {DEFT_PROTOCOL_VERSION, type,
	                     (uint32_t)(hlen + alen + blen), {0, 0}};
	bytes_written(m.written);
	struct iovec iov[4] = {{&m, sizeof(m)}, {(void *)head, hlen},
	                       {(void *)a, alen}, {(void *)b, blen}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 4};
	for (;;) {
		if (sendmsg(channel, &mh, MSG_NOSIGNAL) >= 0)
			break;
		if (errno != EINTR) {
			/* The test closed or replaced deft's socket. */
			channel_lost = 1;
			break;
		}
	}
	errno = saved;
	return !channel_lost;
}

/* Pushes what the test wrote with stdio into the pipes before the event
 * that follows, so that it counts as written before it. */
static void flush_stdio(void)
{
	fflush(stdout);
	fflush(stderr);
}

static void pipe_start(struct deft_reporter *r, const struct deft_test_info *ti)
{
	struct deft_msg_start s = {ti->id, ti->parent, ti->line,
	                           (uint32_t)strlen(ti->name),
	                           ti->file ? (uint32_t)strlen(ti->file) : 0};
	flush_stdio();
	send_parts(DEFT_MSG_START, &s, sizeof(s), ti->name, s.name_len,
	           ti->file, s.file_len);
}

static void pipe_pause(struct deft_reporter *r, unsigned id)
{
	struct deft_msg_id m = {id};
	flush_stdio();
	send_parts(DEFT_MSG_PAUSE, &m, sizeof(m), NULL, 0, NULL, 0);
}

static void pipe_cont(struct deft_reporter *r, unsigned id)
{
	struct deft_msg_id m = {id};
	flush_stdio();
	send_parts(DEFT_MSG_CONT, &m, sizeof(m), NULL, 0, NULL, 0);
}

/* Bytes of logs this process has had to report.  Past DEFT_OUTPUT_LIMIT
 * the supervisor would drop them all, so they are counted, not sent: a
 * test that logs in a loop does not pay a message a line for nothing. */
static uint64_t logs_sent;

static void pipe_output(struct deft_reporter *r, unsigned id,
                        enum deft_stream stream, const char *text, size_t n)
{
	struct deft_msg_output o = {id, stream};
	if (counter && __atomic_fetch_add(&logs_sent, n, __ATOMIC_RELAXED) >
	                       DEFT_OUTPUT_LIMIT) {
		__atomic_fetch_add(&counter->logs_dropped, n, __ATOMIC_RELAXED);
		return;
	}
	flush_stdio();
	do {
		size_t part = n < OUTPUT_CHUNK ? n : OUTPUT_CHUNK;
		send_parts(DEFT_MSG_OUTPUT, &o, sizeof(o), text, part, NULL, 0);
		text += part;
		n -= part;
	} while (n > 0);
}

static void pipe_end(struct deft_reporter *r, unsigned id,
                     const struct deft_test_end *end)
{
	size_t dlen = end->detail ? strlen(end->detail) : 0;
	struct deft_msg_end e = {id, end->result, end->ending, (uint32_t)dlen,
	                         end->elapsed};
	flush_stdio();
	send_parts(DEFT_MSG_END, &e, sizeof(e), end->detail, dlen, NULL, 0);
}

static void pipe_note(struct deft_reporter *r, const char *text)
{
	flush_stdio();
	send_parts(DEFT_MSG_NOTE, NULL, 0, text, strlen(text), NULL, 0);
}

static struct deft_reporter pipe_reporter = {
	.note = pipe_note,
	.start = pipe_start,
	.pause = pipe_pause,
	.cont = pipe_cont,
	.output = pipe_output,
	.end = pipe_end,
};

/* ---- handlers ---- */

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,
                                    SIGABRT, SIGSYS, SIGTRAP};

/* Tells the supervisor of a fatal signal on the test's process. */
static void report_crash(int sig, siginfo_t *si, void *uc)
{
	uint64_t frames[DEFT_CRASH_FRAMES];
	char text[DEFT_CRASH_TEXT];
	struct deft_msg_crash c;
	deft_crash_take(&c, frames, text, deft_current(), NULL, sig, si,
	                uc);
	send_parts(DEFT_MSG_CRASH, &c, sizeof(c), frames,
	           c.nframes * sizeof(*frames), text, c.text_len);
}

static void on_fatal_signal(int sig, siginfo_t *si, void *uc)
{
	/* A process the test forked dies as it would without deft. */
	if (!deft_forked) {
		report_crash(sig, si, uc);
		deft_flush_after_crash();
	}
	/* Die of the same signal, so the supervisor (or whoever waits for
	 * a process the test forked) sees it. */
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static void on_stack_request(int sig, siginfo_t *si, void *uc)
{
	T *t = deft_current();
	uint64_t frames[DEFT_CRASH_FRAMES];
	char cleanup[512];
	struct deft_msg_stack s = {.tid = (int32_t)gettid(),
	                           .id = t ? t->id : 0};
	prctl(PR_GET_NAME, s.comm);
	s.nframes = deft_backtrace_at(frames, uc);
	s.text_len = (uint32_t)deft_running_cleanup_text(cleanup,
	                                                 sizeof(cleanup), t);
	send_parts(DEFT_MSG_STACK, &s, sizeof(s), frames,
	           s.nframes * sizeof(*frames), cleanup, s.text_len);
}

/* The supervisor asks the test to stop, with the signal that interrupted
 * the run as the value (0 for a deadline, which the test's own context
 * has seen already): cancel every context, as an interrupt in-process. */
static void on_stop_request(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == SI_QUEUE && si->si_value.sival_int > 0)
		deft_ctx_interrupt(si->si_value.sival_int);
}

void deft_child_forget_channel(void)
{
	if (channel >= 0)
		close(channel);
	channel = -1;
}

bool deft_child_isolated(void)
{
	return channel >= 0;
}

bool deft_child_fail(T *t, const char *text)
{
	if (channel < 0)
		return false;
	struct deft_msg_id m = {t->id};
	return send_parts(DEFT_MSG_FAIL, &m, sizeof(m), text, strlen(text),
	                  NULL, 0);
}

void deft_child_wait_turn(T *t)
{
	deft_report_pause(t->id);
	send_parts(DEFT_MSG_WAIT, NULL, 0, NULL, 0, NULL, 0);
	unsigned char turn = DEFT_TURN_STOP;
	for (;;) {
		ssize_t n = recv(channel, &turn, 1, 0);
		if (n == 1 || (n < 0 && errno != EINTR))
			break;
		if (n == 0) {
			turn = DEFT_TURN_STOP;
			break;
		}
	}
	if (turn != DEFT_TURN_GO) {
		deft_emit(t, NULL, 0, "deft: the run ended before this parallel "
		          "test's turn came");
		deft_stop(t);
	}
	deft_report_cont(t->id);
}

/* Set when the process's first thread, which runs the top-level test,
 * ends in pthread_exit: glibc then calls exit(0) once the last thread is
 * gone, which is no exit() of the test's. */
static volatile sig_atomic_t main_thread_exited;
static pthread_key_t main_thread_key;
static bool main_thread_key_made;

static void on_main_thread_exit(void *arg)
{
	(void)arg;
	main_thread_exited = 1;
}

void deft_child_prepare(void)
{
	/* Made here, once, for every test process to inherit: a key made
	 * in each would cost each a page fault. */
	if (!main_thread_key_made)
		main_thread_key_made = pthread_key_create(
		        &main_thread_key, on_main_thread_exit) == 0;
	/* Likewise what a test process would do first itself. */
	deft_snapshot_prepare();
	deft_leak_reserve_own_fds(8);
	deft_own_heap_reserve();
}

/* A test called exit(): say which, and what will not be cleaned up. */
static void on_exit_call(void)
{
	if (channel < 0 || deft_forked)
		return;
	T *t = deft_current();
	char text[DEFT_CRASH_TEXT];
	size_t len = deft_pending_cleanup_lines(text, sizeof(text), t);
	struct deft_msg_exit e = {t ? t->id : 0, (uint32_t)len,
	                          main_thread_exited};
	flush_stdio();
	send_parts(DEFT_MSG_EXIT, &e, sizeof(e), text, len, NULL, 0);
}

static void install_handlers(void)
{
	/* Mapped like a thread's: ASan unmaps the alternate stack of a
	 * thread that ends, the first one too (pthread_exit). */
	deft_thread_altstack();
	struct sigaction sa = {.sa_sigaction = on_fatal_signal,
	                       .sa_flags = SA_SIGINFO | SA_ONSTACK};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(*fatal_signals);
	     i++)
		sigaction(fatal_signals[i], &sa, NULL);
	struct sigaction st = {.sa_sigaction = on_stack_request,
	                       .sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK};
	sigemptyset(&st.sa_mask);
	sigaction(DEFT_SIG_STACK, &st, NULL);
	struct sigaction sp = {.sa_sigaction = on_stop_request,
	                       .sa_flags = SA_SIGINFO | SA_RESTART};
	sigemptyset(&sp.sa_mask);
	sigaction(DEFT_SIG_STOP, &sp, NULL);
	atexit(on_exit_call);
	if (main_thread_key_made)
		pthread_setspecific(main_thread_key, &main_thread_key);
	/* backtrace() loads libgcc on first use, which is not safe in a
	 * signal handler: the supervisor used it once before forking. */
}

void deft_signals_default(uint64_t sigs)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	for (int sig = 1; sig < 64; sig++)
		if (sigs & DEFT_SIGBIT(sig))
			sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Undoes what the supervisor set up for itself: blocked signals, its
 * handler for faults sent to it, SIGPIPE ignored. */
static void reset_signals(void)
{
	deft_signals_default(DEFT_SIGBIT(SIGINT) | DEFT_SIGBIT(SIGTERM) |
	                     DEFT_SIGBIT(SIGCHLD) | DEFT_SIGBIT(SIGPIPE) |
	                     DEFT_SIGBIT(SIGHUP) | DEFT_SIGBIT(SIGQUIT) |
	                     DEFT_SIGBIT(SIGSEGV) | DEFT_SIGBIT(SIGBUS) |
	                     DEFT_SIGBIT(SIGFPE) | DEFT_SIGBIT(SIGILL));
}

/* Moves fd above the ones tests use, close-on-exec; -1 if it cannot. */
static int move_high(int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 256);
	if (high < 0)
		return -1;
	close(fd);
	deft_leak_ignore_own_fd(high);
	return high;
}

void deft_child_run(const struct deft_test_def *def, int chan, int out,
                    int err, struct deft_out_counter *out_counter,
                    double deadline_s, const char *deadline_what)
{
	deft_own_heap_start();
	supervisor = getppid();
	deft_forked_mine();
	setpgid(0, 0);
	reset_signals();
	/* Only this thread crossed the fork: the harness's threads, locks
	 * and snapshots of the supervisor are not this process's. */
	deft_parallel_after_fork();
	deft_ctx_after_fork();
	deft_ctx_set_child_deadline(deadline_s, deadline_what);
	deft_leak_forget_last_in_child();
	deft_snapshot_forget_runners();
	deft_main_cleanups_forget();
	if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(DEFT_CHILD_SETUP_FAILED);
	/* Out of the way of the fds a test opens and closes. */
	pipe_fd[0] = move_high(out);
	pipe_fd[1] = move_high(err);
	if (pipe_fd[0] < 0)
		close(out);
	if (pipe_fd[1] < 0)
		close(err);
	counter = out_counter;
	channel = move_high(chan);
	if (channel < 0) {
		channel = chan;
		deft_leak_ignore_own_fd(channel);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	deft_report_reset();
	deft_report_add(&pipe_reporter);
	install_handlers();

	deft_run_def(def);
	/* What the test pushed on the run's cleanup stack was pushed in this
	 * process, which is its run: it is torn down here. */
	deft_main_cleanups_run();
	deft_threads_end();

	flush_stdio();
	send_parts(DEFT_MSG_DONE, NULL, 0, NULL, 0, NULL, 0);
	_exit(channel_lost ? DEFT_CHILD_CHANNEL_LOST : 0);
}
