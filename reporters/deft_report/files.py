"""Reading inputs and writing outputs: "-" is stdin or stdout, the format
of an input is told by its first character, and an output file appears
whole or not at all (written to a temporary file beside it, then renamed
over it), so a crash or a bad input never leaves a truncated report.
"""
import os
import sys
import tempfile

from .errors import InputError, UsageError
from .junit_read import read_junit
from .model import Report
from .testjson import read_testjson


def read_bytes(path):
    """The bytes of path, or of stdin for "-"; raises InputError."""
    if path == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    try:
        with open(path, "rb") as f:
            return f.read(), path
    except OSError as err:
        raise InputError(path, 0, "cannot read: %s" % err.strerror) \
            from None


def parse(data, source):
    """A JUnit file (starts with "<") or a test2json stream (with "{")."""
    head = data.lstrip()[:1]
    if data.startswith(b"\xef\xbb\xbf"):
        head = data[3:].lstrip()[:1]
    if head == b"<":
        return read_junit(data, source)
    if head == b"{":
        return read_testjson(data, source)
    if not head:
        raise InputError(source, 0, "empty: neither JUnit XML nor a "
                         "test2json stream")
    raise InputError(source, 1, "neither JUnit XML (starts with '<') nor a "
                     "test2json stream (starts with '{')")


def load(paths):
    """All paths read into one Report; stdin may be named once."""
    if paths.count("-") > 1:
        raise UsageError("stdin (-) named more than once")
    report = Report()
    for p in paths:
        report.extend(parse(*read_bytes(p)))
    return report


def write_atomic(path, text):
    """Writes text to path ("-": stdout) whole or not at all."""
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory,
                                   prefix="." + os.path.basename(path) + ".")
    except OSError as err:
        raise OSError(err.errno, err.strerror, path) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as err:
        os.unlink(tmp)
        raise OSError(err.errno, err.strerror, path) from None
    except BaseException:
        os.unlink(tmp)
        raise
