/*
 * child_events.c - what a test process says, as the supervisor reads it
 * and turns it into reports.
 *
 * A child sends its reporter events over its socket and writes its output
 * to two pipes (protocol.h); child_output.c reads both and gives each
 * piece of output to the test that was running when it was written.
 * Here its events are reported as they come with -jobs 1, or queued and
 * reported when it is done; its output is kept up to DEFT_OUTPUT_LIMIT bytes
 * a process.  The end of its top-level test is held back until the process
 * is gone, so that how it ended (a crash, a timeout, a process left
 * behind, output dropped) can still change the result: deft_sup_finish
 * reports it.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "protocol.h"
#include "child.h"
#include "supervised.h"
#include "symbolize.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned last_id;                /* the run's ids of tests */

/* ---- the messages of one child ---- */

static void append_message(struct deft_buf *b, uint16_t type,
                           const void *head, size_t hlen, const void *data,
                           size_t n)
{
	struct deft_msg m = {DEFT_PROTOCOL_VERSION, type,
	                     (uint32_t)(hlen + n),
	                     {DEFT_WRITTEN_UNKNOWN, DEFT_WRITTEN_UNKNOWN}};
	uint32_t len = (uint32_t)(sizeof(m) + hlen + n);
	deft_buf_add(b, &len, sizeof(len));
	deft_buf_add(b, &m, sizeof(m));
	deft_buf_add(b, head, hlen);
	deft_buf_add(b, data, n);
}

static void dispatch(struct child *c, const char *msg, size_t len);
static void dispatch_all(struct child *c, const struct deft_buf *b);

void deft_sup_ingest(struct child *c, uint16_t type, const void *head,
                     size_t hlen, const void *data, size_t n)
{
	struct deft_buf b = DEFT_BUF_INIT;
	append_message(&b, type, head, hlen, data, n);
	if (c->live) {
		dispatch(c, b.data + sizeof(uint32_t), b.len - sizeof(uint32_t));
	} else {
		deft_buf_add(&c->queue, b.data, b.len);
		if (type == DEFT_MSG_START || type == DEFT_MSG_PAUSE ||
		    type == DEFT_MSG_CONT) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			deft_buf_add(&c->came, &now, sizeof(now));
		}
	}
	deft_buf_free(&b);
}

void deft_sup_ingest_output(struct child *c, uint32_t id, uint32_t stream,
                            const char *data, size_t n)
{
	size_t room = c->output < DEFT_OUTPUT_LIMIT ?
	              DEFT_OUTPUT_LIMIT - c->output : 0;
	size_t kept = n < room ? n : room;
	struct deft_msg_output o = {id, stream};
	if (kept > 0)
		deft_sup_ingest(c, DEFT_MSG_OUTPUT, &o, sizeof(o), data, kept);
	c->output += kept;
	if (kept < n) {
		if (c->dropped == 0) {
			static const char note[] =
				"    deft: output limit of 4 MiB reached; the "
				"rest of this test's output is dropped\n";
			struct deft_msg_output log = {0, DEFT_STREAM_LOG};
			deft_sup_ingest(c, DEFT_MSG_OUTPUT, &log, sizeof(log), note,
			       sizeof(note) - 1);
		}
		c->dropped += n - kept;
	}
}

/* When the start, pause or continue message being dispatched came: held
 * ones are dispatched in the order they came, once the process is done,
 * and each has its time kept; others come now. */
static struct timespec came(struct child *c)
{
	struct timespec t;
	if (c->came_used + sizeof(t) <= c->came.len) {
		memcpy(&t, c->came.data + c->came_used, sizeof(t));
		c->came_used += sizeof(t);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &t);
	}
	return t;
}

static unsigned global_id(const struct child *c, uint32_t child_id)
{
	return child_id < c->nknown ? c->known[child_id].id : 0;
}

/* Whether the child's test child_id is the test outer or one inside it. */
static bool within(const struct child *c, uint32_t child_id, uint32_t outer)
{
	for (size_t hops = 0; child_id != 0 && hops <= c->nknown; hops++) {
		if (child_id == outer)
			return true;
		if (child_id >= c->nknown)
			break;
		child_id = c->known[child_id].parent;
	}
	return false;
}

/* The test that started or resumed last of those running: output and a
 * crash are its.  A subtest paused in t_parallel is not running while
 * its parent's body goes on. */
static const struct open_test *innermost(const struct child *c)
{
	for (size_t i = c->nopen; i-- > 0;)
		if (!c->open[i].paused)
			return &c->open[i];
	return c->nopen ? &c->open[c->nopen - 1] : NULL;
}

static void close_open(struct child *c, uint32_t child_id);

static void report_end(struct child *c, const char *p);

/* Reports the held end of the child's top-level test as it came. */
static void release_held_end(struct child *c)
{
	report_end(c, c->held_end.data);
	c->held_end.len = 0;
}

static void on_start(struct child *c, const char *p, size_t len,
                     struct timespec at)
{
	struct deft_msg_start s;
	if (len < sizeof(s))
		return;
	memcpy(&s, p, sizeof(s));
	if (sizeof(s) + (size_t)s.name_len + s.file_len > len)
		return;
	if (s.id >= c->nknown) {
		size_t n = s.id + 64;
		c->known = deft_xreallocarray(c->known, n, sizeof(*c->known));
		memset(c->known + c->nknown, 0,
		       (n - c->nknown) * sizeof(*c->known));
		c->nknown = n;
	}
	if (c->nopen == c->capopen) {
		c->capopen = c->capopen ? c->capopen * 2 : 8;
		c->open = deft_xreallocarray(c->open, c->capopen,
		                             sizeof(*c->open));
	}
	/* A second top-level test in one process (t_main_cleanup's, after
	 * the test): the first one is over. */
	if (s.parent == 0 && c->top != 0 && c->held_end.len > 0)
		release_held_end(c);
	unsigned id = ++last_id;
	c->known[s.id] = (struct known_test){id, s.parent, false};
	if (c->top == 0 || s.parent == 0)
		c->top = s.id;
	struct open_test *o = &c->open[c->nopen++];
	o->child_id = s.id;
	o->id = id;
	o->paused = false;
	o->started = at;
	char *name = deft_xstrndup(p + sizeof(s), s.name_len);
	char *file = s.file_len ? deft_xstrndup(p + sizeof(s) + s.name_len,
	                                       s.file_len) : NULL;
	struct deft_test_info info = {id, global_id(c, s.parent), name, file,
	                              s.line, s.parent == 0 ? c->retry : 0};
	deft_report_start(&info);
	deft_free(name);
	deft_free(file);
	if (c->early.len) {
		/* The pipes and the socket are read apart, so output the test
		 * printed can be read before the message that started it. */
		struct deft_buf early = c->early;
		c->early = (struct deft_buf)DEFT_BUF_INIT;
		dispatch_all(c, &early);
		deft_buf_free(&early);
	}
}

static void close_open(struct child *c, uint32_t child_id)
{
	for (size_t i = c->nopen; i-- > 0;)
		if (c->open[i].child_id == child_id) {
			memmove(&c->open[i], &c->open[i + 1],
			        (c->nopen - i - 1) * sizeof(*c->open));
			c->nopen--;
			return;
		}
}

static int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* Marks open test child_id paused in t_parallel, or resumed: then it is
 * the innermost, and moves on top.  Its time paused is not its time. */
static void pause_open(struct child *c, uint32_t child_id, bool paused,
                       struct timespec now)
{
	for (size_t i = c->nopen; i-- > 0;)
		if (c->open[i].child_id == child_id) {
			struct open_test o = c->open[i];
			if (paused && !o.paused) {
				o.paused_at = now;
			} else if (!paused && o.paused) {
				int64_t ns = ns_of(&o.started) + ns_of(&now) -
				             ns_of(&o.paused_at);
				o.started = (struct timespec){
					(time_t)(ns / 1000000000),
					(long)(ns % 1000000000)};
			}
			o.paused = paused;
			if (!paused) {
				memmove(&c->open[i], &c->open[i + 1],
				        (c->nopen - i - 1) * sizeof(o));
				i = c->nopen - 1;
			}
			c->open[i] = o;
			return;
		}
}

static void on_end(struct child *c, const char *p, size_t len)
{
	struct deft_msg_end e;
	if (len < sizeof(e))
		return;
	memcpy(&e, p, sizeof(e));
	if (sizeof(e) + (size_t)e.detail_len > len)
		return;
	if (e.id == c->top) {
		/* Held back until the process is gone: see deft_sup_finish. */
		deft_buf_add(&c->held_end, p, len);
		return;
	}
	report_end(c, p);
}

/* Reports the end in p, a struct deft_msg_end and its detail, checked. */
static void report_end(struct child *c, const char *p)
{
	struct deft_msg_end e;
	memcpy(&e, p, sizeof(e));
	unsigned id = global_id(c, e.id);
	close_open(c, e.id);
	if (id == 0)
		return;
	char *detail = e.detail_len
	        ? deft_xstrndup(p + sizeof(e), e.detail_len) : NULL;
	struct deft_test_end end = {e.result, e.ending, detail, e.elapsed,
	                            false};
	if (c->known[e.id].failed_by_fork)
		end.result = DEFT_FAIL;
	if (e.id == c->top && c->may_retry && e.result == DEFT_FAIL)
		end.retried = c->retried = true;
	deft_report_end(id, &end);
	deft_free(detail);
}

static void on_output(struct child *c, const char *p, size_t len)
{
	struct deft_msg_output o;
	if (len < sizeof(o))
		return;
	memcpy(&o, p, sizeof(o));
	unsigned id = o.id ? global_id(c, o.id) : 0;
	if (id == 0 && innermost(c))
		id = innermost(c)->id;
	if (id == 0 && c->top == 0) {
		append_message(&c->early, DEFT_MSG_OUTPUT, p, len, NULL, 0);
		return;
	}
	if (id != 0)
		deft_report_output(id, o.stream, p + sizeof(o),
		                   len - sizeof(o));
	else {
		char *text = deft_xstrndup(p + sizeof(o), len - sizeof(o));
		deft_report_note(text);
		deft_free(text);
	}
}

/* The first line of /proc/<pid>/task/<tid>/<what>, or "". */
static void read_task_file(const struct child *c, int tid, const char *what,
                           char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", c->pid, tid, what);
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, (int)size, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

/* Says where in the kernel thread tid sleeps, if it does. */
static void describe_wait(struct child *c, int tid)
{
	char wchan[64];
	read_task_file(c, tid, "wchan", wchan, sizeof(wchan));
	if (wchan[0] && strcmp(wchan, "0") != 0)
		deft_buf_printf(&c->stacks, ", waiting in %s", wchan);
}

/* Names, from /proc, the threads that sent no backtrace before the child
 * is killed: a sanitizer (TSan) may hold signals until a thread calls into
 * it, which a spinning or deadlocked thread never does. */
void deft_sup_note_silent_thread(struct child *c, int tid)
{
	char seen[32], comm[32];
	snprintf(seen, sizeof(seen), "thread %d (", tid);
	if (c->stacks.len && strstr(c->stacks.data, seen))
		return;
	read_task_file(c, tid, "comm", comm, sizeof(comm));
	deft_buf_printf(&c->stacks, "thread %d (%s)", tid, comm);
	describe_wait(c, tid);
	deft_buf_puts(&c->stacks, ": no backtrace, it did not answer "
	              "deft's signal\n");
}

static void on_stack(struct child *c, const char *p, size_t len)
{
	struct deft_msg_stack s;
	if (len < sizeof(s))
		return;
	memcpy(&s, p, sizeof(s));
	size_t fbytes = (size_t)s.nframes * sizeof(uint64_t);
	if (sizeof(s) + fbytes + s.text_len > len)
		return;
	s.comm[sizeof(s.comm) - 1] = '\0';
	deft_buf_printf(&c->stacks, "thread %d (%s)", s.tid, s.comm);
	unsigned id = global_id(c, s.id);
	for (size_t i = 0; id && i < c->nopen; i++)
		if (c->open[i].id == id)
			deft_buf_puts(&c->stacks, ", running the test");
	if (s.text_len) {
		deft_buf_puts(&c->stacks, ", in its cleanup ");
		deft_buf_add(&c->stacks, p + sizeof(s) + fbytes, s.text_len);
		c->hung_in_cleanup = true;
	}
	describe_wait(c, s.tid);
	deft_buf_puts(&c->stacks, ":\n");
	uint64_t *frames = deft_xmalloc(fbytes + 1);
	memcpy(frames, p + sizeof(s), fbytes);
	deft_symbolize(&c->stacks, frames, s.nframes, "  ");
	deft_free(frames);
}


static bool is_open(const struct child *c, uint32_t child_id)
{
	for (size_t i = 0; i < c->nopen; i++)
		if (c->open[i].child_id == child_id)
			return true;
	return false;
}

/* A process the test forked failed a test (forked.c): the text, if any,
 * is logged on it, and it and its parents fail when they end.  One that has ended already
 * leaves it to the top-level test, whose end waits for the process. */
static void on_fail(struct child *c, const char *p, size_t len)
{
	struct deft_msg_id m;
	if (len < sizeof(m))
		return;
	memcpy(&m, p, sizeof(m));
	uint32_t target = global_id(c, m.id) && is_open(c, m.id) ? m.id
	                                                         : c->top;
	if (global_id(c, target) == 0)
		return;
	if (len > sizeof(m)) {
		char *text = deft_xstrndup(p + sizeof(m), len - sizeof(m));
		deft_reason_on(global_id(c, target), text);
		deft_free(text);
	}
	for (uint32_t id = target, hops = 0;
	     id < c->nknown && c->known[id].id && hops < c->nknown; hops++) {
		c->known[id].failed_by_fork = true;
		if (id == c->top)
			break;
		id = c->known[id].parent;
	}
}

static void dispatch(struct child *c, const char *msg, size_t len)
{
	struct deft_msg m;
	if (len < sizeof(m))
		return;
	memcpy(&m, msg, sizeof(m));
	if (m.version != DEFT_PROTOCOL_VERSION || m.len != len - sizeof(m))
		return;
	const char *p = msg + sizeof(m);
	struct timespec at = {0, 0};
	if (m.type == DEFT_MSG_START || m.type == DEFT_MSG_PAUSE ||
	    m.type == DEFT_MSG_CONT)
		at = came(c);
	switch (m.type) {
	case DEFT_MSG_START:
		on_start(c, p, m.len, at);
		break;
	case DEFT_MSG_OUTPUT:
		on_output(c, p, m.len);
		break;
	case DEFT_MSG_PAUSE:
	case DEFT_MSG_CONT: {
		struct deft_msg_id i;
		if (m.len < sizeof(i))
			break;
		memcpy(&i, p, sizeof(i));
		unsigned id = global_id(c, i.id);
		pause_open(c, i.id, m.type == DEFT_MSG_PAUSE, at);
		if (id && m.type == DEFT_MSG_PAUSE)
			deft_report_pause(id);
		else if (id)
			deft_report_cont(id);
		break;
	}
	case DEFT_MSG_END:
		on_end(c, p, m.len);
		break;
	case DEFT_MSG_DONE:
		c->done = true;
		break;
	case DEFT_MSG_CRASH:
		deft_buf_add(&c->crash, p, m.len);
		break;
	case DEFT_MSG_EXIT:
		deft_buf_add(&c->exit_call, p, m.len);
		break;
	case DEFT_MSG_STACK:
		on_stack(c, p, m.len);
		break;
	case DEFT_MSG_FAIL:
		on_fail(c, p, m.len);
		break;
	case DEFT_MSG_NOTE: {
		char *text = deft_xstrndup(p, m.len);
		deft_report_note(text);
		deft_free(text);
		break;
	}
	}
}

static void logf_on(unsigned id, bool reason, const char *fmt, ...)
	DEFT_FMT(3, 4);

/* deft_log_on, or deft_reason_on if reason, with the text formatted as by
 * printf. */
static void logf_on(unsigned id, bool reason, const char *fmt, ...)
{
	struct deft_buf b = DEFT_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	deft_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	(reason ? deft_reason_on : deft_log_on)(id, b.data);
	deft_buf_free(&b);
}

void deft_sup_end_synthesised(unsigned id, const struct open_test *o,
                              enum deft_ending ending, const char *detail,
                              bool retried, const struct timespec *ended)
{
	struct timespec now;
	if (ended)
		now = *ended;
	else
		clock_gettime(CLOCK_MONOTONIC, &now);
	double elapsed = (double)(now.tv_sec - o->started.tv_sec) +
	                 (double)(now.tv_nsec - o->started.tv_nsec) / 1e9;
	/* A test whose process died before it started is reported as
	 * started now, after that end: it took no time. */
	if (elapsed < 0)
		elapsed = 0;
	struct deft_test_end end = {DEFT_FAIL, ending, detail, elapsed,
	                            retried};
	deft_report_end(id, &end);
}

/* Reports the test when a child could not even start it. */
void deft_sup_unstarted(struct child *c, const char *why)
{
	struct deft_msg_start s = {1, 0, c->def->line,
	                           (uint32_t)strlen(c->def->name),
	                           (uint32_t)strlen(c->def->file)};
	struct deft_buf b = DEFT_BUF_INIT;
	deft_buf_add(&b, &s, sizeof(s));
	deft_buf_puts(&b, c->def->name);
	deft_buf_puts(&b, c->def->file);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	on_start(c, b.data, b.len, now);
	deft_buf_free(&b);
	deft_log_on(c->open[0].id, why);
}

/* Dispatches messages stored each after its length. */
static void dispatch_all(struct child *c, const struct deft_buf *b)
{
	for (size_t at = 0; at + sizeof(uint32_t) <= b->len;) {
		uint32_t len;
		memcpy(&len, b->data + at, sizeof(len));
		dispatch(c, b->data + at + sizeof(len), len);
		at += sizeof(len) + len;
	}
}

void deft_sup_finish(struct child *c)
{
	/* A failure runs again unless the run is being stopped. */
	c->may_retry = c->retry < (unsigned long)deft_opt.retries &&
	               c->forced != DEFT_INTERRUPTED && !c->by_run_timeout;
	c->live = true;
	/* The tests ended now, not once their backtraces are looked up. */
	struct timespec ended;
	clock_gettime(CLOCK_MONOTONIC, &ended);
	dispatch_all(c, &c->queue);
	struct deft_buf why = DEFT_BUF_INIT, detail = DEFT_BUF_INIT;
	uint32_t target;
	enum deft_ending ending = deft_sup_describe_end(c, &why, &detail, &target);
	if (c->nopen == 0) {
		/* Nothing was started: report the test with the reason. */
		deft_sup_unstarted(c, ending == DEFT_ENDED
		                 ? "deft: the test's process ended without "
		                   "starting the test" : why.data);
		why.len = 0;
	}
	uint32_t blamed_child = global_id(c, target) ? target
	                                             : innermost(c)->child_id;
	unsigned blamed = global_id(c, blamed_child);
	/* A parallel subtest that crashed ends its siblings with it. */
	char *blamed_name = ending == DEFT_CRASHED
	                    ? deft_report_open_name(blamed) : NULL;
	if (why.len)
		deft_log_on(blamed, why.data);
	bool failed = ending != DEFT_ENDED || c->held_end.len == 0;
	unsigned top = c->open[0].id;
	/* deft's own end is _exit(0): what else ended the process after the
	 * test was a tool that checks it as it exits (valgrind's
	 * --error-exitcode), which writes its report to its own log. */
	if (ending == DEFT_ENDED &&
	    (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)) {
		logf_on(top, true, "deft: test process %d exited with status "
		        "%d after the test ended: a tool that checks a process "
		        "as it exits (valgrind's --error-exitcode) found an "
		        "error in it; the tool's log has its report, under "
		        "that pid", (int)c->pid, WIFEXITED(c->status)
		        ? WEXITSTATUS(c->status) : -1);
		failed = true;
	}
	/* Processes left running are a leak: -leaks says what they cost. */
	if (c->leftovers.len && deft_opt.leaks != DEFT_LEAKS_OFF) {
		bool fails = deft_opt.leaks == DEFT_LEAKS_FAIL;
		logf_on(top, fails, "deft: the test left processes running, "
		        "now killed: %s", c->leftovers.data);
		failed |= fails;
	}
	if (c->signals.len) {
		logf_on(top, true, "deft: the test sent %s to the runner, its "
		        "process's parent: ignored", c->signals.data);
		failed = true;
	}
	if (c->counter)
		c->dropped += __atomic_load_n(&c->counter->logs_dropped,
		                              __ATOMIC_RELAXED);
	if (c->dropped)
		logf_on(top, false, "deft: %zu bytes of output were dropped "
		        "after the first 4 MiB", c->dropped);
	const char *blame = detail.len ? detail.data : NULL;
	/* Close what is still open, innermost first, the top test last. */
	while (c->nopen > 0) {
		struct open_test o = c->open[--c->nopen];
		if (c->nopen == 0 && !failed &&
		    c->held_end.len >= sizeof(struct deft_msg_end)) {
			release_held_end(c);
			continue;
		}
		if (c->nopen == 0 && c->may_retry)
			c->retried = true;
		bool beside = blamed_name &&
		              !within(c, blamed_child, o.child_id) &&
		              !within(c, o.child_id, blamed_child);
		if (beside)
			logf_on(o.id, false, "deft: its process ended in %s, "
			        "which ran beside it: %s", blamed_name,
			        blame ? blame : "crashed");
		deft_sup_end_synthesised(o.id, &o, ending,
		                         o.id == blamed ? blame
		                         : beside ? "in a test beside it" : NULL,
		                         c->nopen == 0 && c->retried, &ended);
	}
	deft_free(blamed_name);
	deft_buf_free(&why);
	deft_buf_free(&detail);
}

void deft_sup_free(struct child *c)
{
	deft_buf_free(&c->queue);
	deft_buf_free(&c->came);
	deft_buf_free(&c->early);
	deft_buf_free(&c->held_end);
	deft_buf_free(&c->crash);
	deft_buf_free(&c->exit_call);
	deft_buf_free(&c->stacks);
	deft_buf_free(&c->leftovers);
	deft_buf_free(&c->signals);
	deft_buf_free(&c->pending[0]);
	deft_buf_free(&c->pending[1]);
	deft_sup_counter_give_back(c->counter);
	deft_free(c->known);
	deft_free(c->open);
	deft_free(c);
}
