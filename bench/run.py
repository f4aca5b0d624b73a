#!/usr/bin/env python3
"""Runs deft's benchmarks and prints the figures the issues ask for.

  trivial tests   per-test overhead of N trivial tests in process: the run
                  time of all N minus the run time of the same binary
                  selecting none (start-up), divided by N
  cleanup costs   bench/cleanup_bench.c: t_cleanup and t_defer, each
                  registration plus its run
  reports         the N trivial tests, and N tests logging 4 KiB each
                  (bench/gen_noisy.py), with -json, -junit and -tap:
                  time per test and peak memory (max RSS), against 1/10
                  of the tests, to show memory does not grow with the run
  leak check      bench/leak_bench.c: 1000 trivial tests, -count 10, in a
                  process with 50 descriptors and 10 threads, with
                  -leaks=fail and -leaks=off: the difference per test
  leaks on/off    the run time of suites with the check on and off
  subtests        bench/parallel_bench.c next to bench/go/subtest_test.go,
                  the same measurements with Go's testing package, built
                  and run here with Debian's golang-go: per sequential and
                  per parallel subtest, 10,000 parallel subtests in one
                  test, and cancellation latency in a group of 8
Each figure is the best of several runs; run `ninja bench` on an idle
machine.
"""
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "gcc", "bench")


def best_time(argv, runs=7):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - start)
    return best


def run_rusage(argv):
    """Runs argv; returns (seconds, max RSS in KiB).  The RSS is measured
    by GNU time (Debian package time), whose own small footprint is the
    floor: a child of this Python process would inherit its high-water
    mark."""
    out = os.path.join(BUILD, "maxrss")
    start = time.perf_counter()
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out, *argv],
                   stdout=subprocess.DEVNULL, check=False)
    secs = time.perf_counter() - start
    with open(out) as f:
        rss = int(f.read().split()[-1])
    os.unlink(out)
    return secs, rss


def bench_reports(binary, n, empty):
    """Report writers on n tests and on n/10: time and peak memory."""
    tmp = os.path.join(BUILD, "report.xml")
    prefix = os.path.basename(binary)
    fewer = ["-run", f"^{prefix}_0"]   # _00000 .. _09999: n/10 of them
    for name, flags in (("console", []), ("-json", ["-json"]),
                        ("-junit", ["-junit", tmp]), ("-tap", ["-tap"])):
        runs = [run_rusage([binary, *flags]) for _ in range(5)]
        secs = min(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        _, rss_tenth = run_rusage([binary, *flags, *fewer])
        print(f"  {name:8} {n} tests: {secs * 1e3:6.1f} ms, "
              f"{(secs - empty) / n * 1e9:5.0f} ns per test; max RSS "
              f"{rss} KiB ({rss_tenth} KiB for {n // 10} tests)")
    if os.path.exists(tmp):
        print(f"  JUnit file for {n} tests: {os.path.getsize(tmp)} bytes")
        os.unlink(tmp)
def bench_lines(argv):
    """The "bench: what figure" lines a benchmark program prints."""
    proc = subprocess.run(argv, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    found = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"bench: (.*?) ([0-9.]+) (ns|us|ms)(.*)", line)
        if m:
            found[m.group(1)] = (float(m.group(2)), m.group(3),
                                 m.group(4))
    return found


def go_bench():
    """Builds bench/go with go test -c; None when Go is missing."""
    if shutil.which("go") is None:
        return None
    exe = os.path.join(BUILD, "go_subtest.test")
    proc = subprocess.run(["go", "test", "-c", "-o", exe, "."],
                          cwd=os.path.join(ROOT, "bench", "go"),
                          text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        print(proc.stdout)
        return None
    return exe


def subtests():
    # The cancellation rounds fail a group member on purpose, so the
    # program's exit status is not checked: its figures are.
    deft = bench_lines([os.path.join(BUILD, "parallel_bench")])
    exe = go_bench()
    go = bench_lines([exe, "-test.run", "."]) if exe else {}
    print(f"{'subtests (best of 5)':44} {'deft':>12} {'Go':>12} ratio")
    for what, (value, unit, rest) in deft.items():
        other = go.get(what)
        theirs = f"{other[0]:.0f} {other[1]}" if other else "-"
        ratio = f"{value / other[0]:.2f}x" if other and other[0] else ""
        print(f"  {what:42} {value:>9.0f} {unit} {theirs:>12} {ratio}")
    print("target: each subtest within 2x of Go's t.Run / t.Parallel")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    trivial = os.path.join(BUILD, "trivial")
    full = best_time([trivial])
    empty = best_time([trivial, "-run", "^$"])
    per_test = (full - empty) / n * 1e9
    print(f"{n} trivial tests, in process: {full * 1e3:.1f} ms "
          f"(start-up {empty * 1e3:.1f} ms): {per_test:.0f} ns per test "
          f"(target: at most 1000 ns)")
    verbose = best_time([trivial, "-v"])
    print(f"  the same with -v to /dev/null: "
          f"{(verbose - empty) / n * 1e9:.0f} ns per test")
    print("reports, to /dev/null or a file:")
    if os.path.exists("/usr/bin/time"):
        bench_reports(trivial, n, empty)
        noisy = os.path.join(BUILD, "noisy")
        quiet = best_time([noisy, "-run", "^$"])
        print(f"the same, each test logging 4 KiB ({n * 4 // 1024} MiB "
              f"in all):")
        bench_reports(noisy, n, quiet)
    else:
        print("  skipped: /usr/bin/time is missing (ninja/deps.sh "
              "installs package time)")
    subprocess.run([os.path.join(BUILD, "cleanup_bench"), "-v"],
                   check=True)
    print("targets: t_cleanup push+run at most 50 ns, "
          "t_defer push+call at most 300 ns")
    leak = os.path.join(BUILD, "leak_bench")
    on = best_time([leak, "-count", "10", "-leaks=fail"])
    off = best_time([leak, "-count", "10", "-leaks=off"])
    print(f"leak check, 50 fds and 10 threads: {(on - off) / 10000 * 1e6:.1f}"
          f" us per test (10000 tests: {on * 1e3:.0f} ms on, "
          f"{off * 1e3:.0f} ms off; target: at most 20 us)")
    selftest = os.path.join(ROOT, "build", "gcc", "selftest",
                            "deft_selftest")
    suites = [("10000 trivial tests", [trivial]),
              ("deft's in-process self-tests (no golden tests)",
               [selftest, "-skip", "^golden$"]),
              ("leak_free -count 20 (4000 tests with threads and sockets)",
               [os.path.join(ROOT, "build", "gcc", "selftest", "progs",
                             "leak_free"), "-count", "20"])]
    for name, argv in suites:
        on = best_time(argv + ["-leaks=fail"], runs=9)
        off = best_time(argv + ["-leaks=off"], runs=9)
        print(f"{name}: {on * 1e3:.0f} ms with leak checks, "
              f"{off * 1e3:.0f} ms without")
    subtests()


if __name__ == "__main__":
    main()
