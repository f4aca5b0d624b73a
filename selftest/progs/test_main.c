/*
 * test_main.c - a TEST_MAIN that sets up a process-wide fixture (an
 * environment variable and a temporary directory) that every test sees,
 * and tears it down once with t_main_cleanup, for the golden files
 * test_main.txt and test_main_in_process.txt.
 */
#include <deft.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX];
static pid_t main_pid;

static void say(const char *what)
{
	printf("%s (%s)\n", what,
	       getpid() == main_pid ? "in TEST_MAIN's process"
	                            : "in a test's process");
	fflush(stdout);
}

static void remove_dir(T *t, void *arg)
{
	say("main cleanup: removing the directory");
	if (rmdir(arg) != 0)
		t_error(t, "rmdir %s failed", (char *)arg);
}

static void unset_fixture(T *t, void *arg)
{
	(void)t;
	(void)arg;
	say("main cleanup: unsetting DEFT_FIXTURE");
	unsetenv("DEFT_FIXTURE");
}

TEST_MAIN(m)
{
	main_pid = getpid();
	say("TEST_MAIN: setting up");
	setenv("DEFT_FIXTURE", "from TEST_MAIN", 1);
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/deft-main-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	t_main_cleanup(remove_dir, dir);
	t_main_cleanup(unset_fixture, NULL);
	int rc = t_run_tests(m);
	printf("TEST_MAIN: t_run_tests returned %d\n", rc);
	printf("TEST_MAIN: a second call returns %d\n", t_run_tests(m));
	fflush(stdout);
	return rc;
}

TEST(sees_environment)
{
	T_EXPECT_EQ(t, getenv("DEFT_FIXTURE"), "from TEST_MAIN");
}

TEST(sees_directory)
{
	struct stat st;
	T_ASSERT_EQ(t, stat(dir, &st), 0);
	T_EXPECT(t, S_ISDIR(st.st_mode));
}

/* Logged, not printed: a test process's output and its events reach the
 * console by different pipes. */
static void test_cleanup(T *t, void *arg)
{
	(void)arg;
	const char *where = getpid() == main_pid ? "in TEST_MAIN's process"
	                                         : "in a test's process";
	t_log(t, "main cleanup registered by a test (%s)", where);
}

TEST(registers_main_cleanup)
{
	t_main_cleanup(test_cleanup, NULL);
}
