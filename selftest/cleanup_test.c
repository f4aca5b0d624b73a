/*
 * cleanup_test.c - the cleanup stack, observed from inside the process.
 *
 * Each scenario runs as a subtest; once t_run has returned, the subtest and
 * its cleanups are done, and the parent checks the order they ran in.
 * Failing cleanups are covered by the golden tests (progs/cleanup_order.c).
 */
#include <deft.h>

#include <stdlib.h>
#include <string.h>

struct trace {
	char log[128];
};

struct step {
	struct trace *trace;
	const char *name;
};

static void record(struct trace *tr, const char *name)
{
	if (tr->log[0])
		strcat(tr->log, " ");
	strcat(tr->log, name);
}

static void record_cleanup(T *t, void *arg)
{
	struct step *s = arg;
	record(s->trace, s->name);
}

/* A step outlives the body that registers it: it is freed by a cleanup
 * pushed before the one that uses it, so LIFO frees it after. */
static struct step *new_step(T *t, struct trace *tr, const char *name)
{
	struct step *s = malloc(sizeof(*s));
	T_ASSERT_NOT_NULL(t, s);
	t_defer(t, free, s);
	*s = (struct step){tr, name};
	return s;
}

#define STEP(tr, n) new_step(t, (tr), (n))

static void three_cleanups(T *t, void *arg)
{
	struct trace *tr = arg;
	t_cleanup(t, record_cleanup, STEP(tr, "1"));
	t_cleanup(t, record_cleanup, STEP(tr, "2"));
	t_cleanup(t, record_cleanup, STEP(tr, "3"));
	record(tr, "body");
}

TEST(cleanups_run_lifo_after_body)
{
	struct trace tr = {""};
	T_ASSERT(t, t_run(t, "sub", three_cleanups, &tr));
	T_EXPECT_EQ(t, tr.log, "body 3 2 1");
}

static void run_now_and_cancel(T *t, void *arg)
{
	struct trace *tr = arg;
	t_handle a = t_cleanup(t, record_cleanup, STEP(tr, "a"));
	t_handle b = t_cleanup(t, record_cleanup, STEP(tr, "b"));
	t_handle c = t_cleanup(t, record_cleanup, STEP(tr, "c"));
	T_EXPECT_NOT_NULL(t, a);
	t_cleanup_run_now(t, b);
	record(tr, "|");
	t_cleanup_run_now(t, b);
	t_cleanup_cancel(t, c);
	t_cleanup_cancel(t, c);
	t_cleanup_cancel(t, b);
	record(tr, "end");
}

TEST(run_now_runs_once_and_cancel_removes)
{
	struct trace tr = {""};
	T_ASSERT(t, t_run(t, "sub", run_now_and_cancel, &tr));
	T_EXPECT_EQ(t, tr.log, "b | end a");
}

static void registers_two(T *t, void *arg)
{
	struct step *s = arg;
	record(s->trace, s->name);
	t_cleanup(t, record_cleanup, STEP(s->trace, "inner1"));
	t_cleanup(t, record_cleanup, STEP(s->trace, "inner2"));
}

static void nested_registration(T *t, void *arg)
{
	struct trace *tr = arg;
	t_cleanup(t, record_cleanup, STEP(tr, "first"));
	t_cleanup(t, registers_two, STEP(tr, "outer"));
	t_cleanup(t, record_cleanup, STEP(tr, "last"));
}

TEST(cleanups_registered_by_cleanups_run_next)
{
	struct trace tr = {""};
	T_ASSERT(t, t_run(t, "sub", nested_registration, &tr));
	T_EXPECT_EQ(t, tr.log, "last outer inner2 inner1 first");
}

static void leaf_with_cleanup(T *t, void *arg)
{
	struct step *s = arg;
	t_cleanup(t, record_cleanup, s);
	record(s->trace, "leaf-body");
}

static void parent_with_subtests(T *t, void *arg)
{
	struct trace *tr = arg;
	t_cleanup(t, record_cleanup, STEP(tr, "parent"));
	t_run(t, "a", leaf_with_cleanup, STEP(tr, "a"));
	t_run(t, "b", leaf_with_cleanup, STEP(tr, "b"));
	record(tr, "parent-body");
}

TEST(subtest_cleanups_run_before_parent_cleanups)
{
	struct trace tr = {""};
	T_ASSERT(t, t_run(t, "sub", parent_with_subtests, &tr));
	T_EXPECT_EQ(t, tr.log, "leaf-body a leaf-body b parent-body parent");
}

static void skips_after_cleanup(T *t, void *arg)
{
	t_cleanup(t, record_cleanup, STEP(arg, "cleanup"));
	t_skip(t, "skipping");
	record(arg, "not reached");
}

TEST(skip_runs_cleanups_and_passes_parent)
{
	struct trace tr = {""};
	T_EXPECT(t, t_run(t, "sub", skips_after_cleanup, &tr));
	T_EXPECT_EQ(t, tr.log, "cleanup");
	T_EXPECT(t, !t_failed(t));
}

static void count_up(T *t, void *arg)
{
	++*(int *)arg;
}

static void ten_thousand(T *t, void *arg)
{
	for (int i = 0; i < 10000; i++)
		t_cleanup(t, count_up, arg);
}

TEST(ten_thousand_cleanups_all_run)
{
	int n = 0;
	T_EXPECT(t, t_run(t, "sub", ten_thousand, &n));
	T_EXPECT_EQ(t, n, 10000);
}
