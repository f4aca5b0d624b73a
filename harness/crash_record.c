/*
 * crash_record.c - what a fatal signal tells of a crash, taken in its
 * handler: the backtrace of the interrupted code, whether it is a stack
 * overflow, and the cleanups that will not run, as text.  A test's
 * process sends it to the supervisor (child.c); the runner's own process
 * reports it itself (run_crash.c).  Everything here is async-signal-safe
 * but the flush that follows a report.  The alternate signal stacks the
 * handlers run on are made here too.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "protocol.h"
#include "child.h"
#include "text.h"

#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

/* The name a cleanup is known by: the function given to t_cleanup, or the
 * function of a t_defer. */
static void text_cleanup_name(struct text *t, const struct t_cleanup_handle *h)
{
	const char *s = h->call ? deft_call_text(h->call) : h->what;
	if (s == NULL) {
		text_puts(t, "cleanup");
		return;
	}
	size_t n = 0;
	while (s[n] && s[n] != ',')
		n++;
	text_add(t, s, n);
}

/* Names cleanup h of t: "name (file.c:12, test name)". */
static void text_cleanup(struct text *out, const struct t_cleanup_handle *h,
                         const T *t)
{
	text_cleanup_name(out, h);
	text_puts(out, " (");
	text_puts(out, deft_base_name(h->file));
	text_puts(out, ":");
	text_int(out, h->line);
	text_puts(out, ", test ");
	text_puts(out, t->name);
	text_puts(out, ")");
}

/* Lists the cleanups of t and its ancestors that have not run. */
static void text_pending_cleanups(struct text *out, T *t)
{
	for (; t; t = t->parent) {
		struct t_cleanup_handle *h;
		LIST_FOREACH(h, &t->cleanups, link) {
			text_cleanup(out, h, t);
			text_puts(out, "\n");
		}
	}
}

size_t deft_running_cleanup_text(char *buf, size_t cap, T *t)
{
	struct text text = {buf, 0, cap};
	const struct t_cleanup_handle *h = t ? t->in_cleanup : NULL;
	if (h && pthread_equal(t->thread, pthread_self()))
		text_cleanup(&text, h, t);
	return text.len;
}

size_t deft_pending_cleanup_lines(char *buf, size_t cap, T *t)
{
	struct text text = {buf, 0, cap};
	text_pending_cleanups(&text, t);
	return text.len;
}

void deft_pending_cleanups(struct deft_buf *b, T *t)
{
	char buf[DEFT_CRASH_TEXT];
	size_t n = deft_pending_cleanup_lines(buf, sizeof(buf), t);
	deft_append_pending_cleanups(b, buf, n);
}

/* Where a signal interrupted the thread: its program counter and stack
 * pointer, both 0 where unknown. */
struct interrupted {
	uintptr_t pc, sp;
};

static struct interrupted interrupted_at(const void *ucontext)
{
	const ucontext_t *uc = ucontext;
#if defined(__x86_64__)
	return (struct interrupted){(uintptr_t)uc->uc_mcontext.gregs[REG_RIP],
	                            (uintptr_t)uc->uc_mcontext.gregs[REG_RSP]};
#elif defined(__aarch64__)
	return (struct interrupted){(uintptr_t)uc->uc_mcontext.pc,
	                            (uintptr_t)uc->uc_mcontext.sp};
#else
	(void)uc;
	return (struct interrupted){0, 0};
#endif
}

/* Whether a SIGSEGV is a stack overflow: the faulting address is just
 * below the stack pointer (a call or a push into the guard page, or a
 * large frame's probe), or just above it (an unoptimised frame's store,
 * after the pointer moved on into the guard page), where a wild pointer
 * is unlikely to land.  Below the main thread's stack nothing is mapped;
 * below a thread's or a fiber's is a guard page mapped with no access. */
static bool is_stack_overflow(int sig, const siginfo_t *si,
                              const void *ucontext)
{
	uintptr_t sp = interrupted_at(ucontext).sp;
	uintptr_t addr = (uintptr_t)si->si_addr;
	return sig == SIGSEGV &&
	       (si->si_code == SEGV_MAPERR || si->si_code == SEGV_ACCERR) &&
	       sp &&
	       addr < sp + 4096 && addr + ((uintptr_t)64 << 10) > sp;
}

/* The backtrace of the interrupted code: the handler's own frames, up to
 * the signal trampoline, are left out when the interrupted pc is known. */
uint32_t deft_backtrace_at(uint64_t out[DEFT_CRASH_FRAMES],
                           const void *ucontext)
{
	void *frames[DEFT_CRASH_FRAMES];
	int n = backtrace(frames, DEFT_CRASH_FRAMES);
	uintptr_t pc = interrupted_at(ucontext).pc;
	int first = 0;
	for (int i = 0; pc && i < n; i++)
		if ((uintptr_t)frames[i] == pc ||
		    (uintptr_t)frames[i] == pc + 1) {
			first = i;
			break;
		}
	for (int i = first; i < n; i++)
		out[i - first] = (uint64_t)(uintptr_t)frames[i];
	return n > first ? (uint32_t)(n - first) : 0;
}

void deft_crash_take(struct deft_msg_crash *c,
                     uint64_t frames[DEFT_CRASH_FRAMES],
                     char text[DEFT_CRASH_TEXT], T *t, T *also, int sig,
                     const siginfo_t *si, const void *uc)
{
	struct text pending = {text, 0, DEFT_CRASH_TEXT};
	text_pending_cleanups(&pending, t);
	text_pending_cleanups(&pending, also);
	*c = (struct deft_msg_crash){
		.id = t ? t->id : 0, .signo = sig, .code = si->si_code,
		.nframes = deft_backtrace_at(frames, uc),
		.addr = (uint64_t)(uintptr_t)si->si_addr,
		.in_cleanup = t && t->in_cleanup,
		.text_len = (uint32_t)pending.len,
		.stack_overflow = is_stack_overflow(sig, si, uc),
	};
}

void deft_flush_after_crash(void)
{
	if (ftrylockfile(stdout) != 0)
		return;
	fflush_unlocked(stdout);
	funlockfile(stdout);
}

/* Room for a crash handler of the runner's own process, which finishes
 * the reports on it (run_crash.c); only the pages used are ever touched. */
enum { ALTSTACK_SIZE = 512 * 1024 };

void deft_thread_altstack(void)
{
	/* One the thread has is kept if it is as large: a second t_main's,
	 * or the one a test's process has from the runner's thread. */
	stack_t had;
	if (sigaltstack(NULL, &had) == 0 && !(had.ss_flags & SS_DISABLE) &&
	    had.ss_size >= ALTSTACK_SIZE)
		return;
	/* Mapped, not allocated: a leak checker would take memory only the
	 * kernel points at for a leak, and ASan unmaps the alternate stack
	 * of a thread that ends. */
	void *p = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;         /* an overflow then kills without a report */
	stack_t ss = {.ss_sp = p, .ss_size = ALTSTACK_SIZE};
	sigaltstack(&ss, NULL);
}

