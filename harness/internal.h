/*
 * internal.h - the state libdeft shares between its files.
 *
 * struct T is defined here: one per running test or subtest, allocated when
 * it starts and freed when its result has been reported.  Everything a test
 * allocates while it runs (cleanup records, deferred calls) comes from the
 * test's arena and is freed with it, so a cleanup handle stays valid, and
 * checkable, until the test is done.
 */
#ifndef DEFT_INTERNAL_H
#define DEFT_INTERNAL_H

#include <deft.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/queue.h>
#include <time.h>

#include "buf.h"

/* ---- arena.c: bump allocation freed all at once ---- */

struct deft_arena {
	struct deft_arena_chunk *chunks;
	char *next;
	size_t left;
};

void *deft_arena_alloc(struct deft_arena *a, size_t size);
void deft_arena_free(struct deft_arena *a);

/* ---- cleanup.c: the LIFO stack of section 3 ---- */

enum deft_cleanup_state { DEFT_CLEANUP_PENDING, DEFT_CLEANUP_RUNNING,
                          DEFT_CLEANUP_DONE };

struct t_cleanup_handle {
	LIST_ENTRY(t_cleanup_handle) link;
	T *owner;
	t_fn *fn;
	void *arg;
	const char *file;
	int line;
	const char *what;               /* the function's name, or NULL */
	const struct deft_call *call;   /* set for t_defer */
	enum deft_cleanup_state state;
};

LIST_HEAD(deft_cleanup_list, t_cleanup_handle);

void deft_cleanups_run_all(T *t);
void deft_cleanup_attach_call(t_handle h, const struct deft_call *call);

/* ---- defer.c ---- */

/* The macro's argument text of a deferred call, "f, a, b". */
const char *deft_call_text(const struct deft_call *call);
/* Renders "f, a, b" (the macro's argument text) as "f(a, b)" into b. */
void deft_call_expr(struct deft_buf *b, const struct deft_call *call);

/* ---- the test ---- */

struct deft_names;                  /* subtest.c: names used under a test */

struct T {
	T *parent;
	char *name;                 /* full name, "top/sub/subsub" */
	const char *file;           /* where TEST() is; NULL for subtests */
	int line;
	unsigned id;                /* unique in the run, never 0 */
	int depth;                  /* 0 for a top-level test */
	bool failed;
	bool skipped;
	bool finished;
	bool stop_pending;          /* t_fatal on t from inside a subtest */
	pthread_t thread;           /* the thread that runs the body */
	sigjmp_buf *exit_to;        /* where t_fatal/t_skip return to */
	struct t_cleanup_handle *in_cleanup;
	struct deft_cleanup_list cleanups;
	struct deft_names *subnames;
	pthread_mutex_t mu;         /* guards cleanups and arena */
	struct deft_arena arena;
	struct timespec started;
	bool parallel;              /* t_parallel was called */
	bool sets_process_state;    /* a fixture.c helper was used */
	bool is_main_cleanup;       /* main_cleanup.c's test */
	struct deft_leak *leak;     /* leak.c: the snapshot, depth 0 only */
};

/* ---- runner.c ---- */

/* Runs fn(t, arg) as the test t, then its cleanups, and reports it. */
void deft_test_run(T *t, t_fn *fn, void *arg);

/* Runs the top-level test def in this process. */
void deft_run_def(const struct deft_test_def *def);

/* Without isolation: ends the process, naming the running test, when the
 * run is not over ms milliseconds from now (-timeout). */
void deft_arm_run_timeout(long ms);

/* Allocates a test named name (already made unique) under parent. */
T *deft_test_new(T *parent, const char *name);
void deft_test_free(T *t);

/* The innermost test running on the calling thread, or NULL. */
T *deft_current(void);

/* Calls fn(t, arg) so that t_fatal and t_skip on t come back here. */
void deft_call_stoppable(T *t, t_fn *fn, void *arg);

/* Ends the current test body or cleanup of t (t_fatal, t_skip). */
DEFT_NORETURN void deft_stop(T *t);

/* ---- log.c ---- */

/* Logs a message at file:line (file NULL: a note without a place). */
void deft_emit(T *t, const char *file, int line, const char *fmt, ...)
	DEFT_PRINTF(4, 5);
/* Logs a failure at file:line and marks the test failed. */
void deft_fail_at(T *t, const char *file, int line, const char *fmt, ...)
	DEFT_PRINTF(4, 5);
/* Marks t and its ancestors failed; counts the first failure of a run. */
void deft_mark_failed(T *t);

/* ---- subtest.c ---- */
void deft_names_free(T *t);

/* ---- fixture.c ---- */

/* t or its nearest ancestor that is parallel, or NULL. */
T *deft_parallel_ancestor(T *t);

/* ---- main_cleanup.c: the run's own cleanup stack ---- */

/* Runs the cleanups t_main_cleanup registered, LIFO, as a test named
 * t_main_cleanup (reported only if there were any).  Returns false when
 * one failed. */
bool deft_main_cleanups_run(void);

/* ---- leak.c: what a top-level test left behind ---- */

enum deft_leak_mode { DEFT_LEAKS_FAIL, DEFT_LEAKS_WARN, DEFT_LEAKS_OFF };

/* Parses a -leaks value; false if it is not fail, warn or off. */
bool deft_leak_parse_mode(const char *value, enum deft_leak_mode *mode);
/* Snapshots the process before a top-level test's body. */
void deft_leak_before(T *t);
/* After all of t's cleanups: reports what t left behind, restoring the
 * environment, working directory and umask. */
void deft_leak_after(T *t);
/* A descriptor the harness owns, never counted as a leak. */
void deft_leak_ignore_own_fd(int fd);

/* ---- match.c: -run and -skip ---- */

struct deft_filter;
/* Compiles a Go-style pattern; on error writes a message to err. */
struct deft_filter *deft_filter_new(const char *pattern, const char *flag,
                                    struct deft_buf *err);
void deft_filter_free(struct deft_filter *f);
/* Whether the name's elements match; *partial when more levels could. */
bool deft_filter_match(const struct deft_filter *f, const char *name,
                       bool *partial);
/* Whether a test of that full name is to run. */
bool deft_selected(const char *name);

/* ---- registry.c ---- */

struct deft_test_def **deft_registry(size_t *n);

/* ---- shard.c: -shard, GoogleTest's and Bazel's sharding ---- */

/* Parses -shard INDEX/TOTAL; on error writes a message to err. */
int deft_shard_parse(const char *value, struct deft_buf *err);
/* Reads the shard from TEST_SHARD_INDEX/TEST_TOTAL_SHARDS or
 * GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS unless -shard was given, touches
 * TEST_SHARD_STATUS_FILE and sets TMPDIR to TEST_TMPDIR; -1 with a
 * message in err on error. */
int deft_shard_from_env(struct deft_buf *err);
/* Whether the top-level test of that name is in this shard. */
bool deft_in_shard(const char *name);
/* Whether the run is one of several shards, and which. */
bool deft_sharded(unsigned *index, unsigned *total);
/* Creates TEST_PREMATURE_EXIT_FILE while running, removes it after. */
void deft_premature_exit_mark(bool running);

/* ---- cli.c: the run's options ---- */

struct deft_options {
	struct deft_filter *run;
	struct deft_filter *skip;
	bool verbose;
	bool failfast;
	long count;
	bool shuffle;
	uint64_t seed;
	enum deft_leak_mode leaks;  /* -leaks */
};

extern struct deft_options deft_opt;
extern unsigned deft_failures;     /* tests failed so far in the run */

/* The last component of a path. */
static inline const char *deft_base_name(const char *path)
{
	const char *slash = __builtin_strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* ---- time ---- */
static inline double deft_seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

#endif
