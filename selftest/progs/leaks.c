/*
 * leaks.c - tests that leave something behind, one kind each, for the
 * golden tests of leak detection; and tests that must not be reported:
 * a thread that exits within the grace period, a descriptor a thread
 * closes within it, leaks a test ignores, a fixture registered with
 * t_main_cleanup.  Whatever leaks here is
 * released by main cleanups, which run after the last test.
 */
#define _GNU_SOURCE
#include <deft.h>
#include "../../harness/internal.h"   /* deft_leak_ignore_own_fd */

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void close_fd(T *t, void *arg)
{
	close((int)(intptr_t)arg);
}

TEST(fd_file)
{
	int fd = open("/dev/null", O_RDONLY);
	T_ASSERT_GE(t, fd, 0);
	t_main_cleanup(close_fd, (void *)(intptr_t)fd);
}

TEST(fd_socket_and_pipe)
{
	int sv[2], p[2];
	T_ASSERT_EQ(t, socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	T_ASSERT_EQ(t, pipe(p), 0);
	t_main_cleanup(close_fd, (void *)(intptr_t)sv[0]);
	t_main_cleanup(close_fd, (void *)(intptr_t)sv[1]);
	t_main_cleanup(close_fd, (void *)(intptr_t)p[0]);
	t_main_cleanup(close_fd, (void *)(intptr_t)p[1]);
}

/* Opened before any test: the test closes it and opens another file,
 * which gets the same number. */
static int reused_fd = -1;
__attribute__((constructor)) static void open_reused(void)
{
	reused_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

TEST(fd_closed_and_reopened)
{
	close(reused_fd);
	int fd = open("/dev/zero", O_RDONLY);
	T_ASSERT_EQ(t, fd, reused_fd);
}

static void *block_on(void *arg)
{
	char c;
	(void)!read((int)(intptr_t)arg, &c, 1);
	return NULL;
}

struct blocked_thread {
	pthread_t th;
	int p[2];
};

static void stop_thread(T *t, void *arg)
{
	struct blocked_thread *b = arg;
	close(b->p[1]);
	pthread_join(b->th, NULL);
	close(b->p[0]);
	free(b);
}

/* A thread blocked in read() until stop_thread. */
static struct blocked_thread *start_blocked(T *t, const char *name)
{
	struct blocked_thread *b = malloc(sizeof(*b));
	T_ASSERT_EQ(t, pipe2(b->p, O_CLOEXEC), 0);
	T_ASSERT_EQ(t, pthread_create(&b->th, NULL, block_on,
	                              (void *)(intptr_t)b->p[0]), 0);
	pthread_setname_np(b->th, name);
	return b;
}

TEST(thread)
{
	t_main_cleanup(stop_thread, start_blocked(t, "blocked-reader"));
}

static void *exit_soon(void *arg)
{
	struct timespec ts = {0, 50 * 1000000};
	nanosleep(&ts, NULL);
	return NULL;
}

/* Still running when the test ends, gone within the grace period. */
TEST(thread_exits_within_grace_period)
{
	pthread_t th;
	T_ASSERT_EQ(t, pthread_create(&th, NULL, exit_soon, NULL), 0);
	pthread_detach(th);
}

static void *close_soon(void *arg)
{
	struct timespec ts = {0, 100 * 1000000};
	nanosleep(&ts, NULL);
	close((int)(intptr_t)arg);
	return NULL;
}

/* A thread the test knowingly keeps (a server's worker, say) closes the
 * test's socket 100ms after the test ends: the check waits for it. */
TEST(fd_closed_by_a_thread_within_grace_period)
{
	int sv[2];
	T_ASSERT_EQ(t, socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	t_leak_ignore_thread_name(t, "late-closer");
	pthread_t th;
	T_ASSERT_EQ(t, pthread_create(&th, NULL, close_soon,
	                              (void *)(intptr_t)sv[0]), 0);
	pthread_setname_np(th, "late-closer");
	pthread_detach(th);
}

TEST(environment)
{
	setenv("DEFT_LEAK_NEW", "new value", 1);
	setenv("DEFT_LEAK_CHANGED", "changed", 1);
	unsetenv("DEFT_LEAK_REMOVED");
}

TEST(environment_was_restored)
{
	const char *changed = getenv("DEFT_LEAK_CHANGED");
	T_EXPECT_EQ(t, getenv("DEFT_LEAK_NEW"), (char *)NULL);
	T_EXPECT_EQ(t, changed, "before");
	T_EXPECT_EQ(t, getenv("DEFT_LEAK_REMOVED"), "was here");
}

TEST(cwd_and_umask)
{
	T_ASSERT_EQ(t, chdir("/"), 0);
	umask(077);
}

TEST(cwd_and_umask_were_restored)
{
	char *cwd = getcwd(NULL, 0);
	T_EXPECT_NE(t, cwd, "/");
	free(cwd);
	mode_t m = umask(022);
	T_EXPECT_EQ(t, m, 022);
}

static void reap(T *t, void *arg)
{
	pid_t pid = (pid_t)(intptr_t)arg;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(children)
{
	pid_t running = fork();
	T_ASSERT_GE(t, running, 0);
	if (running == 0) {
		pause();
		_exit(0);
	}
	pid_t zombie = fork();
	T_ASSERT_GE(t, zombie, 0);
	if (zombie == 0)
		_exit(3);
	siginfo_t si;
	waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT);
	t_main_cleanup(reap, (void *)(intptr_t)running);
	t_main_cleanup(reap, (void *)(intptr_t)zombie);
}

static void leaks_fd(T *t, void *arg)
{
	int fd = open("/dev/null", O_RDONLY);
	t_main_cleanup(close_fd, (void *)(intptr_t)fd);
}

/* Reported on the top-level test, after the subtests and cleanups. */
TEST(in_subtest)
{
	t_run(t, "sub", leaks_fd, NULL);
}

/* Kept on purpose, and said so: not reported. */
TEST(ignored)
{
	int fd = open("/dev/null", O_RDONLY);
	T_ASSERT_GE(t, fd, 0);
	t_leak_ignore_fd(t, fd);
	t_main_cleanup(close_fd, (void *)(intptr_t)fd);
	struct blocked_thread *b = start_blocked(t, "kept-on-purpose");
	t_main_cleanup(stop_thread, b);
	t_leak_ignore_thread_name(t, "kept-on-purpose");
	t_leak_ignore_fd(t, b->p[0]);
	t_leak_ignore_fd(t, b->p[1]);
}

/* A descriptor the harness registers as its own (a supervisor's pipe,
 * say) is never a leak, whichever test it appears in. */
TEST(harness_own_fd)
{
	int fd = open("/dev/null", O_RDONLY);
	T_ASSERT_GE(t, fd, 0);
	deft_leak_ignore_own_fd(fd);
}

/* A test that closes a descriptor it did not open (the harness's first
 * /proc file; how many it keeps open depends on what the process did)
 * and leaks a file under its number: the file is reported, and the
 * harness reopens its own. */
TEST(replaces_harness_fds)
{
	bool replaced = false;
	for (int fd = 3; fd < 64 && !replaced; fd++) {
		char path[64], target[256];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "/proc/", 6) != 0)
			continue;
		int null = open("/dev/null", O_RDONLY);
		T_ASSERT_GE(t, null, 0);
		T_ASSERT_EQ(t, dup2(null, fd), fd);
		close(null);
		replaced = true;
	}
	T_ASSERT(t, replaced);
}

/* A leak and a failure: both are reported on the test. */
TEST(leak_and_failure)
{
	int fd = open("/dev/null", O_RDONLY);
	t_main_cleanup(close_fd, (void *)(intptr_t)fd);
	t_error(t, "and a failure of its own");
}

/* Sends its stdout to /dev/null, as a test capturing a program's output
 * might, and leaves it there: a leak of fd 1.  Without isolation the
 * rest of the run shares that stdout, and its report must still reach
 * the console (which writes to a copy of its own); the check puts fd 1
 * back. */
TEST(stdout_redirected)
{
	T_ASSERT(t, freopen("/dev/null", "w", stdout) != NULL);
	printf("into /dev/null\n");
}

/* Closes its stdout as a program that has finished its output might
 * (fclose), and its stderr.  Without isolation the tests after it need
 * them: both are reported closed, and put back. */
TEST(stdio_closed)
{
	printf("before fclose\n");
	fclose(stdout);
	close(2);
}

/* After those: what it prints reaches stdout and stderr. */
TEST(prints_after)
{
	printf("stdout is back\n");
	fflush(stdout);
	fprintf(stderr, "stderr is back\n");
}

/* Cleans up after itself: passes. */
TEST(clean)
{
	int fd = open("/dev/null", O_RDONLY);
	t_defer(t, close, fd);
	t_cleanup(t, stop_thread, start_blocked(t, "joined"));
}

__attribute__((constructor)) static void environment_before(void)
{
	setenv("DEFT_LEAK_CHANGED", "before", 1);
	setenv("DEFT_LEAK_REMOVED", "was here", 1);
	umask(022);
	if (chdir("/tmp") != 0)
		abort();
}
