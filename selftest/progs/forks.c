/*
 * forks.c - tests that fork processes of their own, for the golden files
 * forks.txt and forks_in_process.txt: a forked process that ends with
 * exit(), _exit() or a signal is the test's business, one that fails
 * fails the test, and one that returns from the test's code into deft is
 * ended there.
 */
#define _GNU_SOURCE
#include <deft.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Waits for pid; logs and returns its status. */
static int wait_for(T *t, pid_t pid)
{
	int status;
	if (pid < 0)
		t_fatal(t, "fork failed");
	if (waitpid(pid, &status, 0) != pid)
		t_fatal(t, "waitpid failed");
	/* Each on one line: compilers differ on a macro's __LINE__. */
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	if (code >= 0)
		t_log(t, "forked process exited with %d", code);
	else if (sig == SIGSEGV)
		t_log(t, "forked process killed by SIGSEGV");
	else if (sig)
		t_log(t, "forked process killed by signal %d", sig);
	return status;
}

TEST(child_exits)
{
	pid_t pid = fork();
	if (pid == 0)
		exit(0);
	wait_for(t, pid);
}

TEST(child_exits_with_status)
{
	pid_t pid = fork();
	if (pid == 0)
		exit(7);
	int status = wait_for(t, pid);
	T_EXPECT_EQ(t, WEXITSTATUS(status), 7);
}

TEST(child_underscore_exits)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	wait_for(t, pid);
}

TEST(child_crashes)
{
	pid_t pid = fork();
	if (pid == 0) {
		/* No core file from a crash the test means. */
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	int status = wait_for(t, pid);
	T_EXPECT(t, WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

TEST(child_returns)
{
	const char *dir = t_tempdir(t);
	pid_t pid = fork();
	if (pid == 0)
		return;
	wait_for(t, pid);
	if (access(dir, F_OK) != 0)
		t_error(t, "the forked process removed the test's t_tempdir");
}

static void forks_and_returns(T *t, void *arg)
{
	(void)arg;
	pid_t pid = fork();
	if (pid == 0)
		return;
	wait_for(t, pid);
}

TEST(child_returns_from_subtest)
{
	t_run(t, "sub", forks_and_returns, NULL);
	t_log(t, "the parent goes on");
}

TEST(child_fails)
{
	pid_t pid = fork();
	if (pid == 0) {
		t_error(t, "the forked process fails the test");
		exit(0);
	}
	wait_for(t, pid);
}

TEST(fine_after)
{
}
