/*
 * late.c - calls on a subtest after it finished, from a thread it started
 * that outlived it: the log line and the failure go to the nearest
 * ancestor still running, saying so, as in Go.  The golden tests run it
 * with and without isolation; the asan variant would catch a freed
 * subtest being read.  Then a thread calls on a top-level test after the
 * leak check has reported it still running.
 */
#define _GNU_SOURCE
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

/* A thread that outlives its top-level test, past the leak check, calls
 * on it once the next test lets it: the test is kept for it, and the
 * line goes to stderr.  Without isolation only: in a process of its own
 * the test's thread ends with its process. */
static struct {
	sem_t go;
	T *t;
	pthread_t thread;
	bool started;
} top;

static void *after_the_test(void *arg)
{
	(void)arg;
	sem_wait(&top.go);
	t_log(top.t, "logged from a thread, after the test");
	t_error(top.t, "failed from a thread, after the test");
	return NULL;
}

TEST(thread_outlives_test)
{
	sem_init(&top.go, 0, 0);
	top.t = t;
	int err = pthread_create(&top.thread, NULL, after_the_test, NULL);
	T_ASSERT_EQ(t, err, 0);
	pthread_setname_np(top.thread, "outlives");
	top.started = true;
}

TEST(thread_calls_on_it_now)
{
	if (!top.started)
		t_skip(t, "the thread ended with the previous test's process");
	sem_post(&top.go);
	pthread_join(top.thread, NULL);
	t_log(t, "the thread is done");
}

TEST(passes_after)
{
}
