/*
 * test_main_skip.c - a TEST_MAIN that decides not to run the tests and
 * returns 3: no test runs, its main cleanup still does, and the program
 * exits with 3.
 */
#include <deft.h>

#include <stdio.h>

static void bye(T *t, void *arg)
{
	(void)t;
	(void)arg;
	puts("main cleanup: runs though no test did");
}

TEST_MAIN(m)
{
	(void)m;
	puts("TEST_MAIN: the database is not there: not running the tests");
	fflush(stdout);
	t_main_cleanup(bye, NULL);
	return 3;
}

TEST(never_runs)
{
	t_fatal(t, "TEST_MAIN did not call t_run_tests");
}
