/*
 * ticker.h - a worker thread that writes a line to a log file on every
 * tick until it is told to stop.  The example of Go's "cancel, then join,
 * then close" cleanup order (shutdown_test.c).
 */
#ifndef TICKER_H
#define TICKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

struct ticker {
	FILE *log;
	int period_ms;
	int stop_fd;            /* readable when the worker must stop */
	pthread_t thread;
	int ticks;              /* lines written so far (atomic) */
};

/* The number of lines written so far; safe from any thread. */
int ticker_ticks(struct ticker *tk);

/* Starts the worker; it runs until stop_fd becomes readable.
 * RETURNS: 0, or an error number from pthread_create. */
int ticker_start(struct ticker *tk, FILE *log, int period_ms, int stop_fd);

/* Waits for the worker to end.  RETURNS: the number of ticks. */
int ticker_join(struct ticker *tk);

#endif
