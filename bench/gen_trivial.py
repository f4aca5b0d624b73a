#!/usr/bin/env python3
"""Writes a C file of N trivial deft tests to stdout: gen_trivial.py N."""
import sys

n = int(sys.argv[1])
print("#include <deft.h>\n")
for i in range(n):
    print(f"TEST(trivial_{i:05d}) {{ T_EXPECT_EQ(t, {i}, {i}); }}")
