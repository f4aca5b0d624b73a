/*
 * console.c - Go's console format.
 *
 * With -v:  "=== RUN   name" when a test starts, its log lines as they
 * come, and "--- PASS: name (0.01s)" when it ends.  Without -v only failures
 * are printed, each result line followed by the test's logs.  As in Go, a
 * subtest's result line is kept with its parent and printed, indented one
 * level, after the parent's own result line; logs are indented by depth.
 *
 * Open tests are kept in a tree.h index by id: a test with thousands of
 * parallel subtests has them all open at once.
 *
 * Before the summary, each test that failed while none of its subtests
 * did is named in the command that runs it alone: the program as it was
 * invoked, with a -run pattern anchored and escaped level by level.  A
 * failed run that -retries runs again says so; the tests that passed on
 * a retry are listed as flaky.
 */
#include "report.h"
#include "held.h"
#include "tree.h"
#include "../harness/buf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { RERUNS_SHOWN = 10 };

/* What the console keeps of an open test, after its tree.h node. */
struct open_test {
	struct deft_held out;         /* held back for the result line */
	bool failed_subtest;          /* a subtest of it failed */
	unsigned retry;               /* a top-level test's, from its start */
};

static struct open_test *state(struct deft_node *n)
{
	return deft_node_data(n);
}

/* A list of test names. */
struct names {
	char **v;
	size_t n, cap;
};

static void names_add(struct names *l, const char *name)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = deft_xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = deft_xstrdup(name);
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		deft_free(l->v[i]);
	deft_free(l->v);
	*l = (struct names){NULL, 0, 0};
}

struct console {
	struct deft_reporter r;
	bool verbose;
	bool colour;
	struct deft_tree tree;
	unsigned last;                /* the test -v printed a line of last */
	bool midline;                 /* output so far ends without '\n' */
	char *program;                /* argv[0], shell-quoted */
	bool fail_on_flaky;
	struct names failed;          /* to run alone, in order */
	struct names flaky;           /* passed on a retry */
	bool own_stdout;              /* tests share the runner's stdout */
	FILE *out;                    /* stdout, or a copy if own_stdout */
};

/* Where the console writes.  Without isolation it is a copy of stdout
 * taken when the run begins, so that a test that closes or redirects its
 * stdout (fclose, freopen, dup2) does not take the report with it; what
 * the runner's process printed to stdout goes out first, to keep the
 * order the two were written in.  (With isolation the tests have stdouts
 * of their own: a copy would only be one more descriptor for each test's
 * process to let go of.) */
static FILE *out(struct console *c)
{
	fflush(stdout);
	return c->out;
}

/* Appends s to b in single quotes if the shell would read it otherwise. */
static void shell_quote(struct deft_buf *b, const char *s)
{
	if (s[0] != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                        "_-+./,:@%=") == strlen(s)) {
		deft_buf_puts(b, s);
		return;
	}
	deft_buf_putc(b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			deft_buf_puts(b, "'\\''");
		else
			deft_buf_putc(b, *s);
	deft_buf_putc(b, '\'');
}

/* The -run pattern that selects exactly the test named name ("a/b"):
 * each level anchored, with what regular expressions treat specially
 * escaped. */
static void run_pattern(struct deft_buf *b, const char *name)
{
	deft_buf_putc(b, '^');
	for (const char *p = name; *p; p++) {
		if (*p == '/')
			deft_buf_puts(b, "$/^");
		else {
			if (strchr(".[]()*+?{}|^$\\", *p))
				deft_buf_putc(b, '\\');
			deft_buf_putc(b, *p);
		}
	}
	deft_buf_putc(b, '$');
}

/* Notes that test o failed, for the commands printed before the summary:
 * only tests none of whose subtests failed. */
static void note_failure(struct console *c, struct deft_node *o)
{
	if (o->parent)
		state(o->parent)->failed_subtest = true;
	/* The run's own cleanups (t_main_cleanup) are no test to select. */
	if (state(o)->failed_subtest ||
	    (o->parent == NULL && strcmp(o->name, "t_main_cleanup") == 0))
		return;
	names_add(&c->failed, o->name);
}

/* Forgets the failures of top-level test name's run: it runs again. */
static void forget_failures(struct console *c, const char *name)
{
	size_t len = strlen(name), kept = 0;
	for (size_t i = 0; i < c->failed.n; i++) {
		const char *f = c->failed.v[i];
		if (strncmp(f, name, len) == 0 &&
		    (f[len] == '\0' || f[len] == '/'))
			deft_free(c->failed.v[i]);
		else
			c->failed.v[kept++] = c->failed.v[i];
	}
	c->failed.n = kept;
}

/* Prints the command that runs each failed test alone: the first
 * RERUNS_SHOWN of them, each once. */
static void print_reruns(struct console *c)
{
	if (c->failed.n == 0 || c->program == NULL)
		return;
	fputs("to run a failed test alone (with -isolation none under a "
	      "debugger):\n", out(c));
	size_t shown = 0, i = 0;
	for (; i < c->failed.n && shown < RERUNS_SHOWN; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(c->failed.v[k], c->failed.v[i]) == 0;
		if (seen)
			continue;
		struct deft_buf line = DEFT_BUF_INIT, pattern = DEFT_BUF_INIT;
		run_pattern(&pattern, c->failed.v[i]);
		deft_buf_printf(&line, "    %s -run ", c->program);
		shell_quote(&line, pattern.data);
		deft_buf_putc(&line, '\n');
		fputs(line.data, out(c));
		deft_buf_free(&line);
		deft_buf_free(&pattern);
		shown++;
	}
	if (i < c->failed.n)
		fprintf(out(c), "    (and %zu more)\n", c->failed.n - i);
}

/* Ends a line a test's output left open, so deft's own lines start on
 * a line of their own. */
static void end_line(struct console *c)
{
	if (c->midline) {
		fputc('\n', out(c));
		fflush(c->out);
	}
	c->midline = false;
}

static struct deft_node *find(struct console *c, unsigned id)
{
	return deft_tree_find(&c->tree, id);
}

static void console_begin(struct deft_reporter *r,
                          const struct deft_run_info *run)
{
	struct console *c = (struct console *)r;
	int fd = c->own_stdout ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3) : -1;
	c->out = fd >= 0 ? deft_report_fdopen(fd) : NULL;
	if (c->out == NULL) {
		/* No stdout to copy: its writes fail, and the run says so. */
		if (fd >= 0)
			close(fd);
		c->out = stdout;
	}
	c->fail_on_flaky = run->fail_on_flaky;
	if (run->argc < 1 || run->argv[0] == NULL || run->argv[0][0] == '\0')
		return;
	struct deft_buf b = DEFT_BUF_INIT;
	shell_quote(&b, run->argv[0]);
	c->program = deft_buf_take(&b);
}

static void console_note(struct deft_reporter *r, const char *text)
{
	struct console *c = (struct console *)r;
	end_line(c);
	fputs(text, out(c));
	fflush(c->out);
}

static void console_start(struct deft_reporter *r,
                          const struct deft_test_info *test)
{
	struct console *c = (struct console *)r;
	struct deft_node *o = deft_tree_add(&c->tree, test,
	                                    sizeof(struct open_test));
	state(o)->retry = test->retry;
	end_line(c);
	if (c->verbose) {
		fprintf(out(c), "=== RUN   %s\n", test->name);
		fflush(c->out);
	}
	c->last = test->id;
}

static void console_pause(struct deft_reporter *r, unsigned id)
{
	struct console *c = (struct console *)r;
	struct deft_node *o = find(c, id);
	end_line(c);
	if (c->verbose && o) {
		fprintf(out(c), "=== PAUSE %s\n", o->name);
		fflush(c->out);
	}
	c->last = id;
}

static void console_cont(struct deft_reporter *r, unsigned id)
{
	struct console *c = (struct console *)r;
	struct deft_node *o = find(c, id);
	end_line(c);
	if (c->verbose && o) {
		fprintf(out(c), "=== CONT  %s\n", o->name);
		fflush(c->out);
	}
	c->last = id;
}

static void console_output(struct deft_reporter *r, unsigned id,
                           enum deft_stream stream, const char *text,
                           size_t n)
{
	struct console *c = (struct console *)r;
	struct deft_node *o = find(c, id);
	if (c->verbose && o && c->last != id) {
		/* As Go's -v: say whose output follows when it changes. */
		end_line(c);
		if (c->last != 0)
			fprintf(out(c), "=== NAME  %s\n", o->name);
		c->last = id;
	}
	if (c->verbose || o == NULL) {
		fwrite(text, 1, n, out(c));
		fflush(c->out);
		if (n > 0)
			c->midline = text[n - 1] != '\n';
	} else {
		deft_held_add(&state(o)->out, text, n);
	}
}

static const char *result_word(enum deft_result res)
{
	switch (res) {
	case DEFT_PASS:
		return "PASS";
	case DEFT_FAIL:
		return "FAIL";
	case DEFT_SKIP:
		return "SKIP";
	}
	return "?";
}

static const char *result_colour(enum deft_result res)
{
	switch (res) {
	case DEFT_PASS:
		return "\033[32m";
	case DEFT_FAIL:
		return "\033[31m";
	case DEFT_SKIP:
		return "\033[33m";
	}
	return "";
}

static void unlink_open(struct console *c, struct deft_node *o)
{
	deft_held_free(&state(o)->out);
	deft_tree_remove(&c->tree, o);
}

static void console_end(struct deft_reporter *r, unsigned id,
                        const struct deft_test_end *end)
{
	struct console *c = (struct console *)r;
	enum deft_result res = end->result;
	struct deft_node *o = find(c, id);
	if (o == NULL)
		return;
	if (res == DEFT_FAIL)
		note_failure(c, o);
	if (end->retried)
		forget_failures(c, o->name);
	if (o->parent == NULL && res == DEFT_PASS && state(o)->retry > 0)
		names_add(&c->flaky, o->name);
	/* Nothing printed, nothing to flush: fflush would write to the
	 * stream's lock all the same. */
	bool printed = res == DEFT_FAIL || c->verbose ||
	               (o->parent == NULL && end->retried);
	if (res == DEFT_FAIL || c->verbose) {
		struct deft_buf line = DEFT_BUF_INIT;
		deft_buf_printf(&line, "%s--- %s:%s %s (%.2fs)\n",
		                c->colour ? result_colour(res) : "",
		                result_word(res), c->colour ? "\033[0m" : "",
		                o->name, end->elapsed);
		end_line(c);
		if (o->parent) {
			deft_held_add_block(&state(o->parent)->out, &line,
			                    &state(o)->out);
		} else {
			fwrite(line.data, 1, line.len, out(c));
			deft_held_print(c->out, &state(o)->out);
			deft_buf_free(&line);
		}
	}
	if (o->parent == NULL && end->retried) {
		end_line(c);
		fprintf(out(c), "deft: %s failed; it runs again (-retries)\n",
		        o->name);
	}
	if (o->parent == NULL) {
		if (printed)
			fflush(c->out);
		c->last = id;
	}
	unlink_open(c, o);
}

static bool console_finish(struct deft_reporter *r,
                           const struct deft_totals *tot)
{
	struct console *c = (struct console *)r;
	end_line(c);
	if (tot->passed + tot->failed + tot->skipped == 0)
		fputs("deft: warning: no tests to run\n", out(c));
	print_reruns(c);
	names_free(&c->failed);
	if (c->flaky.n > 0) {
		fprintf(out(c), "flaky, passed on a retry%s:\n",
		        c->fail_on_flaky ? " (-fail-on-flaky: the run fails)"
		                         : "");
		for (size_t i = 0; i < c->flaky.n; i++)
			fprintf(out(c), "    %s\n", c->flaky.v[i]);
	}
	names_free(&c->flaky);
	deft_free(c->program);
	c->program = NULL;
	bool failed = tot->failed || (c->fail_on_flaky && tot->flaky);
	fputs(failed ? "FAIL\n" : "PASS\n", out(c));
	fprintf(c->out, "%lu passed, %lu failed, %lu skipped\n", tot->passed,
	        tot->failed, tot->skipped);
	if (fflush(c->out) == 0 && !ferror(c->out))
		return true;
	fputs("deft: the console could not write to stdout\n", stderr);
	return false;
}

/* In a process forked from the run's (a test forked it, without
 * isolation) the console lets go of the run's copy of stdout: what it
 * still prints there goes to that process's stdout, which a death test's
 * child has captured. */
static bool console_forked(struct deft_reporter *r)
{
	struct console *c = (struct console *)r;
	if (c->out && c->out != stdout) {
		deft_report_drop_stream(c->out);
		c->out = stdout;
	}
	return true;
}

struct deft_reporter *deft_console_new(bool verbose, bool colour,
                                       bool own_stdout)
{
	struct console *c = deft_xcalloc(1, sizeof(*c));
	c->r.begin = console_begin;
	c->r.note = console_note;
	c->r.start = console_start;
	c->r.pause = console_pause;
	c->r.cont = console_cont;
	c->r.output = console_output;
	c->r.end = console_end;
	c->r.finish = console_finish;
	c->r.forked = console_forked;
	c->verbose = verbose;
	c->colour = colour;
	c->own_stdout = own_stdout;
	return &c->r;
}
