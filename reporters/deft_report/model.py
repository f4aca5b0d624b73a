"""The results every subcommand works on, whatever file they came from.

A Report is a list of Suites; a Suite holds Cases, one per test or subtest
run (a test run twice by -count is two Cases of the same name).  JUnit
files and test2json streams are both read into this shape (junit_read.py,
testjson.py); the writers and views read only this shape.  Times are
seconds; start and end, when known, are Unix times from the input, used
for the timeline.
"""
from dataclasses import dataclass, field
import re

PASS, FAIL, ERROR, SKIP = "pass", "fail", "error", "skip"

# from-json names the second and later runs of a test "name (run N)", so
# that classname+name stays unique; grouping strips it again.
_RUN_SUFFIX = re.compile(r" \(run \d+\)$")


def base_name(name):
    """The test's name without the "(run N)" of a repeated run."""
    return _RUN_SUFFIX.sub("", name)


@dataclass
class Rerun:
    """A flakyFailure/rerunFailure/flakyError/rerunError element."""
    kind: str                   # the element's name
    message: str = ""
    type: str = ""
    text: str = ""              # stackTrace, or the element's own text
    stdout: str = ""
    stderr: str = ""


@dataclass
class Case:
    name: str
    classname: str = ""
    time: float = 0.0
    status: str = PASS
    message: str = ""
    type: str = ""
    text: str = ""              # body of failure, error or skipped
    stdout: str = ""
    stderr: str = ""
    reruns: list = field(default_factory=list)
    attrs: dict = field(default_factory=dict)   # others, kept as found
    start: float = None
    end: float = None
    pauses: list = field(default_factory=list)  # [(from, to)]
    source: str = ""            # the input it came from

    @property
    def failed(self):
        return self.status in (FAIL, ERROR)

    @property
    def flaky(self):
        """Passed after failing: Surefire's flakyFailure/flakyError."""
        return not self.failed and any(
            r.kind.startswith("flaky") for r in self.reruns)

    @property
    def log(self):
        """Everything the test printed or logged, for display."""
        return "\n".join(p for p in (self.text, self.stdout, self.stderr)
                         if p)


@dataclass
class Suite:
    name: str
    cases: list = field(default_factory=list)
    time: float = None          # None: the sum of its cases
    timestamp: str = ""
    start: float = None
    properties: list = field(default_factory=list)  # [(name, value)]
    stdout: str = ""
    stderr: str = ""
    attrs: dict = field(default_factory=dict)
    source: str = ""

    def counts(self):
        """(tests, failures, errors, skipped) counted from the cases."""
        n = {PASS: 0, FAIL: 0, ERROR: 0, SKIP: 0}
        for c in self.cases:
            n[c.status] += 1
        return len(self.cases), n[FAIL], n[ERROR], n[SKIP]

    def total_time(self):
        if self.time is not None:
            return self.time
        return sum(c.time for c in self.cases)


@dataclass
class Report:
    suites: list = field(default_factory=list)
    sources: list = field(default_factory=list)
    timed: bool = False         # cases carry real start/end times

    def cases(self):
        for s in self.suites:
            yield from s.cases

    def extend(self, other):
        self.suites.extend(other.suites)
        self.sources.extend(other.sources)
        self.timed = self.timed or other.timed
