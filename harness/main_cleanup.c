/*
 * main_cleanup.c - the run's own cleanup stack, for process-wide fixtures.
 *
 * t_main_cleanup pushes onto the cleanups of a test that exists for the
 * whole run and is never started until deft_main_cleanups_run(): then it
 * runs like any test whose body is empty, so its cleanups run last in,
 * first out with every rule of DESIGN.md section 3, and a cleanup that
 * fails is reported, by every reporter, as the failure of a test named
 * "t_main_cleanup".  A run that registered nothing reports nothing.
 */
#include "internal.h"

static T *main_t;
static pthread_mutex_t main_mu = PTHREAD_MUTEX_INITIALIZER;

static T *main_test(void)
{
	pthread_mutex_lock(&main_mu);
	if (main_t == NULL) {
		T *t = deft_test_new(NULL, "t_main_cleanup");
		t->is_main_cleanup = true;
		__atomic_store_n(&main_t, t, __ATOMIC_RELEASE);
	}
	T *t = main_t;
	pthread_mutex_unlock(&main_mu);
	return t;
}

void deft_main_cleanup(const char *file, int line, const char *what,
                       t_fn *fn, void *arg)
{
	T *cur = deft_current();
	if (fn == NULL) {
		if (cur)
			deft_fail_at(cur, file, line,
			             "t_main_cleanup: function is NULL");
		return;
	}
	if (deft_cleanup_arg_refused(cur, file, line, "t_main_cleanup", what,
	                             arg))
		return;
	T *t = main_test();
	pthread_mutex_lock(&main_mu);
	if (t->file == NULL) {
		t->file = file;
		t->line = line;
	}
	pthread_mutex_unlock(&main_mu);
	deft_cleanup(t, file, line, what, fn, arg);
}

static void empty_body(T *t, void *arg)
{
	(void)t;
	(void)arg;
}

bool deft_main_cleanups_run(void)
{
	/* Not locked: main_t is published whole, and a test's process
	 * with no main cleanups then writes nothing here. */
	T *t = __atomic_load_n(&main_t, __ATOMIC_ACQUIRE);
	if (t == NULL)
		return true;
	/* main_t stays set while it runs: a main cleanup may push more. */
	deft_test_run(t, empty_body, NULL);
	pthread_mutex_lock(&main_mu);
	__atomic_store_n(&main_t, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&main_mu);
	bool ok = !t_failed(t);
	deft_test_free(t);
	return ok;
}

T *deft_main_cleanups_test(bool make)
{
	if (make)
		return main_test();
	/* Not locked: a crash handler asks, on whichever thread. */
	return __atomic_load_n(&main_t, __ATOMIC_ACQUIRE);
}

void deft_main_cleanups_forget(void)
{
	/* Not freed: the supervisor's memory, copied into this process.
	 * The process has one thread yet, and most runs no main cleanups:
	 * nothing written, no page copied. */
	if (__atomic_load_n(&main_t, __ATOMIC_ACQUIRE) == NULL)
		return;
	main_mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	__atomic_store_n(&main_t, NULL, __ATOMIC_RELEASE);
}
