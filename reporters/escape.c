/*
 * escape.c - XML and JSON text from arbitrary bytes (see escape.h).
 *
 * Both escapers walk the input one UTF-8 character at a time; plain ASCII
 * runs are copied in one go, which is what nearly all test output is.
 */
#include "escape.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

size_t deft_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Whether XML 1.0 allows the character at all. */
static bool xml_char(uint32_t cp)
{
	if (cp < 0x20)
		return cp == '\t' || cp == '\n' || cp == '\r';
	return cp != 0xfffe && cp != 0xffff;
}

/* Bytes at s that need no escaping in XML text: printable ASCII other
 * than the markup characters. */
static size_t xml_plain_run(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x80 || c == '<' || c == '>' || c == '&' ||
		    c == '"' || c == '\'')
			break;
		i++;
	}
	return i;
}

void deft_xml_escape(struct deft_buf *b, const char *s, size_t n, bool attr)
{
	size_t i = 0;
	while (i < n) {
		size_t run = xml_plain_run(s + i, n - i);
		if (run) {
			deft_buf_add(b, s + i, run);
			i += run;
			continue;
		}
		uint32_t cp;
		size_t len = deft_utf8_decode((const unsigned char *)s + i,
		                              n - i, &cp);
		if (len == 0) {
			deft_buf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
			continue;
		}
		switch (cp) {
		case '<':
			deft_buf_puts(b, "&lt;");
			break;
		case '>':
			deft_buf_puts(b, "&gt;");  /* so never "]]>" */
			break;
		case '&':
			deft_buf_puts(b, "&amp;");
			break;
		case '"':
			deft_buf_puts(b, "&quot;");
			break;
		case '\'':
			deft_buf_puts(b, "&apos;");
			break;
		case '\r':
			deft_buf_puts(b, "&#13;");
			break;
		case '\t':
		case '\n':
			if (attr)
				deft_buf_printf(b, "&#%u;", (unsigned)cp);
			else
				deft_buf_putc(b, (char)cp);
			break;
		default:
			if (!xml_char(cp))
				deft_buf_printf(b, cp < 0x80 ? "\\x%02x"
				                             : "\\u%04X",
				                (unsigned)cp);
			else
				deft_buf_add(b, s + i, len);
		}
		i += len;
	}
}

void deft_text_clean(struct deft_buf *b, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t run = 0;
		while (i + run < n && (unsigned char)s[i + run] >= 0x20 &&
		       (unsigned char)s[i + run] < 0x7f)
			run++;
		deft_buf_add(b, s + i, run);
		i += run;
		if (i == n)
			break;
		uint32_t cp;
		size_t len = deft_utf8_decode((const unsigned char *)s + i,
		                              n - i, &cp);
		if (len == 0) {
			deft_buf_puts(b, "\xef\xbf\xbd");
			len = 1;
		} else if ((cp < 0x20 && cp != '\t' && cp != '\n') ||
		           cp == 0x7f) {
			deft_buf_printf(b, "\\x%02x", (unsigned)cp);
		} else {
			deft_buf_add(b, s + i, len);
		}
		i += len;
	}
}

size_t deft_json_escape(struct deft_buf *b, const char *s, size_t n,
                        size_t max_out)
{
	size_t start = b->len, i = 0;
	while (i < n && (i == 0 || b->len - start < max_out)) {
		size_t room = b->len - start < max_out
		                      ? max_out - (b->len - start) : 1;
		size_t run = 0;
		while (i + run < n && run < room) {
			unsigned char c = (unsigned char)s[i + run];
			if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
				break;
			run++;
		}
		if (run) {
			deft_buf_add(b, s + i, run);
			i += run;
			continue;
		}
		uint32_t cp;
		size_t len = deft_utf8_decode((const unsigned char *)s + i,
		                              n - i, &cp);
		if (len == 0) {
			deft_buf_puts(b, "\\ufffd");
			i++;
			continue;
		}
		switch (cp) {
		case '"':
			deft_buf_puts(b, "\\\"");
			break;
		case '\\':
			deft_buf_puts(b, "\\\\");
			break;
		case '\n':
			deft_buf_puts(b, "\\n");
			break;
		case '\t':
			deft_buf_puts(b, "\\t");
			break;
		case '\r':
			deft_buf_puts(b, "\\r");
			break;
		default:
			if (cp < 0x20 || cp == 0x7f)
				deft_buf_printf(b, "\\u%04x", (unsigned)cp);
			else
				deft_buf_add(b, s + i, len);
		}
		i += len;
	}
	return i;
}

void deft_json_string(struct deft_buf *b, const char *s)
{
	size_t n = strlen(s);
	deft_buf_putc(b, '"');
	while (n > 0) {
		size_t used = deft_json_escape(b, s, n, n * 6 + 6);
		s += used;
		n -= used;
	}
	deft_buf_putc(b, '"');
}

void deft_rfc3339(struct deft_buf *b, const struct timespec *t,
                  bool fraction)
{
	struct tm tm;
	gmtime_r(&t->tv_sec, &tm);
	char s[64];
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	deft_buf_puts(b, s);
	if (fraction)
		deft_buf_printf(b, ".%09ld", (long)t->tv_nsec);
	deft_buf_putc(b, 'Z');
}
