"""Text that every XML and HTML consumer accepts.

Test output is arbitrary bytes: colour codes, NUL, invalid UTF-8, "]]>",
lines of many megabytes.  libxml2-based readers (Jenkins, GitLab, xmllint)
reject control characters even as character references, U+FFFE/U+FFFF,
lone surrogates and any text node over 10 MB.  clean() turns any string
into one they take, losing as little as it can: ANSI colour sequences are
dropped (they carry no text), other forbidden characters become visible
escapes ("\\x1b", "\\xff" for a byte of invalid UTF-8, "\\ufffe"), and
text past a limit keeps its head and tail with a line saying how much was
cut.  Escaping of <, & and "]]>" is left to the XML writer, which never
uses CDATA.
"""
import re

# Bytes that are not UTF-8 are decoded with "surrogateescape", which maps
# byte b to U+DC00+b; clean() shows them as \xNN.
DECODE_ERRORS = "surrogateescape"

# Text nodes stay well under libxml2's 10 MB limit.
MAX_TEXT = 4 * 1024 * 1024

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff"
                        "\ufffe\uffff]")


def _escape(m):
    c = m.group(0)
    o = ord(c)
    if 0xDC80 <= o <= 0xDCFF:       # a byte of invalid UTF-8
        return "\\x%02x" % (o - 0xDC00)
    if o < 0x100:
        return "\\x%02x" % o
    return "\\u%04x" % o


def truncate(s, limit=MAX_TEXT):
    """Returns s, or its first and last parts with a note of what was cut
    when it is longer than limit characters."""
    if len(s) <= limit:
        return s
    head = limit * 3 // 4
    tail = limit - head
    cut = len(s) - head - tail
    return (s[:head] + "\n[... deft-report cut %d characters here ...]\n"
            % cut + s[-tail:])


def clean(s, limit=MAX_TEXT):
    """Returns s with what XML 1.0 forbids made visible and its length
    bounded by limit characters (None: unbounded)."""
    if not s:
        return ""
    s = _ANSI.sub("", s)
    s = _FORBIDDEN.sub(_escape, s)
    if limit is not None:
        s = truncate(s, limit)
    return s


def first_line(s, limit=200):
    """The first non-blank line of s, stripped and at most limit long."""
    for line in s.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[:limit - 3] + "..."
    return ""
