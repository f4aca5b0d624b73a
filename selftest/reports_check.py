"""Checks deft's report formats with the tools that read them; run.py
calls check_reports() and check_integrations().

-junit: xmllint validates the whole file against Jenkins' schema and each
<testsuite> against Surefire's (selftest/schemas/); counts, unique
classname+name pairs and the size of text nodes are checked here.
-json: every line is one JSON object under 65,535 bytes with an RFC 3339
Time, parents open before and close after their subtests, and gotestsum
reports the same counts as deft and writes a JUnit file with them.
-tap: the nesting and plans are checked here, and prove reads it.
-json and -junit give each line a test process writes to the test that
wrote it (progs/attribution.c), also with the runner's process stopped by
gdb in each read of a pipe; with -json and -tap, what the runner's
own process prints does not get into stdout.
The console names each failed test in a command that runs it alone
(progs/rerun.c): each command, run, selects exactly that test.
-retries (progs/flaky.c): JUnit keeps the last run of each test with the
failures of the runs before as Surefire's flakyFailure/rerunFailure,
valid against both schemas; -json and -tap show every run, the failed
ones marked as run again; the totals and exit status count the last.
Sharding: -shard and the GoogleTest and Bazel variables split the suite
into disjoint shards whose union is the suite.  The Meson and CMake
examples are configured, built and run against an installed deft.
Tools missing from the machine make their checks skip, saying so
(ninja/deps.sh installs them).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMAS = os.path.join(ROOT, "selftest", "schemas")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d)$")
# the programs whose reports are checked, with their arguments
PROGS = [("reports", []), ("failures", []), ("subtests", []),
         ("subtests", ["-count", "2"]), ("forks", []),
         ("forks", ["-isolation", "none"]),
         ("exits", ["-isolation", "none"]),
         ("crashes", ["-isolation", "none", "-run",
                      "^(passes|crashes_beside_a_sibling)$"])]


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, **kw)


def deft_counts(exe, args):
    """What deft's own console says: (passed, failed, skipped), status."""
    proc = run([exe, *args])
    found = SUMMARY.findall(proc.stdout.decode("utf-8", "replace"))
    return tuple(map(int, found[-1])), proc.returncode


def xmllint(path, schema):
    proc = run(["xmllint", "--noout", "--schema",
                os.path.join(SCHEMAS, schema), path])
    return proc.returncode == 0, proc.stderr.decode("utf-8", "replace")


def check_junit(totals, name, exe, args, tmp):
    path = os.path.join(tmp, "report.xml")
    (passed, failed, skipped), status = deft_counts(exe, args)
    proc = run([exe, *args, "-junit", path])
    totals.check(f"{name}: -junit keeps the exit status",
                 proc.returncode == status, proc.stderr[-2000:])
    leftovers = [f for f in os.listdir(tmp) if f.startswith("report.xml.")]
    totals.check(f"{name}: -junit leaves no temporary file", not leftovers,
                 str(leftovers))
    ok, err = xmllint(path, "jenkins-xunit-junit-10.xsd")
    totals.check(f"{name}: JUnit valid against Jenkins' schema", ok,
                 err[-3000:])
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        totals.check(f"{name}: JUnit file parses", False, str(e))
        return set()
    bad = []
    for i, suite in enumerate(root.findall("testsuite")):
        one = os.path.join(tmp, f"suite{i}.xml")
        ET.ElementTree(suite).write(one, encoding="UTF-8",
                                    xml_declaration=True)
        ok, err = xmllint(one, "surefire-test-report.xsd")
        if not ok:
            bad.append(err[-1000:])
    totals.check(f"{name}: each JUnit suite valid against Surefire's "
                 f"schema", not bad, "\n".join(bad))
    cases = root.findall("testsuite/testcase")
    pairs = [(c.get("classname"), c.get("name")) for c in cases]
    totals.check(f"{name}: JUnit classname+name pairs are unique",
                 len(pairs) == len(set(pairs)), str(pairs))
    fails = len([c for c in cases if c.find("failure") is not None or
                 c.find("error") is not None])
    skips = len([c for c in cases if c.find("skipped") is not None])
    got = (int(root.get("tests")), int(root.get("failures")) +
           int(root.get("errors")), len(cases), fails, skips)
    want = (passed + failed + skipped, failed, passed + failed + skipped,
            failed, skipped)
    totals.check(f"{name}: JUnit counts match deft's", got == want,
                 f"got {got}, want {want}")
    biggest = max((len(e.text or "") for e in root.iter()), default=0)
    totals.check(f"{name}: JUnit text nodes stay far below 10 MB",
                 biggest < 8 << 20, f"largest {biggest}")
    return {c.get("name") for c in cases}


def json_events(totals, name, out):
    """Parses a -json stream, checking each line; returns the events."""
    events, problems = [], []
    for n, line in enumerate(out.split(b"\n")[:-1], 1):
        if len(line) > 65535:
            problems.append(f"line {n}: {len(line)} bytes")
        try:
            ev = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            problems.append(f"line {n}: {e}: {line[:200]!r}")
            continue
        if not TIME.match(ev.get("Time", "")):
            problems.append(f"line {n}: Time {ev.get('Time')!r}")
        if ev.get("Action") in ("pass", "fail", "skip") and \
                not isinstance(ev.get("Elapsed"), (int, float)):
            problems.append(f"line {n}: Elapsed {ev.get('Elapsed')!r}")
        events.append(ev)
    if not out.endswith(b"\n"):
        problems.append("the stream does not end with a newline")
    totals.check(f"{name}: -json lines are JSON objects of under 64 KiB "
                 f"with RFC 3339 times", not problems,
                 "\n".join(problems[:20]))
    return events


def check_json_order(totals, name, events):
    """Each test's events lie between its run and its result, inside its
    parent's; the package's result is last."""
    open_tests, problems = [], []
    for ev in events:
        test, action = ev.get("Test"), ev["Action"]
        if test is None:
            continue
        if action == "run":
            if "/" in test and not any(test.startswith(t + "/")
                                       for t in open_tests):
                problems.append(f"{test} runs with no parent open")
            open_tests.append(test)
        elif test not in open_tests:
            problems.append(f"{action} of {test}, which is not open")
        elif action in ("pass", "fail", "skip"):
            if any(t.startswith(test + "/") for t in open_tests):
                problems.append(f"{test} ends before its subtests")
            open_tests.remove(test)
    last = events[-1] if events else {}
    if "Test" in last or last.get("Action") not in ("pass", "fail"):
        problems.append(f"the last event is {last}")
    totals.check(f"{name}: -json opens parents first and closes them "
                 f"last", not problems and not open_tests,
                 "\n".join(problems[:20]) + str(open_tests))


def check_messages(totals, variant, build, tmp):
    """JUnit's message= says why a case failed or skipped: its first
    failure or t_skip's message, not a log line before it; a test that
    failed by its subtests alone says so."""
    exe = os.path.join(build, "selftest", "progs", "reports")
    want = {"logs_then_fails": r"reports\.c:\d+: the first failure",
            "logs_then_skips": r"reports\.c:\d+: the reason to skip",
            "tree": "a subtest failed", "tree/b": "a subtest failed",
            "tree/b/bad": r"reports\.c:\d+: failing leaf"}
    for more in ([], ["-isolation", "none"]):
        path = os.path.join(tmp, "messages.xml")
        run([exe, "-run", "^(logs_then_.*|tree)$", "-junit", path, *more])
        try:
            cases = ET.parse(path).getroot().iter("testcase")
            got = {case.get("name"): why.get("message")
                   for case in cases for why in case
                   if why.tag in ("failure", "skipped")}
            wrong = [(n, got.get(n)) for n in want
                     if not re.fullmatch(want[n], got.get(n) or "")]
        except (OSError, ET.ParseError) as e:
            wrong = str(e)
        totals.check(f"{variant}: {' '.join(['messages', *more])}: "
                     f"JUnit's message= is the first failure or the skip's "
                     f"reason", not wrong, f"{wrong}")


def check_json(totals, name, exe, args):
    (passed, failed, skipped), status = deft_counts(exe, args)
    proc = run([exe, *args, "-json"])
    totals.check(f"{name}: -json keeps the exit status",
                 proc.returncode == status)
    events = json_events(totals, name, proc.stdout)
    check_json_order(totals, name, events)
    results = [e["Action"] for e in events
               if e.get("Test") and e["Action"] in ("pass", "fail", "skip")]
    got = tuple(results.count(a) for a in ("pass", "fail", "skip"))
    totals.check(f"{name}: -json results match deft's",
                 got == (passed, failed, skipped), f"{got}")
    return {e["Test"] for e in events if e.get("Test")}


def check_gotestsum(totals, name, exe, args, tmp):
    if shutil.which("gotestsum") is None:
        totals.skip(f"{name}: gotestsum", "gotestsum is not installed "
                    "(ninja/deps.sh installs it)")
        return
    (passed, failed, skipped), status = deft_counts(exe, args)
    junit = os.path.join(tmp, "gotestsum.xml")
    proc = run(["gotestsum", "--format", "testname", "--junitfile", junit,
                "--raw-command", "--", exe, *args, "-json"])
    out = proc.stdout.decode("utf-8", "replace")
    m = re.search(r"^DONE (\d+) tests?(?:, (\d+) skipped)?"
                  r"(?:, (\d+) failures?)?", out, re.M)
    got = tuple(int(x or 0) for x in m.groups()) if m else None
    want = (passed + failed + skipped, skipped, failed)
    totals.check(f"{name}: gotestsum counts match deft's", got == want,
                 f"got {got}, want {want}\n{out[-3000:]}")
    totals.check(f"{name}: gotestsum exits as deft does",
                 (proc.returncode != 0) == (status != 0))
    proc = run([exe, *args, "-json"])
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    failing = sorted({e["Test"] for e in events
                      if e.get("Test") and e["Action"] == "fail"})
    reported = sorted(set(re.findall(r"^=== FAIL: \S+ (.*) \(\d", out,
                                     re.M)))
    totals.check(f"{name}: gotestsum names deft's failures", reported ==
                 failing, f"gotestsum: {reported}\ndeft: {failing}")
    try:
        root = ET.parse(junit).getroot()
        got = (int(root.get("tests")), int(root.get("failures")))
        names = {c.get("name") for c in root.iter("testcase")}
    except (OSError, ET.ParseError, TypeError) as e:
        got, names = str(e), set()
    totals.check(f"{name}: gotestsum --junitfile has deft's counts",
                 got == (passed + failed + skipped, failed),
                 f"got {got}")
    want = {e["Test"] for e in events if e.get("Test")}
    totals.check(f"{name}: gotestsum --junitfile has deft's test names",
                 names == want, f"{sorted(names ^ want)}")


def parse_tap(lines, i, indent, problems):
    """Reads the TAP stream at lines[i:] indented by indent until a line
    indented less; checks numbering and plan; returns (next i, points)."""
    points, plan, pad = 0, None, " " * indent
    while i < len(lines) and lines[i].startswith(pad):
        body = lines[i][indent:]
        if body.startswith("    "):
            i, _ = parse_tap(lines, i, indent + 4, problems)
            if i >= len(lines) or not re.match(r" *(not )?ok ",
                                               lines[i][indent:]):
                problems.append(f"subtest not followed by its test point "
                                f"at line {i + 1}")
            continue
        if body.startswith("  ---"):
            while i < len(lines) and lines[i] != pad + "  ...":
                i += 1
        elif re.match(r"(not )?ok \d+", body):
            points += 1
            n = int(re.match(r"(?:not )?ok (\d+)", body).group(1))
            if n != points:
                problems.append(f"line {i + 1}: test point {n}, want "
                                f"{points}")
        elif re.match(r"1\.\.\d+", body):
            plan = int(re.match(r"1\.\.(\d+)", body).group(1))
        elif not (body.startswith("#") or
                  (indent == 0 and body.startswith("TAP version "))):
            problems.append(f"line {i + 1}: unexpected {body[:200]!r}")
        i += 1
    if plan != points:
        problems.append(f"plan {plan} for {points} test points (indent "
                        f"{indent}, before line {i + 1})")
    return i, points


def check_tap(totals, name, exe, args, tmp):
    (passed, failed, skipped), status = deft_counts(exe, args)
    proc = run([exe, *args, "-tap"])
    text = proc.stdout.decode("utf-8", "replace")
    lines = text.split("\n")[:-1]
    problems = []
    if not lines or lines[0] != "TAP version 14":
        problems.append(f"first line {lines[:1]}")
    used, points = parse_tap(lines, 0, 0, problems)
    if used != len(lines):
        problems.append(f"stopped at line {used}: {lines[used][:200]}")
    tops = len(re.findall(r"^(?:not )?ok \d+", text, re.M))
    totals.check(f"{name}: -tap nests subtests with matching plans",
                 not problems and points == tops, "\n".join(problems[:20]))
    totals.check(f"{name}: -tap keeps the exit status",
                 proc.returncode == status)
    if shutil.which("prove") is None:
        totals.skip(f"{name}: prove", "prove is not installed")
        return
    script = os.path.join(tmp, "tap.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexec " + " ".join(
            f"'{a}'" for a in [exe, *args, "-tap"]) + "\n")
    os.chmod(script, 0o755)
    proc = run(["prove", "-v", "--exec", "", script])
    out = proc.stdout.decode("utf-8", "replace")
    m = re.search(r"Tests: (\d+) Failed: (\d+)", out) or \
        re.search(r"Files=1, Tests=(\d+)", out)
    top_failed = len(re.findall(r"^not ok \d+", text, re.M))
    parse_errors = "Parse errors" in out
    want_ok = top_failed == 0 and status == 0
    totals.check(f"{name}: prove reads -tap ({tops} tests, {top_failed} "
                 f"failed)", m is not None and int(m.group(1)) == tops
                 and not parse_errors and
                 (("Result: PASS" in out) == want_ok), out[-3000:])


# a line progs/attribution.c writes: what it is, and the test writing it;
# one without a newline runs on into the next
ATTRIBUTED = re.compile(r"(stdout|stderr|raw|after log|log|unfinished|end) of "
                        r"([\w/#]+?)(?=\n|$|(?:stdout|stderr|raw|after log|"
                        r"unfinished|end) of )")
# two top-level tests of 8 subtests of 3 subtests: 2 + 8 * 4 + 24 * 5 lines;
# a third and the subtest it runs, which pauses in t_parallel: 3 lines each
ATTRIBUTED_LINES = 2 * (2 + 8 * 4 + 24 * 5) + 2 * 3
# a log line that does not start a line: after output left unfinished
LOG_MIDLINE = re.compile(r"[^\n](    attribution\.c:\d+: .*)")


def json_output(events):
    """(test, text) of each output event of a -json stream."""
    return ((e.get("Test"), e["Output"]) for e in events
            if e["Action"] == "output")


def misattributed(pieces):
    """pieces: (test, text) pairs; returns (lines found, the ones found
    under another test than the one that wrote them, or logged on a line
    of output)."""
    found, wrong, whole = 0, [], {}
    for test, text in pieces:
        for m in ATTRIBUTED.finditer(text):
            found += 1
            if m.group(2) != test:
                wrong.append(f"{m.group(0)!r} under {test}")
        whole[test] = whole.get(test, "") + text
    for test, text in whole.items():
        wrong += [f"{m.group(1)!r} under {test}, on the line of output "
                  f"before it" for m in LOG_MIDLINE.finditer(text)]
    return found, wrong


def check_attribution(totals, variant, build, tmp):
    """Output and events travel apart from a test process; each line of
    output must still be reported under the test that wrote it."""
    exe = os.path.join(build, "selftest", "progs", "attribution")
    for args in ([], ["-jobs", "2"]):
        name = f"{variant}: attribution {' '.join(args)}".rstrip()
        xml = os.path.join(tmp, "attribution.xml")
        proc = run([exe, *args, "-json"])
        events = [json.loads(line) for line in proc.stdout.splitlines()]
        found, wrong = misattributed(json_output(events))
        totals.check(f"{name}: -json gives each line of output to the test "
                     f"that wrote it", proc.returncode == 0 and
                     found == ATTRIBUTED_LINES and not wrong,
                     f"status {proc.returncode}, {found} of "
                     f"{ATTRIBUTED_LINES} lines; " + "\n".join(wrong[:20]))
        proc = run([exe, *args, "-junit", xml])
        cases = ET.parse(xml).getroot().iter("testcase")
        found, wrong = misattributed(
            (c.get("name"), (c.findtext("system-out") or "") + "\n" +
             (c.findtext("system-err") or "")) for c in cases)
        totals.check(f"{name}: JUnit gives each line of output to the test "
                     f"that wrote it", proc.returncode == 0 and
                     found == ATTRIBUTED_LINES and not wrong,
                     f"status {proc.returncode}, {found} of "
                     f"{ATTRIBUTED_LINES} lines; " + "\n".join(wrong[:20]))


# Stops the supervisor at each read() (the one of a pipe inside the window
# in which a test process must not take its marks, protocol.h) for longer
# than yielding lasts, as a preemption or a sanitizer may; forked test
# processes run free.
STALL_GDB = """set pagination off
set debuginfod enabled off
set disable-randomization off
set startup-with-shell off
set detach-on-fork on
set follow-fork-mode parent
break read
commands
silent
python import time; time.sleep(0.003)
continue
end
run
python open({hits!r}, "w").write(str(gdb.breakpoints()[0].hit_count))
"""


def check_attribution_stalled(totals, variant, build, tmp):
    """Each line of output goes to the test that wrote it though the
    supervisor stalls in the middle of every read of a pipe."""
    name = f"{variant}: attribution, supervisor stalled in each read"
    if shutil.which("gdb") is None:
        totals.skip(name, "gdb is not installed (ninja/deps.sh installs it)")
        return
    exe = os.path.join(build, "selftest", "progs", "attribution")
    script, hits = os.path.join(tmp, "stall.gdb"), os.path.join(tmp, "hits")
    with open(script, "w") as f:
        f.write(STALL_GDB.format(hits=hits))
    proc = run(["gdb", "-q", "-batch", "-nx", "-x", script, "--args", exe,
                "-json"])
    try:
        with open(hits) as f:
            stops = int(f.read())
    except (OSError, ValueError):
        stops = 0
    if stops == 0:
        totals.skip(name, "gdb could not stop the supervisor: " +
                    proc.stderr.decode("utf-8", "replace")[-500:])
        return
    events = [json.loads(line) for line in proc.stdout.splitlines()
              if line.startswith(b"{")]
    found, wrong = misattributed(json_output(events))
    passed = {e.get("Test") for e in events if e["Action"] == "pass"}
    totals.check(f"{name}: -json gives each line of output to the test "
                 f"that wrote it", {"first", "second"} <= passed and
                 found == ATTRIBUTED_LINES and not wrong,
                 f"{stops} stops, {found} of {ATTRIBUTED_LINES} lines, "
                 f"passed {sorted(filter(None, passed))}; " +
                 "\n".join(wrong[:20]))


def check_split_character(totals, variant, build, tmp):
    """A character a test prints in two writes, which the runner reads
    apart, is one character in every report, not two invalid parts."""
    exe = os.path.join(build, "selftest", "progs", "reports")
    xml = os.path.join(tmp, "split.xml")
    args = [exe, "-v", "-run", "^split_character$", "-junit", xml]
    want = "euro: \u20ac."
    proc = run(args + ["-json"])
    out = "".join(text for _, text in json_output(
        json_events(totals, f"{variant}: split", proc.stdout)))
    junit = open(xml, encoding="utf-8").read() if os.path.exists(xml) \
        else ""
    tap = run(args[:-2] + ["-tap"]).stdout.decode("utf-8", "replace")
    console = run(args[:-2]).stdout.decode("utf-8", "replace")
    bad = [name for name, text in (("-json", out), ("JUnit", junit),
                                   ("-tap", tap), ("console", console))
           if want not in text or "\ufffd" in text]
    totals.check(f"{variant}: reports: a character printed in two writes "
                 f"stays whole in every report", not bad,
                 f"broken in {bad}: {out!r}")


def check_stdout_kept(totals, variant, build):
    """-json and -tap own stdout: what the runner's process prints itself
    (TEST_MAIN, a main cleanup, a test run with -isolation none) goes to
    stderr instead of into the report."""
    progs = os.path.join(build, "selftest", "progs")
    for prog, args in (("test_main", []),
                       ("attribution", ["-isolation", "none"])):
        exe = os.path.join(progs, prog)
        name = f"{variant}: {' '.join([prog, *args])}"
        proc = run([exe, *args, "-json"])
        bad = [line for line in proc.stdout.splitlines()
               if not line.startswith(b"{")]
        err = proc.stderr.decode("utf-8", "replace")
        printed = "TEST_MAIN: setting up" if prog == "test_main" \
            else "raw of first/mid/leaf"
        totals.check(f"{name}: -json keeps stdout to its events, what the "
                     f"process prints goes to stderr",
                     proc.returncode == 0 and not bad and printed in err,
                     f"status {proc.returncode}; {bad[:5]}; {err[-500:]}")
        proc = run([exe, *args, "-tap"])
        problems = []
        parse_tap(proc.stdout.decode("utf-8", "replace").splitlines(), 0, 0,
                  problems)
        totals.check(f"{name}: -tap keeps stdout to TAP",
                     proc.returncode == 0 and not problems,
                     f"status {proc.returncode}; {problems[:5]}")


RERUN_HEAD = "to run a failed test alone"


def rerun_commands(out):
    """The commands the console prints before its summary, and the
    number it says it left out."""
    lines = out.splitlines()
    if RERUN_HEAD not in "\n".join(lines):
        return [], 0
    i = next(k for k, line in enumerate(lines)
             if line.startswith(RERUN_HEAD)) + 1
    commands, more = [], 0
    for line in lines[i:]:
        m = re.match(r"^    \(and (\d+) more\)$", line)
        if m:
            more = int(m.group(1))
        elif line.startswith("    "):
            commands.append(line[4:])
        else:
            break
    return commands, more


def failed_leaves(events):
    """The tests a -json stream says failed while no subtest of theirs
    did."""
    failed = {e["Test"] for e in events
              if e["Action"] == "fail" and e.get("Test")}
    return {n for n in failed
            if not any(m.startswith(n + "/") for m in failed)}


def ancestry(name):
    parts = name.split("/")
    return {"/".join(parts[:k]) for k in range(1, len(parts) + 1)}


def check_rerun(totals, variant, build):
    """Every command the console prints to run a failed test alone runs
    that test, its ancestors and its subtests, and nothing else."""
    exe = os.path.join(build, "selftest", "progs", "rerun")
    name = f"{variant}: rerun"
    proc = run([exe], cwd=ROOT)
    commands, more = rerun_commands(proc.stdout.decode())
    totals.check(f"{name}: the console names 10 failed tests to run "
                 f"alone, and the number of the others",
                 len(commands) == 10 and more == 7,
                 f"{commands}, {more} more")
    events = [json.loads(line)
              for line in run([exe, "-json"]).stdout.splitlines()]
    want = failed_leaves(events)
    got, problems = set(), []
    for args in (["-run", "^specials$"], ["-skip", "^specials$"]):
        proc = run([exe, *args], cwd=ROOT)
        commands, more = rerun_commands(proc.stdout.decode())
        if more:
            problems.append(f"{args}: {more} more not shown")
        for command in commands:
            again = run(["sh", "-c", command + " -json"], cwd=ROOT)
            evs = [json.loads(line) for line in again.stdout.splitlines()]
            ran = {e["Test"] for e in evs
                   if e["Action"] == "run" and e.get("Test")}
            leaves = failed_leaves(evs)
            leaf = next(iter(leaves)) if len(leaves) == 1 else ""
            if not leaf or ran - {n for n in ran
                                  if n.startswith(leaf + "/")} != \
                    ancestry(leaf):
                problems.append(f"{command}: ran {sorted(ran)}, "
                                f"failed {sorted(leaves)}")
            got |= leaves
    totals.check(f"{name}: each command runs just its failed test, and "
                 f"together they run every failed test",
                 not problems and got == want and len(want) == 17,
                 "\n".join(problems) +
                 f"\nmissing {sorted(want - got)}, extra {sorted(got - want)}")


def check_retries(totals, variant, build):
    """-retries runs a failed top-level test again; what passes then is
    flaky.  Every report must say so and stay valid."""
    exe = os.path.join(build, "selftest", "progs", "flaky")
    for mode in (["-skip", "slow"],
                 ["-isolation", "none", "-skip", "crashes_once|slow"]):
        args = ["-retries", "2", *mode]
        name = f"{variant}: flaky {' '.join(args)}"
        in_process = "none" in mode
        with tempfile.TemporaryDirectory() as tmp:
            check_junit(totals, name, exe, args, tmp)
            xml = os.path.join(tmp, "report.xml")
            root = ET.parse(xml).getroot()
            summary = run([sys.executable, os.path.join(
                ROOT, "reporters", "deft_report"), "summary", xml])
        flaky = re.findall(r"^  \S+ (\S+): 1 passed, 1 failed$",
                           summary.stdout.decode(), re.M)
        want_flaky = ["flaky_subtest/sub", "flaky_subtest"] + \
            ([] if in_process else ["crashes_once"])
        totals.check(f"{name}: the report tool's summary lists the flaky "
                     f"tests", sorted(flaky) == sorted(want_flaky),
                     summary.stdout.decode()[-2000:])
        cases = {c.get("name"): c for c in root.iter("testcase")}
        want = {"passes": {},
                "flaky_subtest": {"flakyFailure": 1},
                "flaky_subtest/sub": {"flakyFailure": 1},
                "flaky_subtest/steady": {},
                "always_fails": {"failure": 1, "rerunFailure": 2}}
        if not in_process:
            want["crashes_once"] = {"flakyError": 1}
        kinds = ("failure", "error", "rerunFailure", "rerunError",
                 "flakyFailure", "flakyError")
        got = {n: {k: len(c.findall(k)) for k in kinds if c.findall(k)}
               for n, c in cases.items()}
        classnames = sorted({c.get("classname") for c in cases.values()})
        totals.check(f"{name}: JUnit has each test's last run, with the "
                     f"failures of the runs before it",
                     got == want and not any("#" in c for c in classnames),
                     f"got {got}\nwant {want}\n{classnames}")
        proc = run([exe, *args, "-json"])
        events = json_events(totals, name, proc.stdout)
        check_json_order(totals, name, events)
        last, runs = {}, {}
        for e in events:
            test = e.get("Test")
            if test and "/" not in test:
                if e["Action"] == "run":
                    runs[test] = runs.get(test, 0) + 1
                elif e["Action"] in ("pass", "fail", "skip"):
                    last[test] = e["Action"]
        want_last = {"passes": "pass", "flaky_subtest": "pass",
                     "always_fails": "fail"}
        want_runs = {"passes": 1, "flaky_subtest": 2, "always_fails": 3}
        if not in_process:
            want_last["crashes_once"] = "pass"
            want_runs["crashes_once"] = 2
        again = [e["Test"] for e in events if e["Action"] == "output" and
                 "it runs again (-retries)" in e["Output"]]
        totals.check(f"{name}: -json shows every run, the failed ones "
                     f"marked as run again", last == want_last and
                     runs == want_runs and proc.returncode == 1 and
                     sorted(again) == sorted(
                         t for t, n in want_runs.items()
                         for _ in range(n - 1)),
                     f"last {last}, runs {runs}, marked {again}, "
                     f"status {proc.returncode}")
    # Without the test that always fails, the run passes: the failed
    # runs are TODO points for TAP, and -fail-on-flaky fails it.
    args = ["-retries", "2", "-skip", "always_fails|slow"]
    name = f"{variant}: flaky {' '.join(args)}"
    proc = run([exe, *args, "-tap"])
    text = proc.stdout.decode("utf-8", "replace")
    problems = []
    parse_tap(text.split("\n")[:-1][1:], 0, 0, problems)
    todo = re.findall(r"^not ok \d+ - (\S+) # TODO failed; it runs again",
                      text, re.M)
    totals.check(f"{name}: -tap marks the failed runs TODO and passes",
                 proc.returncode == 0 and not problems and
                 sorted(todo) == ["crashes_once", "flaky_subtest"],
                 f"status {proc.returncode}, {problems}, {todo}\n{text}")
    if shutil.which("prove"):
        with tempfile.TemporaryDirectory() as tmp:
            script = os.path.join(tmp, "tap.sh")
            with open(script, "w") as f:
                f.write("#!/bin/sh\nexec " + " ".join(
                    f"'{a}'" for a in [exe, *args, "-tap"]) + "\n")
            os.chmod(script, 0o755)
            proc = run(["prove", "--exec", "", script])
            out = proc.stdout.decode("utf-8", "replace")
        totals.check(f"{name}: prove passes the stream with its TODO "
                     f"points", proc.returncode == 0 and
                     "Result: PASS" in out, out[-3000:])
    statuses = [run([exe, *args, *more]).returncode
                for more in ([], ["-fail-on-flaky"], ["-json"],
                             ["-json", "-fail-on-flaky"])]
    totals.check(f"{name}: exits 0, and 1 with -fail-on-flaky",
                 statuses == [0, 1, 0, 1], f"{statuses}")


def check_reports(totals, variant, build):
    progs = os.path.join(build, "selftest", "progs")
    for prog, args in PROGS:
        exe = os.path.join(progs, prog)
        name = f"{variant}: {' '.join([prog, *args])}"
        with tempfile.TemporaryDirectory() as tmp:
            junit_names = check_junit(totals, name, exe, args, tmp)
            json_names = check_json(totals, name, exe, args)
            totals.check(f"{name}: JUnit and -json name the same tests",
                         junit_names == json_names,
                         f"{sorted(junit_names ^ json_names)}")
            check_tap(totals, name, exe, args, tmp)
            if variant == "gcc":
                check_gotestsum(totals, name, exe, args, tmp)
    with tempfile.TemporaryDirectory() as tmp:
        check_attribution(totals, variant, build, tmp)
        check_attribution_stalled(totals, variant, build, tmp)
        check_split_character(totals, variant, build, tmp)
        check_messages(totals, variant, build, tmp)
    check_stdout_kept(totals, variant, build)
    check_rerun(totals, variant, build)
    check_retries(totals, variant, build)


def top_level_results(exe, args, env=None):
    """The top-level tests a run reports with -json."""
    proc = run([exe, *args, "-json"], env=env)
    return [e["Test"] for e in map(json.loads, proc.stdout.splitlines())
            if e.get("Test") and "/" not in e["Test"] and
            e["Action"] in ("pass", "fail", "skip")], proc


def check_write_errors(totals, build):
    """A stream that cannot be written makes the run fail, saying so, and
    the JUnit file is written whole.  With stdout closed, the JUnit file
    the run opens must not take its number, and the report lines with it."""
    exe = os.path.join(build, "selftest", "progs", "subtests")
    with tempfile.TemporaryDirectory() as tmp:
        xml = os.path.join(tmp, "report.xml")
        for flag, said in (("-json", "deft: -json:"),
                           ("-tap", "deft: -tap:"),
                           ("", "deft: the console could not write")):
            for how, shell in (("stdout closed", ">&-"),
                               ("stdin, stdout and stderr closed",
                                "<&- >&- 2>&-"),
                               ("stdout full", ">/dev/full")):
                if os.path.exists(xml):
                    os.unlink(xml)
                proc = run(["sh", "-c", f"exec \"$0\" -run '^first$' "
                            f"{flag} -junit \"$1\" {shell}", exe, xml])
                err = proc.stderr.decode()
                name = f"{flag or 'the console'} with {how}"
                totals.check(f"{name}: exit status 1" +
                             ("" if "2>&-" in shell else " and a message"),
                             proc.returncode == 1 and
                             ("2>&-" in shell or said in err), err)
                ok, err = xmllint(xml, "jenkins-xunit-junit-10.xsd") \
                    if os.path.exists(xml) else (False, "no JUnit file")
                cases = len(ET.parse(xml).getroot().findall(
                    "testsuite/testcase")) if ok else 0
                totals.check(f"{name}: the JUnit file is valid and holds "
                             f"the test", ok and cases == 1, err[-2000:])


def check_shards(totals, build):
    exe = os.path.join(build, "selftest", "progs", "subtests")
    everything, _ = top_level_results(exe, [])
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GTEST_", "TEST_", "XML_OUTPUT",
                                 "TESTBRIDGE"))}
    for n in (1, 2, 3, 7):
        shards = [top_level_results(exe, ["-shard", f"{i}/{n}"])[0]
                  for i in range(n)]
        union = sorted(t for s in shards for t in s)
        totals.check(f"-shard i/{n}: disjoint shards whose union is the "
                     f"suite", union == sorted(everything),
                     f"{shards}\nwant {everything}")
    again = [top_level_results(exe, ["-shard", f"{i}/3", "-shuffle",
                                     "7"])[0] for i in range(3)]
    first = [top_level_results(exe, ["-shard", f"{i}/3"])[0]
             for i in range(3)]
    totals.check("-shard: a test's shard does not depend on the order",
                 [sorted(s) for s in again] == [sorted(s) for s in first],
                 f"{again} vs {first}")
    for idx, total in (("GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS"),
                       ("TEST_SHARD_INDEX", "TEST_TOTAL_SHARDS")):
        got = [top_level_results(exe, [], dict(base, **{
            idx: str(i), total: "3"}))[0] for i in range(3)]
        totals.check(f"{idx}/{total} shard as -shard does", got == first,
                     f"{got} vs {first}")
    with tempfile.TemporaryDirectory() as tmp:
        status = os.path.join(tmp, "status")
        premature = os.path.join(tmp, "premature")
        xml = os.path.join(tmp, "out.xml")
        env = dict(base, TEST_SHARD_INDEX="1", TEST_TOTAL_SHARDS="3",
                   TEST_SHARD_STATUS_FILE=status, XML_OUTPUT_FILE=xml,
                   TEST_PREMATURE_EXIT_FILE=premature)
        got, proc = top_level_results(exe, [], env)
        totals.check("Bazel: TEST_SHARD_STATUS_FILE is touched",
                     os.path.exists(status))
        totals.check("Bazel: TEST_PREMATURE_EXIT_FILE is gone after a "
                     "complete run", not os.path.exists(premature))
        names = set()
        if os.path.exists(xml):
            names = {c.get("name") for c in
                     ET.parse(xml).getroot().iter("testcase")
                     if "/" not in c.get("name")}
        totals.check("Bazel: JUnit written to XML_OUTPUT_FILE, for the "
                     "shard", names == set(first[1]), f"{names}")
        env = dict(base, TESTBRIDGE_TEST_ONLY="^(first|third)$")
        got, _ = top_level_results(exe, [], env)
        totals.check("Bazel: TESTBRIDGE_TEST_ONLY selects as -run does",
                     got == ["first", "third"], f"{got}")
    reports = os.path.join(build, "selftest", "progs", "reports")
    proc = run([reports, "-run", "^temp_dir$", "-v"],
               env=dict(base, TEST_TMPDIR="/bazel/private/tmp"))
    totals.check("Bazel: TEST_TMPDIR becomes the tests' TMPDIR",
                 b"TMPDIR=/bazel/private/tmp\n" in proc.stdout,
                 proc.stdout.decode())
    for env, want in ((dict(base, GTEST_SHARD_INDEX="0"),
                       "GTEST_SHARD_INDEX is set but GTEST_TOTAL_SHARDS "
                       "is not"),
                      (dict(base, TEST_SHARD_INDEX="3",
                            TEST_TOTAL_SHARDS="3"),
                       "invalid shard index \"3\" in TEST_SHARD_INDEX/"
                       "TEST_TOTAL_SHARDS: want 0 to 2"),
                      (dict(base, GTEST_SHARD_INDEX="0",
                            GTEST_TOTAL_SHARDS="lots"),
                       "invalid total shards \"lots\""),
                      (dict(base, TEST_SHARD_STATUS_FILE="/nonexistent/x"),
                       "cannot create /nonexistent/x")):
        proc = run([exe], env=env)
        err = proc.stderr.decode()
        totals.check(f"bad sharding environment: {want}",
                     proc.returncode == 2 and want in err and
                     not proc.stdout, err)


def check_examples(totals, build):
    """The Meson and CMake examples, against an installed deft."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "prefix")
        proc = run(["sh", "ninja/install.sh", prefix, build], cwd=ROOT)
        if proc.returncode != 0:
            totals.check("install for the examples", False,
                         proc.stderr.decode())
            return
        lib = os.path.join(prefix, "lib")
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(lib,
                                                            "pkgconfig"),
                   LD_LIBRARY_PATH=lib)
        for tool in ("meson", "cmake"):
            if shutil.which(tool) is None:
                totals.skip(f"examples/{tool}", f"{tool} is not installed "
                            "(ninja/deps.sh installs it)")
        if shutil.which("meson"):
            out = os.path.join(tmp, "meson")
            steps = [["meson", "setup", out,
                      os.path.join(ROOT, "examples", "meson")],
                     ["meson", "test", "-C", out, "--print-errorlogs"]]
            log = ""
            for step in steps:
                proc = run(step, env=env)
                log += proc.stdout.decode() + proc.stderr.decode()
                if proc.returncode != 0:
                    break
            totals.check("examples/meson: meson test runs the TAP suite "
                         "and its shards", proc.returncode == 0 and
                         re.search(r"^Ok: +[1-9]", log, re.M) is not None
                         and re.search(r"^Fail: +0 *$", log, re.M),
                         log[-3000:])
        if shutil.which("cmake"):
            out = os.path.join(tmp, "cmake")
            steps = [["cmake", "-S", os.path.join(ROOT, "examples",
                                                  "cmake"), "-B", out],
                     ["cmake", "--build", out],
                     ["ctest", "--test-dir", out, "--output-on-failure"]]
            log = ""
            for step in steps:
                proc = run(step, env=env)
                log += proc.stdout.decode() + proc.stderr.decode()
                if proc.returncode != 0:
                    break
            names = set()
            for i in range(3):
                xml = os.path.join(out, f"tutorial_shard_{i}.xml")
                if os.path.exists(xml):
                    names |= {c.get("name") for c in
                              ET.parse(xml).getroot().iter("testcase")}
            exe = os.path.join(build, "examples", "tutorial",
                               "tutorial_test")
            want = set(check_names(exe))
            totals.check("examples/cmake: ctest runs the shards, whose "
                         "JUnit reports hold the whole suite",
                         proc.returncode == 0 and names == want,
                         f"{log[-3000:]}\n{sorted(names ^ want)}")


def check_names(exe):
    proc = run([exe, "-json"])
    return {e["Test"] for e in map(json.loads, proc.stdout.splitlines())
            if e.get("Test")}
