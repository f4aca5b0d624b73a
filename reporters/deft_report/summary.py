"""summary: what a person wants to know of a run, as plain text.

Totals over every case of every input; each failure with the first lines
of its log (Go's "=== RUN"/"--- FAIL" framing left out); the slowest
tests; and the flaky ones: a test (classname and name, "(run N)" ignored)
that both passed and failed across the runs in the inputs (-count N in one
file, reruns in several files), or that Surefire's flakyFailure/flakyError
marks as having passed on a rerun.
"""
from .model import base_name, PASS, FAIL, ERROR, SKIP
from .testjson import FRAMING
from .text import clean


def totals(report):
    n = {PASS: 0, FAIL: 0, ERROR: 0, SKIP: 0}
    time = 0.0
    for s in report.suites:
        time += s.total_time()
        for c in s.cases:
            n[c.status] += 1
    return n, time


def flaky(report):
    """[(classname, name, passes, failures)] of the flaky tests, in the
    order they first appear."""
    runs = {}
    for c in report.cases():
        key = (c.classname, base_name(c.name))
        r = runs.setdefault(key, [0, 0, False])
        if c.failed:
            r[1] += 1
        elif c.status == PASS:
            r[0] += 1
        if c.flaky:
            r[2] = True
            r[1] += sum(1 for x in c.reruns if x.kind.startswith("flaky"))
    return [(k[0], k[1], p, f) for k, (p, f, marked) in runs.items()
            if (p and f) or marked]


def log_lines(case, count):
    """The first count lines of case's log that are not framing."""
    lines = [clean(ln.rstrip(), 500) for ln in case.log.splitlines()
             if ln.strip() and not FRAMING.match(ln)]
    if not lines and case.message:
        lines = [case.message]
    more = len(lines) - count
    return lines[:count], max(0, more)


def _label(c):
    return "%s %s" % (c.classname, c.name) if c.classname else c.name


def summary(report, lines=5, slowest=10):
    """The summary of report as text."""
    n, time = totals(report)
    cases = list(report.cases())
    out = ["%d tests in %d %s: %d passed, %d failed, %d errors, "
           "%d skipped (%.3fs)" % (
               len(cases), len(report.sources),
               "input" if len(report.sources) == 1 else "inputs",
               n[PASS], n[FAIL], n[ERROR], n[SKIP], time)]
    failed = [c for c in cases if c.failed]
    if failed:
        out += ["", "Failures:"]
        for c in failed:
            out.append("  %s %s (%.3fs)%s" % (
                "ERROR" if c.status == ERROR else "FAIL", _label(c), c.time,
                "  [%s]" % c.source if len(report.sources) > 1 else ""))
            shown, more = log_lines(c, lines)
            out += ["      " + ln.strip() for ln in shown]
            if more:
                out.append("      ... %d more lines" % more)
    fl = flaky(report)
    if fl:
        out += ["", "Flaky:"]
        for classname, name, p, f in fl:
            out.append("  %s %s: %d passed, %d failed" % (
                classname, name, p, f) if classname else
                "  %s: %d passed, %d failed" % (name, p, f))
    if slowest > 0 and cases:
        out += ["", "Slowest:"]
        for c in sorted(cases, key=lambda c: -c.time)[:slowest]:
            out.append("  %9.3fs  %s" % (c.time, _label(c)))
    return "\n".join(out) + "\n"
