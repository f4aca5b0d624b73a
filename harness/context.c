/*
 * context.c - test contexts: cancellation that background work can see.
 *
 * A context is cancelled once, with a cause, and cancellation flows from a
 * context to its children: the run's context (cancelled by SIGINT,
 * SIGTERM or the -timeout deadline) is the parent of every top-level
 * test's, a test's is the parent of its subtests', and a group's sits
 * between a test and the group's members.  A test's context is also
 * cancelled just before its cleanups run (DESIGN.md section 3, rule 7).
 *
 * Contexts are made when first asked for, so tests that never use one pay
 * nothing.  All of them share one lock: cancellation is rare and short,
 * and one lock keeps parent and child links simple to reason about.
 * t_ctx_fd is the read end of a pipe whose write end is closed on
 * cancellation, so it stays readable (at end of file) however many times
 * it is polled or read.  The run's signal handler only writes a byte to a
 * pipe; a thread of deft's ("deft-cancel") does the rest, and also waits
 * for the run's deadline.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "supervisor.h"
#include "../reporters/report.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum stop_state { STOP_WAITING, STOP_STOPPED, STOP_STARTED };

struct t_stop {
	struct t_stop *next;
	void (*fn)(void *);
	void *arg;
	enum stop_state state;
};

struct t_ctx {
	struct t_ctx *parent;
	LIST_HEAD(, t_ctx) children;
	LIST_ENTRY(t_ctx) link;
	bool done;
	char *cause;
	int fd[2];              /* the pipe, -1 until t_ctx_fd */
	pthread_cond_t changed;
	struct t_stop *stops;
};

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static bool canceller_lazy;             /* starts with the first context */
static bool in_child;                   /* a test's own process */
static char deadline_what[64] = "-timeout"; /* for the cause */
static bool timed_out;                  /* the run's deadline passed */
static volatile sig_atomic_t early_signo; /* came before the canceller */
static void start_canceller(void);
static struct t_ctx run_ctx = {.fd = {-1, -1},
                               .changed = PTHREAD_COND_INITIALIZER};

/* The hooks made ready to run by one cancellation. */
struct hook_list {
	struct t_stop **v;
	size_t n, cap;
};

static void *hook_main(void *p)
{
	struct t_stop call = *(struct t_stop *)p;
	free(p);
	pthread_setname_np(pthread_self(), "deft-after");
	call.fn(call.arg);
	return NULL;
}

static void hooks_start(struct hook_list *h)
{
	for (size_t i = 0; i < h->n; i++) {
		struct t_stop *copy = deft_xcalloc(1, sizeof(*copy));
		*copy = *h->v[i];
		if (deft_thread_start(hook_main, copy) != 0) {
			/* No thread to spare: run it here, late but once. */
			free(copy);
			h->v[i]->fn(h->v[i]->arg);
		}
	}
	free(h->v);
}

static void ctx_init(struct t_ctx *c, struct t_ctx *parent)
{
	LIST_INIT(&c->children);
	c->fd[0] = c->fd[1] = -1;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->changed, &attr);
	pthread_condattr_destroy(&attr);
	c->parent = parent;
	if (parent)
		LIST_INSERT_HEAD(&parent->children, c, link);
}

/* Cancels c and its descendants; ctx_lock held. */
static void cancel_locked(struct t_ctx *c, const char *cause,
                          struct hook_list *hooks)
{
	if (c->done)
		return;
	c->cause = deft_xstrdup(cause);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	if (c->fd[1] >= 0) {
		close(c->fd[1]);
		c->fd[1] = -1;
	}
	pthread_cond_broadcast(&c->changed);
	for (struct t_stop *s = c->stops; s; s = s->next) {
		if (s->state != STOP_WAITING)
			continue;
		s->state = STOP_STARTED;
		if (hooks->n == hooks->cap) {
			hooks->cap = hooks->cap ? hooks->cap * 2 : 8;
			hooks->v = reallocarray(hooks->v, hooks->cap,
			                        sizeof(*hooks->v));
			if (hooks->v == NULL)
				abort();
		}
		hooks->v[hooks->n++] = s;
	}
	struct t_ctx *child;
	LIST_FOREACH(child, &c->children, link)
		cancel_locked(child, cause, hooks);
}

/* A new context under parent, cancelled already if parent is. */
static struct t_ctx *ctx_new_locked(struct t_ctx *parent)
{
	struct t_ctx *c = deft_xcalloc(1, sizeof(*c));
	ctx_init(c, parent);
	if (parent && parent->done) {
		struct hook_list none = {0};
		cancel_locked(c, parent->cause, &none);
	}
	return c;
}

static struct t_ctx *test_ctx_locked(T *t)
{
	if (t->ctx)
		return t->ctx;      /* only ever set under ctx_lock */
	struct t_ctx *parent;
	if (t->group)
		parent = deft_group_ctx(t->group);
	else if (t->parent)
		parent = test_ctx_locked(t->parent);
	else
		parent = &run_ctx;
	if (canceller_lazy) {
		canceller_lazy = false;
		start_canceller();
	}
	struct t_ctx *c = ctx_new_locked(parent);
	/* Pairs with deft_ctx_cancel_test, which takes no lock: each side
	 * stores, then loads the other's store (sequentially consistent), so
	 * at least one of them sees the other and the context is cancelled. */
	__atomic_store_n(&t->ctx, c, __ATOMIC_SEQ_CST);
	const char *over = __atomic_load_n(&t->ctx_over, __ATOMIC_SEQ_CST);
	if (over) {
		struct hook_list none = {0};
		cancel_locked(c, over, &none);
	}
	return c;
}

struct t_ctx *deft_ctx_new(T *t)
{
	pthread_mutex_lock(&ctx_lock);
	struct t_ctx *c = ctx_new_locked(test_ctx_locked(t));
	pthread_mutex_unlock(&ctx_lock);
	return c;
}

void deft_ctx_cancel(struct t_ctx *c, const char *cause)
{
	struct hook_list hooks = {0};
	pthread_mutex_lock(&ctx_lock);
	cancel_locked(c, cause, &hooks);
	pthread_mutex_unlock(&ctx_lock);
	hooks_start(&hooks);
}

void deft_ctx_free(struct t_ctx *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&ctx_lock);
	if (c->parent)
		LIST_REMOVE(c, link);
	struct t_ctx *child;
	while ((child = LIST_FIRST(&c->children))) {
		LIST_REMOVE(child, link);
		child->parent = NULL;
	}
	pthread_mutex_unlock(&ctx_lock);
	for (int i = 0; i < 2; i++)
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	while (c->stops) {
		struct t_stop *next = c->stops->next;
		free(c->stops);
		c->stops = next;
	}
	pthread_cond_destroy(&c->changed);
	free(c->cause);
	free(c);
}

void deft_ctx_cancel_test(T *t, const char *cause)
{
	__atomic_store_n(&t->ctx_over, cause, __ATOMIC_SEQ_CST);
	struct t_ctx *c = __atomic_load_n(&t->ctx, __ATOMIC_SEQ_CST);
	if (c)
		deft_ctx_cancel(c, cause);
}

void deft_ctx_test_fds(T *t, int fds[2])
{
	pthread_mutex_lock(&ctx_lock);
	fds[0] = t->ctx ? t->ctx->fd[0] : -1;
	fds[1] = t->ctx ? t->ctx->fd[1] : -1;
	pthread_mutex_unlock(&ctx_lock);
}

void deft_ctx_free_test(T *t)
{
	deft_ctx_free(t->ctx);
	t->ctx = NULL;
}

t_ctx *t_context(T *t)
{
	pthread_mutex_lock(&ctx_lock);
	struct t_ctx *c = test_ctx_locked(t);
	pthread_mutex_unlock(&ctx_lock);
	return c;
}

bool t_ctx_done(t_ctx *c)
{
	return __atomic_load_n(&c->done, __ATOMIC_ACQUIRE);
}

const char *t_ctx_cause(t_ctx *c)
{
	return t_ctx_done(c) ? c->cause : NULL;
}

int t_ctx_fd(t_ctx *c)
{
	pthread_mutex_lock(&ctx_lock);
	if (c->fd[0] < 0) {
		if (pipe2(c->fd, O_CLOEXEC | O_NONBLOCK) != 0) {
			c->fd[0] = c->fd[1] = -1;
			pthread_mutex_unlock(&ctx_lock);
			return -1;
		}
		if (c->done) {
			close(c->fd[1]);
			c->fd[1] = -1;
		}
	}
	int fd = c->fd[0];
	pthread_mutex_unlock(&ctx_lock);
	return fd;
}

bool t_ctx_wait(t_ctx *c, int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	if (timeout_ms > 0) {
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&ctx_lock);
	while (!c->done && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&c->changed, &ctx_lock);
		else if (pthread_cond_timedwait(&c->changed, &ctx_lock,
		                                &until) == ETIMEDOUT)
			break;
	}
	bool done = c->done;
	pthread_mutex_unlock(&ctx_lock);
	return done;
}

bool t_sleep(T *t, int ms)
{
	return !t_ctx_wait(t_context(t), ms < 0 ? 0 : ms);
}

t_stop *t_after_cancel(t_ctx *c, void (*fn)(void *), void *arg)
{
	struct t_stop *s = deft_xcalloc(1, sizeof(*s));
	s->fn = fn;
	s->arg = arg;
	struct hook_list hooks = {0};
	pthread_mutex_lock(&ctx_lock);
	s->next = c->stops;
	c->stops = s;
	if (c->done) {
		s->state = STOP_STARTED;
		hooks.v = deft_xcalloc(1, sizeof(*hooks.v));
		hooks.v[0] = s;
		hooks.n = hooks.cap = 1;
	}
	pthread_mutex_unlock(&ctx_lock);
	hooks_start(&hooks);
	return s;
}

bool t_stop_call(t_stop *s)
{
	pthread_mutex_lock(&ctx_lock);
	bool prevented = s->state == STOP_WAITING;
	if (prevented)
		s->state = STOP_STOPPED;
	pthread_mutex_unlock(&ctx_lock);
	return prevented;
}

/* ---- the run: signals and the deadline ---- */

static int wake_pipe[2] = {-1, -1};
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
		deft_ctx_cancel(&run_ctx, cause);
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
	if (deft_thread_start(canceller_main, NULL) != 0) {
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
	snprintf(deadline_what, sizeof(deadline_what), "%s", what);
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

void deft_ctx_after_fork(void)
{
	pthread_mutex_init(&ctx_lock, NULL);
	if (wake_pipe[0] < 0)
		return;
	/* The pipe is shared with the parent, whose canceller reads it:
	 * the child needs its own pipe and thread. */
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
	start_canceller();
}
