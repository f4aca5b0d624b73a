/*
 * text.h - text written into a fixed buffer without printf: cut at the
 * buffer's end, never allocating, async-signal-safe.  For the crash
 * handlers (crash_record.c, run_crash.c), and for code every test
 * process or every test's end runs, where printf's code and its deep
 * stack cost page faults (run_deadline.c).
 */
#ifndef DEFT_TEXT_H
#define DEFT_TEXT_H

#include <stddef.h>
#include <string.h>

struct text {
	char *p;
	size_t len, cap;        /* cap: at most this many bytes */
};

static inline void text_add(struct text *t, const char *s, size_t n)
{
	while (n-- > 0 && t->len < t->cap)
		t->p[t->len++] = *s++;
}

static inline void text_puts(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

static inline void text_int(struct text *t, long v)
{
	char digits[24];
	size_t i = sizeof(digits);
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
	do
		digits[--i] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		digits[--i] = '-';
	text_add(t, digits + i, sizeof(digits) - i);
}

/* Into buf of size bytes, NUL-terminated; size must not be 0. */
static inline struct text text_in(char *buf, size_t size)
{
	return (struct text){buf, 0, size - 1};
}

static inline void text_end(struct text *t)
{
	t->p[t->len] = '\0';
}
#endif
