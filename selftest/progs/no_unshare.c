/*
 * no_unshare.c - runs a program with unshare(2) refused (EPERM), as a
 * container's seccomp profile refuses it: the leak check then lists
 * /proc/self/task instead of asking unshare(CLONE_THREAD) whether the
 * process has one thread (leak_snapshot.c), and must find the same.
 *
 *   no_unshare PROGRAM [ARG...]
 *
 * PROGRAM is run under its base name, as a shell in its directory would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define ARCH AUDIT_ARCH_I386
#endif

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: no_unshare PROGRAM [ARG...]\n");
		return 2;
	}
#ifdef ARCH
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		         offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		         offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(code) / sizeof(*code), code};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		fprintf(stderr, "no_unshare: seccomp: %s\n", strerror(errno));
		return 2;
	}
#endif
	/* The run proves nothing if unshare is not refused. */
	if (unshare(CLONE_THREAD) == 0 || errno != EPERM) {
		fprintf(stderr, "no_unshare: unshare is not refused here\n");
		return 2;
	}
	char *path = argv[1], *slash = strrchr(path, '/');
	if (slash)
		argv[1] = slash + 1;    /* as a shell names it */
	execv(path, argv + 1);
	fprintf(stderr, "no_unshare: %s: %s\n", path, strerror(errno));
	return 2;
}
