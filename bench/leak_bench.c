/*
 * leak_bench.c - the cost of the leak check per top-level test, on a
 * process with 50 open descriptors and 10 threads (the main thread and
 * nine blocked in read(), started before main).  It holds 1000 trivial
 * tests; bench/run.py runs them with -leaks=fail and -leaks=off and
 * divides the difference by the number of tests.
 */
#define _GNU_SOURCE
#include <deft.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

enum { FDS = 50, THREADS = 10 };

static int wake[2];

static void *blocked(void *arg)
{
	char c;
	(void)!read(wake[0], &c, 1);
	return arg;
}

__attribute__((constructor)) static void busy_process(void)
{
	if (pipe2(wake, O_CLOEXEC) != 0)
		abort();
	/* 0, 1, 2 and the pipe are open: fill up to FDS descriptors */
	for (int fd = 5; fd < FDS; fd++)
		if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0)
			abort();
	for (int i = 1; i < THREADS; i++) {
		pthread_t th;
		if (pthread_create(&th, NULL, blocked, NULL) != 0)
			abort();
		pthread_detach(th);
	}
}

#define T1(n) TEST(check_##n) { T_EXPECT_EQ(t, 1, 1); }
#define T10(p) T1(p##0) T1(p##1) T1(p##2) T1(p##3) T1(p##4) T1(p##5) \
	T1(p##6) T1(p##7) T1(p##8) T1(p##9)
#define T100(p) T10(p##0) T10(p##1) T10(p##2) T10(p##3) T10(p##4) \
	T10(p##5) T10(p##6) T10(p##7) T10(p##8) T10(p##9)
T100(a) T100(b) T100(c) T100(d) T100(e) T100(f) T100(g) T100(h) T100(i)
T100(k)
