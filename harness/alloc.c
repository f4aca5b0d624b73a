/*
 * alloc.c - checked allocation, and a test process's own heap.
 *
 * Allocation failure is not recoverable in a test harness: the x
 * functions print a message and abort.
 *
 * A test's process is forked from the runner, whose heap by then is
 * spread over many pages, its free chunks (each test's records, freed)
 * scattered among them.  What deft allocates as the process starts (the
 * test's struct and name, its report's records, the leak snapshot) would
 * land on a dozen of those pages, and the first write to each costs the
 * process a copy of the page.  Where a page fault is dear (a virtual
 * machine's, as much as 15 system calls) those copies were a good part of
 * what a test process costs.  So the runner reserves address space once,
 * which it never touches, and in each test process deft's allocations
 * come from there, one after the other: a few fresh pages, and nothing of
 * the runner's to copy.  Frees there are no-ops (the process is short and
 * ends with its test); past the reservation, allocation goes to malloc.
 * Under a sanitizer it is not used, so that deft's own memory stays
 * checked.  deft frees all it allocates with deft_free, which tells the
 * two apart.
 */
#include "buf.h"
#include "sanitizers.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void out_of_memory(size_t n)
{
	fprintf(stderr, "deft: out of memory allocating %zu bytes\n", n);
	abort();
}

/* Each block is its size, then the block, aligned as malloc's. */
enum { ALIGN = 16, HEADER = 16, RESERVED = 1 << 20 };

static char *own_base;
static size_t own_used;         /* bytes handed out, atomically */
static bool own_on;

static size_t rounded(size_t n)
{
	return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

void deft_own_heap_reserve(void)
{
#if !DEFT_ASAN && !DEFT_TSAN
	if (own_base != NULL)
		return;
	void *p = mmap(NULL, RESERVED, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p != MAP_FAILED)
		own_base = p;
#endif
}

void deft_own_heap_start(void)
{
	own_on = own_base != NULL;
}

static bool owned(const void *p)
{
	return own_base != NULL && (const char *)p >= own_base &&
	       (const char *)p < own_base + RESERVED;
}

static size_t *size_of(void *p)
{
	return (size_t *)((char *)p - HEADER);
}

/* A fresh block of n bytes, zero as the pages are, or NULL when the
 * reservation is spent. */
static void *own_alloc(size_t n)
{
	if (!own_on || n > RESERVED)
		return NULL;
	size_t need = HEADER + rounded(n);
	size_t at = __atomic_load_n(&own_used, __ATOMIC_RELAXED);
	do {
		if (need > RESERVED - at)
			return NULL;
	} while (!__atomic_compare_exchange_n(&own_used, &at, at + need, true,
	                                      __ATOMIC_RELAXED,
	                                      __ATOMIC_RELAXED));
	void *p = own_base + at + HEADER;
	*size_of(p) = n;
	return p;
}

/* Grows the block that was handed out last where it is. */
static bool own_grow_in_place(void *p, size_t n)
{
	size_t start = (size_t)((char *)p - own_base);
	size_t end = start + rounded(*size_of(p));
	if (n > RESERVED - start)
		return false;
	size_t new_end = start + rounded(n);
	if (!__atomic_compare_exchange_n(&own_used, &end, new_end, false,
	                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return false;
	*size_of(p) = n;
	return true;
}

void *deft_xmalloc(size_t n)
{
	void *p = own_alloc(n);
	if (p == NULL)
		p = malloc(n ? n : 1);
	if (p == NULL)
		out_of_memory(n);
	return p;
}

void *deft_xcalloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		out_of_memory(SIZE_MAX);
	void *p = own_alloc(n * size);
	if (p == NULL)
		p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *deft_xrealloc(void *old, size_t n)
{
	if (old == NULL)
		return deft_xmalloc(n);
	if (!owned(old)) {
		void *p = realloc(old, n ? n : 1);
		if (p == NULL)
			out_of_memory(n);
		return p;
	}
	if (own_grow_in_place(old, n))
		return old;
	size_t had = *size_of(old);
	void *p = deft_xmalloc(n);
	memcpy(p, old, had < n ? had : n);
	return p;
}

void *deft_xreallocarray(void *old, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		out_of_memory(SIZE_MAX);
	return deft_xrealloc(old, n * size);
}

char *deft_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(deft_xmalloc(n), s, n);
}

void deft_free(void *p)
{
	if (p != NULL && !owned(p))
		free(p);
}
