/* test_main_twice2.c - the second TEST_MAIN of test_main_twice. */
#include <deft.h>

TEST_MAIN(m)
{
	return t_run_tests(m) + 10;
}
