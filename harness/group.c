/*
 * group.c - errgroup-style groups of parallel subtests.
 *
 * A group belongs to the test that made it.  t_go starts a member at once
 * as a subtest of that test, on a thread of its own (members do not wait
 * for the parent's body to return, as t_parallel subtests do, and do not
 * count against -parallel: the group's own limit bounds them, as
 * errgroup's SetLimit does).  The first member to fail cancels the group's
 * context with a cause that names it and its first failure message; a
 * member that fails after that, or ends without failing once the group is
 * cancelled, stopped because of the cancellation and is reported skipped
 * with that cause, so a report shows the one root cause.
 *
 * A group's state is guarded by its own lock; its context is a child of
 * the test's, and each member's context a child of the group's.
 */
#include "internal.h"

#include <stdlib.h>

struct t_group {
	struct t_group *next;   /* in the owner's list */
	T *owner;
	struct t_ctx *ctx;
	pthread_mutex_t mu;
	pthread_cond_t changed;
	int limit;              /* 0: none */
	int active;             /* members started and not done */
	T *root;                /* the member whose failure cancelled it */
	char *cause;            /* "subtest a/b failed: ..." */
};

struct t_ctx *deft_group_ctx(struct t_group *g)
{
	return g->ctx;
}

t_group *t_group_new(T *t)
{
	struct t_group *g = deft_xcalloc(1, sizeof(*g));
	g->owner = t;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->changed, NULL);
	g->ctx = deft_ctx_new(t);
	pthread_mutex_lock(&t->mu);
	g->next = t->groups;
	t->groups = g;
	pthread_mutex_unlock(&t->mu);
	return g;
}

void deft_groups_free(T *t)
{
	while (t->groups) {
		struct t_group *g = t->groups;
		t->groups = g->next;
		deft_ctx_free(g->ctx);
		pthread_mutex_destroy(&g->mu);
		pthread_cond_destroy(&g->changed);
		deft_free(g->cause);
		deft_free(g);
	}
}

void t_group_limit(t_group *g, int n)
{
	pthread_mutex_lock(&g->mu);
	bool busy = g->active > 0;
	if (!busy)
		g->limit = n > 0 ? n : 0;
	pthread_mutex_unlock(&g->mu);
	if (busy)
		deft_fail_at(g->owner, NULL, 0, "t_group_limit: the limit of a "
		             "group cannot change while its members run");
}

void t_go(t_group *g, const char *name, t_fn *fn, void *arg)
{
	T *t = g->owner;
	if (!pthread_equal(t->thread, pthread_self()) ||
	    deft_current() != t ||
	    __atomic_load_n(&t->finished, __ATOMIC_ACQUIRE)) {
		deft_fail_at(t, NULL, 0, "t_go(\"%s\") called from a thread or "
		             "a place that is not running %s's body",
		             name ? name : "(null)", t->name);
		return;
	}
	if (name == NULL || fn == NULL) {
		deft_fail_at(t, NULL, 0, "t_go: %s is NULL",
		             name == NULL ? "the name" : "the function");
		return;
	}
	if (deft_run_interrupted())
		return;
	pthread_mutex_lock(&g->mu);
	while (g->limit > 0 && g->active >= g->limit)
		pthread_cond_wait(&g->changed, &g->mu);
	pthread_mutex_unlock(&g->mu);
	char *full = deft_subtest_name(t, "t_go", name);
	if (full == NULL)
		return;
	if (!deft_selected(full)) {
		deft_free(full);
		return;
	}
	T *sub = deft_test_new(t, full);
	deft_free(full);
	sub->group = g;
	sub->parallel = true;
	deft_test_report_start(sub);
	pthread_mutex_lock(&g->mu);
	g->active++;
	pthread_mutex_unlock(&g->mu);
	deft_test_start_member(sub, fn, arg);
}

void deft_group_member_done(T *t)
{
	struct t_group *g = t->group;
	pthread_mutex_lock(&g->mu);
	g->active--;
	pthread_cond_broadcast(&g->changed);
	pthread_mutex_unlock(&g->mu);
}

bool t_wait(t_group *g)
{
	pthread_mutex_lock(&g->mu);
	while (g->active > 0)
		pthread_cond_wait(&g->changed, &g->mu);
	bool ok = g->cause == NULL;
	pthread_mutex_unlock(&g->mu);
	/* As errgroup's Wait: the group's context ends when Wait returns. */
	deft_ctx_cancel(g->ctx, "context canceled: t_wait returned");
	T *t = g->owner;
	if (__atomic_load_n(&t->stop_pending, __ATOMIC_ACQUIRE) &&
	    deft_current() == t)
		deft_stop(t);   /* a member called t_fatal on the owner */
	return ok;
}

const char *t_group_cause(t_group *g)
{
	pthread_mutex_lock(&g->mu);
	const char *cause = g->cause;
	pthread_mutex_unlock(&g->mu);
	return cause;
}

/* Member m of g has failed: the first cancels g, later ones stopped. */
static void member_failed(struct t_group *g, T *m, T *origin)
{
	pthread_mutex_lock(&g->mu);
	if (g->root == m) {
		pthread_mutex_unlock(&g->mu);
		return;
	}
	if (g->root) {
		m->stopped_by_group = true;
		pthread_mutex_unlock(&g->mu);
		return;
	}
	g->root = m;
	struct deft_buf b = DEFT_BUF_INIT;
	deft_buf_printf(&b, "subtest %s failed", origin->name);
	pthread_mutex_lock(&origin->mu);
	if (origin->first_failure)
		deft_buf_printf(&b, ": %s", origin->first_failure);
	pthread_mutex_unlock(&origin->mu);
	g->cause = deft_buf_take(&b);
	struct deft_buf cause = DEFT_BUF_INIT;
	deft_buf_printf(&cause, "cancelled: %s", g->cause);
	pthread_mutex_unlock(&g->mu);
	deft_ctx_cancel(g->ctx, cause.data);
	deft_buf_free(&cause);
}

void deft_group_note_failure(T *t)
{
	for (T *m = t; m; m = m->parent)
		if (m->group)
			member_failed(m->group, m, t);
}

bool deft_group_cancelled_member(T *t)
{
	struct t_group *g = t->group;
	pthread_mutex_lock(&g->mu);
	bool stopped = g->root && g->root != t &&
	               (t->stopped_by_group || !t_failed(t));
	pthread_mutex_unlock(&g->mu);
	if (stopped)
		deft_emit_reason(t, "stopped: cancelled: %s", g->cause);
	return stopped;
}
