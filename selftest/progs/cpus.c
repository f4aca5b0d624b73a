/*
 * cpus.c - each test process runs on the CPUs its runner may run on,
 * though the runner pins itself to one for a moment around each fork
 * (supervisor.c).  Each test, and a subtest on a thread of its own, logs
 * its CPUs; run.py compares them with the ones it ran the program on.
 */
#define _GNU_SOURCE
#include <deft.h>

#include <sched.h>
#include <stdio.h>

static void log_cpus(T *t)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		t_fatal(t, "sched_getaffinity: %m");
	char list[4096] = "";
	size_t len = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && len < sizeof(list) - 16; cpu++)
		if (CPU_ISSET(cpu, &set))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			                        "%s%d", len ? "," : "", cpu);
	t_log(t, "cpus: %s", list);
}

static void sub(T *t, void *arg)
{
	log_cpus(t);
}

TEST(first)
{
	log_cpus(t);
	t_run(t, "sub", sub, NULL);
}

TEST(second)
{
	log_cpus(t);
	t_run(t, "sub", sub, NULL);
}
