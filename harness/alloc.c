/*
 * alloc.c - checked allocation, from the heap that costs least where it
 * runs.
 *
 * Allocation failure is not recoverable in a test harness: the x
 * functions print a message and abort.  deft frees all it allocates with
 * deft_free, which knows which heap a block came from.
 *
 * Where a page fault is dear (a virtual machine's, as much as 15 system
 * calls), what a test process costs is mostly the pages written on
 * either side of its fork, and two heaps of deft's own cut them:
 *
 * A test's process is forked from the runner, whose heap by then is
 * spread over many pages, its free chunks (each test's records, freed)
 * scattered among them.  What deft allocates as the process starts (the
 * test's struct and name, its report's records, the leak snapshot) would
 * land on a dozen of those pages, and the first write to each costs the
 * process a copy of the page.  So the runner reserves address space
 * once, which it never touches, and in each test process deft's
 * allocations come from there, one after the other: a few fresh pages,
 * and nothing of the runner's to copy.  Frees there are no-ops (the
 * process is short and ends with its test); past the reservation,
 * allocation goes to malloc.
 *
 * The runner, for its part, writes again after each fork to every page
 * it shares with the new process, and each first write is a fault (a
 * copy while the process lives).  What it allocates while it supervises
 * (each test's record and buffers, the reports' nodes) comes from a
 * reservation marked MADV_DONTFORK: the test processes do not get it,
 * fork copies none of it, and the runner's writes there cost no fault.
 * Blocks there are powers of two, reused from a free list per size.  A
 * test's process must not touch what the runner allocated while it
 * supervised (its copy of a pointer to it leads nowhere): see spawn and
 * deft_report_reset.
 *
 * Under a sanitizer neither is used, so that deft's memory stays
 * checked.
 *
 * After a crash in the runner's own process (run_crash.c), malloc may be
 * what crashed, holding its lock, or its heap what broke, and the reports
 * still have to be finished.  deft then allocates from the own heap, and
 * past it (and under a sanitizer, which would also warn of each malloc in
 * a signal handler) from fresh mappings, and frees nothing: the process
 * is dying.
 */
#include "buf.h"
#include "sanitizers.h"

#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void out_of_memory(size_t n)
{
	fprintf(stderr, "deft: out of memory allocating %zu bytes\n", n);
	abort();
}

/* In the own heap each block is its size, then the block, aligned as
 * malloc's. */
enum { ALIGN = 16, HEADER = 16, RESERVED = 1 << 20 };

static char *own_base;
static size_t own_used;         /* bytes handed out, atomically */
static bool own_on;
/* Since a crash in the runner's process: malloc is not called. */
static bool avoiding;
/* The runner's heap, below; its bookkeeping is the reservation's first
 * bytes, so that writing it costs no fault either. */
static struct runner_heap *runner;
static bool runner_on;

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

static bool in_own_heap(const void *p)
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

/* Grows the block that was handed out last where it is, to n bytes,
 * more than it has. */
static bool own_grow_in_place(void *p, size_t n)
{
	if (!in_own_heap(p))
		return false;
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

/* ---- after a crash: past the own heap ---- */

/* Mappings handed out as the own heap is, under a spin lock: the thread
 * that crashed may hold any other.  Each is at least twice the last (from
 * SPILL_MIN, up to SPILL_MAX), so that the SPILLS of them hold more than
 * the address space: a report does not run out of them, to fall back on
 * malloc's lock.  Untouched pages cost nothing (MAP_NORESERVE). */
enum { SPILLS = 64, SPILL_MIN = 4 << 20 };
#if SIZE_MAX > 0xffffffffu
#define SPILL_MAX ((size_t)1 << 40)
#else
#define SPILL_MAX ((size_t)1 << 30)
#endif
static struct spill {
	char *base;
	size_t size, used;
} spills[SPILLS];
static size_t nspills;
static bool spill_lock;

static void *spill_map(size_t size)
{
	return mmap(NULL, size, PROT_READ | PROT_WRITE,
	            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

static void *spill_alloc(size_t n)
{
	size_t need = HEADER + rounded(n);
	if (need < n)
		return NULL;
	while (__atomic_test_and_set(&spill_lock, __ATOMIC_ACQUIRE))
		;
	struct spill *s = nspills ? &spills[nspills - 1] : NULL;
	if ((s == NULL || s->size - s->used < need) && nspills < SPILLS) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		size_t least = s == NULL         ? (size_t)SPILL_MIN
		               : s->size < SPILL_MAX / 2 ? s->size * 2
		                                         : SPILL_MAX;
		size_t size = need > least ? (need + page - 1) & ~(page - 1)
		                           : least;
		void *m = spill_map(size);
		if (m == MAP_FAILED && size > need) {
			/* RLIMIT_AS, say: just what is asked. */
			size = (need + page - 1) & ~(page - 1);
			m = spill_map(size);
		}
		if (m != MAP_FAILED) {
			s = &spills[nspills];
			*s = (struct spill){m, size, 0};
			__atomic_store_n(&nspills, nspills + 1,
			                 __ATOMIC_RELEASE);
		}
	}
	void *p = NULL;
	if (s != NULL && s->size - s->used >= need) {
		p = s->base + s->used + HEADER;
		s->used += need;
		*size_of(p) = n;
	}
	__atomic_clear(&spill_lock, __ATOMIC_RELEASE);
	return p;
}

/* Whether p is the own heap's or a spill's: a block with its size
 * before it, which no free takes back. */
static bool owned(const void *p)
{
	if (in_own_heap(p))
		return true;
	size_t n = __atomic_load_n(&nspills, __ATOMIC_ACQUIRE);
	for (size_t i = 0; i < n; i++)
		if ((const char *)p >= spills[i].base &&
		    (const char *)p < spills[i].base + spills[i].size)
			return true;
	return false;
}

void deft_avoid_malloc(void)
{
	own_on = own_base != NULL;
	__atomic_store_n(&avoiding, true, __ATOMIC_RELEASE);
}

bool deft_avoiding_malloc(void)
{
	return __atomic_load_n(&avoiding, __ATOMIC_ACQUIRE);
}

/* ---- the runner's heap ---- */

/* Blocks of 2^SMALLEST to 2^LARGEST bytes, header included. */
enum { SMALLEST = 5, LARGEST = 17, RUNNER_RESERVED = 64 << 20 };

struct runner_heap {
	pthread_mutex_t mu;
	size_t used;                    /* from the heap's start */
	void *free[LARGEST - SMALLEST + 1];
};

/* In any process forked from the runner's: the heap was not copied,
 * and its addresses are free for the process's own mappings, which are
 * not deft's to take back.  They are unmapped all the same, a no-op for
 * the kernel: a tool that keeps its own map of the process (valgrind)
 * does not know MADV_DONTFORK, and at the process's exit its leak check
 * would scan the 64 MiB it believes are there a word at a time, each a
 * fault, for minutes. */
#if !DEFT_ASAN && !DEFT_TSAN
static void runner_heap_forget(void)
{
	__atomic_store_n(&runner_on, false, __ATOMIC_RELAXED);
	if (runner != NULL)
		munmap(runner, RUNNER_RESERVED);
	runner = NULL;
}
#endif

void deft_runner_heap_start(void)
{
#if !DEFT_ASAN && !DEFT_TSAN
	if (runner == NULL) {
		static bool watching;
		if (!watching && pthread_atfork(NULL, NULL,
		                                runner_heap_forget) != 0)
			return;
		watching = true;
		void *p = mmap(NULL, RUNNER_RESERVED, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		               -1, 0);
		if (p == MAP_FAILED)
			return;
		if (madvise(p, RUNNER_RESERVED, MADV_DONTFORK) != 0) {
			munmap(p, RUNNER_RESERVED);
			return;
		}
		runner = p;
		pthread_mutex_init(&runner->mu, NULL);
		runner->used = (sizeof(*runner) + 63) & ~(size_t)63;
	}
	__atomic_store_n(&runner_on, true, __ATOMIC_RELEASE);
#endif
}

void deft_runner_heap_stop(void)
{
	/* Its blocks still in use are freed into it as before. */
	__atomic_store_n(&runner_on, false, __ATOMIC_RELEASE);
}

static bool runner_owns(const void *p)
{
	return runner != NULL && (const char *)p >= (const char *)runner &&
	       (const char *)p < (const char *)runner + RUNNER_RESERVED;
}

/* The block's class and the size asked for, before it. */
static size_t *runner_header(void *p)
{
	return (size_t *)((char *)p - HEADER);
}

static void *runner_alloc(size_t n, bool zero)
{
	if (!__atomic_load_n(&runner_on, __ATOMIC_ACQUIRE) ||
	    n > ((size_t)1 << LARGEST) - HEADER)
		return NULL;
	unsigned c = SMALLEST;
	while (((size_t)1 << c) < n + HEADER)
		c++;
	pthread_mutex_lock(&runner->mu);
	char *b = runner->free[c - SMALLEST];
	if (b != NULL) {
		runner->free[c - SMALLEST] = *(void **)b;
	} else if (RUNNER_RESERVED - runner->used >= (size_t)1 << c) {
		b = (char *)runner + runner->used;
		runner->used += (size_t)1 << c;
	}
	pthread_mutex_unlock(&runner->mu);
	if (b == NULL)
		return NULL;
	void *p = b + HEADER;
	runner_header(p)[0] = c;
	runner_header(p)[1] = n;
	if (zero)
		memset(p, 0, n);
	return p;
}

static void runner_free(void *p)
{
	size_t c = runner_header(p)[0];
	char *b = (char *)p - HEADER;
	pthread_mutex_lock(&runner->mu);
	*(void **)b = runner->free[c - SMALLEST];
	runner->free[c - SMALLEST] = b;
	pthread_mutex_unlock(&runner->mu);
}

/* ---- what deft calls ---- */

/* The runner's heap first: a test may start one in a process of its
 * own (alloc_test.c does), where the own heap is on as well. */
static void *any_alloc(size_t n, bool zero)
{
	if (deft_avoiding_malloc()) {
		/* Fresh pages, zero. */
		void *p = own_alloc(n);
		return p ? p : spill_alloc(n);
	}
	void *p = runner_alloc(n, zero);
	if (p == NULL)
		p = own_alloc(n);
	return p;
}

void *deft_xmalloc(size_t n)
{
	void *p = any_alloc(n, false);
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
	void *p = any_alloc(n * size, true);
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
	size_t had;
	if (runner_owns(old)) {
		size_t *h = runner_header(old);
		if (n + HEADER <= (size_t)1 << h[0]) {
			h[1] = n;
			return old;
		}
		had = h[1];
	} else if (owned(old)) {
		/* Smaller: where it is, keeping its size, since the bytes it
		 * gives up are not fresh any more (deft_xcalloc counts on
		 * that). */
		had = *size_of(old);
		if (n <= had || own_grow_in_place(old, n))
			return old;
	} else if (!deft_avoiding_malloc()) {
		void *p = realloc(old, n ? n : 1);
		if (p == NULL)
			out_of_memory(n);
		return p;
	} else {
		had = malloc_usable_size(old);
	}
	void *p = deft_xmalloc(n);
	memcpy(p, old, had < n ? had : n);
	deft_free(old);
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

char *deft_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = deft_xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void deft_free(void *p)
{
	if (p == NULL || owned(p) || deft_avoiding_malloc())
		return;
	if (runner_owns(p))
		runner_free(p);
	else
		free(p);
}
