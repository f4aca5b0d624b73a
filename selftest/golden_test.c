/*
 * golden_test.c - runs the programs in progs/ as children and compares what
 * they print, and their exit status, with the files in golden/.
 *
 * This is how behaviour that must fail is tested: a failing cleanup, a
 * fatal in a subtest, a usage error.  Durations are normalised to (0.00s).
 * Set DEFT_UPDATE_GOLDEN=1 to rewrite the golden files from the output.
 * The programs are found next to this binary (progs/), the golden files in
 * the source tree (DEFT_SOURCE_DIR, else three levels above this binary).
 */
#define _GNU_SOURCE
#include <deft.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct golden {
	const char *name;
	const char *prog;
	const char *args[8];
};

static const struct golden cases[] = {
	{"cleanup_order", "cleanup_order", {"-v"}},
	{"failures", "failures", {0}},
	{"failures_verbose", "failures", {"-v"}},
	{"subtests", "subtests", {"-v"}},
	{"run_by_level", "subtests", {"-v", "-run", "nested/t/y"}},
	{"run_alternatives", "subtests", {"-v", "-run", "first|third"}},
	{"run_partial_match", "subtests", {"-run", "names/dup"}},
	{"skip_by_level", "subtests", {"-v", "-skip", "names|nested/two/"}},
	{"count", "subtests", {"-v", "-run", "^first$", "-count", "3"}},
	{"shuffle_seed", "subtests",
	 {"-v", "-run", "^(first|second|third)$", "-shuffle", "42"}},
	{"failfast", "subtests", {"-failfast"}},
	{"list_all", "subtests", {"-list", "."}},
	{"list_filtered", "subtests", {"-list", "^n"}},
	{"no_tests_to_run", "subtests", {"-run", "^nothing$"}},
	{"go_flag_syntax", "subtests", {"-test.run=^first$", "--v=true"}},
	{"help", "subtests", {"-h"}},
	{"usage_unknown_flag", "subtests", {"-bogus"}},
	{"usage_missing_value", "subtests", {"-run"}},
	{"usage_bad_regexp", "subtests", {"-run", "ok/[z"}},
	{"usage_bad_list_regexp", "subtests", {"-list", "("}},
	{"usage_bad_count", "subtests", {"-count", "0"}},
	{"usage_bad_shuffle", "subtests", {"-shuffle", "sometimes"}},
	{"usage_bad_bool", "subtests", {"-v=maybe"}},
	{"usage_argument", "subtests", {"extra"}},
	{"usage_bad_shard", "subtests", {"-shard", "3/3"}},
	{"usage_shard_syntax", "subtests", {"-shard", "half"}},
	{"usage_json_and_tap", "subtests", {"-json", "-tap"}},
	{"usage_empty_junit", "subtests", {"-junit="}},
	{"tap", "subtests", {"-tap"}},
	{"shard", "subtests", {"-shard", "1/3"}},
	{"junit_unwritable", "subtests",
	 {"-run", "^first$", "-junit", "/dev/null/r.xml"}},
	{"own_main", "own_main", {"-v"}},
	{"shared_library", "shared", {"-v"}},
	{"cxx", "cxx", {"-v"}},
	{"leaks", "leaks", {"-v"}},
	{"leaks_in_process", "leaks", {"-v", "-isolation=none"}},
	{"leaks_unshare_refused", "leaks", {"-v"}},
	{"leaks_unshare_refused_in_process", "leaks", {"-v", "-isolation=none"}},
	{"leaks_warn", "leaks", {"-leaks=warn", "-run", "fd_file|^env"}},
	{"leaks_warn_verbose", "leaks", {"-v", "-leaks", "warn", "-run",
	                                 "fd_file"}},
	{"leaks_off", "leaks", {"-leaks=off", "-run", "fd_file|^env"}},
	{"usage_bad_leaks", "leaks", {"-leaks=sometimes"}},
	{"fixtures", "fixtures", {"-v"}},
	{"fixtures_in_process", "fixtures", {"-v", "-isolation=none"}},
	{"leak_free", "leak_free", {"-count", "20"}},
	{"death", "death", {"-v", "-skip", "hang_past_limit"}},
	{"death_limit_scaled", "death",
	 {"-run", "^hang_past_limit$", "-timeout-scale", "0.02"}},
	{"test_main", "test_main", {"-v"}},
	{"test_main_in_process", "test_main", {"-v", "-isolation=none"}},
	{"test_main_list", "test_main", {"-list", "."}},
	{"test_main_usage", "test_main", {"-bogus"}},
	{"test_main_skip", "test_main_skip", {0}},
	{"test_main_twice", "test_main_twice", {"-v"}},
	{"exits_in_process", "exits",
	 {"-v", "-isolation=none", "-run", "^(passes|fails|exits_in_subtest)$"}},
	{"exits_from_thread_in_process", "exits",
	 {"-isolation=none", "-run", "thread"}},
	{"exits_pthread_in_process", "exits",
	 {"-isolation=none", "-run", "^(passes|pthread_exits)$"}},
	{"exits_pthread_member_in_process", "exits",
	 {"-isolation=none", "-run", "^pthread_exits_in_member$"}},
	{"exits_main", "exits", {"-run", "^(passes|fails)$"}},
	{"exits_hang_in_process", "exits",
	 {"-isolation=none", "-run", "^(passes|hangs_with_an_alarm)$",
	  "-timeout", "100ms", "-grace", "100ms"}},
	{"exits_main_cleanup", "exits", {"-v", "-run", "^passes$"}},
	{"death_in_process", "death", {"-v", "-isolation=none", "-skip",
	                               "timeout|hang_past_limit"}},
	{"echo_forgot_stop", "echo_forgot_stop", {0}},
	{"forks", "forks", {"-v"}},
	{"forks_in_process", "forks", {"-v", "-isolation=none"}},
	{"late", "late", {"-v"}},
	{"late_in_process", "late", {"-v", "-isolation=none"}},
	{"parallel", "parallel", {"-v", "-isolation=none"}},
	{"parallel_quiet", "parallel", {"-parallel", "1", "-isolation=none"}},
	{"parallel_processes", "parallel", {"-v", "-skip", "interrupt"}},
	/* A test running when the run is interrupted ends as interrupted,
	 * though it stopped when asked, as in a process of its own. */
	{"parallel_interrupt_tap", "parallel",
	 {"-tap", "-isolation=none", "-run", "interrupted_by_sigint|top_par"}},
	{"group", "group", {0}},
	{"parallel_after_setenv", "process_state", {"-v"}},
	{"group_limit_verbose", "group", {"-v", "-run", "all_pass"}},
	{"usage_bad_parallel", "parallel", {"-parallel", "0"}},
	{"usage_bad_timeout", "parallel", {"-timeout", "10"}},
	{"usage_nan_timeout", "parallel", {"-timeout", "nans"}},
	{"usage_exponent_timeout", "parallel", {"-test-timeout", "1e3ms"}},
	{"no_deadline", "parallel", {"-v", "-run", "deadline", "-timeout", "0"}},
	{"timeout_cancels_in_process", "parallel",
	 {"-v", "-run", "deadline", "-timeout", "50ms", "-isolation=none"}},
	{"timeout_cancels", "parallel",
	 {"-v", "-run", "deadline", "-timeout", "50ms"}},
	{"timeout_scale", "parallel",
	 {"-v", "-run", "deadline", "-timeout", "25ms", "-timeout-scale", "2"}},
	{"timeout_scale_env", "parallel",
	 {"-run", "deadline", "-timeout", "25ms"}},
	{"timeout_scale_flag_first", "parallel",
	 {"-run", "deadline", "-timeout", "100ms", "-timeout-scale", "0.5"}},
	{"usage_bad_timeout_scale", "parallel", {"-timeout-scale", "0"}},
	/* crashes_once's backtrace differs between variants:
	 * reports_check.py checks it */
	{"retries", "flaky",
	 {"-retries", "2", "-skip", "crashes_once|slow_fails_once"}},
	{"retries_verbose", "flaky",
	 {"-v", "-retries", "1", "-run", "flaky_subtest|always_fails"}},
	{"retries_in_process", "flaky",
	 {"-retries", "2", "-isolation=none", "-skip",
	  "crashes_once|slow_fails_once"}},
	{"retries_left_out", "flaky",
	 {"-retries", "1", "-failfast", "-jobs", "2", "-run",
	  "^(always_fails|slow_fails_once)$"}},
	{"retries_fail_on_flaky", "flaky",
	 {"-retries", "1", "-fail-on-flaky", "-run", "passes|flaky_subtest"}},
	{"no_retries", "flaky", {"-skip", "crashes_once|slow_fails_once"}},
	{"usage_bad_retries", "flaky", {"-retries", "-1"}},
	{"usage_bad_timeout_scale_env", "parallel", {0}},
	/* the endings of misbehave's tests that show no backtrace or address
	 * and that no sanitizer changes; misbehave_check.py checks the rest */
	{"misbehave_endings", "misbehave",
	 {"-v", "-run", "^(fine_first|underscore_exit|killed|close_all_fds|"
	  "close_stdout_stderr|fine_last)$"}},
};

/* What some cases need besides a program and arguments, by name: env,
 * NAME=VALUE added to the environment; via, a program of progs/ that is
 * given the case's program's path and arguments, and runs it. */
static const struct extra {
	const char *name;
	const char *env;
	const char *via;
} extras[] = {
	{"timeout_scale_env", "DEFT_TIMEOUT_SCALE=2", NULL},
	{"timeout_scale_flag_first", "DEFT_TIMEOUT_SCALE=2", NULL},
	{"usage_bad_timeout_scale_env", "DEFT_TIMEOUT_SCALE=3x", NULL},
	{"exits_main", "DEFT_EXITS_MAIN=exit", NULL},
	{"exits_main_cleanup", "DEFT_EXITS_MAIN=cleanup", NULL},
	{"leaks_unshare_refused", NULL, "no_unshare"},
	{"leaks_unshare_refused_in_process", NULL, "no_unshare"},
	/* 4000 test processes: in the asan build LeakSanitizer's look at
	 * each (tens of ms) would take minutes; memory_check.py checks it. */
	{"leak_free", "LSAN_OPTIONS=detect_leaks=0", NULL},
};

static struct extra extra_of(const struct golden *g)
{
	for (size_t i = 0; i < sizeof(extras) / sizeof(*extras); i++)
		if (strcmp(extras[i].name, g->name) == 0)
			return extras[i];
	return (struct extra){g->name, NULL, NULL};
}

static char *self_dir(void)
{
	static char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n < 0)
		return NULL;
	dir[n] = '\0';
	*strrchr(dir, '/') = '\0';
	return dir;
}

/* Reads both pipes to the end without letting either fill up. */
static void drain(int out, int err, char **obuf, size_t *olen, char **ebuf,
                  size_t *elen)
{
	FILE *o = open_memstream(obuf, olen), *e = open_memstream(ebuf, elen);
	struct pollfd p[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
	int open_fds = 2;
	while (open_fds > 0) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			char buf[4096];
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n > 0) {
				fwrite(buf, 1, (size_t)n, i ? e : o);
			} else if (n == 0 || errno != EINTR) {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
			}
		}
	}
	fclose(o);
	fclose(e);
}

/* Replaces each (1.23s) with (0.00s). */
static void normalise_durations(char *s)
{
	regex_t re;
	regcomp(&re, "\\([0-9]+\\.[0-9][0-9]s\\)", REG_EXTENDED);
	regmatch_t m;
	char *p = s;
	while (regexec(&re, p, 1, &m, 0) == 0) {
		char *start = p + m.rm_so;
		size_t len = (size_t)(m.rm_eo - m.rm_so);
		memmove(start + 7, start + len, strlen(start + len) + 1);
		memcpy(start, "(0.00s)", 7);
		p = start + 7;
	}
	regfree(&re);
}

/* Replaces each match of pattern in s with with; with is no longer than
 * any match.  For the numbers of kernel objects in leak reports. */
static void normalise(char *s, const char *pattern, const char *with)
{
	regex_t re;
	regcomp(&re, pattern, REG_EXTENDED);
	regmatch_t m;
	size_t n = strlen(with);
	char *p = s;
	while (regexec(&re, p, 1, &m, 0) == 0) {
		char *start = p + m.rm_so;
		size_t len = (size_t)(m.rm_eo - m.rm_so);
		memmove(start + n, start + len, strlen(start + len) + 1);
		memcpy(start, with, n);
		p = start + n;
	}
	regfree(&re);
}

static void normalise_volatile(char *s)
{
	normalise(s, "socket:\\[[0-9]+\\]", "socket:[N]");
	normalise(s, "pipe:\\[[0-9]+\\]", "pipe:[N]");
	normalise(s, "file descriptor [0-9]+:", "file descriptor N:");
	normalise(s, "thread [0-9]+ ", "thread N ");
	normalise(s, "child process [0-9]+ ", "child process N ");
	normalise(s, "pid [0-9]+ \\(", "pid N (");
	normalise(s, "used [0-9]+\\.[0-9]+s of CPU", "used N.NNs of CPU");
	normalise(s, "/[^ ]*/deft-[A-Za-z0-9_.-]+-[A-Za-z0-9]{6}", "$TMP");
}

/* Runs the case's program; returns what the golden file should hold. */
static char *run_case(T *t, const struct golden *g)
{
	const char *dir = self_dir(), *via = extra_of(g).via;
	T_ASSERT_NOT_NULL(t, dir);
	char path[PATH_MAX + 64], prog[PATH_MAX + 64];
	snprintf(prog, sizeof(prog), "%s/progs/%s", dir, g->prog);
	snprintf(path, sizeof(path), "%s/progs/%s", dir, via ? via : g->prog);
	char *argv[11] = {(char *)(via ? via : g->prog)};
	int argc = 1;
	if (via)
		argv[argc++] = prog;
	for (int i = 0; g->args[i]; i++)
		argv[argc++] = (char *)g->args[i];

	int out[2], err[2];
	T_ASSERT_EQ(t, pipe2(out, O_CLOEXEC), 0);
	T_ASSERT_EQ(t, pipe2(err, O_CLOEXEC), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	size_t n_env = 0;
	while (environ[n_env])
		n_env++;
	char **envp = calloc(n_env + 2, sizeof(*envp));
	T_ASSERT_NOT_NULL(t, envp);
	t_defer(t, free, envp);
	/* The outputs hold durations: the caller's scale must not change
	 * them. */
	size_t k = 0;
	for (size_t i = 0; i < n_env; i++)
		if (strncmp(environ[i], "DEFT_TIMEOUT_SCALE=", 19) != 0)
			envp[k++] = environ[i];
	envp[k] = (char *)extra_of(g).env;
	pid_t pid;
	int rc = posix_spawn(&pid, path, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	if (rc != 0) {
		close(out[0]);
		close(err[0]);
		t_fatal(t, "cannot run %s: %s", path, strerror(rc));
	}
	char *o, *e;
	size_t olen, elen;
	drain(out[0], err[0], &o, &olen, &e, &elen);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	char *result;
	size_t rlen;
	FILE *r = open_memstream(&result, &rlen);
	const char *env = extra_of(g).env;
	fprintf(r, "$ %s%s%s%s%s", env ? env : "", env ? " " : "",
	        via ? via : "", via ? " " : "", g->prog);
	for (int i = 0; g->args[i]; i++)
		fprintf(r, " %s", g->args[i]);
	if (WIFEXITED(status))
		fprintf(r, "\nexit status %d\n", WEXITSTATUS(status));
	else
		fprintf(r, "\nkilled by signal %d\n", WTERMSIG(status));
	fprintf(r, "--- stdout\n%s--- stderr\n%s", o, e);
	fclose(r);
	free(o);
	free(e);
	normalise_durations(result);
	normalise_volatile(result);
	return result;
}

/* Reads f to the end into a new string. */
static char *slurp(FILE *f)
{
	char *data = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&data, &len);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, m);
	fclose(m);
	return data;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *data = slurp(f);
	fclose(f);
	return data;
}

static void write_file(T *t, const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	T_ASSERT_NOT_NULL(t, f);
	fputs(data, f);
	T_EXPECT_EQ(t, fclose(f), 0);
}

/* Shows how got differs from the golden file, with diff -u. */
static void report_difference(T *t, const char *golden, const char *got)
{
	char *tmp = strdup("/tmp/deft-golden-XXXXXX");
	T_ASSERT_NOT_NULL(t, tmp);
	t_defer(t, free, tmp);  /* the deferred unlink runs after this frame */
	int fd = mkstemp(tmp);
	T_ASSERT_GE(t, fd, 0);
	t_defer(t, unlink, tmp);
	T_ASSERT_EQ(t, write(fd, got, strlen(got)), (ssize_t)strlen(got));
	close(fd);
	char cmd[PATH_MAX * 2 + 32];
	snprintf(cmd, sizeof(cmd), "diff -u '%s' '%s' 2>&1", golden, tmp);
	FILE *p = popen(cmd, "r");
	T_ASSERT_NOT_NULL(t, p);
	char *diff = slurp(p);
	pclose(p);
	t_error(t, "output differs from %s (DEFT_UPDATE_GOLDEN=1 rewrites "
	        "it):\n%s", golden, diff);
	free(diff);
}

static void golden_case(T *t, void *arg)
{
	const struct golden *g = arg;
	const char *src = getenv("DEFT_SOURCE_DIR");
	char golden[PATH_MAX + 64];
	if (src)
		snprintf(golden, sizeof(golden), "%s/selftest/golden/%s.txt",
		         src, g->name);
	else
		snprintf(golden, sizeof(golden),
		         "%s/../../../selftest/golden/%s.txt", self_dir(),
		         g->name);
	char *got = run_case(t, g);
	t_defer(t, free, got);
	if (getenv("DEFT_UPDATE_GOLDEN")) {
		write_file(t, golden, got);
		return;
	}
	char *want = read_file(golden);
	if (want == NULL)
		t_fatal(t, "cannot read %s: %s", golden, strerror(errno));
	t_defer(t, free, want);
	if (strcmp(want, got) != 0)
		report_difference(t, golden, got);
}

TEST(golden)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		t_run(t, cases[i].name, golden_case, (void *)&cases[i]);
}
