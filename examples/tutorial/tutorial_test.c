/* tutorial_test.c - the tests of the README's tutorial, step by step. */
#include <deft.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wordcount.h"

/* Step 1: a test and assertions. */
TEST(counts_words_in_a_string)
{
	T_EXPECT_EQ(t, count_words_in("the quick brown fox"), 4);
	T_EXPECT_EQ(t, count_words_in("  leading and trailing  "), 3);
	T_EXPECT_EQ(t, count_words_in(""), 0);
}

/* Step 2: a table of cases, each a subtest. */
struct wc_case {
	const char *name;
	const char *text;
	long want;
};

static void check_case(T *t, void *arg)
{
	const struct wc_case *c = arg;
	T_EXPECT_EQ(t, count_words_in(c->text), c->want);
}

TEST(table)
{
	static const struct wc_case cases[] = {
		{"empty", "", 0},
		{"one word", "word", 1},
		{"tabs and newlines", "a\tb\nc", 3},
		{"only spaces", "   ", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		t_run(t, cases[i].name, check_case, (void *)&cases[i]);
}

/* Step 3: a fixture - a function that acquires something and registers
 * its release, so the test cannot forget it. */
static FILE *temp_file_with(T *t, const char *text)
{
	/* t_defer captures the pointer, not the bytes: the path must
	 * outlive this function, so it is freed by the first cleanup
	 * pushed, which runs last. */
	char *path = strdup("/tmp/wordcount-XXXXXX");
	T_ASSERT_NOT_NULL(t, path);
	t_defer(t, free, path);
	int fd = mkstemp(path);
	T_ASSERT_GE(t, fd, 0);
	t_defer_check(t, unlink, path);
	FILE *f = fdopen(fd, "w+");
	T_ASSERT_NOT_NULL(t, f);
	t_defer_check(t, fclose, f); /* a failing fclose fails the test */
	fputs(text, f);
	rewind(f);
	return f;
}

TEST(counts_words_in_a_file)
{
	FILE *f = temp_file_with(t, "one two\nthree\n");
	T_EXPECT_EQ(t, count_words(f), 3);
}
