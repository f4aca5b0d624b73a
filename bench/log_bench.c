/*
 * log_bench.c - what a t_log costs, run by bench/run.py in a test's own
 * process and in process (-isolation none).
 *
 * log_lines logs LINES short lines, under the 4 MiB a test's process
 * may send (each line is one message to the supervisor); log_flood logs
 * FLOOD of them, most past that limit, where the process counts them
 * rather than sending them.  log_none logs nothing: the test's own cost.
 */
#include <deft.h>

enum { LINES = 100000, FLOOD = 2000000 };

TEST(log_none)
{
}

TEST(log_lines)
{
	for (int i = 0; i < LINES; i++)
		t_log(t, "line %d", i);
}

TEST(log_flood)
{
	for (int i = 0; i < FLOOD; i++)
		t_log(t, "line %d of a flood", i);
}
