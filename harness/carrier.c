/*
 * carrier.c - what test bodies run on: fibers, carrier threads, workers.
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
 * When they may run (Go's rules, -parallel) is parallel.c's.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "fiber.h"
#include "word.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int deft_thread_start(void *(*fn)(void *), void *arg, pthread_t *join)
{
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (join == NULL)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(join ? join : &th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return rc;
}

bool deft_thread_join_by(pthread_t th, struct timespec *by)
{
	if (by->tv_sec == 0) {
		clock_gettime(CLOCK_REALTIME, by);
		by->tv_sec += 1;
	}
	if (pthread_timedjoin_np(th, NULL, by) == 0)
		return true;
	pthread_detach(th);
	return false;
}

/* ---- the pool of workers, for group members ---- */

struct worker {
	T *t;                   /* NULL when woken to end */
	t_fn *fn;
	void *arg;
	int go;                 /* word: 1 when a test is posted */
	struct worker *next;    /* in the idle stack */
	struct worker *next_all;
	pthread_t thread;
};

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker *idle_workers;
static struct worker *all_workers;
static bool workers_ending;

static void *worker_main(void *p)
{
	struct worker *w = p;
	pthread_setname_np(pthread_self(), "deft-worker");
	deft_thread_altstack();
	deft_run_exit_thread();
	for (;;) {
		word_wait_spin(&w->go, 0);
		__atomic_store_n(&w->go, 0, __ATOMIC_RELAXED);
		if (w->t == NULL)
			return NULL;
		/* A member is its family's once it ends. */
		deft_test_run(w->t, w->fn, w->arg);
		pthread_mutex_lock(&idle_lock);
		if (workers_ending) {
			pthread_mutex_unlock(&idle_lock);
			return NULL;
		}
		w->next = idle_workers;
		idle_workers = w;
		pthread_mutex_unlock(&idle_lock);
	}
	return NULL;
}

void deft_worker_post(T *t, t_fn *fn, void *arg)
{
	pthread_mutex_lock(&idle_lock);
	struct worker *w = idle_workers;
	if (w)
		idle_workers = w->next;
	pthread_mutex_unlock(&idle_lock);
	if (w == NULL) {
		w = deft_xcalloc(1, sizeof(*w));
		int rc = deft_thread_start(worker_main, w, &w->thread);
		if (rc != 0) {
			fprintf(stderr, "deft: cannot start a thread for test "
			        "%s: %s\n", t->name, strerror(rc));
			abort();
		}
		pthread_mutex_lock(&idle_lock);
		w->next_all = all_workers;
		all_workers = w;
		pthread_mutex_unlock(&idle_lock);
	}
	w->t = t;
	w->fn = fn;
	w->arg = arg;
	word_set(&w->go, 1, false);
}

/* Ends the idle workers, and waits for them (all are idle once every
 * test has ended). */
static void workers_end(struct timespec *by)
{
	pthread_mutex_lock(&idle_lock);
	workers_ending = true;
	for (struct worker *w = idle_workers; w; w = w->next) {
		w->t = NULL;
		word_set(&w->go, 1, false);
	}
	struct worker *all = all_workers;
	idle_workers = all_workers = NULL;
	pthread_mutex_unlock(&idle_lock);
	for (struct worker *w = all, *next; w; w = next) {
		next = w->next_all;
		if (deft_thread_join_by(w->thread, by))
			deft_free(w);
	}
	pthread_mutex_lock(&idle_lock);
	workers_ending = false;
	pthread_mutex_unlock(&idle_lock);
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
	struct carrier *next_all;
	pthread_t thread;
};

static pthread_mutex_t carrier_lock = PTHREAD_MUTEX_INITIALIZER;
static T *runq_head, **runq_tail = &runq_head;
static long runq_len;
static long looking;            /* carriers that will look at the queue */
static struct carrier *idle_carriers;
static struct carrier *all_carriers;
static bool carriers_ending;

static void *carrier_main(void *p)
{
	struct carrier *c = p;
	pthread_setname_np(pthread_self(), "deft-worker");
	deft_thread_altstack();
	deft_run_exit_thread();
	struct deft_ctx home;
	deft_ctx_here(&home);
	pthread_mutex_lock(&carrier_lock);
	for (;;) {
		T *t = runq_head;
		if (t == NULL && carriers_ending) {
			pthread_mutex_unlock(&carrier_lock);
			return NULL;
		}
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

void deft_carrier_push(T *t)
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
		struct carrier *c = deft_xcalloc(1, sizeof(*c));
		int rc = deft_thread_start(carrier_main, c, &c->thread);
		if (rc != 0) {
			fprintf(stderr, "deft: cannot start a thread to run "
			        "test %s: %s\n", t->name, strerror(rc));
			abort();
		}
		pthread_mutex_lock(&carrier_lock);
		c->next_all = all_carriers;
		all_carriers = c;
		pthread_mutex_unlock(&carrier_lock);
	}
}

/* Ends the carriers, and waits for them: with every test ended, each is
 * idle or about to look at the empty queue. */
static void carriers_end(struct timespec *by)
{
	pthread_mutex_lock(&carrier_lock);
	carriers_ending = true;
	for (struct carrier *c = idle_carriers; c; c = c->next)
		word_set(&c->go, 1, false);
	struct carrier *all = all_carriers;
	idle_carriers = all_carriers = NULL;
	looking = 0;
	pthread_mutex_unlock(&carrier_lock);
	for (struct carrier *c = all, *next; c; c = next) {
		next = c->next_all;
		if (deft_thread_join_by(c->thread, by))
			deft_free(c);
	}
	pthread_mutex_lock(&carrier_lock);
	carriers_ending = false;
	pthread_mutex_unlock(&carrier_lock);
}

void deft_threads_end(void)
{
	struct timespec by = {0, 0};
	carriers_end(&by);
	workers_end(&by);
	deft_run_canceller_end(&by);
}

void deft_carrier_will_look(void)
{
	pthread_mutex_lock(&carrier_lock);
	looking++;
	pthread_mutex_unlock(&carrier_lock);
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

const void *deft_fiber_stack_low(const T *t)
{
	return t->runner ? t->runner->ctx.stack_bottom : NULL;
}

bool deft_fiber_arg_on_parent_stack(const T *t)
{
	/* Before the pause, back is in t_run's frame, called from the
	 * parent's body. */
	const struct deft_runner *r = t->runner;
	return r && t->parent && deft_in_frames_below(t->parent, r->back,
	                                              r->arg);
}

void deft_fiber_pause(T *t)
{
	struct deft_runner *r = t->runner;
	__atomic_store_n(&t->fiber_paused, true, __ATOMIC_RELAXED);
	deft_ctx_switch(&r->ctx, r->back);
	/* A carrier switched back here. */
	t->thread = self_thread();
	deft_set_current(t);
}

void deft_carrier_after_fork(void)
{
	/* The threads did not cross the fork: forget them.  Locks are
	 * reset by assignment, as they were made: a call into libc's
	 * pthread_mutex_init would cost a test's process a page fault. */
	idle_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	idle_workers = all_workers = NULL;
	runner_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	carrier_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	runq_head = NULL;
	runq_tail = &runq_head;
	runq_len = 0;
	looking = 0;
	idle_carriers = all_carriers = NULL;
}
