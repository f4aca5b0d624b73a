"""Checks that the memory errors a tool finds fail their tests; run.py
calls check_memory() for each variant: valgrind's memcheck runs the gcc
build, LeakSanitizer is in the asan one.

selftest/progs/memory has a test that leaks a block, one that writes past
one, and tests that use subtests, parallel subtests and fixtures cleanly.
Under `valgrind --leak-check=full --error-exitcode=99`, which checks each
test's process as it exits, the two must fail saying the process exited
with status 99 after the test ended, naming the pid under which valgrind's
own log has the report, and the others pass: deft's own threads are ended
before a process exits (a live thread's TLS block is "possibly lost"), in
each test's process and at the end of a run without isolation.  The
tutorial example must pass under valgrind too, in well under the timeout:
memcheck does not know MADV_DONTFORK, and scanned the runner's 64 MiB
heap, which test processes do not have, a fault per word.  Without
valgrind the memory program passes: the errors are the tool's to find.

In the asan build LeakSanitizer checks each test's process after the
test's cleanups: the leak fails its test (only warns with -leaks=warn),
with the report in the test's output, and nothing of deft's own memory is
blamed, in a test's process or at the exit of a run without isolation.
The write past the block is AddressSanitizer's crash.
"""
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from crash_check import outcome
from misbehave_check import json_lines
from reports_check import xmllint

VALGRIND = ["valgrind", "-q", "--leak-check=full", "--error-exitcode=99"]
EXITED = (r"deft: test process (\d+) exited with status 99 after the test "
          r"ended: a tool that checks a process as it exits \(valgrind's "
          r"--error-exitcode\) found an error in it")
PASSING = ["keeps_a_block", "uses_fixtures", "runs_subtests",
           *(f"runs_subtests/sub{i}" for i in range(4))]
# a hang guard: each run takes seconds; before the heap fix, minutes
TIMEOUT = 300


def run(argv, env=None):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=TIMEOUT,
                              env=dict(os.environ, **(env or {})))
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(argv, "timeout", e.stdout or b"",
                                           e.stderr or b"")


def results(stdout):
    """Each test's action and output from a -json stream, and what of the
    stream does not parse."""
    events, bad = json_lines(stdout)
    output, action, _ = outcome(events)
    return action, output, bad


def not_passing(action, output):
    """What is wrong with the tests that must pass."""
    return [f"{test}: {action.get(test)}, want pass:\n{output.get(test, '')}"
            for test in PASSING if action.get(test) != "pass"]


def check_run(totals, name, proc, wrong):
    """A run whose tests failed as they should, wrong saying otherwise."""
    totals.check(name, proc.returncode == 1 and not wrong,
                 f"status {proc.returncode}, want 1\n" + "\n".join(wrong))


def check_clean(totals, name, argv, env=None):
    """argv without isolation and without the two faulty tests: the
    others pass, and the status is 0."""
    proc = run([*argv, "-isolation", "none", "-json", "-skip",
                "^(leaks_a_block|writes_past_a_block)$"], env)
    action, output, bad = results(proc.stdout)
    totals.check(name, proc.returncode == 0 and not bad and
                 all(action.get(t) == "pass" for t in PASSING),
                 f"status {proc.returncode}, want 0\n{action}\n"
                 f"{proc.stderr.decode('utf-8', 'replace')[-3000:]}")


def valgrind_report(log, pid):
    """What valgrind wrote for process pid."""
    return "\n".join(line for line in log.splitlines()
                     if line.startswith(f"=={pid}=="))


def check_blamed(totals, name, proc, want):
    """want: {test: what valgrind's report for its process must say}."""
    action, output, bad = results(proc.stdout)
    log = proc.stderr.decode("utf-8", "replace")
    wrong = list(bad[:5])
    for test, says in want.items():
        found = re.search(EXITED, output.get(test, ""))
        if action.get(test) != "fail" or not found:
            wrong.append(f"{test}: {action.get(test)}, output:\n"
                         f"{output.get(test, '')}")
        elif says not in valgrind_report(log, found.group(1)):
            wrong.append(f"{test}: valgrind's log has no {says!r} for "
                         f"process {found.group(1)}:\n{log[-3000:]}")
    check_run(totals, f"{name}: the tests valgrind faults fail, naming "
              f"the process its log reports, the others pass", proc,
              wrong + not_passing(action, output))


def check_memory(totals, variant, build):
    if variant == "gcc":
        check_valgrind(totals, build)
    elif variant == "asan":
        check_lsan(totals, build)


def check_lsan(totals, build):
    exe = os.path.join(build, "selftest", "progs", "memory")
    name = "asan: LeakSanitizer"
    proc = run([exe, "-json"])
    action, output, bad = results(proc.stdout)
    leak = output.get("leaks_a_block", "")
    wrong = list(bad[:5])
    if action.get("leaks_a_block") != "fail" or not all(
            re.search(p, leak) for p in [
                r"LeakSanitizer: detected memory leaks",
                r"Direct leak of 100 byte.*\n(.*\n)*? +#\d+ .* in "
                r"leaks_a_block .*memory\.c:\d+",
                r"memory leaked, unreachable after the test's cleanups: "
                r"LeakSanitizer's report is the test's stderr"]):
        wrong.append(f"leaks_a_block: {action.get('leaks_a_block')}:\n"
                     f"{leak}")
    if action.get("writes_past_a_block") != "fail" or not re.search(
            r"heap-buffer-overflow", output.get("writes_past_a_block", "")):
        wrong.append(f"writes_past_a_block: "
                     f"{action.get('writes_past_a_block')}")
    check_run(totals, f"{name}: a leak fails its test, with the report; "
              f"deft's own memory is not blamed", proc,
              wrong + not_passing(action, output))

    proc = run([exe, "-json", "-leaks=warn", "-run", "^leaks_a_block$"])
    action, output, bad = results(proc.stdout)
    totals.check(f"{name}: -leaks=warn reports the leak and passes",
                 proc.returncode == 0 and not bad and
                 action.get("leaks_a_block") == "pass" and
                 "(-leaks=warn): LeakSanitizer's report" in
                 output.get("leaks_a_block", ""),
                 f"status {proc.returncode}\n{output}")

    check_clean(totals, f"{name}: -isolation none: nothing of deft's "
                f"leaks at exit", [exe])


def check_valgrind(totals, build):
    exe = os.path.join(build, "selftest", "progs", "memory")
    tutorial = os.path.join(build, "examples", "tutorial", "tutorial_test")
    name = "gcc: valgrind"
    if shutil.which("valgrind") is None:
        totals.skip(name, "valgrind is not installed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        xml = os.path.join(tmp, "report.xml")
        proc = run([*VALGRIND, exe, "-json", "-junit", xml])
        check_blamed(totals, name, proc, {
            "leaks_a_block": "100 bytes in 1 blocks are definitely lost",
            "writes_past_a_block": "Invalid write of size 1"})
        ok, err = xmllint(xml, "jenkins-xunit-junit-10.xsd") \
            if os.path.exists(xml) else (False, "no JUnit file")
        failures = set() if not ok else {
            c.get("name") for c in ET.parse(xml).getroot().iter("testcase")
            if c.find("failure") is not None}
        totals.check(f"{name}: JUnit valid, the two as failures",
                     ok and failures == {"leaks_a_block",
                                         "writes_past_a_block"},
                     f"{err[-2000:]}\nfailures {sorted(failures)}")

    for how, env in (("", None), (", exit(t_run_tests(m))",
                                  {"DEFT_MEMORY_EXIT": "1"})):
        check_clean(totals, f"{name}: -isolation none{how}: deft's "
                    f"threads leave nothing possibly lost",
                    [*VALGRIND, exe], env)

    proc = run([exe, "-json"])
    action, output, bad = results(proc.stdout)
    totals.check(f"{name}: without valgrind the memory program passes",
                 proc.returncode == 0 and not bad and
                 action.get("leaks_a_block") == "pass" and
                 action.get("writes_past_a_block") == "pass",
                 f"status {proc.returncode}\n{action}")

    proc = run([*VALGRIND, tutorial])
    totals.check(f"{name}: the tutorial example passes under valgrind",
                 proc.returncode == 0,
                 f"status {proc.returncode}\n"
                 f"{proc.stdout.decode('utf-8', 'replace')[-3000:]}\n"
                 f"{proc.stderr.decode('utf-8', 'replace')[-3000:]}")
