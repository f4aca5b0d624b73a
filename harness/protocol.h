/*
 * protocol.h - what a test's process tells its supervisor.
 *
 * With process isolation each top-level test runs in a child forked from
 * the supervisor.  The child sends the reporter events of its tests, and
 * word of its own end, over an AF_UNIX SOCK_SEQPACKET socket: every send is
 * one whole message or nothing, so a child that dies mid-send, or a signal
 * handler that reports a crash while another thread is sending, can never
 * leave half a message behind, and the supervisor needs no stream
 * reassembly.  The child's stdout and stderr are separate pipes.
 *
 * Version 2 framing: each message starts with struct deft_msg; len counts
 * the bytes after it.  Both ends are the same program (fork without exec),
 * so payloads are plain C structs followed by their variable parts; no
 * message is longer than DEFT_MSG_MAX.  A supervisor drops messages whose
 * version it does not know.
 *
 * Output and events travel apart, so each message also says how many
 * bytes had been written to the stdout and stderr pipes when it was sent:
 * the supervisor gives the bytes before that mark to the test that was
 * running before the message, and the rest to what follows it.  The child
 * counts them as what the supervisor has read from each pipe, which the
 * supervisor keeps in a struct deft_out_counter the two share, plus what
 * is still in the pipe (FIONREAD); seq is odd while the supervisor reads,
 * so the child takes the two as of one moment, waiting while it is odd
 * however long the supervisor takes (it may be descheduled mid-read).
 */
#ifndef DEFT_PROTOCOL_H
#define DEFT_PROTOCOL_H

#include <stdint.h>

#define DEFT_PROTOCOL_VERSION 2
#define DEFT_MSG_MAX 65536

/* Bytes of output, logs included, the supervisor keeps from one test
 * process; it counts the rest as dropped. */
#define DEFT_OUTPUT_LIMIT (4 << 20)

enum deft_msg_type {
	DEFT_MSG_START = 1,     /* struct deft_msg_start, name, file */
	DEFT_MSG_OUTPUT,        /* struct deft_msg_output, bytes */
	DEFT_MSG_PAUSE,         /* struct deft_msg_id */
	DEFT_MSG_CONT,          /* struct deft_msg_id */
	DEFT_MSG_END,           /* struct deft_msg_end, detail */
	DEFT_MSG_DONE,          /* nothing: the child finished its test */
	DEFT_MSG_CRASH,         /* struct deft_msg_crash, frames, text */
	DEFT_MSG_EXIT,          /* struct deft_msg_exit, text */
	DEFT_MSG_STACK,         /* struct deft_msg_stack, frames */
	DEFT_MSG_NOTE,          /* text: a line for the run, not a test */
	DEFT_MSG_WAIT,          /* nothing: the top-level test called
	                         * t_parallel and waits for a byte back */
	DEFT_MSG_FAIL,          /* struct deft_msg_id, text: a process the
	                         * test forked fails that test, and the text
	                         * (if any) goes in its log */
};

/* written[] of a message sent without knowing them. */
#define DEFT_WRITTEN_UNKNOWN UINT64_MAX

struct deft_msg {
	uint16_t version;
	uint16_t type;
	uint32_t len;
	uint64_t written[2];    /* bytes written to stdout, stderr so far */
};

/* In memory the supervisor shares with one test process. */
struct deft_out_counter {
	uint64_t seq;           /* odd while the supervisor reads a pipe */
	uint64_t read[2];       /* bytes it has read from stdout, stderr */
	uint64_t logs_dropped;  /* bytes of logs the process did not send,
	                         * having sent more than DEFT_OUTPUT_LIMIT */
	uint64_t pad[4];        /* one cache line each */
};

struct deft_msg_id {
	uint32_t id;
};

struct deft_msg_start {
	uint32_t id;
	uint32_t parent;
	int32_t line;
	uint32_t name_len;
	uint32_t file_len;      /* 0: no file */
};

struct deft_msg_output {
	uint32_t id;
	uint32_t stream;        /* enum deft_stream */
};

struct deft_msg_end {
	uint32_t id;
	uint32_t result;        /* enum deft_result */
	uint32_t ending;        /* enum deft_ending */
	uint32_t detail_len;
	double elapsed;
};

/* Sent by the child's handler of a fatal signal, before it dies. */
struct deft_msg_crash {
	uint32_t id;            /* the test running on the crashing thread */
	int32_t signo;
	int32_t code;           /* si_code */
	uint32_t nframes;
	uint64_t addr;          /* si_addr */
	uint32_t in_cleanup;    /* crashed inside a cleanup */
	uint32_t text_len;      /* cleanups that will not run, one a line */
	uint32_t stack_overflow; /* SIGSEGV next to the stack pointer */
};

/* Sent from an atexit handler when a test calls exit(). */
struct deft_msg_exit {
	uint32_t id;
	uint32_t text_len;      /* cleanups that will not run */
	uint32_t pthread_exit;  /* the exit followed the test's thread's
	                         * pthread_exit, not a call of exit() */
};

/* One thread's backtrace, asked for by the supervisor at a timeout,
 * followed by the frames and, if the thread was running a cleanup of its
 * test, text naming it: "name (file.c:12, test name)". */
struct deft_msg_stack {
	int32_t tid;
	uint32_t id;            /* the test that thread runs, or 0 */
	uint32_t nframes;
	uint32_t text_len;
	char comm[16];
};

#endif
