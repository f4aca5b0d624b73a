"""Checks that a crash in the runner's own process is reported; run.py
calls check_crashes() for each variant.

That process runs every test with -isolation none, and TEST_MAIN and the
main cleanups always.  selftest/progs/crashes crashes there in several
ways: a fault in a subtest, abort() in a cleanup, a fault beside a
parallel sibling, a stack overflow, a fault on a thread that runs no
test, abort() in a main cleanup and in TEST_MAIN, and a double free that
leaves malloc's lock held (the reports are finished without malloc).
Each run must end with its -json stream parsing line by line, its JUnit
file valid and naming the crashed test as an error, the crash logged on
the test that crashed with its signal, backtrace and the cleanups that
did not run, the tests around it and beside it failed, nothing after it
run, no ThreadSanitizer warning of what the handler calls, and the
process dead of the signal: by the signal's default, or by
AddressSanitizer's handler, which deft hands a fault on to (it reports a
SIGSEGV itself and exits 1).  A crash while another thread of the test
is stuck in a report must be said on stderr, and the process die of it
10s later, leaving no half report.
"""
import os
import re
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

from misbehave_check import json_lines
from reports_check import xmllint

SEGV = (r"SIGSEGV \(Segmentation fault\), address not mapped at address "
        r"0x[0-9a-f]+\n")
FRAME = r" +#\d+ +{} at .*crashes\.c:\d+\n"
PENDING = r" +{} \(crashes\.c:\d+, test {}\)\n"


def segv_status(variant):
    """How a run that took a SIGSEGV ends: ASan's handler exits 1; under
    TSan, whose handler was seen to hang the process, deft dies of the
    kernel's default action, as without a sanitizer."""
    return {"asan": 1}.get(variant, -11)


def run(exe, args, env=None, tmp="."):
    xml = os.path.join(tmp, "report.xml")
    if os.path.exists(xml):
        os.unlink(xml)
    start = time.monotonic()
    proc = subprocess.run([exe, "-json", "-junit", xml, *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=dict(os.environ, **(env or {})))
    took = time.monotonic() - start
    events, bad = json_lines(proc.stdout)
    return proc, took, events, bad, xml


def outcome(events):
    """Each test's output and action, and the order the tests ended in."""
    output, action, ended = {}, {}, []
    for e in events:
        test = e.get("Test")
        if not test:
            continue
        if e["Action"] == "output":
            output[test] = output.get(test, "") + e["Output"]
        elif e["Action"] in ("pass", "fail", "skip"):
            action[test] = e["Action"]
            ended.append(test)
    return output, action, ended


def check_case(totals, variant, exe, tmp, name, args, status, want,
               env=None):
    """want: {test: (action, [regular expressions its output matches])};
    a test not in want must not have run."""
    proc, took, events, bad, xml = run(exe, args, env, tmp)
    name = f"{variant}: crashes: {name}"
    totals.check(f"{name}: the process dies of the crash",
                 proc.returncode == status,
                 f"status {proc.returncode}, want {status}\n"
                 f"{proc.stderr.decode('utf-8', 'replace')[-3000:]}")
    if variant == "tsan":
        totals.check(f"{name}: no ThreadSanitizer warning (the handler "
                     f"calls no malloc)",
                     b"WARNING: ThreadSanitizer" not in proc.stderr,
                     proc.stderr.decode("utf-8", "replace")[-3000:])
    totals.check(f"{name}: -json parses line by line, and ends the run",
                 not bad and events and events[-1].get("Action") == "fail"
                 and "Test" not in events[-1], "\n".join(bad[:5]))
    output, action, ended = outcome(events)
    wrong = []
    for test, (act, patterns) in want.items():
        if action.get(test) != act:
            wrong.append(f"{test}: {action.get(test)}, want {act}")
        for p in patterns:
            if not re.search(p, output.get(test, "")):
                wrong.append(f"{test}: output does not match {p!r}:\n"
                             f"{output.get(test, '')}")
    extra = set(action) - set(want)
    if extra:
        wrong.append(f"ran, though after the crash: {sorted(extra)}")
    # a subtest ends before its parent
    for i, test in enumerate(ended):
        if any(test.startswith(t + "/") for t in ended[:i]):
            wrong.append(f"{test} ended after its parent")
    if "never_runs ran" in "".join(output.values()):
        wrong.append("a cleanup ran after the crash")
    totals.check(f"{name}: blamed right, the tests around it failed",
                 not wrong, "\n".join(wrong))
    ok, err = xmllint(xml, "jenkins-xunit-junit-10.xsd") \
        if os.path.exists(xml) else (False, "no JUnit file")
    errors = set() if not ok else {
        c.get("name") for c in ET.parse(xml).getroot().iter("testcase")
        if c.find("error") is not None}
    crashed = {t for t, (act, _) in want.items() if act == "fail"}
    totals.check(f"{name}: JUnit written, valid, the crashed tests errors",
                 ok and errors == crashed,
                 f"{err[-2000:]}\nerrors {sorted(errors)}, "
                 f"want {sorted(crashed)}")
    return proc, took


def check_crashes(totals, variant, build):
    exe = os.path.join(build, "selftest", "progs", "crashes")
    none = ["-isolation", "none"]
    passes = ("pass", [])
    tear_down = PENDING.format("tear_down", "t_main_cleanup")
    with tempfile.TemporaryDirectory() as tmp:
        check_case(
            totals, variant, exe, tmp, "a fault in a subtest",
            [*none, "-run", "^(passes|crashes_in_subtest|aborts_in_cleanup)$"],
            segv_status(variant), {
                "passes": passes,
                "crashes_in_subtest/inner": ("fail", [
                    r"deft: test crashed: " + SEGV + r" +backtrace:\n(.*\n)*?"
                    + FRAME.format("store_to_unmapped"),
                    r"cleanups that did not run:\n"
                    + PENDING.format("never_runs", "crashes_in_subtest/inner")
                    + PENDING.format("never_runs", "crashes_in_subtest")
                    + tear_down]),
                "crashes_in_subtest": ("fail", [r"SIGSEGV"]),
            })
        check_case(
            totals, variant, exe, tmp, "abort() in a cleanup",
            [*none, "-run", "^(passes|aborts_in_cleanup)$"], -6, {
                "passes": passes,
                "aborts_in_cleanup": ("fail", [
                    r"deft: test crashed in a cleanup: SIGABRT \(Aborted\)\n"
                    r" +backtrace:\n(.*\n)*?" + FRAME.format("aborts"),
                    r"cleanups that did not run:\n"
                    + PENDING.format("never_runs", "aborts_in_cleanup")
                    + tear_down]),
            })
        check_case(
            totals, variant, exe, tmp, "a fault beside a parallel sibling",
            [*none, "-run", "^crashes_beside_a_sibling$"],
            segv_status(variant), {
                "crashes_beside_a_sibling/crashes": ("fail", [
                    r"deft: test crashed: " + SEGV + r"(.*\n)*?"
                    + FRAME.format("crashes")]),
                "crashes_beside_a_sibling/waits": ("fail", [
                    r"SIGSEGV \(Segmentation fault\) in another test"]),
                "crashes_beside_a_sibling": ("fail", []),
            })
        if variant != "tsan":
            check_case(
                totals, variant, exe, tmp, "a stack overflow",
                [*none, "-run", "^overflows_its_stack$"],
                segv_status(variant), {
                    "overflows_its_stack": ("fail", [
                        r"deft: test crashed: SIGSEGV \(Segmentation fault\), "
                        r"stack overflow at address 0x[0-9a-f]+\n +backtrace:"
                        r"\n" + FRAME.format("recurse")]),
                })
        check_case(
            totals, variant, exe, tmp, "a fault on a thread of a test's",
            [*none, "-run", "^crashes_on_its_thread$"],
            segv_status(variant), {
                "crashes_on_its_thread": ("fail", [
                    r"deft: a thread that runs no test crashed: " + SEGV
                    + r"(.*\n)*?" + FRAME.format("crash_thread")]),
            })
        for how, where, frame in (("cleanup", "abort() in a main cleanup",
                                   "aborts"),
                                  ("main", "abort() in TEST_MAIN", None)):
            text = (r"deft: test crashed in a cleanup: SIGABRT"
                    if how == "cleanup" else
                    r"deft: a thread that runs no test crashed: SIGABRT")
            patterns = [text + r" \(Aborted\)\n +backtrace:\n(.*\n)*?"
                        + (FRAME.format(frame) if frame else
                           r" +#\d+ +\S+ at .*crashes\.c:\d+\n"),
                        r"cleanups that did not run:\n" + tear_down]
            for isolation in ("process", "none"):
                check_case(
                    totals, variant, exe, tmp,
                    f"{where}, -isolation {isolation}",
                    ["-isolation", isolation, "-run", "^passes$"], -6,
                    {"passes": passes, "t_main_cleanup": ("fail", patterns)},
                    {"DEFT_CRASHES_MAIN": how})
        check_blocked(totals, variant, exe, tmp)
        if variant in ("asan", "tsan"):
            totals.skip(f"{variant}: crashes: a crash inside malloc",
                        "the sanitizer's heap reports a double free itself")
            return
        proc, _ = check_case(
            totals, variant, exe, tmp, "a double free, inside malloc, "
            "which holds its lock", [*none, "-run", "^double_free$"], -6, {
                "double_free": ("fail", [
                    r"deft: test crashed: SIGABRT \(Aborted\)\n"
                    r" +backtrace:\n(.*\n)*?" + FRAME.format("double_free")]),
            })
        left = [f for f in os.listdir(tmp) if f != "report.xml"]
        totals.check(
            f"{variant}: crashes: a double free: the reports finished at "
            f"once, no temporary left", b"could not be finished"
            not in proc.stderr and not left,
            f"left {left}\n{proc.stderr.decode('utf-8', 'replace')[-2000:]}")


def check_blocked(totals, variant, exe, tmp):
    """A crash while a thread of the test's is stuck in a report, writing
    into a -json pipe nobody reads: said on stderr, and the process dies
    of the signal 10s later, its JUnit file's temporary removed."""
    name = f"{variant}: crashes: a crash while the reports block"
    xml = os.path.join(tmp, "report.xml")
    if os.path.exists(xml):
        os.unlink(xml)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [exe, "-json", "-junit", xml, "-isolation", "none", "-run",
             "^crashes_while_reports_block$"],
            stdout=subprocess.PIPE, stderr=err)
        start = time.monotonic()
        try:
            status = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            status = proc.wait()
        took = time.monotonic() - start
        proc.stdout.close()
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    left = os.listdir(tmp)
    totals.check(
        f"{name}: said on stderr, the process dies of it 10s later, "
        f"no half report left", status == -6 and 9.5 < took < 30 and
        not left and re.search(
            r"deft: the run's process crashed \(SIGABRT in test "
            r"crashes_while_reports_block\), and its reports could not be "
            r"finished within 10s\n", text),
        f"status {status}, {took:.1f}s, left {left}\n{text[-2000:]}")
