/*
 * leak.c - what a top-level test left behind after its cleanups ran.
 *
 * deft_leak_before() snapshots the process before the test: open file
 * descriptors with their device and inode, threads, the children of the
 * test's thread, the environment, the working directory and the umask.
 * deft_leak_after() takes the same snapshot after the last cleanup and
 * reports the differences; what can be put back as it is found
 * (standard descriptors, environment, working directory, umask),
 * leak_restore.c puts back.  The check runs after every top-level test,
 * so the common case, nothing changed, costs one snapshot
 * (leak_snapshot.c): a clean "after" is the next test's "before", and
 * names, link targets and process states are read only for what is
 * reported.  A verdict of leak is never taken at once: the snapshot is
 * taken again after growing sleeps, for up to a second while leaked
 * threads remain (as goleak does), for up to a quarter of one while a
 * leak remains and other threads run that may still release it (a
 * server's worker closing its side of a connection), and at least once
 * otherwise, so that a thread on its way out or a loaded machine is not
 * reported.  Where a leaked thread or descriptor was created is not
 * known: interposing pthread_create and open would fight the
 * sanitizers' own interceptors, so deft does not.
 */
#include "internal.h"
#include "../reporters/report.h"
#include "leak_restore.h"
#include "leak_snapshot.h"
#include "sanitizers.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct deft_leak {
	struct snapshot before;
	pthread_mutex_t mu;     /* guards the ignore lists */
	int *ignored_fds;
	size_t n_ignored_fds;
	char (*ignored_names)[16];
	size_t n_ignored_names;
};

static int *own_fds;
static size_t n_own_fds, cap_own_fds;
static pthread_mutex_t own_mu = PTHREAD_MUTEX_INITIALIZER;

bool deft_leak_parse_mode(const char *value, enum deft_leak_mode *mode)
{
	static const char *const names[] = {"fail", "warn", "off"};
	for (int i = 0; i < 3; i++)
		if (strcmp(value, names[i]) == 0) {
			*mode = (enum deft_leak_mode)i;
			return true;
		}
	return false;
}

/* Room for more descriptors in own_fds; own_mu held. */
static void reserve_own_fds(size_t more)
{
	if (n_own_fds + more <= cap_own_fds)
		return;
	cap_own_fds = n_own_fds + more > 2 * cap_own_fds ? n_own_fds + more
	                                                 : 2 * cap_own_fds;
	own_fds = deft_xreallocarray(own_fds, cap_own_fds, sizeof(*own_fds));
}

void deft_leak_ignore_own_fd(int fd)
{
	pthread_mutex_lock(&own_mu);
	reserve_own_fds(1);
	own_fds[n_own_fds++] = fd;
	pthread_mutex_unlock(&own_mu);
	deft_leak_forget_last();
}

void deft_leak_reserve_own_fds(size_t more)
{
	pthread_mutex_lock(&own_mu);
	reserve_own_fds(more);
	pthread_mutex_unlock(&own_mu);
}

#ifdef DEFT_TSAN
static void *no_op(void *arg)
{
	return arg;
}
#endif

/* ThreadSanitizer starts a background thread with the first thread a
 * program creates: create one before the first snapshot, so that its
 * thread is in it.  Only there: a process that ever had a second thread
 * is multi-threaded to glibc for good, and its fork() then locks and
 * resets the allocator, stdio and more around every fork, which costs
 * each test process several page faults. */
static void start_runtime_threads(void)
{
#ifdef DEFT_TSAN
	pthread_t th;
	if (pthread_create(&th, NULL, no_op, NULL) == 0)
		pthread_join(th, NULL);
#endif
}

/* The snapshot after the last top-level test, when it found nothing:
 * the process has not changed since, so it is the next test's "before"
 * and each test pays for one snapshot, not two.  Forgotten in a forked
 * child and when the harness registers a descriptor of its own. */
static struct snapshot last;
static bool have_last;
static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;

void deft_leak_forget_last(void)
{
	pthread_mutex_lock(&last_mu);
	if (have_last)
		deft_snapshot_free(&last);
	have_last = false;
	pthread_mutex_unlock(&last_mu);
}

void deft_leak_start_runtime_threads(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, start_runtime_threads);
}

void deft_leak_forget_last_in_child(void)
{
	last_mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	have_last = false;      /* its memory stays: no free() here */
}

void deft_leak_before(T *t)
{
	if (deft_opt.leaks == DEFT_LEAKS_OFF || t->is_main_cleanup)
		return;
	deft_leak_start_runtime_threads();
	struct deft_leak *l = deft_xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_lock(&last_mu);
	bool reuse = have_last;
	if (reuse)
		l->before = last;
	have_last = false;
	pthread_mutex_unlock(&last_mu);
	if (!reuse)
		deft_snapshot_take(&l->before, NULL);
	t->leak = l;
}

/* ---- ignoring ---- */

static struct deft_leak *leak_of(T *t)
{
	while (t->parent)
		t = t->parent;
	return t->leak;
}

void t_leak_ignore_fd(T *t, int fd)
{
	struct deft_leak *l = leak_of(t);
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->ignored_fds = deft_xreallocarray(l->ignored_fds,
	                                    l->n_ignored_fds + 1, sizeof(int));
	l->ignored_fds[l->n_ignored_fds++] = fd;
	pthread_mutex_unlock(&l->mu);
}

void t_leak_ignore_thread_name(T *t, const char *name)
{
	struct deft_leak *l = leak_of(t);
	if (l == NULL || name == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->ignored_names = deft_xreallocarray(l->ignored_names,
	                                      l->n_ignored_names + 1, 16);
	strncpy(l->ignored_names[l->n_ignored_names], name, 15);
	l->ignored_names[l->n_ignored_names++][15] = '\0';
	pthread_mutex_unlock(&l->mu);
}

static bool fd_ignored(struct deft_leak *l, int fd)
{
	bool found = false;
	pthread_mutex_lock(&own_mu);
	for (size_t i = 0; i < n_own_fds && !found; i++)
		found = own_fds[i] == fd;
	pthread_mutex_unlock(&own_mu);
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n_ignored_fds && !found; i++)
		found = l->ignored_fds[i] == fd;
	pthread_mutex_unlock(&l->mu);
	return found;
}

static bool thread_name(int tid, char name[16])
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	return deft_proc_read_small(path, name, 16);
}

/* deft's own threads: parallel tests' workers, the thread that carries
 * the run on past a paused top-level test, the canceller of contexts and
 * those running t_after_cancel hooks. */
static bool own_thread(const char *name)
{
	return strcmp(name, "deft-worker") == 0 ||
	       strcmp(name, "deft-runner") == 0 ||
	       strcmp(name, "deft-cancel") == 0 ||
	       strcmp(name, "deft-after") == 0;
}

static bool thread_ignored(struct deft_leak *l, int tid)
{
	char name[16];
	if (!thread_name(tid, name))
		return true;    /* gone */
	if (own_thread(name))
		return true;
	bool found = false;
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n_ignored_names && !found; i++)
		found = strcmp(l->ignored_names[i], name) == 0;
	pthread_mutex_unlock(&l->mu);
	return found;
}

static bool has_int(const int *v, size_t n, int x)
{
	return n > 0 && bsearch(&x, v, n, sizeof(int), deft_cmp_int) != NULL;
}

static const struct fd_id *find_fd(const struct snapshot *s, int fd)
{
	size_t lo = 0, hi = s->nfds;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->fds[mid].fd == fd)
			return &s->fds[mid];
		if (s->fds[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- comparing ---- */

/* What differs between l->before and now.  Counts each leak; writes a
 * line for each to out when out is not NULL; *threads counts the threads
 * alone. */
struct verdict {
	size_t leaks;
	size_t threads;
	bool env, cwd, umask;
};

static void describe_fd(struct deft_buf *out, int fd, bool reopened)
{
	char path[64], target[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		n = 0;
	target[n] = '\0';
	deft_buf_printf(out, "\nfile descriptor %d: %s%s", fd,
	                n ? target : "(closed meanwhile)",
	                reopened ? " (closed and opened again: not the "
	                "file it was before the test)" : "");
}

static void compare_fds(struct deft_leak *l, const struct snapshot *now,
                        struct verdict *v, struct deft_buf *out,
                        bool restore)
{
	for (size_t i = 0; i < now->nfds; i++) {
		int fd = now->fds[i].fd;
		const struct fd_id *was = find_fd(&l->before, fd);
		bool reopened = was && (was->dev != now->fds[i].dev ||
		                        was->ino != now->fds[i].ino);
		if ((was && !reopened) || fd_ignored(l, fd))
			continue;
		v->leaks++;
		if (out)
			describe_fd(out, fd, reopened);
		if (reopened && fd < 3 && restore &&
		    deft_leak_restore_std_fd(fd, was) && out)
			deft_buf_puts(out, " (restored)");
	}
	/* A standard descriptor closed: only without isolation do later
	 * tests depend on it. */
	for (int fd = 0; fd < 3; fd++) {
		const struct fd_id *was = find_fd(&l->before, fd);
		if (!deft_leak_std_kept(fd) || was == NULL || find_fd(now, fd) ||
		    fd_ignored(l, fd))
			continue;
		v->leaks++;
		if (out)
			deft_buf_printf(out, "\nfile descriptor %d: closed", fd);
		if (restore && deft_leak_restore_std_fd(fd, was) && out)
			deft_buf_puts(out, " (restored)");
	}
}

/* The system calls a leaked thread is most often found waiting in. */
static const struct {
	long nr;
	const char *name;
} waits[] = {
#define W(x) {SYS_##x, #x}
	W(read), W(write), W(futex), W(nanosleep), W(clock_nanosleep),
	W(ppoll), W(pselect6), W(epoll_pwait), W(accept4), W(recvfrom),
	W(recvmsg), W(sendto), W(sendmsg), W(connect), W(wait4), W(waitid),
	W(rt_sigtimedwait), W(io_getevents), W(readv), W(writev),
#ifdef SYS_poll
	W(poll),
#endif
#ifdef SYS_select
	W(select),
#endif
#ifdef SYS_epoll_wait
	W(epoll_wait),
#endif
#ifdef SYS_accept
	W(accept),
#endif
#ifdef SYS_pause
	W(pause),
#endif
#undef W
};

/* Appends where thread tid waits, from /proc/self/task/TID/syscall:
 * ", waiting in read()".  Where it was created is not known. */
static void describe_wait(struct deft_buf *out, int tid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	if (!deft_proc_read_small(path, line, sizeof(line)) ||
	    line[0] < '0' || line[0] > '9')
		return;         /* "running", or not readable */
	long nr = strtol(line, NULL, 10);
	for (size_t i = 0; i < sizeof(waits) / sizeof(*waits); i++)
		if (waits[i].nr == nr) {
			deft_buf_printf(out, ", waiting in %s()",
			                waits[i].name);
			return;
		}
	deft_buf_printf(out, ", in system call %ld", nr);
}

static void compare_threads(struct deft_leak *l, const struct snapshot *now,
                            struct verdict *v, struct deft_buf *out)
{
	for (size_t i = 0; i < now->ntids; i++) {
		int tid = now->tids[i];
		if (has_int(l->before.tids, l->before.ntids, tid) ||
		    thread_ignored(l, tid))
			continue;
		v->leaks++;
		v->threads++;
		char name[16];
		if (out && thread_name(tid, name))
			deft_buf_printf(out, "\nthread %d \"%s\": still "
			                "running", tid, name);
		else if (out)
			deft_buf_printf(out, "\nthread %d: still running",
			                tid);
		if (out)
			describe_wait(out, tid);
	}
}

/* A child process left behind, as /proc/PID/stat describes it. */
struct left_child {
	int pid;
	bool exited;                    /* a zombie */
	unsigned long long started;     /* clock ticks since boot */
	char comm[32];
};

static struct left_child read_child(int pid)
{
	struct left_child c = {pid, false, 0, "?"};
	char path[64], stat[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!deft_proc_read_small(path, stat, sizeof(stat)))
		return c;
	char *open = strchr(stat, '('), *close = strrchr(stat, ')');
	if (!open || !close || close < open)
		return c;
	snprintf(c.comm, sizeof(c.comm), "%.*s", (int)(close - open - 1),
	         open + 1);
	c.exited = close[1] == ' ' && close[2] == 'Z';
	/* starttime is field 22; the fields after comm start at 3. */
	const char *p = close;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		c.started = strtoull(p + 1, NULL, 10);
	return c;
}

/* Running children first, then those that exited, each in the order they
 * started: not by pid, which wraps around. */
static int cmp_left_child(const void *a, const void *b)
{
	const struct left_child *x = a, *y = b;
	if (x->exited != y->exited)
		return x->exited ? 1 : -1;
	if (x->started != y->started)
		return x->started < y->started ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void compare_children(struct deft_leak *l, const struct snapshot *now,
                             struct verdict *v, struct deft_buf *out)
{
	struct left_child *left = NULL;
	size_t n = 0;
	if (out && now->nchildren)
		left = deft_xcalloc(now->nchildren, sizeof(*left));
	for (size_t i = 0; i < now->nchildren; i++) {
		int pid = now->children[i];
		if (has_int(l->before.children, l->before.nchildren, pid))
			continue;
		v->leaks++;
		if (left)
			left[n++] = read_child(pid);
	}
	if (n > 1)
		qsort(left, n, sizeof(*left), cmp_left_child);
	for (size_t i = 0; i < n; i++)
		deft_buf_printf(out, "\nchild process %d (%s): %s, never "
		                "waited for", left[i].pid, left[i].comm,
		                left[i].exited ? "exited" : "running");
	deft_free(left);
}

/* The entry for name (len bytes) in env, or NULL. */
static const char *env_find(const char *env, size_t n, const char *name,
                            size_t len)
{
	for (size_t i = 0; i < n; i++, env += strlen(env) + 1)
		if (strncmp(env, name, len) == 0 &&
		    (env[len] == '=' || env[len] == '\0'))
			return env;
	return NULL;
}

static size_t name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');
	return eq ? (size_t)(eq - entry) : strlen(entry);
}

static void describe_value(struct deft_buf *out, const char *entry)
{
	if (entry == NULL) {
		deft_buf_puts(out, "unset");
		return;
	}
	const char *eq = strchr(entry, '=');
	deft_buf_printf(out, "\"%s\"", eq ? eq + 1 : "");
}

/* One line per variable that differs; restores it when restore. */
static void env_differences(const struct snapshot *was,
                            const struct snapshot *now, struct verdict *v,
                            struct deft_buf *out, bool restore)
{
	const char *e = was->env.data;
	for (size_t i = 0; i < was->nenv; i++, e += strlen(e) + 1) {
		size_t len = name_len(e);
		const char *cur = env_find(now->env.data, now->nenv, e, len);
		if (cur && strcmp(cur, e) == 0)
			continue;
		v->leaks++;
		if (out) {
			deft_buf_printf(out, "\nenvironment variable %.*s: ",
			                (int)len, e);
			describe_value(out, cur);
			deft_buf_puts(out, ", was ");
			describe_value(out, e);
			deft_buf_puts(out, restore ? " (restored)" : "");
		}
		if (restore)
			deft_leak_restore_env(e, len, true);
	}
	e = now->env.data;
	for (size_t i = 0; i < now->nenv; i++, e += strlen(e) + 1) {
		size_t len = name_len(e);
		if (env_find(was->env.data, was->nenv, e, len))
			continue;
		v->leaks++;
		if (out) {
			deft_buf_printf(out, "\nenvironment variable %.*s: ",
			                (int)len, e);
			describe_value(out, e);
			deft_buf_printf(out, ", was unset%s",
			                restore ? " (restored)" : "");
		}
		if (restore)
			deft_leak_restore_env(e, len, false);
	}
}

static bool env_same(const struct snapshot *a, const struct snapshot *b)
{
	return a->nenv == b->nenv && a->env.len == b->env.len &&
	       (a->env.len == 0 ||
	        memcmp(a->env.data, b->env.data, a->env.len) == 0);
}

static bool str_same(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

static struct verdict compare(struct deft_leak *l, const struct snapshot *now,
                              struct deft_buf *out, bool restore)
{
	struct verdict v = {0};
	const struct snapshot *was = &l->before;
	compare_fds(l, now, &v, out, restore);
	compare_threads(l, now, &v, out);
	compare_children(l, now, &v, out);
	if (!env_same(was, now))
		env_differences(was, now, &v, out, restore);
	if (!str_same(was->cwd, now->cwd)) {
		v.leaks++;
		if (out)
			deft_buf_printf(out, "\nworking directory: %s, was "
			                "%s%s", now->cwd ? now->cwd :
			                "(removed)", was->cwd ? was->cwd : "?",
			                restore ? " (restored)" : "");
		int e = restore && was->cwd ? deft_leak_restore_cwd(was->cwd)
		                            : 0;
		if (e && out)
			deft_buf_printf(out, " - no: %s", strerror(e));
	}
	if (was->umask != now->umask) {
		v.leaks++;
		if (out)
			deft_buf_printf(out, "\numask: %04o, was %04o%s",
			                (unsigned)now->umask,
			                (unsigned)was->umask,
			                restore ? " (restored)" : "");
		if (restore)
			deft_leak_restore_umask(was->umask);
	}
	return v;
}

/* ---- the verdict ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Takes the snapshot again, with growing sleeps, while leaks remain:
 * up to a second while threads are among them, once otherwise. */
/* Whether a thread other than the caller and deft's own runs in the
 * process: one that may still be closing what the test left, as a
 * server's thread closes its side of a connection the test closed. */
static bool others_running(const struct snapshot *now)
{
	int self = (int)syscall(SYS_gettid);
	for (size_t i = 0; i < now->ntids; i++) {
		char name[16];
		if (now->tids[i] != self && thread_name(now->tids[i], name) &&
		    !own_thread(name))
			return true;
	}
	return false;
}

static struct verdict recheck(struct deft_leak *l, struct snapshot *now)
{
	struct verdict v;
	long waited = 0, step = 2;
	do {
		sleep_ms(step);
		waited += step;
		step = step * 2 > 100 ? 100 : step * 2;
		deft_snapshot_free(now);
		deft_snapshot_take(now, &l->before);
		v = compare(l, now, NULL, false);
	} while (waited < 1000 &&
	         (v.threads > 0 ||
	          (v.leaks > 0 && waited < 250 && others_running(now))));
	return v;
}

/* Whether a thread that was not there before the test still is, ignored
 * or not. */
static bool thread_outlived(const struct deft_leak *l,
                            const struct snapshot *now)
{
	for (size_t i = 0; i < now->ntids; i++)
		if (!has_int(l->before.tids, l->before.ntids, now->tids[i]))
			return true;
	return false;
}

/* Fails t with "head:detail" and how to allow it, or with -leaks=warn
 * only logs "head (-leaks=warn):detail" and says on the console that t
 * leaked (what: "" or " memory"). */
static void blame(T *t, const char *what, const char *head,
                  const char *detail, const char *how)
{
	struct deft_buf b = DEFT_BUF_INIT;
	bool warn = deft_opt.leaks == DEFT_LEAKS_WARN;
	deft_buf_printf(&b, "%s%s:%s%s", head, warn ? " (-leaks=warn)" : "",
	                detail, warn ? "" : how);
	if (warn) {
		deft_emit(t, NULL, 0, "%s", b.data);
		char note[256];
		snprintf(note, sizeof(note), "deft: warning: test %s leaked%s "
		         "(-leaks=warn); -v shows what\n", t->name, what);
		deft_report_note(note);
	} else {
		deft_fail_at(t, NULL, 0, "%s", b.data);
	}
	deft_buf_free(&b);
}

static void report(T *t, struct deft_leak *l, const struct snapshot *now)
{
	struct deft_buf msg = DEFT_BUF_INIT;
	struct verdict v = compare(l, now, &msg, true);
	if (v.leaks == 0) {     /* gone since the re-check */
		deft_buf_free(&msg);
		return;
	}
	blame(t, "", v.leaks == 1 ? "a leak, still there after the test's "
	                            "cleanups"
	                          : "leaks, still there after the test's "
	                            "cleanups",
	      msg.data, "\n(allow them with -leaks=warn or -leaks=off, or one "
	      "with t_leak_ignore_fd or t_leak_ignore_thread_name)");
	deft_buf_free(&msg);
}

/* LeakSanitizer's, when the program has it (built with
 * -fsanitize=address or =leak).  Its report goes to stderr. */
__attribute__((weak)) int __lsan_do_recoverable_leak_check(void);

/* In a test's own process what LeakSanitizer finds unreachable after the
 * test's cleanups is the test's: deft's own memory there is reachable.
 * Without isolation it would be every test's so far: LeakSanitizer
 * reports the run's at exit. */
static void check_memory(T *t)
{
	if (__lsan_do_recoverable_leak_check == NULL ||
	    !__lsan_do_recoverable_leak_check())
		return;
	blame(t, " memory", "memory leaked, unreachable after the test's "
	      "cleanups", " LeakSanitizer's report is the test's stderr",
	      "\n(allow it with -leaks=warn or -leaks=off, or "
	      "LSAN_OPTIONS=suppressions=FILE)");
}

void deft_leak_after(T *t)
{
	struct deft_leak *l = t->leak;
	if (l == NULL)
		return;
	/* The pipe of the test's context closes when the test is freed. */
	int ctx_fds[2];
	deft_ctx_test_fds(t, ctx_fds);
	for (int i = 0; i < 2; i++)
		if (ctx_fds[i] >= 0)
			t_leak_ignore_fd(t, ctx_fds[i]);
	t->leak = NULL;
	/* A parallel test ran alongside others, unless it had a process of
	 * its own: nothing can be blamed on it alone. */
	if (!__atomic_load_n(&t->parallel, __ATOMIC_ACQUIRE) ||
	    deft_child_isolated()) {
		struct snapshot now;
		deft_snapshot_take(&now, &l->before);
		struct verdict v = compare(l, &now, NULL, false);
		t->outlived = thread_outlived(l, &now);
		if (v.leaks == 0) {
			deft_leak_forget_last();
			pthread_mutex_lock(&last_mu);
			last = now;
			have_last = true;
			pthread_mutex_unlock(&last_mu);
		} else {
			v = recheck(l, &now);
			t->outlived = thread_outlived(l, &now);
			if (v.leaks)
				report(t, l, &now);
			deft_snapshot_free(&now);
		}
		if (deft_child_isolated())
			check_memory(t);
	}
	deft_snapshot_free(&l->before);
	pthread_mutex_destroy(&l->mu);
	deft_free(l->ignored_fds);
	deft_free(l->ignored_names);
	deft_free(l);
}
