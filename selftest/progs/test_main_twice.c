/*
 * test_main_twice.c - two TEST_MAINs in one program (the other is in
 * test_main_twice2.c): t_main says where both are and runs nothing.
 */
#include <deft.h>

TEST_MAIN(m)
{
	return t_run_tests(m);
}

TEST(never_runs)
{
	t_fatal(t, "ran despite two TEST_MAINs");
}
