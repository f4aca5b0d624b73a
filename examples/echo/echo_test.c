/*
 * echo_test.c - the echo server's tests, written with fixtures: each
 * fixture takes T *, acquires something and registers its release, and
 * fixtures call fixtures.  The leak check after each test makes sure the
 * server's threads and sockets are gone when the test is; see
 * forgot_stop_test.c for what it reports when they are not.
 */
#include <deft.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "echo.h"

/* Fixture: a running server, stopped when the test is done. */
static struct echo_server *start_server(T *t, int workers)
{
	char err[256];
	struct echo_server *s = echo_start(workers, err, sizeof(err));
	if (s == NULL)
		t_fatal(t, "echo_start: %s", err);
	t_defer_check(t, echo_stop, s);
	return s;
}

/* Fixture: a client connected to s, closed when the test is done, before
 * the server stops (LIFO). */
static int connect_client(T *t, struct echo_server *s)
{
	int fd = echo_connect(s);
	T_ASSERT_GE(t, fd, 0);
	t_defer_check(t, close, fd);
	return fd;
}

/* Sends msg and expects it back. */
static void round_trip(T *t, int fd, const char *msg)
{
	size_t n = strlen(msg);
	T_ASSERT_EQ(t, write(fd, msg, n), (ssize_t)n);
	char buf[256] = {0};
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
		T_ASSERT_GT(t, r, 0);
		got += (size_t)r;
	}
	T_EXPECT_EQ(t, buf, msg);
}

TEST(echoes_what_it_is_sent)
{
	struct echo_server *s = start_server(t, 2);
	int fd = connect_client(t, s);
	round_trip(t, fd, "hello\n");
	round_trip(t, fd, "and again\n");
}

static void client(T *t, void *arg)
{
	struct echo_server *s = arg;
	int fd = connect_client(t, s);
	char msg[64];
	snprintf(msg, sizeof(msg), "from %s\n", t_name(t));
	round_trip(t, fd, msg);
}

TEST(serves_clients_on_every_worker)
{
	struct echo_server *s = start_server(t, 4);
	/* one client after another, each closing its connection when its
	 * subtest is done */
	for (int i = 0; i < 8; i++)
		t_run(t, "client", client, s);
	/* then four at once, one per worker */
	int fds[4];
	for (int i = 0; i < 4; i++)
		fds[i] = connect_client(t, s);
	for (int i = 0; i < 4; i++)
		round_trip(t, fds[i], "concurrent\n");
}

/* Stopping does not wait for a client that keeps its connection open. */
TEST(stops_with_a_client_connected)
{
	char err[256];
	struct echo_server *s = echo_start(1, err, sizeof(err));
	T_ASSERT_NOT_NULL(t, s);
	int fd = echo_connect(s);
	T_ASSERT_GE(t, fd, 0);
	t_defer(t, close, fd);
	round_trip(t, fd, "x");
	T_EXPECT_EQ(t, echo_stop(s), 0);
	char c;
	T_EXPECT_EQ(t, read(fd, &c, 1), 0);     /* the server hung up */
}

TEST(rejects_bad_worker_counts)
{
	char err[256];
	T_EXPECT_NULL(t, echo_start(0, err, sizeof(err)));
	T_EXPECT_EQ(t, err, "0 workers: want 1 to 64");
	T_EXPECT_NULL(t, echo_start(65, err, sizeof(err)));
}

/* A process-wide fixture: one server for the tests that share it,
 * started by the first that needs it and stopped when the run is over.
 * It outlives the test that started it, so that test says its socket and
 * threads are kept on purpose. */
static struct echo_server *shared_server;

static void stop_shared(T *t, void *server)
{
	T_EXPECT_EQ(t, echo_stop(server), 0);
	shared_server = NULL;
}

static struct echo_server *shared(T *t)
{
	if (shared_server == NULL) {
		char err[256];
		shared_server = echo_start(2, err, sizeof(err));
		if (shared_server == NULL)
			t_fatal(t, "echo_start: %s", err);
		t_main_cleanup(stop_shared, shared_server);
	}
	t_leak_ignore_fd(t, echo_fd(shared_server));
	t_leak_ignore_thread_name(t, "echo-worker");
	return shared_server;
}

TEST(shared_server_first_user)
{
	round_trip(t, connect_client(t, shared(t)), "shared\n");
}

TEST(shared_server_second_user)
{
	round_trip(t, connect_client(t, shared(t)), "shared again\n");
}
