/*
 * leak_snapshot.c - the state of the process that leak.c compares: open
 * descriptors with their device and inode, threads, children of the
 * calling thread, the environment, the working directory and the umask.
 *
 * It is taken after every top-level test, so it is kept to few system
 * calls: open descriptors are found with one poll() over the descriptor
 * table (POLLNVAL marks the closed ones; listing /proc/self/fd costs ten
 * times more), then one fstat each; a process with one thread and no
 * children is told so by a system call each, without /proc; the /proc
 * files read each time stay open, and are reopened in a forked child,
 * whose /proc/self is another.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "leak_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

extern char **environ;

int deft_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void push_int(int **v, size_t *n, size_t *cap, int x)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = deft_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = x;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* A descriptor the check keeps open between snapshots, with its identity:
 * a test that closes it (closefrom, say) and opens another file under its
 * number must not have that file read as ours, or hidden. */
struct cached_fd {
	int fd;
	dev_t dev;
	ino_t ino;
};

/* Reopened in a forked child: they name the parent's /proc entries. */
static struct {
	struct cached_fd task_dir;      /* /proc/self/task */
	struct cached_fd status;        /* /proc/self/status */
	struct cached_fd children;      /* /proc/thread-self/children ... */
	pthread_t children_of;          /* ... of this thread */
	struct pollfd *poll;
	size_t npoll;
	bool atfork;
} cache = {{-1, 0, 0}, {-1, 0, 0}, {-1, 0, 0}, 0, NULL, 0, false};

static void cache_close(struct cached_fd *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void forget_cache(void);
static struct pollfd *volatile forgotten_poll;

void deft_snapshot_prepare(void)
{
	if (!cache.atfork) {
		pthread_atfork(NULL, NULL, forget_cache);
		cache.atfork = true;
	}
}

static int cached_open(struct cached_fd *c, const char *path, int flags)
{
	deft_snapshot_prepare();
	if (c->fd < 0) {
		struct stat st;
		c->fd = open(path, flags | O_RDONLY | O_CLOEXEC);
		if (c->fd >= 0 && fstat(c->fd, &st) == 0) {
			c->dev = st.st_dev;
			c->ino = st.st_ino;
		} else if (c->fd >= 0) {
			cache_close(c);
		}
	}
	return c->fd;
}

/* Whether fd, whose identity is st, is one of ours.  One that is no
 * longer what we opened is forgotten, not closed: it is not ours now. */
static bool is_cache_fd(int fd, const struct stat *st)
{
	struct cached_fd *all[] = {&cache.task_dir, &cache.status,
	                           &cache.children};
	for (size_t i = 0; i < 3; i++) {
		if (all[i]->fd != fd)
			continue;
		if (all[i]->dev == st->st_dev && all[i]->ino == st->st_ino)
			return true;
		all[i]->fd = -1;
	}
	return false;
}

/* Forgets the cached descriptors that are closed now. */
static void forget_closed(const struct pollfd *p, size_t n)
{
	struct cached_fd *all[] = {&cache.task_dir, &cache.status,
	                           &cache.children};
	for (size_t i = 0; i < 3; i++)
		if (all[i]->fd >= 0 && (size_t)all[i]->fd < n &&
		    (p[all[i]->fd].revents & POLLNVAL))
			all[i]->fd = -1;
}

/* The numeric names in the directory open as dirfd, sorted. */
static size_t list_numbers(int dirfd, int **out)
{
	size_t n = 0, cap = 0;
	*out = NULL;
	if (dirfd < 0 || lseek(dirfd, 0, SEEK_SET) != 0)
		return 0;
	char buf[8192] __attribute__((aligned(8)));
	long got;
	while ((got = syscall(SYS_getdents64, dirfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			struct linux_dirent64 *e = (void *)(buf + off);
			off += e->d_reclen;
			if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
				push_int(out, &n, &cap, atoi(e->d_name));
		}
		/* /proc fills the buffer while entries fit: room left for
		 * another means there is none. */
		if (got < (long)sizeof(buf) - 512)
			break;
	}
	if (n > 1)
		qsort(*out, n, sizeof(**out), deft_cmp_int);
	return n;
}

/* What one read of /proc/self/status tells. */
struct status {
	size_t fdsize;          /* size of the descriptor table */
	long threads;           /* -1 if unknown */
	long umask;             /* -1 if unknown (before Linux 4.7) */
};

/* The value of the line of buf that starts with name ("Threads:"), or
 * NULL.  Found by hand, and read by status_number: the code and tables
 * of strstr and strtol, first used here, would cost each test process
 * page faults. */
static const char *status_field(const char *buf, const char *name)
{
	for (const char *line = buf; *line;) {
		size_t i = 0;
		while (name[i] && line[i] == name[i])
			i++;
		if (name[i] == '\0')
			return line + i;
		while (*line && *line != '\n')
			line++;
		if (*line)
			line++;
	}
	return NULL;
}

/* The number, in base 8 or 10, after the blanks at the start of s. */
static unsigned long status_number(const char *s, unsigned base)
{
	while (*s == ' ' || *s == '\t')
		s++;
	unsigned long v = 0;
	for (; *s >= '0' && *s < (char)('0' + base); s++)
		v = v * base + (unsigned long)(*s - '0');
	return v;
}

/* From /proc/self/status: the size of the descriptor table (FDSize, which
 * only grows, and may be above RLIMIT_NOFILE if the limit was lowered),
 * how many threads the process has, and its umask. */
static struct status read_status(void)
{
	char buf[4096];
	int fd = cached_open(&cache.status, "/proc/self/status", 0);
	ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
	const char *f = NULL, *th = NULL, *um = NULL;
	if (n > 0) {
		buf[n] = '\0';
		f = status_field(buf, "FDSize:");
		th = status_field(buf, "Threads:");
		um = status_field(buf, "Umask:");
	}
	struct status st = {
		.threads = th ? (long)status_number(th, 10) : -1,
		.umask = um ? (long)status_number(um, 8) : -1,
	};
	if (f) {
		st.fdsize = status_number(f, 10);
		return st;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
		st.fdsize = (size_t)rl.rlim_cur;
	else
		st.fdsize = 65536;
	return st;
}

/* fstat without the sanitizers' interceptors: the snapshot only looks,
 * and a thread of the test closing that descriptor meanwhile is no race
 * of the test's (ThreadSanitizer would say it is).  Non-zero on error. */
static int observe_fd(int fd, struct stat *st)
{
#ifdef SYS_fstat
	return syscall(SYS_fstat, fd, st) != 0;
#else
	return syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH) != 0;
#endif
}

/* Open descriptors are found with one poll(), which marks the others
 * POLLNVAL: listing /proc/self/fd costs ten times more. */
static void snap_fds(struct snapshot *s, size_t size)
{
	if (size > cache.npoll) {
		deft_free(cache.poll);
		cache.poll = deft_xcalloc(size, sizeof(*cache.poll));
		cache.npoll = size;
	}
	for (size_t i = 0; i < size; i++)
		cache.poll[i] = (struct pollfd){(int)i, 0, 0};
	size_t open_fds = 0;
	if (poll(cache.poll, size, 0) >= 0) {
		for (size_t i = 0; i < size; i++)
			open_fds += !(cache.poll[i].revents & POLLNVAL);
		forget_closed(cache.poll, size);
	} else {
		/* More than RLIMIT_NOFILE (lowered since the table grew):
		 * fstat tells which are open. */
		for (size_t i = 0; i < size; i++)
			cache.poll[i].revents = 0;
		open_fds = size;
	}
	s->fds = deft_xcalloc(open_fds ? open_fds : 1, sizeof(*s->fds));
	s->nfds = 0;
	for (size_t i = 0; i < size && s->nfds < open_fds; i++) {
		struct stat st;
		int fd = (int)i;
		if ((cache.poll[i].revents & POLLNVAL) || observe_fd(fd, &st) ||
		    is_cache_fd(fd, &st))
			continue;
		s->fds[s->nfds++] = (struct fd_id){fd, st.st_dev, st.st_ino};
	}
}

/* Children of the calling thread, running or zombie, and one zombie of
 * any other thread (waitid without reaping it). */
static void snap_children(struct snapshot *s)
{
	size_t cap = 0;
	s->children = NULL;
	s->nchildren = 0;
	if (cache.children.fd >= 0 &&
	    !pthread_equal(cache.children_of, pthread_self()))
		cache_close(&cache.children);
	cache.children_of = pthread_self();
	/* No child at all, of any thread and of any kind (__WALL), is the
	 * common case, and one system call tells it. */
	siginfo_t si = {0};
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) != 0 &&
	    errno == ECHILD)
		return;
	int fd = cached_open(&cache.children, "/proc/thread-self/children", 0);
	if (fd >= 0) {
		char buf[4096];
		ssize_t got = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[got > 0 ? got : 0] = '\0';
		for (char *p = buf, *end; *p; p = end) {
			long pid = strtol(p, &end, 10);
			if (end == p)
				break;
			push_int(&s->children, &s->nchildren, &cap, (int)pid);
		}
	}
	si = (siginfo_t){0};
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid > 0) {
		bool known = false;
		for (size_t i = 0; i < s->nchildren; i++)
			known |= s->children[i] == si.si_pid;
		if (!known)
			push_int(&s->children, &s->nchildren, &cap, si.si_pid);
	}
	if (s->nchildren > 1)
		qsort(s->children, s->nchildren, sizeof(int), deft_cmp_int);
}

static void snap_env(struct snapshot *s)
{
	s->env = (struct deft_buf)DEFT_BUF_INIT;
	s->nenv = 0;
	for (char **e = environ; e && *e; e++, s->nenv++)
		deft_buf_add(&s->env, *e, strlen(*e) + 1);
}

/* getcwd(NULL) would allocate from malloc's heap: see alloc.c. */
static void snap_cwd(struct snapshot *s)
{
	char buf[PATH_MAX];
	if (getcwd(buf, sizeof(buf)) != NULL)
		s->cwd = deft_xstrdup(buf);
	else
		s->cwd = errno == ERANGE ? getcwd(NULL, 0) : NULL;
}

/* Whether the calling thread is the process's only one, which then is
 * all its thread list.  unshare(CLONE_THREAD) changes nothing, and fails
 * while other threads exist: a system call instead of opening and listing
 * /proc/self/task.  Where a seccomp filter refuses it, the listing tells. */
static bool single_thread(struct snapshot *s)
{
	if (unshare(CLONE_THREAD) != 0)
		return false;
	s->ntids = 1;
	s->tids = deft_xcalloc(1, sizeof(int));
	s->tids[0] = (int)syscall(SYS_gettid);
	return true;
}

/* The threads of hint, if the process has as many threads as hint and
 * all of hint's are alive: then they are the same set.  One signal 0 a
 * thread is cheaper than listing /proc/self/task for a few threads only:
 * a system call each, against two and the listing. */
static bool same_threads(struct snapshot *s, const struct snapshot *hint,
                         long threads)
{
	if (hint == NULL || threads < 0 || (size_t)threads != hint->ntids ||
	    hint->ntids > 2)
		return false;
	pid_t pid = getpid();
	for (size_t i = 0; i < hint->ntids; i++)
		if (syscall(SYS_tgkill, pid, hint->tids[i], 0) != 0)
			return false;
	s->ntids = hint->ntids;
	s->tids = deft_xcalloc(s->ntids ? s->ntids : 1, sizeof(int));
	memcpy(s->tids, hint->tids, s->ntids * sizeof(int));
	return true;
}

void deft_snapshot_take(struct snapshot *s, const struct snapshot *hint)
{
	struct status st = read_status();
	snap_fds(s, st.fdsize);
	if (!single_thread(s) && !same_threads(s, hint, st.threads))
		s->ntids = list_numbers(cached_open(&cache.task_dir,
		                                    "/proc/self/task",
		                                    O_DIRECTORY), &s->tids);
	snap_children(s);
	snap_env(s);
	snap_cwd(s);
	if (st.umask >= 0) {
		s->umask = (mode_t)st.umask;
	} else {
		s->umask = umask(0);
		umask(s->umask);
	}
}

void deft_snapshot_free(struct snapshot *s)
{
	deft_free(s->fds);
	deft_free(s->tids);
	deft_free(s->children);
	deft_buf_free(&s->env);
	deft_free(s->cwd);
}

static void forget_cache(void)
{
	cache_close(&cache.task_dir);
	cache_close(&cache.status);
	cache_close(&cache.children);
	deft_leak_forget_last_in_child();
}

void deft_snapshot_forget_runners(void)
{
	/* Not freed: the runner's, copied; kept in sight for LeakSanitizer,
	 * once (a process this one forks keeps this one's array). */
	forgotten_poll = cache.poll;
	cache.poll = NULL;
	cache.npoll = 0;
}

/* Reads a small /proc file into buf without its final newline. */
bool deft_proc_read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return true;
}
