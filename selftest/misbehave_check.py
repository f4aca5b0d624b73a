"""Checks that misbehaving tests are blamed right; run.py calls
check_misbehave() for each variant.

selftest/progs/misbehave runs once with -json and -junit: each test that
crashes, exits, hangs, closes deft's descriptors, forks without end or
floods its output must fail (or pass) with the right reason, on the
innermost test that ran, while the well-behaved tests between them pass.
Its -json stream must parse line by line, its JUnit file validate and name
the crashed tests as errors, and its exit status be 1.  Then a test is
interrupted with SIGINT, once and twice.

Sanitizers change how some crashes end: UBSan (in the asan variant)
catches the null store and the division by zero first and exits with
status 1, and LeakSanitizer finds what a thread that ended held; TSan
holds deft's backtrace signal, so the threads of a hung test come without
backtraces.
The expectations say so per variant; each is still one that can fail.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

from reports_check import xmllint

ARGS = ["-grace", "200ms", "-skip",
        "^(sleeps|deep_hang|naps|naps_after_parallel)$"]
CRASH = r"deft: test crashed: SIG{} \({}\), {} at address 0x[0-9a-f]+\n"
FRAME = r"^ +#\d+ +{} at .*misbehave\.c:\d+\n"
UBSAN_EXIT = (r"runtime error: {}(.*\n)*.*deft: test process exited with "
              r"status 1 "
              r"before the test finished")


# a SIGSEGV deft's handler did not get to report
UNREPORTED_SEGV = (r"deft: test process killed by SIGSEGV \(Segmentation "
                   r"fault\); deft's crash handler could not run: a thread "
                   r"the test started overflowed its stack")


def expectations(variant):
    """(test, action, [regular expressions its own output must match])."""
    asan = variant == "asan"
    tsan = variant == "tsan"
    segv = CRASH.format("SEGV", "Segmentation fault", "address not mapped")
    null = UBSAN_EXIT.format("store to null pointer")
    # UBSan writes to stderr itself, after the message that started the
    # subtest: its report is on that subtest (see check_blame)
    ubsan_exit = r"deft: test process exited with status 1 before the test"
    threads = r"its threads were:\n"
    thread = (r"^ +thread \d+ \(misbehave\){}(, waiting in \w+)?:\n"
              r"( +#.*\n)*? +#\d+ +{} at ")
    if variant == "tsan":
        loop = deadlock = [threads, r"thread \d+ \(misbehave\).*: no "
                           r"backtrace, it did not answer deft's signal"]
    else:
        loop = [threads, thread.format(", running the test",
                                       "infinite_loop")]
        deadlock = [threads, thread.format(", running the test", "deadlock"),
                    thread.format("", "take_b_then_a")]
    overflow = [CRASH.format("SEGV", "Segmentation fault", "stack overflow") +
                r" +backtrace:\n +#0 +recurse at ",
                r"( +#\d+ +recurse at .*\n){20}"]
    timed_out = (r"deft: test timed out after 300ms, and was still running "
                 r"200ms later: killed \(its process used {}s of CPU\)\n")
    # the loop spins for its 500ms; the deadlock waits
    spinning, waiting = r"([1-9]\d*\.\d\d|0\.[2-9]\d)", r"0\.(0\d|1[0-4])"
    return [
        ("fine_first", "pass", []),
        ("segv", "fail", [null] if asan else [segv + r"(.*\n)*?" +
                                            FRAME.format("segv")]),
        ("fine_after_segv", "pass", []),
        ("sigbus", "fail", [CRASH.format("BUS", "Bus error",
                                         "nonexistent physical address"),
                            FRAME.format("sigbus")]),
        ("sigfpe", "fail", [UBSAN_EXIT.format("division by zero")] if asan
         else [CRASH.format("FPE", "Floating point exception",
                            "integer divide by zero"),
               FRAME.format("sigfpe")]),
        ("sigill", "fail", [CRASH.format("ILL", "Illegal instruction",
                                         "illegal operand"),
                            FRAME.format("sigill")]),
        ("fine_after_sigill", "pass", []),
        ("abort_call", "fail", [r"deft: test crashed: SIGABRT \(Aborted\)"
                                r"\n +backtrace:\n", FRAME.format(
                                    "abort_call"),
                                # flushed after the crash report
                                r"left without a newline"]),
        ("abort_in_handler", "fail",
         [r"deft: test crashed: SIGABRT \(Aborted\)\n",
          r" +#\d+ +abort_on_usr1 at .*misbehave\.c:\d+\n(.*\n)*?"
          r" +#\d+ +<signal handler called>\n(.*\n)*?" +
          FRAME.format("abort_in_handler")]),
        ("failed_assert", "fail", [r"Assertion `zero == 1' failed\.\n(.*\n)*"
                                   r" +deft: test crashed: SIGABRT",
                                   FRAME.format("failed_assert")]),
        # TSan skips the overflows: its runtime may hang on one
        ("stack_overflow", "skip" if tsan else "fail",
         [] if tsan else overflow),
        ("stack_overflow_unoptimised", "skip" if tsan else "fail",
         [] if tsan else [CRASH.format("SEGV", "Segmentation fault",
                                       "stack overflow")]),
        ("fine_after_stack_overflow", "pass", []),
        ("exit_zero", "fail",
         [r"deft: test called exit\(0\)\n",
          r"cleanups that did not run:\n +never_runs \(misbehave\.c:\d+, "
          r"test exit_zero\)"]),
        ("underscore_exit", "fail", [r"deft: test process exited with status "
                                     r"3 before the test finished"]),
        ("killed", "fail", [r"deft: test process killed by SIGKILL"]),
        ("fine_after_killed", "pass", []),
        ("infinite_loop", "fail", [timed_out.format(spinning)] + loop),
        ("stops_itself", "fail", [r"deft: test timed out after 300ms while "
                                  r"its process was stopped by SIGSTOP: "
                                  r"killed \(its process used 0\.\d\ds "
                                  r"of CPU\)\n"]),
        ("deadlock", "fail", [timed_out.format(waiting)] + deadlock),
        ("fine_after_deadlock", "pass", []),
        ("cleanup_hangs", "fail",
         [r"the body is done\n",
          r"deft: test timed out in a cleanup after 300ms, and was still "
          r"running 200ms later: killed",
          thread.format(r", running the test, in its cleanup hang_forever "
                        r"\(misbehave\.c:\d+, test cleanup_hangs\)",
                        "hang_forever")]),
        ("fine_after_cleanup_hangs", "pass", []),
        ("close_all_fds", "fail", [r"deft: the test closed or replaced deft's"
                                   r" event socket, so its results after "
                                   r"that were lost"]),
        ("close_stdout_stderr", "pass", [r"logged after closing fds 1 and 2"]),
        ("fine_after_close", "pass", []),
        ("fork_bomb", "fail", [r"deft: the test left processes running, now "
                               r"killed: pid \d+ \(misbehave\)(, pid \d+ "
                               r"\(misbehave\))*\n"]),
        ("fine_after_fork_bomb", "pass", []),
        ("output_spam", "pass", [r"^x{1000}", r"deft: output limit of 4 MiB "
                                 r"reached; the rest of this test's output "
                                 r"is dropped\n",
                                 r"deft: 100663296 bytes of output were "
                                 r"dropped after the first 4 MiB\n"]),
        ("log_spam", "pass", [r"^    misbehave\.c:\d+: log line 0000000\n",
                              r"deft: output limit of 4 MiB reached"]),
        ("bad_bytes", "pass", ["(invalid \ufffd\ufffd utf-8, a NUL \x00 here, "
                               "no newline(.|\n)*){2}"]),
        ("fine_after_bad_bytes", "pass", []),
        # into its own stdout and stderr, which are deft's pipes
        ("scribbles_on_every_fd", "pass", [r"junk to fd \d+\n(.*\n)*"
                                           r"junk to fd \d+\n(.*\n)*"
                                           r".*scribbled\n"]),
        ("fine_after_scribbles", "pass", []),
        ("subtest_crash", "fail", []),
        ("subtest_crash/fine", "pass", []),
        ("subtest_crash/inner", "fail", []),
        ("subtest_crash/inner/deeper", "fail",
         [r"about to crash\n(.*\n)*.*" + (ubsan_exit if asan else segv +
                                       r"(.*\n)*?" + FRAME.format("deeper"))]),
        ("cleanup_crash", "fail",
         [r"the test itself is done\n"] +
         ([r"runtime error: store to null pointer", ubsan_exit] if asan else
          [r"the test itself is done\n(.*\n)*.*deft: test crashed in a "
           r"cleanup: SIGSEGV(.*\n)*?" + FRAME.format("crash_cleanup")])),
        ("fine_last", "pass", []),
        ("stack_overflow_in_subtest", "pass" if tsan else "fail", []),
        ("stack_overflow_in_subtest/sequential",
         "skip" if tsan else "fail", [] if tsan else overflow),
        ("stack_overflow_in_parallel_subtest", "pass" if tsan else "fail",
         []),
        ("stack_overflow_in_parallel_subtest/parallel",
         "skip" if tsan else "fail", [] if tsan else overflow),
        ("fine_after_subtest_overflows", "pass", []),
        # a thread the test started has no alternate signal stack but
        # under ASan, whose own threads have one
        ("stack_overflow_in_thread", "skip" if tsan else "fail",
         [] if tsan else overflow if asan else [UNREPORTED_SEGV]),
        ("fine_after_thread_overflow", "pass", []),
        # LeakSanitizer finds what the ended thread held: status 1; TSan's
        # thread would keep the process alive
        ("pthread_exit_in_test", "skip" if tsan else "fail", [] if tsan else
         [(r"LeakSanitizer(.*\n)*.*" if asan else "") +
          r"deft: the test's thread called pthread_exit, which ended its "
          r"process with status {}\n".format(1 if asan else 0)]),
        ("fine_after_pthread_exit", "pass", []),
        ("exec_in_test", "fail",
         [r"deft: test process exited with status 0 before the test "
          r"finished \(_exit, an exec, or exit from a thread deft does not "
          r"know\)"]),
        ("fine_after_exec", "pass", []),
        # the runner's stdin is a pipe nobody writes to (check_misbehave)
        ("reads_stdin", "pass", [r"stdin: read returned 0\n"]),
        ("fine_after_stdin", "pass", []),
        ("daemon_left_running", "fail",
         [r"deft: the test left processes running, now killed: pid \d+ "
          r"\(misbehave, outside the test's process group\)\n"]),
        ("fine_after_daemon", "pass", []),
        ("signals_the_runner", "fail",
         [r"signalled the runner\n", r"deft: the test sent SIGUSR1, SIGHUP, "
          r"SIGTSTP, SIGINT, SIGPIPE, SIGXCPU, SIGSEGV, SIGABRT, SIGTRAP, "
          r"SIGRTMIN\+1 to the runner, its process's parent: ignored\n"]),
        ("fine_after_signals", "pass", []),
        ("crash_beside_a_sibling", "fail", []),
        ("crash_beside_a_sibling/aborts", "fail",
         [r"deft: test crashed: SIGABRT \(Aborted\)"]),
        ("crash_beside_a_sibling/waits", "fail",
         [r"waiting\n", r"deft: its process ended in "
          r"crash_beside_a_sibling/aborts, which ran beside it: SIGABRT "
          r"\(Aborted\)\n"]),
        ("fine_after_sibling_crash", "pass", []),
        ("parallel_then_aborts", "fail",
         [r"deft: test crashed: SIGABRT \(Aborted\)"]),
    ]


def check_misbehave(totals, variant, build):
    exe = os.path.join(build, "selftest", "progs", "misbehave")
    with tempfile.TemporaryDirectory() as tmp:
        xml = os.path.join(tmp, "report.xml")
        start = time.monotonic()
        # stdin: a pipe held open and never written, as a terminal or a
        # CI runner's may be
        quiet, silent = os.pipe()
        try:
            proc = subprocess.run([exe, "-json", "-junit", xml, *ARGS],
                                  stdin=quiet, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        finally:
            os.close(quiet)
            os.close(silent)
        took = time.monotonic() - start
        name = f"{variant}: misbehave"
        totals.check(f"{name}: exit status 1 in under 15s",
                     proc.returncode == 1 and took < 15,
                     f"status {proc.returncode}, {took:.1f}s\n"
                     f"{proc.stderr[-3000:]}")
        events, bad = json_lines(proc.stdout)
        totals.check(f"{name}: -json parses line by line", not bad,
                     "\n".join(bad[:5]))
        left = survivors(exe)
        totals.check(f"{name}: no process of the run outlives it", not left,
                     f"still running: {left}")
        check_blame(totals, name, variant, events)
        check_junit(totals, name, variant, xml, events)
        check_interrupt(totals, variant, exe, tmp)
        check_stdout_gone(totals, variant, exe, tmp)
        check_suspend(totals, variant, exe)
        check_deep_hang(totals, variant, exe, tmp)
        check_run_timeout_message(totals, variant, exe, tmp)
        if variant != "asan":
            check_slow_addr2line(totals, variant, exe, tmp)
    check_deadline_while_stalled(totals, variant, build)
    check_daemon_beside(totals, variant, exe)
    check_crash_durations(totals, variant, exe)
    proc = subprocess.run([exe, "-v", "-run", "^bad_bytes$"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    totals.check(f"{variant}: misbehave: output with no newline at its end "
                 f"does not swallow the result line", re.search(
                     rb"no newline\n--- PASS: bad_bytes ", proc.stdout),
                 proc.stdout.decode("utf-8", "replace"))


def json_lines(out):
    """The events of a -json stream, and what of it does not parse."""
    events, bad = [], []
    for line in out.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError as e:
            bad.append(f"{e}: {line[:200]!r}")
    return events, bad


def survivors(exe):
    """The processes running exe, but for zombies, a moment after its run:
    those killed may take that long to go."""
    deadline = time.monotonic() + 2
    while True:
        left = []
        for pid in os.listdir("/proc"):
            try:
                if pid.isdigit() and os.readlink(f"/proc/{pid}/exe") == exe:
                    left.append(int(pid))
            except OSError:
                pass
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def check_daemon_beside(totals, variant, exe):
    """A daemon left by a test while another test's process ran cannot be
    blamed on one: it is killed once no test's process runs, and the run's
    output says so."""
    proc = subprocess.run([exe, "-jobs", "2", "-run",
                           "^(daemon_left_running|naps)$"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.decode("utf-8", "replace")
    name = f"{variant}: misbehave: a daemon left beside another test"
    totals.check(f"{name}: killed at the end of the run, which says so",
                 proc.returncode == 0 and re.search(
                     r"deft: tests that ran side by side left processes "
                     r"running, now killed: pid \d+ \(misbehave, outside the "
                     r"test's process group\)\n", out),
                 f"status {proc.returncode}\n{out[-3000:]}")
    left = survivors(exe)
    totals.check(f"{name}: no process of the run outlives it", not left,
                 f"still running: {left}")


def check_crash_durations(totals, variant, exe):
    """A test that crashed took the time it ran: not none when its events
    were held until its process was done (-jobs 2), and not the time it
    waited in t_parallel for naps_after_parallel, a sequential test, to
    end."""
    proc = subprocess.run([exe, "-json", "-jobs", "2", "-run",
                           "^(crash_beside_a_sibling|naps_after_parallel|"
                           "parallel_then_aborts)$"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    took = {}
    for line in proc.stdout.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("Action") in ("pass", "fail") and e.get("Test"):
            took[e["Test"]] = e.get("Elapsed", 0)
    # the aborting tests sleep 50ms first; naps_after_parallel, 1s
    want = {"crash_beside_a_sibling/aborts": (0.05, 0.9),
            "crash_beside_a_sibling": (0.05, 0.9),
            "naps_after_parallel": (1, 10),
            "parallel_then_aborts": (0.05, 0.9)}
    wrong = {k: took.get(k) for k, (low, high) in want.items()
             if took.get(k) is None or not low - 0.005 <= took[k] < high}
    totals.check(f"{variant}: misbehave -jobs 2: a crashed test's time is "
                 f"the time it ran", not wrong, f"{wrong}; all: {took}")


def check_blame(totals, name, variant, events):
    output, action, elapsed = {}, {}, {}
    for e in events:
        test = e.get("Test")
        if e["Action"] == "output" and test:
            output[test] = output.get(test, "") + e["Output"]
        elif e["Action"] in ("pass", "fail", "skip") and test:
            action[test] = e["Action"]
            elapsed[test] = e.get("Elapsed", 0)
    expected = expectations(variant)
    totals.check(f"{name}: the tests reported are the tests expected",
                 sorted(action) == sorted(t for t, _, _ in expected),
                 f"{sorted(action)}")
    for test, want, patterns in expected:
        got = output.get(test, "")
        missing = [p for p in patterns if not re.search(p, got, re.M)]
        totals.check(f"{name}: {test} {want}s, for its own reason",
                     action.get(test) == want and not missing,
                     f"{action.get(test)}, missing {missing} in:\n"
                     f"{got[-4000:]}")
    # only the innermost subtest carries the crash; its ancestors say
    # "deft: test crashed" and no more
    crash = re.compile(r"deft: test (crashed:|process exited)")
    blamed = [t for t, text in output.items() if t.startswith(
        "subtest_crash") and crash.search(text)]
    totals.check(f"{name}: a crash in a subtest is blamed on it alone",
                 blamed == ["subtest_crash/inner/deeper"], f"{blamed}")
    if variant == "asan":
        deeper = output.get("subtest_crash/inner/deeper", "")
        totals.check(f"{name}: UBSan's report is on the crashed subtest",
                     "runtime error: store to null pointer" in deeper,
                     deeper[-3000:])
    spam = output.get("output_spam", "")
    totals.check(f"{name}: 100 MB of output is cut at 4 MiB, quickly",
                 4 << 20 <= len(spam) < (4 << 20) + 4096 and
                 elapsed.get("output_spam", 99) < 5,
                 f"{len(spam)} bytes, {elapsed.get('output_spam')}s")

    # a log flood: the first 4 MiB kept, and every byte after it counted
    # (by the test's process, which stops sending them: bench/run.py
    # shows what that saves)
    logs = output.get("log_spam", "")
    first = re.search(r"^    misbehave\.c:\d+: log line 0000000\n", logs,
                      re.M)
    dropped = re.search(r"deft: (\d+) bytes of output were dropped", logs)
    want = 300000 * len(first.group(0)) - (4 << 20) if first else None
    totals.check(f"{name}: 300,000 log lines are cut at 4 MiB, the rest "
                 f"counted",
                 dropped is not None and int(dropped.group(1)) == want,
                 f"dropped {dropped and dropped.group(1)}, want {want}")


def check_junit(totals, name, variant, xml, events):
    ok, err = xmllint(xml, "jenkins-xunit-junit-10.xsd")
    totals.check(f"{name}: JUnit valid against Jenkins' schema", ok,
                 err[-3000:])
    if not ok:
        return
    errors = {c.get("name") for c in ET.parse(xml).getroot().iter("testcase")
              if c.find("error") is not None}
    want = {"segv", "sigbus", "sigfpe", "sigill", "abort_call",
            "failed_assert", "exit_zero", "underscore_exit",
            "killed", "close_all_fds", "subtest_crash/inner/deeper",
            "cleanup_crash", "exec_in_test"}
    if variant != "tsan":
        want |= {"pthread_exit_in_test", "stack_overflow", "stack_overflow_in_subtest/sequential",
                 "stack_overflow_in_parallel_subtest/parallel",
                 "stack_overflow_in_thread"}
    totals.check(f"{name}: JUnit names the crashed tests as errors",
                 want <= errors, f"missing {sorted(want - errors)}")


def with_addr2line(bindir, script):
    """The environment with bindir first in PATH, holding an addr2line
    that runs script (sh), or none if script is None."""
    os.makedirs(bindir, exist_ok=True)
    if script is not None:
        wrapper = os.path.join(bindir, "addr2line")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\n{script}\n")
        os.chmod(wrapper, 0o755)
    return dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])


def check_deep_hang(totals, variant, exe, tmp):
    """A test that hangs 300 subtests deep, each level on a fiber of its
    own: its report has every level and the backtrace of the thread that
    runs the innermost, down to that level's body, and the supervisor
    looks each frame up once, not once a thread (which took minutes), so
    addr2line runs a few times, not a few hundred."""
    real = shutil.which("addr2line")
    log = os.path.join(tmp, "addr2line.log")
    env = with_addr2line(os.path.join(tmp, "bin"), f"echo run >> '{log}'\n"
                         f"exec '{real}' \"$@\"" if real else None)
    xml = os.path.join(tmp, "deep.xml")
    name = f"{variant}: misbehave: a hang 300 subtests deep"
    try:
        proc = subprocess.run([exe, "-run", "^deep_hang$", "-grace", "200ms",
                               "-tap", "-junit", xml], env=env, timeout=120,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except subprocess.TimeoutExpired:
        totals.check(f"{name}: reported within 2 minutes", False, "")
        return
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    # The timeout lands on the innermost subtest started by then: all 300
    # unless the machine is slow
    timed_out = re.findall(r"\n +not ok 1 - (deep_hang(?:/d)*)\n +---\n +"
                           r"message: \"test timed out: after 1s\"\n",
                           out)
    levels = max((n.count("/d") for n in
                  re.findall(r"ok \d+ - (deep_hang(?:/d)*)\n", out)),
                 default=0)
    depth = timed_out[0].count("/d") if len(timed_out) == 1 else -1
    totals.check(f"{name}: the innermost subtest timed out",
                 proc.returncode == 1 and depth == levels and depth >= 100,
                 f"status {proc.returncode}, {len(timed_out)} timed out at "
                 f"depth {depth} of {levels}\n{err[-2000:]}")
    hung = re.search(r"# +thread \d+ \(misbehave\), running the test.*\n"
                     r"(?: *# +#\d+ .*\n)* *# +#\d+ +descend at ", out)
    totals.check(f"{name}: the hung level's thread is listed, with its "
                 f"body", hung is not None, out[-3000:])
    ok, why = xmllint(xml, "jenkins-xunit-junit-10.xsd")
    totals.check(f"{name}: JUnit valid", ok, why[-2000:])
    if not real:
        totals.skip(f"{name}: addr2line runs", "addr2line is not installed")
        return
    runs = 0
    if os.path.exists(log):
        with open(log) as f:
            runs = len(f.readlines())
    totals.check(f"{name}: addr2line runs once per object, not per thread",
                 runs <= 10, f"{runs} runs")


def check_slow_addr2line(totals, variant, exe, tmp):
    """An addr2line that never answers holds the supervisor, which watches
    no test meanwhile, for ADDR2LINE_MS (symbolize.c; 3s with
    -timeout-scale 0.3), once a run: it is killed, and the crashes are
    reported with the frames' symbols and a line that says why, each
    taking the time it ran, not the wait."""
    name = f"{variant}: misbehave: addr2line that never answers"
    pids = os.path.join(tmp, "addr2line.pids")
    env = with_addr2line(os.path.join(tmp, "slow_bin"),
                         f"echo $$ >> '{pids}'\nexec sleep 300")
    start = time.monotonic()
    try:
        proc = subprocess.run([exe, "-v", "-run", "^(segv|sigfpe|fine_last)$",
                               "-timeout-scale", "0.3"], env=env, timeout=60,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except subprocess.TimeoutExpired:
        totals.check(f"{name}: the run ends", False, "still running at 60s")
        return
    took = time.monotonic() - start
    out = proc.stdout.decode("utf-8", "replace")
    note = "(not all files and lines: addr2line took over 3s, and runs no more)"
    crashes = re.findall(r"deft: test crashed: (SIG\w+)", out)
    # the test ended when it crashed, not once its backtrace was made
    segv = re.search(r"--- FAIL: segv \((\d+\.\d+)s\)", out)
    totals.check(f"{name}: both crashes reported, with symbols and why "
                 f"there are no lines, in one wait", proc.returncode == 1 and
                 segv and float(segv.group(1)) < 1 and
                 crashes == ["SIGSEGV", "SIGFPE"] and out.count(note) == 2 and
                 re.search(r"#\d+ +\S+ in \S*misbehave\+0x", out) and
                 "--- PASS: fine_last" in out and 3 <= took < 9,
                 f"status {proc.returncode}, {took:.1f}s\n{out[-3000:]}")
    with open(pids) as f:
        started = [int(p) for p in f.read().split()]
    alive = [p for p in started if os.path.exists(f"/proc/{p}")]
    totals.check(f"{name}: it ran once and was killed and reaped",
                 len(started) == 1 and not alive, f"started {started}, "
                 f"still there {alive}")


def check_deadline_while_stalled(totals, variant, build):
    """A test process's own timer cancels its test at the run's deadline;
    when the runner is stopped then and finds the process gone afterwards,
    the test still failed by -timeout, as when the runner is first."""
    exe = os.path.join(build, "selftest", "progs", "parallel")
    name = f"{variant}: -timeout with the runner stopped at the deadline"
    proc = subprocess.Popen([exe, "-v", "-run", "^waits_for_deadline$",
                             "-timeout", "1s"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    first = proc.stdout.readline()      # "=== RUN": the test runs
    os.kill(proc.pid, signal.SIGSTOP)
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGCONT)
    out = (first + proc.communicate(timeout=60)[0]).decode("utf-8",
                                                           "replace")
    totals.check(f"{name}: the test fails, asked to stop", proc.returncode
                 == 1 and "--- FAIL: waits_for_deadline" in out and
                 "while the test ran; it was asked to stop and ended within"
                 in out, f"status {proc.returncode}\n{out[-2000:]}")


def start_sleeping(exe, *args):
    """Starts the sleeping test with -v and args; returns the runner, a
    watchdog that kills it after 20s, and its output up to the test's
    "sleeping"."""
    # TSan would sleep a second at an exit while threads run, as a run
    # ended early without isolation does
    tsan = (os.environ.get("TSAN_OPTIONS", "") + " atexit_sleep_ms=0").strip()
    proc = subprocess.Popen([exe, "-v", "-run", "^sleeps$", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, TSAN_OPTIONS=tsan))
    watchdog = threading.Timer(20, proc.kill)
    watchdog.start()
    out = b""
    while b"sleeping" not in out:
        line = proc.stdout.readline()
        if not line:
            break
        out += line
    return proc, watchdog, out


def run_interrupted(exe, xml, signals, sig=signal.SIGINT, args=()):
    """Runs the sleeping test with args, sends sig when it runs, and again
    after 0.1s if signals is 2; returns (status, stdout, seconds after the
    first)."""
    proc, watchdog, out = start_sleeping(exe, "-grace", "1s", "-junit", xml,
                                         *args)
    start = time.monotonic()
    for i in range(signals):
        if i:
            time.sleep(0.1)
        proc.send_signal(sig)
    try:
        rest, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        rest, _ = proc.communicate()
    watchdog.cancel()
    return proc.returncode, (out + rest).decode("utf-8", "replace"), \
        time.monotonic() - start


def stopped(pid):
    """Whether process pid is stopped; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2] in "tT"


def wait_until(cond, seconds=3):
    """Whether cond() holds within seconds, looked at every 20ms."""
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def junit_errors(xml):
    """Whether the JUnit file xml is valid (and why not), and its test
    cases, each as its name and its error's message= (None if none)."""
    ok, err = xmllint(xml, "jenkins-xunit-junit-10.xsd") \
        if os.path.exists(xml) else (False, "no JUnit file")
    cases = [] if not ok else [
        (c.get("name"), c.find("error").get("message")
         if c.find("error") is not None else None)
        for c in ET.parse(xml).getroot().iter("testcase")]
    return ok, err, cases


def check_junit_interrupted(totals, name, xml, test, message):
    """The JUnit file xml is valid and names test, once, interrupted, its
    error's message= being message."""
    ok, err, cases = junit_errors(xml)
    got = [why for case, why in cases
           if case == test and why and "interrupted" in why]
    totals.check(f"{name}: JUnit complete, valid, names the test "
                 f"interrupted ({message!r})",
                 ok and got == [message], f"{got}\n{err[-2000:]}")


def check_run_timeout_message(totals, variant, exe, tmp):
    """A test still running at the run's deadline, deaf to it, is killed
    (in its process) or ends the run (without isolation): JUnit's
    message= says the run's -timeout ended it, once."""
    for args, message in (
            ([], "test timed out: after 300ms (-timeout)"),
            (["-isolation", "none"], "test timed out: the run's -timeout")):
        xml = os.path.join(tmp, "run_timeout.xml")
        name = f"{variant}: misbehave: -timeout {' '.join(args)}".rstrip()
        proc = subprocess.run([exe, "-run", "^sleeps$", "-timeout", "300ms",
                               "-grace", "200ms", "-junit", xml, *args],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=60)
        ok, err, cases = junit_errors(xml)
        got = [why for _, why in cases if why is not None]
        totals.check(f"{name}: JUnit's message= is {message!r}",
                     ok and got == [message], f"status {proc.returncode}, "
                     f"{got}\n{err[-2000:]}\n{proc.stdout[-2000:]!r}")


def check_stdout_gone(totals, variant, exe, tmp):
    """The reader of the runner's stdout goes away mid-run, as head does:
    the run is interrupted by the SIGPIPE, the test's process does not
    outlive it, and the JUnit report is written."""
    xml = os.path.join(tmp, "stdout_gone.xml")
    proc = subprocess.Popen([exe, "-v", "-grace", "1s", "-junit", xml, "-run",
                             "^(output_spam|fine_last)$"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watchdog = threading.Timer(20, proc.kill)
    watchdog.start()
    head = proc.stdout.readline() + proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait()
    watchdog.cancel()
    left = survivors(exe)
    name = f"{variant}: misbehave: stdout's reader gone"
    totals.check(f"{name}: interrupted by SIGPIPE, status 141, no process "
                 f"left", head.startswith(b"=== RUN   output_spam\n") and
                 proc.returncode == 128 + signal.SIGPIPE and not left,
                 f"status {proc.returncode}, still running {left}\n{head!r}"
                 f"\n{err[-2000:]!r}")
    check_junit_interrupted(totals, name, xml, "output_spam",
                            "test interrupted")


def check_suspend(totals, variant, exe):
    """Ctrl-Z (SIGTSTP from outside) stops the runner and the test's
    process, which has a process group of its own, and fg (SIGCONT to the
    runner alone) lets both go on."""
    proc, watchdog, out = start_sleeping(exe, "-grace", "100ms")
    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
        tests = [int(p) for p in f.read().split()]
    proc.send_signal(signal.SIGTSTP)
    both_stop = bool(tests) and wait_until(
        lambda: stopped(proc.pid) and all(stopped(p) for p in tests))
    states = [stopped(p) for p in [proc.pid, *tests]]
    proc.send_signal(signal.SIGCONT)
    both_go_on = wait_until(
        lambda: not stopped(proc.pid) and not any(stopped(p) for p in tests))
    states += [stopped(p) for p in [proc.pid, *tests]]
    # one SIGINT: the test, deaf to it, is killed after -grace; a second
    # could come after the runner has let go of its signals
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate()
    watchdog.cancel()
    name = f"{variant}: misbehave: Ctrl-Z"
    totals.check(f"{name} stops the test's process with the runner, and "
                 f"fg continues both", both_stop and both_go_on and
                 proc.returncode == 130,
                 f"runner and tests {[proc.pid, *tests]} stopped: "
                 f"{states}; status {proc.returncode}\n"
                 f"{(out + rest).decode('utf-8', 'replace')[-2000:]}")


def check_interrupt(totals, variant, exe, tmp):
    # any signal that would end the runner interrupts it as SIGINT does
    none = ["-isolation", "none"]
    # JUnit's message= for the test: killed, with a process of its own
    killed, ended = "test interrupted: killed", "test interrupted"
    for sig, signals, how, verdict, fast, args, message in (
            (signal.SIGINT, 1, "SIGINT", r"deft: the run was interrupted "
             r"and the test did not stop in time: killed", False, [],
             killed),
            (signal.SIGINT, 2, "a second SIGINT",
             r"deft: the run was interrupted", True, [], killed),
            (signal.SIGINT, 2, "a second SIGINT with -isolation none",
             r"deft: interrupted again by SIGINT: the run ends here", True,
             none, ended),
            (signal.SIGTERM, 1, "SIGTERM with -isolation none",
             r"deft: interrupted by SIGTERM, and the test did not stop "
             r"within the 1s grace period: the run ends here", False, none,
             ended),
            (signal.SIGHUP, 2, "two SIGHUPs", r"deft: interrupted by "
             r"SIGHUP(.*\n)*.*deft: the run was interrupted", True, [],
             killed),
            (signal.SIGRTMIN + 2, 2, "two SIGRTMIN+2", r"deft: interrupted "
             r"by SIGRTMIN\+2(.*\n)*.*deft: the run was interrupted", True,
             [], killed)):
        xml = os.path.join(tmp, f"interrupt{signals}.xml")
        status, out, took = run_interrupted(exe, xml, signals, sig, args)
        name = f"{variant}: misbehave: {how}"
        totals.check(f"{name}: exit status {128 + sig}, the test reported "
                     f"interrupted", status == 128 + sig and re.search(
                         verdict, out) and "--- FAIL: sleeps" in out,
                     f"status {status}\n{out[-3000:]}")
        # -grace 1s: a second SIGINT must not wait for it
        totals.check(f"{name}: ends {'at once' if fast else 'after -grace'}",
                     took < 0.7 if fast else 0.9 < took < 5, f"{took:.1f}s")
        check_junit_interrupted(totals, name, xml, "sleeps", message)
