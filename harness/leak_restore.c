/*
 * leak_restore.c - putting back what a test changed and left changed:
 * its standard descriptors and their stdio streams, environment
 * variables, the working directory and the umask.  leak.c finds each
 * difference, calls here as it finds it, and says "(restored)" when
 * this put it back.
 */
#include "internal.h"
#include "leak_restore.h"
#include "leak_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copies of descriptors 0, 1 and 2 as the run began without isolation
 * (-1 where one was closed), to put back after a test that closed or
 * replaced one: the tests after it, and the runner's own messages to
 * stderr, would lose them. */
static int std_copy[3] = {-1, -1, -1};

void deft_leak_keep_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		std_copy[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (std_copy[fd] >= 0)
			deft_leak_ignore_own_fd(std_copy[fd]);
	}
}

/* Puts back standard descriptor fd as it was before the test, from its
 * copy, with its stdio stream: flushed first, so that what the test
 * printed goes where the test sent it, and opened again if the test
 * closed it with fclose. */
bool deft_leak_restore_std_fd(int fd, const struct fd_id *was)
{
	struct stat st;
	if (std_copy[fd] < 0 || fstat(std_copy[fd], &st) != 0 ||
	    st.st_dev != was->dev || st.st_ino != was->ino)
		return false;
	FILE **stream = fd == 0 ? &stdin : fd == 1 ? &stdout : &stderr;
	bool closed = fileno(*stream) < 0;
	if (!closed)
		fflush(*stream);
	if (dup2(std_copy[fd], fd) != fd)
		return false;
	if (closed) {
		/* glibc's std streams are variables, meant to be set */
		FILE *f = fdopen(fd, fd == 0 ? "r" : "w");
		if (f == NULL)
			return false;
		if (fd == 2)
			setvbuf(f, NULL, _IONBF, 0);
		*stream = f;
	}
	clearerr(*stream);
	return true;
}

bool deft_leak_std_kept(int fd)
{
	return std_copy[fd] >= 0;
}

void deft_leak_restore_env(const char *entry, size_t name_len, bool set)
{
	char *name = deft_xstrndup(entry, name_len);
	if (set) {
		const char *eq = strchr(entry, '=');
		setenv(name, eq ? eq + 1 : "", 1);
	} else {
		unsetenv(name);
	}
	deft_free(name);
}

int deft_leak_restore_cwd(const char *dir)
{
	return chdir(dir) == 0 ? 0 : errno;
}

void deft_leak_restore_umask(mode_t mask)
{
	umask(mask);
}
