/*
 * tap.c - TAP version 14, subtests as nested TAP.
 *
 *     TAP version 14
 *     # Subtest: parent
 *         # log line of parent/sub
 *         not ok 1 - parent/sub
 *           ---
 *           message: "test crashed: signal SIGSEGV"
 *           ...
 *         1..1
 *     not ok 1 - parent
 *     1..1
 *
 * A test's logs and captured output become comment lines before its test
 * point.  Each test is held back until it ends and then moved into its
 * parent's (held.h: indented four spaces a level as it is written), so
 * that parallel subtests cannot interleave their lines; a top-level test
 * goes to the stream when it ends, and the plan comes last.  Memory is
 * what the open top-level test printed.
 *
 * TAP::Parser (prove) up to 3.44 refuses "TAP version 14" but tells the
 * tests it runs which version it reads in TAP_VERSION; a lower version
 * there gets "TAP version 13", whose readers ignore the indented subtests.
 */
#include "report.h"
#include "escape.h"
#include "held.h"
#include "tree.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tap_test {
	struct deft_held body;  /* comments and subtests' test points */
	unsigned subtests;      /* ended so far */
	bool mid_line;          /* output so far ends without '\n' */
};

struct tap {
	struct deft_reporter r;
	int fd;
	FILE *out;
	struct deft_tree tree;
	unsigned tests;          /* top-level tests ended */
	bool write_failed;
};

static void tap_write(struct tap *p, const char *s, size_t n)
{
	if (p->out && fwrite(s, 1, n, p->out) != n)
		p->write_failed = true;
}

static void tap_begin(struct deft_reporter *r, const struct deft_run_info *run)
{
	struct tap *p = (struct tap *)r;
	(void)run;
	int fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 3);
	p->out = fd >= 0 ? deft_report_fdopen(fd) : NULL;
	if (p->out == NULL) {
		if (fd >= 0)
			close(fd);
		p->write_failed = true;
		perror("deft: -tap: cannot duplicate the output");
		return;
	}
	const char *want = getenv("TAP_VERSION");
	bool v13 = want && want[0] >= '0' && want[0] <= '9' && atoi(want) < 14;
	fprintf(p->out, "TAP version %d\n", v13 ? 13 : 14);
}

/* Appends text as comment lines ("# ...") to b, made valid UTF-8
 * without control characters (escape.c). */
static void add_comment(struct deft_buf *b, bool *mid_line, const char *text,
                        size_t n)
{
	struct deft_buf clean = DEFT_BUF_INIT;
	deft_text_clean(&clean, text, n);
	const char *p = clean.data, *end = clean.data + clean.len;
	while (p < end) {
		if (!*mid_line)
			deft_buf_puts(b, "# ");
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl + 1 : end;
		deft_buf_add(b, p, (size_t)(stop - p));
		*mid_line = nl == NULL;
		p = stop;
	}
	deft_buf_free(&clean);
}

/* Writes text outside any test as comment lines. */
static void write_comment(struct tap *p, const char *text, size_t n)
{
	struct deft_buf b = DEFT_BUF_INIT;
	bool mid = false;
	add_comment(&b, &mid, text, n);
	if (mid)
		deft_buf_putc(&b, '\n');
	tap_write(p, b.data, b.len);
	deft_buf_free(&b);
}

static void tap_note(struct deft_reporter *r, const char *text)
{
	write_comment((struct tap *)r, text, strlen(text));
}

static void tap_start(struct deft_reporter *r,
                      const struct deft_test_info *test)
{
	struct tap *p = (struct tap *)r;
	deft_tree_add(&p->tree, test, sizeof(struct tap_test));
}

static void tap_output(struct deft_reporter *r, unsigned id,
                       enum deft_stream stream, const char *text, size_t n)
{
	struct tap *p = (struct tap *)r;
	(void)stream;
	struct deft_node *node = deft_tree_find(&p->tree, id);
	if (node == NULL) {
		write_comment(p, text, n);
		return;
	}
	struct tap_test *s = deft_node_data(node);
	struct deft_buf b = DEFT_BUF_INIT;
	add_comment(&b, &s->mid_line, text, n);
	deft_held_add(&s->body, b.data, b.len);
	deft_buf_free(&b);
}

/* A test point's description: '#' and '\\' escaped as TAP 14 asks,
 * made valid UTF-8 without control characters. */
static void add_description(struct deft_buf *b, const char *name)
{
	struct deft_buf clean = DEFT_BUF_INIT;
	deft_text_clean(&clean, name, strlen(name));
	for (size_t i = 0; i < clean.len; i++) {
		char c = clean.data[i];
		if (c == '#' || c == '\\')
			deft_buf_putc(b, '\\');
		deft_buf_putc(b, c == '\n' ? ' ' : c);
	}
	deft_buf_free(&clean);
}

static void end_node(struct tap *p, struct deft_node *n,
                     const struct deft_test_end *end)
{
	struct deft_node *child;
	while ((child = deft_tree_open_child(&p->tree, n)) != NULL)
		end_node(p, child, &deft_orphan_end);
	struct tap_test *s = deft_node_data(n);
	struct deft_held held = DEFT_HELD_INIT;
	struct deft_buf b = DEFT_BUF_INIT;
	if (s->mid_line)
		deft_held_add(&s->body, "\n", 1);
	if (s->subtests) {
		deft_buf_puts(&b, "# Subtest: ");
		add_description(&b, n->name);
		deft_buf_putc(&b, '\n');
		deft_held_add(&held, b.data, b.len);
		b.len = 0;
		deft_buf_printf(&b, "1..%u\n", s->subtests);
		deft_held_add(&s->body, b.data, b.len);
		b.len = 0;
		struct deft_buf no_head = DEFT_BUF_INIT;
		deft_held_add_block(&held, &no_head, &s->body);
	} else {
		deft_held_move(&held, &s->body);
	}
	struct tap_test *up = n->parent ? deft_node_data(n->parent) : NULL;
	unsigned number = up ? ++up->subtests : ++p->tests;
	deft_buf_printf(&b, "%sok %u - ",
	                end->result == DEFT_FAIL ? "not " : "", number);
	add_description(&b, n->name);
	if (end->result == DEFT_SKIP)
		deft_buf_puts(&b, " # SKIP");
	else if (end->retried)
		/* A failed run followed by another (-retries): the TODO
		 * directive keeps it from failing the stream; the last run
		 * says how the test ended. */
		deft_buf_puts(&b, " # TODO failed; it runs again (-retries)");
	deft_buf_putc(&b, '\n');
	const char *how = deft_ending_word(end->ending);
	if (how) {
		struct deft_buf msg = DEFT_BUF_INIT;
		deft_buf_printf(&msg, "test %s%s%s", how,
		                end->detail ? ": " : "",
		                end->detail ? end->detail : "");
		deft_buf_puts(&b, "  ---\n  message: ");
		deft_json_string(&b, msg.data);
		deft_buf_printf(&b, "\n  severity: %s\n  ...\n",
		                end->ending == DEFT_TIMED_OUT ? "timeout"
		                                              : "fail");
		deft_buf_free(&msg);
	}
	deft_held_add(&held, b.data, b.len);
	deft_buf_free(&b);
	if (up) {
		if (up->mid_line) {
			deft_held_add(&up->body, "\n", 1);
			up->mid_line = false;
		}
		deft_held_move(&up->body, &held);
	} else {
		if (p->out) {
			if (!deft_held_print(p->out, &held))
				p->write_failed = true;
			fflush(p->out);
		}
		deft_held_free(&held);
	}
	deft_held_free(&s->body);
	deft_tree_remove(&p->tree, n);
}

static void tap_end(struct deft_reporter *r, unsigned id,
                    const struct deft_test_end *end)
{
	struct tap *p = (struct tap *)r;
	struct deft_node *n = deft_tree_find(&p->tree, id);
	if (n)
		end_node(p, n, end);
}

static bool tap_finish(struct deft_reporter *r, const struct deft_totals *tot)
{
	struct tap *p = (struct tap *)r;
	while (p->tree.open) {
		struct deft_node *top = p->tree.open;
		while (top->parent)
			top = top->parent;
		struct deft_test_end end = {DEFT_FAIL, DEFT_INTERRUPTED,
		                            "the run ended before it", 0.0,
		                            false};
		end_node(p, top, &end);
	}
	char plan[64];
	int len;
	if (p->tests == 0)
		len = snprintf(plan, sizeof(plan),
		               "1..0 # SKIP no tests to run\n");
	else
		len = snprintf(plan, sizeof(plan), "1..%u\n", p->tests);
	tap_write(p, plan, (size_t)len);
	(void)tot;
	bool ok = !p->write_failed;
	if (p->out && deft_report_fclose(p->out) != 0)
		ok = false;
	p->out = NULL;
	if (!ok)
		fputs("deft: -tap: could not write the TAP stream\n", stderr);
	return ok;
}

static bool tap_forked(struct deft_reporter *r)
{
	struct tap *p = (struct tap *)r;
	if (p->out)
		deft_report_drop_stream(p->out);
	return false;
}

struct deft_reporter *deft_tap_new(int fd)
{
	struct tap *p = deft_xcalloc(1, sizeof(*p));
	p->r.begin = tap_begin;
	p->r.note = tap_note;
	p->r.start = tap_start;
	p->r.output = tap_output;
	p->r.end = tap_end;
	p->r.finish = tap_finish;
	p->r.forked = tap_forked;
	p->fd = fd;
	return &p->r;
}
