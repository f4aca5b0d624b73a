/*
 * leak_snapshot.h - the process state leak.c compares before and after a
 * top-level test, taken by leak_snapshot.c.
 */
#ifndef DEFT_LEAK_SNAPSHOT_H
#define DEFT_LEAK_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

struct fd_id {
	int fd;
	dev_t dev;
	ino_t ino;
};

struct snapshot {
	struct fd_id *fds;      /* sorted by fd */
	size_t nfds;
	int *tids;              /* sorted */
	size_t ntids;
	int *children;          /* sorted */
	size_t nchildren;
	struct deft_buf env;    /* "k=v\0k=v\0..." in environ's order */
	size_t nenv;
	char *cwd;              /* NULL if it could not be read */
	mode_t umask;
};

/* Takes a snapshot; hint, if not NULL, is an earlier one whose thread
 * list is reused when the threads are still the same. */
void deft_snapshot_take(struct snapshot *s, const struct snapshot *hint);
void deft_snapshot_free(struct snapshot *s);
/* Sets up, once, what a process forked from this one needs to take its
 * own snapshots; the supervisor calls it before it forks, so that each
 * test process does not do it again (a page fault each). */
void deft_snapshot_prepare(void);
/* In a test's process: the descriptor table differs from the runner's,
 * and so will the array that polls it, which the process allocates from
 * its own heap rather than grow the runner's copy (alloc.c). */
void deft_snapshot_forget_runners(void);

/* Reads a small /proc file into buf, without its final newline. */
bool deft_proc_read_small(const char *path, char *buf, size_t size);

/* qsort/bsearch order of ints. */
int deft_cmp_int(const void *a, const void *b);

/* leak.c: forgets the snapshot kept for the next test; the second in a
 * forked child, whose process is another and whose locks may be held by
 * threads that do not exist in it. */
void deft_leak_forget_last(void);
void deft_leak_forget_last_in_child(void);

/* leak.c: under ThreadSanitizer, starts and joins a first thread, once a
 * process, before the first snapshot (see start_runtime_threads); a
 * no-op elsewhere.  The supervisor calls it before it forks, so that test
 * processes inherit it done: creating a process's first thread was a
 * third of a trivial test's cost in one. */
void deft_leak_start_runtime_threads(void);

#endif
