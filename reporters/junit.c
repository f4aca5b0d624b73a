/*
 * junit.c - JUnit XML, written to a file atomically.
 *
 * Layout: one <testsuites> named after the program, holding one
 * <testsuite> per top-level test (per run of it, with -count), whose
 * <testcase>s are that test and each of its subtests under their full
 * "top/sub/subsub" names.  So a suite is what a reader would call a test
 * file, every subtest is findable by the name -run takes, and each
 * top-level test's results can be written as soon as it ends: memory is
 * bounded by what one top-level test printed, not by the run.
 *
 * What consumers were measured to need (DESIGN.md 10) and how it is met:
 * the file validates against Jenkins' xunit junit-10.xsd as a whole and
 * each <testsuite> against Surefire's schema, so: suite time with three
 * decimals, an errors attribute, no hostname attribute (Surefire forbids
 * it; it is a property), and testcase children in Surefire's order
 * (failure, skipped, error, system-out, system-err) with no file/line
 * attributes (neither schema has them: the failure text carries
 * file:line, and the suite's "file" property says where TEST() is).
 * A <failure> or <skipped> message= is the case's first DEFT_STREAM_REASON
 * line (its first failure, or t_skip's message), or "a subtest failed":
 * dashboards show message= alone, and a log line before the failure
 * would hide it.
 * classname is "program.top", with "#N" added for the Nth run of a test
 * under -count, so every classname+name pair is unique (GitLab keeps only
 * the first of duplicates).  Text goes through escape.c, and each text
 * node keeps at most TEXT_CAP bytes of output, far below libxml2's 10 MB
 * limit, saying how much was cut.
 *
 * A failed run of a top-level test that -retries runs again is not
 * written: what failed in it is kept, and written into the same cases of
 * the last run as Surefire does, <flakyFailure>/<flakyError> in a case
 * that then passed and <rerunFailure>/<rerunError> in one that failed
 * again (both schemas have them).
 *
 * The file is made and put in place by report_file.c.  The root's
 * totals are known only at the end: the root tag is written with room
 * for them and they are written into it before the file is renamed or
 * copied.
 */
#define _GNU_SOURCE
#include "report.h"
#include "report_file.h"
#include "escape.h"
#include "tree.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXT_CAP (1u << 20)
#define ROOT_ROOM 160

struct text {
	struct deft_buf b;
	size_t dropped;
};

/* What failed in a case of a run that runs again. */
struct earlier_failure {
	char *name;             /* the case's full name */
	bool error;             /* crashed or timed out, not failed */
	char *message;
	char *type;
	struct deft_buf body;   /* <stackTrace> and output, escaped */
	struct earlier_failure *next;
};

struct junit_case {
	struct text log;        /* logs only: the failure's text */
	struct text out;        /* logs and captured stdout */
	struct text err;        /* captured stderr */
	char *reason;           /* its first line saying why it failed or
	                         * skipped, for message= */
	char *first_log;        /* its first log line, for want of one */
	bool sub_failed;        /* a subtest of it failed */
	/* top-level tests only: */
	struct deft_buf suite;  /* its subtests' cases, as they end */
	char *classname;        /* "program.name", "#N" for the Nth run */
	char *where;            /* "file.c:12", or NULL */
	struct timespec started;
	unsigned tests, failures, errors, skipped;
	struct earlier_failure *failed; /* this run's failed cases */
};

struct round_count {
	uint64_t hash;
	unsigned n;
};

struct junit {
	struct deft_reporter r;
	struct deft_report_file file;
	FILE *out;              /* file.out */
	long root_at;           /* offset of the room for the totals */
	struct deft_buf props;  /* <properties> of every suite */
	char *program;
	struct deft_tree tree;
	unsigned long tests, failures, errors;
	double time;
	struct round_count *rounds;     /* open addressing, by name hash */
	size_t nrounds, cap_rounds;
	struct earlier_failure *earlier; /* of runs that run again */
	bool retries;                   /* -retries given: runs may run again */
};

static void earlier_free(struct earlier_failure *f)
{
	while (f) {
		struct earlier_failure *next = f->next;
		deft_free(f->name);
		deft_free(f->message);
		deft_free(f->type);
		deft_buf_free(&f->body);
		deft_free(f);
		f = next;
	}
}

static void text_add(struct text *t, const char *s, size_t n)
{
	size_t room = t->b.len < TEXT_CAP ? TEXT_CAP - t->b.len : 0;
	size_t keep = n < room ? n : room;
	deft_buf_add(&t->b, s, keep);
	t->dropped += n - keep;
}

static void text_free(struct text *t)
{
	deft_buf_free(&t->b);
}

/* Appends t as escaped character data, with a note if it was cut. */
static void put_text(struct deft_buf *b, const struct text *t)
{
	deft_xml_escape(b, t->b.data, t->b.len, false);
	if (t->dropped)
		deft_buf_printf(b, "\n[deft: %zu more bytes of output were "
		                "left out of this report]\n", t->dropped);
}

static void put_attr(struct deft_buf *b, const char *name, const char *v)
{
	deft_buf_printf(b, " %s=\"", name);
	deft_xml_escape(b, v, strlen(v), true);
	deft_buf_putc(b, '"');
}

static void put_property(struct deft_buf *b, const char *name,
                         const char *value)
{
	deft_buf_puts(b, "      <property");
	put_attr(b, "name", name);
	put_attr(b, "value", value);
	deft_buf_puts(b, "/>\n");
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h;
}

/* How many times a top-level test of this name has started, this one
 * included; a retry (again) is the same run as the one before it. */
static unsigned count_round(struct junit *j, const char *name, bool again)
{
	if (2 * (j->nrounds + 1) > j->cap_rounds) {
		size_t cap = j->cap_rounds ? 2 * j->cap_rounds : 64;
		struct round_count *old = j->rounds;
		j->rounds = deft_xcalloc(cap, sizeof(*old));
		for (size_t i = 0; i < j->cap_rounds; i++) {
			if (old[i].n == 0)
				continue;
			size_t k = old[i].hash & (cap - 1);
			while (j->rounds[k].n)
				k = (k + 1) & (cap - 1);
			j->rounds[k] = old[i];
		}
		deft_free(old);
		j->cap_rounds = cap;
	}
	uint64_t h = fnv1a(name);
	size_t k = h & (j->cap_rounds - 1);
	while (j->rounds[k].n && j->rounds[k].hash != h)
		k = (k + 1) & (j->cap_rounds - 1);
	if (j->rounds[k].n == 0) {
		j->rounds[k].hash = h;
		j->nrounds++;
	}
	if (again && j->rounds[k].n > 0)
		return j->rounds[k].n;
	return ++j->rounds[k].n;
}

static void junit_begin(struct deft_reporter *r,
                        const struct deft_run_info *run)
{
	struct junit *j = (struct junit *)r;
	j->program = deft_xstrdup(run->program);
	j->retries = run->retries > 0;
	struct deft_buf b = DEFT_BUF_INIT;
	deft_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	              "<testsuites");
	put_attr(&b, "name", j->program);
	j->root_at = (long)b.len;
	deft_buf_printf(&b, "%*s>\n", ROOT_ROOM, "");
	fwrite(b.data, 1, b.len, j->out);
	deft_buf_free(&b);

	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	deft_buf_puts(&j->props, "    <properties>\n");
	put_property(&j->props, "hostname", host);
	struct deft_buf cmd = DEFT_BUF_INIT;
	for (int i = 0; i < run->argc; i++)
		deft_buf_printf(&cmd, "%s%s", i ? " " : "", run->argv[i]);
	put_property(&j->props, "command", cmd.data ? cmd.data : "");
	deft_buf_free(&cmd);
	if (run->shuffle) {
		char seed[32];
		snprintf(seed, sizeof(seed), "%" PRIu64, run->seed);
		put_property(&j->props, "shuffle.seed", seed);
	}
}

/* A line about the run ("-shard 1/3") becomes a property of the suites
 * written after it. */
static void junit_note(struct deft_reporter *r, const char *text)
{
	struct junit *j = (struct junit *)r;
	size_t n = strlen(text);
	while (n > 0 && text[n - 1] == '\n')
		n--;
	char *line = deft_xmalloc(n + 1);
	memcpy(line, text, n);
	line[n] = '\0';
	put_property(&j->props, "note", line);
	deft_free(line);
}

static void junit_start(struct deft_reporter *r,
                        const struct deft_test_info *test)
{
	struct junit *j = (struct junit *)r;
	struct deft_node *n = deft_tree_add(&j->tree, test,
	                                    sizeof(struct junit_case));
	struct junit_case *c = deft_node_data(n);
	clock_gettime(CLOCK_REALTIME, &c->started);
	if (n->parent)
		return;
	struct deft_buf b = DEFT_BUF_INIT;
	deft_buf_printf(&b, "%s.%s", j->program, n->name);
	unsigned round = count_round(j, n->name, test->retry > 0);
	if (round > 1)
		deft_buf_printf(&b, "#%u", round);
	c->classname = deft_buf_take(&b);
	if (test->file) {
		deft_buf_printf(&b, "%s:%d", test->file, test->line);
		c->where = deft_buf_take(&b);
	}
}

/* The first line of log text[0..n), without its indent, cut to 1000
 * bytes. */
static char *first_line(const char *text, size_t n)
{
	const char *s = text;
	while (s < text + n && *s == ' ')
		s++;
	const char *nl = memchr(s, '\n', (size_t)(text + n - s));
	size_t len = nl ? (size_t)(nl - s) : (size_t)(text + n - s);
	if (len > 1000)
		len = 1000;
	char *line = deft_xmalloc(len + 1);
	memcpy(line, s, len);
	line[len] = '\0';
	return line;
}

static void junit_output(struct deft_reporter *r, unsigned id,
                         enum deft_stream stream, const char *text, size_t n)
{
	struct junit *j = (struct junit *)r;
	struct deft_node *node = deft_tree_find(&j->tree, id);
	if (node == NULL)
		return;
	struct junit_case *c = deft_node_data(node);
	if (stream == DEFT_STREAM_STDERR) {
		text_add(&c->err, text, n);
		return;
	}
	text_add(&c->out, text, n);
	if (!deft_stream_is_log(stream))
		return;
	text_add(&c->log, text, n);
	if (c->first_log == NULL)
		c->first_log = first_line(text, n);
	if (stream == DEFT_STREAM_REASON && c->reason == NULL)
		c->reason = first_line(text, n);
}

static struct junit_case *top_case(struct deft_node *n)
{
	while (n->parent)
		n = n->parent;
	return deft_node_data(n);
}

/* Appends the failures of earlier runs of case name, of kind error, as
 * rerun... elements if the case failed again, else as flaky... ones. */
static void put_earlier(struct deft_buf *b, const struct earlier_failure *e,
                        const char *name, bool error, bool again)
{
	const char *elem = error ? (again ? "rerunError" : "flakyError")
	                         : (again ? "rerunFailure" : "flakyFailure");
	for (; e; e = e->next) {
		if (e->error != error || strcmp(e->name, name) != 0)
			continue;
		deft_buf_printf(b, "      <%s", elem);
		put_attr(b, "message", e->message);
		put_attr(b, "type", e->type);
		deft_buf_puts(b, ">");
		deft_buf_add(b, e->body.data, e->body.len);
		deft_buf_printf(b, "</%s>\n", elem);
	}
}

static bool has_earlier(const struct earlier_failure *e, const char *name)
{
	for (; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			return true;
	return false;
}

/* Keeps what failed in case n for its top-level test's run, in case
 * that runs again. */
static void keep_failure(struct junit_case *top, struct deft_node *n,
                         bool error, const char *message, const char *type)
{
	struct junit_case *c = deft_node_data(n);
	struct earlier_failure *f = deft_xcalloc(1, sizeof(*f));
	f->name = deft_xstrdup(n->name);
	f->error = error;
	f->message = deft_xstrdup(message);
	f->type = deft_xstrdup(type);
	deft_buf_puts(&f->body, "<stackTrace>");
	put_text(&f->body, &c->log);
	deft_buf_puts(&f->body, "</stackTrace>");
	if (c->out.b.len) {
		deft_buf_puts(&f->body, "<system-out>");
		put_text(&f->body, &c->out);
		deft_buf_puts(&f->body, "</system-out>");
	}
	if (c->err.b.len) {
		deft_buf_puts(&f->body, "<system-err>");
		put_text(&f->body, &c->err);
		deft_buf_puts(&f->body, "</system-err>");
	}
	f->next = top->failed;
	top->failed = f;
}

/* Appends the <testcase> of n, ended as end says, to b, with what failed
 * in it in earlier runs; keeps what failed in it if keep (-retries: its
 * run may run again). */
static void put_case(struct deft_buf *b, struct deft_node *n,
                     const char *classname,
                     const struct deft_test_end *end,
                     const struct earlier_failure *earlier, bool keep)
{
	struct junit_case *c = deft_node_data(n);
	deft_buf_puts(b, "    <testcase");
	put_attr(b, "name", n->name);
	put_attr(b, "classname", classname);
	deft_buf_printf(b, " time=\"%.3f\"", end->elapsed);
	const char *how = deft_ending_word(end->ending);
	struct junit_case *top = top_case(n);
	top->tests++;
	const char *elem = NULL;
	struct deft_buf msg = DEFT_BUF_INIT;
	if (how) {
		top->errors++;
		elem = "error";
		deft_buf_printf(&msg, "test %s%s%s", how,
		                end->detail ? ": " : "",
		                end->detail ? end->detail : "");
	} else if (end->result == DEFT_FAIL) {
		top->failures++;
		elem = "failure";
		deft_buf_puts(&msg, c->reason       ? c->reason
		                    : c->sub_failed ? "a subtest failed"
		                    : c->first_log  ? c->first_log
		                                    : "failed");
	} else if (end->result == DEFT_SKIP) {
		top->skipped++;
		elem = "skipped";
		deft_buf_puts(&msg, c->reason      ? c->reason
		                    : c->first_log ? c->first_log : "skipped");
	}
	if (end->result == DEFT_FAIL && n->parent) {
		struct junit_case *up = deft_node_data(n->parent);
		up->sub_failed = true;
	}
	bool failing = elem && strcmp(elem, "skipped") != 0;
	const char *type = how ? how : "failure";
	if (failing && keep)
		keep_failure(top, n, how != NULL, msg.data, type);
	bool again = has_earlier(earlier, n->name);
	if (elem == NULL && c->out.b.len == 0 && c->err.b.len == 0 &&
	    !again) {
		deft_buf_puts(b, "/>\n");
		deft_buf_free(&msg);
		return;
	}
	deft_buf_puts(b, ">\n");
	/* Surefire's order: failure, its reruns, skipped, error, its
	 * reruns, output. */
	for (int pass = 0; pass < 2; pass++) {
		bool errors = pass == 1;
		if (elem && (strcmp(elem, "failure") == 0) != errors) {
			deft_buf_printf(b, "      <%s", elem);
			put_attr(b, "message", msg.data);
			if (strcmp(elem, "skipped") != 0)
				put_attr(b, "type", type);
			deft_buf_putc(b, '>');
			put_text(b, &c->log);
			deft_buf_printf(b, "</%s>\n", elem);
		}
		put_earlier(b, earlier, n->name, errors, failing);
	}
	deft_buf_free(&msg);
	if (c->out.b.len) {
		deft_buf_puts(b, "      <system-out>");
		put_text(b, &c->out);
		deft_buf_puts(b, "</system-out>\n");
	}
	if (c->err.b.len) {
		deft_buf_puts(b, "      <system-err>");
		put_text(b, &c->err);
		deft_buf_puts(b, "</system-err>\n");
	}
	deft_buf_puts(b, "    </testcase>\n");
}

/* Writes the suite of top-level test n, its case last. */
static void write_suite(struct junit *j, struct deft_node *n,
                        const struct deft_test_end *end)
{
	struct junit_case *c = deft_node_data(n);
	struct deft_buf tail = DEFT_BUF_INIT;
	put_case(&tail, n, c->classname, end, j->earlier, j->retries);

	struct deft_buf b = DEFT_BUF_INIT;
	deft_buf_puts(&b, "  <testsuite");
	put_attr(&b, "name", c->classname + strlen(j->program) + 1);
	deft_buf_printf(&b, " tests=\"%u\" failures=\"%u\" errors=\"%u\" "
	                "skipped=\"%u\" time=\"%.3f\" timestamp=\"",
	                c->tests, c->failures, c->errors, c->skipped,
	                end->elapsed);
	deft_rfc3339(&b, &c->started, false);
	deft_buf_puts(&b, "\">\n");
	deft_buf_add(&b, j->props.data, j->props.len);
	if (c->where)
		put_property(&b, "file", c->where);
	deft_buf_puts(&b, "    </properties>\n");
	if (j->out) {
		fwrite(b.data, 1, b.len, j->out);
		if (c->suite.len)
			fwrite(c->suite.data, 1, c->suite.len, j->out);
		fwrite(tail.data, 1, tail.len, j->out);
		fputs("  </testsuite>\n", j->out);
	}
	j->tests += c->tests;
	j->failures += c->failures;
	j->errors += c->errors;
	j->time += end->elapsed;
	deft_buf_free(&b);
	deft_buf_free(&tail);
}

/* Drops what failed in earlier runs of top-level test name: its last
 * run is written. */
static void forget_earlier(struct junit *j, const char *name)
{
	size_t len = strlen(name);
	for (struct earlier_failure **p = &j->earlier; *p;) {
		struct earlier_failure *f = *p;
		if (strncmp(f->name, name, len) == 0 &&
		    (f->name[len] == '\0' || f->name[len] == '/')) {
			*p = f->next;
			f->next = NULL;
			earlier_free(f);
		} else {
			p = &f->next;
		}
	}
}

static void end_node(struct junit *j, struct deft_node *n,
                     const struct deft_test_end *end)
{
	struct deft_node *child;
	while ((child = deft_tree_open_child(&j->tree, n)) != NULL)
		end_node(j, child, &deft_orphan_end);
	struct junit_case *c = deft_node_data(n);
	if (n->parent) {
		struct deft_node *top = n;
		while (top->parent)
			top = top->parent;
		struct junit_case *tc = deft_node_data(top);
		put_case(&tc->suite, n, tc->classname, end, j->earlier,
		         j->retries);
	} else if (end->retried) {
		/* Not written: what failed in it is, with the cases of the
		 * next run. */
		struct deft_buf unwritten = DEFT_BUF_INIT;
		put_case(&unwritten, n, c->classname, end, NULL, true);
		deft_buf_free(&unwritten);
		struct earlier_failure **tail = &j->earlier;
		while (*tail)
			tail = &(*tail)->next;
		*tail = c->failed;
		c->failed = NULL;
	} else {
		write_suite(j, n, end);
		forget_earlier(j, n->name);
	}
	text_free(&c->log);
	text_free(&c->out);
	text_free(&c->err);
	deft_free(c->reason);
	deft_free(c->first_log);
	deft_buf_free(&c->suite);
	earlier_free(c->failed);
	deft_free(c->classname);
	deft_free(c->where);
	deft_tree_remove(&j->tree, n);
}

static void junit_end(struct deft_reporter *r, unsigned id,
                      const struct deft_test_end *end)
{
	struct junit *j = (struct junit *)r;
	struct deft_node *n = deft_tree_find(&j->tree, id);
	if (n)
		end_node(j, n, end);
}

/* Writes the totals into the room left in the root tag. */
static bool write_totals(struct junit *j)
{
	char totals[ROOT_ROOM + 1];
	int len = snprintf(totals, sizeof(totals),
	                   " tests=\"%lu\" failures=\"%lu\" errors=\"%lu\" "
	                   "time=\"%.3f\"", j->tests, j->failures, j->errors,
	                   j->time);
	if (len < 0 || len > ROOT_ROOM)
		return false;
	return fseek(j->out, j->root_at, SEEK_SET) == 0 &&
	       fwrite(totals, 1, (size_t)len, j->out) == (size_t)len;
}

static bool junit_finish(struct deft_reporter *r,
                         const struct deft_totals *tot)
{
	struct junit *j = (struct junit *)r;
	(void)tot;
	while (j->tree.open) {
		struct deft_node *top = j->tree.open;
		while (top->parent)
			top = top->parent;
		struct deft_test_end end = {DEFT_FAIL, DEFT_INTERRUPTED,
		                            "the run ended before it", 0.0,
		                            false};
		end_node(j, top, &end);
	}
	bool ok = j->out != NULL;
	if (j->out) {
		fputs("</testsuites>\n", j->out);
		ok = write_totals(j) && ok;
	}
	ok = deft_report_file_close(&j->file, "-junit", ok);
	j->out = NULL;
	deft_free(j->rounds);
	j->rounds = NULL;
	earlier_free(j->earlier);
	j->earlier = NULL;
	j->nrounds = j->cap_rounds = 0;
	deft_buf_free(&j->props);
	deft_free(j->program);
	j->program = NULL;
	return ok;
}

static bool junit_forked(struct deft_reporter *r)
{
	deft_report_file_forked(&((struct junit *)r)->file);
	return false;
}

struct deft_reporter *deft_junit_new(const char *path)
{
	struct junit *j = deft_xcalloc(1, sizeof(*j));
	j->r.begin = junit_begin;
	j->r.note = junit_note;
	j->r.start = junit_start;
	j->r.output = junit_output;
	j->r.end = junit_end;
	j->r.finish = junit_finish;
	j->r.forked = junit_forked;
	if (!deft_report_file_open(&j->file, "-junit", path)) {
		deft_free(j);
		return NULL;
	}
	j->out = j->file.out;
	return &j->r;
}
