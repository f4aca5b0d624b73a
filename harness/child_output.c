/*
 * child_output.c - the bytes a test process sends, and which test each
 * belongs to.
 *
 * Its messages come over its socket, its output through two pipes
 * (protocol.h).  Each message carries how much had been written to each
 * pipe when it was sent: the output before that mark goes to the test
 * running before the message, the rest to what follows.  The child
 * counts what the supervisor has read in a counter they share; the pool
 * of those counters is here too.  What the messages and output mean for
 * the reports is child_events.c's.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "protocol.h"
#include "supervised.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- counts of output read, shared with the test processes ---- */

/* Counters live in shared pages that are never unmapped, so the pool
 * grows to the most test processes alive at once (tests waiting in
 * t_parallel can be many) and costs no system call a test after that. */
static struct deft_out_counter **free_counters;
static size_t nfree_counters, capfree_counters;

struct deft_out_counter *deft_sup_counter_take(void)
{
	if (nfree_counters == 0) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		void *p = mmap(NULL, page, PROT_READ | PROT_WRITE,
		               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		size_t n = page / sizeof(struct deft_out_counter);
		if (capfree_counters < n) {
			free_counters = deft_xreallocarray(
			        free_counters, n, sizeof(*free_counters));
			capfree_counters = n;
		}
		for (size_t i = 0; i < n; i++)
			free_counters[nfree_counters++] =
				(struct deft_out_counter *)p + n - 1 - i;
	}
	struct deft_out_counter *c = free_counters[--nfree_counters];
	memset(c, 0, sizeof(*c));
	return c;
}

void deft_sup_counter_give_back(struct deft_out_counter *c)
{
	if (c == NULL)
		return;
	if (nfree_counters == capfree_counters) {
		capfree_counters *= 2;
		free_counters = deft_xreallocarray(
		        free_counters, capfree_counters, sizeof(*free_counters));
	}
	free_counters[nfree_counters++] = c;
}

/* ---- the supervisor's read buffers ---- */

enum {
	PIPE_READ = 65536,                      /* a read of a pipe */
	MESSAGE_READ = DEFT_MSG_MAX + 4096,     /* a receive, with room to
	                                         * see one too long */
};

/* Where the supervisor reads into: mapped apart and not shared with the
 * test processes it forks, which get it blank (MADV_WIPEONFORK).  A page
 * the supervisor shares with a test process costs a page fault at its
 * next write, one each test; where a fault costs more than the read
 * itself, that adds up.  Static memory if the mapping cannot be made. */
static char *read_buffers(void)
{
	static char *buffers;
	static char fallback[PIPE_READ + MESSAGE_READ];
	if (buffers == NULL) {
		void *p = mmap(NULL, sizeof(fallback), PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED &&
		    madvise(p, sizeof(fallback), MADV_WIPEONFORK) != 0) {
			munmap(p, sizeof(fallback));
			p = MAP_FAILED;
		}
		buffers = p != MAP_FAILED ? p : fallback;
	}
	return buffers;
}

/* ---- output, by the marks of the messages ---- */

static void read_pipe(struct child *c, int *fd, enum deft_stream stream);

static int stream_index(enum deft_stream stream)
{
	return stream == DEFT_STREAM_STDERR;
}

/* Gives the first n pending bytes of a stream to the innermost test. */
static void take_pending(struct child *c, int i, size_t n)
{
	struct deft_buf *b = &c->pending[i];
	if (n > b->len)
		n = b->len;
	if (n == 0)
		return;
	deft_sup_ingest_output(c, 0, i ? DEFT_STREAM_STDERR
	                               : DEFT_STREAM_STDOUT, b->data, n);
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	c->taken[i] += n;
}

/* How many bytes at the end of b begin a UTF-8 character that they do
 * not finish: a read that ends inside a character leaves the rest to the
 * next, and given apart, each part would be reported as invalid. */
static size_t split_character(const struct deft_buf *b)
{
	for (size_t back = 1; back <= 3 && back <= b->len; back++) {
		unsigned char ch = (unsigned char)b->data[b->len - back];
		if ((ch & 0xc0) == 0x80)
			continue;               /* a continuation byte */
		size_t want = ch >= 0xf0 && ch <= 0xf4 ? 4
		              : ch >= 0xe0 && ch < 0xf0 ? 3
		              : ch >= 0xc2 && ch < 0xe0 ? 2 : 1;
		return want > back ? back : 0;
	}
	return 0;
}

/* Gives what was read from the pipes to the innermost test: once no
 * message is waiting, whatever comes next was sent after it.  A
 * character split by the read waits for its end, unless whole or the
 * pipe is closed. */
static void take_all_pending(struct child *c, bool whole)
{
	int fds[2] = {c->out, c->err};
	for (int i = 0; i < 2; i++) {
		size_t keep = whole || fds[i] < 0 ? 0
		              : split_character(&c->pending[i]);
		take_pending(c, i, c->pending[i].len - keep);
	}
}

/* Gives the innermost test the output written before a message whose
 * marks are written[]: what was read of it, and the rest from the pipe,
 * where it must be. */
static void take_until(struct child *c, const uint64_t written[2])
{
	int *fds[2] = {&c->out, &c->err};
	for (int i = 0; i < 2; i++) {
		if (written[i] == DEFT_WRITTEN_UNKNOWN)
			continue;
		while (c->taken[i] < written[i]) {
			/* All of it at once where it can: a character split
			 * by a read and held back is given with its end. */
			size_t need = (size_t)(written[i] - c->taken[i]);
			if (c->pending[i].len < need)
				read_pipe(c, fds[i], i ? DEFT_STREAM_STDERR
				                       : DEFT_STREAM_STDOUT);
			if (c->pending[i].len == 0)
				break;
			take_pending(c, i, need);
		}
	}
}

/* Takes a message from the socket; output is counted against the limit. */
static void take_message(struct child *c, const char *msg, size_t len)
{
	struct deft_msg m;
	struct deft_msg_output o;
	if (len < sizeof(m))
		return;
	memcpy(&m, msg, sizeof(m));
	if (m.version == DEFT_PROTOCOL_VERSION)
		take_until(c, m.written);
	if (m.type == DEFT_MSG_WAIT) {
		/* Not a report: the scheduler's business (see resume). */
		c->waiting = true;
		c->deadline = 0;
		return;
	}
	if (m.type == DEFT_MSG_OUTPUT && len >= sizeof(m) + sizeof(o)) {
		memcpy(&o, msg + sizeof(m), sizeof(o));
		deft_sup_ingest_output(c, o.id, o.stream,
		                       msg + sizeof(m) + sizeof(o),
		                       len - sizeof(m) - sizeof(o));
		return;
	}
	deft_sup_ingest(c, m.type, msg + sizeof(m), len - sizeof(m), NULL, 0);
}

/* ---- reading ---- */

/* Pending output held at most, a stream: past it the pipe waits. */
enum { PENDING_MAX = 1 << 20 };

/* Reads what the pipe holds into the stream's pending bytes, counting it
 * where the test process sees it (protocol.h). */
static void read_pipe(struct child *c, int *fd, enum deft_stream stream)
{
	int i = stream_index(stream);
	struct deft_out_counter *k = c->counter;
	char *buf = read_buffers();
	while (*fd >= 0 && c->pending[i].len < PENDING_MAX) {
		if (k) {
			__atomic_store_n(&k->seq, k->seq + 1, __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
		}
		ssize_t n = read(*fd, buf, PIPE_READ);
		int e = errno;
		/* The test process waits while seq is odd: nothing else
		 * happens in between. */
		if (n > 0 && k)
			__atomic_store_n(&k->read[i], k->read[i] + (uint64_t)n,
			                 __ATOMIC_RELAXED);
		if (k)
			__atomic_store_n(&k->seq, k->seq + 1, __ATOMIC_RELEASE);
		if (n > 0) {
			deft_buf_add(&c->pending[i], buf, (size_t)n);
			continue;
		}
		if (n == 0 || (e != EINTR && e != EAGAIN)) {
			close(*fd);
			*fd = -1;
		} else if (e == EAGAIN) {
			return;
		}
	}
}

/* Reads the pipes until they are empty, for the innermost test. */
void deft_sup_drain(struct child *c)
{
	bool more;
	do {
		read_pipe(c, &c->out, DEFT_STREAM_STDOUT);
		read_pipe(c, &c->err, DEFT_STREAM_STDERR);
		more = c->pending[0].len >= PENDING_MAX ||
		       c->pending[1].len >= PENDING_MAX;
		take_all_pending(c, !more);
	} while (more);
}

/* Reads the messages of a child, each after the output written before
 * it, and, when pipes_ready, the output after the last message.  Output
 * read before a receive that finds no message was written before any
 * message still to come, so it goes to the innermost test; a message's
 * marks read the pipes only as far as it needs, so a test that logs
 * costs the supervisor no read of its pipes. */
void deft_sup_read(struct child *c, bool pipes_ready)
{
	char *buf = read_buffers() + PIPE_READ;
	if (c->chan < 0) {
		deft_sup_drain(c);
		return;
	}
	if (pipes_ready) {
		read_pipe(c, &c->out, DEFT_STREAM_STDOUT);
		read_pipe(c, &c->err, DEFT_STREAM_STDERR);
	}
	while (c->chan >= 0) {
		ssize_t n = recv(c->chan, buf, MESSAGE_READ, MSG_DONTWAIT);
		if (n > 0) {
			take_message(c, buf, (size_t)n);
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(c->chan);
			c->chan = -1;
			deft_sup_drain(c);
		} else if (errno == EAGAIN) {
			take_all_pending(c, false);
			return;
		}
	}
}
