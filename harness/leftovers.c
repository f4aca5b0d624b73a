/*
 * leftovers.c - the processes a test leaves running when its process
 * ends, found and killed by the supervisor.
 *
 * Those still in the test's process group are found by their group.
 * Those that left it (a daemon: setsid and a second fork, or a child that
 * made a group of its own) are found another way: the supervisor is the
 * subreaper of every process forked under it, so once such a process's
 * parent is gone it is the supervisor's child, neither a test process nor
 * one of the supervisor's own from before the first test (TEST_MAIN's).
 * Which test left it is known only when one test process ran at a time;
 * supervisor.c decides whom to blame.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "leak_snapshot.h"
#include "supervised.h"
#include "../reporters/report.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The runner's children from before the first test: TEST_MAIN's. */
static int *own_children;
static size_t n_own_children;

/* Reads the runner's children, as pids, into *pids; returns how many. */
static size_t read_children(int **pids)
{
	*pids = NULL;
	/* None at all, running or exited, is the common case: one system
	 * call tells it. */
	siginfo_t si = {0};
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 &&
	    errno == ECHILD)
		return 0;
	/* Orphans are given to the main thread (PR_SET_CHILD_SUBREAPER).
	 * Static: a deeper stack would cost the single-threaded supervisor
	 * a page fault a test, its stack being shared with each new test
	 * process until written. */
	static char buf[4096];
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
	         (int)getpid());
	if (!deft_proc_read_small(path, buf, sizeof(buf)))
		return 0;
	/* "pid pid ...": at most one pid in two characters */
	*pids = deft_xcalloc(strlen(buf) / 2 + 1, sizeof(**pids));
	size_t n = 0;
	for (char *p = buf, *end;; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		(*pids)[n++] = (int)pid;
	}
	return n;
}

void deft_sup_own_children_note(void)
{
	n_own_children = read_children(&own_children);
}

void deft_sup_own_children_forget(void)
{
	deft_free(own_children);
	own_children = NULL;
	n_own_children = 0;
}

static bool own(int pid)
{
	for (size_t k = 0; k < n_own_children; k++)
		if (own_children[k] == pid)
			return true;
	return false;
}

/* Waits a moment for pid, a child just killed, to end, and reaps it, so
 * that it is not found running again. */
static void reap_killed(int pid)
{
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
}

/* Splits a /proc/PID/stat line, "pid (comm) state ppid pgrp ...", cutting
 * it after comm; false if it is not one. */
static bool parse_stat(char *stat, const char **comm, char *state,
                       int *pgrp)
{
	char *open_paren = strchr(stat, '(');
	char *close_paren = strrchr(stat, ')');
	if (!open_paren || !close_paren || close_paren < open_paren ||
	    sscanf(close_paren + 1, " %c %*d %d", state, pgrp) != 2)
		return false;
	*close_paren = '\0';
	*comm = open_paren + 1;
	return true;
}

size_t deft_sup_kill_adopted(struct deft_buf *names, int test_pgrp)
{
	int *pids;
	size_t n = read_children(&pids), killed = 0;
	for (size_t i = 0; i < n; i++) {
		int pid = pids[i];
		if (own(pid))
			continue;
		static char path[64], stat[512];       /* as in read_children */
		const char *comm;
		char state;
		int pgrp;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (!deft_proc_read_small(path, stat, sizeof(stat)) ||
		    !parse_stat(stat, &comm, &state, &pgrp) || state == 'Z' ||
		    pgrp == test_pgrp)
			continue;
		deft_buf_printf(names, "%spid %d (%s, outside the test's "
		                "process group)", names->len ? ", " : "", pid,
		                comm);
		/* A daemon leads a group of its own, with its workers. */
		if (pgrp == pid)
			kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		reap_killed(pid);
		killed++;
	}
	deft_free(pids);
	return killed;
}

void deft_sup_kill_unblamed(int test_pgrp)
{
	struct deft_buf names = DEFT_BUF_INIT;
	/* Killed all the same with -leaks=off, as a test's are. */
	if (deft_sup_kill_adopted(&names, test_pgrp) &&
	    deft_opt.leaks != DEFT_LEAKS_OFF) {
		struct deft_buf note = DEFT_BUF_INIT;
		deft_buf_printf(&note, "deft: tests that ran side by side left "
		                "processes running, now killed: %s\n",
		                names.data);
		deft_report_note(note.data);
		deft_buf_free(&note);
	}
	deft_buf_free(&names);
}

void deft_sup_kill_group(struct child *c)
{
	if (kill(-c->pid, 0) != 0)
		return;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		char path[300], stat[512];
		const char *comm;
		char state;
		int pgrp;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (!deft_proc_read_small(path, stat, sizeof(stat)) ||
		    !parse_stat(stat, &comm, &state, &pgrp) || pgrp != c->pid)
			continue;
		deft_buf_printf(&c->leftovers, "%spid %s (%s)",
		                c->leftovers.len ? ", " : "", e->d_name, comm);
	}
	if (d)
		closedir(d);
	kill(-c->pid, SIGKILL);
}
