#!/usr/bin/env python3
"""Runs deft's whole self-test suite; `ninja test` calls it.

For each build variant named on the command line (gcc, clang, asan, ...)
it runs that variant's self-test binary, whose golden tests run the
programs in selftest/progs/ built with the same variant, and the example
suites.  Then it checks what a user's build depends on: that the code
blocks of README.md compile, and that `ninja install` gives a tree a
program can build against with pkg-config.  reports_check.py checks the
-json, -junit and -tap reports, sharding and the Meson and CMake examples
with the tools that read them; misbehave_check.py that crashing, hanging
and flooding tests are blamed right, and interrupts; crash_check.py that
a crash in the runner's own process still finishes every report;
memory_check.py that the errors valgrind and LeakSanitizer find fail
their tests.  The
last line is the sum: "N passed, N failed, N skipped".
"""
import os
import re
import subprocess
import sys
import tempfile

import crash_check
import memory_check
import misbehave_check
import reports_check

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)
CFLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror"]


class Totals:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def check(self, name, ok, detail=""):
        """Counts one check of this script's own."""
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}\n{detail}")

    def skip(self, name, why):
        """Counts a check that cannot run here, saying why."""
        self.skipped += 1
        print(f"skip {name}: {why}")

    def suite(self, name, argv, env=None):
        """Runs a deft test binary and adds up the counts it prints."""
        proc = subprocess.run(argv, cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        found = SUMMARY.findall(proc.stdout)
        if not found:
            self.check(name, False, proc.stdout[-5000:])
            return
        passed, failed, skipped = map(int, found[-1])
        self.passed += passed
        self.failed += failed
        self.skipped += skipped
        bad = failed > 0 or proc.returncode != 0
        if bad:
            print(proc.stdout)
            if proc.returncode != 0 and failed == 0:
                self.check(f"{name} exit status {proc.returncode}", False)
        print(f"{'FAIL' if bad else 'ok  '} {name}: {found[-1][0]} passed, "
              f"{failed} failed, {skipped} skipped")

    def unittests(self, name, start):
        """Runs the Python unittest tests under start, adds their counts."""
        proc = run([sys.executable, "-m", "unittest", "discover", "-s",
                    start, "-t", start], cwd=ROOT)
        ran = re.search(r"^Ran (\d+) tests? in ", proc.stdout, re.M)
        end = re.search(r"^(OK|FAILED)(?: \((.*)\))?$", proc.stdout, re.M)
        if not ran or not end:
            self.check(name, False, proc.stdout[-5000:])
            return
        n = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)",
                                                      end.group(2) or ""))
        failed = n.get("failures", 0) + n.get("errors", 0) + \
            n.get("unexpected_successes", 0)
        skipped = n.get("skipped", 0)
        passed = int(ran.group(1)) - failed - skipped
        self.passed += passed
        self.failed += failed
        self.skipped += skipped
        bad = failed > 0 or proc.returncode != 0
        if bad:
            print(proc.stdout[-20000:])
        print(f"{'FAIL' if bad else 'ok  '} {name}: {passed} passed, "
              f"{failed} failed, {skipped} skipped")


def run(argv, **kw):
    return subprocess.run(argv, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, **kw)


def readme_blocks():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    return re.findall(r"```c\n(.*?)```", text, re.S)


def check_readme(totals, cc):
    """Every C block of the README compiles against include/deft.h."""
    blocks = readme_blocks()
    totals.check(f"{cc}: README has C examples", len(blocks) > 0)
    with tempfile.TemporaryDirectory() as tmp:
        for i, code in enumerate(blocks):
            src = os.path.join(tmp, f"block{i}.c")
            with open(src, "w") as f:
                f.write(code)
            proc = run([cc, *CFLAGS, "-I", os.path.join(ROOT, "include"),
                        "-I", os.path.join(ROOT, "examples", "tutorial"),
                        "-c", src, "-o", src + ".o"])
            first = code.strip().splitlines()[0]
            totals.check(f"{cc}: README block {i} compiles ({first})",
                         proc.returncode == 0, proc.stdout + code)


def check_install(totals):
    """ninja install stages a tree that pkg-config and a program use."""
    with tempfile.TemporaryDirectory() as dest:
        env = dict(os.environ, DESTDIR=dest)
        proc = run(["sh", "ninja/install.sh", "/usr/local", "build/gcc"],
                   cwd=ROOT, env=env)
        totals.check("install into DESTDIR", proc.returncode == 0,
                     proc.stdout)
        prefix = os.path.join(dest, "usr", "local")
        pcdir = os.path.join(prefix, "lib", "pkgconfig")
        env = dict(os.environ, PKG_CONFIG_PATH=pcdir,
                   PKG_CONFIG_SYSROOT_DIR=dest)
        flags = run(["pkg-config", "--cflags", "--libs", "--static",
                     "deft"], env=env)
        totals.check("pkg-config finds deft", flags.returncode == 0,
                     flags.stdout)
        if flags.returncode != 0:
            return
        src = os.path.join(ROOT, "selftest", "progs", "shared.c")
        exe = os.path.join(dest, "user_test")
        proc = run(["gcc", *CFLAGS, src, "-o", exe, "-static-libgcc",
                    *flags.stdout.split(),
                    f"-Wl,-rpath,{os.path.join(prefix, 'lib')}"])
        totals.check("a program builds with pkg-config's flags",
                     proc.returncode == 0, proc.stdout)
        if proc.returncode == 0:
            proc = run([exe])
            totals.check("and its tests pass", proc.returncode == 0 and
                         "1 passed, 0 failed" in proc.stdout, proc.stdout)


def check_cpus(totals, variant, build):
    """Test processes, and their subtests' threads, run on the CPUs the
    runner may use, with -jobs 1 (the runner pins itself around each
    fork) and -jobs 2, and on a subset of them the runner was given."""
    exe = os.path.join(build, "selftest", "progs", "cpus")
    mine = sorted(os.sched_getaffinity(0))
    subsets = [mine]
    if len(mine) >= 3:
        subsets.append(mine[1:3])
    else:
        totals.skip(f"{variant}: cpus: a runner given some of the CPUs",
                    "this machine has fewer than 3")
    for cpus in subsets:
        for jobs in ("1", "2"):
            name = (f"{variant}: cpus -jobs {jobs}: each test runs on the "
                    f"runner's {len(cpus)} CPUs")
            proc = run([exe, "-v", "-jobs", jobs],
                       preexec_fn=lambda: os.sched_setaffinity(0, cpus))
            seen = re.findall(r"cpus: ([\d,]*)", proc.stdout)
            want = ",".join(map(str, cpus))
            totals.check(name, proc.returncode == 0 and len(seen) == 4 and
                         all(s == want for s in seen),
                         f"want {want}\n{proc.stdout}")


def main():
    variants = sys.argv[1:] or ["gcc"]
    totals = Totals()
    env = dict(os.environ, DEFT_SOURCE_DIR=ROOT)
    for v in variants:
        build = os.path.join(ROOT, "build", v)
        totals.suite(f"{v}: self-tests",
                     [os.path.join(build, "selftest", "deft_selftest")],
                     env)
        totals.suite(f"{v}: tutorial example",
                     [os.path.join(build, "examples", "tutorial",
                                   "tutorial_test")], env)
        totals.suite(f"{v}: echo server example",
                     [os.path.join(build, "examples", "echo",
                                   "echo_test")], env)
        totals.suite(f"{v}: shutdown example",
                     [os.path.join(build, "examples", "shutdown",
                                   "shutdown_test")], env)
        reports_check.check_reports(totals, v, build)
        misbehave_check.check_misbehave(totals, v, build)
        crash_check.check_crashes(totals, v, build)
        memory_check.check_memory(totals, v, build)
        check_cpus(totals, v, build)
    totals.unittests("report tool (selftest/py)",
                     os.path.join(ROOT, "selftest", "py"))
    check_readme(totals, "gcc")
    check_readme(totals, "clang")
    check_install(totals)
    gcc = os.path.join(ROOT, "build", "gcc")
    reports_check.check_shards(totals, gcc)
    reports_check.check_write_errors(totals, gcc)
    reports_check.check_examples(totals, gcc)
    print(f"{totals.passed} passed, {totals.failed} failed, "
          f"{totals.skipped} skipped")
    return 1 if totals.failed else 0


if __name__ == "__main__":
    sys.exit(main())
