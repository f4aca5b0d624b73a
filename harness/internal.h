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
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "buf.h"

#define DEFT_NOINLINE __attribute__((noinline))

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
struct t_group;                     /* group.c */

/* parallel.c: the parallel subtests (and group members) of a test, or of
 * the run for top-level tests; the test's thread waits for them. */
struct deft_family {
	T *children;                /* paused or group members, newest first */
	unsigned running;           /* children not yet done */
};

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
	const void *body_top;       /* the stack above the body's frames */
	sigjmp_buf *exit_to;        /* where t_fatal/t_skip return to */
	struct t_cleanup_handle *in_cleanup;
	struct deft_cleanup_list cleanups;
	struct deft_names *subnames;
	pthread_mutex_t mu;         /* guards cleanups and arena */
	struct deft_arena arena;
	struct timespec started;
	bool parallel;              /* t_parallel called */
	bool sets_process_state;    /* t_setenv, t_chdir: not parallel */
	bool is_main_cleanup;       /* main_cleanup.c's test */
	unsigned retry;             /* top-level: 0, or which run again */
	bool retried;               /* top-level: failed, and runs again */
	struct deft_leak *leak;     /* leak.c: the snapshot, depth 0 only */
	/* carrier.c */
	struct deft_runner *runner; /* the fiber a subtest runs on */
	bool fiber_paused;          /* its fiber waits for a carrier */
	bool on_carrier;            /* resumed by a carrier thread */
	/* parallel.c */
	bool holds_slot;            /* counts against -parallel */
	bool reacquire;             /* takes a slot again when done */
	int granted;                /* futex: 1 once given a slot */
	T *next_ready;              /* in the queue for a slot */
	double elapsed_before;      /* run time before a pause */
	T *next_sibling;            /* in the parent's family */
	struct deft_family family;
	/* context.c, group.c */
	struct t_ctx *ctx;          /* created on first use */
	const char *ctx_over;       /* cause, once cancelled before cleanups */
	struct t_group *group;      /* the group t is a member of */
	struct t_group *groups;     /* groups t made, freed with t */
	char *first_failure;        /* the first failure message */
	bool stopped_by_group;      /* failed after its group was cancelled */
	bool start_reported;        /* t_go reports a member's start */
	/* runner.c: a finished subtest's shell waits in its top-level
	 * test's list, and is freed with that test */
	T *retired;                 /* top-level: its finished subtests */
	T *next_retired;
	bool outlived;              /* leak.c: a thread it started outlived
	                             * it; runner.c then never frees it */
};

/* ---- runner.c ---- */

/* Reports that t starts, unless that was done already. */
void deft_test_report_start(T *t);
/* Whether p points into the stack frames below deft_test_run's on t's
 * stack (its body's, a fixture's, a running cleanup's), which are gone
 * by the time a cleanup registered from there runs.  False when called
 * from another thread or test, whose stack is another. */
bool deft_in_body_frames(T *t, const void *p);
/* Whether p lies between from and deft_test_run's frame on the stack t's
 * body runs on, called on the thread that runs it: in frames below from,
 * which are gone once the body returns.  False when from is on another
 * stack. */
bool deft_in_frames_below(const T *t, const void *from, const void *p);
/* Learns where the calling thread's own stack ends, once: the runner's
 * main thread does before the tests' processes fork from it, which then
 * need not read /proc/self/maps for it. */
void deft_stack_learn(void);
/* When arg, a cleanup's argument registered by the code running t (NULL:
 * none), points into deft_in_body_frames: fails t at file:line, naming
 * api(what), and returns true. */
bool deft_cleanup_arg_refused(T *t, const char *file, int line,
                              const char *api, const char *what,
                              const void *arg);
/* Runs fn(t, arg) as the test t, then its cleanups, and reports it.
 * RETURNS: true when t ran sequentially (its t_run frees it); false when
 * its family owns it (parallel, or a group member). */
bool deft_test_run(T *t, t_fn *fn, void *arg);

/* A top-level test of def, to run with deft_call_def as its body. */
T *deft_top_level_new(const struct deft_test_def *def);
void deft_call_def(T *t, void *def);
/* Runs the top-level test def in this process. */
void deft_run_def(const struct deft_test_def *def);

/* order.c: the top-level tests to run, in order: every round of -count,
 * shuffled when asked, less those -run, -skip and the shard leave out. */
const struct deft_test_def **deft_schedule(size_t *len);
/* order.c: runs them in this process (-isolation none), each failed one
 * again as -retries says. */
void deft_run_in_process(void);

/* Allocates a test named name (already made unique) under parent. */
T *deft_test_new(T *parent, const char *name);
void deft_test_free(T *t);

/* The innermost test running on the calling thread, or NULL; set where
 * a thread starts running another test's body (runner.c, carrier.c). */
T *deft_current(void);
void deft_set_current(T *t);

/* Calls fn(t, arg) so that t_fatal and t_skip on t come back here. */
void deft_call_stoppable(T *t, t_fn *fn, void *arg);

/* Ends the current test body or cleanup of t (t_fatal, t_skip). */
DEFT_NORETURN void deft_stop(T *t);

/* ---- carrier.c: what test bodies run on ---- */

/* Starts fn(arg) on a thread: detached, or joinable with its handle in
 * *join when join is not NULL.
 * RETURNS: 0, or pthread_create's error. */
int deft_thread_start(void *(*fn)(void *), void *arg, pthread_t *join);
/* Joins th if it ends by *by (CLOCK_REALTIME; a second from now if *by
 * is zero, set then), else detaches it: the process ends with it.
 * RETURNS: whether th was joined. */
bool deft_thread_join_by(pthread_t th, struct timespec *by);
/* Ends deft's own idle threads (the carriers, the workers, the canceller)
 * and waits for them, once every test has ended: a thread still alive at
 * exit holds memory that valgrind's leak check calls possibly lost. */
void deft_threads_end(void);
/* Runs t on a fiber of its own and returns when it is done (true) or has
 * paused in t_parallel (false; its parent's family owns it then). */
bool deft_test_spawn(T *t, t_fn *fn, void *arg);
/* Runs deft_test_run(t, fn, arg) on an idle worker thread, or a new one. */
void deft_worker_post(T *t, t_fn *fn, void *arg);
/* Switches from t's fiber back to the t_run that started it; returns on
 * the carrier thread that resumes t (deft_carrier_push). */
void deft_fiber_pause(T *t);
/* Whether the argument t_run gave subtest t points into its parent's
 * body frames (deft_in_body_frames), gone once t pauses in t_parallel. */
bool deft_fiber_arg_on_parent_stack(const T *t);
/* The lowest address of the fiber subtest t runs on; NULL for a test
 * that runs on its thread's own stack. */
const void *deft_fiber_stack_low(const T *t);
/* Queues paused test t, granted a slot, for a carrier thread. */
void deft_carrier_push(T *t);
/* The carrier running a test that is ending will look at the queue next
 * (so no other carrier need be woken for what that test's end grants). */
void deft_carrier_will_look(void);
/* In a child process: forgets the threads, which did not cross fork. */
void deft_carrier_after_fork(void);

/* ---- parallel.c: when test bodies run ---- */

/* Starts t (a group member) on a thread of its own, without waiting. */
void deft_test_start_member(T *t, t_fn *fn, void *arg);
/* Lets t's paused children run and waits for them and t's members. */
void deft_family_finish(T *t);
/* After t is reported: gives back its slot, tells its family.
 * RETURNS: true for a sequential test (see deft_test_run). */
bool deft_test_retire(T *t);
/* Runs a top-level test on the calling thread (cli.c) and frees it;
 * sets *retried when it failed and must run again (-retries).
 * RETURNS: false when the test called t_parallel: a new thread has then
 * called resume(resume_arg) to carry on with the run's remaining tests,
 * and the caller must stop and wait in deft_top_level_join. */
bool deft_top_level_run(T *t, t_fn *fn, void *arg,
                        bool (*resume)(void *), void *resume_arg,
                        bool *retried);
/* Lets paused top-level tests run and waits for them (cli.c). */
void deft_top_level_wait(void);
/* Waits until a resume function that was handed the run returns true. */
void deft_top_level_join(void);
/* The -parallel limit; 0 before the flags are read means online CPUs. */
void deft_parallel_set_limit(long n);

/* ---- context.c ---- */

/* Cancels t's context with cause (a string that outlives t); a context
 * made later starts cancelled. */
void deft_ctx_cancel_test(T *t, const char *cause);
/* A new context under t's, for a group; freed with deft_ctx_free. */
struct t_ctx *deft_ctx_new(T *t);
void deft_ctx_cancel(struct t_ctx *c, const char *cause);
void deft_ctx_free(struct t_ctx *c);
void deft_ctx_free_test(T *t);
/* The descriptors of t's own context (-1: none), open until t is freed. */
void deft_ctx_test_fds(T *t, int fds[2]);
/* Cancels the run's context, and with it every test's, with cause. */
void deft_ctx_cancel_run(const char *cause);

/* In a child forked from a running t_main (process isolation), before it
 * runs a test: forget the parent's worker threads and give the child its
 * own canceller thread.  Only the forking thread exists in the child. */
void deft_parallel_after_fork(void);
void deft_ctx_after_fork(void);

/* ---- run_deadline.c ---- */

/* Cancels every test's context from a signal handler: async-signal-safe.
 * For the run's SIGINT/SIGTERM and the supervisor of isolated tests. */
void deft_ctx_interrupt(int signo);
/* Whether SIGINT or SIGTERM has interrupted the run: no test starts
 * after that, and the run fails. */
bool deft_run_interrupted(void);
/* The signal that interrupted the run, or 0. */
int deft_run_interrupted_by(void);
/* Installs SIGINT/SIGTERM handlers: the first cancels the run's context,
 * and -grace later, or at a second, the run ends (deft_run_end_now); a
 * third acts as by default. */
void deft_ctx_install_signals(void);
/* Parses a Go duration ("1m30s", "250ms", "0") into seconds. */
bool deft_parse_duration(const char *s, double *seconds);
/* Formats a duration in milliseconds as Go prints it: 250ms, 1.5s,
 * 1m30s. */
void deft_format_duration(char *buf, size_t size, long ms);
/* Sets the run's deadline (-timeout), 0 for none, at which the run's
 * context is cancelled; grace seconds later, tests still running, the
 * run ends at once (deft_run_end_now). */
void deft_ctx_set_timeout(double seconds, double grace);
/* Starts the thread that cancels the run's context, if a test's own
 * process put it off until a context was made; under context.c's lock. */
void deft_run_canceller_wanted(void);
/* deft_ctx_after_fork's half: the child's own canceller thread. */
void deft_run_canceller_after_fork(void);
/* deft_threads_end's part: ends the canceller thread, if there is one
 * (joined by *by, as deft_thread_join_by), and closes its pipe. */
void deft_run_canceller_end(struct timespec *by);
/* In a test's own process: the test's deadline, seconds from now (0:
 * none), and what set it ("-timeout 2s"), for the contexts' cause.  The
 * thread that cancels contexts starts with the first one, so a test that
 * makes none pays nothing for it. */
void deft_ctx_set_child_deadline(double seconds, const char *what);
/* Whether the run's -timeout has passed (without isolation). */
bool deft_run_timed_out(void);
/* The detail of a test the run's -timeout ended, without isolation. */
#define DEFT_RUN_TIMEOUT_DETAIL "the run's -timeout"

/* ---- run_exit.c, run_crash.c ---- */

/* From the run's beginning to its reports' end: exit() in this process
 * finishes the run, its reports and the main cleanups first, and a
 * crash the run and its reports. */
void deft_run_exit_watch(void);
void deft_run_exit_unwatch(void);
/* Marks the calling thread as one that runs tests: should it end in
 * pthread_exit with a test on it, the run ends as for exit(). */
void deft_run_exit_thread(void);
/* Waits for the end of the process if another thread is ending the run
 * (exit(), a crash, a hard stop): what the caller would do next is the
 * run's no more.  Async-signal-safe. */
void deft_run_exit_hold(void);
/* Without isolation, tests that did not stop when told to: the open
 * tests fail as interrupted (else as timed out), why logged on the
 * newest, the reports are finished, and the process exits with status
 * at once. */
DEFT_NORETURN void deft_run_end_now(const char *why, bool interrupted,
                                    int status);

/* ---- child.c: a top-level test's own process ---- */

/* Whether this process runs one test for a supervisor. */
bool deft_child_isolated(void);
/* Top-level test t called t_parallel in its own process: tells the
 * supervisor and waits for its turn; stops t if the run ends first. */
void deft_child_wait_turn(T *t);
/* In a process forked from a test's (a death test's): closes the channel
 * to the supervisor, so nothing in it reports there, even at exit(). */
void deft_child_forget_channel(void);
/* Gives each signal in sigs, a set of DEFT_SIGBIT()s, its default action,
 * and blocks none.  A mask, not a table: in a test process a table in
 * read-only data would cost a page fault to read. */
#define DEFT_SIGBIT(sig) (UINT64_C(1) << (sig))
void deft_signals_default(uint64_t sigs);

/* In a process the test forked, fails t with text (a line of its log)
 * through the supervisor; false without process isolation. */
bool deft_child_fail(T *t, const char *text);

/* ---- crash_record.c: what a crash tells ---- */

/* Appends to b, on lines of their own, the cleanups of t and of the tests
 * around it that have not run: what a test that ends by exit() leaves.
 * deft_append_pending_cleanups does it from the list as the test's
 * process sends it (child_ending.c). */
void deft_pending_cleanups(struct deft_buf *b, T *t);
void deft_append_pending_cleanups(struct deft_buf *b, const char *text,
                                  size_t n);
/* Gives the calling thread (one that runs test bodies) an alternate
 * signal stack, so that a stack overflow on it is reported as one; one
 * it has already, as large, is kept. */
void deft_thread_altstack(void);

/* ---- forked.c: processes a test forks ---- */

/* Set in the child of every fork() but deft's own (deft_forked_mine). */
extern volatile sig_atomic_t deft_forked;
/* Starts watching forks; once a process, before the first. */
void deft_forked_watch(void);
/* In a child of deft's own fork: this process is deft's. */
void deft_forked_mine(void);
/* In a process the test forked: t failed, which fails it in the process
 * that runs it too. */
void deft_forked_failed(T *t);
/* A process the test forked returned into deft from t's code: says so and
 * ends it with _exit(1). */
DEFT_NORETURN void deft_forked_returned(T *t);
/* Without isolation: whether such a process left word to collect, and
 * failing the tests it names (t or one of its parents; else t). */
bool deft_forked_pending(void);
void deft_forked_collect(T *t);

/* ---- death.c ---- */

/* A signal's name: "SIGUSR1", "SIGRTMIN+3" (glibc names no real-time
 * signal), or "signal 32" for one glibc keeps to itself. */
enum { DEFT_SIGNAL_NAME = 24 };
void deft_signal_name(char name[static DEFT_SIGNAL_NAME], int sig);
/* Appends "SIGSEGV (Segmentation fault)", or "signal N". */
void deft_describe_signal(struct deft_buf *b, int sig);
/* In a death test's child, a test being stopped ends the child (and
 * says so to the parent); elsewhere it does nothing. */
void deft_death_child_stop(void);

/* ---- group.c ---- */
struct t_ctx *deft_group_ctx(struct t_group *g);
/* A member is done (called on its thread before its parent may free it). */
void deft_group_member_done(T *t);
/* t (a group member, or an ancestor of one) has failed with msg. */
void deft_group_note_failure(T *t);
/* Whether t's result is "stopped by its group's cancellation". */
bool deft_group_cancelled_member(T *t);
void deft_groups_free(T *t);

/* ---- log.c ---- */

/* Logs a message at file:line (file NULL: a note without a place). */
void deft_emit(T *t, const char *file, int line, const char *fmt, ...)
	DEFT_PRINTF(4, 5);
/* Logs a note without a place that says why t ends: a failure or a skip
 * the caller marks; reports show it as the test's reason (JUnit's
 * message=). */
void deft_emit_reason(T *t, const char *fmt, ...) DEFT_PRINTF(2, 3);
/* Logs text, a note without a place, on the test whose report id is id,
 * which may run elsewhere: in a test's process, or on another thread. */
void deft_log_on(unsigned id, const char *text);
/* deft_log_on, for a note that says why the test fails. */
void deft_reason_on(unsigned id, const char *text);
/* Logs a failure at file:line and marks the test failed. */
void deft_fail_at(T *t, const char *file, int line, const char *fmt, ...)
	DEFT_PRINTF(4, 5);
/* Marks t and its ancestors failed; counts the first failure of a run. */
void deft_mark_failed(T *t);

/* ---- subtest.c ---- */
void deft_names_free(T *t);
/* The full name of a new subtest of t: Go's rewriting and #NN suffixes;
 * NULL, t failed saying so for api ("t_run"), if it is too long. */
char *deft_subtest_name(T *t, const char *api, const char *name);

/* ---- fixture.c ---- */

/* t or its nearest ancestor that is parallel, or NULL. */
T *deft_parallel_ancestor(T *t);

/* ---- main_cleanup.c: the run's own cleanup stack ---- */

/* Runs the cleanups t_main_cleanup registered, LIFO, as a test named
 * t_main_cleanup (reported only if there were any).  Returns false when
 * one failed. */
bool deft_main_cleanups_run(void);
/* The test whose cleanups are the main cleanups; NULL before the first
 * and once they have run, unless make. */
T *deft_main_cleanups_test(bool make);
/* In a test's own process: drops, without running them, the cleanups
 * inherited from the supervisor (TEST_MAIN's): they are its to run. */
void deft_main_cleanups_forget(void);

/* ---- test_main.c: the TEST_MAIN hook ---- */

/* False, after saying where both are on stderr, when the program has
 * two TEST_MAINs. */
bool deft_main_hook_unique(void);
/* The program's TEST_MAIN, or NULL. */
int (*deft_main_hook(void))(t_m *m);

/* ---- leak.c: what a top-level test left behind ---- */

enum deft_leak_mode { DEFT_LEAKS_FAIL, DEFT_LEAKS_WARN, DEFT_LEAKS_OFF };

/* Parses a -leaks value; false if it is not fail, warn or off. */
bool deft_leak_parse_mode(const char *value, enum deft_leak_mode *mode);
/* Snapshots the process before a top-level test's body. */
void deft_leak_before(T *t);
/* After all of t's cleanups: reports what t left behind, restoring the
 * environment, working directory, umask and (deft_leak_keep_std_fds)
 * the standard descriptors. */
void deft_leak_after(T *t);
/* A descriptor the harness owns, never counted as a leak. */
void deft_leak_ignore_own_fd(int fd);
/* Makes room for more such descriptors now: the supervisor does, so that
 * a test process's own (its channel, pipes, canceller) do not cost it a
 * reallocation, and the page faults of realloc's first use. */
void deft_leak_reserve_own_fds(size_t more);
/* Without isolation: keeps copies of descriptors 0, 1 and 2, which the
 * check then reports closed, and puts back when closed or replaced. */
void deft_leak_keep_std_fds(void);

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
	long parallel;              /* -parallel; 0: online CPUs */
	double timeout_scale;       /* -timeout-scale; 1 when not given */
	long retries;               /* -retries */
	bool fail_on_flaky;         /* -fail-on-flaky */
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
/* A deadline of ms milliseconds times -timeout-scale. */
static inline long deft_scaled_ms(long ms)
{
	double f = deft_opt.timeout_scale > 0 ? deft_opt.timeout_scale : 1;
	double scaled = (double)ms * f;
	if (ms > 0 && scaled < 1)
		return 1;       /* a deadline, however short: 0 means none */
	return scaled > 1e12 ? 1000000000000L : (long)scaled;
}

/* CLOCK_MONOTONIC in nanoseconds; async-signal-safe. */
static inline int64_t deft_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline double deft_seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

#endif
