/*
 * own_main.c - a program with its own main() calls t_main(); libdeft's
 * main is then not linked in.
 */
#include <deft.h>

#include <stdio.h>

TEST(runs_under_own_main)
{
	t_log(t, "hello from a test");
}

int main(int argc, char **argv)
{
	puts("own main before t_main");
	int rc = t_main(argc, argv);
	printf("own main after t_main: %d\n", rc);
	return rc;
}
