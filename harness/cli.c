/*
 * cli.c - t_main: the command line, and what it sets going.
 *
 * Flags follow go test's names and syntax: -flag value, -flag=value,
 * --flag, and the -test. prefix that go test passes, so tools that drive
 * Go test binaries can drive this one.  A usage error prints one line
 * naming the problem and returns 2; nothing has run by then.
 */
#include "internal.h"
#include "supervisor.h"
#include "../reporters/report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct deft_options deft_opt;

static const char usage_text[] =
	"usage: %s [flags]\n"
	"\n"
	"Runs the tests linked into this program.\n"
	"\n"
	"  -run REGEXP      run only tests matching REGEXP; '/' separates\n"
	"                   the levels of subtest names, as with go test\n"
	"  -skip REGEXP     do not run tests matching REGEXP\n"
	"  -list REGEXP     list the top-level tests matching REGEXP, and exit\n"
	"  -v               print every test as it runs, and all logs\n"
	"  -count N         run each test N times (default 1)\n"
	"  -failfast        start no new test after the first failure\n"
	"  -retries N       run a failed top-level test again, up to N times,\n"
	"                   until it passes; one that then passes is flaky\n"
	"  -fail-on-flaky   a flaky test fails the run (exit status 1)\n"
	"  -shuffle off|on|SEED\n"
	"                   run top-level tests in random order; the seed\n"
	"                   is printed so the order can be repeated\n"
	"  -isolation process|none\n"
	"                   run each top-level test in a process of its own\n"
	"                   (default), or all in this one (for debuggers)\n"
	"  -jobs N          run up to N test processes at once (default 1)\n"
	"  -test-timeout D  a test's deadline, e.g. 500ms, 2s, 1m (default\n"
	"                   none); TEST(name, .timeout_ms = N) overrides it\n"
	"  -grace D         from a test's deadline to its kill (default 1s)\n"
	"  -timeout D       the whole run's deadline: contexts are cancelled,\n"
	"                   then tests still running killed after -grace\n"
	"                   (default 10m; 0: none)\n"
	"  -timeout-scale F multiply each of those deadlines, .timeout_ms and\n"
	"                   death tests' 10s by F (e.g. 3 under valgrind);\n"
	"                   also taken from DEFT_TIMEOUT_SCALE\n"
	"  -parallel N      run at most N parallel tests at once (default:\n"
	"                   the number of online CPUs)\n"
	"  -json            print the test2json event stream (go test -json)\n"
	"                   on stdout instead of the console format\n"
	"  -junit FILE      write a JUnit XML report to FILE\n"
	"  -tap             print TAP version 14 on stdout instead\n"
	"  -shard I/N       run only shard I (0 to N-1) of N; also taken from\n"
	"                   GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS and Bazel's\n"
	"                   TEST_SHARD_INDEX/TEST_TOTAL_SHARDS\n"
	"  -leaks fail|warn|off\n"
	"                   what a top-level test that leaves descriptors,\n"
	"                   threads, children or changed process state\n"
	"                   behind does: fail (default), warn, or no check\n"
	"  -h, -help        print this help\n"
	"\n"
	"Exit status: 0 if every test passed, 1 if one failed, 2 for a usage "
	"error;\na program with a TEST_MAIN exits with what it returns.\n";

struct flag_state {
	const char *prog;
	const char *list;
	bool help;
	bool isolated;
	struct deft_supervisor_options sup;
	const char *junit;
	bool json, tap;
};

static int usage_error(const char *fmt, ...) DEFT_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("deft: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (run with -h for the flags)\n", stderr);
	va_end(ap);
	return 2;
}

static int parse_bool(const char *name, const char *value, bool *out)
{
	if (value == NULL || strcmp(value, "true") == 0 ||
	    strcmp(value, "1") == 0)
		*out = true;
	else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
		*out = false;
	else
		return usage_error("invalid boolean value \"%s\" for -%s",
		                   value, name);
	return 0;
}

static int parse_filter(const char *name, const char *value,
                        struct deft_filter **out)
{
	deft_filter_free(*out);
	*out = NULL;
	if (value[0] == '\0')
		return 0;
	struct deft_buf err = DEFT_BUF_INIT;
	char flag[32];
	snprintf(flag, sizeof(flag), "-%s", name);
	*out = deft_filter_new(value, flag, &err);
	if (*out == NULL) {
		usage_error("%s", err.data);
		deft_buf_free(&err);
		return 2;
	}
	return 0;
}

static int parse_shuffle(const char *value)
{
	if (strcmp(value, "off") == 0) {
		deft_opt.shuffle = false;
		return 0;
	}
	deft_opt.shuffle = true;
	if (strcmp(value, "on") == 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		deft_opt.seed = (uint64_t)now.tv_sec * 1000000000u +
		                (uint64_t)now.tv_nsec;
		return 0;
	}
	char *end;
	errno = 0;
	deft_opt.seed = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-')
		return usage_error("invalid value \"%s\" for -shuffle: want "
		                   "off, on or a number", value);
	return 0;
}

/* A Go duration ("1m30s", "2.5s", "250ms", or 0) in milliseconds; one
 * that is not 0 is at least 1ms. */
static bool parse_duration(const char *s, long *ms)
{
	double seconds;
	if (!deft_parse_duration(s, &seconds) || seconds > (double)LONG_MAX / 2e3)
		return false;
	*ms = (long)(seconds * 1e3 + 0.5);
	if (*ms == 0 && seconds > 0)
		*ms = 1;
	return true;
}

static int set_duration(const char *name, const char *value, long *ms)
{
	if (!parse_duration(value, ms))
		return usage_error("invalid value \"%s\" for -%s: want a "
		                   "duration such as 500ms, 2s or 1m30s",
		                   value, name);
	return 0;
}

/* -timeout-scale F, or DEFT_TIMEOUT_SCALE=F (from says which). */
static int set_timeout_scale(const char *from, const char *value)
{
	char *end;
	errno = 0;
	double f = strtod(value, &end);
	if (errno || end == value || *end != '\0' || !(f > 0) || f > 1000)
		return usage_error("invalid value \"%s\" for %s: want a "
		                   "number above 0 and at most 1000, such as "
		                   "2 or 1.5", value, from);
	deft_opt.timeout_scale = f;
	return 0;
}

/* Multiplies the run's deadlines by -timeout-scale; a test's own
 * .timeout_ms is scaled when its process starts (deft_scaled_ms). */
static void scale_timeouts(struct flag_state *st)
{
	st->sup.test_timeout_ms = deft_scaled_ms(st->sup.test_timeout_ms);
	st->sup.run_timeout_ms = deft_scaled_ms(st->sup.run_timeout_ms);
	st->sup.grace_ms = deft_scaled_ms(st->sup.grace_ms);
}

static int parse_shard(const char *value)
{
	struct deft_buf err = DEFT_BUF_INIT;
	int rc = deft_shard_parse(value, &err) ? usage_error("%s", err.data)
	                                        : 0;
	deft_buf_free(&err);
	return rc;
}

/* Bazel's test protocol and GoogleTest's sharding variables, for what
 * the command line did not set (see shard.c). */
static int read_test_env(struct flag_state *st)
{
	struct deft_buf err = DEFT_BUF_INIT;
	int rc = deft_shard_from_env(&err) ? usage_error("%s", err.data) : 0;
	deft_buf_free(&err);
	if (rc)
		return rc;
	const char *xml = getenv("XML_OUTPUT_FILE");
	if (st->junit == NULL && xml && *xml)
		st->junit = xml;
	const char *scale = getenv("DEFT_TIMEOUT_SCALE");
	if (deft_opt.timeout_scale == 0 && scale && *scale &&
	    set_timeout_scale("DEFT_TIMEOUT_SCALE", scale))
		return 2;
	if (deft_opt.timeout_scale == 0)
		deft_opt.timeout_scale = 1;
	const char *only = getenv("TESTBRIDGE_TEST_ONLY");
	if (deft_opt.run == NULL && only && *only)
		return parse_filter("run", only, &deft_opt.run);
	return 0;
}

/* Sets *n to the integer value of flag -name, from min to max. */
static int set_number(const char *name, const char *value, long min,
                      long max, long *n)
{
	const char *err = NULL;
	long v = strtonum(value, min, max, &err);
	if (err)
		return usage_error("invalid value \"%s\" for -%s: %s (want "
		                   "%ld to %ld)", value, name, err, min, max);
	*n = v;
	return 0;
}

/* Sets one flag; value is NULL when none was given with '='. */
static int set_flag(struct flag_state *st, const char *name,
                    const char *value, char ***rest)
{
	static const char *const bools[] = {"v", "failfast", "h", "help",
	                                    "json", "tap", "fail-on-flaky"};
	bool is_bool = false;
	for (size_t i = 0; i < sizeof(bools) / sizeof(*bools); i++)
		is_bool |= strcmp(name, bools[i]) == 0;
	if (is_bool) {
		bool on = false;
		if (parse_bool(name, value, &on))
			return 2;
		if (strcmp(name, "json") == 0)
			st->json = on;
		else if (strcmp(name, "tap") == 0)
			st->tap = on;
		else if (strcmp(name, "fail-on-flaky") == 0)
			deft_opt.fail_on_flaky = on;
		else if (name[0] == 'v')
			deft_opt.verbose = on;
		else if (name[0] == 'f')
			deft_opt.failfast = on;
		else
			st->help = on;
		return 0;
	}
	static const char *const valued[] = {
		"run", "skip", "list", "count", "shuffle", "isolation",
		"jobs", "test-timeout", "timeout", "grace", "junit", "shard",
		"leaks", "parallel", "timeout-scale", "retries"};
	bool known = false;
	for (size_t i = 0; i < sizeof(valued) / sizeof(*valued); i++)
		known |= strcmp(name, valued[i]) == 0;
	if (!known)
		return usage_error("flag provided but not defined: -%s", name);
	if (value == NULL) {
		if (**rest == NULL)
			return usage_error("flag needs an argument: -%s", name);
		value = **rest;
		(*rest)++;
	}
	if (strcmp(name, "run") == 0)
		return parse_filter(name, value, &deft_opt.run);
	if (strcmp(name, "skip") == 0)
		return parse_filter(name, value, &deft_opt.skip);
	if (strcmp(name, "shuffle") == 0)
		return parse_shuffle(value);
	if (strcmp(name, "leaks") == 0 &&
	    !deft_leak_parse_mode(value, &deft_opt.leaks))
		return usage_error("invalid value \"%s\" for -leaks: want "
		                   "fail, warn or off", value);
	if (strcmp(name, "leaks") == 0)
		return 0;
	if (strcmp(name, "list") == 0) {
		st->list = value;
		return 0;
	}
	if (strcmp(name, "isolation") == 0) {
		if (strcmp(value, "process") != 0 && strcmp(value, "none") != 0)
			return usage_error("invalid value \"%s\" for "
			                   "-isolation: want process or none",
			                   value);
		st->isolated = strcmp(value, "process") == 0;
		return 0;
	}
	if (strcmp(name, "test-timeout") == 0)
		return set_duration(name, value, &st->sup.test_timeout_ms);
	if (strcmp(name, "timeout") == 0)
		return set_duration(name, value, &st->sup.run_timeout_ms);
	if (strcmp(name, "grace") == 0)
		return set_duration(name, value, &st->sup.grace_ms);
	if (strcmp(name, "timeout-scale") == 0)
		return set_timeout_scale("-timeout-scale", value);
	if (strcmp(name, "junit") == 0) {
		if (value[0] == '\0')
			return usage_error("-junit needs a file name");
		st->junit = value;
		return 0;
	}
	if (strcmp(name, "shard") == 0)
		return parse_shard(value);
	long jobs = st->sup.jobs;
	if (strcmp(name, "jobs") == 0) {
		int rc = set_number(name, value, 1, 1024, &jobs);
		st->sup.jobs = (int)jobs;
		return rc;
	}
	if (strcmp(name, "retries") == 0)
		return set_number(name, value, 0, 100, &deft_opt.retries);
	if (strcmp(name, "parallel") == 0)
		return set_number(name, value, 1, 100000, &deft_opt.parallel);
	return set_number(name, value, 1, 1000000, &deft_opt.count);
}

static int parse_flags(struct flag_state *st, char **argv)
{
	char **rest = argv + 1;
	while (*rest) {
		char *arg = *rest++;
		if (strcmp(arg, "--") == 0)
			break;
		if (arg[0] != '-' || arg[1] == '\0')
			return usage_error("unexpected argument \"%s\"", arg);
		const char *name = arg + 1 + (arg[1] == '-');
		if (strncmp(name, "test.", 5) == 0)
			name += 5;
		char buf[64];
		const char *eq = strchr(name, '=');
		const char *value = NULL;
		if (eq) {
			size_t len = (size_t)(eq - name);
			if (len >= sizeof(buf))
				len = sizeof(buf) - 1;
			memcpy(buf, name, len);
			buf[len] = '\0';
			name = buf;
			value = eq + 1;
		}
		if (name[0] == '\0')
			return usage_error("bad flag syntax: %s", arg);
		if (set_flag(st, name, value, &rest))
			return 2;
	}
	if (*rest)
		return usage_error("unexpected argument \"%s\"", *rest);
	return 0;
}

static int list_tests(const char *pattern)
{
	regex_t re;
	int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char msg[256];
		regerror(rc, &re, msg, sizeof(msg));
		return usage_error("invalid regular expression for -list "
		                   "(\"%s\"): %s", pattern, msg);
	}
	size_t n;
	struct deft_test_def **defs = deft_registry(&n);
	for (size_t i = 0; i < n; i++)
		if (regexec(&re, defs[i]->name, 0, NULL, 0) == 0)
			puts(defs[i]->name);
	regfree(&re);
	return 0;
}

struct t_m {
	struct flag_state *st;
	bool ran;
};

/* Whether a test failed, or passed only on a retry with -fail-on-flaky. */
static bool run_failed(void)
{
	struct deft_totals tot = deft_report_totals();
	return tot.failed || (deft_opt.fail_on_flaky && tot.flaky);
}

int t_run_tests(t_m *m)
{
	if (m->ran) {
		fprintf(stderr, "deft: t_run_tests called twice: the tests "
		        "have run\n");
		return 2;
	}
	m->ran = true;
	struct flag_state *st = m->st;
	int interrupted = 0;
	if (st->isolated) {
		size_t n;
		const struct deft_test_def **tests = deft_schedule(&n);
		st->sup.failfast = deft_opt.failfast;
		interrupted = deft_supervise(tests, n, &st->sup);
		deft_free(tests);
	} else {
		if (deft_opt.leaks != DEFT_LEAKS_OFF)
			deft_leak_keep_std_fds();
		deft_ctx_set_timeout((double)st->sup.run_timeout_ms / 1000,
		                     (double)st->sup.grace_ms / 1000);
		deft_ctx_install_signals();
		deft_run_in_process();
		if (deft_run_interrupted())
			interrupted = deft_run_interrupted_by();
	}
	if (interrupted)
		return 128 + interrupted;
	return run_failed() ? 1 : 0;
}

/* A standard descriptor the runner was started without (`>&-`) is held
 * by /dev/null, read-only, so that a write to it still fails as one to a
 * closed descriptor does.  Else the first file the run opens takes its
 * number: the console would write into the JUnit report, and a test's
 * stdout into whatever the test opened first. */
static void hold_missing_std_fds(void)
{
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0 && null != fd) {
			dup2(null, fd);
			close(null);
		}
	}
}

static bool use_colour(void)
{
	const char *term = getenv("TERM");
	return isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
	       term != NULL && strcmp(term, "dumb") != 0;
}

int t_main(int argc, char **argv)
{
	struct flag_state st = {
		.prog = argv[0] ? argv[0] : "test",
		.isolated = true,
		.sup = {.jobs = 1, .run_timeout_ms = 10 * 60 * 1000,
		        .grace_ms = 1000},
	};
	deft_opt = (struct deft_options){.count = 1};
	hold_missing_std_fds();
	deft_forked_watch();
	deft_stack_learn();
	if (!deft_main_hook_unique())
		return 2;
	if (parse_flags(&st, argv))
		return 2;
	if (st.help) {
		printf(usage_text, st.prog);
		return 0;
	}
	if (st.list)
		return list_tests(st.list);
	if (read_test_env(&st))
		return 2;
	scale_timeouts(&st);
	if (st.json && st.tap)
		return usage_error("-json and -tap both write to stdout: "
		                   "choose one");
	/* Made first: a report that could not be written is no reason to
	 * run the tests for nothing. */
	struct deft_reporter *junit = NULL;
	if (st.junit && (junit = deft_junit_new(st.junit)) == NULL) {
		fprintf(stderr, "deft: no test was run\n");
		return 2;
	}
	if (st.json)
		deft_report_add(deft_json_new(STDOUT_FILENO));
	else if (st.tap)
		deft_report_add(deft_tap_new(STDOUT_FILENO));
	else
		deft_report_add(deft_console_new(deft_opt.verbose,
		                                 use_colour(), !st.isolated));
	if (junit)
		deft_report_add(junit);
	deft_premature_exit_mark(true);
	struct deft_run_info run = {argc, argv, deft_base_name(st.prog),
	                            deft_opt.shuffle, deft_opt.seed, {0, 0},
	                            deft_opt.fail_on_flaky, deft_opt.retries};
	clock_gettime(CLOCK_REALTIME, &run.started);
	deft_report_begin(&run);
	deft_run_exit_watch();
	if (st.json || st.tap) {
		/* The report has its own copy of stdout now.  What the
		 * runner's process prints itself (TEST_MAIN, main cleanups,
		 * tests with -isolation none) goes to stderr, not into it. */
		fflush(stdout);
		dup2(STDERR_FILENO, STDOUT_FILENO);
	}
	if (deft_opt.shuffle) {
		char note[64];
		snprintf(note, sizeof(note), "-shuffle %" PRIu64 "\n",
		         deft_opt.seed);
		deft_report_note(note);
	}
	unsigned shard, shards;
	if (deft_sharded(&shard, &shards)) {
		char note[64];
		snprintf(note, sizeof(note), "-shard %u/%u\n", shard, shards);
		deft_report_note(note);
	}
	if (deft_opt.timeout_scale != 1) {
		char note[64];
		snprintf(note, sizeof(note), "-timeout-scale %g\n",
		         deft_opt.timeout_scale);
		deft_report_note(note);
	}
	deft_parallel_set_limit(deft_opt.parallel);
	struct t_m m = {&st, false};
	int (*hook)(t_m *) = deft_main_hook();
	int rc = hook ? hook(&m) : t_run_tests(&m);
	/* A crash on another thread is ending the run: no cleanup runs. */
	deft_run_exit_hold();
	bool cleaned = deft_main_cleanups_run();
	bool written = deft_report_finish();
	deft_threads_end();
	deft_run_exit_unwatch();
	deft_premature_exit_mark(false);
	deft_filter_free(deft_opt.run);
	deft_filter_free(deft_opt.skip);
	if (hook)
		return rc == 0 && (!cleaned || !written) ? 1 : rc;
	if (rc > 1)
		return rc;      /* interrupted */
	return run_failed() || !written ? 1 : 0;
}
