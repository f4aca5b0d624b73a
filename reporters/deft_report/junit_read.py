"""Reading JUnit XML in the dialects that tools write.

There is no one JUnit format.  This reader takes what deft, gotestsum,
Jenkins, Ant and Maven Surefire write: a <testsuites> root or a bare
<testsuite>, suites nested in suites (flattened), cases right under
<testsuites> (gathered in a suite named after the root), failure/error/skipped
with the text as body or only as message, several system-out elements,
properties at suite or case level, and Surefire's flakyFailure/
rerunFailure/flakyError/rerunError with or without a stackTrace child.
Counts in the file are ignored: they are recomputed from the cases.
Writers that put control characters in their XML, raw or as character
references (which XML 1.0 forbids either way), or bytes of invalid UTF-8
are common; repair() shows those as "\\x1b" text before parsing.
Unknown elements are skipped; unknown attributes are kept, so that a merge
loses nothing a consumer might read (file and line, for one).
"""
from datetime import datetime, timezone
import re
import xml.etree.ElementTree as ET

from .errors import InputError
from .model import Case, Report, Rerun, Suite, PASS, FAIL, ERROR, SKIP

_RERUNS = ("flakyFailure", "flakyError", "rerunFailure", "rerunError")
_CASE_KNOWN = ("name", "classname", "time")
_SUITE_KNOWN = ("name", "tests", "failures", "errors", "skipped",
                "disabled", "time", "timestamp", "flakes")


def parse_time(s):
    """A JUnit time: "1.5", "1,234.5" (Surefire), "" -> seconds."""
    if not s:
        return 0.0
    try:
        v = float(s.replace(",", ""))
    except ValueError:
        return 0.0
    return v if v >= 0 and v == v else 0.0


def parse_timestamp(s):
    """An ISO 8601 timestamp -> Unix time, or None; no zone means UTC."""
    if not s:
        return None
    try:
        d = datetime.fromisoformat(s.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(e):
    return "".join(e.itertext()) if e is not None else ""


def _add(a, b):
    return a + ("\n" if a and b and not a.endswith("\n") else "") + b


def _rerun(e):
    r = Rerun(kind=_local(e.tag), message=e.get("message", ""),
              type=e.get("type", ""))
    own = (e.text or "").strip()
    for child in e:
        tag = _local(child.tag)
        if tag == "stackTrace":
            r.text = _add(r.text, _text(child))
        elif tag == "system-out":
            r.stdout = _add(r.stdout, _text(child))
        elif tag == "system-err":
            r.stderr = _add(r.stderr, _text(child))
    if own and not r.text:
        r.text = own
    return r


def _case(e, source):
    c = Case(name=e.get("name", ""), classname=e.get("classname", ""),
             time=parse_time(e.get("time")), source=source,
             attrs={k: v for k, v in e.attrib.items()
                    if k not in _CASE_KNOWN})
    for child in e:
        tag = _local(child.tag)
        if tag in ("failure", "error"):
            status = ERROR if tag == "error" else FAIL
            if c.status in (PASS, SKIP) or status == ERROR:
                c.status = status
            if not c.message:
                c.message = child.get("message", "")
                c.type = child.get("type", "")
            c.text = _add(c.text, _text(child))
        elif tag == "skipped":
            if c.status == PASS:
                c.status = SKIP
                c.message = child.get("message", "")
            c.text = _add(c.text, _text(child))
        elif tag == "system-out":
            c.stdout = _add(c.stdout, _text(child))
        elif tag == "system-err":
            c.stderr = _add(c.stderr, _text(child))
        elif tag in _RERUNS:
            c.reruns.append(_rerun(child))
    return c


def _suites(e, source, out):
    """Appends the suite e, then the suites nested in it, to out."""
    s = Suite(name=e.get("name", ""), timestamp=e.get("timestamp", ""),
              source=source,
              attrs={k: v for k, v in e.attrib.items()
                     if k not in _SUITE_KNOWN})
    s.start = parse_timestamp(s.timestamp)
    if e.get("time"):
        s.time = parse_time(e.get("time"))
    out.append(s)
    for child in e:
        tag = _local(child.tag)
        if tag == "testcase":
            s.cases.append(_case(child, source))
        elif tag == "testsuite":
            _suites(child, source, out)
        elif tag == "properties":
            s.properties.extend((p.get("name", ""), p.get("value", ""))
                                for p in child
                                if _local(p.tag) == "property")
        elif tag == "system-out":
            s.stdout = _add(s.stdout, _text(child))
        elif tag == "system-err":
            s.stderr = _add(s.stderr, _text(child))


_CHAR_REF = re.compile(rb"&#(x[0-9a-fA-F]+|[0-9]+);")
_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([^\"']+)")


def _allowed(c):
    return c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or \
        0xE000 <= c <= 0xFFFD or 0x10000 <= c <= 0x10FFFF


def _ref(m):
    v = m.group(1)
    c = int(v[1:], 16) if v[:1] in (b"x",) else int(v)
    if _allowed(c):
        return m.group(0)
    return (b"\\x%02x" % c) if c < 0x100 else (b"\\u%04x" % c)


def repair(data):
    """data with what XML 1.0 forbids made visible text: references to
    forbidden characters, raw control bytes and, in a UTF-8 document,
    bytes of invalid UTF-8."""
    data = _CHAR_REF.sub(_ref, data)
    declared = _DECLARED.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return data             # bytes mean other things there
    data = _RAW_CONTROL.sub(lambda m: b"\\x%02x" % m.group(0)[0], data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "surrogateescape")
        text = re.sub("[\udc80-\udcff]",
                      lambda m: "\\x%02x" % (ord(m.group(0)) - 0xDC00), text)
        data = text.encode("utf-8")
    return data


def read_junit(data, source):
    """Parses JUnit XML bytes into a Report; raises InputError naming
    source and the line of the first error."""
    try:
        root = ET.fromstring(repair(data))
    except ET.ParseError as err:
        line = err.position[0] if err.position else 0
        msg = str(err).split(":")[0]
        raise InputError(source, line, "invalid XML: " + msg) from None
    tag = _local(root.tag)
    report = Report(sources=[source])
    if tag == "testsuites":
        loose = Suite(name=root.get("name", ""), source=source)
        for child in root:
            if _local(child.tag) == "testsuite":
                _suites(child, source, report.suites)
            elif _local(child.tag) == "testcase":
                loose.cases.append(_case(child, source))
        if loose.cases:         # cases with no suite of their own
            report.suites.append(loose)
    elif tag == "testsuite":
        _suites(root, source, report.suites)
    else:
        raise InputError(source, 1, "not a JUnit report: the root element "
                         "is <%s>, not <testsuites> or <testsuite>" % tag)
    # An empty wrapper suite whose tests are all in nested suites is not
    # a suite of its own.
    report.suites = [s for s in report.suites
                     if s.cases or s.properties or s.stdout or s.stderr
                     or len(report.suites) == 1]
    return report
