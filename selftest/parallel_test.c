/*
 * parallel_test.c - t_parallel and groups, seen from inside: parallel
 * subtests really run at once, never more than -parallel of them, after
 * the parent's body and before its cleanups; groups bound their members.
 * The order of events is checked by the golden tests (progs/parallel.c).
 */
#include <deft.h>

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct meeting {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int arrived;
	int active, max_active, done;
	bool parent_body_over;
	bool order_ok;
};

#define MEETING_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, \
                      0, 0, 0, 0, false, true}

/* A meeting owned by t: freed after the cleanups registered later. */
static struct meeting *meeting_new(T *t)
{
	struct meeting *m = calloc(1, sizeof(*m));
	T_ASSERT_NOT_NULL(t, m);
	t_defer(t, free, m);
	*m = (struct meeting)MEETING_INIT;
	return m;
}

static long online_cpus(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN);
}

/* Waits up to 5 s for n arrivals; false on timeout. */
static bool meet(struct meeting *m, int n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&m->mu);
	m->arrived++;
	pthread_cond_broadcast(&m->cv);
	int rc = 0;
	while (m->arrived < n && rc == 0)
		rc = pthread_cond_timedwait(&m->cv, &m->mu, &until);
	bool ok = m->arrived >= n;
	pthread_mutex_unlock(&m->mu);
	return ok;
}

static void meets_sibling(T *t, void *arg)
{
	struct meeting *m = arg;
	t_parallel(t);
	pthread_mutex_lock(&m->mu);
	if (!m->parent_body_over)
		m->order_ok = false;
	pthread_mutex_unlock(&m->mu);
	T_EXPECT(t, meet(m, 2));
}

static void check_met(T *t, void *arg)
{
	struct meeting *m = arg;
	T_EXPECT_EQ(t, m->arrived, 2);
	T_EXPECT(t, m->order_ok);
}

TEST(parallel_subtests_run_at_once_after_the_body)
{
	if (online_cpus() < 2)
		t_skip(t, "one CPU: -parallel defaults to 1");
	struct meeting *m = meeting_new(t);
	t_cleanup(t, check_met, m);
	T_EXPECT(t, t_run(t, "a", meets_sibling, m));
	T_EXPECT(t, t_run(t, "b", meets_sibling, m));
	T_EXPECT_EQ(t, m->arrived, 0);
	pthread_mutex_lock(&m->mu);
	m->parent_body_over = true;
	pthread_mutex_unlock(&m->mu);
}

static void counts_active(T *t, void *arg)
{
	struct meeting *m = arg;
	t_parallel(t);
	pthread_mutex_lock(&m->mu);
	if (++m->active > m->max_active)
		m->max_active = m->active;
	pthread_mutex_unlock(&m->mu);
	usleep(1000);
	pthread_mutex_lock(&m->mu);
	m->active--;
	m->done++;
	pthread_mutex_unlock(&m->mu);
}

static void check_limit(T *t, void *arg)
{
	struct meeting *m = arg;
	T_EXPECT_EQ(t, m->done, 40);
	T_EXPECT_EQ(t, m->active, 0);
	T_EXPECT_GE(t, m->max_active, 1);
	T_EXPECT_LE(t, m->max_active, online_cpus());
}

TEST(at_most_parallel_n_at_once)
{
	struct meeting *m = meeting_new(t);
	t_cleanup(t, check_limit, m);
	for (int i = 0; i < 40; i++)
		t_run(t, "sub", counts_active, m);
}

static void nested_parallel(T *t, void *arg)
{
	t_parallel(t);
	for (int i = 0; i < 3; i++)
		t_run(t, "leaf", counts_active, arg);
}

static void check_nested(T *t, void *arg)
{
	struct meeting *m = arg;
	T_EXPECT_EQ(t, m->done, 12);
}

TEST(parallel_subtests_of_parallel_subtests)
{
	struct meeting *m = meeting_new(t);
	t_cleanup(t, check_nested, m);
	for (int i = 0; i < 4; i++)
		t_run(t, "mid", nested_parallel, m);
}

static void pauses(T *t, void *arg)
{
	t_parallel(t);
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
}

static void check_thousand(T *t, void *arg)
{
	T_EXPECT_EQ(t, __atomic_load_n((int *)arg, __ATOMIC_RELAXED), 1000);
}

TEST(a_thousand_parallel_subtests)
{
	int *ran = calloc(1, sizeof(*ran));
	T_ASSERT_NOT_NULL(t, ran);
	t_defer(t, free, ran);
	t_cleanup(t, check_thousand, ran);
	for (int i = 0; i < 1000; i++)
		T_ASSERT(t, t_run(t, "p", pauses, ran));
}

/* Subtests run on fibers: each needs a stack as large as a thread's. */
static void uses_two_megabytes_of_stack(T *t, void *arg)
{
	if (arg)
		t_parallel(t);
	volatile char big[2 << 20];
	for (size_t i = 0; i < sizeof(big); i += 4096)
		big[i] = (char)i;
	T_EXPECT_EQ(t, big[4096], (char)4096);
}

static void same_thread(T *t, void *arg)
{
	T_EXPECT(t, pthread_equal(*(pthread_t *)arg, pthread_self()));
}

/* Cleanups run on the thread that ran the body after t_parallel. */
static void cleanup_on_its_thread(T *t, void *arg)
{
	(void)arg;
	t_parallel(t);
	pthread_t *self = malloc(sizeof(*self));
	T_ASSERT_NOT_NULL(t, self);
	t_defer(t, free, self);
	*self = pthread_self();
	t_cleanup(t, same_thread, self);
	t_run(t, "sequential", same_thread, self);
}

TEST(subtests_have_full_stacks_and_keep_their_thread)
{
	for (int i = 0; i < 4; i++) {
		t_run(t, "sequential", uses_two_megabytes_of_stack, NULL);
		t_run(t, "parallel", uses_two_megabytes_of_stack, t);
		t_run(t, "cleanup", cleanup_on_its_thread, NULL);
	}
}

TEST(top_level_parallel_test)
{
	t_parallel(t);
	t_log(t, "runs after the sequential top-level tests");
}

static void *logs_from_thread(void *arg)
{
	T *t = arg;
	for (int i = 0; i < 100; i++)
		t_log(t, "line %d from a worker thread", i);
	return (void *)(intptr_t)t_ctx_done(t_context(t));
}

TEST(logging_from_threads_the_test_started)
{
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		T_ASSERT_EQ(t, pthread_create(&th[i], NULL, logs_from_thread,
		                              t), 0);
	for (int i = 0; i < 4; i++) {
		void *done;
		pthread_join(th[i], &done);
		T_EXPECT_EQ(t, (intptr_t)done, 0);
	}
}

/* ---- groups ---- */

static void group_member(T *t, void *arg)
{
	counts_active(t, arg);
}

static void group_member_sleeps(T *t, void *arg)
{
	struct meeting *m = arg;
	pthread_mutex_lock(&m->mu);
	if (++m->active > m->max_active)
		m->max_active = m->active;
	pthread_mutex_unlock(&m->mu);
	T_EXPECT(t, t_sleep(t, 2));
	pthread_mutex_lock(&m->mu);
	m->active--;
	m->done++;
	pthread_mutex_unlock(&m->mu);
}

TEST(group_limit_bounds_members)
{
	struct meeting m = MEETING_INIT;
	t_group *g = t_group_new(t);
	t_group_limit(g, 3);
	for (int i = 0; i < 12; i++)
		t_go(g, "member", group_member_sleeps, &m);
	T_EXPECT(t, t_wait(g));
	T_EXPECT_NULL(t, t_group_cause(g));
	T_EXPECT_EQ(t, m.done, 12);
	T_EXPECT_LE(t, m.max_active, 3);
	T_EXPECT_GE(t, m.max_active, 1);
}

static void member_cause(T *t, void *arg)
{
	*(const char **)arg = t_ctx_cause(t_context(t));
}

TEST(group_wait_cancels_the_group)
{
	t_group *g = t_group_new(t);
	const char *during = "unset";
	t_go(g, "m", member_cause, &during);
	T_EXPECT(t, t_wait(g));
	T_EXPECT_NULL(t, during);
	/* Waiting again with nothing started returns at once. */
	T_EXPECT(t, t_wait(g));
	(void)group_member;
}

static void records_name(T *t, void *arg)
{
	const char **names = arg;
	int i = strcmp(t_name(t), "groups_members_are_subtests/x") == 0 ? 0 : 1;
	names[i] = t_name(t);
	T_EXPECT(t, t_sleep(t, 1));
	T_EXPECT_EQ(t, t_name(t), i == 0 ? "groups_members_are_subtests/x"
	                                 : "groups_members_are_subtests/x#01");
}

TEST(groups_members_are_subtests)
{
	const char *names[2] = {NULL, NULL};
	t_group *g = t_group_new(t);
	t_go(g, "x", records_name, names);
	t_go(g, "x", records_name, names);
	T_EXPECT(t, t_wait(g));
	T_EXPECT_NOT_NULL(t, names[0]);
	T_EXPECT_NOT_NULL(t, names[1]);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void polls_context(T *t, void *arg)
{
	struct pollfd p = {t_ctx_fd(t_context(t)), POLLIN, 0};
	T_EXPECT_EQ(t, poll(&p, 1, 1), 0);
}

static void group_of_eight(T *t, void *arg)
{
	t_group *g = t_group_new(t);
	for (int i = 0; i < 8; i++)
		t_go(g, "m", polls_context, NULL);
	T_EXPECT(t, t_wait(g));
}

TEST(groups_and_contexts_leak_no_descriptors)
{
	t_context(t);   /* deft's canceller starts with the first context */
	int before = open_fds();
	T_ASSERT_GT(t, before, 0);
	T_EXPECT(t, t_run(t, "group", group_of_eight, NULL));
	/* The members' threads may still be closing their contexts' pipes
	 * as they go back to the pool: give them a moment. */
	int after = open_fds();
	for (int i = 0; i < 100 && after != before; i++) {
		usleep(10000);
		after = open_fds();
	}
	T_EXPECT_EQ(t, after, before);
}

static void member_with_parallel_subtests(T *t, void *arg)
{
	for (int i = 0; i < 4; i++)
		t_run(t, "leaf", counts_active, arg);
}

static void check_member_leaves(T *t, void *arg)
{
	struct meeting *m = arg;
	T_EXPECT_EQ(t, m->done, 8);
	T_EXPECT_LE(t, m->max_active, online_cpus());
}

TEST(group_members_with_parallel_subtests)
{
	struct meeting *m = meeting_new(t);
	t_cleanup(t, check_member_leaves, m);
	t_group *g = t_group_new(t);
	t_go(g, "a", member_with_parallel_subtests, m);
	t_go(g, "b", member_with_parallel_subtests, m);
	T_EXPECT(t, t_wait(g));
	T_EXPECT_EQ(t, m->done, 8);
}
