/*
 * word.h - futex words, the hand-offs between deft's threads.
 *
 * A word has three states: 0 while nothing has happened, WORD_SLEEPING
 * when its waiter sleeps in the kernel, and the value set.  The setter
 * only makes a system call when the waiter sleeps; the waiter spins for a
 * while first when asked to.
 */
#ifndef DEFT_WORD_H
#define DEFT_WORD_H

#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { WORD_SLEEPING = -1 };
enum { SPINS = 400 };

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Spins up to spins rounds for *w to hold a value other than 0.
 * RETURNS: the value, or 0 if none came. */
static inline int word_spin(int *w, int spins)
{
	for (int i = 0; i < spins; i++) {
		int v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		if (v != 0 && v != WORD_SLEEPING)
			return v;
		/* Pause a little, then yield: on a machine whose other CPUs
		 * are busy the thread we wait for may need this one. */
		if (i < spins / 8)
			cpu_relax();
		else
			sched_yield();
	}
	return 0;
}

/* Waits until *w holds a value other than 0 and returns it, spinning
 * first for up to spins rounds. */
static inline int word_wait_spin(int *w, int spins)
{
	int got = word_spin(w, spins);
	if (got)
		return got;
	for (;;) {
		int v = 0;
		if (!__atomic_compare_exchange_n(w, &v, WORD_SLEEPING, false,
		                                 __ATOMIC_ACQUIRE,
		                                 __ATOMIC_ACQUIRE) &&
		    v != WORD_SLEEPING)
			return v;
		syscall(SYS_futex, w, FUTEX_WAIT, WORD_SLEEPING, NULL,
		        NULL, 0);
	}
}

static inline int word_wait(int *w)
{
	return word_wait_spin(w, SPINS);
}

/* Sets *w to v and wakes its waiters (all when many may wait).
 * RETURNS: whether a waiter was asleep. */
static inline bool word_set(int *w, int v, bool many)
{
	if (__atomic_exchange_n(w, v, __ATOMIC_ACQ_REL) != WORD_SLEEPING)
		return false;
	syscall(SYS_futex, w, FUTEX_WAKE, many ? INT_MAX : 1, NULL,
	        NULL, 0);
	return true;
}

#endif
