/*
 * report.c - fans the run's events out to every reporter.
 *
 * Events are serialised under one lock, so a reporter never sees two at
 * once and a line of output is never split by another test's.
 */
#include "report.h"

#include <pthread.h>

static struct deft_reporter *reporters;
static struct deft_reporter **last = &reporters;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static struct deft_totals totals;

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
	if (end->result == DEFT_PASS)
		totals.passed++;
	else if (end->result == DEFT_FAIL)
		totals.failed++;
	else
		totals.skipped++;
	pthread_mutex_unlock(&report_lock);
}

struct deft_totals deft_report_totals(void)
{
	pthread_mutex_lock(&report_lock);
	struct deft_totals t = totals;
	pthread_mutex_unlock(&report_lock);
	return t;
}

void deft_report_reset(void)
{
	reporters = NULL;
	last = &reporters;
	totals = (struct deft_totals){0, 0, 0};
}

bool deft_report_finish(void)
{
	bool ok = true;
	pthread_mutex_lock(&report_lock);
	for (struct deft_reporter *r = reporters; r; r = r->next)
		if (r->finish && !r->finish(r, &totals))
			ok = false;
	pthread_mutex_unlock(&report_lock);
	return ok;
}
