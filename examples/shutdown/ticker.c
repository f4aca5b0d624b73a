/*
 * ticker.c - see ticker.h.  The worker waits with poll() on stop_fd, so
 * a stop request wakes it at once instead of after the next tick.
 */
#include "ticker.h"

#include <poll.h>

static void *ticker_main(void *arg)
{
	struct ticker *tk = arg;
	struct pollfd p = {tk->stop_fd, POLLIN, 0};
	while (poll(&p, 1, tk->period_ms) == 0) {
		int n = __atomic_load_n(&tk->ticks, __ATOMIC_RELAXED) + 1;
		fprintf(tk->log, "tick %d\n", n);
		fflush(tk->log);
		__atomic_store_n(&tk->ticks, n, __ATOMIC_RELEASE);
	}
	return NULL;
}

int ticker_start(struct ticker *tk, FILE *log, int period_ms, int stop_fd)
{
	tk->log = log;
	tk->period_ms = period_ms;
	tk->stop_fd = stop_fd;
	tk->ticks = 0;
	return pthread_create(&tk->thread, NULL, ticker_main, tk);
}

int ticker_ticks(struct ticker *tk)
{
	return __atomic_load_n(&tk->ticks, __ATOMIC_ACQUIRE);
}

int ticker_join(struct ticker *tk)
{
	pthread_join(tk->thread, NULL);
	return tk->ticks;
}
