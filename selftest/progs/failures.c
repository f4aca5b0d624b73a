/*
 * failures.c - every way a test reports failure, for the golden tests:
 * each assertion kind failing, logs, fatal and skip, misuse of the API.
 */
#include <deft.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

TEST(integers)
{
	int i = 3;
	T_EXPECT_EQ(t, i + 1, 5);
	T_EXPECT_EQ(t, -1, 4294967295u);         /* by value, not by bits */
	T_EXPECT_LT(t, (uint64_t)UINT64_MAX, (int8_t)-1);
	T_EXPECT_GE(t, (short)-2, (unsigned char)200);
	T_EXPECT_NE(t, 'a', 97);
	T_EXPECT_EQ(t, (_Bool)1, (_Bool)0);
	T_EXPECT_GT(t, INT64_MIN, INT64_MAX);
	T_EXPECT_LE(t, 7ul, 6ull);
	/* and the ones that hold print nothing */
	T_EXPECT_LT(t, -1, 1u);
	T_EXPECT_EQ(t, (char)'x', 'x');
	T_EXPECT_GE(t, (size_t)10, 10);
}

TEST(floating)
{
	double third = 1.0 / 3.0;
	T_EXPECT_EQ(t, 0.1 + 0.2, 0.3);
	T_EXPECT_FLOAT_EQ(t, 0.1 + 0.2, 0.3);    /* holds: within 4 ULPs */
	T_EXPECT_FLOAT_EQ(t, third, 0.3334);
	T_EXPECT_NEAR(t, third, 0.3, 0.01);
	T_EXPECT_NEAR(t, 2.5f, 2.4f, 0.2);       /* holds */
	T_EXPECT_EQ(t, NAN, NAN);
	T_EXPECT_NE(t, NAN, NAN);                /* holds */
	T_EXPECT_LT(t, 1.5f, 1);
	T_EXPECT_EQ(t, 2.0L, 3);
}

TEST(strings_and_pointers)
{
	const char *hello = "hello, world";
	char buf[32];
	strcpy(buf, "hello, World");
	T_EXPECT_EQ(t, hello, buf);
	T_EXPECT_EQ(t, "tab\there", "quote\"and\\newline\n");
	T_EXPECT_NE(t, hello, "hello, world");
	T_EXPECT_EQ(t, (const char *)NULL, "x");
	T_EXPECT_EQ(t, (char *)NULL, (char *)NULL); /* holds */
	T_EXPECT_PTR_EQ(t, hello, hello);           /* holds */
	T_EXPECT_NULL(t, (void *)0);                /* holds */
	T_EXPECT_NOT_NULL(t, (void *)0);
	T_EXPECT_NULL(t, "x" == NULL ? hello : NULL); /* holds */
}

TEST(memory)
{
	unsigned char a[40], b[40];
	for (int i = 0; i < 40; i++)
		a[i] = b[i] = (unsigned char)('A' + i % 26);
	b[21] = 0;
	b[30] = 0xff;
	T_EXPECT_MEM_EQ(t, a, b, sizeof(a));
	T_EXPECT_MEM_EQ(t, a, b, 20);               /* holds */
	T_EXPECT_MEM_EQ(t, a, NULL, 4);
}

TEST(expect_returns_and_assert_stops)
{
	if (!T_EXPECT(t, 1 + 1 == 3))
		t_log(t, "T_EXPECT returned false and the test went on");
	T_ASSERT_EQ(t, strlen("abc"), 4);
	t_log(t, "not reached");
}

TEST(logs)
{
	t_log(t, "a line");
	t_log(t, "two lines\nthe second");
	t_log(t, "trailing newline is dropped\n");
	t_error(t, "t_error: %d%%", 100);
	t_log(t, "t_error carries on");
	t_fail(t);
	t_log(t, "t_fail carries on; failed=%d", t_failed(t));
}

TEST(failnow)
{
	t_failnow(t);
}

TEST(skip_after_failure_is_failure)
{
	t_error(t, "failed first");
	t_skip(t, "then skipped");
}

TEST(skipped)
{
	t_skip(t, "reason %s", "given");
}

TEST(passes)
{
	t_log(t, "only shown with -v");
}

static void *fatal_from_thread(void *arg)
{
	t_fatal((T *)arg, "t_fatal from another thread");
	return NULL;
}

/* t_fatal from a thread that does not run the test: the test fails with a
 * message and only that thread ends. */
TEST(fatal_from_other_thread)
{
	pthread_t th;
	pthread_create(&th, NULL, fatal_from_thread, t);
	pthread_join(th, NULL);
	t_log(t, "the body goes on after the thread ended");
}

static void nothing(T *t, void *arg)
{
}

static void returns_nothing(int x)
{
}

static void uses_parent_handle(T *t, void *arg)
{
	t_cleanup_cancel(t, *(t_handle *)arg);
}

TEST(misuse)
{
	t_defer_check(t, returns_nothing, 1);
	t_handle h = t_cleanup(t, nothing, NULL);
	t_run(t, "wrong_handle", uses_parent_handle, &h);
	t_run(t, NULL, nothing, NULL);
	t_cleanup(t, NULL, NULL);
}

/* Pointers into a stack frame that is gone when the cleanup runs: each
 * registration fails, and is not made (no "made" line in the output). */
static void made(const char *what)
{
	printf("made: %s\n", what);
}

static void prints_arg(T *t, void *arg)
{
	made(arg);
}

static void fixture_with_local(T *t)
{
	char path[] = "local path";
	t_defer(t, made, path);
}

static void registers_local(T *t, void *arg)
{
	char here[] = "cleanup's local";
	t_cleanup(t, prints_arg, here);
}

static void keeps_parents_local(T *t, void *arg)
{
	t_cleanup(t, prints_arg, arg);  /* runs before the parent returns */
	char own[] = "subtest's local";
	t_defer(t, made, own);
}

static void after_pause(T *t, void *arg)
{
	t_parallel(t);
	char own[] = "parallel subtest's local";
	t_cleanup(t, prints_arg, own);
}

/* Copies what its argument, in its parent's frame, holds before the
 * pause: deft cannot tell, and notes the danger. */
static void copies_before_pause(T *t, void *arg)
{
	char copy[32];
	snprintf(copy, sizeof(copy), "%s", (const char *)arg);
	t_parallel(t);
	t_log(t, "copied: %s", copy);
}

TEST(stack_pointers_in_cleanups)
{
	static char kept[] = "static";
	char local[] = "test's local";
	fixture_with_local(t);
	t_cleanup(t, prints_arg, local);
	t_main_cleanup(prints_arg, local);
	t_cleanup(t, registers_local, NULL);
	t_defer(t, made, kept);
	t_defer(t, made, "literal");
	t_run(t, "sub", keeps_parents_local, local);
	t_run(t, "parallel", after_pause, NULL);
}

TEST(parallel_arg_on_parent_stack)
{
	char local[] = "test's local";
	t_run(t, "copies", copies_before_pause, local);
}

/* A subtest name longer than any report could carry: refused. */
TEST(name_too_long)
{
	static char huge[20000];
	memset(huge, 'n', sizeof(huge) - 1);
	t_run(t, huge, nothing, NULL);
	t_group *g = t_group_new(t);
	t_go(g, huge, nothing, NULL);
	t_wait(g);
}
