/*
 * parallel.c - when test bodies run: t_parallel, -parallel, families.
 *
 * What they run on (fibers, carrier threads, workers) is carrier.c's.
 *
 * Scheduling follows Go's testing.go exactly: a test that calls t_parallel
 * reports PAUSE, lets its t_run return, waits until its parent's body has
 * returned (the family is "released"), then waits for one of -parallel
 * slots and reports CONT.  A parent with parallel children gives up its
 * slot while it waits for them, and a sequential parent takes one again
 * afterwards.  Top-level tests form the family of the run itself,
 * released once the sequential top-level tests are done.
 *
 * Top-level tests run in line, on the thread that runs the loop over them
 * (cli.c), so that a sequential top-level test costs no hand-off at all.
 * The loop keeps its place in memory, not on the stack: when a top-level
 * test pauses, a new thread ("deft-runner") resumes the loop while the
 * paused test keeps the old thread's stack, and the thread that finishes
 * the loop tells the one waiting in t_main (deft_top_level_join).
 */
#define _GNU_SOURCE
#include "internal.h"
#include "word.h"
#include "../reporters/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- -parallel slots ----
 *
 * Paused tests whose parent's body is over wait in one FIFO queue; a slot
 * that is given back goes straight to the head of the queue, so each
 * hand-over wakes exactly one thread, whatever the number waiting. */

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static long slots_used = 1;     /* the sequential chain of tests holds one */
static long slots_max;
static T *ready_head, **ready_tail = &ready_head;

void deft_parallel_set_limit(long n)
{
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	slots_max = n > 0 ? n : 1;
}

/* Grants free slots to the queue's head; slot_lock held. */
static void slots_grant_locked(void)
{
	if (slots_max == 0)
		deft_parallel_set_limit(0);
	while (ready_head && slots_used < slots_max) {
		T *t = ready_head;
		ready_head = t->next_ready;
		if (ready_head == NULL)
			ready_tail = &ready_head;
		slots_used++;
		if (t->fiber_paused)
			deft_carrier_push(t);
		else
			word_set(&t->granted, 1, false);
	}
}

/* Queues t for a slot (and grants what is free); slot_lock held. */
static void slot_enqueue_locked(T *t)
{
	t->next_ready = NULL;
	*ready_tail = t;
	ready_tail = &t->next_ready;
}

/* Takes a slot for t's thread, waiting in the queue for one. */
static void slot_acquire(T *t)
{
	t->granted = 0;
	pthread_mutex_lock(&slot_lock);
	slot_enqueue_locked(t);
	slots_grant_locked();
	pthread_mutex_unlock(&slot_lock);
	word_wait_spin(&t->granted, 0);
}

static void slot_release(void)
{
	pthread_mutex_lock(&slot_lock);
	slots_used--;
	slots_grant_locked();
	pthread_mutex_unlock(&slot_lock);
}

/* ---- families ---- */

static pthread_mutex_t family_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t family_changed = PTHREAD_COND_INITIALIZER;
static struct deft_family root_family;

static struct deft_family *family_of(T *parent)
{
	return parent ? &parent->family : &root_family;
}

static void family_add(struct deft_family *f, T *t)
{
	pthread_mutex_lock(&family_lock);
	t->next_sibling = f->children;
	__atomic_store_n(&f->children, t, __ATOMIC_RELEASE);
	f->running++;
	pthread_mutex_unlock(&family_lock);
}

/* Queues f's paused children for slots, in the order they started. */
static void family_release(struct deft_family *f)
{
	pthread_mutex_lock(&family_lock);
	T *rev = NULL;
	for (T *c = f->children; c; c = c->next_sibling)
		if (c->group == NULL) {
			c->next_ready = rev;
			rev = c;
		}
	pthread_mutex_unlock(&family_lock);
	pthread_mutex_lock(&slot_lock);
	while (rev) {
		T *next = rev->next_ready;
		slot_enqueue_locked(rev);
		rev = next;
	}
	slots_grant_locked();
	pthread_mutex_unlock(&slot_lock);
}

/* Releases f's paused children, waits for all, and frees them. */
static void family_wait(struct deft_family *f)
{
	family_release(f);
	pthread_mutex_lock(&family_lock);
	while (f->running > 0)
		pthread_cond_wait(&family_changed, &family_lock);
	T *c = f->children;
	f->children = NULL;
	pthread_mutex_unlock(&family_lock);
	while (c) {
		T *next = c->next_sibling;
		deft_test_free(c);
		c = next;
	}
}

void deft_family_finish(T *t)
{
	/* Children join t's family before they hand t_run back (or on t's
	 * own thread, for group members), so no lock is needed to look. */
	if (__atomic_load_n(&t->family.children, __ATOMIC_ACQUIRE) == NULL)
		return;
	if (t->group == NULL) {
		/* Group members hold no slot: the group's limit bounds them. */
		slot_release();
		t->holds_slot = false;
		t->reacquire = !t->parallel;
	}
	family_wait(&t->family);
}

bool deft_test_retire(T *t)
{
	if (t->on_carrier)
		deft_carrier_will_look();
	if (t->holds_slot)
		slot_release();
	if (t->reacquire)
		slot_acquire(t);
	if (!t->parallel && t->group == NULL)
		return true;
	if (t->group)
		deft_group_member_done(t);
	struct deft_family *f = family_of(t->parent);
	pthread_mutex_lock(&family_lock);
	if (--f->running == 0)
		pthread_cond_broadcast(&family_changed);
	pthread_mutex_unlock(&family_lock);
	return false;
}

void deft_test_start_member(T *t, t_fn *fn, void *arg)
{
	family_add(family_of(t->parent), t);
	deft_worker_post(t, fn, arg);
}

/* The rest of the run, for a top-level test that pauses. */
static bool (*run_resume)(void *);
static void *run_resume_arg;
static T *run_inline;           /* the top-level test run in line */
static int run_done;            /* word: 1 once the run's loop is over */
static _Thread_local bool handed_over;  /* this thread's test paused */

bool deft_top_level_run(T *t, t_fn *fn, void *arg,
                        bool (*resume)(void *), void *resume_arg,
                        bool *retried)
{
	run_resume = resume;
	run_resume_arg = resume_arg;
	run_inline = t;
	handed_over = false;
	deft_test_run(t, fn, arg);
	if (handed_over)
		return false;   /* the root family frees t */
	*retried = t->retried;
	deft_test_free(t);
	return true;
}

static void *resume_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "deft-runner");
	if (run_resume(run_resume_arg))
		word_set(&run_done, 1, false);
	return NULL;
}

/* Top-level test t pauses: a new thread carries on with the run. */
static void hand_over_run(T *t)
{
	run_inline = NULL;
	handed_over = true;
	int rc = deft_thread_start(resume_main, NULL, NULL);
	if (rc != 0) {
		fprintf(stderr, "deft: cannot start a thread to carry on "
		        "after %s paused: %s\n", t->name, strerror(rc));
		abort();
	}
}

void deft_top_level_join(void)
{
	word_wait(&run_done);
	run_done = 0;
}

void deft_top_level_wait(void)
{
	pthread_mutex_lock(&family_lock);
	bool any = root_family.children != NULL;
	pthread_mutex_unlock(&family_lock);
	if (!any)
		return;
	slot_release();
	family_wait(&root_family);
	T waiter;               /* only its queue fields are used */
	waiter.fiber_paused = false;
	slot_acquire(&waiter);
}

/* Whether t may pause here; a misuse fails the test and stops it. */
static void check_may_pause(T *t)
{
	if (!pthread_equal(t->thread, pthread_self()) ||
	    deft_current() != t ||
	    __atomic_load_n(&t->finished, __ATOMIC_ACQUIRE)) {
		deft_emit(t, NULL, 0, "t_parallel(%s) called from a thread "
		          "or a place that is not running its body", t->name);
		deft_mark_failed(t);
		deft_stop(t);
	}
	const char *why = NULL;
	if (t->group)
		why = "t_parallel called in a group member, which runs in "
		      "parallel already";
	else if (t->parallel)
		why = "t_parallel called multiple times";
	else if (t->sets_process_state)
		why = "t_parallel called after t_setenv or t_chdir; a test "
		      "that changes the process's state cannot run in "
		      "parallel";
	else if (t->in_cleanup)
		why = "t_parallel called from a cleanup";
	if (why) {
		deft_fail_at(t, NULL, 0, "%s", why);
		deft_stop(t);
	}
}

void t_parallel(T *t)
{
	check_may_pause(t);
	t->parallel = true;
	t->elapsed_before += deft_seconds_since(&t->started);
	if (t->parent == NULL && deft_child_isolated()) {
		/* Alone in its process: the supervisor runs it with the
		 * other parallel top-level tests' processes. */
		deft_child_wait_turn(t);
		clock_gettime(CLOCK_MONOTONIC, &t->started);
		return;
	}
	if (deft_fiber_arg_on_parent_stack(t))
		deft_emit(t, NULL, 0, "t_parallel: the argument t_run gave "
		          "this subtest points into the stack of %s's body, "
		          "which returns before the subtest resumes; read "
		          "what it needs through it before t_parallel, or keep "
		          "it in static or allocated memory", t->parent->name);
	family_add(family_of(t->parent), t);
	deft_report_pause(t->id);
	if (t->runner) {
		deft_fiber_pause(t);    /* family_release queues t */
	} else {
		/* A top-level test, run in line by the run's loop. */
		hand_over_run(t);
		word_wait_spin(&t->granted, 0); /* family_release queued t */
	}
	t->holds_slot = true;
	deft_report_cont(t->id);
	clock_gettime(CLOCK_MONOTONIC, &t->started);
}

void deft_parallel_after_fork(void)
{
	deft_carrier_after_fork();
	slot_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	slots_used = 1;
	ready_head = NULL;
	ready_tail = &ready_head;
	family_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	family_changed = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	root_family = (struct deft_family){NULL, 0};
	run_done = 0;
}
