/*
 * fiber.h - execution contexts switched in user space: a thread's own
 * stack, or a fiber with a stack of its own (fiber.c).
 */
#ifndef DEFT_FIBER_H
#define DEFT_FIBER_H

#include <stddef.h>
#include <ucontext.h>

struct deft_ctx {
#if defined(__x86_64__)
	void *sp;                       /* where the registers are saved */
#else
	ucontext_t uc;
#endif
	void *tsan_fiber;               /* ThreadSanitizer's handle */
	void *asan_fake_stack;          /* AddressSanitizer's fake stack */
	const void *stack_bottom;       /* learned when first left, for */
	size_t stack_size;              /* a thread's own stack */
	struct deft_ctx *came_from;     /* the context that switched here */
	void (*entry)(void *);          /* a fiber's function */
	void *arg;
};

/* Makes c stand for the context that is running (a thread's stack or a
 * fiber), to switch away from and later back to. */
void deft_ctx_here(struct deft_ctx *c);

/* Makes c a new fiber with a stack of its own the size of a thread's
 * default, which calls entry(arg) when first switched to.  entry must
 * never return. */
void deft_ctx_fiber(struct deft_ctx *c, void (*entry)(void *), void *arg);

/* Saves the running context in from and runs to; returns when some
 * context switches back to from. */
void deft_ctx_switch(struct deft_ctx *from, struct deft_ctx *to);

#endif
