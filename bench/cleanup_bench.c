/*
 * cleanup_bench.c - the cost of the cleanup stack, in process.
 *
 * Each measurement runs a subtest whose body registers N cleanups; t_run
 * returns once they have all run, so the time covers registration and the
 * call.  Printed as nanoseconds per cleanup, the best of several rounds.
 */
#include <deft.h>

#include <stdio.h>
#include <time.h>

enum { N = 1000000, ROUNDS = 5 };

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
	for (long i = 0; i < N; i++)
		t_cleanup(t, noop_cleanup, (void *)i);
}

static void push_defers(T *t, void *arg)
{
	for (int i = 0; i < N; i++)
		t_defer(t, noop_call, i, arg);
}

static void push_cancel(T *t, void *arg)
{
	for (long i = 0; i < N; i++)
		t_cleanup_cancel(t, t_cleanup(t, noop_cleanup, (void *)i));
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void measure(T *t, const char *what, t_fn *fn)
{
	double best = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		double start = now();
		T_ASSERT(t, t_run(t, what, fn, NULL));
		double ns = (now() - start) * 1e9 / N;
		if (ns < best)
			best = ns;
	}
	printf("%-32s %8.1f ns\n", what, best);
}

TEST(cleanup_costs)
{
	measure(t, "t_cleanup push+run", push_cleanups);
	measure(t, "t_cleanup push+cancel", push_cancel);
	measure(t, "t_defer push+call (2 args)", push_defers);
}
