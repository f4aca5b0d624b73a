/*
 * cleanup.c - each test's last-in, first-out stack of cleanups.
 *
 * The stack is an intrusive list whose head is the top.  Records come from
 * the test's arena and stay there until the test is freed, so a handle can
 * be cancelled or run early at any time while its test lives, and a second
 * cancel is a harmless no-op.  One helper per rule of DESIGN.md section 3:
 * cleanup_push (rule 1), cleanup_remove (rule 2), deft_cleanups_run_all
 * (rules 3, 4 and 6), cleanup_run_one (rules 5 and 8).
 */
#include "internal.h"

static struct t_cleanup_handle *cleanup_push(T *t, const char *file,
                                             int line, const char *what,
                                             t_fn *fn, void *arg)
{
	pthread_mutex_lock(&t->mu);
	struct t_cleanup_handle *h = deft_arena_alloc(&t->arena, sizeof(*h));
	*h = (struct t_cleanup_handle){.owner = t, .fn = fn, .arg = arg,
	                               .file = file, .line = line,
	                               .what = what};
	LIST_INSERT_HEAD(&t->cleanups, h, link);
	pthread_mutex_unlock(&t->mu);
	return h;
}

/* Takes h off the stack; returns whether it was still waiting to run. */
static bool cleanup_remove(T *t, struct t_cleanup_handle *h)
{
	pthread_mutex_lock(&t->mu);
	bool pending = h->state == DEFT_CLEANUP_PENDING;
	if (pending) {
		LIST_REMOVE(h, link);
		h->state = DEFT_CLEANUP_RUNNING;
	}
	pthread_mutex_unlock(&t->mu);
	return pending;
}

/* Runs one cleanup; t_fatal or t_skip in it stop only it (rule 5). */
static void cleanup_run_one(T *t, struct t_cleanup_handle *h)
{
	struct t_cleanup_handle *outer = t->in_cleanup;
	t->in_cleanup = h;
	deft_call_stoppable(t, h->fn, h->arg);
	t->in_cleanup = outer;
	h->state = DEFT_CLEANUP_DONE;
}

void deft_cleanups_run_all(T *t)
{
	for (;;) {
		pthread_mutex_lock(&t->mu);
		struct t_cleanup_handle *h = LIST_FIRST(&t->cleanups);
		if (h) {
			LIST_REMOVE(h, link);
			h->state = DEFT_CLEANUP_RUNNING;
		}
		pthread_mutex_unlock(&t->mu);
		if (h == NULL)
			return;
		cleanup_run_one(t, h);
	}
}

bool deft_cleanup_arg_refused(T *t, const char *file, int line,
                              const char *api, const char *what,
                              const void *arg)
{
	if (t == NULL || !deft_in_body_frames(t, arg))
		return false;
	deft_fail_at(t, file, line, "%s(%s): its argument points into the "
	             "stack of the function that registers it, which is "
	             "gone when the cleanup runs; keep it in static or "
	             "allocated memory (the cleanup is not registered)",
	             api, what);
	return true;
}

t_handle deft_cleanup(T *t, const char *file, int line, const char *what,
                      t_fn *fn, void *arg)
{
	if (fn == NULL) {
		deft_fail_at(t, file, line, "t_cleanup: function is NULL");
		return NULL;
	}
	if (deft_cleanup_arg_refused(t, file, line, "t_cleanup", what, arg))
		return NULL;
	return cleanup_push(t, file, line, what, fn, arg);
}

void deft_cleanup_attach_call(t_handle h, const struct deft_call *call)
{
	h->call = call;
}

/* Whether h may be used on t; a wrong handle fails the test. */
static bool handle_ok(T *t, t_handle h, const char *fn)
{
	if (h == NULL)
		return false;
	if (h->owner != t) {
		deft_fail_at(t, NULL, 0, "%s: the handle belongs to another "
		             "test than %s", fn, t->name);
		return false;
	}
	return true;
}

void t_cleanup_cancel(T *t, t_handle h)
{
	if (handle_ok(t, h, "t_cleanup_cancel") && cleanup_remove(t, h))
		h->state = DEFT_CLEANUP_DONE;
}

void t_cleanup_run_now(T *t, t_handle h)
{
	if (handle_ok(t, h, "t_cleanup_run_now") && cleanup_remove(t, h))
		cleanup_run_one(t, h);
}
