/*
 * arena.c - per-test bump allocation.
 *
 * A test's cleanup records and deferred calls live until the test is done,
 * then go all at once.  Bumping a pointer keeps t_cleanup and t_defer
 * cheap, and keeping records until the end lets a stale handle be noticed
 * instead of touching freed memory.
 */
#include "internal.h"

#include <stdlib.h>

struct deft_arena_chunk {
	struct deft_arena_chunk *next;
	size_t size;
	max_align_t data[];
};

/* Chunks double from 4 KiB to 64 KiB: a test with one cleanup costs one
 * small allocation, one with a million costs few. */
enum { FIRST_CHUNK = 4096, LAST_CHUNK = 64 << 10 };

void *deft_arena_alloc(struct deft_arena *a, size_t size)
{
	size = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
	if (size > a->left) {
		size_t n = a->chunks ? a->chunks->size * 2 : FIRST_CHUNK;
		if (n > LAST_CHUNK)
			n = LAST_CHUNK;
		if (n < size)
			n = size;
		struct deft_arena_chunk *c =
			deft_xmalloc(sizeof(*c) + n);
		c->next = a->chunks;
		c->size = n;
		a->chunks = c;
		a->next = (char *)c->data;
		a->left = n;
	}
	void *p = a->next;
	a->next += size;
	a->left -= size;
	return p;
}

void deft_arena_free(struct deft_arena *a)
{
	struct deft_arena_chunk *c = a->chunks;
	while (c) {
		struct deft_arena_chunk *next = c->next;
		deft_free(c);
		c = next;
	}
	a->chunks = NULL;
	a->next = NULL;
	a->left = 0;
}
