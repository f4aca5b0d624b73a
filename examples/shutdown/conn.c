/*
 * conn.c - see conn.h.
 */
#include "conn.h"

#include <sys/socket.h>
#include <unistd.h>

int conn_open(struct conn *c)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	c->fd = sv[0];
	c->peer = sv[1];
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->aborted = false;
	c->closes = 0;
	return 0;
}

void conn_abort(void *p)
{
	struct conn *c = p;
	/* shutdown, not close: the descriptor stays ours until conn_close,
	 * so a reader never reads from a number that was reused. */
	shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_lock(&c->mu);
	c->aborted = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

void conn_wait_aborted(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	while (!c->aborted)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

int conn_close(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	c->closes++;
	pthread_mutex_unlock(&c->mu);
	int rc = close(c->fd) | close(c->peer);
	return rc ? -1 : 0;
}
