/*
 * fixtures.c - the ways the process-state helpers fail, for the golden
 * tests: bad arguments, helpers in parallel tests, a temporary directory
 * that cannot be created or removed, main cleanups that fail.
 */
#define _GNU_SOURCE
#include <deft.h>
#include "../../harness/internal.h"     /* to mark a test parallel */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

TEST(setenv_bad_name)
{
	t_setenv(t, "A=B", "x");
	t_log(t, "not reached");
}

TEST(setenv_empty_name)
{
	t_unsetenv(t, "");
}

TEST(setenv_null_value)
{
	t_setenv(t, "DEFT_X", NULL);
}

TEST(chdir_missing)
{
	t_chdir(t, "/nonexistent/deft");
}

TEST(umask_out_of_range)
{
	t_umask(t, 01000);
}

TEST(parallel_test)
{
	t->parallel = true;     /* as t_parallel will do */
	t_setenv(t, "DEFT_X", "1");
}

static void child_chdir(T *t, void *arg)
{
	t_chdir(t, "/");
}

TEST(parallel_ancestor)
{
	t->parallel = true;
	t_run(t, "child", child_chdir, NULL);
	t->parallel = false;
}

TEST(tempdir_cannot_be_created)
{
	t_setenv(t, "TMPDIR", "/nonexistent/deft");
	t_tempdir(t);
}

struct replaced {
	char link[4096];
	char kept[4096];
};

/* Runs after the removal of the replaced directory, which must have
 * failed without touching the directory the link points to. */
static void after_removal(T *t, void *arg)
{
	struct replaced *r = arg;
	T_EXPECT_EQ(t, access(r->kept, F_OK), 0);
	T_EXPECT_EQ(t, unlink(r->link), 0);
	free(r);
}

/* The directory is replaced by a link to another: the removal must not
 * empty that one, and says so. */
TEST(tempdir_replaced_by_link)
{
	struct replaced *r = calloc(1, sizeof(*r));
	const char *outside = t_tempdir(t);
	snprintf(r->kept, sizeof(r->kept), "%s/keep", outside);
	FILE *f = fopen(r->kept, "w");
	T_ASSERT_NOT_NULL(t, f);
	fclose(f);
	t_cleanup(t, after_removal, r);
	const char *dir = t_tempdir(t);
	snprintf(r->link, sizeof(r->link), "%s", dir);
	T_ASSERT_EQ(t, rmdir(dir), 0);
	T_ASSERT_EQ(t, symlink(outside, dir), 0);
}

static void log_step(T *t, void *arg)
{
	t_log(t, "main cleanup %s", (const char *)arg);
}

static void fail_step(T *t, void *arg)
{
	t_error(t, "main cleanup %s failed", (const char *)arg);
}

TEST(registers_main_cleanups)
{
	t_main_cleanup(log_step, "registered first, runs last");
	t_main_cleanup(fail_step, "registered second");
	t_main_cleanup(log_step, "registered last, runs first");
}

/* The directory to go back to is kept open; a test that closes it makes
 * the restore fail, and the leak check then restores the directory. */
TEST(chdir_restore_fails)
{
	t_chdir(t, "/");
	for (int fd = 3; fd < 64; fd++) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			close(fd);
	}
}

static void leave_removed_dir(T *t, void *arg)
{
	T_EXPECT_EQ(t, chdir("/"), 0);
}

/* The working directory has been removed: there is nothing to go back
 * to, and t_chdir says so. */
TEST(chdir_from_removed_directory)
{
	char dir[] = "/tmp/deft-removed-XXXXXX";
	T_ASSERT_NOT_NULL(t, mkdtemp(dir));
	T_ASSERT_EQ(t, chdir(dir), 0);
	t_cleanup(t, leave_removed_dir, NULL);
	T_ASSERT_EQ(t, rmdir(dir), 0);
	t_chdir(t, "/");
}

static struct rlimit saved_limit;

static void restore_limit(T *t, void *arg)
{
	T_EXPECT_EQ(t, setrlimit(RLIMIT_NOFILE, &saved_limit), 0);
	close(2000);
}

/* A descriptor above RLIMIT_NOFILE, lowered since it was opened: the
 * leak check still finds it.  Last in the file, as the limit stays low
 * until the main cleanups run. */
TEST(fd_above_lowered_limit)
{
	T_ASSERT_EQ(t, getrlimit(RLIMIT_NOFILE, &saved_limit), 0);
	int fd = open("/dev/null", O_RDONLY);
	T_ASSERT_EQ(t, dup2(fd, 2000), 2000);
	close(fd);
	t_main_cleanup(restore_limit, NULL);
	struct rlimit low = {100, saved_limit.rlim_max};
	T_ASSERT_EQ(t, setrlimit(RLIMIT_NOFILE, &low), 0);
}

/* A working directory the golden files can name. */
__attribute__((constructor)) static void start_in_tmp(void)
{
	if (chdir("/tmp") != 0)
		abort();
}
