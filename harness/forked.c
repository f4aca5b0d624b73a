/*
 * forked.c - processes a test forks.
 *
 * A test may fork (a server to talk to, a helper that must crash) and end
 * the child with exit() or _exit().  Such a child is not the test: deft
 * reports nothing for it when it calls exit() or dies of a signal, and
 * lets it end as it asked.  Two things in it still reach the test:
 *
 *   - a failure (t_error and the like) fails the test too;
 *   - returning from the test's code into deft, which would go on to run
 *     the test's cleanups (removing the parent's t_tempdir), its leak
 *     check and, without isolation, the rest of the run.  deft ends the
 *     child there with _exit(1) and fails the test saying so.
 *
 * With process isolation the child tells the supervisor, over the socket
 * it shares with the test's process.  Without, it leaves word on a page
 * shared with the process that runs the tests, which fails the test the
 * next time code of the test returns to deft.
 *
 * A fork is seen by a pthread_atfork handler, so a child made by a raw
 * clone() is not; deft's own forks (a test's process, a death test's)
 * say that they are deft's with deft_forked_mine().  The handler also
 * has every forked process, deft's or not, let go of the run's report
 * files (deft_report_forked), which the run alone writes.
 */
#include "internal.h"
#include "../reporters/report.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

volatile sig_atomic_t deft_forked;

static const char returned_text[] =
	"deft: a process the test forked returned from the test's code into "
	"deft: deft ended it there with _exit(1), before it ran the test's "
	"cleanups (end a forked process with exit() or _exit())";

/* Without isolation: word from forked processes, each a test's id with
 * RETURNED set if its process returned into deft, else it failed. */
enum { BOARD_WORDS = 64 };
#define RETURNED 0x80000000u
struct board {
	unsigned n;             /* words left, counting those that did not fit */
	unsigned taken;         /* words read by the process running tests */
	unsigned words[BOARD_WORDS];
};
static struct board *board;

static void on_fork_child(void)
{
	deft_forked = 1;
	deft_report_forked();
}

static void watch(void)
{
	pthread_atfork(NULL, NULL, on_fork_child);
	void *p = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	board = p == MAP_FAILED ? NULL : p;
}

void deft_forked_watch(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, watch);
}

void deft_forked_mine(void)
{
	deft_forked = 0;
}

/* Leaves word on the board; false if it is full or missing. */
static bool post(unsigned word)
{
	if (board == NULL)
		return false;
	unsigned i = __atomic_fetch_add(&board->n, 1, __ATOMIC_ACQ_REL);
	if (i >= BOARD_WORDS)
		return false;
	__atomic_store_n(&board->words[i], word, __ATOMIC_RELEASE);
	return true;
}

void deft_forked_failed(T *t)
{
	/* Once a process will do without isolation. */
	static pid_t posted;
	if (deft_child_fail(t, "") || posted == getpid())
		return;
	posted = getpid();
	if (!post(t->id))
		fprintf(stderr, "deft: a process the test forked failed it "
		        "(in %s)\n", t->name);
}

void deft_forked_returned(T *t)
{
	fflush(NULL);
	if (!deft_child_fail(t, returned_text) && !post(t->id | RETURNED))
		fprintf(stderr, "%s (in %s)\n", returned_text, t->name);
	_exit(1);
}

void deft_forked_collect(T *t)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	unsigned n = __atomic_load_n(&board->n, __ATOMIC_ACQUIRE);
	unsigned i = __atomic_load_n(&board->taken, __ATOMIC_RELAXED);
	for (; i < n && i < BOARD_WORDS; i++) {
		unsigned word;
		/* Stored just after n was taken: wait for it. */
		while ((word = __atomic_load_n(&board->words[i],
		                               __ATOMIC_ACQUIRE)) == 0)
			sched_yield();
		T *target = t;
		while (target && target->id != (word & ~RETURNED))
			target = target->parent;
		const char *where = target ? "" : " (in one of its subtests, "
		                                  "which has ended)";
		if (target == NULL)
			target = t;
		if (word & RETURNED)
			deft_fail_at(target, NULL, 0, "%s%s", returned_text,
			             where);
		else
			deft_fail_at(target, NULL, 0, "deft: a process the "
			             "test forked failed it%s (without process "
			             "isolation its log is not kept with the "
			             "test's)", where);
	}
	/* Those that did not fit said so on stderr. */
	__atomic_store_n(&board->taken, n, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&mu);
}

bool deft_forked_pending(void)
{
	/* With isolation the supervisor is told instead: the page is not
	 * touched, which would cost each test's process a page fault. */
	return board && !deft_child_isolated() &&
	       __atomic_load_n(&board->n, __ATOMIC_ACQUIRE) !=
	               __atomic_load_n(&board->taken, __ATOMIC_ACQUIRE);
}
