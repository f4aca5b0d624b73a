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
	max_align_t data[];
};

enum { CHUNK_SIZE = 4096 - sizeof(struct deft_arena_chunk) };

void *deft_arena_alloc(struct deft_arena *a, size_t size)
{
	size = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
	if (size > a->left) {
		size_t n = size > CHUNK_SIZE ? size : CHUNK_SIZE;
		struct deft_arena_chunk *c =
			deft_xmalloc(sizeof(*c) + n);
		c->next = a->chunks;
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
		free(c);
		c = next;
	}
	a->chunks = NULL;
	a->next = NULL;
	a->left = 0;
}
