/*
 * child_ending.c - how a test process ended, in words: a crash with its
 * signal, fault and backtrace, a timeout and the stage that ended it, an
 * interrupt, exit() or _exit() in the middle of a test, and the cleanups
 * that did not get to run.  child_events.c logs it on the test to blame.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "protocol.h"
#include "child.h"
#include "supervised.h"
#include "supervisor.h"
#include "symbolize.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* What si_code says of a fault, for the signals that have codes. */
static const struct {
	int sig, code;
	const char *what;
} fault_kinds[] = {
	{SIGSEGV, SEGV_MAPERR, "address not mapped"},
	{SIGSEGV, SEGV_ACCERR, "invalid permissions"},
	{SIGBUS, BUS_ADRALN, "misaligned address"},
	{SIGBUS, BUS_ADRERR, "nonexistent physical address"},
	{SIGFPE, FPE_INTDIV, "integer divide by zero"},
	{SIGFPE, FPE_INTOVF, "integer overflow"},
	{SIGILL, ILL_ILLOPN, "illegal operand"},
	{SIGILL, ILL_ILLOPC, "illegal opcode"},
};

static const char *fault_kind(int sig, int code)
{
	for (size_t i = 0; i < sizeof(fault_kinds) / sizeof(*fault_kinds); i++)
		if (fault_kinds[i].sig == sig && fault_kinds[i].code == code)
			return fault_kinds[i].what;
	return NULL;
}

void deft_append_pending_cleanups(struct deft_buf *b, const char *text,
                                  size_t n)
{
	if (n == 0)
		return;
	if (b->len && b->data[b->len - 1] != '\n')
		deft_buf_putc(b, '\n');
	deft_buf_puts(b, "cleanups that did not run:\n");
	deft_buf_indent(b, text, n, "  ");
}

void deft_describe_crash(struct deft_buf *why, struct deft_buf *detail,
                         const struct deft_msg_crash *cr,
                         const uint64_t *frames, const char *pending,
                         bool in_test)
{
	deft_describe_signal(detail, cr->signo);
	if (in_test)
		deft_buf_printf(why, "deft: test crashed%s: ", cr->in_cleanup
		                ? " in a cleanup" : "");
	else
		deft_buf_puts(why, "deft: a thread that runs no test crashed: ");
	deft_describe_signal(why, cr->signo);
	const char *kind = cr->stack_overflow ? "stack overflow" :
		fault_kind(cr->signo, cr->code);
	if (kind)
		deft_buf_printf(why, ", %s", kind);
	/* A fault's address; kill() and raise() give none. */
	if (cr->code > 0 && (cr->signo == SIGSEGV || cr->signo == SIGBUS ||
	                     cr->signo == SIGFPE || cr->signo == SIGILL))
		deft_buf_printf(why, " at address 0x%llx",
		                (unsigned long long)cr->addr);
	if (cr->nframes) {
		deft_buf_puts(why, "\nbacktrace:\n");
		deft_symbolize(why, frames, cr->nframes, "  ");
	}
	deft_append_pending_cleanups(why, pending, cr->text_len);
}

enum deft_ending deft_sup_describe_end(struct child *c, struct deft_buf *why,
                                      struct deft_buf *detail,
                                      uint32_t *target)
{
	char timeout[32], grace[32];
	deft_format_duration(timeout, sizeof(timeout), c->timeout_ms);
	deft_format_duration(grace, sizeof(grace), deft_sup_opts->grace_ms);
	*target = 0;
	if (c->forced == DEFT_TIMED_OUT) {
		struct deft_buf what = DEFT_BUF_INIT;
		if (c->by_run_timeout) {
			deft_format_duration(timeout, sizeof(timeout),
			                     deft_sup_opts->run_timeout_ms);
			deft_buf_printf(&what, "the run timed out after %s "
			                "(-timeout) while the test ran", timeout);
		} else {
			deft_buf_printf(&what, "test timed out%s after %s",
			                c->hung_in_cleanup ? " in a cleanup"
			                                   : "", timeout);
		}
		/* What follows "test timed out: " in the reports. */
		deft_buf_printf(detail, "%safter %s%s",
		                c->hung_in_cleanup ? "in a cleanup " : "",
		                timeout, c->by_run_timeout ? " (-timeout)" : "");
		/* Computing, or waiting (or starved of CPU, on a loaded
		 * machine)?  The process's CPU time tells. */
		char cpu[64];
		snprintf(cpu, sizeof(cpu), " (its process used %.2fs of CPU)",
		         c->cpu_s);
		if (c->stage != KILLED) {
			deft_buf_printf(why, "deft: %s; it was asked to stop "
			                "and ended within the %s grace period%s",
			                what.data, grace, cpu);
			deft_buf_free(&what);
			return DEFT_TIMED_OUT;
		}
		if (c->stopped_by)
			deft_buf_printf(why, "deft: %s while its process was "
			                "stopped by SIG%s: killed%s", what.data,
			                sigabbrev_np(c->stopped_by), cpu);
		else
			deft_buf_printf(why, "deft: %s, and was still running "
			                "%s later: killed%s", what.data, grace,
			                cpu);
		deft_buf_free(&what);
		if (c->stacks.len) {
			deft_buf_puts(why, "\nits threads were:\n");
			deft_buf_add(why, c->stacks.data, c->stacks.len);
		}
		return DEFT_TIMED_OUT;
	}
	if (c->forced == DEFT_INTERRUPTED) {
		if (c->stage == KILLED)
			deft_buf_puts(detail, c->stopped_by
			              ? "killed while its process was stopped"
			              : "killed");
		deft_buf_printf(why, "deft: the run was interrupted %s",
		                c->stage != KILLED ? "while this test ran"
		                : c->stopped_by ? "while its process was "
		                                  "stopped: killed"
		                : "and the test did not stop in time: killed");
		return DEFT_INTERRUPTED;
	}
	if (c->crash.len >= sizeof(struct deft_msg_crash)) {
		struct deft_msg_crash cr;
		memcpy(&cr, c->crash.data, sizeof(cr));
		const char *frames = c->crash.data + sizeof(cr);
		size_t fbytes = cr.nframes * sizeof(uint64_t);
		if (sizeof(cr) + fbytes + cr.text_len > c->crash.len)
			cr.nframes = cr.text_len = 0, fbytes = 0;
		*target = cr.id;
		uint64_t *addrs = deft_xmalloc(fbytes ? fbytes : 1);
		memcpy(addrs, frames, fbytes);
		deft_describe_crash(why, detail, &cr, addrs, frames + fbytes,
		                    true);
		deft_free(addrs);
		return DEFT_CRASHED;
	}
	int st = c->status;
	if (c->exit_call.len >= sizeof(struct deft_msg_exit)) {
		struct deft_msg_exit ex;
		memcpy(&ex, c->exit_call.data, sizeof(ex));
		*target = ex.id;
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (ex.pthread_exit) {
			deft_buf_puts(detail, "pthread_exit");
			deft_buf_printf(why, "deft: the test's thread called "
			                "pthread_exit, which ended its process "
			                "with status %d", code);
		} else {
			deft_buf_printf(detail, "exit(%d)", code);
			deft_buf_printf(why, "deft: test called exit(%d)",
			                code);
		}
		if (sizeof(ex) + ex.text_len <= c->exit_call.len)
			deft_append_pending_cleanups(
				why, c->exit_call.data + sizeof(ex),
				ex.text_len);
		return DEFT_CRASHED;
	}
	if (WIFSIGNALED(st)) {
		deft_describe_signal(detail, WTERMSIG(st));
		deft_buf_puts(why, "deft: test process killed by ");
		deft_describe_signal(why, WTERMSIG(st));
		/* deft's handler reports every SIGSEGV it gets to run for. */
		if (WTERMSIG(st) == SIGSEGV)
			deft_buf_puts(why, "; deft's crash handler could not "
			              "run: a thread the test started overflowed "
			              "its stack (such threads have no alternate "
			              "signal stack), or the test took the signal "
			              "over");
		return DEFT_CRASHED;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == DEFT_CHILD_CHANNEL_LOST) {
		deft_buf_puts(detail, "event socket closed");
		deft_buf_puts(why, "deft: the test closed or replaced deft's "
		              "event socket, so its results after that were "
		              "lost");
		return DEFT_CRASHED;
	}
	if (!c->done) {
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		deft_buf_printf(detail, "exited with status %d", code);
		deft_buf_printf(why, "deft: test process exited with status %d "
		                "before the test finished (_exit, an exec, or "
		                "exit from a thread deft does not know)", code);
		return DEFT_CRASHED;
	}
	return DEFT_ENDED;
}
