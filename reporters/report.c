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

#define EACH(r) for (struct deft_reporter *r = reporters; r; r = r->next)

void deft_report_add(struct deft_reporter *r)
{
	r->next = NULL;
	*last = r;
	last = &r->next;
}

void deft_report_note(const char *text)
{
	pthread_mutex_lock(&report_lock);
	EACH(r) if (r->note) r->note(r, text);
	pthread_mutex_unlock(&report_lock);
}

void deft_report_start(unsigned id, unsigned parent, const char *name)
{
	pthread_mutex_lock(&report_lock);
	EACH(r) r->start(r, id, parent, name);
	pthread_mutex_unlock(&report_lock);
}

void deft_report_output(unsigned id, const char *text, size_t n)
{
	pthread_mutex_lock(&report_lock);
	EACH(r) r->output(r, id, text, n);
	pthread_mutex_unlock(&report_lock);
}

void deft_report_end(unsigned id, enum deft_result result, double elapsed)
{
	pthread_mutex_lock(&report_lock);
	EACH(r) r->end(r, id, result, elapsed);
	pthread_mutex_unlock(&report_lock);
}

void deft_report_finish(const struct deft_totals *tot)
{
	pthread_mutex_lock(&report_lock);
	EACH(r) r->finish(r, tot);
	pthread_mutex_unlock(&report_lock);
}
