/*
 * symbolize.c - turns a child's backtrace addresses into functions and
 * source lines, in the supervisor.
 *
 * A test's process is forked from the supervisor without exec, so every
 * object loaded before the fork sits at the same address in both: the
 * supervisor can look the addresses up in its own address space.  dladdr
 * names the object and its exported symbols; addr2line (binutils), when
 * present, adds static functions and file:line from the debug info.  One
 * addr2line runs per object per backtrace, for the addresses no earlier
 * backtrace of the run had (a hung test's threads share most of their
 * frames: a thousand of them cost about as much as one), and only when a
 * test crashed or hung, so nothing of this is on a passing test's path.
 * The supervisor waits for it and meanwhile watches no test: one that
 * takes over ADDR2LINE_MS is killed, and the run's backtraces go on
 * with what dladdr knows, saying why.
 *
 * The run's own process symbolizes its own crash (run_crash.c), which may
 * have been malloc's: this calls no malloc then (alloc.c), nor
 * posix_spawn's file actions, which would.
 */
#define _GNU_SOURCE
#include "symbolize.h"
#include "internal.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct frame {
	uint64_t addr;
	Dl_info info;
	bool found;
	bool trampoline;        /* where a signal handler returns to */
	bool known;             /* looked up with addr2line, or tried */
	const char *function;   /* from addr2line, or NULL */
	const char *place;      /* file:line from addr2line, or NULL */
};

/* What addr2line said of each address so far, by address: the objects
 * it looks into are the supervisor's own, at the same addresses in every
 * test process.  Open addressing; the strings live as long as the run. */
struct known {
	uint64_t addr;          /* 0: an empty slot */
	const char *function, *place;
};

static struct known *known;
static size_t nknown, capknown;

static struct known *known_slot(struct known *table, size_t cap,
                                uint64_t addr)
{
	size_t i = (size_t)(addr * 0x9e3779b97f4a7c15ull >> 32) & (cap - 1);
	while (table[i].addr != 0 && table[i].addr != addr)
		i = (i + 1) & (cap - 1);
	return &table[i];
}

static const struct known *known_find(uint64_t addr)
{
	if (nknown == 0 || addr == 0)
		return NULL;
	const struct known *k = known_slot(known, capknown, addr);
	return k->addr ? k : NULL;
}

static void known_add(uint64_t addr, const char *function, const char *place)
{
	if (addr == 0)
		return;
	if (2 * (nknown + 1) > capknown) {
		size_t cap = capknown ? 2 * capknown : 256;
		struct known *table = deft_xcalloc(cap, sizeof(*table));
		for (size_t i = 0; i < capknown; i++)
			if (known[i].addr)
				*known_slot(table, cap, known[i].addr) =
				        known[i];
		deft_free(known);
		known = table;
		capknown = cap;
	}
	struct known *k = known_slot(known, capknown, addr);
	if (k->addr == 0)
		nknown++;
	*k = (struct known){addr, function, place};
}

/* Whether the object is position-dependent (ET_EXEC): then addr2line
 * wants absolute addresses, not offsets from its base. */
static bool is_fixed_executable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	Elf64_Ehdr eh;
	bool fixed = read(fd, &eh, sizeof(eh)) == (ssize_t)sizeof(eh) &&
	             memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
	             eh.e_type == ET_EXEC;
	close(fd);
	return fixed;
}

/* How long one addr2line may take (times -timeout-scale) before it is
 * killed and not run again in the run. */
enum { ADDR2LINE_MS = 10000 };
static bool addr2line_too_slow;

/* Reads all of fd into out until end of file or the deadline (ms of
 * CLOCK_MONOTONIC).  RETURNS: false at the deadline. */
static bool read_until(int fd, struct deft_buf *out, int64_t deadline)
{
	char buf[4096];
	for (;;) {
		int64_t left = deadline - deft_now_ns() / 1000000;
		if (left <= 0)
			return false;
		struct pollfd pfd = {fd, POLLIN, 0};
		int rc = poll(&pfd, 1, (int)(left < INT_MAX ? left : INT_MAX));
		if (rc < 0 && errno != EINTR)
			return true;
		if (rc <= 0)
			continue;
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got > 0)
			deft_buf_add(out, buf, (size_t)got);
		else if (got == 0 || (errno != EINTR && errno != EAGAIN))
			return true;
	}
}

/* The next line of text at *at, ended there; NULL past the end. */
static char *next_line(char **at)
{
	char *line = *at, *nl = line ? strchr(line, '\n') : NULL;
	if (nl == NULL)
		return NULL;    /* no line, or the last one is unfinished */
	*nl = '\0';
	*at = nl + 1;
	return line;
}

/* The file execvp would run for name, in buf; false if there is none. */
static bool find_program(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	if (path == NULL)
		path = "/bin:/usr/bin";
	size_t n = strlen(name);
	for (const char *dir = path;; dir++) {
		const char *end = strchrnul(dir, ':');
		size_t len = (size_t)(end - dir);
		if (len == 0) {         /* the working directory */
			dir = ".";
			len = 1;
		}
		if (len + 1 + n < size) {
			memcpy(buf, dir, len);
			buf[len] = '/';
			memcpy(buf + len + 1, name, n + 1);
			if (access(buf, X_OK) == 0)
				return true;
		}
		if (*end == '\0')
			return false;
		dir = end;
	}
}

/* Starts argv, addr2line, its stdout on out and its stderr on /dev/null.
 * Without malloc (alloc.c), by _Fork, which runs no fork handlers and so
 * takes no lock, and a child that makes only system calls, which no
 * sanitizer's interceptor sees.  RETURNS: 0, or an error number. */
static int start(char **argv, int out, pid_t *pid)
{
	if (!deft_avoiding_malloc()) {
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO,
		                                 "/dev/null", O_WRONLY, 0);
		int rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	char program[PATH_MAX];
	if (!find_program(argv[0], program, sizeof(program)))
		return ENOENT;
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	pid_t child = _Fork();
	if (child == 0) {
		if (syscall(SYS_dup2, out, STDOUT_FILENO) < 0 ||
		    (null >= 0 && syscall(SYS_dup2, null, STDERR_FILENO) < 0))
			syscall(SYS_exit_group, 127);
		syscall(SYS_execve, program, argv, environ);
		syscall(SYS_exit_group, 127);
	}
	int e = errno;
	if (null >= 0)
		close(null);
	if (child < 0)
		return e;
	*pid = child;
	return 0;
}

/* Runs addr2line once on the frames of one object not known yet, each
 * address once, and keeps its answers: the ones it gave within
 * ADDR2LINE_MS if it was killed then. */
static void addr2line(struct frame *frames, size_t n, const char *object)
{
	char **argv = deft_xcalloc(n + 6, sizeof(*argv));
	char (*hex)[24] = deft_xcalloc(n ? n : 1, sizeof(*hex));
	size_t *which = deft_xcalloc(n ? n : 1, sizeof(*which));
	size_t argc = 0, count = 0;
	argv[argc++] = "addr2line";
	argv[argc++] = "-C";
	argv[argc++] = "-f";
	argv[argc++] = "-e";
	argv[argc++] = (char *)object;
	bool fixed = is_fixed_executable(object);
	for (size_t i = 0; i < n; i++) {
		if (!frames[i].found || frames[i].known ||
		    strcmp(frames[i].info.dli_fname, object))
			continue;
		bool again = false;
		for (size_t k = 0; k < count && !again; k++)
			again = frames[which[k]].addr == frames[i].addr;
		if (again)
			continue;
		uint64_t a = frames[i].addr;
		if (!fixed)
			a -= (uint64_t)(uintptr_t)frames[i].info.dli_fbase;
		snprintf(hex[count], sizeof(hex[count]), "0x%llx",
		         (unsigned long long)a);
		argv[argc++] = hex[count];
		which[count++] = i;
	}
	int p[2];
	if (count == 0 || pipe2(p, O_CLOEXEC) < 0)
		goto out;
	pid_t pid;
	int rc = start(argv, p[1], &pid);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		goto out;
	}
	struct deft_buf said = DEFT_BUF_INIT;
	if (!read_until(p[0], &said, deft_now_ns() / 1000000 +
	                deft_scaled_ms(ADDR2LINE_MS))) {
		kill(pid, SIGKILL);
		addr2line_too_slow = true;
	}
	close(p[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	deft_buf_putc(&said, '\0');
	char *at = said.data;
	for (size_t k = 0; k < count; k++) {
		struct frame *fr = &frames[which[k]];
		char *function = next_line(&at), *place = next_line(&at);
		if (place == NULL)
			break;
		if (strcmp(function, "??") != 0)
			fr->function = deft_xstrdup(function);
		char *disc = strstr(place, " (discriminator");
		if (disc)
			*disc = '\0';
		if (strncmp(place, "??", 2) != 0)
			fr->place = deft_xstrdup(place);
	}
	deft_buf_free(&said);
	/* What addr2line did not answer is not asked again either. */
	for (size_t k = 0; k < count; k++)
		known_add(frames[which[k]].addr, frames[which[k]].function,
		          frames[which[k]].place);
out:
	deft_free(argv);
	deft_free(hex);
	deft_free(which);
}

/* The code of the trampoline a signal handler returns to, which makes
 * the rt_sigreturn system call (glibc's __restore_rt, a sanitizer's own,
 * the kernel's in the vDSO). */
#if defined(__x86_64__)
/* mov $15, %rax; syscall */
#define SIGRETURN_CODE 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05
#elif defined(__aarch64__)
/* mov x8, #139; svc #0 */
#define SIGRETURN_CODE 0x68, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4
#endif

/* Whether addr is such a trampoline: read without faulting, since the
 * address may be anything a broken stack held. */
static bool is_trampoline(uint64_t addr)
{
#ifdef SIGRETURN_CODE
	static const unsigned char code[] = {SIGRETURN_CODE};
	unsigned char have[sizeof(code)];
	struct iovec local = {have, sizeof(have)};
	struct iovec remote = {(void *)(uintptr_t)addr, sizeof(have)};
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) ==
	               (ssize_t)sizeof(have) &&
	       memcmp(have, code, sizeof(code)) == 0;
#else
	(void)addr;
	return false;
#endif
}

void deft_symbolize(struct deft_buf *out, const uint64_t *addrs, size_t n,
                    const char *indent)
{
	struct frame *frames = deft_xcalloc(n ? n : 1, sizeof(*frames));
	for (size_t i = 0; i < n; i++) {
		frames[i].addr = addrs[i];
		frames[i].trampoline = i > 0 && is_trampoline(addrs[i]);
		if (frames[i].trampoline)
			continue;
		/* A return address points after the call: look up the call
		 * itself, except for the frame that faulted and one a
		 * signal interrupted, whose address is where it was. */
		uint64_t lookup = i == 0 || frames[i - 1].trampoline
		                  ? addrs[i] : addrs[i] - 1;
		frames[i].found = dladdr((void *)(uintptr_t)lookup,
		                         &frames[i].info) != 0 &&
		                  frames[i].info.dli_fname != NULL;
		if (frames[i].found)
			frames[i].addr = lookup;
		const struct known *k = frames[i].found
		                        ? known_find(frames[i].addr) : NULL;
		if (k) {
			frames[i].known = true;
			frames[i].function = k->function;
			frames[i].place = k->place;
		}
	}
	bool unknown = false;
	for (size_t i = 0; i < n; i++) {
		if (!frames[i].found || frames[i].known)
			continue;
		const char *object = frames[i].info.dli_fname;
		if (!addr2line_too_slow)
			addr2line(frames, n, object);
		unknown |= addr2line_too_slow;
		/* Every frame in object now has its answer, or has none. */
		for (size_t j = i; j < n; j++) {
			struct frame *f = &frames[j];
			if (!f->found || f->known ||
			    strcmp(f->info.dli_fname, object) != 0)
				continue;
			const struct known *k = known_find(f->addr);
			f->known = true;
			f->function = k ? k->function : NULL;
			f->place = k ? k->place : NULL;
		}
	}
	bool below_test = false;
	for (size_t i = 0; i < n; i++) {
		struct frame *f = &frames[i];
		const char *fn = f->function ? f->function
		                 : f->found && f->info.dli_sname
		                         ? f->info.dli_sname : NULL;
		/* What called the test's body or its cleanups is deft's own
		 * runner: the same in every report, so left out. */
		below_test |= fn && (strcmp(fn, "deft_call_stoppable") == 0 ||
		                     strcmp(fn, "deft_call_def") == 0 ||
		                     strcmp(fn, "deft_test_run") == 0);
		if (below_test)
			continue;
		deft_buf_printf(out, "%s#%-2zu ", indent, i);
		if (f->trampoline) {
			/* gdb's words */
			deft_buf_puts(out, "<signal handler called>\n");
			continue;
		}
		deft_buf_puts(out, fn ? fn : "??");
		if (f->place)
			deft_buf_printf(out, " at %s", f->place);
		else if (f->found)
			deft_buf_printf(out, " in %s+0x%llx",
			                f->info.dli_fname,
			                (unsigned long long)(f->addr -
			                (uint64_t)(uintptr_t)f->info.dli_fbase));
		else
			deft_buf_printf(out, " [0x%llx]",
			                (unsigned long long)f->addr);
		deft_buf_putc(out, '\n');
	}
	if (unknown)
		deft_buf_printf(out, "%s(not all files and lines: addr2line "
		                "took over %lds, and runs no more)\n", indent,
		                deft_scaled_ms(ADDR2LINE_MS) / 1000);
	deft_free(frames);
}

