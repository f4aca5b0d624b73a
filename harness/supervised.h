/*
 * supervised.h - a test process as the supervisor sees it, shared by the
 * parts of process isolation in the runner: supervisor.c starts, stops
 * and waits for the processes; child_output.c reads what each one says
 * and writes, giving each piece of output to its test; child_events.c
 * turns that into reports; child_ending.c puts into words how one
 * that did not finish its test ended; supervisor_signals.c sets up the
 * runner's signals.
 */
#ifndef DEFT_SUPERVISED_H
#define DEFT_SUPERVISED_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "supervisor.h"
#include "../reporters/report.h"

struct deft_test_def;

/* How far a child's stop has gone: asked to stop, its threads asked for
 * their backtraces, killed. */
enum stage { RUNNING, STOPPING, DUMPING, KILLED };

struct open_test {
	uint32_t child_id;
	unsigned id;
	struct timespec started;        /* less the time it was paused */
	bool paused;            /* in t_parallel, not yet resumed */
	struct timespec paused_at;
};

/* A test a child started, by the child's id of it. */
struct known_test {
	unsigned id;                    /* the run's id; 0: none */
	uint32_t parent;                /* the child's id of its parent */
	bool failed_by_fork;            /* by a process the test forked */
};

struct child {
	pid_t pid;
	const struct deft_test_def *def;
	int chan, out, err;             /* -1 once closed */
	bool exited, done, live;
	bool waiting;                   /* its test waits in t_parallel */
	bool resumed;                   /* and was let go on */
	size_t order;                   /* of starting */
	int status;
	double cpu_s;                   /* user + system time, once exited */
	unsigned retry;                 /* 0, or which run again (-retries) */
	bool may_retry;                 /* a failure now is run again */
	bool retried;                   /* its test failed and runs again */
	enum stage stage;
	enum deft_ending forced;        /* DEFT_ENDED unless stopped by us */
	bool by_run_timeout;            /* forced by -timeout */
	int stopped_by;                 /* the signal that had stopped it
	                                 * when it was killed, or 0 */
	long timeout_ms;
	int64_t deadline, next_step, drain_until;
	int64_t exited_at;              /* deft_now_ns() when found gone */
	struct deft_buf queue;          /* messages held when not live */
	/* when each start, pause and continue message held came: the test
	 * started (or paused) then, not when it is reported; how many of
	 * those times are used */
	struct deft_buf came;
	size_t came_used;
	struct deft_buf early;          /* output read before the start */
	struct known_test *known;       /* by the child's test id */
	size_t nknown;
	struct open_test *open;
	size_t nopen, capopen;
	uint32_t top;                   /* the child's id of its test */
	struct deft_buf held_end;       /* that test's end message */
	struct deft_buf crash;          /* its crash message, if any */
	struct deft_buf exit_call;      /* its exit message, if any */
	struct deft_buf stacks;         /* rendered thread backtraces */
	bool hung_in_cleanup;           /* one of them ran a cleanup */
	struct deft_buf leftovers;      /* processes it left running */
	bool beside_another;            /* another test process ran too */
	struct deft_buf signals;        /* those it sent the runner */
	size_t output, dropped;
	/* What was read from the stdout and stderr pipes and not yet given
	 * to a test (protocol.h: the bytes before a message's mark go to
	 * the test running before it), and how much was given in all. */
	struct deft_out_counter *counter;       /* NULL: none was free */
	struct deft_buf pending[2];
	uint64_t taken[2];
	struct child *next;
};

/* The options of the run being supervised. */
extern const struct deft_supervisor_options *deft_sup_opts;

/* ---- supervisor_signals.c ---- */

/* While tests run, the signals that would end or stop the runner are
 * read from fds, each as a struct signalfd_siginfo: fds[0] a signalfd,
 * fds[1] the fault signals another process sent (the runner's own still
 * end it, through whatever handler it had). */
struct deft_sup_signals {
	int fds[2];
	sigset_t old_mask;
};
void deft_sup_signals_catch(struct deft_sup_signals *s);
void deft_sup_signals_release(struct deft_sup_signals *s);

/* ---- leftovers.c ---- */

/* Notes the runner's own children, before the first test; forgets them
 * at the end of the run. */
void deft_sup_own_children_note(void);
void deft_sup_own_children_forget(void);
/* Kills and names in c->leftovers what c's test left running in its
 * process group. */
void deft_sup_kill_group(struct child *c);
/* Kills the processes the runner adopted that are still running: what
 * tests left outside their process groups.  For when no test process
 * runs: all the runner's children then are adopted ones, but for its
 * own and those in test_pgrp, left to deft_sup_kill_group.  Names them
 * in *names; returns how many. */
size_t deft_sup_kill_adopted(struct deft_buf *names, int test_pgrp);
/* The same, with no test process running; the run's output names them,
 * as what no one test can be blamed for (but with -leaks=off). */
void deft_sup_kill_unblamed(int test_pgrp);

/* ---- child_output.c ---- */

/* A counter of output read for a new child (protocol.h); NULL if none
 * can be had.  deft_sup_free gives it back. */
struct deft_out_counter *deft_sup_counter_take(void);
void deft_sup_counter_give_back(struct deft_out_counter *counter);

/* Reads c's messages, each after the output written before it, and
 * when pipes_ready (poll said so) its output too; deft_sup_drain reads
 * only the output, to its end. */
void deft_sup_read(struct child *c, bool pipes_ready);
void deft_sup_drain(struct child *c);

/* ---- child_events.c ---- */

/* Takes one message of c: reported now, or queued until c is done. */
void deft_sup_ingest(struct child *c, uint16_t type, const void *head,
                     size_t hlen, const void *data, size_t n);

/* Output for a test of c (id 0: the innermost one running), within the
 * limit of output kept a process. */
void deft_sup_ingest_output(struct child *c, uint32_t id, uint32_t stream,
                            const char *data, size_t n);

/* Names thread tid of c under its threads' backtraces if it sent none. */
void deft_sup_note_silent_thread(struct child *c, int tid);

/* Reports c's test as started, with why logged on it, when nothing of it
 * came from its process. */
void deft_sup_unstarted(struct child *c, const char *why);

/* Ends a test that was open in a child that can no longer end it, at
 * ended (NULL: now); retried says a top-level test runs again
 * (-retries). */
void deft_sup_end_synthesised(unsigned id, const struct open_test *o,
                              enum deft_ending ending, const char *detail,
                              bool retried, const struct timespec *ended);

/* Reports how c ended, once its process is gone. */
void deft_sup_finish(struct child *c);
void deft_sup_free(struct child *c);

/* ---- child_ending.c ---- */

/* What happened to c, whose process is gone, when it did not finish its
 * test normally: the reason in why, a short form for the reports in
 * detail, and in *target the child's id of the test to blame (0: the
 * innermost open one).  DEFT_ENDED when nothing went wrong. */
enum deft_ending deft_sup_describe_end(struct child *c, struct deft_buf *why,
                                       struct deft_buf *detail,
                                       uint32_t *target);
#endif
