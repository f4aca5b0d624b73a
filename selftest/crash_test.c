/*
 * crash_test.c - what the crash handlers run on (harness/crash_record.c).
 */
#include <deft.h>

#include <signal.h>
#include "../harness/internal.h"

/* A thread keeps an alternate stack as large as deft's (a second t_main
 * makes none, nor does a test's process, which has the runner's); a
 * smaller one is replaced. */
TEST(an_alternate_stack_is_made_once)
{
	stack_t first, again;
	deft_thread_altstack();
	T_ASSERT_EQ(t, sigaltstack(NULL, &first), 0);
	T_ASSERT(t, !(first.ss_flags & SS_DISABLE));
	deft_thread_altstack();
	T_ASSERT_EQ(t, sigaltstack(NULL, &again), 0);
	T_EXPECT_EQ(t, again.ss_sp, first.ss_sp);

	static char small[64 * 1024];
	stack_t mine = {.ss_sp = small, .ss_size = sizeof(small)};
	T_ASSERT_EQ(t, sigaltstack(&mine, NULL), 0);
	deft_thread_altstack();
	T_ASSERT_EQ(t, sigaltstack(NULL, &again), 0);
	T_EXPECT(t, again.ss_sp != (void *)small);
	T_EXPECT(t, again.ss_size >= first.ss_size);
}
