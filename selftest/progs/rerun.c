/*
 * rerun.c - failing tests whose names the -run pattern must escape, each
 * next to a passing sibling that a pattern left unescaped or unanchored
 * would select too.  reports_check.py runs every command the console
 * prints to run a failed test alone, and checks that it runs just that
 * test and its ancestors.
 */
#include <deft.h>

static void fails(T *t, void *arg)
{
	t_error(t, "fails on purpose: %s", (const char *)arg);
}

static void passes(T *t, void *arg)
{
	(void)t;
	(void)arg;
}

/* Runs the failing subtest bad, then each passing one in good[]. */
static void pair(T *t, const char *bad, const char *const *good)
{
	t_run(t, bad, fails, (void *)bad);
	for (; *good; good++)
		t_run(t, *good, passes, NULL);
}

TEST(specials)
{
	pair(t, "a.b", (const char *const[]){"axb", NULL});
	pair(t, "x|y", (const char *const[]){"x", "y", NULL});
	pair(t, "paren(1)", (const char *const[]){"paren1", NULL});
	pair(t, "star*", (const char *const[]){"sta", NULL});
	pair(t, "brack[et]", (const char *const[]){"brackt", NULL});
	pair(t, "back\\slash", (const char *const[]){"backslash", NULL});
	pair(t, "quote'd \"twice\"", (const char *const[]){"quoted", NULL});
	pair(t, "with space", (const char *const[]){"with", NULL});
	pair(t, "plus+", (const char *const[]){"plu", "pluss", NULL});
}

TEST(more_specials)
{
	pair(t, "dollar$", (const char *const[]){"dollar", NULL});
	pair(t, "caret^x", (const char *const[]){"caretx", NULL});
	pair(t, "brace{2}", (const char *const[]){"bracee", NULL});
	pair(t, "q?", (const char *const[]){"q", NULL});
	pair(t, "slash/in", (const char *const[]){"slash", NULL});
	t_run(t, "dup", passes, NULL);
	t_run(t, "dup", fails, "the second dup, dup#01");
}

TEST(prefix)
{
	t_error(t, "fails on purpose");
}

TEST(prefix_passes)
{
}

/* Fails itself while its subtests pass: it is the one to run alone. */
TEST(own)
{
	t_run(t, "sub", passes, NULL);
	t_error(t, "fails on purpose");
}
