/*
 * assert.c - the checks behind T_EXPECT_* and T_ASSERT_*.
 *
 * The macros capture each operand with its kind (deft.h); here the two are
 * compared in the domain their kinds call for, and a failure is reported
 * with the source expressions and both values.  A passing check formats
 * nothing and allocates nothing.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define LIBBSD_OPENBSD_VIS
#include <vis.h>

static const char *const op_text[] = {"==", "!=", "<", "<=", ">", ">="};

static bool is_signed(enum deft_kind k)
{
	return k == DEFT_K_CHAR || k == DEFT_K_SCHAR || k == DEFT_K_SHORT ||
	       k == DEFT_K_INT || k == DEFT_K_LONG || k == DEFT_K_LLONG;
}

static bool is_float(enum deft_kind k)
{
	return k == DEFT_K_FLOAT || k == DEFT_K_DOUBLE || k == DEFT_K_LDOUBLE;
}

static bool is_pointer(enum deft_kind k)
{
	return k == DEFT_K_PTR || k == DEFT_K_STR;
}

static long double as_float(const struct deft_val *v)
{
	switch (v->kind) {
	case DEFT_K_FLOAT: return v->v.f;
	case DEFT_K_DOUBLE: return v->v.d;
	case DEFT_K_LDOUBLE: {
		long double x;
		memcpy(&x, v->v.ld, sizeof(x));
		return x;
	}
	default: break;
	}
	if (is_signed(v->kind))
		return (long double)v->v.i;
	return (long double)v->v.u;
}

static int sign(long long x)
{
	return (x > 0) - (x < 0);
}

/* Three-way comparison of two integers of any kinds, by value. */
static int compare_integers(const struct deft_val *a, const struct deft_val *b)
{
	bool sa = is_signed(a->kind), sb = is_signed(b->kind);
	if (sa && sb)
		return (a->v.i > b->v.i) - (a->v.i < b->v.i);
	if (sa && a->v.i < 0)
		return -1;
	if (sb && b->v.i < 0)
		return 1;
	return (a->v.u > b->v.u) - (a->v.u < b->v.u);
}

/* Three-way comparison; *unordered for NaN. */
static int compare(const struct deft_val *a, const struct deft_val *b,
                   bool *unordered)
{
	*unordered = false;
	if (a->kind == DEFT_K_STR && b->kind == DEFT_K_STR) {
		if (a->v.s == NULL || b->v.s == NULL)
			return (a->v.s != NULL) - (b->v.s != NULL);
		return sign(strcmp(a->v.s, b->v.s));
	}
	if (is_pointer(a->kind) || is_pointer(b->kind)) {
		uintptr_t x = is_pointer(a->kind) ? (uintptr_t)a->v.p
		                                  : (uintptr_t)a->v.u;
		uintptr_t y = is_pointer(b->kind) ? (uintptr_t)b->v.p
		                                  : (uintptr_t)b->v.u;
		return (x > y) - (x < y);
	}
	if (is_float(a->kind) || is_float(b->kind)) {
		long double x = as_float(a), y = as_float(b);
		if (isnan(x) || isnan(y)) {
			*unordered = true;
			return 0;
		}
		return (x > y) - (x < y);
	}
	return compare_integers(a, b);
}

static bool holds(enum deft_op op, int c, bool unordered)
{
	if (unordered)
		return op == DEFT_OP_NE;
	switch (op) {
	case DEFT_OP_EQ: return c == 0;
	case DEFT_OP_NE: return c != 0;
	case DEFT_OP_LT: return c < 0;
	case DEFT_OP_LE: return c <= 0;
	case DEFT_OP_GT: return c > 0;
	case DEFT_OP_GE: return c >= 0;
	}
	return false;
}

/* Appends s quoted as a C string literal, at most max bytes of it. */
static void put_quoted(struct deft_buf *b, const char *s, size_t max)
{
	size_t n = strlen(s);
	size_t shown = n > max ? max : n;
	char *vis = deft_xmalloc(shown * 4 + 1);
	strvisx(vis, s, shown, VIS_CSTYLE | VIS_TAB | VIS_NL | VIS_DQ |
	                       VIS_OCTAL);
	deft_buf_printf(b, "\"%s\"", vis);
	if (shown < n)
		deft_buf_printf(b, "... (%zu bytes)", n);
	deft_free(vis);
}

static void put_value(struct deft_buf *b, const struct deft_val *v)
{
	switch (v->kind) {
	case DEFT_K_BOOL:
		deft_buf_puts(b, v->v.u ? "true" : "false");
		return;
	case DEFT_K_CHAR:
	case DEFT_K_SCHAR:
	case DEFT_K_UCHAR: {
		long long c = is_signed(v->kind) ? (long long)v->v.i
		                                 : (long long)v->v.u;
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			deft_buf_printf(b, "'%c' (%lld)", (char)c, c);
		else
			deft_buf_printf(b, "%lld", c);
		return;
	}
	case DEFT_K_FLOAT:
		deft_buf_printf(b, "%.9g", (double)v->v.f);
		return;
	case DEFT_K_DOUBLE:
		deft_buf_printf(b, "%.17g", v->v.d);
		return;
	case DEFT_K_LDOUBLE:
		deft_buf_printf(b, "%.21Lg", as_float(v));
		return;
	case DEFT_K_PTR:
		if (v->v.p == NULL)
			deft_buf_puts(b, "NULL");
		else
			deft_buf_printf(b, "%p", v->v.p);
		return;
	case DEFT_K_STR:
		if (v->v.s == NULL)
			deft_buf_puts(b, "NULL");
		else
			put_quoted(b, v->v.s, 512);
		return;
	case DEFT_K_VOID:
		return;
	default:
		break;
	}
	if (is_signed(v->kind))
		deft_buf_printf(b, "%jd", v->v.i);
	else if (v->v.u < 10)
		deft_buf_printf(b, "%ju", v->v.u);
	else
		deft_buf_printf(b, "%ju (0x%jx)", v->v.u, v->v.u);
}

/* Reports a failed check and stops the test if it was an assertion. */
static bool failed(T *t, const char *file, int line, struct deft_buf *msg,
                   int fatal)
{
	deft_fail_at(t, file, line, "%s", msg->data);
	deft_buf_free(msg);
	if (fatal)
		deft_stop(t);
	return false;
}

bool deft_check_true(T *t, const char *file, int line, const char *expr,
                     int ok, int fatal)
{
	if (ok)
		return true;
	struct deft_buf msg = DEFT_BUF_INIT;
	deft_buf_printf(&msg, "expected %s\n  but it is false", expr);
	return failed(t, file, line, &msg, fatal);
}

bool deft_check_cmp(T *t, const char *file, int line, enum deft_op op,
                    const char *ea, const char *eb, struct deft_val a,
                    struct deft_val b, int fatal)
{
	bool unordered;
	int c = compare(&a, &b, &unordered);
	if (holds(op, c, unordered))
		return true;
	struct deft_buf msg = DEFT_BUF_INIT;
	deft_buf_printf(&msg, "expected %s %s %s\n  left:  ", ea, op_text[op],
	                eb);
	put_value(&msg, &a);
	deft_buf_puts(&msg, "\n  right: ");
	put_value(&msg, &b);
	if (a.kind == DEFT_K_STR && b.kind == DEFT_K_STR && a.v.s && b.v.s &&
	    c != 0) {
		size_t i = 0;
		while (a.v.s[i] && a.v.s[i] == b.v.s[i])
			i++;
		deft_buf_printf(&msg, "\n  first difference at byte %zu", i);
	}
	return failed(t, file, line, &msg, fatal);
}

bool deft_check_near(T *t, const char *file, int line, const char *ea,
                     const char *eb, const char *etol, long double a,
                     long double b, long double tol, int fatal)
{
	long double diff = fabsl(a - b);
	if (diff <= tol)
		return true;
	struct deft_buf msg = DEFT_BUF_INIT;
	deft_buf_printf(&msg, "expected %s and %s within %s\n"
	                "  left:       %.21Lg\n  right:      %.21Lg\n"
	                "  difference: %.21Lg\n  tolerance:  %.21Lg",
	                ea, eb, etol, a, b, diff, tol);
	return failed(t, file, line, &msg, fatal);
}

/* Maps a double to an integer so that adjacent doubles are adjacent. */
static int64_t ordered_bits(double x)
{
	int64_t i;
	memcpy(&i, &x, sizeof(i));
	return i < 0 ? INT64_MIN - i : i;
}

bool deft_check_ulps(T *t, const char *file, int line, const char *ea,
                     const char *eb, double a, double b, int fatal)
{
	enum { MAX_ULPS = 4 };
	if (!isnan(a) && !isnan(b)) {
		int64_t x = ordered_bits(a), y = ordered_bits(b);
		uint64_t d = x > y ? (uint64_t)x - (uint64_t)y
		                   : (uint64_t)y - (uint64_t)x;
		if (d <= MAX_ULPS)
			return true;
	}
	struct deft_buf msg = DEFT_BUF_INIT;
	deft_buf_printf(&msg, "expected %s and %s within %d ULPs\n"
	                "  left:  %.17g\n  right: %.17g", ea, eb, MAX_ULPS,
	                a, b);
	return failed(t, file, line, &msg, fatal);
}

/* Appends a row of up to 16 bytes in hex and as characters. */
static void put_hex_row(struct deft_buf *b, const char *label,
                        const unsigned char *p, size_t from, size_t to)
{
	deft_buf_printf(b, "\n  %s %08zx ", label, from);
	for (size_t i = from; i < from + 16; i++)
		deft_buf_printf(b, i < to ? " %02x" : "   ", p[i < to ? i : 0]);
	deft_buf_puts(b, "  |");
	for (size_t i = from; i < to && i < from + 16; i++)
		deft_buf_putc(b, p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.');
	deft_buf_putc(b, '|');
}

bool deft_check_mem(T *t, const char *file, int line, const char *ea,
                    const char *eb, const void *a, const void *b, size_t n,
                    int fatal)
{
	struct deft_buf msg = DEFT_BUF_INIT;
	if (n > 0 && (a == NULL || b == NULL)) {
		deft_buf_printf(&msg, "expected %zu bytes at %s and %s to be "
		                "equal\n  but the %s pointer is NULL", n, ea, eb,
		                a == NULL ? "left" : "right");
		return failed(t, file, line, &msg, fatal);
	}
	if (n == 0 || memcmp(a, b, n) == 0)
		return true;
	const unsigned char *x = a, *y = b;
	size_t off = 0;
	while (x[off] == y[off])
		off++;
	size_t ndiff = 0;
	for (size_t i = off; i < n; i++)
		ndiff += x[i] != y[i];
	deft_buf_printf(&msg, "expected %zu bytes at %s and %s to be equal\n"
	                "  %zu of them differ, the first at offset %zu",
	                n, ea, eb, ndiff, off);
	size_t row = off & ~(size_t)15;
	put_hex_row(&msg, "left: ", x, row, n);
	put_hex_row(&msg, "right:", y, row, n);
	deft_buf_printf(&msg, "\n  %*s^^", (int)(17 + 3 * (off - row)),
	                "");
	return failed(t, file, line, &msg, fatal);
}
