/*
 * late.c - calls on a subtest after it finished, from a thread it started
 * that outlived it: the log line and the failure go to the nearest
 * ancestor still running, saying so, as in Go.  The golden tests run it
 * with and without isolation; the asan variant would catch a freed
 * subtest being read.
 */
#include <deft.h>

#include <pthread.h>
#include <semaphore.h>

struct late {
	T *sub;                 /* the subtest the thread calls on */
	sem_t go;               /* posted once the subtest has finished */
	pthread_t thread;
};

static void *after_the_end(void *arg)
{
	struct late *l = arg;
	sem_wait(&l->go);
	t_log(l->sub, "logged from a thread, too late");
	t_error(l->sub, "failed from a thread, too late");
	return NULL;
}

static void starts_thread(T *t, void *arg)
{
	struct late *l = arg;
	l->sub = t;
	T_ASSERT_EQ(t, pthread_create(&l->thread, NULL, after_the_end, l), 0);
}

/* The subtest has finished: its thread calls on it now, and t waits. */
static void let_it_call(T *t, struct late *l)
{
	sem_post(&l->go);
	pthread_join(l->thread, NULL);
	sem_destroy(&l->go);
	t_log(t, "the thread is done");
}

TEST(late_on_subtest)
{
	struct late l;
	sem_init(&l.go, 0, 0);
	t_run(t, "sub", starts_thread, &l);
	let_it_call(t, &l);
}

static void nests(T *t, void *arg)
{
	t_run(t, "inner", starts_thread, arg);
}

/* sub/inner and sub have both finished: the top-level test gets it. */
TEST(late_on_nested_subtest)
{
	struct late l;
	sem_init(&l.go, 0, 0);
	t_run(t, "sub", nests, &l);
	let_it_call(t, &l);
}

TEST(passes_after)
{
}
