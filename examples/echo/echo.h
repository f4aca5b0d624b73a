/*
 * echo.h - a small TCP echo server on the loopback interface, with a pool
 * of worker threads: the example program of deft's fixtures and leak
 * detection (see echo_test.c).
 */
#ifndef ECHO_H
#define ECHO_H

#include <stddef.h>

struct echo_server;

/*
 * echo_start() - listen on 127.0.0.1 on a port the kernel picks and start
 * nworkers threads (1 to 64), named "echo-worker", each serving one
 * connection at a time: every byte read is written back.
 * RETURNS: the server, or NULL with a message in err.
 */
struct echo_server *echo_start(int nworkers, char *err, size_t errlen);

/* echo_port() - the port the server listens on. */
int echo_port(const struct echo_server *s);

/*
 * echo_stop() - stop accepting, end the connections being served, join
 * the workers, close the socket and free the server.
 * RETURNS: 0, or an error number if a worker could not be joined.
 */
int echo_stop(struct echo_server *s);

/* echo_fd() - the listening socket. */
int echo_fd(const struct echo_server *s);

/* echo_connect() - a connected socket to the server, or -1 (errno). */
int echo_connect(const struct echo_server *s);

#endif
