/*
 * symbolize.h - backtrace addresses of a child to names, in the supervisor.
 */
#ifndef DEFT_SYMBOLIZE_H
#define DEFT_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends one line per frame, "#N function at file:line", each prefixed
 * by indent, down to the test's body: deft's runner below it is left
 * out.  addrs[0] is where the thread was; the others are return
 * addresses. */
void deft_symbolize(struct deft_buf *out, const uint64_t *addrs, size_t n,
                    const char *indent);
#endif
