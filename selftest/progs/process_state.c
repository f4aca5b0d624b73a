/*
 * process_state.c - Go's rule that a test which changed the process's
 * state (t_setenv, t_chdir: they set sets_process_state) cannot call
 * t_parallel.  Until those helpers exist the flag is set directly, which
 * is why this program looks inside struct T.
 */
#include <deft.h>

#include "../../harness/internal.h"

static void changes_state_then_pauses(T *t, void *arg)
{
	t->sets_process_state = true;   /* what t_setenv does */
	t_parallel(t);
	t_log(t, "not reached");
}

TEST(parallel_after_setenv)
{
	t_run(t, "sub", changes_state_then_pauses, NULL);
}

static void pauses(T *t, void *arg)
{
	t_parallel(t);
	t_log(t, "parallel: %s", t->parallel ? "true" : "false");
}

TEST(parallel_is_visible)
{
	t_run(t, "sub", pauses, NULL);
}
