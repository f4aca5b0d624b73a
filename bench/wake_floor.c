/*
 * wake_floor.c - what waking a sleeping thread costs on this machine:
 * two threads hand a token back and forth through futexes, each sleeping
 * in the kernel until the other wakes it, N times; once free to run on
 * any CPU (so each wake-up usually crosses to another CPU, which may be
 * idle and have to be woken itself), once both pinned to one CPU.  A
 * subtest run by hand-offs between threads would pay a few of these; deft
 * switches fibers instead (harness/carrier.c), and a group's cancellation
 * still wakes each member's thread, so this is the floor under
 * bench/parallel_bench.c's cancellation figures.
 *
 * Prints "bench: <what> <ns> ns" lines, best of 5 rounds, for run.py.
 * Plain C, no deft.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { N = 20000, ROUNDS = 5 };

static int ping, pong;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until *w holds v (no spinning: every hand-off is a wake-up). */
static void await(int *w, int v)
{
	int seen;
	while ((seen = __atomic_load_n(w, __ATOMIC_ACQUIRE)) != v)
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void give(int *w, int v)
{
	__atomic_store_n(w, v, __ATOMIC_RELEASE);
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *other(void *arg)
{
	long n = (long)arg;
	for (long i = 1; i <= n; i++) {
		await(&ping, (int)i);
		give(&pong, (int)i);
	}
	return NULL;
}

/* Best time of a round trip, in seconds. */
static double round_trips(void)
{
	double best = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		ping = pong = 0;
		pthread_t th;
		if (pthread_create(&th, NULL, other, (void *)(long)N) != 0) {
			perror("pthread_create");
			exit(1);
		}
		double start = now();
		for (long i = 1; i <= N; i++) {
			give(&ping, (int)i);
			await(&pong, (int)i);
		}
		double d = (now() - start) / N;
		pthread_join(th, NULL);
		if (d < best)
			best = d;
	}
	return best;
}

int main(void)
{
	printf("bench: thread wake-up, any CPU %.0f ns\n",
	       round_trips() / 2 * 1e9);
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0) {
		perror("sched_setaffinity");
		return 1;
	}
	printf("bench: thread wake-up, one CPU %.0f ns\n",
	       round_trips() / 2 * 1e9);
	return 0;
}
