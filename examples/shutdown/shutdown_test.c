/*
 * shutdown_test.c - Go's cleanup-ordering idioms for background work,
 * with deft's contexts.  A test's context is cancelled just before its
 * cleanups run, and cleanups run last registered first, so the order in
 * which a test sets things up is the reverse of the order they are torn
 * down in:
 *
 *   ticker       open a log, start a worker that writes to it on every
 *                tick, register "join the worker" last: on cancellation
 *                the worker stops, is joined, and only then is the log
 *                closed (closing first would leave it writing to a
 *                closed FILE)
 *   manager      a shutdown manager started by t_after_cancel stops the
 *                services in reverse order on its own thread; a cleanup
 *                waits for it
 *   conn         an after-cancel hook that unblocks a reader races the
 *                cleanup that closes the connection; ordering them with
 *                t_stop_call (prevented: abort here; started: wait for
 *                it) removes the race
 */
#define _GNU_SOURCE
#include <deft.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "manager.h"
#include "ticker.h"

/* ---- ticker ---- */

struct ticker_test {
	char path[64];
	struct ticker tk;
	int ticks;
};

static void join_ticker(T *t, void *arg)
{
	struct ticker_test *s = arg;
	T_EXPECT(t, t_ctx_done(t_context(t)));   /* that is what stops it */
	s->ticks = ticker_join(&s->tk);
}

static void check_log(T *t, void *arg)
{
	struct ticker_test *s = arg;
	FILE *f = fopen(s->path, "r");
	T_ASSERT_NOT_NULL(t, f);
	int lines = 0;
	char line[64];
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	T_EXPECT_EQ(t, lines, s->ticks);
	T_EXPECT_GE(t, lines, 3);
}

TEST(ticker_stops_before_its_log_closes)
{
	struct ticker_test *s = calloc(1, sizeof(*s));
	T_ASSERT_NOT_NULL(t, s);
	t_defer(t, free, s);
	strcpy(s->path, "/tmp/deft-ticker-XXXXXX");
	int fd = mkstemp(s->path);
	T_ASSERT_GE(t, fd, 0);
	t_defer(t, unlink, s->path);            /* 4th: remove the file */
	t_cleanup(t, check_log, s);             /* 3rd: read it back */
	FILE *log = fdopen(fd, "w");
	T_ASSERT_NOT_NULL(t, log);
	t_defer_check(t, fclose, log);          /* 2nd: close the log */
	int stop = t_ctx_fd(t_context(t));
	T_ASSERT_EQ(t, ticker_start(&s->tk, log, 2, stop), 0);
	t_cleanup(t, join_ticker, s);           /* 1st: join the worker */
	for (int i = 0; i < 1000 && ticker_ticks(&s->tk) < 3; i++)
		t_sleep(t, 2);
}

/* ---- manager ---- */

struct service {
	const char *name;
	char *order;            /* names of stopped services, in order */
	pthread_mutex_t *mu;
};

static void stop_service(void *arg)
{
	struct service *s = arg;
	pthread_mutex_lock(s->mu);
	strcat(s->order, s->name);
	pthread_mutex_unlock(s->mu);
}

struct manager_test {
	struct manager m;
	pthread_mutex_t mu;
	char order[16];
	struct service svc[3];
};

static void wait_for_shutdown(T *t, void *arg)
{
	struct manager_test *s = arg;
	manager_wait(&s->m);
	pthread_mutex_lock(&s->mu);
	T_EXPECT_EQ(t, s->order, "cba");
	pthread_mutex_unlock(&s->mu);
	T_EXPECT(t, !manager_add(&s->m, stop_service, &s->svc[0]));
}

TEST(shutdown_manager_stops_services_in_reverse)
{
	struct manager_test *s = calloc(1, sizeof(*s));
	T_ASSERT_NOT_NULL(t, s);
	t_defer(t, free, s);                    /* after the wait below */
	pthread_mutex_init(&s->mu, NULL);
	manager_init(&s->m);
	t_cleanup(t, wait_for_shutdown, s);
	t_after_cancel(t_context(t), manager_shutdown, &s->m);
	static const char *const names[] = {"a", "b", "c"};
	for (int i = 0; i < 3; i++) {
		s->svc[i] = (struct service){names[i], s->order, &s->mu};
		T_ASSERT(t, manager_add(&s->m, stop_service, &s->svc[i]));
	}
	pthread_mutex_lock(&s->mu);
	T_EXPECT_EQ(t, s->order, "");          /* nothing stopped yet */
	pthread_mutex_unlock(&s->mu);
}

/* ---- conn ---- */

struct conn_test {
	struct conn c;
	pthread_t reader;
	t_stop *hook;
	bool prevented;
	ssize_t got;
};

static void *read_until_closed(void *arg)
{
	struct conn_test *s = arg;
	char b;
	s->got = read(s->c.fd, &b, 1);
	return NULL;
}

/* The fix: settle the hook first, then close exactly once. */
static void close_conn(T *t, void *arg)
{
	struct conn_test *s = arg;
	s->prevented = t_stop_call(s->hook);
	if (s->prevented)
		conn_abort(&s->c);              /* the hook will never run */
	else
		conn_wait_aborted(&s->c);       /* it started: let it finish */
	pthread_join(s->reader, NULL);
	T_EXPECT_EQ(t, s->got, 0);              /* the reader saw the end */
	T_EXPECT_EQ(t, conn_close(&s->c), 0);
	T_EXPECT_EQ(t, s->c.closes, 1);
}

static void serve(T *t, void *arg)
{
	struct conn_test *s = arg;
	T_ASSERT_EQ(t, conn_open(&s->c), 0);
	s->hook = t_after_cancel(t_context(t), conn_abort, &s->c);
	T_ASSERT_EQ(t, pthread_create(&s->reader, NULL, read_until_closed, s),
	            0);
	t_handle h = t_cleanup(t, close_conn, s);
	if (strstr(t_name(t), "early"))
		t_cleanup_run_now(t, h);        /* before the cancellation */
}

TEST(hook_and_close_ordered)
{
	struct conn_test late = {0}, early = {0};
	T_EXPECT(t, t_run(t, "closed_by_cleanup", serve, &late));
	T_EXPECT(t, !late.prevented);           /* the hook ran first */
	T_EXPECT(t, t_run(t, "closed_early", serve, &early));
	T_EXPECT(t, early.prevented);           /* the hook never ran */
}
