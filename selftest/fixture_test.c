/*
 * fixture_test.c - t_setenv, t_unsetenv, t_chdir, t_umask and t_tempdir
 * change what they should and restore it afterwards, in LIFO order with
 * the test's own cleanups.
 *
 * Each scenario runs as a subtest; once t_run has returned, its cleanups
 * have run, so the parent checks what was restored.  The ways they fail
 * are in progs/fixtures.c.
 */
#define _GNU_SOURCE
#include <deft.h>
#include "../harness/internal.h"    /* sets_process_state */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void sets_env(T *t, void *arg)
{
	t_setenv(t, "DEFT_FX_SET", "during");
	t_setenv(t, "DEFT_FX_UNSET", "during");
	t_setenv(t, "DEFT_FX_SET", "twice");    /* restores "during" first */
	t_unsetenv(t, "DEFT_FX_GONE");
	T_EXPECT_EQ(t, getenv("DEFT_FX_SET"), "twice");
	T_EXPECT_EQ(t, getenv("DEFT_FX_UNSET"), "during");
	T_EXPECT_NULL(t, getenv("DEFT_FX_GONE"));
}

TEST(setenv_and_unsetenv_restore_exact_values)
{
	T_ASSERT_EQ(t, setenv("DEFT_FX_SET", "before = with spaces", 1), 0);
	T_ASSERT_EQ(t, setenv("DEFT_FX_GONE", "", 1), 0);
	T_ASSERT_EQ(t, unsetenv("DEFT_FX_UNSET"), 0);
	T_EXPECT(t, t_run(t, "sub", sets_env, NULL));
	T_EXPECT_EQ(t, getenv("DEFT_FX_SET"), "before = with spaces");
	T_EXPECT_NULL(t, getenv("DEFT_FX_UNSET"));
	T_EXPECT_EQ(t, getenv("DEFT_FX_GONE"), "");   /* set, but empty */
	unsetenv("DEFT_FX_SET");
	unsetenv("DEFT_FX_GONE");
}

static void sees_env(T *t, void *arg)
{
	const char *want = arg;
	T_EXPECT_EQ(t, getenv("DEFT_FX_LIFO"), want);
}

static void lifo_env(T *t, void *arg)
{
	t_cleanup(t, sees_env, NULL);           /* runs last: restored */
	t_setenv(t, "DEFT_FX_LIFO", "one");
	t_cleanup(t, sees_env, "one");          /* runs second */
	t_setenv(t, "DEFT_FX_LIFO", "two");
	t_cleanup(t, sees_env, "two");          /* runs first */
}

TEST(restores_interleave_with_cleanups_lifo)
{
	T_EXPECT(t, t_run(t, "sub", lifo_env, NULL));
	T_EXPECT_NULL(t, getenv("DEFT_FX_LIFO"));
}

struct dirs {
	char before[PATH_MAX];
	char removed[PATH_MAX];
};

static void chdirs_into_removed(T *t, void *arg)
{
	struct dirs *d = arg;
	const char *tmp = t_tempdir(t);
	snprintf(d->removed, sizeof(d->removed), "%s/gone", tmp);
	T_ASSERT_EQ(t, mkdir(d->removed, 0700), 0);
	t_chdir(t, d->removed);
	char *cwd = getcwd(NULL, 0);
	T_EXPECT_EQ(t, cwd, d->removed);
	free(cwd);
	T_EXPECT_EQ(t, getenv("PWD"), d->removed);
	T_ASSERT_EQ(t, rmdir(d->removed), 0);
}

TEST(chdir_restores_cwd_and_pwd_even_if_dir_removed)
{
	struct dirs d;
	T_ASSERT_NOT_NULL(t, getcwd(d.before, sizeof(d.before)));
	const char *pwd = getenv("PWD");
	char *old_pwd = pwd ? strdup(pwd) : NULL;
	t_defer(t, free, old_pwd);
	T_EXPECT(t, t_run(t, "sub", chdirs_into_removed, &d));
	char now[PATH_MAX];
	T_ASSERT_NOT_NULL(t, getcwd(now, sizeof(now)));
	T_EXPECT_EQ(t, now, d.before);
	T_EXPECT_EQ(t, getenv("PWD"), old_pwd);
}

static void sets_umask(T *t, void *arg)
{
	T_EXPECT_EQ(t, t_umask(t, 077), (mode_t)022);
	T_EXPECT_EQ(t, t_umask(t, 0), (mode_t)077);
	int fd = open(t_tempdir(t), O_RDONLY);   /* made 0700 whatever */
	struct stat st;
	T_EXPECT_EQ(t, fstat(fd, &st), 0);
	T_EXPECT_EQ(t, st.st_mode & 0777, 0700);
	close(fd);
}

TEST(umask_restored_and_tempdir_mode_0700)
{
	mode_t old = umask(022);
	T_EXPECT(t, t_run(t, "sub", sets_umask, NULL));
	T_EXPECT_EQ(t, umask(old), (mode_t)022);
}

struct temps {
	char base[1024];
	char a[PATH_MAX], b[PATH_MAX], bazel[PATH_MAX];
	char outside_file[PATH_MAX];
};

/* Fills a temporary directory with what a removal must handle: nested
 * directories, one unreadable, links to the outside. */
static void fill(T *t, const char *dir, const char *outside_file)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/a", dir);
	T_ASSERT_EQ(t, mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/a/b", dir);
	T_ASSERT_EQ(t, mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/a/b/file", dir);
	FILE *f = fopen(p, "w");
	T_ASSERT_NOT_NULL(t, f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/a/b", dir);
	T_ASSERT_EQ(t, chmod(p, 0), 0);          /* not even listable */
	char outside_dir[PATH_MAX];
	snprintf(outside_dir, sizeof(outside_dir), "%s", outside_file);
	*strrchr(outside_dir, '/') = '\0';
	snprintf(p, sizeof(p), "%s/link_to_dir", dir);
	T_ASSERT_EQ(t, symlink(outside_dir, p), 0);
	snprintf(p, sizeof(p), "%s/link_to_file", dir);
	T_ASSERT_EQ(t, symlink(outside_file, p), 0);
}

static void makes_temps(T *t, void *arg)
{
	struct temps *s = arg;
	t_setenv(t, "TMPDIR", s->base);
	const char *a = t_tempdir(t), *b = t_tempdir(t);
	snprintf(s->a, sizeof(s->a), "%s", a);
	snprintf(s->b, sizeof(s->b), "%s", b);
	T_EXPECT_NE(t, a, b);
	fill(t, a, s->outside_file);
	t_setenv(t, "TEST_TMPDIR", s->base);   /* Bazel's, preferred */
	t_setenv(t, "TMPDIR", "/nonexistent");
	snprintf(s->bazel, sizeof(s->bazel), "%s", t_tempdir(t));
}

TEST(tempdir_unique_named_removed_without_following_links)
{
	struct temps s;
	snprintf(s.base, sizeof(s.base), "%s", t_tempdir(t));
	snprintf(s.outside_file, sizeof(s.outside_file), "%s/outside/keep",
	         s.base);
	char outside[PATH_MAX];
	snprintf(outside, sizeof(outside), "%s/outside", s.base);
	T_ASSERT_EQ(t, mkdir(outside, 0700), 0);
	FILE *f = fopen(s.outside_file, "w");
	T_ASSERT_NOT_NULL(t, f);
	fclose(f);

	T_EXPECT(t, t_run(t, "odd name/with:chars", makes_temps, &s));
	size_t n = strlen(s.base);
	T_EXPECT_EQ(t, strncmp(s.a, s.base, n), 0);
	T_EXPECT_EQ(t, strncmp(s.bazel, s.base, n), 0);
	char want[PATH_MAX];
	/* the name sanitised and cut at 64 bytes */
	snprintf(want, sizeof(want), "%s/deft-tempdir_unique_named_removed_"
	         "without_following_links_odd_name_wi-", s.base);
	T_EXPECT_EQ(t, strncmp(s.a, want, strlen(want)), 0);
	T_EXPECT_EQ(t, strlen(s.a), strlen(want) + 6);
	T_EXPECT_EQ(t, access(s.a, F_OK) != 0 && errno == ENOENT, 1);
	T_EXPECT_EQ(t, access(s.b, F_OK) != 0 && errno == ENOENT, 1);
	T_EXPECT_EQ(t, access(s.bazel, F_OK) != 0 && errno == ENOENT, 1);
	T_EXPECT_EQ(t, access(s.outside_file, F_OK), 0);
}

static void removes_own_tempdir(T *t, void *arg)
{
	const char *dir = t_tempdir(t);
	T_ASSERT_EQ(t, rmdir(dir), 0);   /* already gone: not an error */
}

TEST(tempdir_already_removed_is_fine)
{
	T_EXPECT(t, t_run(t, "sub", removes_own_tempdir, NULL));
}

static void *sleeps_briefly(void *arg)
{
	struct timespec ts = {0, 20 * 1000000};
	nanosleep(&ts, NULL);
	return NULL;
}

/* Still running when the test ends, gone within the leak check's grace
 * period: the test passes (it would fail with a leak otherwise). */
TEST(thread_exiting_in_grace_period_is_no_leak)
{
	pthread_t th;
	T_ASSERT_EQ(t, pthread_create(&th, NULL, sleeps_briefly, NULL), 0);
	pthread_detach(th);
}

static void helper_marks(T *t, void *arg)
{
	bool *marked = arg;
	T_EXPECT(t, !t->sets_process_state);
	t_tempdir(t);                        /* allowed in parallel tests */
	T_EXPECT(t, !t->sets_process_state);
	t_umask(t, 022);
	*marked = t->sets_process_state;
}

/* What t_parallel will check: a test that changed process state. */
TEST(helpers_mark_the_test_as_setting_process_state)
{
	bool marked = false;
	T_EXPECT(t, t_run(t, "sub", helper_marks, &marked));
	T_EXPECT(t, marked);
	T_EXPECT(t, !t->sets_process_state);  /* the parent did not */
}
