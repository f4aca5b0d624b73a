/*
 * defer_test.c - t_defer passes every scalar kind through libffi intact,
 * captures arguments at registration, and t_defer_check passes calls that
 * succeed.  Failing checks are covered by the golden tests.
 */
#include <deft.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static struct {
	char c;
	short s;
	int i;
	long l;
	long long ll;
	unsigned char uc;
	unsigned u;
	unsigned long long ull;
	float f;
	double d;
	long double ld;
	const char *str;
	int calls;
} got;

static void twelve(char c, short s, int i, long l, long long ll,
                   unsigned char uc, unsigned u, unsigned long long ull,
                   float f, double d, long double ld, const char *str)
{
	got.c = c;
	got.s = s;
	got.i = i;
	got.l = l;
	got.ll = ll;
	got.uc = uc;
	got.u = u;
	got.ull = ull;
	got.f = f;
	got.d = d;
	got.ld = ld;
	got.str = str;
	got.calls++;
}

static void defers_twelve(T *t, void *arg)
{
	char c = 'q';
	short s = SHRT_MIN;
	long double ld = 1.0L / 3;
	t_defer(t, twelve, c, s, -123456789, LONG_MIN, LLONG_MAX,
	        (unsigned char)250, UINT_MAX, ULLONG_MAX, 1.5f, -2.25, ld,
	        "text");
}

TEST(twelve_arguments_of_every_kind)
{
	memset(&got, 0, sizeof(got));
	T_ASSERT(t, t_run(t, "sub", defers_twelve, NULL));
	T_EXPECT_EQ(t, got.calls, 1);
	T_EXPECT_EQ(t, got.c, 'q');
	T_EXPECT_EQ(t, got.s, SHRT_MIN);
	T_EXPECT_EQ(t, got.i, -123456789);
	T_EXPECT_EQ(t, got.l, LONG_MIN);
	T_EXPECT_EQ(t, got.ll, LLONG_MAX);
	T_EXPECT_EQ(t, got.uc, 250);
	T_EXPECT_EQ(t, got.u, UINT_MAX);
	T_EXPECT_EQ(t, got.ull, ULLONG_MAX);
	T_EXPECT_EQ(t, got.f, 1.5f);
	T_EXPECT_EQ(t, got.d, -2.25);
	T_EXPECT_EQ(t, got.ld, 1.0L / 3);
	T_EXPECT_EQ(t, got.str, "text");
}

static long seen_long;

static void takes_long(long x)
{
	seen_long = x;
}

static void defers_int_for_long(T *t, void *arg)
{
	t_defer(t, takes_long, -1); /* int argument, long parameter */
}

TEST(int_argument_widens_to_long_parameter)
{
	seen_long = 0;
	T_ASSERT(t, t_run(t, "sub", defers_int_for_long, NULL));
	T_EXPECT_EQ(t, seen_long, -1L);
}

static int order[8], norder;

static void push_order(int i)
{
	order[norder++] = i;
}

static void captures_now(T *t, void *arg)
{
	int i = 1;
	t_defer(t, push_order, i);
	i = 2;
	t_defer(t, push_order, i);
	for (i = 3; i < 6; i++)
		t_defer(t, push_order, i);
}

TEST(arguments_are_captured_at_registration)
{
	norder = 0;
	T_ASSERT(t, t_run(t, "sub", captures_now, NULL));
	int want[] = {5, 4, 3, 2, 1};
	T_EXPECT_EQ(t, norder, 5);
	T_EXPECT_MEM_EQ(t, order, want, sizeof(want));
}

static int zero_arg_calls;

static void no_arguments(void)
{
	zero_arg_calls++;
}

static void defer_handles(T *t, void *arg)
{
	t_defer(t, no_arguments);
	t_handle h = t_defer(t, no_arguments);
	t_handle c = t_defer(t, no_arguments);
	t_cleanup_run_now(t, h);
	T_EXPECT_EQ(t, zero_arg_calls, 1);
	t_cleanup_cancel(t, c);
}

TEST(deferred_calls_have_handles)
{
	zero_arg_calls = 0;
	T_ASSERT(t, t_run(t, "sub", defer_handles, NULL));
	T_EXPECT_EQ(t, zero_arg_calls, 2);
}

static void *non_null(void *p)
{
	return p;
}

static _Bool yes(void)
{
	return 1;
}

TEST(defer_check_passes_calls_that_succeed)
{
	int fd = open("/dev/null", O_RDONLY);
	T_ASSERT_GE(t, fd, 0);
	t_defer_check(t, close, fd);
	FILE *f = fopen("/dev/null", "r");
	T_ASSERT_NOT_NULL(t, f);
	t_defer_check(t, fclose, f);
	pthread_mutex_t *mu = malloc(sizeof(*mu));
	pthread_mutex_init(mu, NULL);
	t_defer(t, free, mu);
	t_defer_check(t, pthread_mutex_destroy, mu);
	t_defer_check(t, non_null, (void *)t);
	t_defer_check(t, yes);
}

static int sum;

static void add_doubles(double a, float b, int c, double d)
{
	sum = (int)(a + b + c + d);
}

static void defers_mixed(T *t, void *arg)
{
	t_defer(t, add_doubles, 1.5, 2.5f, 3, 4.0);
}

TEST(mixed_register_classes)
{
	sum = 0;
	T_ASSERT(t, t_run(t, "sub", defers_mixed, NULL));
	T_EXPECT_EQ(t, sum, 11);
}

/* Code that runs on another stack than its test's body, a coroutine's
 * allocated on the heap, registers heap pointers: deft's check for
 * pointers into the body's frames must not take the memory between the
 * two stacks for frames. */
static ucontext_t body_uc, coroutine_uc;
static T *coroutine_test;
static int coroutine_calls;

static void count_call(int *calls)
{
	(*calls)++;
}

static void coroutine(void)
{
	int *calls = malloc(sizeof(*calls));
	*calls = 0;
	t_defer(coroutine_test, free, calls);
	t_defer(coroutine_test, count_call, &coroutine_calls);
	swapcontext(&coroutine_uc, &body_uc);
}

static void runs_coroutine(T *t, void *arg)
{
	size_t size = 1 << 16;
	char *stack = malloc(size);
	T_ASSERT_NOT_NULL(t, stack);
	t_defer(t, free, stack);
	coroutine_test = t;
	T_ASSERT_EQ(t, getcontext(&coroutine_uc), 0);
	coroutine_uc.uc_stack.ss_sp = stack;
	coroutine_uc.uc_stack.ss_size = size;
	coroutine_uc.uc_link = &body_uc;
	makecontext(&coroutine_uc, coroutine, 0);
	T_ASSERT_EQ(t, swapcontext(&body_uc, &coroutine_uc), 0);
}

TEST(heap_pointers_registered_from_another_stack)
{
	coroutine_calls = 0;
	T_EXPECT(t, t_run(t, "sub", runs_coroutine, NULL));
	T_EXPECT_EQ(t, coroutine_calls, 1);
}
