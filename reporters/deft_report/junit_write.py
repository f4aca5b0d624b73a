"""Writing a Report as JUnit XML that Jenkins, GitLab, GitHub and Surefire
read.

The target, as DESIGN.md section 10 says, is Jenkins' xunit schema for the
whole file and Surefire's for each suite: counts recomputed from the
cases, times with three decimals, an errors attribute, no hostname on a
suite (kept as a property instead), the children of a testcase in
Surefire's order (failure, rerunFailure, flakyFailure, skipped, error,
rerunError, flakyError, system-out, system-err) and a stackTrace in every
rerun element.  Every case gets a non-empty classname (its suite's name
if it had none) and a classname+name pair unique in the file, GitLab's
key: a repeated pair is renamed "name (run N)".  All text goes through
text.clean(); nothing is written as CDATA.
"""
from datetime import datetime, timezone

from .junit_read import parse_timestamp
from .model import base_name, FAIL, ERROR, SKIP
from .text import clean

# Suite attributes Surefire's schema forbids; they become properties.
_SUITE_TO_PROPERTY = ("hostname", "id", "package")
_SUITE_OWN = ("name", "tests", "failures", "errors", "skipped", "time",
              "timestamp")
_CASE_OWN = ("name", "classname", "time")
# What both schemas allow beyond those: in strict mode the only others kept.
_SUITE_BOTH = ("version", "group")
_CASE_BOTH = ("group",)


def _attr(s):
    s = clean(str(s), limit=64 * 1024)
    return '"%s"' % (s.replace("&", "&amp;").replace("<", "&lt;")
                     .replace(">", "&gt;").replace('"', "&quot;")
                     .replace("\n", "&#10;").replace("\r", "&#13;")
                     .replace("\t", "&#9;"))


def _body(s):
    s = clean(s)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attrs(pairs):
    return "".join(" %s=%s" % (k, _attr(v)) for k, v in pairs
                   if v is not None)


def _element(out, indent, tag, attrs, text):
    if text:
        out.append("%s<%s%s>%s</%s>\n" % (indent, tag, _attrs(attrs),
                                          _body(text), tag))
    else:
        out.append("%s<%s%s/>\n" % (indent, tag, _attrs(attrs)))


def fmt_time(t):
    return "%.3f" % max(0.0, t or 0.0)


def _timestamp(suite):
    when = parse_timestamp(suite.timestamp)
    if when is None:
        when = suite.start
    if when is None:
        return None
    return datetime.fromtimestamp(when, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S")


def _reruns(out, case, kinds):
    for r in case.reruns:
        if r.kind not in kinds:
            continue
        out.append("      <%s%s>\n" % (r.kind, _attrs(
            [("message", r.message or None), ("type", r.type or "")])))
        _element(out, "        ", "stackTrace", [], r.text)
        if r.stdout:
            _element(out, "        ", "system-out", [], r.stdout)
        if r.stderr:
            _element(out, "        ", "system-err", [], r.stderr)
        out.append("      </%s>\n" % r.kind)


def _case(out, case, suite_name, seen, strict):
    classname = case.classname or suite_name
    name = case.name
    if (classname, name) in seen:
        base, k = base_name(name), 1
        while (classname, name) in seen:
            k += 1
            name = "%s (run %d)" % (base, k)
    seen.add((classname, name))
    attrs = [("name", name), ("classname", classname),
             ("time", fmt_time(case.time))]
    attrs += [(k2, v) for k2, v in case.attrs.items()
              if k2 not in _CASE_OWN and (not strict or k2 in _CASE_BOTH)]
    out.append("    <testcase%s>\n" % _attrs(attrs))
    if case.status == FAIL:
        _element(out, "      ", "failure", [("message", case.message),
                                            ("type", case.type)], case.text)
    _reruns(out, case, ("rerunFailure", "flakyFailure"))
    if case.status == SKIP:
        _element(out, "      ", "skipped", [("message", case.message)],
                 case.text)
    if case.status == ERROR:
        _element(out, "      ", "error", [("message", case.message),
                                          ("type", case.type)], case.text)
    _reruns(out, case, ("rerunError", "flakyError"))
    if case.stdout:
        _element(out, "      ", "system-out", [], case.stdout)
    if case.stderr:
        _element(out, "      ", "system-err", [], case.stderr)
    out.append("    </testcase>\n")


def _suite(out, suite, seen, strict):
    tests, failures, errors, skipped = suite.counts()
    name = suite.name or (suite.cases[0].classname if suite.cases
                          else "") or "(unnamed)"
    attrs = [("name", name), ("tests", tests), ("failures", failures),
             ("errors", errors), ("skipped", skipped),
             ("time", fmt_time(suite.total_time())),
             ("timestamp", _timestamp(suite))]
    props = list(suite.properties)
    for k, v in suite.attrs.items():
        if k in _SUITE_TO_PROPERTY or (strict and k not in _SUITE_BOTH and
                                       k not in _SUITE_OWN):
            props.append((k, v))
        elif k not in _SUITE_OWN:
            attrs.append((k, v))
    out.append("  <testsuite%s>\n" % _attrs(attrs))
    if props:
        out.append("    <properties>\n")
        for k, v in props:
            out.append("      <property%s/>\n" % _attrs(
                [("name", k), ("value", v)]))
        out.append("    </properties>\n")
    for c in suite.cases:
        _case(out, c, name, seen, strict)
    if suite.stdout and not strict:
        _element(out, "    ", "system-out", [], suite.stdout)
    if suite.stderr and not strict:
        _element(out, "    ", "system-err", [], suite.stderr)
    out.append("  </testsuite>\n")


def write_junit(report, name=None, strict=False):
    """Returns the report as JUnit XML, a str.  Attributes of the inputs
    that the writer does not know are kept, except in strict mode, where
    a suite's become properties and a case's are dropped (file and line,
    which GitLab shows but neither schema allows), and so is a suite's own
    system-out and system-err, which Surefire's schema forbids."""
    out = []
    seen = set()
    for s in report.suites:
        _suite(out, s, seen, strict)
    tests = failures = errors = 0
    time = 0.0
    for s in report.suites:
        t, f, e, _ = s.counts()
        tests, failures, errors = tests + t, failures + f, errors + e
        time += s.total_time()
    head = ['<?xml version="1.0" encoding="UTF-8"?>\n',
            "<testsuites%s>\n" % _attrs(
                [("name", name), ("tests", tests), ("failures", failures),
                 ("errors", errors), ("time", fmt_time(time))])]
    return "".join(head + out + ["</testsuites>\n"])
