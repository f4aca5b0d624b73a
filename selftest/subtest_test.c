/*
 * subtest_test.c - subtest names and results, seen from inside.
 */
#include <deft.h>

#include <string.h>

struct name_check {
	const char *want;
	int ran;
};

static void check_name(T *t, void *arg)
{
	struct name_check *c = arg;
	c->ran++;
	T_EXPECT_EQ(t, t_name(t), c->want);
}

static void expect_name(T *t, const char *sub, const char *want)
{
	struct name_check c = {want, 0};
	T_EXPECT(t, t_run(t, sub, check_name, &c));
	T_EXPECT_EQ(t, c.ran, 1);
}

TEST(names_follow_go)
{
	expect_name(t, "plain", "names_follow_go/plain");
	expect_name(t, "two words", "names_follow_go/two_words");
	expect_name(t, "tab\there", "names_follow_go/tab_here");
	expect_name(t, "nul\x01", "names_follow_go/nul\\x01");
	expect_name(t, "plain", "names_follow_go/plain#01");
	expect_name(t, "plain", "names_follow_go/plain#02");
	expect_name(t, "", "names_follow_go/#00");
	expect_name(t, "", "names_follow_go/#01");
	expect_name(t, "nested/level", "names_follow_go/nested/level");
	expect_name(t, "\xc3\xa9t\xc3\xa9", "names_follow_go/\xc3\xa9t\xc3\xa9");
}

static void inner_name(T *t, void *arg)
{
	expect_name(t, "inner", arg);
}

TEST(nested_names)
{
	T_EXPECT(t, t_run(t, "outer", inner_name,
	                  "nested_names/outer/inner"));
	T_EXPECT_EQ(t, t_name(t), "nested_names");
}

static void skips(T *t, void *arg)
{
	t_skip(t, "skipped on purpose");
}

TEST(skipped_subtest_passes_parent)
{
	T_EXPECT(t, t_run(t, "skips", skips, NULL));
	T_EXPECT(t, !t_failed(t));
	T_EXPECT(t, !t_skipped(t));
}

static void count_names(T *t, void *arg)
{
	(*(int *)arg)++;
}

TEST(many_subtests_get_unique_names)
{
	int n = 0;
	for (int i = 0; i < 1000; i++)
		t_run(t, "same", count_names, &n);
	T_EXPECT_EQ(t, n, 1000);
}
