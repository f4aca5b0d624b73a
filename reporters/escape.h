/*
 * escape.h - text made safe for the report formats, whatever bytes the
 * tests printed.
 *
 * Tests print anything: colour codes, NUL, invalid UTF-8, "]]>", megabytes
 * on one line.  XML 1.0 forbids most control characters (even as &#x1;),
 * U+FFFE and U+FFFF, and its readers reject invalid UTF-8; JSON must be
 * UTF-8 too.  These helpers decode UTF-8 as they go: an invalid byte
 * becomes U+FFFD, and a character XML cannot carry is written visibly as
 * "\xHH" (or "\uFFFE"), so the report stays valid and still shows that
 * something was there.
 */
#ifndef DEFT_ESCAPE_H
#define DEFT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../harness/buf.h"

/* Decodes the UTF-8 sequence at s (n > 0 bytes available) into *cp.
 * Returns its length, 1 to 4, or 0 when the bytes there are not valid
 * UTF-8 (overlong forms, surrogates and code points past U+10FFFF
 * included). */
size_t deft_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Appends s[0..n) to b as XML character data, or as an attribute value
 * in double or single quotes when attr is set (then tabs and newlines are
 * escaped too, so that readers do not normalise them to spaces).  Never
 * writes "]]>" raw. */
void deft_xml_escape(struct deft_buf *b, const char *s, size_t n, bool attr);

/* Appends s[0..n) to b as valid UTF-8 text for a line-based format:
 * invalid bytes become U+FFFD, control characters other than tab and
 * newline (ESC of colour codes, CR, NUL) are written as "\xHH". */
void deft_text_clean(struct deft_buf *b, const char *s, size_t n);

/* Appends, as the inside of a JSON string, as much of s[0..n) as fits in
 * about max_out bytes of b (at least one character), and returns how many
 * bytes of s it consumed.  Characters are never split. */
size_t deft_json_escape(struct deft_buf *b, const char *s, size_t n,
                        size_t max_out);

/* Appends a whole string s (NUL-terminated) as a JSON string, quotes
 * included. */
void deft_json_string(struct deft_buf *b, const char *s);

/* Appends the time t (CLOCK_REALTIME) in RFC 3339, UTC, with nanoseconds
 * ("2006-01-02T15:04:05.123456789Z") or, when fraction is false, whole
 * seconds ("2006-01-02T15:04:05Z", an xs:dateTime for JUnit). */
struct timespec;
void deft_rfc3339(struct deft_buf *b, const struct timespec *t,
                  bool fraction);
#endif
