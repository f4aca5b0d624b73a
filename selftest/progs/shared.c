/*
 * shared.c - a test program linked against libdeft.so, using the main()
 * the library supplies.
 */
#include <deft.h>

#include <stdio.h>
#include <unistd.h>

static void print_fd(int fd)
{
	printf("deferred print_fd(%d)\n", fd);
}

TEST(works_from_the_shared_library)
{
	t_defer(t, print_fd, 7);
	T_EXPECT_EQ(t, 2 + 2, 4);
}
