/*
 * subtests.c - names, nesting, filtering and ordering of subtests, for the
 * golden tests (run with -v and with -run/-skip/-count/-shuffle/-failfast).
 */
#include <deft.h>

#include <string.h>

static void leaf(T *t, void *arg)
{
	t_log(t, "%s", t_name(t));
	if (arg && strcmp(arg, "fail") == 0)
		t_error(t, "failing as asked");
}

static void middle(T *t, void *arg)
{
	t_run(t, "x", leaf, NULL);
	t_run(t, "y", leaf, arg);
}

TEST(names)
{
	t_run(t, "with space", leaf, NULL);
	t_run(t, "tab\tand\nnewline", leaf, NULL);
	t_run(t, "bell\a\x01 del\x7f", leaf, NULL);
	t_run(t, "caf\xc3\xa9 \xff invalid", leaf, NULL);
	t_run(t, "dup", leaf, NULL);
	t_run(t, "dup", leaf, NULL);
	t_run(t, "dup", leaf, NULL);
	t_run(t, "dup#01", leaf, NULL);
	t_run(t, "", leaf, NULL);
	t_run(t, "", leaf, NULL);
	t_run(t, "a/b", leaf, NULL);
}

TEST(nested)
{
	t_run(t, "one", middle, NULL);
	bool ok = t_run(t, "two", middle, "fail");
	const char *failed = t_failed(t) ? "yes" : "no";
	t_log(t, "t_run(two) returned %s; parent failed: %s", ok ? "true" : "false", failed);
	t_run(t, "three", middle, NULL);
}

static void calls_parent_fatal(T *t, void *arg)
{
	t_cleanup(t, leaf, NULL);
	t_fatal((T *)arg, "t_fatal on the parent from inside a subtest");
}

static void grandchild_fatal(T *t, void *arg)
{
	t_run(t, "grandchild", calls_parent_fatal, arg);
	t_log(t, "not reached: the middle test stops too");
}

static void parent_cleanup(T *t, void *arg)
{
	t_log(t, "parent cleanup runs");
}

TEST(fatal_on_ancestor)
{
	t_cleanup(t, parent_cleanup, NULL);
	t_run(t, "middle", grandchild_fatal, t);
	t_log(t, "not reached: the top test stops");
}

TEST(first) { t_log(t, "first"); }
TEST(second) { t_log(t, "second"); }
TEST(third) { t_log(t, "third"); }
