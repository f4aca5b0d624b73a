/*
 * parallel.c - where test bodies run: t_parallel, -parallel, and the
 * threads that give every test body a stack of its own.
 *
 * Go's t.Parallel pauses a subtest in the middle of its body and lets
 * t.Run return in the parent, so a body needs a stack that outlives the
 * call that started it.  Two ways exist in C: ucontext fibers, or threads.
 * deft runs every subtest body on a thread from a pool of parked workers:
 *
 *   - fibers switch in ~50 ns, but a paused fiber that resumes on another
 *     thread confuses thread-local state (errno, deft's current test, the
 *     user's own), and ASan and TSan need fiber annotations on every
 *     switch; a test that blocks in poll() would also block its carrier;
 *   - a pooled thread costs two hand-offs per test.  Both sides spin for a
 *     few microseconds before they sleep on a futex, so a short test hands
 *     over in under a microsecond and a long one costs nothing while it
 *     waits; sanitizers understand threads as they are.
 *
 * Measured with bench/ on a 2-CPU VM shared with other work, next to Go
 * 1.19's testing package in the same run: a sequential subtest costs
 * 0.8 us with a CPU free for the spinning worker and ~7 us without, Go
 * 4-5 us; a parallel one 22-36 us, Go 5-9 us, since each pause and
 * resume is a kernel wake-up where Go switches goroutines in user space.
 * Waiters spin briefly, then yield, then sleep: pure spinning made a
 * sequential subtest cost 60 us when the other CPU was busy.  Fibers
 * would close that gap at the price above; they can be added behind
 * this file's interface (deft_test_spawn, t_parallel) if it matters.
 *
 * The hand-off words (struct T's handoff and granted, a worker's go) are
 * futex words with three states: 0 while nothing has
 * happened, WORD_SLEEPING when the waiter sleeps in the kernel, and the
 * value set.  The setter only makes a system call when the waiter sleeps.
 * A worker's go has a fourth, WORD_NUDGED: a test that pauses wakes the
 * idle worker its parent's next t_run will take, so that the post finds
 * it spinning rather than asleep (about a third off a parallel subtest).
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
#include "../reporters/report.h"

#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { WORD_SLEEPING = -1, WORD_NUDGED = -2 };
enum { HANDOFF_RUNNING = 0, HANDOFF_PAUSED = 1, HANDOFF_DONE = 2 };
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

/* Wakes the waiter of *w if it sleeps, to spin for its value instead: a
 * nudge, given ahead of a hand-off that will come soon, hides the
 * wake-up's latency (tens of microseconds on a VM whose idle CPUs halt)
 * behind the work before it. */
static void word_nudge(int *w)
{
	int sleeping = WORD_SLEEPING;
	if (__atomic_compare_exchange_n(w, &sleeping, WORD_NUDGED, false,
	                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* word_wait_spin for a word that may be nudged: a nudge makes the wait
 * spin again, and the value set after it is returned. */
static int word_wait_nudged(int *w, int spins)
{
	for (;;) {
		int got = word_wait_spin(w, spins);
		if (got != WORD_NUDGED)
			return got;
		int nudged = WORD_NUDGED;
		if (!__atomic_compare_exchange_n(w, &nudged, 0, false,
		                                 __ATOMIC_ACQUIRE,
		                                 __ATOMIC_ACQUIRE))
			return nudged;  /* set since the nudge */
		spins = SPINS;
	}
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

/* ---- the pool of workers ---- */

struct worker {
	T *t;
	t_fn *fn;
	void *arg;
	int go;                 /* word: 1 when a test is posted */
	struct worker *next;    /* in the idle stack */
};

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker *idle_workers;
static int spinning;            /* idle workers in their spinning phase */

static void *worker_main(void *p)
{
	struct worker *w = p;
	pthread_setname_np(pthread_self(), "deft-worker");
	for (;;) {
		/* One idle worker spins, for the next sequential subtest;
		 * the others of a crowd of parallel ones sleep at once. */
		if (__atomic_fetch_add(&spinning, 1, __ATOMIC_RELAXED) == 0) {
			int got = word_spin(&w->go, SPINS);
			__atomic_sub_fetch(&spinning, 1, __ATOMIC_RELAXED);
			if (got == 0)
				word_wait_nudged(&w->go, 0);
		} else {
			__atomic_sub_fetch(&spinning, 1, __ATOMIC_RELAXED);
			word_wait_nudged(&w->go, 0);
		}
		__atomic_store_n(&w->go, 0, __ATOMIC_RELAXED);
		T *t = w->t;
		bool sequential = deft_test_run(t, w->fn, w->arg);
		/* Idle before telling t_run: its next subtest finds this
		 * worker awake, not one asleep. */
		pthread_mutex_lock(&idle_lock);
		w->next = idle_workers;
		idle_workers = w;
		pthread_mutex_unlock(&idle_lock);
		if (sequential)
			deft_test_done(t);
	}
	return NULL;
}

/* Runs deft_test_run(t, fn, arg) on an idle worker, or a new one.
 * RETURNS: whether the worker was awake (spinning) when posted to. */
static bool post(T *t, t_fn *fn, void *arg)
{
	pthread_mutex_lock(&idle_lock);
	struct worker *w = idle_workers;
	if (w)
		idle_workers = w->next;
	pthread_mutex_unlock(&idle_lock);
	if (w == NULL) {
		w = deft_xcalloc(1, sizeof(*w));
		pthread_t th;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int rc = pthread_create(&th, &attr, worker_main, w);
		pthread_attr_destroy(&attr);
		if (rc != 0) {
			fprintf(stderr, "deft: cannot start a thread for test "
			        "%s: %s\n", t->name, strerror(rc));
			abort();
		}
	}
	w->t = t;
	w->fn = fn;
	w->arg = arg;
	return !word_set(&w->go, 1, false);
}

/* Nudges the idle worker the next post will take: a test that pauses
 * does, since its parent's next t_run would otherwise wake that worker
 * from sleep.  Workers are never freed: one taken meanwhile is left as
 * it is (word_nudge only wakes a sleeper), or woken to no harm. */
static void nudge_idle_worker(void)
{
	pthread_mutex_lock(&idle_lock);
	struct worker *w = idle_workers;
	pthread_mutex_unlock(&idle_lock);
	if (w)
		word_nudge(&w->go);
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

void deft_test_done(T *t)
{
	word_set(&t->handoff, HANDOFF_DONE, false);
}

bool deft_test_retire(T *t)
{
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
	t->handoff = HANDOFF_RUNNING;
	/* Spin only for a worker that was awake: waking one that slept
	 * takes longer than spinning is worth. */
	bool awake = post(t, fn, arg);
	return word_wait_spin(&t->handoff, awake ? SPINS : 0) ==
	       HANDOFF_DONE;
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
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&th, &attr, resume_main, NULL);
	pthread_attr_destroy(&attr);
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
	if (t == run_inline)
		hand_over_run(t);
	else
		word_set(&t->handoff, HANDOFF_PAUSED, false);
	nudge_idle_worker();
	word_wait_spin(&t->granted, 0);   /* family_release queued t */
	t->holds_slot = true;
	deft_report_cont(t->id);
	clock_gettime(CLOCK_MONOTONIC, &t->started);
}

void deft_parallel_after_fork(void)
{
	/* The workers' threads did not cross the fork: forget them. */
	pthread_mutex_init(&idle_lock, NULL);
	idle_workers = NULL;
	spinning = 0;
	pthread_mutex_init(&slot_lock, NULL);
	slots_used = 1;
	ready_head = NULL;
	ready_tail = &ready_head;
	pthread_mutex_init(&family_lock, NULL);
	pthread_cond_init(&family_changed, NULL);
	root_family = (struct deft_family){NULL, 0};
	run_done = 0;
}
