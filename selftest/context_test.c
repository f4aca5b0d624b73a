/*
 * context_test.c - test contexts: cancelled just before cleanups, the
 * descriptor for poll, timed waits, t_sleep, and t_after_cancel with
 * context.AfterFunc's contract.  Cancellation by a group, by the run's
 * deadline and from parent to child is checked by the golden tests.
 */
#define _GNU_SOURCE
#include <deft.h>

#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness/internal.h"
#include "../harness/sanitizers.h"

static double since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static int readable(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, 0);
}

struct seen {
	int fd;
	bool done;
	const char *cause;
	bool slept;
};

static void look_in_cleanup(T *t, void *arg)
{
	struct seen *s = arg;
	t_ctx *c = t_context(t);
	s->done = t_ctx_done(c);
	s->cause = t_ctx_cause(c);
	T_EXPECT_EQ(t, readable(s->fd), 1);
	char b;
	T_EXPECT_EQ(t, read(s->fd, &b, 1), 0);       /* end of file */
	T_EXPECT_EQ(t, readable(s->fd), 1);          /* and stays so */
	s->slept = t_sleep(t, 5000);
	T_EXPECT(t, t_ctx_wait(c, -1));
}

static void live_body(T *t, void *arg)
{
	struct seen *s = arg;
	t_ctx *c = t_context(t);
	T_EXPECT_PTR_EQ(t, t_context(t), c);
	T_EXPECT(t, !t_ctx_done(c));
	T_EXPECT_NULL(t, t_ctx_cause(c));
	s->fd = t_ctx_fd(c);
	T_ASSERT_GE(t, s->fd, 0);
	T_EXPECT_EQ(t, t_ctx_fd(c), s->fd);
	T_EXPECT(t, fcntl(s->fd, F_GETFD) & FD_CLOEXEC);
	T_EXPECT_EQ(t, readable(s->fd), 0);
	T_EXPECT(t, !t_ctx_wait(c, 0));
	t_cleanup(t, look_in_cleanup, s);
}

TEST(context_is_cancelled_just_before_cleanups)
{
	struct seen s = {-1, false, NULL, true};
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	T_EXPECT(t, t_run(t, "sub", live_body, &s));
	T_EXPECT(t, s.done);
	T_EXPECT_NOT_NULL(t, s.cause);
	T_EXPECT(t, !s.slept);
	T_EXPECT_LT(t, since(&start), 2.0);
	/* The descriptor was closed with the subtest. */
	T_EXPECT_EQ(t, fcntl(s.fd, F_GETFD), -1);
}

/* A scale that shrinks a deadline under a millisecond leaves 1ms, not 0,
 * which would mean no deadline at all. */
TEST(tiny_timeout_scale_keeps_a_deadline)
{
	double before = deft_opt.timeout_scale;
	deft_opt.timeout_scale = 0.0001;
	long tiny = deft_scaled_ms(50), none = deft_scaled_ms(0);
	deft_opt.timeout_scale = before;
	T_EXPECT_EQ(t, tiny, 1L);
	T_EXPECT_EQ(t, none, 0L);
}

TEST(timed_waits_wait)
{
	t_ctx *c = t_context(t);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	T_EXPECT(t, !t_ctx_wait(c, 20));
	T_EXPECT_GE(t, since(&start), 0.019);
	clock_gettime(CLOCK_MONOTONIC, &start);
	T_EXPECT(t, t_sleep(t, 20));
	T_EXPECT_GE(t, since(&start), 0.019);
	T_EXPECT(t, t_sleep(t, 0));
}

/* As in Go, the default -timeout of 10m is a deadline; -timeout 0 has none
 * (golden case no_deadline). */
TEST(deadline_of_the_default_timeout)
{
	struct timespec when = {0, 0}, now;
	T_ASSERT(t, t_deadline(t, &when));
	clock_gettime(CLOCK_MONOTONIC, &now);
	T_EXPECT_GT(t, when.tv_sec, now.tv_sec);
	T_EXPECT_LE(t, when.tv_sec, now.tv_sec + 600);
}

struct hooks {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ran;
	int stopped_ran;
	pthread_t ran_on;
	t_stop *first, *second;
};

static void hook(void *arg)
{
	struct hooks *h = arg;
	pthread_mutex_lock(&h->mu);
	h->ran++;
	h->ran_on = pthread_self();
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void stopped_hook(void *arg)
{
	struct hooks *h = arg;
	__atomic_add_fetch(&h->stopped_ran, 1, __ATOMIC_RELAXED);
}

static void stop_after_cancel(T *t, void *arg)
{
	struct hooks *h = arg;
	/* The hook has started (or run): too late to stop it. */
	T_EXPECT(t, !t_stop_call(h->first));
	T_EXPECT(t, !t_stop_call(h->second));
}

static void registers_hooks(T *t, void *arg)
{
	struct hooks *h = arg;
	t_ctx *c = t_context(t);
	h->first = t_after_cancel(c, hook, h);
	h->second = t_after_cancel(c, stopped_hook, h);
	T_EXPECT(t, t_stop_call(h->second));
	T_EXPECT(t, !t_stop_call(h->second));
	t_cleanup(t, stop_after_cancel, h);
	usleep(1000);
	pthread_mutex_lock(&h->mu);
	T_EXPECT_EQ(t, h->ran, 0);
	pthread_mutex_unlock(&h->mu);
}

static bool wait_ran(struct hooks *h, int n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&h->mu);
	int rc = 0;
	while (h->ran < n && rc == 0)
		rc = pthread_cond_timedwait(&h->cv, &h->mu, &until);
	bool ok = h->ran >= n;
	pthread_mutex_unlock(&h->mu);
	return ok;
}

TEST(after_cancel_runs_once_on_its_own_thread)
{
	struct hooks h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	                  0, 0, 0, NULL, NULL};
	T_EXPECT(t, t_run(t, "sub", registers_hooks, &h));
	T_ASSERT(t, wait_ran(&h, 1));
	usleep(1000);
	pthread_mutex_lock(&h.mu);
	T_EXPECT_EQ(t, h.ran, 1);
	T_EXPECT(t, !pthread_equal(h.ran_on, pthread_self()));
	pthread_mutex_unlock(&h.mu);
	T_EXPECT_EQ(t, __atomic_load_n(&h.stopped_ran, __ATOMIC_RELAXED), 0);
}

static void hook_on_cancelled(T *t, void *arg)
{
	struct hooks *h = arg;
	/* Cleanups run after the cancellation: the hook starts at once. */
	h->first = t_after_cancel(t_context(t), hook, h);
	T_EXPECT(t, wait_ran(h, 1));
	T_EXPECT(t, !t_stop_call(h->first));
}

static void registers_late(T *t, void *arg)
{
	t_cleanup(t, hook_on_cancelled, arg);
}

TEST(after_cancel_on_a_cancelled_context_runs_at_once)
{
	struct hooks h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	                  0, 0, 0, NULL, NULL};
	T_EXPECT(t, t_run(t, "sub", registers_late, &h));
	T_EXPECT_EQ(t, h.ran, 1);
}

/* What the supervisor of isolated tests does in each child it forks: the
 * child gets its own canceller, so a signal in the child cancels the
 * child's contexts and not the parent's. */

TEST(a_forked_child_cancels_its_own_contexts)
{
#ifdef DEFT_TSAN
	t_skip(t, "ThreadSanitizer cannot start threads in a forked child");
#endif
	t_ctx *c = t_context(t);
	t_ctx_fd(c);            /* make the run's canceller exist */
	/* In a test's own process the canceller starts with the first
	 * context, just now: let its thread get to its poll() first, since
	 * a fork while a thread is still being set up (by ASan's runtime,
	 * say) can leave the child with a lock nobody will release. */
	usleep(50000);
	fflush(stdout);
	pid_t pid = fork();
	T_ASSERT_GE(t, pid, 0);
	if (pid == 0) {
		deft_parallel_after_fork();
		deft_ctx_after_fork();
		deft_ctx_interrupt(SIGTERM);
		bool cancelled = t_ctx_wait(c, 5000);
		const char *cause = t_ctx_cause(c);
		_exit(cancelled && cause &&
		      strcmp(cause, "interrupted: SIGTERM") == 0 ? 0 : 1);
	}
	int status = 0;
	T_ASSERT_EQ(t, waitpid(pid, &status, 0), pid);
	T_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 0);
	T_EXPECT(t, !t_ctx_wait(c, 50));       /* ours is untouched */
}

/* Durations in reports read as "%ldms" and %g's seconds print them,
 * printed by hand (run_deadline.c). */
TEST(durations_read_as_go_prints_them)
{
	static const struct {
		long ms;
		const char *want;
	} cases[] = {
		{0, "0ms"}, {300, "300ms"}, {999, "999ms"}, {1000, "1s"},
		{1500, "1.5s"}, {1250, "1.25s"}, {1001, "1.001s"},
		{59999, "59.999s"}, {60000, "1m0s"}, {90000, "1m30s"},
		{90500, "1m30.5s"}, {600000, "10m0s"}, {3723004, "62m3.004s"},
		{1010, "1.01s"}, {1100, "1.1s"}, {-5, "-5ms"}, {-1500, "-1500ms"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		deft_format_duration(buf, sizeof(buf), cases[i].ms);
		T_EXPECT_EQ(t, buf, cases[i].want);
	}
	char small[4];          /* cut, and still a string */
	deft_format_duration(small, sizeof(small), 90500);
	T_EXPECT_EQ(t, small, "1m3");
}
