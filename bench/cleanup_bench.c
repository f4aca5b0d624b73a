/*
 * cleanup_bench.c - the cost of the cleanup stack, in process.
 *
 * Each measurement runs SUBTESTS subtests whose bodies register PER_TEST
 * cleanups each; t_run returns once they have all run, so the time covers
 * registration and the call (and the subtests' own cost, a few
 * nanoseconds a cleanup at this count).  Printed as nanoseconds per
 * cleanup, the best of several rounds.  A last line registers all of
 * them in one test: then the records take fresh memory, whose first
 * touch (a page fault every ~20 deferred calls) costs more than the
 * call on some machines.
 */
#include <deft.h>

#include <stdio.h>
#include <time.h>

enum { PER_TEST = 1000, SUBTESTS = 1000, ROUNDS = 5 };

static long n_per_test = PER_TEST;

static volatile long sink;

static void noop_cleanup(T *t, void *arg)
{
	sink += (long)arg;
}

static void noop_call(int a, void *b)
{
	sink += a + (b != NULL);
}

static void push_cleanups(T *t, void *arg)
{
	for (long i = 0; i < n_per_test; i++)
		t_cleanup(t, noop_cleanup, (void *)i);
}

static void push_defers(T *t, void *arg)
{
	for (int i = 0; i < n_per_test; i++)
		t_defer(t, noop_call, i, arg);
}

static void push_cancel(T *t, void *arg)
{
	for (long i = 0; i < n_per_test; i++)
		t_cleanup_cancel(t, t_cleanup(t, noop_cleanup, (void *)i));
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs fn in subtests subtests of per_test cleanups each. */
static void measure_as(T *t, const char *what, t_fn *fn, long subtests,
                       long per_test)
{
	double best = 1e9;
	n_per_test = per_test;
	for (int r = 0; r < ROUNDS; r++) {
		double start = now();
		for (long i = 0; i < subtests; i++)
			T_ASSERT(t, t_run(t, what, fn, NULL));
		double ns = (now() - start) * 1e9 / (double)(subtests * per_test);
		if (ns < best)
			best = ns;
	}
	printf("%-32s %8.1f ns\n", what, best);
}

static void measure(T *t, const char *what, t_fn *fn)
{
	measure_as(t, what, fn, SUBTESTS, PER_TEST);
}

TEST(cleanup_costs)
{
	measure(t, "t_cleanup push+run", push_cleanups);
	measure(t, "t_cleanup push+cancel", push_cancel);
	measure(t, "t_defer push+call (2 args)", push_defers);
	measure_as(t, "t_defer, 1000000 in one test", push_defers, 1,
	           SUBTESTS * PER_TEST);
}
