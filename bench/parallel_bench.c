/*
 * parallel_bench.c - the cost of subtests and the speed of cancellation,
 * to compare with bench/go/subtest_test.go (the same measurements with
 * Go's testing package; bench/run.py runs both).
 *
 *   sequential subtest   t_run of an empty subtest, per subtest
 *   parallel subtest     t_run of a subtest that calls t_parallel, per
 *                        subtest, including resuming and finishing it
 *   10000 parallel       one test with 10,000 parallel subtests, in all
 *   cancellation         a group of 8: one member fails after 10 ms, the
 *                        others block in poll() on t_ctx_fd; the time from
 *                        the failure to the last sibling woken, and to
 *                        t_wait returning
 * Each figure is the best (or, for latencies, the median and worst) of
 * several rounds.  Lines starting "bench:" are what run.py reads.
 */
#include <deft.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = 10000, ROUNDS = 5, CANCEL_ROUNDS = 21, MEMBERS = 8 };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void empty(T *t, void *arg)
{
}

static void pauses(T *t, void *arg)
{
	t_parallel(t);
}

static void many(T *t, void *arg)
{
	t_fn *fn = arg;
	for (int i = 0; i < N; i++)
		t_run(t, "s", fn, NULL);
}

static double best_per_subtest(T *t, t_fn *fn)
{
	double best = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		double start = now();
		T_ASSERT(t, t_run(t, "round", many, fn));
		double s = now() - start;
		if (s < best)
			best = s;
	}
	return best;
}

TEST(subtest_costs)
{
	double seq = best_per_subtest(t, empty);
	printf("bench: sequential subtest %.0f ns\n", seq / N * 1e9);
	double par = best_per_subtest(t, pauses);
	printf("bench: parallel subtest %.0f ns\n", par / N * 1e9);
	printf("bench: 10000 parallel subtests %.1f ms\n", par * 1e3);
}

struct cancel_round {
	double failed_at;
	double woken[MEMBERS];
	int n;
};

static void fails(T *t, void *arg)
{
	struct cancel_round *r = arg;
	t_sleep(t, 10);
	r->failed_at = now();
	t_error(t, "fails on purpose");
}

static void blocks(T *t, void *arg)
{
	struct cancel_round *r = arg;
	struct pollfd p = {t_ctx_fd(t_context(t)), POLLIN, 0};
	poll(&p, 1, 5000);
	double at = now();
	int i = __atomic_fetch_add(&r->n, 1, __ATOMIC_ACQ_REL);
	r->woken[i] = at;
}

static double waited;

static void group_round(T *t, void *arg)
{
	struct cancel_round *r = arg;
	t_group *g = t_group_new(t);
	for (int i = 0; i < MEMBERS - 1; i++)
		t_go(g, "blocks", blocks, r);
	t_go(g, "fails", fails, r);
	t_wait(g);
	waited = now();
	/* The failure is expected: keep it from failing this benchmark. */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

TEST(cancellation_latency)
{
	double wake[CANCEL_ROUNDS], wait[CANCEL_ROUNDS];
	for (int k = 0; k < CANCEL_ROUNDS; k++) {
		struct cancel_round r = {0};
		/* Run the failing group in a grandchild whose failure is
		 * expected; its parent's result is not this test's. */
		t_run(t, "group", group_round, &r);
		double last = 0;
		for (int i = 0; i < r.n; i++)
			if (r.woken[i] > last)
				last = r.woken[i];
		wake[k] = (last - r.failed_at) * 1e6;
		wait[k] = (waited - r.failed_at) * 1e6;
	}
	qsort(wake, CANCEL_ROUNDS, sizeof(double), cmp_double);
	qsort(wait, CANCEL_ROUNDS, sizeof(double), cmp_double);
	printf("bench: cancellation to all siblings woken %.0f us "
	       "(worst %.0f us)\n", wake[CANCEL_ROUNDS / 2],
	       wake[CANCEL_ROUNDS - 1]);
	printf("bench: cancellation to t_wait returning %.0f us "
	       "(worst %.0f us)\n", wait[CANCEL_ROUNDS / 2],
	       wait[CANCEL_ROUNDS - 1]);
}
