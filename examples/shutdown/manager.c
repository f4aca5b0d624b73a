/*
 * manager.c - see manager.h.
 */
#include "manager.h"

void manager_init(struct manager *m)
{
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->n = 0;
	m->shutting_down = m->done = false;
}

bool manager_add(struct manager *m, void (*stop)(void *), void *arg)
{
	pthread_mutex_lock(&m->mu);
	bool ok = !m->shutting_down && m->n < MANAGER_MAX;
	if (ok) {
		m->stop[m->n] = stop;
		m->arg[m->n] = arg;
		m->n++;
	}
	pthread_mutex_unlock(&m->mu);
	return ok;
}

void manager_shutdown(void *p)
{
	struct manager *m = p;
	pthread_mutex_lock(&m->mu);
	m->shutting_down = true;
	pthread_mutex_unlock(&m->mu);
	/* No more adds: the list is ours to walk without the lock. */
	for (int i = m->n - 1; i >= 0; i--)
		m->stop[i](m->arg[i]);
	pthread_mutex_lock(&m->mu);
	m->done = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

void manager_wait(struct manager *m)
{
	pthread_mutex_lock(&m->mu);
	while (!m->done)
		pthread_cond_wait(&m->cv, &m->mu);
	pthread_mutex_unlock(&m->mu);
}
