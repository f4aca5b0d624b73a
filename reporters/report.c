/*
 * report.c - fans the run's events out to every reporter.
 *
 * Events are serialised under one lock, so a reporter never sees two at
 * once and a line of output is never split by another test's.
 *
 * The totals count a test's result once its top-level test has ended:
 * a top-level test's failed run that -retries runs again counts in no
 * total, nor do its subtests.  So each open top-level test holds its
 * subtests' results, in the run's index of open tests (tree.h).
 */
#include "report.h"
#include "tree.h"
#include "../harness/buf.h"

#include <pthread.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <unistd.h>

/* What is kept of an open test, after its tree.h node. */
struct open_test {
	unsigned root;                  /* its top-level test's id */
	unsigned retry;                 /* a top-level test's, from its start */
	struct deft_totals counts;      /* a top-level test's subtests' */
	bool midline;                   /* its output ends without '\n' */
	enum deft_stream open_stream;   /* the stream that left it so */
	struct timespec started;        /* CLOCK_MONOTONIC */
};

static struct deft_reporter *reporters;
static struct deft_reporter **last = &reporters;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static struct deft_totals totals;
static struct deft_tree open_tests;

static struct open_test *state(struct deft_node *n)
{
	return deft_node_data(n);
}

static void count(struct deft_totals *t, enum deft_result result)
{
	if (result == DEFT_PASS)
		t->passed++;
	else if (result == DEFT_FAIL)
		t->failed++;
	else
		t->skipped++;
}

static void add_counts(const struct deft_totals *from)
{
	totals.passed += from->passed;
	totals.failed += from->failed;
	totals.skipped += from->skipped;
}

/* Calls r->cb(r, args...) for each reporter that has cb. */
#define EACH(cb, ...)                                                     \
	do {                                                              \
		pthread_mutex_lock(&report_lock);                         \
		for (struct deft_reporter *r = reporters; r; r = r->next) \
			if (r->cb)                                        \
				r->cb(r, __VA_ARGS__);                    \
		pthread_mutex_unlock(&report_lock);                       \
	} while (0)

void deft_report_add(struct deft_reporter *r)
{
	r->next = NULL;
	*last = r;
	last = &r->next;
}

void deft_report_begin(const struct deft_run_info *run)
{
	EACH(begin, run);
}

void deft_report_note(const char *text)
{
	EACH(note, text);
}

void deft_report_start(const struct deft_test_info *test)
{
	EACH(start, test);
	pthread_mutex_lock(&report_lock);
	struct deft_node *n = deft_tree_add(&open_tests, test,
	                                    sizeof(struct open_test));
	state(n)->root = n->parent ? state(n->parent)->root
	                 : test->parent ? test->parent : test->id;
	state(n)->retry = test->retry;
	clock_gettime(CLOCK_MONOTONIC, &state(n)->started);
	pthread_mutex_unlock(&report_lock);
}

void deft_report_pause(unsigned id)
{
	EACH(pause, id);
}

void deft_report_cont(unsigned id)
{
	EACH(cont, id);
}

/* Ends the line the output of test id (o) left open, if it did: every
 * reporter is given the newline as output of the stream that left it
 * open.  Under the lock. */
static void end_line(unsigned id, struct open_test *o)
{
	if (o == NULL || !o->midline)
		return;
	for (struct deft_reporter *r = reporters; r; r = r->next)
		if (r->output)
			r->output(r, id, o->open_stream, "\n", 1);
	o->midline = false;
}

static struct open_test *find_open(unsigned id)
{
	struct deft_node *n = deft_tree_find(&open_tests, id);
	return n ? state(n) : NULL;
}

/* A log line, and the test's end, start a line of their own, even after
 * a printf without a newline. */
void deft_report_output(unsigned id, enum deft_stream stream,
                        const char *text, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&report_lock);
	struct open_test *o = find_open(id);
	if (deft_stream_is_log(stream))
		end_line(id, o);
	for (struct deft_reporter *r = reporters; r; r = r->next)
		if (r->output)
			r->output(r, id, stream, text, n);
	if (o) {
		o->midline = text[n - 1] != '\n';
		o->open_stream = stream;
	}
	pthread_mutex_unlock(&report_lock);
}

void deft_report_end(unsigned id, const struct deft_test_end *end)
{
	pthread_mutex_lock(&report_lock);
	end_line(id, find_open(id));
	pthread_mutex_unlock(&report_lock);
	EACH(end, id, end);
	pthread_mutex_lock(&report_lock);
	/* A test never seen to start counts as a top-level test. */
	struct deft_node *n = deft_tree_find(&open_tests, id);
	struct open_test o = n ? *state(n) : (struct open_test){.root = id};
	if (n)
		deft_tree_remove(&open_tests, n);
	if (o.root != id) {
		struct deft_node *root = deft_tree_find(&open_tests, o.root);
		count(root ? &state(root)->counts : &totals, end->result);
	} else if (!end->retried) {
		add_counts(&o.counts);
		count(&totals, end->result);
		if (end->result == DEFT_PASS && o.retry > 0)
			totals.flaky++;
	}
	pthread_mutex_unlock(&report_lock);
}

/* The newest open test's id and the seconds since it started; 0 if no
 * test is open. */
static unsigned newest_open(double *elapsed)
{
	pthread_mutex_lock(&report_lock);
	struct deft_node *n = open_tests.open;
	unsigned id = n ? n->id : 0;
	if (n && elapsed) {
		struct timespec now, *from = &state(n)->started;
		clock_gettime(CLOCK_MONOTONIC, &now);
		*elapsed = (double)(now.tv_sec - from->tv_sec) +
		           (double)(now.tv_nsec - from->tv_nsec) / 1e9;
	}
	pthread_mutex_unlock(&report_lock);
	return id;
}

char *deft_report_open_name(unsigned id)
{
	pthread_mutex_lock(&report_lock);
	struct deft_node *n = deft_tree_find(&open_tests, id);
	char *name = n ? deft_xstrdup(n->name) : NULL;
	pthread_mutex_unlock(&report_lock);
	return name;
}

unsigned deft_report_newest_open(double *elapsed)
{
	return newest_open(elapsed);
}

struct deft_totals deft_report_totals(void)
{
	pthread_mutex_lock(&report_lock);
	struct deft_totals t = totals;
	pthread_mutex_unlock(&report_lock);
	return t;
}

/* Counts what the top-level tests that never ended hold. */
static void count_held(void)
{
	for (struct deft_node *n = open_tests.open; n; n = n->next)
		if (state(n)->root == n->id) {
			add_counts(&state(n)->counts);
			state(n)->counts = (struct deft_totals){0, 0, 0, 0};
		}
}

/* Reporters let go of: the runner's, in a test's process or a process a
 * test forked, kept, not freed, since freeing would close (so flush)
 * streams the runner still writes; and those of a finished run.  Kept in
 * sight too, or LeakSanitizer would blame them on a test that calls
 * exit(). */
static struct deft_reporter *volatile dropped, *volatile forked_off,
                            *volatile finished;
/* The runner's open tests, in a test's process; volatile, or a compiler
 * drops a store that is never read, and LeakSanitizer with it. */
static volatile struct deft_tree forgotten_tests;

void deft_report_reset(void)
{
	dropped = reporters;
	reporters = NULL;
	last = &reporters;
	totals = (struct deft_totals){0, 0, 0, 0};
	/* The runner's tests, in its own heap, which this process has not
	 * got (alloc.c): forgotten, not walked. */
	forgotten_tests = open_tests;
	open_tests = (struct deft_tree){NULL, NULL, 0, 0};
}

void deft_report_forked(void)
{
	/* A thread that held the lock at the fork did not cross it. */
	report_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	struct deft_reporter **p = &reporters;
	while (*p) {
		struct deft_reporter *r = *p;
		if (r->forked && !r->forked(r)) {
			*p = r->next;
			r->next = forked_off;
			forked_off = r;
		} else
			p = &r->next;
	}
	last = p;
}

void deft_report_drop_stream(FILE *out)
{
	/* Neither is a write: the buffer, emptied, has nothing for exit()
	 * to flush, and the descriptor is the process's copy.  Not fclose,
	 * which would wait on the stream's lock, which a thread that did
	 * not cross the fork may hold. */
	__fpurge(out);
	close(fileno(out));
}

FILE *deft_report_fdopen(int fd)
{
	FILE *f = fdopen(fd, "w");
	/* A first write takes the buffer, sized and line-buffered or not
	 * as the descriptor wants; the byte is taken back unwritten. */
	if (f && fputc('-', f) != EOF)
		__fpurge(f);
	return f;
}

int deft_report_fclose(FILE *out)
{
	if (!deft_avoiding_malloc())
		return fclose(out);
	int rc = fflush(out);
	return close(fileno(out)) == 0 ? rc : EOF;
}

bool deft_report_finish(void)
{
	bool ok = true;
	pthread_mutex_lock(&report_lock);
	count_held();
	for (struct deft_reporter *r = reporters; r; r = r->next)
		if (r->finish && !r->finish(r, &totals))
			ok = false;
	/* Done: a thread still running (beside a crash, say) reports to
	 * no one now. */
	finished = reporters;
	reporters = NULL;
	last = &reporters;
	pthread_mutex_unlock(&report_lock);
	return ok;
}
