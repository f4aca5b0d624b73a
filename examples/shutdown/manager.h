/*
 * manager.h - a shutdown manager: services register a stop function as
 * they start, and on shutdown the manager stops them on a thread of its
 * own, last started first, so each service outlives those that use it.
 */
#ifndef MANAGER_H
#define MANAGER_H

#include <pthread.h>
#include <stdbool.h>

enum { MANAGER_MAX = 16 };

struct manager {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*stop[MANAGER_MAX])(void *);
	void *arg[MANAGER_MAX];
	int n;
	bool shutting_down;
	bool done;
};

void manager_init(struct manager *m);

/* Registers stop(arg).  RETURNS: false when full or shutting down. */
bool manager_add(struct manager *m, void (*stop)(void *), void *arg);

/* Stops every service, last added first; for t_after_cancel. */
void manager_shutdown(void *m);

/* Waits until a shutdown has finished. */
void manager_wait(struct manager *m);

#endif
