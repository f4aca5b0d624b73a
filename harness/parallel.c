/*
 * parallel.c - where test bodies run: t_parallel, -parallel, groups.
 *
 * Go's t.Parallel pauses a subtest in the middle of its body and lets
 * t.Run return in the parent, so a body needs a stack that outlives the
 * call that started it.  deft gives every subtest a fiber (fiber.c): a
 * stack of its own, switched to in user space.  t_run switches to the
 * subtest's fiber on the calling thread and gets control back when the
 * subtest ends or pauses; a paused subtest that is given a slot is queued
 * for a carrier thread, which switches to it and runs it to its end.
 * A carrier that ends a test takes the next one queued, so a family of
 * parallel subtests drains without a kernel wake-up per test.
 *
 * Threads alone (an earlier design) cost two or three kernel wake-ups per
 * parallel subtest, each 2-10 us on a VM; measured with bench/ on a 2-CPU
 * VM next to Go's testing package in the same run, fibers made a parallel
 * subtest 2.6-4.7 us instead of 25-30 us (Go 6-7 us), and a sequential one
 * 0.7 us instead of 1-3 us (Go 5-6 us).  The price: a subtest's body
 * before t_parallel runs on its parent's thread and the rest on a carrier,
 * so thread-local state (pthread_self, errno, the user's own) does not
 * carry across the call; deft's own current test is reset at each switch
 * (runner.c keeps it behind functions never inlined, so no compiler keeps
 * its address across a switch).  The sanitizers are told of each switch.
 *
 * Group members (t_go) start at once, each on a thread of a pool of
 * parked workers: they are meant to block, and run concurrently from the
 * start.  A member's own subtests run on fibers on its thread.
 *
 * Hand-off words (struct T's granted, a worker's or carrier's go) are
 * futex words with three states: 0 while nothing has happened,
 * WORD_SLEEPING when the waiter sleeps in the kernel, and the value set.
 * The setter only makes a system call when the waiter sleeps.
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
#include "fiber.h"
#include "../reporters/report.h"

#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { WORD_SLEEPING = -1 };
enum { SPINS = 400 };

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Spins up to spins rounds for *w to hold a value other than 0.
 * RETURNS: the value, or 0 if none came. */
static int word_spin(int *w, int spins)
{
	for (int i = 0; i < spins; i++) {
		int v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		if (v != 0 && v != WORD_SLEEPING)
			return v;
		/* Pause a little, then yield: on a machine whose other CPUs
		 * are busy the thread we wait for may need this one. */
		if (i < spins / 8)
			cpu_relax();
		else
			sched_yield();
	}
	return 0;
}

/* Waits until *w holds a value other than 0 and returns it, spinning
 * first for up to spins rounds. */
static int word_wait_spin(int *w, int spins)
{
	int got = word_spin(w, spins);
	if (got)
		return got;
	for (;;) {
		int v = 0;
		if (!__atomic_compare_exchange_n(w, &v, WORD_SLEEPING, false,
		                                 __ATOMIC_ACQUIRE,
		                                 __ATOMIC_ACQUIRE) &&
		    v != WORD_SLEEPING)
			return v;
		syscall(SYS_futex, w, FUTEX_WAIT, WORD_SLEEPING, NULL,
		        NULL, 0);
	}
}

static int word_wait(int *w)
{
	return word_wait_spin(w, SPINS);
}

/* Sets *w to v and wakes its waiters (all when many may wait).
 * RETURNS: whether a waiter was asleep. */
static bool word_set(int *w, int v, bool many)
{
	if (__atomic_exchange_n(w, v, __ATOMIC_ACQ_REL) != WORD_SLEEPING)
		return false;
	syscall(SYS_futex, w, FUTEX_WAKE, many ? INT_MAX : 1, NULL,
	        NULL, 0);
	return true;
}

/* Starts fn(arg) on a detached thread.
 * RETURNS: 0, or pthread_create's error. */
int deft_thread_start(void *(*fn)(void *), void *arg)
{
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return rc;
}

/* ---- the pool of workers, for group members ---- */

struct worker {
	T *t;
	t_fn *fn;
	void *arg;
	int go;                 /* word: 1 when a test is posted */
	struct worker *next;    /* in the idle stack */
};

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker *idle_workers;

static void *worker_main(void *p)
{
	struct worker *w = p;
	pthread_setname_np(pthread_self(), "deft-worker");
	deft_thread_altstack();
	for (;;) {
		word_wait_spin(&w->go, 0);
		__atomic_store_n(&w->go, 0, __ATOMIC_RELAXED);
		/* A member is its family's once it ends. */
		deft_test_run(w->t, w->fn, w->arg);
		pthread_mutex_lock(&idle_lock);
		w->next = idle_workers;
		idle_workers = w;
		pthread_mutex_unlock(&idle_lock);
	}
	return NULL;
}

/* Runs deft_test_run(t, fn, arg) on an idle worker, or a new one. */
static void post(T *t, t_fn *fn, void *arg)
{
	pthread_mutex_lock(&idle_lock);
	struct worker *w = idle_workers;
	if (w)
		idle_workers = w->next;
	pthread_mutex_unlock(&idle_lock);
	if (w == NULL) {
		w = deft_xcalloc(1, sizeof(*w));
		int rc = deft_thread_start(worker_main, w);
		if (rc != 0) {
			fprintf(stderr, "deft: cannot start a thread for test "
			        "%s: %s\n", t->name, strerror(rc));
			abort();
		}
	}
	w->t = t;
	w->fn = fn;
	w->arg = arg;
	word_set(&w->go, 1, false);
}

/* ---- fibers for subtests, and the carriers that resume them ----
 *
 * A sleeping carrier is woken, or a new one started, only when the queue
 * holds more tests than there are carriers between tests, which will
 * look at it before they sleep.  A carrier blocked inside a test (a
 * parent waiting for its children, a body in poll) is not one of them. */

struct deft_runner {
	struct deft_ctx ctx;
	struct deft_ctx *back;  /* where the test returns to or pauses to */
	T *t;
	t_fn *fn;
	void *arg;
	bool ended;
	struct deft_runner *next_free;
};

static pthread_mutex_t runner_lock = PTHREAD_MUTEX_INITIALIZER;
static struct deft_runner *free_runners;

static void runner_main(void *p)
{
	struct deft_runner *r = p;
	for (;;) {
		/* t is its family's once it ends, if it paused: not used
		 * after this returns. */
		deft_test_run(r->t, r->fn, r->arg);
		r->ended = true;
		deft_ctx_switch(&r->ctx, r->back);
	}
}

static struct deft_runner *runner_get(void)
{
	pthread_mutex_lock(&runner_lock);
	struct deft_runner *r = free_runners;
	if (r)
		free_runners = r->next_free;
	pthread_mutex_unlock(&runner_lock);
	if (r == NULL) {
		r = deft_xcalloc(1, sizeof(*r));
		deft_ctx_fiber(&r->ctx, runner_main, r);
	}
	return r;
}

static void runner_put(struct deft_runner *r)
{
	pthread_mutex_lock(&runner_lock);
	r->next_free = free_runners;
	free_runners = r;
	pthread_mutex_unlock(&runner_lock);
}

/* The calling thread, asked anew: pthread_self is declared const, so a
 * compiler may reuse its value across a switch that moved the caller. */
static DEFT_NOINLINE pthread_t self_thread(void)
{
	pthread_t self = pthread_self();
	__asm__ __volatile__("" : "+r"(self));
	return self;
}

struct carrier {
	int go;                 /* word: 1 when woken to look */
	struct carrier *next;   /* in the idle stack */
};

static pthread_mutex_t carrier_lock = PTHREAD_MUTEX_INITIALIZER;
static T *runq_head, **runq_tail = &runq_head;
static long runq_len;
static long looking;            /* carriers that will look at the queue */
static struct carrier *idle_carriers;

static void *carrier_main(void *p)
{
	struct carrier *c = p;
	pthread_setname_np(pthread_self(), "deft-worker");
	deft_thread_altstack();
	struct deft_ctx home;
	deft_ctx_here(&home);
	pthread_mutex_lock(&carrier_lock);
	for (;;) {
		T *t = runq_head;
		if (t == NULL) {
			looking--;
			c->go = 0;
			c->next = idle_carriers;
			idle_carriers = c;
			pthread_mutex_unlock(&carrier_lock);
			word_wait_spin(&c->go, 0);  /* the waker counts it */
			pthread_mutex_lock(&carrier_lock);
			continue;
		}
		runq_head = t->next_ready;
		if (runq_head == NULL)
			runq_tail = &runq_head;
		runq_len--;
		looking--;
		pthread_mutex_unlock(&carrier_lock);
		struct deft_runner *r = t->runner;
		r->back = &home;
		t->on_carrier = true;
		__atomic_store_n(&t->fiber_paused, false, __ATOMIC_RELAXED);
		deft_ctx_switch(&home, &r->ctx);
		/* Only the end of a test comes back here; deft_test_retire
		 * counted this carrier as looking. */
		deft_set_current(NULL);
		runner_put(r);
		pthread_mutex_lock(&carrier_lock);
	}
	return NULL;
}

/* Queues paused test t, granted a slot, for a carrier. */
static void carrier_push(T *t)
{
	pthread_mutex_lock(&carrier_lock);
	t->next_ready = NULL;
	*runq_tail = t;
	runq_tail = &t->next_ready;
	runq_len++;
	struct carrier *wake = NULL;
	bool start = false;
	if (runq_len > looking) {
		looking++;
		wake = idle_carriers;
		if (wake)
			idle_carriers = wake->next;
		else
			start = true;
	}
	pthread_mutex_unlock(&carrier_lock);
	if (wake)
		word_set(&wake->go, 1, false);
	if (start) {
		int rc = deft_thread_start(carrier_main,
		                           deft_xcalloc(1, sizeof(struct carrier)));
		if (rc != 0) {
			fprintf(stderr, "deft: cannot start a thread to run "
			        "test %s: %s\n", t->name, strerror(rc));
			abort();
		}
	}
}

/* The carrier running t, which is ending, will look at the queue next. */
static void carrier_will_look(void)
{
	pthread_mutex_lock(&carrier_lock);
	looking++;
	pthread_mutex_unlock(&carrier_lock);
}

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
			carrier_push(t);
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
		carrier_will_look();
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

bool deft_test_spawn(T *t, t_fn *fn, void *arg)
{
	T *parent = deft_current();
	struct deft_runner *r = runner_get();
	struct deft_ctx here;
	deft_ctx_here(&here);
	r->back = &here;
	r->t = t;
	r->fn = fn;
	r->arg = arg;
	r->ended = false;
	t->runner = r;
	deft_ctx_switch(&here, &r->ctx);
	deft_set_current(parent);
	if (!r->ended)
		return false;   /* paused: a carrier resumes it */
	t->runner = NULL;
	runner_put(r);
	return true;
}

void deft_test_start_member(T *t, t_fn *fn, void *arg)
{
	family_add(family_of(t->parent), t);
	post(t, fn, arg);
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
	int rc = deft_thread_start(resume_main, NULL);
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
	family_add(family_of(t->parent), t);
	deft_report_pause(t->id);
	struct deft_runner *r = t->runner;
	if (r) {
		/* Back to the parent's t_run; family_release queues t, and
		 * a carrier thread switches back here. */
		__atomic_store_n(&t->fiber_paused, true, __ATOMIC_RELAXED);
		deft_ctx_switch(&r->ctx, r->back);
		t->thread = self_thread();
		deft_set_current(t);
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
	/* The workers' threads did not cross the fork: forget them. */
	pthread_mutex_init(&idle_lock, NULL);
	idle_workers = NULL;
	pthread_mutex_init(&runner_lock, NULL);
	pthread_mutex_init(&carrier_lock, NULL);
	runq_head = NULL;
	runq_tail = &runq_head;
	runq_len = 0;
	looking = 0;
	idle_carriers = NULL;
	pthread_mutex_init(&slot_lock, NULL);
	slots_used = 1;
	ready_head = NULL;
	ready_tail = &ready_head;
	pthread_mutex_init(&family_lock, NULL);
	pthread_cond_init(&family_changed, NULL);
	root_family = (struct deft_family){NULL, 0};
	run_done = 0;
}
