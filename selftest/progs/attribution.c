/*
 * attribution.c - tests and subtests that write to stdout and stderr in
 * every way (stdio with and without a newline, raw write(), stderr) between
 * their logs and their subtests' starts and ends.  Every line names the
 * test that wrote it; reports_check.py checks that each report gives each
 * line to that test, though the output and the events reach the
 * supervisor by different paths.
 */
#include <deft.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void raw(const char *what, const char *name)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s of %s\n", what, name);
	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		perror("write");
}

static void leaf(T *t, void *arg)
{
	const char *name = t_name(t);
	printf("stdout of %s\n", name);
	fprintf(stderr, "stderr of %s\n", name);
	raw("raw", name);
	t_log(t, "log of %s", name);
	printf("after log of %s\n", name);
}

static void mid(T *t, void *arg)
{
	const char *name = t_name(t);
	printf("stdout of %s\n", name);
	/* No newline: stdio holds it until deft's next event. */
	printf("unfinished of %s", name);
	for (int i = 0; i < 3; i++)
		t_run(t, "leaf", leaf, NULL);
	/* Still on the unfinished line: the log starts a line of its own. */
	t_log(t, "log of %s", name);
	raw("end", name);
}

static void top(T *t)
{
	const char *name = t_name(t);
	printf("stdout of %s\n", name);
	for (int i = 0; i < 8; i++)
		t_run(t, "mid", mid, NULL);
	fprintf(stderr, "end of %s\n", name);
}

TEST(first)
{
	top(t);
}

TEST(second)
{
	top(t);
}

/* Pauses in t_parallel: its parent's body goes on, and writes, before
 * the subtest resumes and writes the rest. */
static void paused(T *t, void *arg)
{
	const char *name = t_name(t);
	printf("stdout of %s\n", name);
	t_parallel(t);
	raw("raw", name);
	fprintf(stderr, "end of %s\n", name);
}

TEST(third)
{
	const char *name = t_name(t);
	t_run(t, "paused", paused, NULL);
	printf("stdout of %s\n", name);
	raw("raw", name);
	fprintf(stderr, "end of %s\n", name);
}
