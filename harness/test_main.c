/*
 * test_main.c - TEST_MAIN: the one hook per program that wraps the run,
 * as Go's TestMain does.
 *
 * The hook is registered by a constructor, like the tests.  Registration
 * cannot fail loudly before main(), so a second TEST_MAIN is remembered
 * here and reported by t_main, which then runs nothing.
 */
#include "internal.h"

#include <stdio.h>

static struct main_hook {
	int (*fn)(t_m *m);
	const char *file;
	int line;
} hook, second;

void deft_register_main(int (*fn)(t_m *m), const char *file, int line)
{
	struct main_hook *slot = hook.fn ? &second : &hook;
	if (slot->fn == NULL)
		*slot = (struct main_hook){fn, file, line};
}

bool deft_main_hook_unique(void)
{
	if (second.fn == NULL)
		return true;
	fprintf(stderr, "deft: TEST_MAIN is defined twice, at %s:%d and at "
	        "%s:%d: a program has at most one\n", hook.file, hook.line,
	        second.file, second.line);
	return false;
}

int (*deft_main_hook(void))(t_m *m)
{
	return hook.fn;
}
