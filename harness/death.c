/*
 * death.c - death tests: t_expect_exit and t_expect_signal.
 *
 * The function under test runs in a process forked from the test's thread,
 * with its stdout and stderr on pipes and a third pipe on which it says
 * "I returned" if it does.  The parent reads all three and the child's
 * pidfd in one poll loop, so neither a chatty child nor one that never
 * ends can block it; past the deadline the child is killed.  The death
 * child is not a test: it forgets deft's channel to the supervisor and
 * deft's crash handlers (a crash must be a real signal death), and leaves
 * only through _exit, so no cleanup, report or atexit hook of the test
 * runs there.  The trade-off: what fn writes to stdout is read and
 * dropped; only stderr is matched and shown.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "sanitizers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
	DEATH_TIMEOUT_MS = 10 * 1000,
	STDERR_HEAD = 32 * 1024,        /* the first bytes of stderr kept */
	STDERR_TAIL = 32 * 1024,        /* and the last: those between are */
	                                /* read, and not kept */
	STDERR_SHOW = 512,              /* from each end, in a failure */
	RETURNED_STATUS = 125,          /* _exit status after fn returned */
};

/* What the child says on its third pipe before it leaves by _exit. */
static const char returned_byte = 'r', stopped_byte = 's';

/* The write end of that pipe, in the death child; -1 elsewhere. */
static int death_child_ret = -1;

void deft_death_child_stop(void)
{
	if (death_child_ret < 0)
		return;
	fflush(stdout);
	fflush(stderr);
	ssize_t n = write(death_child_ret, &stopped_byte, 1);
	(void)n;
	_exit(RETURNED_STATUS);
}

void deft_signal_name(char name[static DEFT_SIGNAL_NAME], int sig)
{
	const char *abbrev = sigabbrev_np(sig);
	if (abbrev)
		snprintf(name, DEFT_SIGNAL_NAME, "SIG%s", abbrev);
	else if (sig == SIGRTMIN)
		snprintf(name, DEFT_SIGNAL_NAME, "SIGRTMIN");
	else if (sig > SIGRTMIN && sig <= SIGRTMAX)
		snprintf(name, DEFT_SIGNAL_NAME, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(name, DEFT_SIGNAL_NAME, "signal %d", sig);
}

void deft_describe_signal(struct deft_buf *b, int sig)
{
	char name[DEFT_SIGNAL_NAME];
	deft_signal_name(name, sig);
	if (sigabbrev_np(sig) || (sig >= SIGRTMIN && sig <= SIGRTMAX))
		deft_buf_printf(b, "%s (%s)", name, strsignal(sig));
	else
		deft_buf_printf(b, "%s", name);
}

#ifdef DEFT_ASAN
/* LeakSanitizer asks this at exit: a death child, or any process a test
 * forked, that calls exit() leaves the whole run's memory behind, and
 * that is not a leak of the test. */
__attribute__((weak)) int __lsan_is_turned_off(void);
__attribute__((weak)) int __lsan_is_turned_off(void)
{
	return death_child_ret >= 0 || deft_forked;
}
#endif

/* In the death child: undo what makes a process a test's, then run fn. */
DEFT_NORETURN static void death_child(int out, int err, int ret,
                                      void (*fn)(void *), void *arg)
{
	deft_signals_default(DEFT_SIGBIT(SIGSEGV) | DEFT_SIGBIT(SIGBUS) |
	                     DEFT_SIGBIT(SIGFPE) | DEFT_SIGBIT(SIGILL) |
	                     DEFT_SIGBIT(SIGABRT) | DEFT_SIGBIT(SIGSYS) |
	                     DEFT_SIGBIT(SIGTRAP) | DEFT_SIGBIT(SIGPIPE));
	deft_child_forget_channel();
	deft_forked_mine();
	death_child_ret = ret;
	if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(127);
	fn(arg);
	fflush(stdout);
	fflush(stderr);
	ssize_t n = write(ret, &returned_byte, 1);
	(void)n;
	_exit(RETURNED_STATUS);
}

struct death_watch {
	int out, err, ret, pidfd;
	/* The child's stderr: its first STDERR_HEAD bytes, then its last
	 * STDERR_TAIL in a ring, and how many fell between.  Once the
	 * child is gone (finish_stderr), the tail follows in its own buffer
	 * from a line's start, or is added to the head when nothing fell. */
	struct deft_buf stderr_text, stderr_tail;
	char *ring;
	size_t ring_len, ring_at;
	size_t stderr_dropped;
	char returned;          /* returned_byte, stopped_byte or 0 */
};

static void keep_stderr(struct death_watch *w, const char *p, size_t n)
{
	size_t head = STDERR_HEAD - w->stderr_text.len;
	if (head > n)
		head = n;
	deft_buf_add(&w->stderr_text, p, head);
	p += head;
	n -= head;
	if (n == 0)
		return;
	if (w->ring == NULL)
		w->ring = deft_xmalloc(STDERR_TAIL);
	if (n > STDERR_TAIL) {
		w->stderr_dropped += w->ring_len + n - STDERR_TAIL;
		p += n - STDERR_TAIL;
		n = STDERR_TAIL;
		w->ring_len = 0;
	} else if (w->ring_len + n > STDERR_TAIL) {
		w->stderr_dropped += w->ring_len + n - STDERR_TAIL;
		w->ring_len = STDERR_TAIL - n;
	}
	/* In at most two pieces, wrapping round. */
	size_t first = STDERR_TAIL - w->ring_at;
	if (first > n)
		first = n;
	memcpy(w->ring + w->ring_at, p, first);
	memcpy(w->ring, p + first, n - first);
	w->ring_at = (w->ring_at + n) % STDERR_TAIL;
	w->ring_len += n;
}

static void finish_stderr(struct death_watch *w)
{
	/* The ring's oldest bytes are at ring_at once it is full, else at
	 * its start. */
	if (w->ring_len) {
		size_t start = w->ring_len == STDERR_TAIL ? w->ring_at : 0;
		deft_buf_add(&w->stderr_tail, w->ring + start,
		             w->ring_len - start);
		deft_buf_add(&w->stderr_tail, w->ring, start);
	}
	deft_free(w->ring);
	w->ring = NULL;
	w->ring_len = 0;
	struct deft_buf *tail = &w->stderr_tail;
	if (w->stderr_dropped == 0) {
		deft_buf_add(&w->stderr_text, tail->data ? tail->data : "",
		             tail->len);
		tail->len = 0;
	} else {
		/* From the first whole line, for "^". */
		const char *nl = memchr(tail->data, '\n', tail->len);
		size_t cut = nl && (size_t)(nl - tail->data) + 1 < tail->len
		             ? (size_t)(nl - tail->data) + 1 : 0;
		memmove(tail->data, tail->data + cut, tail->len - cut);
		tail->len -= cut;
		w->stderr_dropped += cut;
	}
	deft_buf_putc(&w->stderr_text, '\0');
	w->stderr_text.len--;
	deft_buf_putc(tail, '\0');
	tail->len--;
}

/* Reads what is there on fd (non-blocking); false at end of file. */
static bool drain_fd(struct death_watch *w, int fd)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN;
		if (n == 0)
			return false;
		if (fd == w->ret) {
			w->returned = buf[0];
		} else if (fd == w->err) {
			keep_stderr(w, buf, (size_t)n);
		}
	}
}

static long ms_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

enum watch_end {
	CHILD_ENDED,
	CHILD_TIMED_OUT,
	TEST_CANCELLED,
	CHILD_LOST,             /* something else in the process reaped it */
};

/* Waits until the child ends, reading its pipes, at most until the
 * deadline or until ctx_fd (-1: none) says the test's context is done. */
static enum watch_end watch(struct death_watch *w, pid_t pid, int ctx_fd,
                            int *status)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct pollfd p[5] = {{w->out, POLLIN, 0}, {w->err, POLLIN, 0},
	                      {w->ret, POLLIN, 0}, {w->pidfd, POLLIN, 0},
	                      {ctx_fd, POLLIN, 0}};
	enum watch_end end = CHILD_ENDED;
	for (;;) {
		pid_t done = waitpid(pid, status, WNOHANG);
		if (done < 0 && errno == ECHILD)
			end = CHILD_LOST;
		if (done == pid || (done < 0 && errno != EINTR))
			break;
		long left = deft_scaled_ms(DEATH_TIMEOUT_MS) - ms_since(&start);
		if (left <= 0)
			return CHILD_TIMED_OUT;
		/* Without a pidfd, look at the child every 10ms. */
		int wait_ms = w->pidfd < 0 && left > 10 ? 10 : (int)left;
		if (poll(p, 5, wait_ms) < 0 && errno != EINTR)
			break;
		if (p[4].fd >= 0 && p[4].revents)
			return TEST_CANCELLED;
		for (int i = 0; i < 3; i++)
			if (p[i].fd >= 0 && p[i].revents &&
			    !drain_fd(w, p[i].fd))
				p[i].fd = -1;
	}
	/* What the child wrote before it ended; a descendant that holds a
	 * pipe open is not waited for. */
	for (int i = 0; i < 3; i++)
		if (p[i].fd >= 0)
			drain_fd(w, p[i].fd);
	return end;
}

/* Describes how the child ended, "exited with status 0". */
static void describe_end(struct deft_buf *b, const struct death_watch *w,
                         int status)
{
	if (w->returned == stopped_byte)
		deft_buf_puts(b, "stopped by t_fatal, t_skip or t_failnow, "
		              "whose message is lost in the child");
	else if (w->returned)
		deft_buf_puts(b, "returned normally");
	else if (WIFEXITED(status))
		deft_buf_printf(b, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status)) {
		deft_buf_puts(b, "killed by ");
		deft_describe_signal(b, WTERMSIG(status));
	} else
		deft_buf_printf(b, "ended with wait status %#x", status);
}

/* The last whole lines of the n bytes at p, up to STDERR_SHOW bytes of
 * them: where they start. */
static size_t last_lines(const char *p, size_t n)
{
	if (n <= STDERR_SHOW)
		return 0;
	size_t from = n - STDERR_SHOW;
	const char *nl = memchr(p + from - 1, '\n', STDERR_SHOW);
	return nl && (size_t)(nl - p) + 1 < n ? (size_t)(nl - p) + 1 : from;
}

/* The first lines of the n bytes at p, up to STDERR_SHOW bytes: how many
 * bytes. */
static size_t first_lines(const char *p, size_t n)
{
	if (n <= STDERR_SHOW)
		return n;
	const char *nl = memrchr(p, '\n', STDERR_SHOW);
	return nl ? (size_t)(nl - p) + 1 : STDERR_SHOW;
}

static void append_piece(struct deft_buf *b, const char *p, size_t n)
{
	deft_buf_indent(b, p, n, "  ");
	if (n && p[n - 1] != '\n')
		deft_buf_putc(b, '\n');
}

/* The child's stderr in a failure: its first lines and its last, up to
 * STDERR_SHOW bytes of each, and how much fell between. */
static void append_stderr(struct deft_buf *b, const struct death_watch *w)
{
	const struct deft_buf *e = &w->stderr_text, *tail = &w->stderr_tail;
	if (e->len == 0) {
		deft_buf_puts(b, "\nstderr: (empty)");
		return;
	}
	deft_buf_puts(b, "\nstderr:\n");
	if (e->len <= 2 * STDERR_SHOW && tail->len == 0) {
		deft_buf_indent(b, e->data, e->len, "  ");
		return;
	}
	size_t head = first_lines(e->data, e->len), between;
	const char *last;
	size_t from, last_n;
	if (tail->len) {
		last = tail->data;
		last_n = tail->len;
		from = last_lines(last, last_n);
		between = e->len - head + w->stderr_dropped + from;
	} else {
		last = e->data;
		last_n = e->len;
		from = last_lines(last, last_n);
		if (from < head)
			from = head;
		between = from - head;
	}
	append_piece(b, e->data, head);
	deft_buf_printf(b, "  ... (%zu bytes)\n", between);
	deft_buf_indent(b, last + from, last_n - from, "  ");
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

bool deft_expect_death(T *t, const char *file, int line, const char *what,
                       bool want_signal, int want, const char *regex,
                       void (*fn)(void *), void *arg)
{
	const char *api = want_signal ? "t_expect_signal" : "t_expect_exit";
	regex_t re;
	if (regex) {
		int rc = regcomp(&re, regex,
		                 REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
		if (rc != 0) {
			char msg[256];
			regerror(rc, &re, msg, sizeof(msg));
			deft_fail_at(t, file, line, "%s(%s): invalid regular "
			             "expression \"%s\": %s", api, what, regex,
			             msg);
			return false;
		}
	}
	int out[2], err[2], ret[2];
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(ret, O_CLOEXEC) < 0)
		deft_fatal(t, file, line, "%s(%s): pipe: %s", api, what,
		           strerror(errno));
	/* The kernel reaps the children of a process that ignores SIGCHLD
	 * (SIG_IGN, SA_NOCLDWAIT), and how they ended is lost: not for the
	 * death test's child, while it runs. */
	struct sigaction chld, keep;
	sigaction(SIGCHLD, NULL, &chld);
	bool reaped_by_kernel = chld.sa_handler == SIG_IGN ||
	                        (chld.sa_flags & SA_NOCLDWAIT);
	if (reaped_by_kernel) {
		keep = chld;
		keep.sa_flags &= ~SA_NOCLDWAIT;
		if (keep.sa_handler == SIG_IGN)
			keep.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &keep, NULL);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (reaped_by_kernel)   /* fn gets the process as it was */
			sigaction(SIGCHLD, &chld, NULL);
		death_child(out[1], err[1], ret[1], fn, arg);
	}
	close(out[1]);
	close(err[1]);
	close(ret[1]);
	struct death_watch w = {.out = out[0], .err = err[0], .ret = ret[0],
	                        .pidfd = -1, .stderr_text = DEFT_BUF_INIT,
	                        .stderr_tail = DEFT_BUF_INIT};
	bool ok = false;
	struct deft_buf msg = DEFT_BUF_INIT;
	if (pid < 0) {
		deft_buf_printf(&msg, "fork: %s", strerror(errno));
		goto out;
	}
	w.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	fcntl(w.out, F_SETFL, O_NONBLOCK);
	fcntl(w.err, F_SETFL, O_NONBLOCK);
	fcntl(w.ret, F_SETFL, O_NONBLOCK);
	/* Called from a cleanup, the context is already done: ignore it. */
	t_ctx *ctx = t_context(t);
	int ctx_fd = t_ctx_done(ctx) ? -1 : t_ctx_fd(ctx);
	int status = 0;
	enum watch_end end = watch(&w, pid, ctx_fd, &status);
	finish_stderr(&w);
	if (end == CHILD_LOST) {
		deft_buf_puts(&msg, "cannot tell how the child ended: "
		              "something else in the process waited for it "
		              "(waitpid(-1, ...), maybe in a SIGCHLD handler)");
		append_stderr(&msg, &w);
		goto out;
	}
	if (end != CHILD_ENDED) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		char limit[32];
		deft_format_duration(limit, sizeof(limit),
		                     deft_scaled_ms(DEATH_TIMEOUT_MS));
		if (end == CHILD_TIMED_OUT)
			deft_buf_printf(&msg, "did not end within %s: killed",
			                limit);
		else
			deft_buf_printf(&msg, "killed, as the test's context "
			                "was cancelled: %s", t_ctx_cause(ctx));
		append_stderr(&msg, &w);
		goto out;
	}
	bool end_ok = !w.returned &&
	              (want_signal ? WIFSIGNALED(status) &&
	                                 WTERMSIG(status) == want
	                           : WIFEXITED(status) &&
	                                 WEXITSTATUS(status) == want);
	bool text_ok = !regex ||
	               regexec(&re, w.stderr_text.data, 0, NULL, 0) == 0 ||
	               (w.stderr_tail.len &&
	                regexec(&re, w.stderr_tail.data, 0, NULL, 0) == 0);
	ok = end_ok && text_ok;
	if (!ok) {
		deft_buf_puts(&msg, "want ");
		if (want_signal) {
			deft_buf_puts(&msg, "killed by ");
			deft_describe_signal(&msg, want);
		} else {
			deft_buf_printf(&msg, "exit with status %d", want);
		}
		if (regex)
			deft_buf_printf(&msg, " and stderr matching \"%s\"",
			                regex);
		deft_buf_puts(&msg, ", got ");
		describe_end(&msg, &w, status);
		if (end_ok)
			deft_buf_puts(&msg, " and stderr not matching");
		append_stderr(&msg, &w);
	}
out:
	if (reaped_by_kernel)
		sigaction(SIGCHLD, &chld, NULL);
	if (msg.len)
		deft_fail_at(t, file, line, "%s(%s): %s", api, what, msg.data);
	if (regex)
		regfree(&re);
	close_fd(&w.out);
	close_fd(&w.err);
	close_fd(&w.ret);
	close_fd(&w.pidfd);
	deft_buf_free(&w.stderr_text);
	deft_buf_free(&w.stderr_tail);
	deft_buf_free(&msg);
	return ok;
}
