/*
 * buf.c - growable, NUL-terminated byte buffers.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void deft_buf_grow(struct deft_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = deft_xrealloc(b->data, cap);
	b->cap = cap;
}

void deft_buf_add(struct deft_buf *b, const void *p, size_t n)
{
	if (n == 0 && b->data != NULL)
		return;
	deft_buf_grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void deft_buf_puts(struct deft_buf *b, const char *s)
{
	deft_buf_add(b, s, strlen(s));
}

void deft_buf_putc(struct deft_buf *b, char c)
{
	deft_buf_add(b, &c, 1);
}

void deft_buf_vprintf(struct deft_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	deft_buf_grow(b, 128);
	int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		deft_buf_grow(b, (size_t)n);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void deft_buf_printf(struct deft_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	deft_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void deft_buf_indent(struct deft_buf *b, const char *s, size_t n,
                     const char *indent)
{
	size_t ilen = strlen(indent);
	const char *end = s + n;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t line = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
		deft_buf_add(b, indent, ilen);
		deft_buf_add(b, s, line);
		s += line;
	}
}

void deft_buf_free(struct deft_buf *b)
{
	deft_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *deft_buf_take(struct deft_buf *b)
{
	if (b->data == NULL)
		deft_buf_grow(b, 0), b->data[0] = '\0';
	char *p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
