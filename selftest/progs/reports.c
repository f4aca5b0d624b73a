/*
 * reports.c - a suite for the report formats (-json, -junit, -tap): every
 * result, a failure or skip after a log line, subtests three deep, and
 * adversarial logs: every byte value,
 * "]]>", ANSI colour codes, invalid UTF-8, U+FFFE/U+FFFF, a 10 MB line,
 * and a character printed in two writes.  selftest/run.py feeds its
 * reports to xmllint, gotestsum, prove and meson, and compares their
 * counts with deft's.
 */
#include <deft.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

TEST(passes)
{
	t_log(t, "a log line of a passing test");
}

TEST(fails)
{
	T_EXPECT_EQ(t, 1 + 1, 3);
	t_error(t, "markup <&>\"' and ]]> and a CDATA end ]]]]><![CDATA[>");
}

TEST(skips)
{
	t_skip(t, "skipped because it must be");
}

TEST(logs_then_fails)
{
	t_log(t, "a note before the failure");
	t_error(t, "the first failure");
	t_error(t, "a second failure");
}

TEST(logs_then_skips)
{
	t_log(t, "a note before the skip");
	t_skip(t, "the reason to skip");
}

static void leaf(T *t, void *arg)
{
	if (arg)
		t_error(t, "%s", (const char *)arg);
	else
		t_log(t, "leaf %s", t_name(t));
}

static void middle(T *t, void *arg)
{
	t_run(t, "ok", leaf, NULL);
	t_run(t, "bad", leaf, arg);
}

TEST(tree)
{
	t_run(t, "a", middle, NULL);
	t_run(t, "b", middle, "failing leaf");
	t_run(t, "c", leaf, NULL);
}

static void logs_a_line(T *t, void *arg)
{
	(void)arg;
	t_log(t, "a test with the longest name a report carries");
}

/* The longest full name a subtest may have, 16 KiB, with output: every
 * report keeps its lines within bounds (-json's under 64 KiB). */
TEST(longest_name)
{
	static char name[16384 - sizeof("longest_name/") + 2];
	memset(name, 'n', sizeof(name) - 1);
	T_EXPECT(t, t_run(t, name, logs_a_line, NULL));
}

TEST(temp_dir)
{
	const char *tmp = getenv("TMPDIR");
	t_log(t, "TMPDIR=%s", tmp ? tmp : "(unset)");
}

TEST(every_byte)
{
	char bytes[256];
	for (int i = 0; i < 255; i++)
		bytes[i] = (char)(i + 1);      /* NUL ends the format */
	bytes[255] = '\0';
	t_log(t, "all bytes: %s", bytes);
	t_log(t, "colour: \033[31mred\033[0m, bell \a, backspace \b");
	t_log(t, "invalid UTF-8: \xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xf0\x28\x8c"
	      "\xbc \xc0\xaf \xed\xa0\x80 \xf8\xa1\xa1\xa1\xa1 end");
	t_log(t, "noncharacters: \xef\xbf\xbe \xef\xbf\xbf, valid: "
	      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	t_log(t, "cdata ]]> ]]]> <![CDATA[ x ]]>");
	t_error(t, "and it fails with them: \033[1m\x01\x7f]]>\xff");
}

TEST(huge_line)
{
	size_t n = 10u << 20;
	char *line = malloc(n + 1);
	T_ASSERT_NOT_NULL(t, line);
	t_defer(t, free, line);
	for (size_t i = 0; i < n; i++)
		line[i] = "<&>]\"'x\x1b"[i % 8];
	line[n] = '\0';
	t_error(t, "%s", line);
}

/* The euro sign's three bytes reach the runner in two reads. */
TEST(split_character)
{
	fputs("euro: \xe2\x82", stdout);
	fflush(stdout);
	struct timespec ts = {0, 100000000};
	nanosleep(&ts, NULL);
	puts("\xac.");
}
