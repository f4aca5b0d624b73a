/*
 * log.c - test logs and the calls that fail, skip or stop a test.
 *
 * Each message becomes lines in Go's layout, "    file:line: text", with
 * continuation lines indented four more spaces, and goes to the reporters
 * at once; a reporter decides whether to show it now or with the result.
 * A failure reported from inside a cleanup also names that cleanup, so a
 * report says which one failed (DESIGN.md section 3, rule 8).
 */
#include "internal.h"
#include "../reporters/report.h"

#include <stdio.h>
#include <string.h>

/* Appends msg to b in Go's layout; file may be NULL for harness notes. */
static void decorate(struct deft_buf *b, const char *file, int line,
                     const char *msg)
{
	deft_buf_puts(b, "    ");
	if (file)
		deft_buf_printf(b, "%s:%d: ", deft_base_name(file), line);
	size_t n = strlen(msg);
	if (n > 0 && msg[n - 1] == '\n')
		n--;
	for (size_t i = 0; i < n; i++) {
		if (msg[i] == '\n')
			deft_buf_puts(b, "\n        ");
		else
			deft_buf_putc(b, msg[i]);
	}
	deft_buf_putc(b, '\n');
}

static void put_on(unsigned id, enum deft_stream stream, const char *text)
{
	struct deft_buf b = DEFT_BUF_INIT;
	decorate(&b, NULL, 0, text);
	deft_report_output(id, stream, b.data, b.len);
	deft_buf_free(&b);
}

void deft_log_on(unsigned id, const char *text)
{
	put_on(id, DEFT_STREAM_LOG, text);
}

void deft_reason_on(unsigned id, const char *text)
{
	put_on(id, DEFT_STREAM_REASON, text);
}

/* Whether a failure at file:line comes from a cleanup other than through
 * its own registration line (t_defer_check reports there already). */
static const struct t_cleanup_handle *failing_cleanup(T *t, const char *file,
                                                     int line)
{
	const struct t_cleanup_handle *h = t->in_cleanup;
	if (h == NULL || !pthread_equal(t->thread, pthread_self()))
		return NULL;
	if (file && line == h->line && strcmp(file, h->file) == 0)
		return NULL;
	return h;
}

/* A log or failure on a test that has finished: as Go does, it goes to
 * the nearest ancestor still running, saying so; with none, to stderr. */
static void emit_late(T *t, const char *file, int line, bool failure,
                      const char *msg)
{
	T *p = t->parent;
	while (p && __atomic_load_n(&p->finished, __ATOMIC_ACQUIRE))
		p = p->parent;
	const char *what = failure ? "failure" : "log";
	if (p == NULL) {
		fprintf(stderr, "deft: %s on test %s after it finished: "
		        "%s:%d: %s\n", what, t->name,
		        file ? deft_base_name(file) : "?", line, msg);
		return;
	}
	struct deft_buf out = DEFT_BUF_INIT;
	if (file)
		deft_buf_printf(&out, "%s on %s after it finished: %s:%d: %s",
		                what, t->name, deft_base_name(file), line, msg);
	else
		deft_buf_printf(&out, "%s on %s after it finished: %s", what,
		                t->name, msg);
	put_on(p->id, failure ? DEFT_STREAM_REASON : DEFT_STREAM_LOG,
	       out.data);
	if (failure)
		deft_mark_failed(p);
	deft_buf_free(&out);
}

/* Logs a message at file:line: a failure if failure, and a line saying
 * why the test ends (a failure or a skip) if reason. */
static void emitv(T *t, const char *file, int line, bool failure,
                  bool reason, const char *fmt, va_list ap)
{
	struct deft_buf msg = DEFT_BUF_INIT, out = DEFT_BUF_INIT;
	deft_buf_vprintf(&msg, fmt, ap);
	if (__atomic_load_n(&t->finished, __ATOMIC_ACQUIRE)) {
		emit_late(t, file, line, failure, msg.data);
		deft_buf_free(&msg);
		return;
	}
	const struct t_cleanup_handle *h =
		failure ? failing_cleanup(t, file, line) : NULL;
	if (h) {
		deft_buf_puts(&msg, "\nin cleanup ");
		if (h->call)
			deft_call_expr(&msg, h->call);
		else if (h->what)
			deft_buf_puts(&msg, h->what);
		deft_buf_printf(&msg, " registered at %s:%d",
		                deft_base_name(h->file), h->line);
	}
	if (failure) {
		pthread_mutex_lock(&t->mu);
		if (t->first_failure == NULL) {
			struct deft_buf first = DEFT_BUF_INIT;
			if (file)
				deft_buf_printf(&first, "%s:%d: ",
				                deft_base_name(file), line);
			deft_buf_puts(&first, msg.data);
			t->first_failure = deft_buf_take(&first);
		}
		pthread_mutex_unlock(&t->mu);
	}
	decorate(&out, file, line, msg.data);
	deft_report_output(t->id, reason ? DEFT_STREAM_REASON : DEFT_STREAM_LOG,
	                   out.data, out.len);
	deft_buf_free(&msg);
	deft_buf_free(&out);
}

void deft_emit(T *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emitv(t, file, line, false, false, fmt, ap);
	va_end(ap);
}

void deft_emit_reason(T *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emitv(t, NULL, 0, false, true, fmt, ap);
	va_end(ap);
}

void deft_fail_at(T *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emitv(t, file, line, true, true, fmt, ap);
	va_end(ap);
	deft_mark_failed(t);
}

void deft_mark_failed(T *t)
{
	for (T *p = t; p; p = p->parent)
		__atomic_store_n(&p->failed, true, __ATOMIC_RELEASE);
	deft_group_note_failure(t);
	if (deft_forked)
		deft_forked_failed(t);
}

void deft_log(T *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emitv(t, file, line, false, false, fmt, ap);
	va_end(ap);
}

void deft_error(T *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emitv(t, file, line, true, true, fmt, ap);
	va_end(ap);
	deft_mark_failed(t);
}

void deft_fatal(T *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emitv(t, file, line, true, true, fmt, ap);
	va_end(ap);
	deft_mark_failed(t);
	deft_stop(t);
}

void deft_skip(T *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emitv(t, file, line, false, true, fmt, ap);
	va_end(ap);
	__atomic_store_n(&t->skipped, true, __ATOMIC_RELEASE);
	deft_stop(t);
}

void t_fail(T *t)
{
	deft_mark_failed(t);
}

void t_failnow(T *t)
{
	deft_mark_failed(t);
	deft_stop(t);
}
