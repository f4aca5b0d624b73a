/*
 * leak_free.c - 200 well-behaved tests that create and join threads and
 * open and close sockets and pipes; run with -count 20 by the golden
 * tests, the leak check must report nothing in all 4000.
 */
#define _GNU_SOURCE
#include <deft.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static void *echo_once(void *arg)
{
	int fd = *(int *)arg;
	char c;
	if (read(fd, &c, 1) == 1)
		(void)!write(fd, &c, 1);
	close(fd);
	return NULL;
}

/* A thread answers over a socket pair; loopback sockets are opened,
 * used and closed. */
static void work(T *t)
{
	int sv[2];
	T_ASSERT_EQ(t, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	            0);
	pthread_t th;
	T_ASSERT_EQ(t, pthread_create(&th, NULL, echo_once, &sv[1]), 0);
	char c = 'x';
	T_EXPECT_EQ(t, write(sv[0], &c, 1), 1);
	T_EXPECT_EQ(t, read(sv[0], &c, 1), 1);
	pthread_join(th, NULL);
	close(sv[0]);

	/* Sockets that leave nothing behind in the kernel once closed (a
	 * TCP connection would leave TIME_WAIT and, 4000 times over, use up
	 * the ephemeral ports): a listener, and a datagram to itself. */
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_ASSERT_GE(t, ls, 0);
	t_defer(t, close, ls);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	T_ASSERT_EQ(t, bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	T_ASSERT_EQ(t, listen(ls, 1), 0);
	int us = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	T_ASSERT_GE(t, us, 0);
	t_defer(t, close, us);
	socklen_t len = sizeof(a);
	T_ASSERT_EQ(t, bind(us, (struct sockaddr *)&a, sizeof(a)), 0);
	T_ASSERT_EQ(t, getsockname(us, (struct sockaddr *)&a, &len), 0);
	T_ASSERT_EQ(t, sendto(us, "x", 1, 0, (struct sockaddr *)&a, len), 1);
	T_EXPECT_EQ(t, recv(us, &c, 1, 0), 1);
}

#define T1(n) TEST(well_behaved_##n) { work(t); }
#define T10(p) T1(p##0) T1(p##1) T1(p##2) T1(p##3) T1(p##4) T1(p##5) \
	T1(p##6) T1(p##7) T1(p##8) T1(p##9)
T10(a) T10(b) T10(c) T10(d) T10(e) T10(f) T10(g) T10(h) T10(i) T10(j)
T10(k) T10(l) T10(m) T10(n) T10(o) T10(p) T10(q) T10(r) T10(s) T10(u)
