/*
 * run_exit.h - what run_exit.c and run_crash.c share: the run's own
 * process ending while the run is under way, by whichever thread gets
 * there first.
 */
#ifndef DEFT_RUN_EXIT_H
#define DEFT_RUN_EXIT_H

#include "internal.h"
#include "../reporters/report.h"

#include <stdbool.h>
#include <sys/types.h>

/* The process that runs the run: others (a test's, one a test forked)
 * end as they would without deft. */
extern pid_t deft_run_pid;

/* Whether the caller is the one to end the run: it is under way, and no
 * other thread has begun to end it. */
bool deft_run_take_ending(void);

/* Whether the root of the tests open around t is the main cleanups'. */
bool deft_in_main_cleanups(T *t);

/* Every open test ends, failed as ending says, newest first, so that
 * each subtest ends before its parent: t and the tests around it (t may
 * be NULL) with detail and the time they ran, the others (on other
 * threads) with beside and the time since they started. */
void deft_run_end_open(enum deft_ending ending, T *t, const char *detail,
                       const char *beside);

/* run_crash.c: the fatal signals are caught while a run is under way. */
void deft_run_crashes_catch(void);
void deft_run_crashes_uncatch(void);

#endif
