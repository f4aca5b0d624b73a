/*
 * main.c - the main() libdeft supplies, in an object of its own so that a
 * program with its own main() (which then calls t_main) does not pull it in
 * from the static library.
 */
#include <deft.h>

int main(int argc, char **argv)
{
	return t_main(argc, argv);
}
