/*
 * echo.c - the echo server: workers block in accept() on one listening
 * socket and echo a connection until the client closes it.  Stopping
 * shuts the listening socket down, which wakes every accept(), and shuts
 * down the connections being served, so echo_stop() never waits on a
 * client.
 */
#define _GNU_SOURCE
#include "echo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct worker {
	struct echo_server *server;
	pthread_t thread;
	int conn;               /* being served, or -1; under mu */
};

struct echo_server {
	int listener;
	int port;
	pthread_mutex_t mu;
	bool stopping;
	int nworkers;
	struct worker workers[];
};

static bool stopping(struct echo_server *s)
{
	pthread_mutex_lock(&s->mu);
	bool stop = s->stopping;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static void echo_connection(int fd)
{
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		for (ssize_t off = 0; n > 0 && off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w <= 0)
				return;
			off += w;
		}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct echo_server *s = w->server;
	while (!stopping(s)) {
		int fd = accept4(s->listener, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;          /* shut down */
		}
		pthread_mutex_lock(&s->mu);
		bool stop = s->stopping;
		if (!stop)
			w->conn = fd;
		pthread_mutex_unlock(&s->mu);
		if (!stop)
			echo_connection(fd);
		pthread_mutex_lock(&s->mu);
		w->conn = -1;
		pthread_mutex_unlock(&s->mu);
		close(fd);
	}
	return NULL;
}

static int listen_loopback(int *port, char *err, size_t errlen)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		snprintf(err, errlen, "cannot listen on 127.0.0.1: %s",
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

struct echo_server *echo_start(int nworkers, char *err, size_t errlen)
{
	if (nworkers < 1 || nworkers > 64) {
		snprintf(err, errlen, "%d workers: want 1 to 64", nworkers);
		return NULL;
	}
	struct echo_server *s = calloc(1, sizeof(*s) +
	                               (size_t)nworkers * sizeof(struct worker));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->listener = listen_loopback(&s->port, err, errlen);
	if (s->listener < 0) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &s->workers[i];
		*w = (struct worker){s, 0, -1};
		int rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc != 0) {
			snprintf(err, errlen, "cannot start a worker: %s",
			         strerror(rc));
			echo_stop(s);
			return NULL;
		}
		pthread_setname_np(w->thread, "echo-worker");
		s->nworkers++;
	}
	return s;
}

int echo_port(const struct echo_server *s)
{
	return s->port;
}

int echo_fd(const struct echo_server *s)
{
	return s->listener;
}

int echo_stop(struct echo_server *s)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	for (int i = 0; i < s->nworkers; i++)
		if (s->workers[i].conn >= 0)
			shutdown(s->workers[i].conn, SHUT_RDWR);
	pthread_mutex_unlock(&s->mu);
	shutdown(s->listener, SHUT_RDWR);
	int err = 0;
	for (int i = 0; i < s->nworkers; i++) {
		int rc = pthread_join(s->workers[i].thread, NULL);
		if (rc && !err)
			err = rc;
	}
	close(s->listener);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return err;
}

int echo_connect(const struct echo_server *s)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)s->port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
