/*
 * buf.h - a growable byte buffer, always NUL-terminated.
 *
 * Used for log lines, names and reports.  Allocation failure is not
 * recoverable in a test harness: it prints a message and aborts.
 */
#ifndef DEFT_BUF_H
#define DEFT_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define DEFT_FMT(f, a) __attribute__((format(printf, f, a)))
#else
#define DEFT_FMT(f, a)
#endif

struct deft_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define DEFT_BUF_INIT {NULL, 0, 0}

void deft_buf_grow(struct deft_buf *b, size_t extra);
void deft_buf_add(struct deft_buf *b, const void *p, size_t n);
void deft_buf_puts(struct deft_buf *b, const char *s);
void deft_buf_putc(struct deft_buf *b, char c);
void deft_buf_printf(struct deft_buf *b, const char *fmt, ...) DEFT_FMT(2, 3);
void deft_buf_vprintf(struct deft_buf *b, const char *fmt, va_list ap);
/* Appends s with each line prefixed by indent (not after a final '\n'). */
void deft_buf_indent(struct deft_buf *b, const char *s, size_t n,
                     const char *indent);
void deft_buf_free(struct deft_buf *b);
/* Gives the data away (the caller frees it); b is left empty. */
char *deft_buf_take(struct deft_buf *b);

/* alloc.c: what deft allocates, deft_free frees (see alloc.c). */
void *deft_xmalloc(size_t n);
void *deft_xcalloc(size_t n, size_t size);
void *deft_xrealloc(void *p, size_t n);
void *deft_xreallocarray(void *p, size_t n, size_t size);
char *deft_xstrdup(const char *s);
char *deft_xstrndup(const char *s, size_t n);
void deft_free(void *p);
/* The runner reserves the test processes' own heap, once; a test's
 * process starts allocating from it. */
void deft_own_heap_reserve(void);
void deft_own_heap_start(void);
/* The runner allocates from its own heap while it supervises. */
void deft_runner_heap_start(void);
void deft_runner_heap_stop(void);
/* After a crash in the runner's process: deft allocates without malloc,
 * from the own heap (reserved) and fresh mappings, and frees nothing. */
void deft_avoid_malloc(void);
bool deft_avoiding_malloc(void);
#endif
