/*
 * flaky.c - tests that fail on their first run and pass on the next, and
 * one that always fails, for -retries.  The runs are counted in memory
 * shared by every process of the run (mapped before main), so a test
 * knows which run it is in whatever the isolation.  slow_fails_once is
 * for a run that -failfast stops before its retry: the other tests
 * skip it.
 */
#include <deft.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

enum { FLAKY_SUBTEST, CRASHES_ONCE, ALWAYS_FAILS, SLOW, COUNTERS };

static int *runs;

__attribute__((constructor)) static void map_counters(void)
{
	runs = mmap(NULL, COUNTERS * sizeof(*runs), PROT_READ | PROT_WRITE,
	            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (runs == MAP_FAILED)
		abort();
}

/* Which run of a test this is: 1 for the first. */
static int this_run(int which)
{
	return __atomic_add_fetch(&runs[which], 1, __ATOMIC_SEQ_CST);
}

TEST(passes)
{
}

static void fails_on_first_run(T *t, void *arg)
{
	int run = *(int *)arg;
	printf("sub's output on run %d\n", run);
	if (run == 1)
		t_error(t, "fails on the first run only");
}

static void steady(T *t, void *arg)
{
	(void)t;
	(void)arg;
}

TEST(flaky_subtest)
{
	int run = this_run(FLAKY_SUBTEST);
	t_log(t, "run %d", run);
	t_run(t, "sub", fails_on_first_run, &run);
	t_run(t, "steady", steady, NULL);
}

/* Crashes its process on the first run: run it in processes only. */
TEST(crashes_once)
{
	int run = this_run(CRASHES_ONCE);
	t_log(t, "run %d", run);
	if (run == 1)
		abort();
}

TEST(always_fails)
{
	int run = this_run(ALWAYS_FAILS);
	printf("always_fails's output on run %d\n", run);
	t_error(t, "fails on run %d", run);
}

/* Fails its first run 300ms in: with -jobs 2 and -failfast, after
 * always_fails has failed for good and stopped the run. */
TEST(slow_fails_once)
{
	int run = this_run(SLOW);
	struct timespec ts = {0, 300 * 1000000};
	nanosleep(&ts, NULL);
	if (run == 1)
		t_error(t, "fails on the first run only");
}
