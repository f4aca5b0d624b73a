/*
 * fiber.c - execution contexts switched in user space.
 *
 * A fiber is a stack of its own (the size of a thread's default, with a
 * guard page below it) and the registers saved when it was left.  Test
 * bodies run on fibers so that a subtest that pauses (t_parallel) keeps
 * its stack without keeping a thread: switching costs no kernel wake-up.
 *
 * The sanitizers are told of every switch, as they require: ASan of the
 * stack it is about to run on, TSan of the fiber's own thread state.
 */
#define _GNU_SOURCE
#include "fiber.h"
#include "sanitizers.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


#if defined(__x86_64__)
/* The switch saves the registers the callee keeps (System V ABI), and the
 * SSE and x87 control words, on the stack it leaves, and restores them
 * from the one it goes to.  A new fiber's stack is laid out as if it had
 * been left here, returning into fiber_entry, whose undefined return
 * address ends a backtrace there. */
__asm__(
	".pushsection .text\n"
	".p2align 4\n"
	".hidden deft_fiber_jump\n"
	".type deft_fiber_jump, @function\n"
	"deft_fiber_jump:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size deft_fiber_jump, .-deft_fiber_jump\n"
	".p2align 4\n"
	".hidden deft_fiber_entry\n"
	".type deft_fiber_entry, @function\n"
	"deft_fiber_entry:\n"
	"	.cfi_startproc\n"
	"	.cfi_undefined rip\n"
	"	movq %r12, %rdi\n"
	"	call deft_fiber_start\n"
	"	ud2\n"
	"	.cfi_endproc\n"
	".size deft_fiber_entry, .-deft_fiber_entry\n"
	".popsection\n");
void deft_fiber_jump(void **save_sp, void *to_sp)
	__attribute__((visibility("hidden")));
void deft_fiber_entry(void) __attribute__((visibility("hidden")));
void deft_fiber_start(struct deft_ctx *c)
	__attribute__((visibility("hidden"), noreturn));
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>  /* macros only: no link, no cost */
#define DEFT_VALGRIND 1
#endif
#endif

#ifdef DEFT_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef DEFT_TSAN
#include <sanitizer/tsan_interface.h>
#endif

void deft_ctx_here(struct deft_ctx *c)
{
	memset(c, 0, sizeof(*c));
#ifdef DEFT_TSAN
	c->tsan_fiber = __tsan_get_current_fiber();
#endif
}

/* Tells ASan that the switch to the running context is over, and learns
 * the bounds of the stack that was left. */
static void switch_done(struct deft_ctx *c, void *fake_stack)
{
#ifdef DEFT_ASAN
	struct deft_ctx *prev = c->came_from;
	const void *bottom;
	size_t size;
	__sanitizer_finish_switch_fiber(fake_stack, &bottom, &size);
	if (prev) {
		prev->stack_bottom = bottom;
		prev->stack_size = size;
	}
#else
	(void)c;
	(void)fake_stack;
#endif
}

/* A fiber's first frame. */
#if defined(__x86_64__)
void deft_fiber_start(struct deft_ctx *c)
#else
static void fiber_start_ctx(struct deft_ctx *c)
#endif
{
	switch_done(c, NULL);
	c->entry(c->arg);
	fprintf(stderr, "deft: internal error: a fiber returned\n");
	abort();
}

#if !defined(__x86_64__)
/* makecontext passes ints, so the context comes in two halves. */
static void fiber_start(unsigned hi, unsigned lo)
{
	fiber_start_ctx((struct deft_ctx *)(((uintptr_t)hi << 16 << 16) |
	                                    lo));
}
#endif

/* A thread's default stack size; threads may ask at once, and all get
 * the same answer. */
static size_t stack_size(void)
{
	static size_t size;
	size_t got = __atomic_load_n(&size, __ATOMIC_RELAXED);
	if (got == 0) {
		pthread_attr_t attr;
		size_t s = 0;
		if (pthread_getattr_default_np(&attr) == 0) {
			pthread_attr_getstacksize(&attr, &s);
			pthread_attr_destroy(&attr);
		}
		got = s >= 64 * 1024 ? s : 8 * 1024 * 1024;
		__atomic_store_n(&size, got, __ATOMIC_RELAXED);
	}
	return got;
}

void deft_ctx_fiber(struct deft_ctx *c, void (*entry)(void *), void *arg)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = (stack_size() + page - 1) / page * page;
	char *map = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
	                 MAP_STACK, -1, 0);
	if (map == MAP_FAILED || mprotect(map, page, PROT_NONE) != 0) {
		perror("deft: cannot map a stack for a test");
		abort();
	}
	memset(c, 0, sizeof(*c));
	c->entry = entry;
	c->arg = arg;
	c->stack_bottom = map + page;
	c->stack_size = size;
#if defined(__x86_64__)
	/* As deft_fiber_jump leaves a stack: the control words, six
	 * registers (r12 holding c), and the return into deft_fiber_entry,
	 * which then finds the stack 16-byte aligned for its call. */
	uint64_t *sp = (uint64_t *)(map + page + size) - 10;
	memset(sp, 0, 10 * sizeof(*sp));
	sp[0] = 0x1f80 | (uint64_t)0x037f << 32;
	sp[4] = (uintptr_t)c;                   /* r12 */
	sp[7] = (uintptr_t)deft_fiber_entry;
	c->sp = sp;
#else
	if (getcontext(&c->uc) != 0) {
		perror("deft: getcontext");
		abort();
	}
	c->uc.uc_stack.ss_sp = map + page;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	uintptr_t p = (uintptr_t)c;
	makecontext(&c->uc, (void (*)(void))fiber_start, 2,
	            (unsigned)(p >> 16 >> 16), (unsigned)p);
#endif
#ifdef DEFT_TSAN
	c->tsan_fiber = __tsan_create_fiber(0);
#endif
#ifdef DEFT_VALGRIND
	/* Under valgrind, a switch to this stack is not taken for a wild
	 * stack pointer. */
	VALGRIND_STACK_REGISTER(map + page, map + page + size);
#endif
}

void deft_ctx_switch(struct deft_ctx *from, struct deft_ctx *to)
{
	to->came_from = from;
#ifdef DEFT_ASAN
	__sanitizer_start_switch_fiber(&from->asan_fake_stack,
	                               to->stack_bottom, to->stack_size);
#endif
#ifdef DEFT_TSAN
	__tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
#if defined(__x86_64__)
	deft_fiber_jump(&from->sp, to->sp);
#else
	if (swapcontext(&from->uc, &to->uc) != 0) {
		perror("deft: swapcontext");
		abort();
	}
#endif
	switch_done(from, from->asan_fake_stack);
}
