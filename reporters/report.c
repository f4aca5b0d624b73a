/*
 * report.c - fans the run's events out to every reporter.
 *
 * Events are serialised under one lock, so a reporter never sees two at
 * once and a line of output is never split by another test's.
 *
 * The totals count a test's result once its top-level test has ended:
 * a top-level test's failed run that -retries runs again counts in no
 * total, nor do its subtests.  So the results of the open tests are held
 * by top-level test, and each open test's top-level test is kept in a
 * small hash table by id.
 */
#include "report.h"
#include "../harness/buf.h"

#include <pthread.h>
#include <stdlib.h>

struct open_entry {
	unsigned id;
	unsigned root;                  /* its top-level test's id */
	unsigned retry;                 /* a top-level test's, from its start */
	struct open_entry *next;        /* in its bucket */
};

/* The results held for an open top-level test. */
struct held {
	unsigned root;
	struct deft_totals counts;
	struct held *next;
};

static struct deft_reporter *reporters;
static struct deft_reporter **last = &reporters;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static struct deft_totals totals;
static struct open_entry **buckets;     /* a power of two of them */
static size_t nbuckets, nopen;
static struct held *held;

static struct open_entry **bucket_of(unsigned id)
{
	return &buckets[(id * 2654435761u) & (nbuckets - 1)];
}

/* Remembers that test id, of top-level test root, is open. */
static void open_add(unsigned id, unsigned root, unsigned retry)
{
	if (nopen + 1 > nbuckets) {
		size_t n = nbuckets ? nbuckets * 4 : 64;
		struct open_entry **old = buckets;
		size_t old_n = nbuckets;
		buckets = deft_xcalloc(n, sizeof(*buckets));
		nbuckets = n;
		for (size_t i = 0; i < old_n; i++)
			while (old[i]) {
				struct open_entry *e = old[i];
				old[i] = e->next;
				struct open_entry **b = bucket_of(e->id);
				e->next = *b;
				*b = e;
			}
		free(old);
	}
	struct open_entry *e = deft_xcalloc(1, sizeof(*e));
	e->id = id;
	e->root = root;
	e->retry = retry;
	struct open_entry **b = bucket_of(id);
	e->next = *b;
	*b = e;
	nopen++;
}

/* Forgets open test id; returns what was kept of it (its own top-level
 * test, not a retry, for a test never seen to start). */
static struct open_entry open_remove(unsigned id)
{
	struct open_entry found = {id, id, 0, NULL};
	if (nbuckets == 0)
		return found;
	for (struct open_entry **p = bucket_of(id); *p; p = &(*p)->next)
		if ((*p)->id == id) {
			struct open_entry *e = *p;
			found = *e;
			*p = e->next;
			free(e);
			nopen--;
			break;
		}
	return found;
}

static unsigned root_of(unsigned id)
{
	if (nbuckets == 0)
		return id;
	for (struct open_entry *e = *bucket_of(id); e; e = e->next)
		if (e->id == id)
			return e->root;
	return id;
}

static struct held *held_for(unsigned root)
{
	for (struct held *h = held; h; h = h->next)
		if (h->root == root)
			return h;
	struct held *h = deft_xcalloc(1, sizeof(*h));
	h->root = root;
	h->next = held;
	held = h;
	return h;
}

/* Takes the results held for root out of the list; NULL if none. */
static struct held *held_take(unsigned root)
{
	for (struct held **p = &held; *p; p = &(*p)->next)
		if ((*p)->root == root) {
			struct held *h = *p;
			*p = h->next;
			return h;
		}
	return NULL;
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
	open_add(test->id, test->parent ? root_of(test->parent) : test->id,
	         test->retry);
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

void deft_report_output(unsigned id, enum deft_stream stream,
                        const char *text, size_t n)
{
	EACH(output, id, stream, text, n);
}

void deft_report_end(unsigned id, const struct deft_test_end *end)
{
	EACH(end, id, end);
	pthread_mutex_lock(&report_lock);
	struct open_entry e = open_remove(id);
	if (e.root != id) {
		count(&held_for(e.root)->counts, end->result);
	} else {
		struct held *h = held_take(id);
		if (!end->retried) {
			if (h)
				add_counts(&h->counts);
			count(&totals, end->result);
			if (end->result == DEFT_PASS && e.retry > 0)
				totals.flaky++;
		}
		free(h);
	}
	pthread_mutex_unlock(&report_lock);
}

struct deft_totals deft_report_totals(void)
{
	pthread_mutex_lock(&report_lock);
	struct deft_totals t = totals;
	pthread_mutex_unlock(&report_lock);
	return t;
}

/* Counts what is held for tests that never ended. */
static void count_held(void)
{
	while (held) {
		struct held *h = held;
		held = h->next;
		add_counts(&h->counts);
		free(h);
	}
}

void deft_report_reset(void)
{
	reporters = NULL;
	last = &reporters;
	count_held();   /* frees them */
	totals = (struct deft_totals){0, 0, 0, 0};
	for (size_t i = 0; i < nbuckets; i++)
		while (buckets[i]) {
			struct open_entry *e = buckets[i];
			buckets[i] = e->next;
			free(e);
		}
	nopen = 0;
}

bool deft_report_finish(void)
{
	bool ok = true;
	pthread_mutex_lock(&report_lock);
	count_held();
	for (struct deft_reporter *r = reporters; r; r = r->next)
		if (r->finish && !r->finish(r, &totals))
			ok = false;
	pthread_mutex_unlock(&report_lock);
	return ok;
}
