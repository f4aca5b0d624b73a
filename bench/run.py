#!/usr/bin/env python3
"""Runs deft's benchmarks and prints the figures the issues ask for.

  trivial tests   per-test overhead of N trivial tests in process: the run
                  time of all N minus the run time of the same binary
                  selecting none (start-up), divided by N
  cleanup costs   bench/cleanup_bench.c: t_cleanup and t_defer, each
                  registration plus its run
  leak check      bench/leak_bench.c: 1000 trivial tests, -count 10, in a
                  process with 50 descriptors and 10 threads, with
                  -leaks=fail and -leaks=off: the difference per test
  leaks on/off    the run time of suites with the check on and off
Each figure is the best of several runs; run `ninja bench` on an idle
machine.
"""
import os
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


if __name__ == "__main__":
    main()
