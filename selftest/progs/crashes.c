/*
 * crashes.c - fatal signals in the runner's own process while the run is
 * under way, for misbehave_check.py and reports_check.py.
 *
 * With -isolation none the tests run in that process: the test that
 * crashes fails with the tests around it and beside it, the run ends
 * there with every report finished, and the process dies of the signal.
 * DEFT_CRASHES_MAIN picks what TEST_MAIN does, in any isolation: "cleanup"
 * pushes a main cleanup that calls abort(), "main" calls abort() itself
 * once the tests have run.  Either way the reports are finished, and the
 * main cleanups that did not run are named.
 *
 * double_free crashes inside malloc, which holds its lock: the reports are
 * finished all the same, without malloc.  Sanitizers keep their own heap,
 * and report a double free themselves.  crashes_while_reports_block
 * crashes while a thread of its own is stuck writing a log line into the
 * -json stream, a pipe that crash_check.py does not read until the run
 * is over: the reports cannot be finished, and the process says so and
 * dies of the signal 10s later.
 */
#define _GNU_SOURCE
#include <deft.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../../harness/sanitizers.h"

static void tear_down(T *t, void *arg)
{
	(void)t;
	(void)arg;
	puts("main cleanup: tearing down");
}

static void aborts(T *t, void *arg)
{
	(void)t;
	(void)arg;
	abort();
}

static void never_runs(T *t, void *arg)
{
	(void)arg;
	t_log(t, "never_runs ran");
}

TEST_MAIN(m)
{
	const char *how = getenv("DEFT_CRASHES_MAIN");
	t_main_cleanup(tear_down, NULL);
	if (how && strcmp(how, "cleanup") == 0)
		t_main_cleanup(aborts, NULL);
	int rc = t_run_tests(m);
	if (how && strcmp(how, "main") == 0)
		abort();
	return rc;
}

/* Stores into a page that is no longer mapped: a fault that no sanitizer
 * takes for a null pointer first.  Nothing runs between the unmapping and
 * the store: printf's buffer, mapped there, would make the store land. */
static void store_to_unmapped(void)
{
	long size = sysconf(_SC_PAGESIZE);
	volatile char *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
	                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		abort();
	printf("storing to %p\n", (void *)p);
	fflush(stdout);
	munmap((void *)p, (size_t)size);
	*p = 1;
}

TEST(passes)
{
	t_log(t, "passes");
}

static void inner(T *t, void *arg)
{
	(void)arg;
	t_cleanup(t, never_runs, NULL);
	store_to_unmapped();
}

TEST(crashes_in_subtest)
{
	t_cleanup(t, never_runs, NULL);
	t_run(t, "inner", inner, NULL);
	t_log(t, "not reached");
}

TEST(aborts_in_cleanup)
{
	t_cleanup(t, never_runs, NULL);
	t_cleanup(t, aborts, NULL);
	t_log(t, "the body ends");
}

static int sibling_waits;

static void waits(T *t, void *arg)
{
	(void)arg;
	t_parallel(t);
	__atomic_store_n(&sibling_waits, 1, __ATOMIC_RELEASE);
	struct timespec nap = {0, 10 * 1000 * 1000};
	for (int i = 0; i < 1000; i++)
		nanosleep(&nap, NULL);
}

static void crashes(T *t, void *arg)
{
	(void)arg;
	t_parallel(t);
	struct timespec nap = {0, 1000 * 1000};
	for (int i = 0; i < 5000 && !__atomic_load_n(&sibling_waits,
	                                                 __ATOMIC_ACQUIRE); i++)
		nanosleep(&nap, NULL);
	store_to_unmapped();
}

TEST(crashes_beside_a_sibling)
{
	t_run(t, "waits", waits, NULL);
	t_run(t, "crashes", crashes, NULL);
}

static volatile int zero;

static int recurse(int n)
{
	volatile char frame[512];
	frame[0] = (char)n;
	if (zero < 0)           /* never: only for -Winfinite-recursion */
		return n;
	return recurse(n + 1) + frame[0];
}

TEST(overflows_its_stack)
{
#ifdef DEFT_TSAN
	t_skip(t, "a stack overflow may hang under TSan");
#endif
	t_log(t, "%d", recurse(0));
}

static void *crash_thread(void *arg)
{
	(void)arg;
	store_to_unmapped();
	return NULL;
}

TEST(crashes_on_its_thread)
{
	pthread_t th;
	T_ASSERT_EQ(t, pthread_create(&th, NULL, crash_thread, NULL), 0);
	pthread_join(th, NULL);
	t_log(t, "not reached");
}

TEST(double_free)
{
#if defined(DEFT_ASAN) || defined(DEFT_TSAN)
	t_skip(t, "the sanitizer's heap reports a double free itself");
#endif
	/* Too large for malloc's caches, which take no lock. */
	char *volatile p = malloc(4000);
	free(p);
	free(p);
	t_log(t, "not reached");
}

/* Log lines written: they stop once the -json pipe is full. */
static unsigned long logged;

static void *floods(void *arg)
{
	T *t = arg;
	static char line[4096];
	memset(line, 'x', sizeof(line) - 1);
	for (;;) {
		t_log(t, "%s", line);
		__atomic_add_fetch(&logged, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST(crashes_while_reports_block)
{
	pthread_t th;
	T_ASSERT_EQ(t, pthread_create(&th, NULL, floods, t), 0);
	/* Until the flood has stood still for 100ms: it is blocked in the
	 * middle of a report, and the pipe is full. */
	unsigned long seen = 0;
	for (int still = 0; still < 10;) {
		struct timespec tick = {0, 10 * 1000 * 1000};
		nanosleep(&tick, NULL);
		unsigned long now = __atomic_load_n(&logged, __ATOMIC_RELAXED);
		still = now == seen && now > 0 ? still + 1 : 0;
		seen = now;
	}
	abort();
}
