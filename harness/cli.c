/*
 * cli.c - t_main: the command line, and the loop over top-level tests.
 *
 * Flags follow go test's names and syntax: -flag value, -flag=value,
 * --flag, and the -test. prefix that go test passes, so tools that drive
 * Go test binaries can drive this one.  A usage error prints one line
 * naming the problem and returns 2; nothing has run by then.
 */
#include "internal.h"
#include "../reporters/report.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct deft_options deft_opt;
extern struct deft_totals deft_totals;

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
	"  -shuffle off|on|SEED\n"
	"                   run top-level tests in random order; the seed\n"
	"                   is printed so the order can be repeated\n"
	"  -parallel N      run at most N parallel tests at once (default:\n"
	"                   the number of online CPUs)\n"
	"  -timeout D       cancel the tests' contexts after D (a Go\n"
	"                   duration: 90s, 1m30s, 250ms; 0: never)\n"
	"  -h, -help        print this help\n"
	"\n"
	"Exit status: 0 if every test passed, 1 if one failed, 2 for a usage "
	"error.\n";

struct flag_state {
	const char *prog;
	const char *list;
	bool help;
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

/* Sets one flag; value is NULL when none was given with '='. */
static int set_flag(struct flag_state *st, const char *name,
                    const char *value, char ***rest)
{
	static const char *const bools[] = {"v", "failfast", "h", "help"};
	bool is_bool = false;
	for (size_t i = 0; i < sizeof(bools) / sizeof(*bools); i++)
		is_bool |= strcmp(name, bools[i]) == 0;
	if (is_bool) {
		bool on = false;
		if (parse_bool(name, value, &on))
			return 2;
		if (name[0] == 'v')
			deft_opt.verbose = on;
		else if (name[0] == 'f')
			deft_opt.failfast = on;
		else
			st->help = on;
		return 0;
	}
	static const char *const valued[] = {"run", "skip", "list", "count",
	                                     "shuffle", "parallel", "timeout"};
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
	if (strcmp(name, "list") == 0) {
		st->list = value;
		return 0;
	}
	const char *err = NULL;
	if (strcmp(name, "parallel") == 0) {
		deft_opt.parallel = strtonum(value, 1, 100000, &err);
		if (err)
			return usage_error("invalid value \"%s\" for -parallel: "
			                   "%s (want 1 to 100000)", value, err);
		return 0;
	}
	if (strcmp(name, "timeout") == 0) {
		if (!deft_parse_duration(value, &deft_opt.timeout))
			return usage_error("invalid value \"%s\" for -timeout: "
			                   "want a duration such as 30s, 1m30s "
			                   "or 250ms", value);
		return 0;
	}
	deft_opt.count = strtonum(value, 1, 1000000, &err);
	if (err)
		return usage_error("invalid value \"%s\" for -count: %s (want "
		                   "1 to 1000000)", value, err);
	return 0;
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

/* splitmix64: a small, good generator for a reproducible shuffle. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void shuffle(struct deft_test_def **defs, size_t n, uint64_t *state)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(next_random(state) % i);
		struct deft_test_def *tmp = defs[i - 1];
		defs[i - 1] = defs[j];
		defs[j] = tmp;
	}
}

static void call_top_level(T *t, void *arg)
{
	const struct deft_test_def *def = arg;
	def->fn(t);
}

/* The loop over top-level tests, kept in memory so that another thread
 * can carry it on when a top-level test calls t_parallel. */
struct run_loop {
	struct deft_test_def **order;
	size_t n;
	size_t next;            /* index in order of the next test */
	long round;             /* of -count */
	uint64_t state;         /* -shuffle's generator */
};

/* Runs the remaining tests; false when another thread has taken over. */
static bool run_loop_resume(void *arg)
{
	struct run_loop *l = arg;
	for (; l->round < deft_opt.count; l->round++, l->next = 0) {
		if (l->next == 0 && deft_opt.shuffle)
			shuffle(l->order, l->n, &l->state);
		while (l->next < l->n) {
			struct deft_test_def *def = l->order[l->next++];
			if ((deft_opt.failfast && deft_failures) ||
			    deft_run_interrupted()) {
				l->round = deft_opt.count;
				break;
			}
			if (!deft_selected(def->name))
				continue;
			T *t = deft_test_new(NULL, def->name);
			t->file = def->file;
			t->line = def->line;
			if (!deft_top_level_run(t, call_top_level, def,
			                        run_loop_resume, l))
				return false;
		}
		deft_top_level_wait();
	}
	return true;
}

static void run_tests(void)
{
	size_t n;
	struct deft_test_def **registered = deft_registry(&n);
	struct run_loop loop = {deft_xcalloc(n, sizeof(*loop.order)), n, 0, 0,
	                        deft_opt.seed};
	memcpy(loop.order, registered, n * sizeof(*loop.order));
	if (deft_opt.shuffle) {
		char note[64];
		snprintf(note, sizeof(note), "-shuffle %" PRIu64 "\n",
		         deft_opt.seed);
		deft_report_note(note);
	}
	if (!run_loop_resume(&loop))
		deft_top_level_join();
	free(loop.order);
}

static bool use_colour(void)
{
	const char *term = getenv("TERM");
	return isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
	       term != NULL && strcmp(term, "dumb") != 0;
}

int t_main(int argc, char **argv)
{
	struct flag_state st = {argv[0] ? argv[0] : "test", NULL, false};
	deft_opt = (struct deft_options){.count = 1};
	if (parse_flags(&st, argv))
		return 2;
	if (st.help) {
		printf(usage_text, st.prog);
		return 0;
	}
	if (st.list)
		return list_tests(st.list);
	deft_report_add(deft_console_new(deft_opt.verbose, use_colour()));
	struct deft_run_info run = {argc, argv, deft_base_name(st.prog),
	                            deft_opt.shuffle, deft_opt.seed, {0, 0}};
	clock_gettime(CLOCK_REALTIME, &run.started);
	deft_report_begin(&run);
	deft_parallel_set_limit(deft_opt.parallel);
	deft_ctx_set_timeout(deft_opt.timeout);
	deft_ctx_install_signals();
	run_tests();
	bool written = deft_report_finish(&deft_totals);
	deft_filter_free(deft_opt.run);
	deft_filter_free(deft_opt.skip);
	return deft_totals.failed || !written || deft_run_interrupted() ? 1
	                                                                 : 0;
}
