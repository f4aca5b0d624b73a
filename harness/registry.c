/*
 * registry.c - the tests TEST() registered before main().
 *
 * Registration order depends on the link order and on how the toolchain
 * orders constructors, so the list is sorted by file and line before the
 * first use: tests run in the order they are written in.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static struct deft_test_def **defs;
static size_t ndefs, cap;
static bool sorted;

void deft_register(struct deft_test_def *def)
{
	if (ndefs == cap) {
		cap = cap ? cap * 2 : 64;
		defs = deft_xreallocarray(defs, cap, sizeof(*defs));
	}
	defs[ndefs++] = def;
	sorted = false;
}

static int by_place(const void *a, const void *b)
{
	const struct deft_test_def *x = *(struct deft_test_def *const *)a;
	const struct deft_test_def *y = *(struct deft_test_def *const *)b;
	int c = strcmp(x->file, y->file);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

struct deft_test_def **deft_registry(size_t *n)
{
	if (!sorted && ndefs > 1)
		qsort(defs, ndefs, sizeof(*defs), by_place);
	sorted = true;
	*n = ndefs;
	return defs;
}
