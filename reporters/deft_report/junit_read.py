"""Reading JUnit XML in the dialects that tools write.

There is no one JUnit format.  This reader takes what deft, gotestsum,
Jenkins, Ant and Maven Surefire write: a <testsuites> root or a bare
<testsuite>, suites nested in suites (flattened), cases right under
<testsuites> (gathered in a suite named after the root), failure/error/skipped
with the text as body or only as message, several system-out elements,
properties at suite or case level, and Surefire's flakyFailure/
rerunFailure/flakyError/rerunError with or without a stackTrace child.
Counts in the file are ignored: they are recomputed from the cases.
Unknown elements are skipped; unknown attributes are kept, so that a merge
loses nothing a consumer might read (file and line, for one).
"""
from datetime import datetime, timezone
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


def read_junit(data, source):
    """Parses JUnit XML bytes into a Report; raises InputError naming
    source and the line of the first error."""
    try:
        root = ET.fromstring(data)
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
