/*
 * memory.c - memory errors that only a tool watching the process finds:
 * valgrind's memcheck, run over the whole binary (memory_check.py), or
 * LeakSanitizer in the ASan build.  Two tests have one each; the others,
 * which use deft's fixtures, subtests and parallel subtests and keep
 * memory reachable, must not be blamed for deft's own memory.
 *
 * With DEFT_MEMORY_EXIT set, TEST_MAIN ends the run with
 * exit(t_run_tests(m)), as Go's os.Exit(m.Run()).
 */
#define _GNU_SOURCE
#include <deft.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Not an error: still reachable at exit, and what makes a leak check
 * scan the process's memory. */
static char *kept;

/* Takes a block and keeps no pointer to it. */
static __attribute__((noinline)) void take_and_drop(void)
{
	char *volatile p = malloc(100);
	memset((char *)p, 1, 100);
	p = NULL;
}

/* Zeroes the stack below the caller's frame: LeakSanitizer scans the
 * live stack as it is, and a copy of the pointer left in a dead frame
 * that deft's frames later cover would keep the block "reachable". */
static __attribute__((noinline)) void scrub_stack(void)
{
	char dead[16384];
	explicit_bzero(dead, sizeof(dead));     /* not optimised away */
}

/* A leak: the only pointer to the block is gone when the test ends. */
TEST(leaks_a_block)
{
	take_and_drop();
	scrub_stack();
	t_log(t, "took 100 bytes and dropped them");
}

/* One byte past the end: AddressSanitizer stops here, memcheck only
 * says so (and nothing natively: malloc's block has room). */
TEST(writes_past_a_block)
{
	volatile size_t end = 8;        /* hidden from the compiler */
	char *p = malloc(end);
	((volatile char *)p)[end] = 1;
	free(p);
}

TEST(keeps_a_block)
{
	kept = malloc(1000);
	T_ASSERT_NOT_NULL(t, kept);
	memset(kept, 2, 1000);
}

static void remove_file(T *t, void *arg)
{
	(void)t;
	unlink(arg);
	free(arg);
}

TEST(uses_fixtures)
{
	const char *dir = t_tempdir(t);
	char *path = NULL;
	T_ASSERT_GT(t, asprintf(&path, "%s/f", dir), 0);
	FILE *f = fopen(path, "w");
	T_ASSERT_NOT_NULL(t, f);
	fputs("words\n", f);
	fclose(f);
	t_cleanup(t, remove_file, path);
	t_setenv(t, "DEFT_MEMORY_PROG", "1");
	t_defer(t, free, malloc(64));
	t_log(t, "in %s", dir);
}

static void in_parallel(T *t, void *arg)
{
	(void)arg;
	t_parallel(t);
	char *p = strdup("a subtest's");
	t_log(t, "%s", p);
	free(p);
}

TEST(runs_subtests)
{
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sub%d", i);
		t_run(t, name, in_parallel, NULL);
	}
}

TEST_MAIN(m)
{
	int status = t_run_tests(m);
	if (getenv("DEFT_MEMORY_EXIT"))
		exit(status);
	return status;
}
