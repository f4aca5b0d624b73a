/*
 * child.h - the side of process isolation that runs in a test's process,
 * and what the supervisor and it agree on besides the messages.
 */
#ifndef DEFT_CHILD_H
#define DEFT_CHILD_H

#include <signal.h>
#include <stdbool.h>

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
