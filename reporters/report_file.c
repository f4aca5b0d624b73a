/*
 * report_file.c - the file a report is written into: made when the run
 * begins, renamed over its path when the run finishes.
 *
 * The file is written as <path>.XXXXXX in the same directory (made, with
 * the directories missing above it, as mkdir -p would) and renamed over
 * path when the run finishes, so a reader never sees half a report (a
 * symbolic link is followed first, so that its target is replaced, or
 * written if it does not exist yet).  A relative path is made absolute
 * at once: a TEST_MAIN or a test that changes directory does not move
 * the report.  A path that is no regular file (a FIFO, a terminal,
 * /dev/stdout) would be replaced by the rename: the file is written
 * under $TMPDIR instead, unlinked at once, and copied into path.
 */
#define _GNU_SOURCE
#include "report.h"
#include "report_file.h"
#include "../harness/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The temporaries made and not yet put in place, for
 * deft_report_files_abandon. */
enum { TEMPS = 8 };
static char *volatile temps[TEMPS];

static void note_temp(char *tmp, char *was)
{
	for (size_t i = 0; i < TEMPS; i++)
		if (temps[i] == was) {
			temps[i] = tmp;
			return;
		}
}

/* With the system call itself: from a signal handler that a sanitizer's
 * runtime does not know it is in (run_crash.c). */
void deft_report_files_abandon(void)
{
	for (size_t i = 0; i < TEMPS; i++)
		if (temps[i] != NULL)
			syscall(SYS_unlinkat, AT_FDCWD, temps[i], 0);
}

/* Frees what f holds, the file closed already. */
static void discard(struct deft_report_file *f)
{
	if (f->tmp)
		note_temp(NULL, f->tmp);
	deft_free(f->tmp);
	deft_free(f->path);
	*f = (struct deft_report_file){NULL, NULL, false, NULL};
}

/* path with its symbolic links followed, as open() would follow them:
 * also to a file that does not exist yet, which realpath() refuses. */
static char *link_target(const char *path)
{
	char *cur = deft_xstrdup(path);
	for (int hops = 0; hops < 40; hops++) {      /* Linux's ELOOP */
		struct stat st;
		char to[PATH_MAX];
		ssize_t n;
		if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode) ||
		    (n = readlink(cur, to, sizeof(to) - 1)) < 0)
			break;
		to[n] = '\0';
		struct deft_buf next = DEFT_BUF_INIT;
		const char *slash = strrchr(cur, '/');
		if (to[0] != '/' && slash)
			deft_buf_add(&next, cur, (size_t)(slash - cur) + 1);
		deft_buf_puts(&next, to);
		deft_free(cur);
		cur = deft_buf_take(&next);
	}
	return cur;
}

/* path, made absolute against the working directory now: a TEST_MAIN or
 * a test that changes directory does not move the report. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX];
	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return deft_xstrdup(path);
	struct deft_buf b = DEFT_BUF_INIT;
	deft_buf_printf(&b, "%s/%s", cwd, path);
	return deft_buf_take(&b);
}

/* Makes the directories missing above path, as mkdir -p: a CI job's
 * "-junit reports/unit.xml" in a fresh checkout. */
static void make_parents(const char *path)
{
	char *dir = deft_xstrdup(path);
	for (char *p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
			*p = '/';
			break;
		}
		*p = '/';
	}
	deft_free(dir);
}

bool deft_report_file_open(struct deft_report_file *f, const char *flag,
                           const char *path)
{
	*f = (struct deft_report_file){deft_xstrdup(path), NULL, false, NULL};
	/* A rename would replace a FIFO, a terminal or /dev/stdout with a
	 * regular file, and a symbolic link rather than its target.  Into
	 * those the finished file is copied; a link is followed. */
	struct stat st;
	f->stream = stat(f->path, &st) == 0 && !S_ISREG(st.st_mode);
	if (!f->stream) {
		char *target = link_target(f->path);
		deft_free(f->path);
		f->path = absolute(target);
		deft_free(target);
	}
	/* $TMPDIR is Bazel's $TEST_TMPDIR when that is set (shard.c). */
	const char *dir = getenv("TMPDIR");
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	struct deft_buf tmp = DEFT_BUF_INIT;
	if (f->stream)
		deft_buf_printf(&tmp, "%s/deft-report-XXXXXX", dir);
	else
		deft_buf_printf(&tmp, "%s.XXXXXX", f->path);
	f->tmp = deft_buf_take(&tmp);
	int fd = mkostemp(f->tmp, O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && !f->stream) {
		make_parents(f->path);
		/* A failed mkostemp leaves no XXXXXX in its template. */
		memcpy(f->tmp + strlen(f->tmp) - 6, "XXXXXX", 6);
		fd = mkostemp(f->tmp, O_CLOEXEC);
	}
	if (fd < 0) {
		fprintf(stderr, "deft: %s: cannot create a file %s %s: "
		        "%s\n", flag, f->stream ? "in" : "next to",
		        f->stream ? dir : f->path, strerror(errno));
		discard(f);
		return false;
	}
	if (f->stream) {        /* nothing to leave behind */
		unlink(f->tmp);
		deft_free(f->tmp);
		f->tmp = NULL;
	}
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	f->out = deft_report_fdopen(fd);
	if (f->out == NULL) {
		fprintf(stderr, "deft: %s: %s: %s\n", flag, f->path,
		        strerror(errno));
		close(fd);
		if (f->tmp)
			unlink(f->tmp);
		discard(f);
		return false;
	}
	if (f->tmp)
		note_temp(f->tmp, NULL);
	return true;
}

/* Copies the whole of file fd into path, a FIFO, terminal or pipe;
 * false with errno set when that fails. */
static bool copy_into(int fd, const char *path)
{
	int to = open(path, O_WRONLY | O_CLOEXEC);
	if (to < 0)
		return false;
	char buf[65536];
	off_t at = 0;
	ssize_t n;
	while ((n = pread(fd, buf, sizeof(buf), at)) > 0) {
		at += n;
		ssize_t done = 0;
		while (done < n) {
			ssize_t w = write(to, buf + done, (size_t)(n - done));
			if (w < 0 && errno != EINTR)
				break;
			done += w > 0 ? w : 0;
		}
		if (done < n) {
			n = -1;
			break;
		}
	}
	int err = errno;
	if (close(to) != 0 && n == 0)
		return false;
	errno = err;
	return n == 0;
}

bool deft_report_file_close(struct deft_report_file *f, const char *flag,
                            bool written)
{
	bool ok = written && f->out != NULL;
	if (f->out) {
		ok = fflush(f->out) == 0 && !ferror(f->out) && ok;
		if (f->stream)
			ok = ok && copy_into(fileno(f->out), f->path);
		else
			ok = fsync(fileno(f->out)) == 0 && ok;
		ok = deft_report_fclose(f->out) == 0 && ok;
		f->out = NULL;
		if (ok && f->tmp && rename(f->tmp, f->path) != 0)
			ok = false;
		if (!ok) {
			fprintf(stderr, "deft: %s: cannot write %s: %s\n", flag,
			        f->path, strerror(errno));
			if (f->tmp)
				unlink(f->tmp);
		}
	}
	discard(f);
	return ok;
}

void deft_report_file_forked(struct deft_report_file *f)
{
	if (f->out)
		deft_report_drop_stream(f->out);
}
