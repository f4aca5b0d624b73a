"""Reading a test2json stream (go test -json, deft -json) into a Report.

One JSON object a line: Time (RFC 3339), Action (start, run, pause, cont,
output, pass, fail, skip, bench), Package, Test, Elapsed (seconds),
Output.  Each package becomes a suite and each run of a test a case whose
classname is the package.  A test run again (-count N) gets a case of its
own named "name (run N)" from the second run on, so that classname+name
stays unique, as GitLab needs.  A test still running when the stream ends
(its process crashed or was killed) becomes an error; so does a package
that failed with no failing test (a panic in init, a build failure), as a
case named after the package.  Output of a test is its case's text;
Time stamps give the timeline its start, end and paused spans.
"""
from datetime import datetime, timezone
import json
import re

from .errors import InputError
from .model import Case, Report, Suite, PASS, FAIL, ERROR, SKIP
from .text import DECODE_ERRORS

_ACTIONS = {"start", "run", "pause", "cont", "output", "pass", "fail",
            "skip", "bench"}
_FRACTION = re.compile(r"(\.\d{1,6})\d*")
FRAMING = re.compile(r"^\s*(=== (RUN|PAUSE|CONT|NAME)\b|--- (PASS|FAIL|SKIP|"
                     r"BENCH): |(PASS|FAIL)$|(ok|FAIL)\s+\S+\s+[\d.]+s$)")


def parse_rfc3339(s):
    """Time of an event -> Unix time; raises ValueError."""
    s = _FRACTION.sub(lambda m: m.group(1).ljust(7, "0"), s.strip(),
                      count=1)
    d = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z",
                                                                "+00:00"))
    if d.tzinfo is None:
        raise ValueError("no time zone")
    return d.timestamp()


def message_of(output):
    """The first line of a test's output that is not Go's framing."""
    for line in output.splitlines():
        if line.strip() and not FRAMING.match(line):
            return line.strip()[:200]
    return ""


class _Package:
    def __init__(self, name):
        self.suite = Suite(name=name or "(no package)")
        self.running = {}       # test name -> (Case, output parts)
        self.runs = {}          # test name -> how many runs so far
        self.last = {}          # test name -> its latest (Case, parts)
        self.parts = []         # (Case, its output parts) of every run
        self.output = []        # output outside any test
        self.result = None
        self.elapsed = None


def _event(obj, source, n):
    if not isinstance(obj, dict):
        raise InputError(source, n, "not a test2json event: not an object")
    action = obj.get("Action")
    if action not in _ACTIONS:
        raise InputError(source, n, "not a test2json event: Action %r"
                         % (action,))
    for key in ("Package", "Test", "Output"):
        if key in obj and not isinstance(obj[key], str):
            raise InputError(source, n, "%s is not a string" % key)
    elapsed = obj.get("Elapsed")
    if elapsed is not None and (isinstance(elapsed, bool) or
                                not isinstance(elapsed, (int, float))):
        raise InputError(source, n, "Elapsed is not a number")
    when = None
    if "Time" in obj:
        try:
            when = parse_rfc3339(str(obj["Time"]))
        except ValueError:
            raise InputError(source, n, "Time %r is not RFC 3339 with a "
                             "time zone" % (obj["Time"],)) from None
    return action, obj.get("Package", ""), obj.get("Test", ""), \
        obj.get("Output", ""), elapsed, when


def _finish(case, status, elapsed, when):
    case.status = status
    if elapsed is not None:
        case.time = float(elapsed)
    elif when is not None and case.start is not None:
        case.time = max(0.0, when - case.start)
    case.end = when


def _give_output(case, out):
    """The output of a finished case becomes its text, or its stdout when
    it passed; output that came after its result event counts too."""
    if case.status == PASS:
        case.stdout = out
        return
    case.text = out
    if not case.message:
        case.message = message_of(out) or {
            FAIL: "Failed", SKIP: "Skipped", ERROR: "Error"}[case.status]


def read_testjson(data, source):
    """Parses test2json bytes into a Report; raises InputError naming
    source and the line of the first bad event."""
    packages = {}
    order = []
    last_time = None
    timed = False
    for n, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        line = raw.decode("utf-8", DECODE_ERRORS)
        try:
            obj = json.loads(line)
        except ValueError as err:
            raise InputError(source, n, "invalid JSON: %s" %
                             str(err).split(":")[0]) from None
        action, pkg, test, output, elapsed, when = _event(obj, source, n)
        if when is not None:
            timed = True
            last_time = when if last_time is None else max(last_time, when)
        p = packages.get(pkg)
        if p is None:
            p = packages[pkg] = _Package(pkg)
            order.append(p)
        if not test:
            if action == "output":
                p.output.append(output)
            elif action == "start":
                p.suite.start = when
            elif action in ("pass", "fail", "skip"):
                p.result, p.elapsed = action, elapsed
                if p.suite.start is None and when is not None and \
                        elapsed is not None:
                    p.suite.start = when - float(elapsed)
            continue
        if action == "run":
            k = p.runs[test] = p.runs.get(test, 0) + 1
            name = test if k == 1 else "%s (run %d)" % (test, k)
            case = Case(name=name, classname=pkg, start=when, source=source)
            p.suite.cases.append(case)
            p.running[test] = p.last[test] = (case, [])
            p.parts.append(p.last[test])
            continue
        entry = p.running.get(test) or p.last.get(test)
        if entry is None:       # events of a test never announced by run
            case = Case(name=test, classname=pkg, start=when, source=source)
            p.runs[test] = 1
            p.suite.cases.append(case)
            entry = p.running[test] = p.last[test] = (case, [])
            p.parts.append(entry)
        case, parts = entry
        if action == "output":
            parts.append(output)
        elif action == "pause":
            case.pauses.append([when, None])
        elif action == "cont":
            if case.pauses and case.pauses[-1][1] is None:
                case.pauses[-1][1] = when
        elif action in ("pass", "fail", "skip"):
            status = {"pass": PASS, "fail": FAIL, "skip": SKIP}[action]
            _finish(case, status, elapsed, when)
            p.running.pop(test, None)
    return _close(order, source, last_time, timed)


def _close(order, source, last_time, timed):
    report = Report(sources=[source], timed=timed)
    for p in order:
        outside = "".join(ln for ln in p.output if not FRAMING.match(ln))
        for case, parts in p.running.values():
            # Its process died: what the package printed after it (a
            # signal, a panic) belongs to its story.
            _finish(case, ERROR, None, last_time)
            case.message = ("test did not finish: the stream ended while it "
                            "ran (crash, timeout or kill?)")
            parts.append(outside)
        for case, parts in p.parts:
            _give_output(case, "".join(parts))
        s = p.suite
        for c in s.cases:
            c.pauses = [(a, b if b is not None else c.end)
                        for a, b in c.pauses if a is not None]
        if p.elapsed is not None:
            s.time = float(p.elapsed)
        if s.start is not None:
            s.timestamp = datetime.fromtimestamp(
                s.start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        if p.result == "fail" and not any(c.failed for c in s.cases):
            out = "".join(p.output)
            s.cases.append(Case(
                name=s.name, classname=p.suite.name, status=FAIL,
                message=message_of(out) or "package failed",
                type="package", text=out, source=source,
                time=float(p.elapsed or 0.0)))
        report.suites.append(s)
    return report
