/*
 * group.c - errgroup-style groups, for the golden tests: the issue's
 * scenario (8 members, one fails after 10 ms, the others block in poll on
 * their context's descriptor) reports one root cause, and the members
 * that stopped because of it are reported as such.  The stopped members
 * finish in order (each waits for the one before), so that the output
 * does not depend on scheduling.
 */
#include <deft.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

enum { MEMBERS = 8 };

struct chain {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int finished;           /* stopped members done so far */
};

struct member {
	struct chain *chain;
	int index;
};

static void fails_after_10ms(T *t, void *arg)
{
	t_sleep(t, 10);
	t_error(t, "connection refused");
}

static void blocks_in_poll(T *t, void *arg)
{
	struct member *m = arg;
	struct pollfd p = {t_ctx_fd(t_context(t)), POLLIN, 0};
	int n = poll(&p, 1, 10000);
	pthread_mutex_lock(&m->chain->mu);
	while (m->chain->finished != m->index)
		pthread_cond_wait(&m->chain->cv, &m->chain->mu);
	m->chain->finished++;
	pthread_cond_broadcast(&m->chain->cv);
	pthread_mutex_unlock(&m->chain->mu);
	if (n != 1)
		t_error(t, "poll returned %d before the cancellation", n);
	else if (m->index % 2)
		t_error(t, "after: %s", t_ctx_cause(t_context(t)));
}

static double since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

TEST(first_failure_cancels)
{
	struct chain chain = {PTHREAD_MUTEX_INITIALIZER,
	                      PTHREAD_COND_INITIALIZER, 0};
	struct member m[MEMBERS];
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	t_group *g = t_group_new(t);
	for (int i = 0; i < MEMBERS - 1; i++) {
		m[i] = (struct member){&chain, i};
		char name[24];
		snprintf(name, sizeof(name), "waits%d", i);
		t_go(g, name, blocks_in_poll, &m[i]);
	}
	t_go(g, "fails", fails_after_10ms, NULL);
	bool ok = t_wait(g);
	const char *cause = t_group_cause(g);
	t_log(t, "t_wait returned %s; cause: %s", ok ? "true" : "f", cause);
	T_EXPECT_LT(t, since(&start), 2.0);
}

static void passes(T *t, void *arg)
{
	t_log(t, "member %s passes", t_name(t));
}

TEST(all_pass)
{
	t_group *g = t_group_new(t);
	t_group_limit(g, 1);
	t_go(g, "a", passes, NULL);
	t_go(g, "b", passes, NULL);
	bool ok = t_wait(g);
	const char *cause = t_group_cause(g) ? t_group_cause(g) : "(none)";
	t_log(t, "t_wait returned %s; cause: %s", ok ? "true" : "f", cause);
}

static void limit_while_running(T *t, void *arg)
{
	t_ctx_wait(t_context(t), 100);
}

TEST(limit_changed_while_running)
{
	t_group *g = t_group_new(t);
	t_go(g, "member", limit_while_running, NULL);
	t_group_limit(g, 2);
	t_wait(g);
}

struct late {
	pthread_t thread;
	T *member;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool go;
};

static void *logs_late(void *arg)
{
	struct late *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->go)
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
	t_log(l->member, "a log after the member finished");
	t_error(l->member, "a failure after the member finished");
	return NULL;
}

static void starts_thread(T *t, void *arg)
{
	struct late *l = arg;
	l->member = t;
	pthread_create(&l->thread, NULL, logs_late, l);
}

TEST(use_after_finish)
{
	struct late l = {.mu = PTHREAD_MUTEX_INITIALIZER,
	                 .cv = PTHREAD_COND_INITIALIZER};
	t_group *g = t_group_new(t);
	t_go(g, "member", starts_thread, &l);
	t_wait(g);
	pthread_mutex_lock(&l.mu);
	l.go = true;
	pthread_cond_signal(&l.cv);
	pthread_mutex_unlock(&l.mu);
	pthread_join(l.thread, NULL);
}

static void fatal_on_owner(T *t, void *owner)
{
	t_fatal((T *)owner, "t_fatal on the group's test from a member");
}

TEST(member_stops_owner)
{
	t_group *g = t_group_new(t);
	t_go(g, "member", fatal_on_owner, t);
	t_wait(g);
	t_log(t, "not reached: the test stops after t_wait");
}
