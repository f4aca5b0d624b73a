#!/usr/bin/env python3
"""Runs deft's benchmarks and prints the figures the issues ask for.

  trivial tests   per-test overhead of N trivial tests in process
                  (-isolation none): the run time of all N minus the run
                  time of the same binary selecting none (start-up),
                  divided by N; also with -leaks=off, which shows the
                  leak check's share
  process mode    per-test overhead of 2000 trivial tests each in a
                  forked process (-isolation process, with -jobs 1,
                  -jobs 2 and -leaks=off), next to the floor,
                  bench/fork_floor.c (bare fork+_exit+waitpid; pinned to
                  one CPU around the fork, as deft's supervisor does; and
                  with deft's socketpair and pipes), and to the same 2000
                  tests with Criterion and with Check (CK_FORK), generated
                  by bench/gen_criterion.py
                  and bench/gen_check.py and built here with pkg-config;
                  bench/deps.sh installs the two (Debian packages
                  libcriterion-dev and check) when missing
  logs            bench/log_bench.c: what one t_log costs in a test's
                  own process and in process, for 100,000 short lines
                  (each a message to the supervisor) and for 2,000,000,
                  most past the 4 MiB a test may send, which are counted
                  in the test's process, not sent
  cleanup costs   bench/cleanup_bench.c: t_cleanup and t_defer, each
                  registration plus its run, 1000 in each of 1000 tests,
                  and t_defer 1,000,000 times in one test
  reports         the N trivial tests, and N tests logging 4 KiB each
                  (bench/gen_noisy.py), with -json, -junit and -tap:
                  time per test and peak memory (max RSS), against 1/10
                  of the tests, to show memory does not grow with the run;
                  in process
  leak check      bench/leak_bench.c: 1000 trivial tests, -count 10, in a
                  process with 50 descriptors and 10 threads, with
                  -leaks=fail and -leaks=off: the difference per test
  leaks on/off    the run time of suites with the check on and off, in
                  process
  subtests        bench/parallel_bench.c next to bench/go/subtest_test.go,
                  the same measurements with Go's testing package, built
                  and run here with Debian's golang-go: per sequential and
                  per parallel subtest, 10,000 parallel subtests in one
                  test, and cancellation latency in a group of 8; the
                  cost of a thread wake-up, bench/wake_floor.c (waking a
                  thread asleep in a futex, on any CPU and on one: the
                  floor under cancellation, which wakes threads); and the
                  run time of the subtest rounds with each report format
Each figure is the best of several runs; run `ninja bench` on an idle
machine.  Everything but the process-mode figures runs with -isolation
none, the mode the figures were first taken in and the targets are for.
"""
import os
import resource
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "gcc", "bench")


IN_PROCESS = ["-isolation", "none"]


def best_time(argv, runs=7, env=None):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False, env=env)
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
        runs = [run_rusage([binary, *IN_PROCESS, *flags])
                for _ in range(5)]
        secs = min(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        _, rss_tenth = run_rusage([binary, *IN_PROCESS, *flags, *fewer])
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
    deft = bench_lines([os.path.join(BUILD, "parallel_bench"),
                        *IN_PROCESS])
    exe = go_bench()
    go = bench_lines([exe, "-test.run", "."]) if exe else {}
    print(f"{'subtests (best of 5)':44} {'deft':>12} {'Go':>12} ratio")
    for what, (value, unit, rest) in deft.items():
        other = go.get(what)
        theirs = f"{other[0]:.0f} {other[1]}" if other else "-"
        ratio = f"{value / other[0]:.2f}x" if other and other[0] else ""
        print(f"  {what:42} {value:>9.0f} {unit} {theirs:>12} {ratio}")
    print("target: each subtest within 2x of Go's t.Run / t.Parallel")
    # A cancellation wakes threads; what one wake-up costs here
    for what, (value, unit, rest) in bench_lines(
            [os.path.join(BUILD, "wake_floor")]).items():
        print(f"  floor: {what:35} {value:>9.0f} {unit}")
    # The reporters with 10,000 subtests open at once: each finds and
    # ends a test in constant time, so none costs much over the console
    costs = [os.path.join(BUILD, "parallel_bench"), *IN_PROCESS,
             "-run", "^subtest_costs$"]
    xml = os.path.join(BUILD, "parallel_bench.xml")
    runs = [("console", []), ("-json", ["-json"]), ("-tap", ["-tap"]),
            ("-junit", ["-junit", xml])]
    times = ", ".join(f"{what} {best_time(costs + args, runs=3):.1f} s"
                      for what, args in runs)
    print(f"  subtest_costs (10 rounds of 10,000 subtests, half of them "
          f"parallel), whole run: {times}")
    if os.path.exists(xml):
        os.unlink(xml)


def foreign_bench(name, gen, pkg, n):
    """Builds build/gcc/bench/<name> from bench/<gen>'s n tests with the
    C flags and libraries pkg-config gives for pkg; returns (path, None),
    or (None, why not)."""
    if shutil.which("pkg-config") is None:
        return None, "pkg-config is missing"
    if subprocess.run(["pkg-config", "--exists", pkg]).returncode != 0:
        return None, (f"pkg-config finds no {pkg} (bench/deps.sh installs "
                      f"it on Debian)")
    script = os.path.join(ROOT, "bench", gen)
    src = os.path.join(BUILD, f"{name}.c")
    exe = os.path.join(BUILD, name)
    stamp = f"{src}.n"
    fresh = (os.path.exists(exe) and os.path.exists(stamp)
             and open(stamp).read() == str(n)
             and os.path.getmtime(exe) > os.path.getmtime(script))
    if fresh:
        return exe, None
    with open(src, "w") as f:
        subprocess.run([sys.executable, script, str(n)], stdout=f,
                       check=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", pkg],
                           text=True, stdout=subprocess.PIPE,
                           check=True).stdout.split()
    # generated code for another framework's macros: its warnings are not
    # deft's, so -w
    proc = subprocess.run([os.environ.get("CC", "cc"), "-O2", "-w", "-o",
                           exe, src, *flags], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        return None, "cannot build it: " + proc.stdout.strip()[-300:]
    with open(stamp, "w") as f:
        f.write(str(n))
    return exe, None


def per_test_us(full, empty, n):
    return (full - empty) / n * 1e6


def faults(argv, env=None):
    """Runs argv once; returns (its output, the page faults it and every
    process it waited for took, from getrusage).  A test process's cost
    follows the pages it maps more than anything else it does: on some
    virtual machines a page costs as much as twenty system calls."""
    def count():
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_minflt + ru.ru_majflt
    before = count()
    proc = subprocess.run(argv, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=False, env=env)
    return proc.stdout, count() - before


def faults_per_test(full, empty, n, env=None):
    return (faults(full, env)[1] - faults(empty, env)[1]) / n


def floor_figures(floor_bin, mode, n):
    """fork_floor's time per fork, in us, and page faults per fork."""
    out, took = faults([floor_bin, *mode, str(n)])
    m = re.search(r"bench: .*? ([0-9.]+) ns \(best of ([0-9]+) rounds",
                  out)
    if m is None:
        sys.exit(f"bench: {floor_bin} printed no figure: {out!r}")
    return float(m.group(1)) / 1e3, took / (int(m.group(2)) * n)


def process_mode(trivial, n=2000):
    """Per-test overhead with a forked process per test: deft, the fork
    floor, Criterion and Check, each on n trivial tests."""
    print(f"process mode: {n} trivial tests, each in a process of its own "
          f"(us per test, start-up subtracted; page faults per test, of "
          f"the runner and its test processes):")
    floor_bin = os.path.join(BUILD, "fork_floor")
    bare, bare_faults = floor_figures(floor_bin, [], n)
    fair, fair_faults = floor_figures(floor_bin, ["-deft"], n)
    pinned, pinned_faults = floor_figures(floor_bin, ["-pinned"], n)
    print(f"  {'fork floor: fork+_exit+waitpid':52} {bare:8.1f}  "
          f"{bare_faults:5.1f} faults")
    # what deft's supervisor does around a fork with -jobs 1, for itself
    print(f"  {'  the parent pinned to its CPU around fork':52} "
          f"{pinned:8.1f}  {pinned_faults:5.1f} faults")
    print(f"  {'  with deft-like socketpair + 2 pipes, 1 message':52} "
          f"{fair:8.1f}  {fair_faults:5.1f} faults")
    # trivial holds 10000 tests, trivial_00000 .. trivial_09999; these
    # are the first n when n is a multiple of 1000 up to 10000
    assert n % 1000 == 0 and n <= 10000
    select = "^trivial_0(" + "|".join(f"{k}" for k in range(n // 1000)) + ")"
    deft = {}
    for jobs in (1, 2):
        base = [trivial, "-isolation", "process", "-jobs", str(jobs)]
        full = best_time(base + ["-run", select], runs=5)
        empty = best_time(base + ["-run", "^$"], runs=5)
        deft[jobs] = per_test_us(full, empty, n)
        took = faults_per_test(base + ["-run", select], base + ["-run", "^$"],
                               n)
        print(f"  {f'deft -isolation process -jobs {jobs}':52} "
              f"{deft[jobs]:8.1f}  {took:5.1f} faults  "
              f"{deft[jobs] / bare:5.2f}x the floor")
    # what the leak check in each test process costs (see README)
    base = [trivial, "-isolation", "process", "-leaks=off"]
    us = per_test_us(best_time(base + ["-run", select], runs=5),
                     best_time(base + ["-run", "^$"], runs=5), n)
    took = faults_per_test(base + ["-run", select], base + ["-run", "^$"], n)
    print(f"  {'deft -isolation process -jobs 1 -leaks=off':52} "
          f"{us:8.1f}  {took:5.1f} faults  {us / bare:5.2f}x the floor")
    print(f"  target: deft -jobs 1 at most 2x the floor: "
          f"{deft[1] / bare:.2f}x, "
          f"{'met' if deft[1] <= 2 * bare else 'missed'}")
    deps = subprocess.run(["sh", os.path.join(ROOT, "bench", "deps.sh")],
                          stdin=subprocess.DEVNULL, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if deps.returncode != 0:
        last = deps.stdout.strip().splitlines()[-1:]
        print(f"  bench/deps.sh failed ({' '.join(last)}): "
              f"using what is installed")
    crit, why = foreign_bench("criterion_trivial", "gen_criterion.py",
                              "criterion", n)
    if crit is None:
        print(f"  Criterion: skipped: {why}")
    else:
        # about 10 ms a test: fewer runs, or this alone takes minutes
        for jobs in (1, 2):
            base = [crit, "--jobs", str(jobs)]
            full = best_time(base, runs=3 - jobs)
            empty = best_time(base + ["--filter", "none/*"], runs=3)
            us = per_test_us(full, empty, n)
            took = faults_per_test(base, base + ["--filter", "none/*"], n)
            print(f"  {f'Criterion --jobs {jobs} (best of {3 - jobs})':52} "
                  f"{us:8.1f}  {took:5.1f} faults  deft -jobs {jobs} is "
                  f"{us / deft[jobs]:.1f}x lower")
            if jobs == 1:
                print(f"  target: deft at least 3x lower per test than "
                      f"Criterion: "
                      f"{'met' if us >= 3 * deft[1] else 'missed'}")
    check, why = foreign_bench("check_trivial", "gen_check.py", "check", n)
    if check is None:
        print(f"  Check: skipped: {why}")
    else:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CK_")}
        full = best_time([check], runs=5, env=env)
        empty = best_time([check, "0"], runs=5, env=env)
        us = per_test_us(full, empty, n)
        took = faults_per_test([check], [check, "0"], n, env=env)
        print(f"  {'Check CK_FORK':52} {us:8.1f}  {took:5.1f} faults  "
              f"deft -jobs 1 takes {deft[1] / us:.2f}x as long")


def logs():
    """What a t_log costs in a test's own process and in process."""
    log_bench = os.path.join(BUILD, "log_bench")
    print("logs: us per t_log, the test's own cost subtracted:")
    for test, n, what in (("log_lines", 100000, "100,000 short lines"),
                          ("log_flood", 2000000, "2,000,000 lines, 4 MiB "
                           "kept")):
        us = {}
        for mode in ("process", "none"):
            base = [log_bench, "-isolation", mode]
            full = best_time(base + ["-run", f"^{test}$"], runs=5)
            empty = best_time(base + ["-run", "^log_none$"], runs=5)
            us[mode] = per_test_us(full, empty, n)
        print(f"  {what:40} {us['process']:6.2f} in a process, "
              f"{us['none']:6.2f} in process "
              f"({us['process'] / us['none']:.1f}x)")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    trivial = os.path.join(BUILD, "trivial")
    full = best_time([trivial, *IN_PROCESS])
    empty = best_time([trivial, *IN_PROCESS, "-run", "^$"])
    per_test = (full - empty) / n * 1e9
    print(f"{n} trivial tests, in process: {full * 1e3:.1f} ms "
          f"(start-up {empty * 1e3:.1f} ms): {per_test:.0f} ns per test "
          f"(target: at most 1000 ns)")
    off = best_time([trivial, *IN_PROCESS, "-leaks=off"])
    print(f"  the same with -leaks=off: {(off - empty) / n * 1e9:.0f} ns "
          f"per test (the rest is the leak check's snapshot)")
    verbose = best_time([trivial, *IN_PROCESS, "-v"])
    print(f"  the same with -v to /dev/null: "
          f"{(verbose - empty) / n * 1e9:.0f} ns per test")
    process_mode(trivial)
    logs()
    print("reports, to /dev/null or a file:")
    if os.path.exists("/usr/bin/time"):
        bench_reports(trivial, n, empty)
        noisy = os.path.join(BUILD, "noisy")
        quiet = best_time([noisy, *IN_PROCESS, "-run", "^$"])
        print(f"the same, each test logging 4 KiB ({n * 4 // 1024} MiB "
              f"in all):")
        bench_reports(noisy, n, quiet)
    else:
        print("  skipped: /usr/bin/time is missing (ninja/deps.sh "
              "installs package time)")
    subprocess.run([os.path.join(BUILD, "cleanup_bench"), *IN_PROCESS],
                   check=True)
    print("targets: t_cleanup push+run at most 50 ns, "
          "t_defer push+call at most 300 ns")
    leak = os.path.join(BUILD, "leak_bench")
    on = best_time([leak, *IN_PROCESS, "-count", "10", "-leaks=fail"])
    off = best_time([leak, *IN_PROCESS, "-count", "10", "-leaks=off"])
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
        on = best_time(argv + IN_PROCESS + ["-leaks=fail"], runs=9)
        off = best_time(argv + IN_PROCESS + ["-leaks=off"], runs=9)
        print(f"{name}: {on * 1e3:.0f} ms with leak checks, "
              f"{off * 1e3:.0f} ms without")
    subtests()


if __name__ == "__main__":
    main()
