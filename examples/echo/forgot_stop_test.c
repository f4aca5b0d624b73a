/*
 * forgot_stop_test.c - a test that starts the echo server and forgets to
 * stop it.  The leak check reports the listening socket and the worker
 * threads by name; the golden tests check that it does.
 */
#include <deft.h>

#include <unistd.h>

#include "echo.h"

TEST(forgets_to_stop_the_server)
{
	char err[256];
	struct echo_server *s = echo_start(2, err, sizeof(err));
	T_ASSERT_NOT_NULL(t, s);
	int fd = echo_connect(s);
	T_ASSERT_GE(t, fd, 0);
	t_defer(t, close, fd);
	T_EXPECT_EQ(t, write(fd, "x", 1), 1);
	/* missing: t_defer_check(t, echo_stop, s); */
}
