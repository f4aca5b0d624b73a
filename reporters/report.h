/*
 * report.h - what the harness tells reporters about a run.
 *
 * A run is a stream of events: a test starts, writes output, ends with a
 * result.  Tests are named by an id unique in the run, and by the id of their
 * parent (0 for a top-level test), so that a reporter can rebuild the tree
 * without seeing struct T; the same events can later cross a pipe.
 */
#ifndef DEFT_REPORT_H
#define DEFT_REPORT_H

#include <stdbool.h>
#include <stddef.h>

enum deft_result { DEFT_PASS, DEFT_FAIL, DEFT_SKIP };

struct deft_totals {
	unsigned long passed;
	unsigned long failed;
	unsigned long skipped;
};

struct deft_reporter {
	/* A line about the run itself, not about a test ("-shuffle 42"). */
	void (*note)(struct deft_reporter *r, const char *text);
	void (*start)(struct deft_reporter *r, unsigned id, unsigned parent,
	              const char *name);
	/* Output of a test: whole lines, already indented as Go does. */
	void (*output)(struct deft_reporter *r, unsigned id, const char *text,
	               size_t n);
	void (*end)(struct deft_reporter *r, unsigned id,
	            enum deft_result result, double elapsed);
	void (*finish)(struct deft_reporter *r, const struct deft_totals *tot);
	struct deft_reporter *next;
};

/* Adds a reporter to the run; events go to each in the order added. */
void deft_report_add(struct deft_reporter *r);

void deft_report_note(const char *text);
void deft_report_start(unsigned id, unsigned parent, const char *name);
void deft_report_output(unsigned id, const char *text, size_t n);
void deft_report_end(unsigned id, enum deft_result result, double elapsed);
void deft_report_finish(const struct deft_totals *tot);

/* The console reporter: Go's format, verbose or not, on stdout. */
struct deft_reporter *deft_console_new(bool verbose, bool colour);
#endif
