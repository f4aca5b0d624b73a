/*
 * json.c - the test2json event stream of `go test -json`.
 *
 * One JSON object per line: {"Time", "Action", "Package", "Test",
 * "Elapsed", "Output"}.  As go test -json does, the stream carries the
 * -v console text as "output" events ("=== RUN", logs, "--- PASS") around
 * the run/pause/cont/pass/fail/skip actions, and ends with the package's
 * own result.  What the consumers were measured to need (DESIGN.md 10):
 * every line is a whole object, lines stay under 65,535 bytes (long
 * output is split over several events), Time is RFC 3339 with a zone, and
 * a parent's "run" comes before its subtests' events and its result after
 * them (subtests left open by a crash are ended first).
 *
 * The stream goes to a private duplicate of the fd given, taken when the
 * run begins, so a test writing to its stdout can never break a line.
 * Nothing is kept but the open tests' names: memory does not grow with
 * the number of tests.
 */
#include "report.h"
#include "escape.h"
#include "tree.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* gotestsum gives up on lines over 65,535 bytes: an output event is cut
 * when its line reaches this many (plus one character and the closing
 * "}\n"), whatever the length of the test's name up to that. */
#define OUTPUT_BUDGET 48000

struct json {
	struct deft_reporter r;
	int fd;                 /* as given; duplicated at begin */
	FILE *out;
	char *package;
	char *package_json;     /* ,"Package":"..." as written in events */
	struct deft_tree tree;
	struct timespec started; /* CLOCK_MONOTONIC */
	struct deft_buf line;
	bool write_failed;
	bool fail_on_flaky;
	time_t second;          /* the second whose text is in stamp */
	char stamp[32];         /* "2006-01-02T15:04:05", UTC */
};

/* Appends the time now in RFC 3339, formatting the date only when the
 * second changes (events come thousands a second). */
static void put_time(struct json *j)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != j->second || j->stamp[0] == '\0') {
		struct tm tm;
		gmtime_r(&now.tv_sec, &tm);
		strftime(j->stamp, sizeof(j->stamp), "%Y-%m-%dT%H:%M:%S",
		         &tm);
		j->second = now.tv_sec;
	}
	deft_buf_printf(&j->line, "%s.%09ldZ", j->stamp, (long)now.tv_nsec);
}

/* A test's ,"Test":"name", kept with its node (see json_start). */
static const char *test_json(const struct deft_node *n)
{
	return *(char *const *)(n + 1);
}

/* Starts a line: {"Time":...,"Action":...,"Package":...[,"Test":...] */
static void open_event(struct json *j, const char *action,
                       const struct deft_node *test)
{
	j->line.len = 0;
	deft_buf_puts(&j->line, "{\"Time\":\"");
	put_time(j);
	deft_buf_puts(&j->line, "\",\"Action\":\"");
	deft_buf_puts(&j->line, action);
	deft_buf_puts(&j->line, j->package_json);
	if (test)
		deft_buf_puts(&j->line, test_json(test));
}

static void close_event(struct json *j)
{
	deft_buf_puts(&j->line, "}\n");
	if (j->out && fwrite(j->line.data, 1, j->line.len, j->out) !=
	                      j->line.len)
		j->write_failed = true;
}

/* An action with an elapsed time (pass, fail, skip), or without (< 0). */
static void action(struct json *j, const char *what,
                   const struct deft_node *test, double elapsed)
{
	open_event(j, what, test);
	if (elapsed >= 0)
		deft_buf_printf(&j->line, ",\"Elapsed\":%.3f", elapsed);
	close_event(j);
}

/* Output events for text: one per line, as test2json makes them, and a
 * long line split over as many events as it takes. */
static void output(struct json *j, const struct deft_node *test,
                   const char *text, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(text, '\n', n);
		size_t len = nl ? (size_t)(nl - text) + 1 : n;
		while (len > 0) {
			open_event(j, "output", test);
			deft_buf_puts(&j->line, ",\"Output\":\"");
			size_t room = j->line.len < OUTPUT_BUDGET
			                      ? OUTPUT_BUDGET - j->line.len
			                      : 1;
			size_t used = deft_json_escape(&j->line, text, len,
			                               room);
			deft_buf_putc(&j->line, '"');
			close_event(j);
			text += used;
			n -= used;
			len -= used;
		}
	}
}

static void outputf(struct json *j, const struct deft_node *test,
                    const char *fmt, ...) DEFT_FMT(3, 4);
static void outputf(struct json *j, const struct deft_node *test,
                    const char *fmt, ...)
{
	struct deft_buf b = DEFT_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	deft_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	output(j, test, b.data, b.len);
	deft_buf_free(&b);
}

static void json_begin(struct deft_reporter *r,
                       const struct deft_run_info *run)
{
	struct json *j = (struct json *)r;
	deft_free(j->package);
	j->package = deft_xstrdup(run->program);
	j->fail_on_flaky = run->fail_on_flaky;
	struct deft_buf b = DEFT_BUF_INIT;
	deft_buf_puts(&b, "\",\"Package\":");
	deft_json_string(&b, j->package);
	j->package_json = deft_buf_take(&b);
	clock_gettime(CLOCK_MONOTONIC, &j->started);
	int fd = fcntl(j->fd, F_DUPFD_CLOEXEC, 3);
	j->out = fd >= 0 ? deft_report_fdopen(fd) : NULL;
	if (j->out == NULL) {
		if (fd >= 0)
			close(fd);
		j->write_failed = true;
		perror("deft: -json: cannot duplicate the output");
		return;
	}
	action(j, "start", NULL, -1);   /* as go test -json does since 1.20 */
}

static void json_note(struct deft_reporter *r, const char *text)
{
	struct json *j = (struct json *)r;
	output(j, NULL, text, strlen(text));
}

static void json_start(struct deft_reporter *r,
                       const struct deft_test_info *test)
{
	struct json *j = (struct json *)r;
	struct deft_node *n = deft_tree_add(&j->tree, test, sizeof(char *));
	struct deft_buf b = DEFT_BUF_INIT;   /* ,"Test":"..." */
	deft_buf_puts(&b, ",\"Test\":");
	deft_json_string(&b, n->name);
	*(char **)deft_node_data(n) = deft_buf_take(&b);
	action(j, "run", n, -1);
	outputf(j, n, "=== RUN   %s\n", n->name);
}

static void json_pause(struct deft_reporter *r, unsigned id)
{
	struct json *j = (struct json *)r;
	struct deft_node *n = deft_tree_find(&j->tree, id);
	if (n == NULL)
		return;
	outputf(j, n, "=== PAUSE %s\n", n->name);
	action(j, "pause", n, -1);
}

static void json_cont(struct deft_reporter *r, unsigned id)
{
	struct json *j = (struct json *)r;
	struct deft_node *n = deft_tree_find(&j->tree, id);
	if (n == NULL)
		return;
	outputf(j, n, "=== CONT  %s\n", n->name);
	action(j, "cont", n, -1);
}

static void json_output(struct deft_reporter *r, unsigned id,
                        enum deft_stream stream, const char *text, size_t n)
{
	struct json *j = (struct json *)r;
	(void)stream;
	output(j, deft_tree_find(&j->tree, id), text, n);
}

static const char *const words[] = {"PASS", "FAIL", "SKIP"};
static const char *const actions[] = {"pass", "fail", "skip"};

static void end_node(struct json *j, struct deft_node *n,
                     const struct deft_test_end *end)
{
	struct deft_node *child;
	while ((child = deft_tree_open_child(&j->tree, n)) != NULL)
		end_node(j, child, &deft_orphan_end);
	enum deft_result res = end->result;
	if ((unsigned)res > DEFT_SKIP)
		res = DEFT_FAIL;
	const char *how = deft_ending_word(end->ending);
	if (how)
		outputf(j, n, "%*s    deft: test %s%s%s\n", 4 * n->depth, "",
		        how, end->detail ? ": " : "",
		        end->detail ? end->detail : "");
	if (end->retried)
		outputf(j, n, "    deft: %s failed; it runs again (-retries)\n",
		        n->name);
	outputf(j, n, "%*s--- %s: %s (%.2fs)\n", 4 * n->depth, "",
	        words[res], n->name, end->elapsed);
	action(j, actions[res], n, end->elapsed);
	if (n->parent == NULL && j->out && fflush(j->out) != 0)
		j->write_failed = true;   /* readers see each test as it ends */
	deft_free(*(char **)deft_node_data(n));
	deft_tree_remove(&j->tree, n);
}

static void json_end(struct deft_reporter *r, unsigned id,
                     const struct deft_test_end *end)
{
	struct json *j = (struct json *)r;
	struct deft_node *n = deft_tree_find(&j->tree, id);
	if (n)
		end_node(j, n, end);
}

static bool json_finish(struct deft_reporter *r,
                        const struct deft_totals *tot)
{
	struct json *j = (struct json *)r;
	/* Tests never ended (an interrupted run): end them, oldest last. */
	while (j->tree.open) {
		struct deft_node *top = j->tree.open;
		while (top->parent)
			top = top->parent;
		struct deft_test_end end = {DEFT_FAIL, DEFT_INTERRUPTED,
		                            "the run ended before it", 0.0,
		                            false};
		end_node(j, top, &end);
	}
	double elapsed = 0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed = (double)(now.tv_sec - j->started.tv_sec) +
	          (double)(now.tv_nsec - j->started.tv_nsec) / 1e9;
	bool failed = tot->failed > 0 || (j->fail_on_flaky && tot->flaky);
	if (tot->passed + tot->failed + tot->skipped == 0)
		output(j, NULL, "testing: warning: no tests to run\n", 34);
	outputf(j, NULL, "%s\n", failed ? "FAIL" : "PASS");
	outputf(j, NULL, "%s\t%s\t%.3fs\n", failed ? "FAIL" : "ok  ",
	        j->package, elapsed);
	action(j, failed ? "fail" : "pass", NULL, elapsed);
	bool ok = !j->write_failed;
	if (j->out && deft_report_fclose(j->out) != 0)
		ok = false;
	j->out = NULL;
	if (!ok)
		fputs("deft: -json: could not write the event stream\n",
		      stderr);
	deft_free(j->package);
	j->package = NULL;
	deft_free(j->package_json);
	j->package_json = NULL;
	deft_buf_free(&j->line);
	return ok;
}

static bool json_forked(struct deft_reporter *r)
{
	struct json *j = (struct json *)r;
	if (j->out)
		deft_report_drop_stream(j->out);
	return false;
}

struct deft_reporter *deft_json_new(int fd)
{
	struct json *j = deft_xcalloc(1, sizeof(*j));
	j->r.begin = json_begin;
	j->r.note = json_note;
	j->r.start = json_start;
	j->r.pause = json_pause;
	j->r.cont = json_cont;
	j->r.output = json_output;
	j->r.end = json_end;
	j->r.finish = json_finish;
	j->r.forked = json_forked;
	j->fd = fd;
	return &j->r;
}
