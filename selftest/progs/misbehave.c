/*
 * misbehave.c - tests that crash, exit, hang, deadlock, close deft's file
 * descriptors or write into all of them, fork without end or flood their
 * output, each between well-behaved tests that must pass all the same.
 * misbehave_check.py runs it and checks that each is blamed on the right
 * test for the right reason, checks its -junit and -json reports and
 * interrupts it.
 */
#define _GNU_SOURCE
#include <deft.h>

#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../harness/sanitizers.h"

static volatile int zero;

/* TSan's runtime can deadlock when a stack overflows in its
 * instrumentation: the process then hangs until its deadline, not
 * crashes, so TSan builds skip the overflows. */
static void skip_overflow_under_tsan(T *t)
{
#ifdef DEFT_TSAN
	t_skip(t, "a stack overflow may hang under TSan");
#else
	(void)t;
#endif
}

/* A test that behaves, between each two that do not. */
#define FINE(name)                                                        \
	TEST(name)                                                        \
	{                                                                 \
		T_EXPECT_EQ(t, zero, 0);                                  \
	}

FINE(fine_first)

TEST(segv)
{
	volatile int *p = (volatile int *)(uintptr_t)zero;
	*p = 1;
}

FINE(fine_after_segv)

TEST(sigbus)
{
	FILE *f = tmpfile();
	T_ASSERT_NOT_NULL(t, f);
	long page = sysconf(_SC_PAGESIZE);
	T_ASSERT_EQ(t, ftruncate(fileno(f), page), 0);
	volatile char *m = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED,
	                        fileno(f), 0);
	T_ASSERT_PTR_NE(t, (void *)m, MAP_FAILED);
	T_ASSERT_EQ(t, ftruncate(fileno(f), 0), 0);
	t_log(t, "read %d", m[0]);
}

TEST(sigfpe)
{
	volatile int one = 1;   /* or 1 / zero becomes a comparison */
	t_log(t, "quotient %d", one / zero);
}

TEST(sigill)
{
	__builtin_trap();
}

FINE(fine_after_sigill)

/* stdout is line-buffered: the text is still in the buffer at the crash. */
TEST(abort_call)
{
	fputs("left without a newline", stdout);
	abort();
}

static void abort_on_usr1(int sig)
{
	(void)sig;
	abort();
}

/* Crashes in a signal handler of its own: the backtrace goes on through
 * the handler into the code the signal interrupted. */
TEST(abort_in_handler)
{
	signal(SIGUSR1, abort_on_usr1);
	raise(SIGUSR1);
	t_error(t, "the handler returned");
}

TEST(failed_assert)
{
	assert(zero == 1);
}

static int recurse(int n)
{
	volatile char frame[512];
	frame[0] = (char)n;
	if (zero < 0)           /* never: only for -Winfinite-recursion */
		return n;
	return recurse(n + 1) + frame[0];
}

TEST(stack_overflow)
{
	skip_overflow_under_tsan(t);
	t_log(t, "%d", recurse(0));
}

/* As an unoptimised build compiles a small frame: the stack pointer
 * moves on into the guard page first, and a store just above it faults. */
#ifdef __clang__
__attribute__((optnone, noinline))
#else
__attribute__((optimize("O0"), noinline))
#endif
static int recurse_unoptimised(int n)
{
	if (zero < 0)           /* never: only for -Winfinite-recursion */
		return n;
	return recurse_unoptimised(n + 1) + 1;
}

TEST(stack_overflow_unoptimised)
{
	skip_overflow_under_tsan(t);
	t_log(t, "%d", recurse_unoptimised(0));
}

FINE(fine_after_stack_overflow)

static void never_runs(T *t, void *arg)
{
	t_log(t, "%s", (const char *)arg);
}

TEST(exit_zero)
{
	t_cleanup(t, never_runs, "not printed");
	exit(0);
}

TEST(underscore_exit)
{
	_exit(3);
}

TEST(killed)
{
	raise(SIGKILL);
}

FINE(fine_after_killed)

TEST(infinite_loop, .timeout_ms = 300)
{
	for (;;)
		zero = 0;
}

/* Stopped, it can neither finish nor answer: its deadline kills it, and
 * the report says it was stopped. */
TEST(stops_itself, .timeout_ms = 300)
{
	raise(SIGSTOP);
}

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_locked;

static void *take_b_then_a(void *arg)
{
	pthread_mutex_lock(&lock_b);
	pthread_barrier_wait(&both_locked);
	pthread_mutex_lock(&lock_a);
	return arg;
}

TEST(deadlock, .timeout_ms = 300)
{
	pthread_t th;
	pthread_barrier_init(&both_locked, NULL, 2);
	T_ASSERT_EQ(t, pthread_create(&th, NULL, take_b_then_a, NULL), 0);
	pthread_mutex_lock(&lock_a);
	pthread_barrier_wait(&both_locked);
	pthread_mutex_lock(&lock_b);
	pthread_join(th, NULL);
}

FINE(fine_after_deadlock)

static void hang_forever(T *t, void *arg)
{
	(void)t;
	(void)arg;
	for (;;)
		pause();
}

/* Its body is done; its cleanup never is: the report says so. */
TEST(cleanup_hangs, .timeout_ms = 300)
{
	t_cleanup(t, hang_forever, NULL);
	t_log(t, "the body is done");
}

FINE(fine_after_cleanup_hangs)

TEST(close_all_fds)
{
	for (int fd = 3; fd < 4096; fd++)
		close(fd);
	t_log(t, "this is lost with deft's socket");
}

TEST(close_stdout_stderr)
{
	close(1);
	close(2);
	printf("to a closed stdout\n");
	fprintf(stderr, "to a closed stderr\n");
	t_log(t, "logged after closing fds 1 and 2");
}

FINE(fine_after_close)

TEST(fork_bomb)
{
	/* RLIMIT_NPROC counts the user's threads: the machine's, from
	 * /proc/loadavg, are at least as many, plus room for the bomb. */
	int threads = 0;
	FILE *f = fopen("/proc/loadavg", "r");
	T_ASSERT_NOT_NULL(t, f);
	T_EXPECT_EQ(t, fscanf(f, "%*s %*s %*s %*d/%d", &threads), 1);
	fclose(f);
	struct rlimit lim;
	getrlimit(RLIMIT_NPROC, &lim);
	if (lim.rlim_cur == RLIM_INFINITY ||
	    lim.rlim_cur > (rlim_t)threads + 16)
		lim.rlim_cur = (rlim_t)threads + 16;
	T_ASSERT_EQ(t, setrlimit(RLIMIT_NPROC, &lim), 0);
	/* Each process forks again: at most 2^5 of them, bounded also for
	 * root, whom RLIMIT_NPROC does not bind. */
	pid_t test = getpid();
	for (int i = 0; i < 5; i++)
		if (fork() < 0)
			break;
	while (getpid() != test)
		pause();
}

FINE(fine_after_fork_bomb)

TEST(output_spam)
{
	enum { CHUNK = 1 << 20 };
	static char buf[CHUNK];
	memset(buf, 'x', sizeof(buf));
	buf[CHUNK - 1] = '\n';
	for (int i = 0; i < 100; i++)
		if (write(1, buf, sizeof(buf)) < 0)
			break;
}

/* 300,000 log lines, "    misbehave.c:NNN: log line 0000000", 11 MB:
 * the first 4 MiB are kept, the rest counted exactly. */
TEST(log_spam)
{
	for (int i = 0; i < 300000; i++)
		t_log(t, "log line %07d", i);
}

TEST(bad_bytes)
{
	static const char bytes[] = "invalid \xff\xfe utf-8, a NUL \0 here, "
	                            "no newline";
	fwrite(bytes, 1, sizeof(bytes) - 1, stdout);
	fflush(stdout);
	fwrite(bytes, 1, sizeof(bytes) - 1, stderr);
}

FINE(fine_after_bad_bytes)

/* Junk into every descriptor past stdio, each then truncated: the run's
 * report files must not be among those a test's process holds. */
TEST(scribbles_on_every_fd)
{
	char line[32];
	for (int fd = 3; fd < 4096; fd++) {
		int n = snprintf(line, sizeof(line), "junk to fd %d\n", fd);
		if (write(fd, line, (size_t)n) == n) {
			int r = ftruncate(fd, 0);
			(void)r;
		}
	}
	t_log(t, "scribbled");
}

FINE(fine_after_scribbles)

static void deeper(T *t, void *arg)
{
	t_log(t, "about to crash");
	*(volatile int *)(uintptr_t)zero = *(int *)arg;
}

static void fine_sub(T *t, void *arg)
{
	T_EXPECT_PTR_EQ(t, arg, NULL);
}

static void inner(T *t, void *arg)
{
	t_run(t, "deeper", deeper, arg);
}

TEST(subtest_crash)
{
	static int one = 1;
	t_run(t, "fine", fine_sub, NULL);
	t_run(t, "inner", inner, &one);
}

static void crash_cleanup(T *t, void *arg)
{
	(void)t;
	*(volatile int *)(uintptr_t)zero = *(int *)arg;
}

TEST(cleanup_crash)
{
	static int one = 1;
	t_cleanup(t, crash_cleanup, &one);
	t_log(t, "the test itself is done");
}

FINE(fine_last)

/* Run only by the deep hang check: -run '^deep_hang$'.  Every level's
 * thread waits for the next; the last waits for ever. */
static void descend(T *t, void *arg)
{
	long levels = (long)(intptr_t)arg;
	if (levels > 1)
		t_run(t, "d", descend, (void *)(intptr_t)(levels - 1));
	else
		for (;;)
			pause();
}

TEST(deep_hang, .timeout_ms = 1000)
{
	t_run(t, "d", descend, (void *)(intptr_t)300);
}

/* Run only by the interrupt check: -run '^sleeps$'. */
TEST(sleeps)
{
	/* Deaf to deft's request to stop: only SIGKILL ends it early. */
	t_log(t, "sleeping");
	time_t end = time(NULL) + 30;
	while (time(NULL) < end) {
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
	}
}

static void overflows(T *t, void *arg)
{
	skip_overflow_under_tsan(t);
	if (arg)
		t_parallel(t);
	t_log(t, "%d", recurse(0));
}

/* A subtest's stack is a fiber's; a parallel one's runs on a carrier
 * thread: each overflow is reported as one, on the subtest. */
TEST(stack_overflow_in_subtest)
{
	t_run(t, "sequential", overflows, NULL);
}

TEST(stack_overflow_in_parallel_subtest)
{
	t_run(t, "parallel", overflows, t);
}

FINE(fine_after_subtest_overflows)

static void *overflow_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)recurse(0);
}

/* A thread the test starts has no alternate signal stack, so deft's
 * handler cannot run on its overflow: the report says what that means. */
TEST(stack_overflow_in_thread)
{
	skip_overflow_under_tsan(t);
	pthread_t th;
	void *ret;
	if (pthread_create(&th, NULL, overflow_thread, NULL) != 0)
		t_fatal(t, "pthread_create failed");
	pthread_join(th, &ret);
}

FINE(fine_after_thread_overflow)

/* The test's thread ends: glibc ends the process with exit(0) once no
 * thread is left, which is no call of exit() by the test. */
TEST(pthread_exit_in_test)
{
#ifdef DEFT_TSAN
	t_skip(t, "TSan's own thread keeps the process alive after it");
#endif
	pthread_exit(NULL);
}

FINE(fine_after_pthread_exit)

/* The test's process becomes another program. */
TEST(exec_in_test)
{
	execl("/bin/true", "true", (char *)NULL);
	t_fatal(t, "execl failed");
}

FINE(fine_after_exec)

/* Reads its stdin, which the check holds open without writing: the test
 * must read end of file at once, not wait for its deadline. */
TEST(reads_stdin, .timeout_ms = 2000)
{
	char c;
	ssize_t n = read(STDIN_FILENO, &c, 1);
	T_EXPECT_EQ(t, n, 0);
	t_log(t, "stdin: read returned %zd", n);
}

FINE(fine_after_stdin)

/* A daemon: a grandchild in a session of its own, its stdio on /dev/null
 * and no other descriptor, whose parent has exited.  It is out of the
 * test's process group, and only the runner, its subreaper now, can find
 * it. */
static void start_daemon(T *t)
{
	pid_t p = fork();
	T_ASSERT_GE(t, p, 0);
	if (p == 0) {
		setsid();
		if (fork() == 0) {
			int null = open("/dev/null", O_RDWR);
			for (int fd = 0; fd < 3; fd++)
				dup2(null, fd);
			closefrom(3);
			for (;;)
				pause();
		}
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

TEST(daemon_left_running)
{
	start_daemon(t);
	t_log(t, "started a daemon");
}

FINE(fine_after_daemon)

/* Run only by the check, beside daemon_left_running with -jobs 2, which
 * then cannot be blamed alone. */
TEST(naps)
{
	sleep(1);
}

/* Signals whose default action would end or stop the runner, sent to it
 * as the parent of the test's process (faults and real-time signals too):
 * each is ignored and fails the test, and the run goes on.  Without
 * isolation the parent is whatever ran the tests, so the test skips. */
TEST(signals_the_runner)
{
	const int sigs[] = {SIGUSR1, SIGHUP, SIGTSTP, SIGINT, SIGPIPE, SIGXCPU,
	                    SIGSEGV, SIGABRT, SIGTRAP, SIGRTMIN + 1};
	char self[4096], parent[4096], path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)getppid());
	ssize_t a = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ssize_t b = readlink(path, parent, sizeof(parent) - 1);
	if (a <= 0 || a != b || memcmp(self, parent, (size_t)a) != 0)
		t_skip(t, "the parent is not the runner");
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++) {
		kill(getppid(), sigs[i]);
		/* Standard signals pending at once are merged. */
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
	}
	t_log(t, "signalled the runner");
}

FINE(fine_after_signals)

/* A parallel subtest aborts while its sibling waits: the crash is the
 * one's that aborted; the sibling, ended with the process, says so. */
static void waits_beside(T *t, void *arg)
{
	(void)arg;
	t_parallel(t);
	t_log(t, "waiting");
	struct timespec ts = {0, 10000000};
	for (int i = 0; i < 500 && !t_ctx_done(t_context(t)); i++)
		nanosleep(&ts, NULL);
}

static void aborts_beside(T *t, void *arg)
{
	(void)arg;
	t_parallel(t);
	struct timespec ts = {0, 50000000};
	nanosleep(&ts, NULL);
	abort();
}

TEST(crash_beside_a_sibling)
{
	t_run(t, "waits", waits_beside, NULL);
	t_run(t, "aborts", aborts_beside, NULL);
}

FINE(fine_after_sibling_crash)

/* Waits in t_parallel for the sequential tests, then aborts: the time it
 * waited is not the time it ran. */
TEST(parallel_then_aborts)
{
	t_parallel(t);
	struct timespec ts = {0, 50000000};
	nanosleep(&ts, NULL);
	abort();
}

/* Run only by the duration check: parallel_then_aborts waits for it. */
TEST(naps_after_parallel)
{
	sleep(1);
}
