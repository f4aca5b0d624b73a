/*
 * alloc_test.c - the heaps deft allocates its own memory from
 * (harness/alloc.c): what they hand out reads as malloc's would.
 */
#include <deft.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../harness/buf.h"
#include "../harness/sanitizers.h"

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* In a test's own process deft allocates from the process's own heap,
 * one block after the other: a block made smaller gives nothing back
 * that a later deft_xcalloc would take for fresh. */
TEST(calloc_after_a_shrunk_block_is_zero)
{
	char *a = deft_xmalloc(256);
	memset(a, 0xff, 256);
	a = deft_xrealloc(a, 16);
	T_EXPECT_EQ(t, a[15], (char)0xff);
	unsigned char *b = deft_xcalloc(1, 256);
	T_EXPECT(t, all_zero(b, 256));
	deft_free(b);
	deft_free(a);
}

TEST(realloc_keeps_what_the_block_held)
{
	char *a = deft_xmalloc(8);
	memcpy(a, "0123456", 8);
	char *other = deft_xmalloc(8);  /* a is not the last block now */
	a = deft_xrealloc(a, 4096);
	T_EXPECT_EQ(t, a, "0123456");
	a = deft_xrealloc(a, 1 << 16);   /* the last block: grows in place */
	T_EXPECT_EQ(t, a, "0123456");
	deft_free(other);
	deft_free(a);
}

/* The runner's heap, started here in a process of the test's own. */
static void runner_heap(void *arg)
{
	(void)arg;
	deft_runner_heap_start();
	int fails = 0;
	/* A freed block comes back for the next of its size, zeroed for
	 * deft_xcalloc. */
	unsigned char *a = deft_xmalloc(100);
	memset(a, 0xab, 100);
	deft_free(a);
	unsigned char *b = deft_xcalloc(1, 100);
	fails += b != a;
	fails += !all_zero(b, 100);
	/* Moved to a bigger size, a block keeps its bytes. */
	memcpy(b, "0123456789", 11);
	b = deft_xrealloc(b, 5000);
	fails += strcmp((char *)b, "0123456789") != 0;
	b = deft_xrealloc(b, 8);
	fails += memcmp(b, "01234567", 8) != 0;
	/* Past its largest size, malloc's, and deft_free tells. */
	char *big = deft_xmalloc(1 << 20);
	memset(big, 1, 1 << 20);
	deft_free(big);
	deft_free(b);
	deft_runner_heap_stop();
	/* Stopped, it hands out nothing more, and still takes back. */
	char *c = deft_xmalloc(64);
	deft_free(c);
	_exit(fails);
}

TEST(the_runners_heap_reuses_blocks_as_malloc_would)
{
#if DEFT_ASAN || DEFT_TSAN
	t_skip(t, "under a sanitizer deft allocates from malloc alone");
#endif
	t_expect_exit(t, 0, runner_heap, NULL);
}

/* After a crash in the runner's process, deft allocates without malloc
 * (run_crash.c), here in a process of the test's own: the own heap, then
 * fresh mappings past it, as many as asked for; a block malloc gave before keeps its bytes when
 * it grows, and no free reaches malloc, which would abort at the second
 * free of the same block. */
static void avoiding_malloc(void *arg)
{
	(void)arg;
	int fails = 0;
	char *before = malloc(2000);    /* as deft's blocks from before */
	memcpy(before, "kept", 5);
	deft_own_heap_reserve();
	deft_avoid_malloc();
	fails += !deft_avoiding_malloc();
	struct mallinfo2 was = mallinfo2();
	/* Three times what the own heap holds, zeroed as asked. */
	for (int i = 0; i < 32; i++) {
		unsigned char *p = deft_xcalloc(1, 100 << 10);
		fails += !all_zero(p, 100 << 10);
		memset(p, 0xcd, 100 << 10);
		deft_free(p);
	}
	char *big = deft_xmalloc(9 << 20);      /* more than a mapping */
	memset(big, 1, 9 << 20);
	/* More blocks past the first mapping's size than there are
	 * mappings: they grow, and none is malloc's (350 MiB of address
	 * space, not touched). */
	for (int i = 0; i < 70; i++)
		fails += deft_xmalloc(5 << 20) == NULL;
	before = deft_xrealloc(before, 1 << 16);
	fails += strcmp(before, "kept") != 0;
	char *s = deft_xstrdup("a string");
	s = deft_xrealloc(s, 1 << 12);
	fails += strcmp(s, "a string") != 0;
	struct mallinfo2 is = mallinfo2();
	fails += is.uordblks != was.uordblks || is.hblkhd != was.hblkhd;
	deft_free(before);
	deft_free(before);
	deft_free(big);
	_exit(fails);
}

TEST(after_a_crash_deft_allocates_without_malloc)
{
	t_expect_exit(t, 0, avoiding_malloc, NULL);
}
