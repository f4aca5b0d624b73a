/*
 * runner.c - the life of one test: start, body, cleanups, result.
 *
 * A test body and each of its cleanups are called through
 * call_stoppable(), which is where t_fatal and t_skip land: they
 * siglongjmp back to the innermost stoppable call of their test.  That is
 * the C analogue of Go's runtime.Goexit; no C++ destructors or other
 * unwinding is involved.
 */
#define _GNU_SOURCE     /* pthread_getattr_np */
#include "internal.h"
#include "../reporters/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* A test body that pauses (t_parallel) goes on on another thread, so no
 * function may keep the address of this thread-local across a call that
 * may pause: only these two, which are never inlined, touch it. */
static _Thread_local T *current;
static unsigned last_id;
unsigned deft_failures;

DEFT_NOINLINE T *deft_current(void)
{
	T *t = current;
	__asm__ __volatile__("" : "+r"(t));
	return t;
}

DEFT_NOINLINE void deft_set_current(T *t)
{
	__asm__ __volatile__("" : "+r"(t));
	current = t;
}

T *deft_test_new(T *parent, const char *name)
{
	T *t = deft_xcalloc(1, sizeof(*t));
	t->parent = parent;
	t->name = deft_xstrdup(name);
	t->id = __atomic_add_fetch(&last_id, 1, __ATOMIC_RELAXED);
	t->depth = parent ? parent->depth + 1 : 0;
	LIST_INIT(&t->cleanups);
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

/* Frees all but the struct and its name: its cleanups and their arena,
 * its groups, its context and the names of its subtests.  Called again,
 * it frees what a late call (below) made since. */
static void release(T *t)
{
	deft_groups_free(t);
	deft_ctx_free_test(t);
	deft_free(t->first_failure);
	t->first_failure = NULL;
	deft_names_free(t);
	deft_arena_free(&t->arena);
	LIST_INIT(&t->cleanups);
}

static void free_shell(T *t)
{
	release(t);
	pthread_mutex_destroy(&t->mu);
	deft_free(t->name);
	deft_free(t);
}

/* Top-level tests whose shells are kept to the end of the run: never
 * walked, but held, so that LeakSanitizer sees them reachable. */
static T *kept;

static void push_shell(T **list, T *t)
{
	T *head = __atomic_load_n(list, __ATOMIC_RELAXED);
	do
		t->next_retired = head;
	while (!__atomic_compare_exchange_n(list, &head, t, true,
	                                    __ATOMIC_RELEASE,
	                                    __ATOMIC_RELAXED));
}

/* A finished subtest keeps its struct and name until its top-level test is
 * freed: a thread it started may outlive it and log on it, and log.c
 * sends the line to the nearest running ancestor, as Go does.  A few
 * hundred bytes each.  A top-level test that a thread outlived (the leak
 * check saw it still running) is never freed, nor its subtests' shells:
 * that thread may still call on any of them, however late. */
void deft_test_free(T *t)
{
	if (t->parent) {
		release(t);
		T *top = t->parent;
		while (top->parent)
			top = top->parent;
		push_shell(&top->retired, t);
		return;
	}
	if (t->outlived) {
		release(t);
		push_shell(&kept, t);
		return;
	}
	for (T *r = t->retired, *next; r; r = next) {
		next = r->next_retired;
		free_shell(r);
	}
	free_shell(t);
}

/* Calls fn(t, arg) so that t_fatal and t_skip on t come back here. */
void deft_call_stoppable(T *t, t_fn *fn, void *arg)
{
	sigjmp_buf env;
	sigjmp_buf *outer = t->exit_to;
	t->exit_to = &env;
	if (sigsetjmp(env, 0) == 0)
		fn(t, arg);
	if (deft_forked)
		deft_forked_returned(t);
	if (deft_forked_pending())
		deft_forked_collect(t);
	t->exit_to = outer;
}

/* The lowest address of the calling thread's own stack; 0 until
 * deft_stack_learn, or if it could not be learned. */
static _Thread_local uintptr_t thread_stack_low;

void deft_stack_learn(void)
{
	pthread_attr_t a;
	if (thread_stack_low || pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	void *low;
	size_t size;
	if (pthread_attr_getstack(&a, &low, &size) == 0)
		thread_stack_low = (uintptr_t)low;
	pthread_attr_destroy(&a);
}

/* The lowest address of the stack t's body runs on, a fiber's or the
 * calling thread's own; 0 if unknown. */
static uintptr_t body_stack_low(const T *t)
{
	uintptr_t low = (uintptr_t)deft_fiber_stack_low(t);
	if (low == 0) {
		deft_stack_learn();
		low = thread_stack_low;
	}
	return low;
}

bool deft_in_frames_below(const T *t, const void *from, const void *p)
{
	/* Only on t's body stack do the frames from there up to
	 * deft_test_run's belong to the body: not on a signal stack or a
	 * coroutine's. */
	uintptr_t low = body_stack_low(t), f = (uintptr_t)from;
	uintptr_t top = (uintptr_t)t->body_top, a = (uintptr_t)p;
	return top != 0 && low != 0 && f >= low && f < top && a >= f &&
	       a < top;
}

DEFT_NOINLINE bool deft_in_body_frames(T *t, const void *p)
{
	return deft_current() == t &&
	       deft_in_frames_below(t, __builtin_frame_address(0), p);
}

static enum deft_result result_of(T *t)
{
	if (t->group && deft_group_cancelled_member(t))
		return DEFT_SKIP;
	if (t_failed(t))
		return DEFT_FAIL;
	return t_skipped(t) ? DEFT_SKIP : DEFT_PASS;
}

void deft_test_report_start(T *t)
{
	if (t->start_reported)
		return;
	t->start_reported = true;
	struct deft_test_info info = {t->id, t->parent ? t->parent->id : 0,
	                              t->name, t->file, t->line, t->retry};
	deft_report_start(&info);
}

/* Whether failed test t runs again (-retries): a top-level test run in
 * line by this process's loop over tests, with retries left, in a run
 * that goes on.  A test's own process leaves retrying to its supervisor,
 * and a top-level test that called t_parallel finishes on a thread of
 * its own, after the loop has gone on: neither is retried here. */
static bool will_retry(const T *t)
{
	return t->depth == 0 && !t->is_main_cleanup && !t->parallel &&
	       !deft_child_isolated() && t->retry < deft_opt.retries &&
	       !deft_run_interrupted() && !deft_run_timed_out();
}

bool deft_test_run(T *t, t_fn *fn, void *arg)
{
	T *outer = deft_current();
	deft_test_report_start(t);
	clock_gettime(CLOCK_MONOTONIC, &t->started);
	t->thread = pthread_self();
	deft_set_current(t);
	if (t->depth == 0)
		deft_leak_before(t);
	t->body_top = __builtin_frame_address(0);
	deft_call_stoppable(t, fn, arg);
	deft_family_finish(t);
	deft_ctx_cancel_test(t, "context canceled: the test is done and its "
	                     "cleanups are running");
	deft_cleanups_run_all(t);
	/* As a test's process is, when the run ends or is interrupted while
	 * it runs (deft_sup_describe_end). */
	enum deft_ending ending = DEFT_ENDED;
	const char *detail = NULL;
	if (t->depth == 0 && !t->is_main_cleanup && !deft_child_isolated()) {
		if (deft_run_timed_out()) {
			deft_fail_at(t, NULL, 0, "deft: the run timed out "
			             "(-timeout) while the test ran");
			ending = DEFT_TIMED_OUT;
			detail = DEFT_RUN_TIMEOUT_DETAIL;
		} else if (deft_run_interrupted()) {
			deft_fail_at(t, NULL, 0, "deft: the run was "
			             "interrupted while this test ran");
			ending = DEFT_INTERRUPTED;
		}
	}
	if (t->depth == 0)
		deft_leak_after(t);
	/* A test resumed by a carrier thread is not its parent's now. */
	deft_set_current(t->on_carrier ? NULL : outer);
	enum deft_result res = result_of(t);
	__atomic_store_n(&t->finished, true, __ATOMIC_RELEASE);

	t->retried = res == DEFT_FAIL && will_retry(t);
	if (res == DEFT_FAIL && !t->retried)
		__atomic_add_fetch(&deft_failures, 1, __ATOMIC_RELAXED);
	struct deft_test_end end = {res, ending, detail,
	                            t->elapsed_before +
	                            deft_seconds_since(&t->started),
	                            t->retried};
	deft_report_end(t->id, &end);
	return deft_test_retire(t);
}

void deft_call_def(T *t, void *def)
{
	((const struct deft_test_def *)def)->fn(t);
}

T *deft_top_level_new(const struct deft_test_def *def)
{
	T *t = deft_test_new(NULL, def->name);
	t->file = def->file;
	t->line = def->line;
	return t;
}

void deft_run_def(const struct deft_test_def *def)
{
	T *t = deft_top_level_new(def);
	deft_test_run(t, deft_call_def, (void *)def);
	deft_test_free(t);
}

/* Stops a thread that called t_fatal on a test it does not run. */
static DEFT_NORETURN void stop_foreign_thread(T *t)
{
	deft_emit(t, NULL, 0,
	          "t_fatal/t_skip/t_failnow called on test %s from a thread "
	          "that does not run it: the test is marked failed and the "
	          "calling thread exits",
	          t->name);
	deft_mark_failed(t);
	pthread_exit(NULL);
}

static bool is_ancestor(const T *a, const T *t)
{
	for (; t; t = t->parent)
		if (t == a)
			return true;
	return false;
}

void deft_stop(T *t)
{
	deft_death_child_stop();
	T *cur = deft_current();
	if (cur && !is_ancestor(t, cur)) {
		/* A test body stopping some other test: end the caller's
		 * own test rather than the harness thread it runs on. */
		deft_emit(t, NULL, 0, "t_fatal/t_skip/t_failnow called on "
		          "test %s from test %s, which does not run it: the "
		          "test is marked failed", t->name, cur->name);
		deft_mark_failed(t);
		deft_fail_at(cur, NULL, 0, "called t_fatal/t_skip/t_failnow "
		             "on test %s, which it does not run", t->name);
		t = cur;
	}
	if (cur == NULL || !pthread_equal(cur->thread, pthread_self()) ||
	    __atomic_load_n(&t->finished, __ATOMIC_ACQUIRE))
		stop_foreign_thread(t);
	if (cur != t) {
		/* t is an ancestor of the running subtest: stop the subtest,
		 * and t when control is back in it (see t_run). */
		deft_emit(cur, NULL, 0,
		          "stopped because parent test %s called t_fatal, "
		          "t_skip or t_failnow", t->name);
		deft_mark_failed(cur);
		for (T *p = cur->parent; p && p != t; p = p->parent)
			__atomic_store_n(&p->stop_pending, true,
			                 __ATOMIC_RELEASE);
		__atomic_store_n(&t->stop_pending, true, __ATOMIC_RELEASE);
		t = cur;
	}
	if (t->exit_to == NULL) {
		fprintf(stderr, "deft: internal error: test %s stopped with "
		        "nowhere to return to\n", t->name);
		abort();
	}
	siglongjmp(*t->exit_to, 1);
}

const char *t_name(T *t)
{
	return t->name;
}

bool t_failed(T *t)
{
	return __atomic_load_n(&t->failed, __ATOMIC_ACQUIRE);
}

bool t_skipped(T *t)
{
	return __atomic_load_n(&t->skipped, __ATOMIC_ACQUIRE);
}
