/*
 * reporters_test.c - the report writers fed events directly.
 *
 * The harness cannot yet produce some events the isolation work will send
 * (a crash, a timeout, an interrupted run, captured stdout and stderr, a
 * subtest left open by its crashed parent), so these tests make them up
 * and check what -json, -junit and -tap write for them.  The escaping
 * helpers are checked over every byte value.  Validation of whole reports
 * by xmllint, gotestsum and prove is in selftest/reports_check.py.
 */
#define _GNU_SOURCE
#include <deft.h>

#include "../reporters/escape.h"
#include "../reporters/held.h"
#include "../reporters/tree.h"
#include "../reporters/report.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether s[0..n) is valid UTF-8 without the characters XML forbids. */
static bool xml_clean(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = deft_utf8_decode((const unsigned char *)s + i,
		                              n - i, &cp);
		if (len == 0 || (cp < 0x20 && cp != '\t' && cp != '\n') ||
		    cp == 0xfffe || cp == 0xffff)
			return false;
		i += len;
	}
	return true;
}

TEST(utf8_decode)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} cases[] = {
		{"a", 1, 'a'},
		{"\xc3\xa9", 2, 0xe9},
		{"\xe2\x82\xac", 3, 0x20ac},
		{"\xf0\x9f\x98\x80", 4, 0x1f600},
		{"\xc0\xaf", 0, 0},             /* overlong '/' */
		{"\xe0\x80\xaf", 0, 0},         /* overlong, 3 bytes */
		{"\xed\xa0\x80", 0, 0},         /* surrogate */
		{"\xf4\x90\x80\x80", 0, 0},     /* past U+10FFFF */
		{"\xc3\x28", 0, 0},             /* bad continuation */
		{"\xe2\x82", 0, 0},             /* cut short */
		{"\xff", 0, 0},
		{"\x80", 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		uint32_t cp = 0;
		size_t n = deft_utf8_decode((const unsigned char *)cases[i].s,
		                            strlen(cases[i].s), &cp);
		T_EXPECT_EQ(t, n, cases[i].len);
		if (n)
			T_EXPECT_EQ(t, cp, cases[i].cp);
	}
}

TEST(xml_escape_every_byte)
{
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	for (int attr = 0; attr < 2; attr++) {
		struct deft_buf b = DEFT_BUF_INIT;
		deft_xml_escape(&b, all, sizeof(all), attr);
		deft_xml_escape(&b, "]]>\xef\xbf\xbe\xef\xbf\xbf\r", 10, attr);
		T_EXPECT(t, xml_clean(b.data, b.len));
		T_EXPECT_NULL(t, strstr(b.data, "]]>"));
		T_EXPECT_NULL(t, strchr(b.data, '<'));
		T_EXPECT_NOT_NULL(t, strstr(b.data, "\\x1b"));
		T_EXPECT_NOT_NULL(t, strstr(b.data, "\\uFFFE"));
		T_EXPECT_NOT_NULL(t, strstr(b.data, "&#13;"));
		T_EXPECT_EQ(t, strchr(b.data, '\n') == NULL, attr == 1);
		deft_buf_free(&b);
	}
	struct deft_buf b = DEFT_BUF_INIT;
	deft_xml_escape(&b, "caf\xc3\xa9 <&>\"' \xff", 13, false);
	T_EXPECT_EQ(t, b.data,
	               "caf\xc3\xa9 &lt;&amp;&gt;&quot;&apos; \xef\xbf\xbd");
	deft_buf_free(&b);
}

TEST(json_escape)
{
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	struct deft_buf b = DEFT_BUF_INIT;
	size_t used = deft_json_escape(&b, all, sizeof(all), 1 << 20);
	T_EXPECT_EQ(t, used, sizeof(all));
	for (size_t i = 0; i < b.len; i++)
		T_EXPECT_GE(t, (unsigned char)b.data[i], 0x20);
	T_EXPECT(t, xml_clean(b.data, b.len));
	T_EXPECT_NOT_NULL(t, strstr(b.data, "\\u0000\\u0001"));
	T_EXPECT_NOT_NULL(t, strstr(b.data, "\\\"#$%&'()*+,-./0"));
	T_EXPECT_NOT_NULL(t, strstr(b.data, "\\ufffd\\ufffd"));
	deft_buf_free(&b);
	/* a budget cuts between characters, never inside one */
	used = deft_json_escape(&b, "ab\xe2\x82\xac" "cd", 7, 3);
	T_EXPECT_EQ(t, used, 5u);
	T_EXPECT_EQ(t, b.data, "ab\xe2\x82\xac");
	deft_buf_free(&b);
}

/* A scratch file the reporter writes to; read back with slurp().  The
 * path is allocated: the deferred unlink runs after the test's frame. */
struct scratch {
	char *path;
	int fd;
};

static void scratch_open(T *t, struct scratch *s)
{
	s->path = strdup("/tmp/deft-report-XXXXXX");
	T_ASSERT_NOT_NULL(t, s->path);
	t_defer(t, deft_free, s->path);
	s->fd = mkstemp(s->path);
	T_ASSERT_GE(t, s->fd, 0);
	t_defer(t, unlink, s->path);
	t_defer(t, close, s->fd);
}

static char *slurp(T *t, const char *path)
{
	FILE *f = fopen(path, "r");
	T_ASSERT_NOT_NULL(t, f);
	char *data = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&data, &len);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, m);
	fclose(m);
	fclose(f);
	t_defer(t, deft_free, data);
	return data;
}

static char *program = "prog";
static const struct deft_run_info run_info = {1, &program, "prog", true, 42,
                                              {1700000000, 5}, false, 0};

/* The events of a run in which things go wrong the way an isolated run
 * reports them: a crash with a subtest left open, a timeout, captured
 * stdout and stderr, and a test never ended (interrupted run). */
static void feed(struct deft_reporter *r, bool huge)
{
	struct deft_test_info top = {1, 0, "top", "x_test.c", 12, 0};
	struct deft_test_info sub = {2, 1, "top/sub", NULL, 0, 0};
	struct deft_test_info slow = {3, 0, "slow", "x_test.c", 20, 0};
	struct deft_test_info noisy = {4, 0, "noisy", "x_test.c", 30, 0};
	struct deft_test_info last = {5, 0, "last", "x_test.c", 40, 0};
	struct deft_test_end crashed = {DEFT_FAIL, DEFT_CRASHED,
	                                "signal SIGSEGV", 0.25, false};
	struct deft_test_end timed_out = {DEFT_FAIL, DEFT_TIMED_OUT,
	                                  "after 10s", 10.0, false};
	struct deft_test_end passed = {DEFT_PASS, DEFT_ENDED, NULL, 0.001,
	                               false};
	r->begin(r, &run_info);
	if (r->note)
		r->note(r, "-shuffle 42\n");
	r->start(r, &top);
	r->start(r, &sub);
	if (r->pause) {
		r->pause(r, 2);
		r->cont(r, 2);
	}
	r->output(r, 2, DEFT_STREAM_LOG, "    x_test.c:14: about to crash\n",
	          31);
	r->end(r, 1, &crashed);
	r->start(r, &slow);
	r->end(r, 3, &timed_out);
	r->start(r, &noisy);
	r->output(r, 4, DEFT_STREAM_STDOUT, "to stdout ]]> \x1b[31m", 19);
	r->output(r, 4, DEFT_STREAM_STDERR, "to stderr\n", 10);
	if (huge) {
		size_t n = 12u << 20;
		char *big = malloc(n);
		memset(big, '<', n);
		r->output(r, 4, DEFT_STREAM_STDOUT, big, n);
		deft_free(big);
	}
	r->end(r, 4, &passed);
	r->start(r, &last);
}

static const struct deft_totals run_totals = {1, 4, 0, 0};

TEST(json_abnormal_endings)
{
	struct scratch s;
	scratch_open(t, &s);
	struct deft_reporter *r = deft_json_new(s.fd);
	t_defer(t, deft_free, r);
	feed(r, false);
	T_EXPECT(t, r->finish(r, &run_totals));
	char *out = slurp(t, s.path);
	T_EXPECT_NOT_NULL(t, strstr(out, "\"Action\":\"start\",\"Package\":"
	                                 "\"prog\"}\n"));
	T_EXPECT(t, strstr(out, "\"start\"") < strchr(out, '\n'));
	const char *sub_fail = strstr(out, "\"Action\":\"fail\",\"Package\":"
	                                   "\"prog\",\"Test\":\"top/sub\"");
	const char *top_fail = strstr(out, "\"Action\":\"fail\",\"Package\":"
	                                   "\"prog\",\"Test\":\"top\"");
	T_ASSERT_NOT_NULL(t, sub_fail);
	T_ASSERT_NOT_NULL(t, top_fail);
	T_EXPECT(t, sub_fail < top_fail);
	T_EXPECT_NOT_NULL(t, strstr(out, "deft: test crashed: "
	                                 "its parent test ended before it"));
	T_EXPECT_NOT_NULL(t, strstr(out, "deft: test crashed: signal "
	                                 "SIGSEGV\\n"));
	T_EXPECT_NOT_NULL(t, strstr(out, "deft: test timed out: after 10s"));
	const char *pause = strstr(out, "\"Test\":\"top/sub\",\"Output\":"
	                                "\"=== PAUSE top/sub\\n\"}\n");
	T_ASSERT_NOT_NULL(t, pause);
	pause = strstr(pause, "\"Action\":\"pause\",\"Package\":\"prog\","
	                      "\"Test\":\"top/sub\"}\n");
	T_ASSERT_NOT_NULL(t, pause);
	T_EXPECT_NOT_NULL(t, strstr(pause, "\"Output\":\"=== CONT  "
	                                   "top/sub\\n\"}\n"));
	T_EXPECT_NOT_NULL(t, strstr(pause, "\"Action\":\"cont\",\"Package\":"
	                                   "\"prog\",\"Test\":\"top/sub\"}"));
	T_EXPECT_NOT_NULL(t, strstr(out, "\"Output\":\"to stdout ]]> "
	                                 "\\u001b[31m\"}"));
	T_EXPECT_NOT_NULL(t, strstr(out, "\"Test\":\"last\",\"Output\":"
	                                 "\"    deft: test interrupted"));
	T_EXPECT_NOT_NULL(t, strstr(out, "\"Output\":\"-shuffle 42\\n\"}"));
	T_EXPECT_NOT_NULL(t, strstr(out, "\"Action\":\"fail\",\"Package\":"
	                                 "\"prog\",\"Elapsed\":"));
	/* the stream went to a duplicate, closed at finish */
	T_EXPECT_EQ(t, fcntl(s.fd, F_GETFD), 0);
}

TEST(junit_abnormal_endings)
{
	char *path;
	T_ASSERT_GE(t, asprintf(&path, "%s/report.xml", t_tempdir(t)), 0);
	t_defer(t, deft_free, path);
	struct deft_reporter *r = deft_junit_new(path);
	t_defer(t, deft_free, r);
	feed(r, true);
	T_EXPECT(t, r->finish(r, &run_totals));
	char *out = slurp(t, path);
	T_EXPECT(t, xml_clean(out, strlen(out)));
	T_EXPECT_LT(t, strlen(out), (size_t)(10u << 20));
	T_EXPECT_NOT_NULL(t, strstr(out, "<testsuites name=\"prog\" "
	                                 "tests=\"5\" failures=\"0\" "
	                                 "errors=\"4\" time=\"10.251\""));
	T_EXPECT_NOT_NULL(t, strstr(out, "<error message=\"test crashed: "
	                                 "signal SIGSEGV\" type=\"crashed\">"));
	T_EXPECT_NOT_NULL(t, strstr(out, "<testcase name=\"top/sub\" "
	                                 "classname=\"prog.top\""));
	T_EXPECT_NOT_NULL(t, strstr(out, "<error message=\"test crashed: its "
	                                 "parent test ended before it\""));
	T_EXPECT_NOT_NULL(t, strstr(out, "type=\"timed out\""));
	T_EXPECT_NOT_NULL(t, strstr(out, "type=\"interrupted\""));
	T_EXPECT_NOT_NULL(t, strstr(out, "<system-out>to stdout ]]&gt; "
	                                 "\\x1b[31m&lt;&lt;"));
	T_EXPECT_NOT_NULL(t, strstr(out, "more bytes of output were left "
	                                 "out of this report"));
	T_EXPECT_NOT_NULL(t, strstr(out, "<system-err>to stderr\n"
	                                 "</system-err>"));
	T_EXPECT_NOT_NULL(t, strstr(out, "<property name=\"shuffle.seed\" "
	                                 "value=\"42\"/>"));
	T_EXPECT_NOT_NULL(t, strstr(out, "<property name=\"note\" "
	                                 "value=\"-shuffle 42\"/>"));
	T_EXPECT_NOT_NULL(t, strstr(out, "<property name=\"file\" "
	                                 "value=\"x_test.c:12\"/>"));
}

/* Gives reporter r the log text of test id. */
static void say(struct deft_reporter *r, unsigned id, enum deft_stream stream,
                const char *text)
{
	r->output(r, id, stream, text, strlen(text));
}

/* message= is why the case ended: its first failure or skip reason, not
 * a log line before it; else that a subtest failed; else its first log
 * line, which a failure the runner found may be. */
TEST(junit_failure_messages)
{
	char *path;
	T_ASSERT_GE(t, asprintf(&path, "%s/report.xml", t_tempdir(t)), 0);
	t_defer(t, deft_free, path);
	struct deft_reporter *r = deft_junit_new(path);
	T_ASSERT_NOT_NULL(t, r);
	t_defer(t, deft_free, r);
	struct deft_test_info logs = {1, 0, "logs", "x_test.c", 1, 0};
	struct deft_test_info parent = {2, 0, "parent", "x_test.c", 2, 0};
	struct deft_test_info sub = {3, 2, "parent/sub", NULL, 0, 0};
	struct deft_test_info skips = {4, 0, "skips", "x_test.c", 4, 0};
	struct deft_test_info bare = {5, 0, "bare", "x_test.c", 5, 0};
	struct deft_test_info noted = {6, 0, "noted", "x_test.c", 6, 0};
	struct deft_test_end failed = {DEFT_FAIL, DEFT_ENDED, NULL, 0, false};
	struct deft_test_end skipped = {DEFT_SKIP, DEFT_ENDED, NULL, 0, false};
	r->begin(r, &run_info);
	r->start(r, &logs);
	say(r, 1, DEFT_STREAM_LOG, "    x_test.c:7: a note\n");
	say(r, 1, DEFT_STREAM_REASON, "    x_test.c:8: boom\n"
	          "        second line\n");
	say(r, 1, DEFT_STREAM_REASON, "    x_test.c:9: again\n");
	r->end(r, 1, &failed);
	r->start(r, &parent);
	r->start(r, &sub);
	say(r, 2, DEFT_STREAM_LOG, "    x_test.c:10: the parent\n");
	say(r, 3, DEFT_STREAM_REASON, "    x_test.c:11: the sub\n");
	r->end(r, 3, &failed);
	r->end(r, 2, &failed);
	r->start(r, &skips);
	say(r, 4, DEFT_STREAM_LOG, "    x_test.c:12: a note\n");
	say(r, 4, DEFT_STREAM_REASON, "    x_test.c:13: no network\n");
	r->end(r, 4, &skipped);
	r->start(r, &bare);
	r->end(r, 5, &failed);
	r->start(r, &noted);
	say(r, 6, DEFT_STREAM_LOG, "    deft: the runner says\n");
	r->end(r, 6, &failed);
	T_EXPECT(t, r->finish(r, &run_totals));
	char *out = slurp(t, path);
	T_EXPECT_NOT_NULL(t, strstr(out, "<failure message=\"x_test.c:8: "
	                                 "boom\" type=\"failure\">    "
	                                 "x_test.c:7: a note\n"));
	T_EXPECT_NOT_NULL(t, strstr(out, "<failure message=\"x_test.c:11: "
	                                 "the sub\""));
	T_EXPECT_NOT_NULL(t, strstr(out, "<failure message=\"a subtest "
	                                 "failed\" type=\"failure\">    "
	                                 "x_test.c:10: the parent\n"));
	T_EXPECT_NOT_NULL(t, strstr(out, "<skipped message=\"x_test.c:13: "
	                                 "no network\">"));
	T_EXPECT_NOT_NULL(t, strstr(out, "<failure message=\"failed\" "
	                                 "type=\"failure\"></failure>"));
	T_EXPECT_NOT_NULL(t, strstr(out, "<failure message=\"deft: the "
	                                 "runner says\""));
}

static void write_text(T *t, const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	T_ASSERT_NOT_NULL(t, f);
	fputs(text, f);
	T_ASSERT_EQ(t, fclose(f), 0);
}

/* dir/name, freed when t ends. */
static char *path_in(T *t, const char *dir, const char *name)
{
	char *path;
	T_ASSERT_GE(t, asprintf(&path, "%s/%s", dir, name), 0);
	t_defer(t, deft_free, path);
	return path;
}

/* Writes a one-test JUnit report to path. */
static bool junit_one_test(const char *path)
{
	struct deft_reporter *r = deft_junit_new(path);
	if (r == NULL)
		return false;
	struct deft_test_info top = {1, 0, "top", "x_test.c", 12, 0};
	struct deft_test_end passed = {DEFT_PASS, DEFT_ENDED, NULL, 0.001,
	                               false};
	r->begin(r, &run_info);
	r->start(r, &top);
	r->end(r, 1, &passed);
	bool ok = r->finish(r, &run_totals);
	deft_free(r);
	return ok;
}

TEST(junit_unwritable)
{
	T_EXPECT_NULL(t, deft_junit_new("/dev/null/report.xml"));
	T_EXPECT_NULL(t, deft_junit_new("/proc/no-such-dir/report.xml"));
}

TEST(junit_makes_missing_directories)
{
	char *path;
	T_ASSERT_GE(t, asprintf(&path, "%s/reports/unit/report.xml",
	                        t_tempdir(t)), 0);
	t_defer(t, deft_free, path);
	T_ASSERT(t, junit_one_test(path));
	char *out = slurp(t, path);
	T_EXPECT_NOT_NULL(t, strstr(out, "<testcase name=\"top\""));
}

/* A relative path is where it was when the run began, wherever the
 * tests (or TEST_MAIN) go meanwhile. */
TEST(junit_stays_where_the_run_began)
{
	const char *first = t_tempdir(t), *second = t_tempdir(t);
	t_chdir(t, first);
	struct deft_reporter *r = deft_junit_new("report.xml");
	T_ASSERT_NOT_NULL(t, r);
	t_defer(t, deft_free, r);
	t_chdir(t, second);
	struct deft_test_info top = {1, 0, "top", "x_test.c", 12, 0};
	r->begin(r, &run_info);
	r->start(r, &top);
	r->end(r, 1, &(struct deft_test_end){DEFT_PASS, DEFT_ENDED, NULL,
	                                     0.001, false});
	T_ASSERT(t, r->finish(r, &run_totals));
	char *out = slurp(t, path_in(t, first, "report.xml"));
	T_EXPECT_NOT_NULL(t, strstr(out, "<testcase name=\"top\""));
	T_EXPECT_EQ(t, access("report.xml", F_OK), -1);
}

/* A rename over the path would replace a pipe (as /dev/stdout is) with a
 * regular file, and a symbolic link rather than the file it names. */
TEST(junit_into_a_pipe_and_through_a_link)
{
	int p[2];
	T_ASSERT_EQ(t, pipe(p), 0);
	t_defer(t, close, p[0]);
	char *path;
	T_ASSERT_GE(t, asprintf(&path, "/proc/self/fd/%d", p[1]), 0);
	t_defer(t, deft_free, path);
	T_EXPECT(t, junit_one_test(path));
	T_EXPECT_EQ(t, close(p[1]), 0);
	char buf[8192];
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	T_ASSERT_GT(t, n, 0);
	buf[n] = '\0';
	T_EXPECT_NOT_NULL(t, strstr(buf, "<testcase name=\"top\""));
	T_EXPECT_NOT_NULL(t, strstr(buf, "</testsuites>\n"));

	const char *dir = t_tempdir(t);
	char *target = path_in(t, dir, "report.xml");
	char *link = path_in(t, dir, "link.xml");
	T_ASSERT_EQ(t, symlink("report.xml", link), 0);
	write_text(t, target, "the last run's report\n");
	T_EXPECT(t, junit_one_test(link));
	struct stat st;
	T_ASSERT_EQ(t, lstat(link, &st), 0);
	T_EXPECT(t, S_ISLNK(st.st_mode));
	char *out = slurp(t, target);
	T_EXPECT_NOT_NULL(t, strstr(out, "<testcase name=\"top\""));

	/* A link to a report not written yet is written through as well. */
	char *fresh = path_in(t, dir, "fresh.xml");
	char *dangling = path_in(t, dir, "dangling.xml");
	T_ASSERT_EQ(t, symlink("fresh.xml", dangling), 0);
	T_EXPECT(t, junit_one_test(dangling));
	T_ASSERT_EQ(t, lstat(dangling, &st), 0);
	T_EXPECT(t, S_ISLNK(st.st_mode));
	out = slurp(t, fresh);
	T_EXPECT_NOT_NULL(t, strstr(out, "<testcase name=\"top\""));
}

TEST(tap_abnormal_endings)
{
	struct scratch s;
	scratch_open(t, &s);
	struct deft_reporter *r = deft_tap_new(s.fd);
	t_defer(t, deft_free, r);
	feed(r, false);
	T_EXPECT(t, r->finish(r, &run_totals));
	char *out = slurp(t, s.path);
	T_EXPECT_EQ(t, out,
		"TAP version 14\n"
		"# -shuffle 42\n"
		"# Subtest: top\n"
		"    #     x_test.c:14: about to crash\n"
		"    not ok 1 - top/sub\n"
		"      ---\n"
		"      message: \"test crashed: its parent test ended before "
		"it\"\n"
		"      severity: fail\n"
		"      ...\n"
		"    1..1\n"
		"not ok 1 - top\n"
		"  ---\n"
		"  message: \"test crashed: signal SIGSEGV\"\n"
		"  severity: fail\n"
		"  ...\n"
		"not ok 2 - slow\n"
		"  ---\n"
		"  message: \"test timed out: after 10s\"\n"
		"  severity: timeout\n"
		"  ...\n"
		"# to stdout ]]> \\x1b[31mto stderr\n"
		"ok 3 - noisy\n"
		"not ok 4 - last\n"
		"  ---\n"
		"  message: \"test interrupted: the run ended before it\"\n"
		"  severity: fail\n"
		"  ...\n"
		"1..4\n");
}

/* What h prints, as a string to free. */
static char *held_printed(T *t, const struct deft_held *h)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	T_ASSERT_NOT_NULL(t, f);
	T_EXPECT(t, deft_held_print(f, h));
	fclose(f);
	return text;
}

static void add_block(struct deft_held *h, const char *head,
                      struct deft_held *inner)
{
	struct deft_buf b = DEFT_BUF_INIT;
	deft_buf_puts(&b, head);
	deft_held_add_block(h, &b, inner);
}

/* The layout console.c and tap.c used to get by indenting each ended
 * subtest's text into its parent's (and Go's indenter gives): each line,
 * blank ones too, four spaces a level, a block after part of a line
 * starting with four spaces only, every block and the whole ended by a
 * newline, continued lines left as they are. */
TEST(held_layout)
{
	struct deft_held leaf = DEFT_HELD_INIT, mid = DEFT_HELD_INIT,
	                 top = DEFT_HELD_INIT;
	deft_held_add(&leaf, "leaf log\nsecond", 15);
	deft_held_add(&mid, "mid partial", 11);
	add_block(&mid, "--- FAIL: a/b/c\n", &leaf);
	T_EXPECT_NULL(t, leaf.first);
	deft_held_add(&mid, "after\n\nblank", 12);
	deft_held_add(&mid, " continued\n", 11);
	add_block(&top, "--- FAIL: a/b\n", &mid);
	add_block(&top, "--- PASS: a/e\n", &(struct deft_held)DEFT_HELD_INIT);
	deft_held_add(&top, "tail", 4);
	char *got = held_printed(t, &top);
	T_EXPECT_EQ(t, got,
	            "    --- FAIL: a/b\n"
	            "    mid partial    --- FAIL: a/b/c\n"
	            "        leaf log\n"
	            "        second\n"
	            "    after\n"
	            "    \n"
	            "    blank continued\n"
	            "    --- PASS: a/e\n"
	            "tail\n");
	deft_free(got);
	deft_held_free(&top);
	T_EXPECT_NULL(t, top.first);
}

/* A block with no head (TAP's subtests) is only indented; moving a list
 * keeps its order and empties the source; nothing prints nothing. */
TEST(held_move_and_headless_blocks)
{
	struct deft_held h = DEFT_HELD_INIT, sub = DEFT_HELD_INIT,
	                 more = DEFT_HELD_INIT;
	char *got = held_printed(t, &h);
	T_EXPECT_EQ(t, got, "");
	deft_free(got);
	deft_held_add(&h, "# Subtest: a\n", 13);
	deft_held_add(&sub, "ok 1 - a/b\n1..1\n", 16);
	struct deft_buf none = DEFT_BUF_INIT;
	deft_held_add_block(&h, &none, &sub);
	deft_held_add(&more, "ok 1 - a\n", 9);
	deft_held_move(&h, &more);
	T_EXPECT_NULL(t, more.first);
	deft_held_move(&h, &more);
	got = held_printed(t, &h);
	T_EXPECT_EQ(t, got, "# Subtest: a\n    ok 1 - a/b\n    1..1\n"
	                    "ok 1 - a\n");
	deft_free(got);
	deft_held_free(&h);
}

/* Tests nest as deep as a test likes: printing and freeing use no
 * recursion, and each line is indented once, as it is printed. */
TEST(held_deep_nesting)
{
	enum { DEPTH = 2000 };
	struct deft_held *levels = calloc(DEPTH + 1, sizeof(*levels));
	T_ASSERT_NOT_NULL(t, levels);
	deft_held_add(&levels[DEPTH], "bottom\n", 7);
	for (int d = DEPTH; d > 0; d--)
		add_block(&levels[d - 1], "--- FAIL: d\n", &levels[d]);
	char *got = held_printed(t, &levels[0]);
	size_t len = strlen(got);
	/* Level d's result line has 4d spaces, the bottom line 4 * DEPTH. */
	size_t want = 0;
	for (size_t d = 1; d <= DEPTH; d++)
		want += 4 * d + strlen("--- FAIL: d\n");
	want += 4 * (size_t)DEPTH + strlen("bottom\n");
	T_EXPECT_EQ(t, len, want);
	T_EXPECT(t, len > 7 && strcmp(got + len - 7, "bottom\n") == 0);
	deft_free(got);
	deft_held_free(&levels[0]);
	deft_free(levels);
}

static struct deft_node *tree_add(struct deft_tree *tree, unsigned id,
                                  unsigned parent)
{
	struct deft_test_info ti = {.id = id, .parent = parent, .name = "x"};
	return deft_tree_add(tree, &ti, 0);
}

/* The reporters' open tests (tree.h): found by id, removed in any
 * order, and a parent knows whether it has open subtests, with ten
 * thousand subtests open at once as a test with parallel subtests has. */
TEST(tree_many_open_subtests)
{
	enum { N = 10000 };
	struct deft_tree tree = {0};
	struct deft_node *top = tree_add(&tree, 1, 0);
	for (unsigned id = 2; id < N + 2; id++)
		T_ASSERT_PTR_EQ(t, tree_add(&tree, id, 1)->parent, top);
	T_EXPECT_EQ(t, tree.nopen, (size_t)N + 1);
	for (unsigned id = 1; id < N + 2; id++)
		T_ASSERT_EQ(t, deft_tree_find(&tree, id)->id, id);
	T_EXPECT_NULL(t, deft_tree_find(&tree, N + 2));
	/* Ends every other subtest, odd ids from the oldest, even ones
	 * from the newest; each is gone and the rest stay. */
	for (unsigned id = 3; id < N + 2; id += 2)
		deft_tree_remove(&tree, deft_tree_find(&tree, id));
	for (unsigned id = N; id >= 2; id -= 2) {
		T_EXPECT_NULL(t, deft_tree_find(&tree, id + 1));
		deft_tree_remove(&tree, deft_tree_find(&tree, id));
		T_EXPECT_NULL(t, deft_tree_find(&tree, id));
		if (id > 2)
			T_ASSERT_NOT_NULL(t, deft_tree_find(&tree, id - 2));
	}
	T_EXPECT_EQ(t, top->open_subtests, (size_t)0);
	T_EXPECT_NULL(t, deft_tree_open_child(&tree, top));
	T_EXPECT_PTR_EQ(t, tree.open, top);
	T_EXPECT_NULL(t, top->next);
	deft_tree_remove(&tree, top);
	T_EXPECT_NULL(t, tree.open);
	T_EXPECT_EQ(t, tree.nopen, (size_t)0);
	deft_free(tree.slots);
}

/* A subtest still open when its parent ends (its process crashed) is
 * found as the parent's open child, newest first, and is left without a
 * parent if the parent goes first. */
TEST(tree_open_children)
{
	struct deft_tree tree = {0};
	struct deft_node *top = tree_add(&tree, 1, 0);
	struct deft_node *a = tree_add(&tree, 2, 1);
	struct deft_node *b = tree_add(&tree, 3, 1);
	struct deft_node *inner = tree_add(&tree, 4, 2);
	T_EXPECT_EQ(t, inner->depth, 2);
	T_EXPECT_PTR_EQ(t, deft_tree_open_child(&tree, top), b);
	T_EXPECT_PTR_EQ(t, deft_tree_open_child(&tree, a), inner);
	T_EXPECT_NULL(t, deft_tree_open_child(&tree, b));
	deft_tree_remove(&tree, b);
	T_EXPECT_PTR_EQ(t, deft_tree_open_child(&tree, top), a);
	deft_tree_remove(&tree, a);
	T_EXPECT_NULL(t, inner->parent);
	T_EXPECT_NULL(t, deft_tree_open_child(&tree, top));
	deft_tree_remove(&tree, inner);
	deft_tree_remove(&tree, top);
	T_EXPECT_EQ(t, tree.nopen, (size_t)0);
	deft_free(tree.slots);
}
