/*
 * fixture.c - helpers that change process state for one test and restore
 * it afterwards: t_setenv, t_unsetenv, t_chdir, t_umask, t_tempdir.
 *
 * Each helper saves what it changes and pushes the restore on the test's
 * cleanup stack, so restores interleave with the user's cleanups in LIFO
 * order.  The process has one environment, one working directory and one
 * umask, so, as in Go, none of them may be used in a parallel test or
 * under a parallel ancestor.  Temporary directories are removed with
 * openat/unlinkat on directory descriptors opened with O_NOFOLLOW, so a
 * symbolic link inside (or in place of) the directory is removed, never
 * followed.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

T *deft_parallel_ancestor(T *t)
{
	for (; t; t = t->parent)
		if (__atomic_load_n(&t->parallel, __ATOMIC_ACQUIRE))
			return t;
	return NULL;
}

/* Fails and stops t when it may not change process state (Go's rule). */
static void deny_if_parallel(T *t, const char *file, int line,
                             const char *fn, const char *what)
{
	T *p = deft_parallel_ancestor(t);
	if (p == NULL) {
		t->sets_process_state = true;
		return;
	}
	if (p == t)
		deft_fail_at(t, file, line, "%s called after t_parallel; "
		             "cannot %s in parallel tests", fn, what);
	else
		deft_fail_at(t, file, line, "%s called in a test whose "
		             "ancestor %s is parallel; cannot %s in parallel "
		             "tests", fn, p->name, what);
	deft_stop(t);
}

static char *arena_strdup(T *t, const char *s)
{
	size_t n = strlen(s) + 1;
	pthread_mutex_lock(&t->mu);
	char *copy = deft_arena_alloc(&t->arena, n);
	pthread_mutex_unlock(&t->mu);
	return memcpy(copy, s, n);
}

static void *arena_alloc(T *t, size_t n)
{
	pthread_mutex_lock(&t->mu);
	void *p = deft_arena_alloc(&t->arena, n);
	pthread_mutex_unlock(&t->mu);
	return p;
}

/* ---- environment ---- */

struct saved_env {
	const char *name;
	const char *old;        /* NULL: was unset */
};

static void restore_env(T *t, void *arg)
{
	struct saved_env *s = arg;
	int rc = s->old ? setenv(s->name, s->old, 1) : unsetenv(s->name);
	if (rc != 0)
		deft_fail_at(t, NULL, 0, "cannot restore environment variable "
		             "%s: %s", s->name, strerror(errno));
}

/* Saves name's value and registers its restore; false on a bad name. */
static bool save_env(T *t, const char *file, int line, const char *fn,
                     const char *name)
{
	if (name == NULL || name[0] == '\0' || strchr(name, '=')) {
		deft_fail_at(t, file, line, "%s: invalid variable name \"%s\"",
		             fn, name ? name : "(null)");
		return false;
	}
	struct saved_env *s = arena_alloc(t, sizeof(*s));
	s->name = arena_strdup(t, name);
	const char *old = getenv(name);
	s->old = old ? arena_strdup(t, old) : NULL;
	deft_cleanup(t, file, line, "restore_env", restore_env, s);
	return true;
}

void deft_setenv(T *t, const char *file, int line, const char *name,
                 const char *value)
{
	deny_if_parallel(t, file, line, "t_setenv",
	                 "set environment variables");
	if (value == NULL) {
		deft_fail_at(t, file, line, "t_setenv: value of %s is NULL "
		             "(use t_unsetenv)", name ? name : "(null)");
		deft_stop(t);
	}
	if (!save_env(t, file, line, "t_setenv", name))
		deft_stop(t);
	if (setenv(name, value, 1) != 0) {
		deft_fail_at(t, file, line, "t_setenv %s: %s", name,
		             strerror(errno));
		deft_stop(t);
	}
}

void deft_unsetenv(T *t, const char *file, int line, const char *name)
{
	deny_if_parallel(t, file, line, "t_unsetenv",
	                 "set environment variables");
	if (!save_env(t, file, line, "t_unsetenv", name))
		deft_stop(t);
	if (unsetenv(name) != 0) {
		deft_fail_at(t, file, line, "t_unsetenv %s: %s", name,
		             strerror(errno));
		deft_stop(t);
	}
}

/* ---- working directory ---- */

struct saved_cwd {
	int fd;                 /* the old directory, open: it may be gone
	                         * by name when we go back */
	const char *path;       /* for messages */
};

static void restore_cwd(T *t, void *arg)
{
	struct saved_cwd *s = arg;
	if (fchdir(s->fd) != 0)
		deft_fail_at(t, NULL, 0, "cannot go back to directory %s: %s",
		             s->path, strerror(errno));
	close(s->fd);
}

void deft_chdir(T *t, const char *file, int line, const char *dir)
{
	deny_if_parallel(t, file, line, "t_chdir",
	                 "change the working directory");
	if (dir == NULL) {
		deft_fail_at(t, file, line, "t_chdir: directory is NULL");
		deft_stop(t);
	}
	char *cwd = getcwd(NULL, 0);
	int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || cwd == NULL) {
		deft_fail_at(t, file, line, "t_chdir: cannot save the working "
		             "directory: %s", strerror(errno));
		deft_free(cwd);
		if (fd >= 0)
			close(fd);
		deft_stop(t);
	}
	struct saved_cwd *s = arena_alloc(t, sizeof(*s));
	s->fd = fd;
	s->path = arena_strdup(t, cwd);
	deft_free(cwd);
	/* As Go does, PWD follows the directory for the test's duration;
	 * its restore is pushed first, so it runs after the chdir back. */
	save_env(t, file, line, "t_chdir", "PWD");
	deft_cleanup(t, file, line, "restore_cwd", restore_cwd, s);
	if (chdir(dir) != 0) {
		deft_fail_at(t, file, line, "t_chdir %s: %s", dir,
		             strerror(errno));
		deft_stop(t);
	}
	char *now = getcwd(NULL, 0);
	if (now)
		setenv("PWD", now, 1);
	deft_free(now);
}

/* ---- umask ---- */

static void restore_umask(T *t, void *arg)
{
	(void)t;
	umask((mode_t)(uintptr_t)arg);
}

mode_t deft_umask(T *t, const char *file, int line, mode_t mask)
{
	deny_if_parallel(t, file, line, "t_umask", "change the umask");
	if (mask & ~(mode_t)0777) {
		deft_fail_at(t, file, line, "t_umask: invalid mask %#o (want "
		             "0 to 0777)", (unsigned)mask);
		deft_stop(t);
	}
	mode_t old = umask(mask);
	deft_cleanup(t, file, line, "restore_umask", restore_umask,
	             (void *)(uintptr_t)old);
	return old;
}

/* ---- temporary directories ---- */

/* Where temporary directories go: Bazel's, then the user's, then /tmp. */
static const char *temp_base(void)
{
	const char *vars[] = {"TEST_TMPDIR", "TMPDIR"};
	for (size_t i = 0; i < 2; i++) {
		const char *v = getenv(vars[i]);
		if (v && v[0])
			return v;
	}
	return "/tmp";
}

/* Appends the test's name with what is not safe in a file name as '_'. */
static void sanitised_name(struct deft_buf *b, const char *name)
{
	for (size_t i = 0; name[i] && i < 64; i++) {
		unsigned char c = (unsigned char)name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		          c == '.';
		deft_buf_putc(b, ok ? (char)c : '_');
	}
}

struct removal {
	struct deft_buf path;   /* of the entry being removed */
	int err;                /* the first errno, 0 if none */
	struct deft_buf failed; /* and the path it happened on */
};

static void removal_error(struct removal *r, int err)
{
	if (r->err)
		return;
	r->err = err;
	deft_buf_add(&r->failed, r->path.data, r->path.len);
}

static void remove_tree_at(int dirfd, struct removal *r);

/* Opens the directory name of dirfd, never through a symbolic link, with
 * the permissions to empty it: a directory the test made unreadable or
 * unwritable is still the test's to remove. */
static int open_dir_at(int dirfd, const char *name)
{
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dirfd, name, flags);
	if (fd < 0 && errno == EACCES) {
		/* O_PATH needs no permission on the directory itself; its
		 * /proc/self/fd link names exactly that directory. */
		int path = openat(dirfd, name, O_PATH | O_DIRECTORY |
		                  O_NOFOLLOW | O_CLOEXEC);
		if (path < 0)
			return -1;
		char link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", path);
		int rc = chmod(link, 0700);
		int err = errno;
		close(path);
		if (rc != 0) {
			errno = err;
			return -1;
		}
		fd = openat(dirfd, name, flags);
	}
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
		fchmod(fd, (st.st_mode & 07777) | 0700);
	return fd;
}

/* Removes the entry name of dirfd (r->path names it); never follows it. */
static void remove_entry_at(int dirfd, const char *name, struct removal *r)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return;
	if (errno != EISDIR && errno != EPERM) {
		removal_error(r, errno);
		return;
	}
	int fd = open_dir_at(dirfd, name);
	if (fd < 0) {
		removal_error(r, errno);
		return;
	}
	remove_tree_at(fd, r);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		removal_error(r, errno);
}

/* Empties the directory open as dirfd, which it closes. */
static void remove_tree_at(int dirfd, struct removal *r)
{
	DIR *d = fdopendir(dirfd);
	if (d == NULL) {
		removal_error(r, errno);
		close(dirfd);
		return;
	}
	size_t base = r->path.len;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		deft_buf_putc(&r->path, '/');
		deft_buf_puts(&r->path, e->d_name);
		remove_entry_at(dirfd, e->d_name, r);
		r->path.len = base;
		r->path.data[base] = '\0';
	}
	closedir(d);
}

static void remove_tempdir(T *t, void *arg)
{
	const char *dir = arg;
	struct removal r = {DEFT_BUF_INIT, 0, DEFT_BUF_INIT};
	struct stat st;
	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT)
			deft_fail_at(t, NULL, 0, "t_tempdir: cannot remove %s: "
			             "%s", dir, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		deft_fail_at(t, NULL, 0, "t_tempdir: cannot remove %s: it is "
		             "no longer a directory (a symbolic link or a "
		             "file took its place); left alone", dir);
		return;
	}
	deft_buf_puts(&r.path, dir);
	remove_entry_at(AT_FDCWD, dir, &r);
	if (r.err)
		deft_fail_at(t, NULL, 0, "t_tempdir: cannot remove %s: %s",
		             r.failed.data, strerror(r.err));
	deft_buf_free(&r.path);
	deft_buf_free(&r.failed);
}

const char *deft_tempdir(T *t, const char *file, int line)
{
	struct deft_buf b = DEFT_BUF_INIT;
	const char *base = temp_base();
	deft_buf_puts(&b, base);
	if (b.len == 0 || b.data[b.len - 1] != '/')
		deft_buf_putc(&b, '/');
	deft_buf_puts(&b, "deft-");
	sanitised_name(&b, t->name);
	deft_buf_puts(&b, "-XXXXXX");
	if (mkdtemp(b.data) == NULL) {
		int err = errno;
		deft_buf_free(&b);
		deft_fail_at(t, file, line, "t_tempdir: cannot create a "
		             "directory in %s: %s", base, strerror(err));
		deft_stop(t);
	}
	chmod(b.data, 0700);    /* whatever the umask */
	const char *dir = arena_strdup(t, b.data);
	deft_buf_free(&b);
	deft_cleanup(t, file, line, "remove_tempdir", remove_tempdir,
	             (void *)dir);
	return dir;
}
