/*
 * fork_floor.c - the cost of a process per test without any test
 * framework: N rounds of fork, _exit in the child, waitpid in the
 * parent; the floor under deft's -isolation process.
 *
 *   fork_floor [N]          bare: fork, _exit(0), waitpid
 *   fork_floor -deft [N]    the set-up deft's supervisor does around each
 *                           fork as well: a SOCK_SEQPACKET socketpair and
 *                           two pipes, the child moving the pipes onto
 *                           stdout and stderr and sending one message, the
 *                           parent reading it and waiting (no poll loop)
 *   fork_floor -pinned [N]  bare, the parent pinned to the CPU it is on
 *                           for the fork, as deft's supervisor does when
 *                           a test process will run alone; the child
 *                           takes back the parent's CPUs first thing
 *
 * Prints the best of 5 rounds as "bench: <what> <ns> ns", the lines
 * bench/run.py reads.  Plain C, no deft: it is the floor.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { ROUNDS = 5 };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void bare(void)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(0);
	int status;
	if (waitpid(pid, &status, 0) != pid || status != 0)
		die("waitpid");
}

static void pinned(void)
{
	cpu_set_t all, one;
	if (sched_getaffinity(0, sizeof(all), &all) != 0)
		die("sched_getaffinity");
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		die("sched_setaffinity");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(sched_setaffinity(0, sizeof(all), &all) != 0);
	if (sched_setaffinity(0, sizeof(all), &all) != 0)
		die("sched_setaffinity");
	int status;
	if (waitpid(pid, &status, 0) != pid || status != 0)
		die("waitpid");
}

static void with_channels(void)
{
	int sv[2], out[2], err[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
		die("socketpair/pipe2");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(err[1], STDERR_FILENO) < 0)
			_exit(1);
		static const char done[] = "done";
		_exit(send(sv[1], done, sizeof(done), 0) < 0);
	}
	close(sv[1]);
	close(out[1]);
	close(err[1]);
	char buf[64];
	if (recv(sv[0], buf, sizeof(buf), 0) <= 0)
		die("recv");
	/* end of file on both pipes, as the supervisor waits for */
	if (read(out[0], buf, sizeof(buf)) != 0 ||
	    read(err[0], buf, sizeof(buf)) != 0)
		die("read");
	int status;
	if (waitpid(pid, &status, 0) != pid || status != 0)
		die("waitpid");
	close(sv[0]);
	close(out[0]);
	close(err[0]);
}

int main(int argc, char **argv)
{
	void (*round)(void) = bare;
	const char *what = "fork+_exit+waitpid";
	int arg = 1;
	if (argc > arg && strcmp(argv[arg], "-deft") == 0) {
		round = with_channels;
		what = "fork+_exit+waitpid with socketpair and 2 pipes";
		arg++;
	} else if (argc > arg && strcmp(argv[arg], "-pinned") == 0) {
		round = pinned;
		what = "fork+_exit+waitpid, pinned around fork";
		arg++;
	}
	long n = argc > arg ? strtol(argv[arg], NULL, 10) : 2000;
	if (n <= 0) {
		fprintf(stderr, "usage: fork_floor [-deft|-pinned] [N]\n");
		return 2;
	}
	double best = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		double start = now();
		for (long i = 0; i < n; i++)
			round();
		double d = now() - start;
		if (d < best)
			best = d;
	}
	printf("bench: %s %.0f ns (best of %d rounds of %ld)\n", what,
	       best / (double)n * 1e9, ROUNDS, n);
	return 0;
}
