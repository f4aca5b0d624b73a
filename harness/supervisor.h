/*
 * supervisor.h - runs top-level tests in processes of their own.
 */
#ifndef DEFT_SUPERVISOR_H
#define DEFT_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>

struct deft_test_def;

struct deft_supervisor_options {
	int jobs;               /* test processes at once, at least 1 */
	long test_timeout_ms;   /* a test's deadline when TEST sets none; 0 none */
	long run_timeout_ms;    /* the whole run's deadline; 0 none */
	long grace_ms;          /* from a test's deadline to its kill */
	bool failfast;
};

/* Runs the tests of the schedule in order, each in a forked process, and
 * reports them through the reporters.  Returns 0, or the number of the
 * signal (SIGINT, SIGTERM) that interrupted the run. */
int deft_supervise(const struct deft_test_def *const *schedule, size_t n,
                   const struct deft_supervisor_options *opt);
#endif
