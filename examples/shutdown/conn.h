/*
 * conn.h - a connection whose reader blocks in read(); closing it from
 * another thread (an after-cancel hook) is how a cancellation unblocks
 * the reader.  conn_abort and conn_close race when both run: the fix is
 * to order them (shutdown_test.c, "hook_and_close_ordered").
 */
#ifndef CONN_H
#define CONN_H

#include <pthread.h>
#include <stdbool.h>

struct conn {
	int fd;                 /* our end of a socket pair */
	int peer;               /* the other end, kept by the test */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool aborted;           /* conn_abort has finished */
	int closes;             /* how many times fd was closed */
};

/* Opens a connected pair.  RETURNS: 0 or -1 with errno set. */
int conn_open(struct conn *c);

/* Shuts the connection down so a blocked read returns 0; for
 * t_after_cancel.  Marks the connection aborted when done. */
void conn_abort(void *c);

/* Waits until conn_abort has finished. */
void conn_wait_aborted(struct conn *c);

/* Closes both ends; RETURNS: 0, or -1 if close failed. */
int conn_close(struct conn *c);

#endif
