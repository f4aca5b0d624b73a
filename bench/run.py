#!/usr/bin/env python3
"""Runs deft's benchmarks and prints the figures the issues ask for.

  trivial tests   per-test overhead of N trivial tests in process: the run
                  time of all N minus the run time of the same binary
                  selecting none (start-up), divided by N
  cleanup costs   bench/cleanup_bench.c: t_cleanup and t_defer, each
                  registration plus its run
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
    subprocess.run([os.path.join(BUILD, "cleanup_bench"), "-v"],
                   check=True)
    print("targets: t_cleanup push+run at most 50 ns, "
          "t_defer push+call at most 300 ns")
    subtests()


if __name__ == "__main__":
    main()
