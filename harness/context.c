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
 * it is polled or read.  What cancels the run's context, its signals and
 * its deadline, is run_deadline.c.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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
	deft_free(p);
	pthread_setname_np(pthread_self(), "deft-after");
	call.fn(call.arg);
	return NULL;
}

static void hooks_start(struct hook_list *h)
{
	for (size_t i = 0; i < h->n; i++) {
		struct t_stop *copy = deft_xcalloc(1, sizeof(*copy));
		*copy = *h->v[i];
		if (deft_thread_start(hook_main, copy, NULL) != 0) {
			/* No thread to spare: run it here, late but once. */
			deft_free(copy);
			h->v[i]->fn(h->v[i]->arg);
		}
	}
	deft_free(h->v);
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
			hooks->v = deft_xreallocarray(hooks->v, hooks->cap,
			                              sizeof(*hooks->v));
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
	deft_run_canceller_wanted();
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
		deft_free(c->stops);
		c->stops = next;
	}
	pthread_cond_destroy(&c->changed);
	deft_free(c->cause);
	deft_free(c);
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

void deft_ctx_cancel_run(const char *cause)
{
	deft_ctx_cancel(&run_ctx, cause);
}

void deft_ctx_after_fork(void)
{
	ctx_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	deft_run_canceller_after_fork();
}
