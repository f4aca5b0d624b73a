#!/usr/bin/env python3
"""Writes a C file of N trivial Criterion tests to stdout, the same as
bench/gen_trivial.py's for deft: gen_criterion.py N.  Criterion's own
main runs each test in a forked process."""
import sys

n = int(sys.argv[1])
print("#include <criterion/criterion.h>\n")
for i in range(n):
    print(f"Test(trivial, t{i:05d}) {{ cr_expect_eq({i}, {i}); }}")
