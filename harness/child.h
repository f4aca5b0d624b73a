/*
 * child.h - the side of process isolation that runs in a test's process,
 * and what the supervisor and it agree on besides the messages.
 */
#ifndef DEFT_CHILD_H
#define DEFT_CHILD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <deft.h>

struct deft_test_def;
struct deft_out_counter;

/* Asks each thread of a child for its backtrace (sent to one thread at a
 * time with tgkill), and asks the child to stop at its deadline. */
#define DEFT_SIG_STACK (SIGRTMIN + 3)
#define DEFT_SIG_STOP (SIGRTMIN + 4)

/* Exit statuses of a child that did not get to run its test fully. */
enum {
	DEFT_CHILD_SETUP_FAILED = 120,
	DEFT_CHILD_CHANNEL_LOST = 121,  /* the test closed deft's socket */
};

/* The byte the supervisor sends a top-level test waiting in t_parallel:
 * its turn has come, or the run is over before it did. */
enum { DEFT_TURN_GO = 'g', DEFT_TURN_STOP = 's' };

/* What a fatal signal sig on this thread, which runs t (or NULL), tells
 * of the crash: its record, with its backtrace in frames and, in text, a
 * line for each cleanup that will not run, of t and the tests around it
 * and of also (NULL: none).  What a test's process sends the supervisor,
 * and what the runner's own process reports of a crash of its own
 * (run_crash.c).  Async-signal-safe. */
enum { DEFT_CRASH_FRAMES = 64, DEFT_CRASH_TEXT = 2048 };
struct deft_msg_crash;
void deft_crash_take(struct deft_msg_crash *c,
                     uint64_t frames[DEFT_CRASH_FRAMES],
                     char text[DEFT_CRASH_TEXT], T *t, T *also, int sig,
                     const siginfo_t *si, const void *uc);

/* The cleanups of t and of the tests around it that have not run, a line
 * each, into buf; returns the length.  Async-signal-safe. */
size_t deft_pending_cleanup_lines(char *buf, size_t cap, T *t);
/* The cleanup of t the calling thread is running, if any, as
 * "name (file.c:12, test name)" into buf; returns the length, 0 for none.
 * Async-signal-safe. */
size_t deft_running_cleanup_text(char *buf, size_t cap, T *t);
/* The backtrace of the code a signal interrupted (ucontext is its
 * handler's), without the handler's own frames.  Async-signal-safe. */
uint32_t deft_backtrace_at(uint64_t out[DEFT_CRASH_FRAMES],
                           const void *ucontext);

/* Says in why what the crash cr was, on a thread that ran a test or
 * not, with its backtrace frames symbolized and the cleanups pending, as
 * deft_crash_take gave them; in detail, its signal. */
struct deft_buf;
void deft_describe_crash(struct deft_buf *why, struct deft_buf *detail,
                         const struct deft_msg_crash *cr,
                         const uint64_t *frames, const char *pending,
                         bool in_test);

/* What a test left in stdout's buffer, a line without its newline, is
 * pushed out once its crash is reported: the flush is not safe in a
 * signal handler, and a crash inside stdio may crash again in it, but the
 * report has gone by then.  Skipped when another thread holds the lock. */
void deft_flush_after_crash(void);

/* In the supervisor, before the first fork: what test processes inherit
 * ready-made. */
void deft_child_prepare(void);

/* In a freshly forked child: takes over the socket chan and the write ends
 * of the stdout and stderr pipes, whose reads the supervisor counts in
 * out_counter (NULL: it does not), runs def with a deadline deadline_s
 * seconds from now (0: none) set by deadline_what, and exits.  Never returns. */
DEFT_NORETURN void deft_child_run(const struct deft_test_def *def, int chan,
                                  int out, int err,
                                  struct deft_out_counter *out_counter,
                                  double deadline_s,
                                  const char *deadline_what);
#endif
