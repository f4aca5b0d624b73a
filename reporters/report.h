/*
 * report.h - what the harness tells reporters about a run.
 *
 * A run is a stream of events: the run begins, tests start, write output,
 * pause and continue (parallel subtests), and end; the run finishes.
 * Tests are named by an id unique in the run and by the id of their parent
 * (0 for a top-level test), so that a reporter can rebuild the tree without
 * seeing struct T; the same events cross the pipe from an isolated test's
 * process to the supervisor.  Events reach reporters one at a time, under
 * one lock, in the order they happened; a parent's start comes before its
 * subtests' events and its end after them.
 */
#ifndef DEFT_REPORT_H
#define DEFT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum deft_result { DEFT_PASS, DEFT_FAIL, DEFT_SKIP };

/* How a test ended, beyond its result. */
enum deft_ending {
	DEFT_ENDED,             /* returned, or stopped by t_fatal/t_skip */
	DEFT_CRASHED,           /* signal, exit() or abort() in its process */
	DEFT_TIMED_OUT,         /* stopped at its deadline */
	DEFT_INTERRUPTED,       /* the run was interrupted (SIGINT/SIGTERM) */
};

/* Where a piece of a test's output comes from. */
enum deft_stream {
	DEFT_STREAM_LOG,        /* t_log, harness notes: lines in Go's layout */
	DEFT_STREAM_STDOUT,     /* the test's own stdout, when captured */
	DEFT_STREAM_STDERR,     /* the test's own stderr, when captured */
	DEFT_STREAM_REASON,     /* log lines that say why the test fails or
	                         * skips: a failure, t_skip's message */
};

/* Whether stream carries log lines (in Go's layout), not captured output. */
static inline bool deft_stream_is_log(enum deft_stream stream)
{
	return stream == DEFT_STREAM_LOG || stream == DEFT_STREAM_REASON;
}

struct deft_run_info {
	int argc;
	char **argv;            /* the command line, for properties */
	const char *program;    /* argv[0]'s base name */
	bool shuffle;
	uint64_t seed;
	struct timespec started;        /* CLOCK_REALTIME */
	bool fail_on_flaky;     /* a test passed on a retry fails the run */
	long retries;           /* -retries: runs again of a failed test */
};

struct deft_test_info {
	unsigned id;
	unsigned parent;        /* 0 for a top-level test */
	const char *name;       /* full name, "top/sub" */
	const char *file;       /* where TEST() is, for top-level tests; */
	int line;               /* NULL and 0 for subtests */
	unsigned retry;         /* top-level tests: 0, or N for the Nth
	                         * run again after a failure (-retries) */
};

struct deft_test_end {
	enum deft_result result;
	enum deft_ending ending;
	/* what follows "test <ending>: " in the reports, so not the
	 * ending again: "SIGSEGV (Segmentation fault)", "after 2s";
	 * NULL if nothing more */
	const char *detail;
	double elapsed;         /* seconds */
	/* top-level tests: this failed run will be followed by another
	 * (-retries); it and its subtests count in no total */
	bool retried;
};

struct deft_totals {
	unsigned long passed;
	unsigned long failed;
	unsigned long skipped;
	unsigned long flaky;    /* top-level tests passed on a retry */
};

/* A reporter; any callback may be NULL. */
struct deft_reporter {
	void (*begin)(struct deft_reporter *r, const struct deft_run_info *run);
	/* A line about the run itself, not about a test ("-shuffle 42"). */
	void (*note)(struct deft_reporter *r, const char *text);
	void (*start)(struct deft_reporter *r,
	              const struct deft_test_info *test);
	void (*pause)(struct deft_reporter *r, unsigned id);
	void (*cont)(struct deft_reporter *r, unsigned id);
	/* Output of a test.  Logs come as whole lines, indented as Go does;
	 * captured stdout and stderr come as they were read. */
	void (*output)(struct deft_reporter *r, unsigned id,
	               enum deft_stream stream, const char *text, size_t n);
	void (*end)(struct deft_reporter *r, unsigned id,
	            const struct deft_test_end *end);
	/* The run is over: write and close whatever the reporter writes.
	 * Returns false when it could not (the run then exits non-zero). */
	bool (*finish)(struct deft_reporter *r, const struct deft_totals *tot);
	/* In a process just forked from the run's, the only thread there:
	 * let go of the file written to without writing to it, so that the
	 * process cannot repeat what the run had not yet written (exit()
	 * flushes stdio) nor write into it.  Returns whether the reporter
	 * stays in that process (the console, on the process's own stdout);
	 * no other callback of one that does not is called there.  NULL
	 * for a reporter that keeps nothing of the run's open. */
	bool (*forked)(struct deft_reporter *r);
	struct deft_reporter *next;
};

/* Adds a reporter to the run; events go to each in the order added. */
void deft_report_add(struct deft_reporter *r);

void deft_report_begin(const struct deft_run_info *run);
void deft_report_note(const char *text);
void deft_report_start(const struct deft_test_info *test);
void deft_report_pause(unsigned id);
void deft_report_cont(unsigned id);
void deft_report_output(unsigned id, enum deft_stream stream,
                        const char *text, size_t n);
/* Reports a test's end, and counts its result in the run's totals. */
void deft_report_end(unsigned id, const struct deft_test_end *end);
/* A copy of the full name of open test id, or NULL if it is not open. */
char *deft_report_open_name(unsigned id);
/* The test started last of those open, 0 if none is, and the seconds
 * since it started in *elapsed (unless NULL).  Ending each in turn ends
 * every subtest before its parent: for a run that ends before its tests
 * do. */
unsigned deft_report_newest_open(double *elapsed);
/* Tells every reporter the run is over, with the totals counted so far,
 * and lets them go: what is reported after that goes nowhere.  Returns
 * false when a reporter failed to write its output. */
bool deft_report_finish(void);
struct deft_totals deft_report_totals(void);
/* Forgets every reporter and the totals: for a test's own process, which
 * reports to its supervisor instead. */
void deft_report_reset(void);
/* In a process just forked (by deft or by a test), the only thread there:
 * has each reporter let go of what it writes to (its forked callback) and
 * drops those that write files, and makes the run's lock usable again. */
void deft_report_forked(void);
/* For a forked callback: lets go of out without writing what its buffer
 * holds; the FILE stays allocated, and can write nothing. */
void deft_report_drop_stream(FILE *out);
/* fdopen(fd, "w") for a report, its buffer taken at once; NULL if fdopen
 * fails.  A crash may be malloc's, which the first write into a stream
 * would call, and after one the reports are still written (run_crash.c). */
FILE *deft_report_fdopen(int fd);
/* fclose for a report's stream; after a crash, flushes and closes the
 * descriptor but keeps the FILE, as freeing it would call free. */
int deft_report_fclose(FILE *out);

/* The console reporter: Go's format, verbose or not, on stdout; with
 * own_stdout (tests run in the runner's process) on a copy of stdout
 * taken at begin, and in a process forked from the run's on its own. */
struct deft_reporter *deft_console_new(bool verbose, bool colour,
                                       bool own_stdout);

/* The file formats.  Each closes subtests still open when their parent
 * ends, and tests still open at finish, as crashed/interrupted; after
 * finish each holds no memory but its own struct, which may be free()d.
 *
 * The test2json stream of go test -json (json.c), and TAP 14 (tap.c),
 * written to a duplicate of fd taken when the run begins: */
struct deft_reporter *deft_json_new(int fd);
struct deft_reporter *deft_tap_new(int fd);
/* JUnit XML (junit.c), written to a temporary file next to path (made
 * now, and the directories missing above it) and renamed to path when
 * the run finishes; NULL, said on stderr, if that file cannot be made: */
struct deft_reporter *deft_junit_new(const char *path);
#endif
