/*
 * order.c - the top-level tests in the order they run: every round of
 * -count, shuffled with -shuffle's seed, less those -run, -skip and the
 * shard leave out; and, without isolation, the loop that runs them in
 * this process (supervisor.c runs the schedule with isolation).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* splitmix64: a small, good generator for a reproducible shuffle. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void shuffle(struct deft_test_def **defs, size_t n, uint64_t *state)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(next_random(state) % i);
		struct deft_test_def *tmp = defs[i - 1];
		defs[i - 1] = defs[j];
		defs[j] = tmp;
	}
}

const struct deft_test_def **deft_schedule(size_t *len)
{
	size_t n;
	struct deft_test_def **registered = deft_registry(&n);
	struct deft_test_def **order = deft_xcalloc(n, sizeof(*order));
	memcpy(order, registered, n * sizeof(*order));
	const struct deft_test_def **out =
		deft_xcalloc(n * (size_t)deft_opt.count, sizeof(*out));
	uint64_t state = deft_opt.seed;
	*len = 0;
	for (long round = 0; round < deft_opt.count; round++) {
		if (deft_opt.shuffle)
			shuffle(order, n, &state);
		for (size_t i = 0; i < n; i++)
			if (deft_selected(order[i]->name) &&
			    deft_in_shard(order[i]->name))
				out[(*len)++] = order[i];
	}
	deft_free(order);
	return out;
}

/* The loop over top-level tests, kept in memory so that another thread
 * can carry it on when a top-level test calls t_parallel. */
struct run_loop {
	struct deft_test_def **order;
	size_t n;
	size_t next;            /* index in order of the next test */
	long round;             /* of -count */
	uint64_t state;         /* -shuffle's generator */
};

/* Runs the remaining tests; false when another thread has taken over. */
static bool run_loop_resume(void *arg)
{
	struct run_loop *l = arg;
	for (; l->round < deft_opt.count; l->round++, l->next = 0) {
		if (l->next == 0 && deft_opt.shuffle)
			shuffle(l->order, l->n, &l->state);
		while (l->next < l->n) {
			struct deft_test_def *def = l->order[l->next++];
			if ((deft_opt.failfast && deft_failures) ||
			    deft_run_interrupted() || deft_run_timed_out()) {
				l->round = deft_opt.count;
				break;
			}
			if (!deft_selected(def->name) ||
			    !deft_in_shard(def->name))
				continue;
			bool retried = false;
			unsigned retry = 0;
			do {
				T *t = deft_top_level_new(def);
				t->retry = retry++;
				if (!deft_top_level_run(t, deft_call_def, def,
				                        run_loop_resume, l,
				                        &retried))
					return false;
			} while (retried);
		}
		deft_top_level_wait();
	}
	return true;
}

void deft_run_in_process(void)
{
	size_t n;
	struct deft_test_def **registered = deft_registry(&n);
	struct run_loop loop = {deft_xcalloc(n, sizeof(*loop.order)), n, 0, 0,
	                        deft_opt.seed};
	memcpy(loop.order, registered, n * sizeof(*loop.order));
	if (!run_loop_resume(&loop))
		deft_top_level_join();
	deft_free(loop.order);
}
