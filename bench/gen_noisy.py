#!/usr/bin/env python3
"""Writes a C file of N deft tests that each log 4 KiB to stdout:
gen_noisy.py N.  With it bench/run.py shows that the report writers'
memory does not grow with what the whole run printed."""
import sys

n = int(sys.argv[1])
print("#include <deft.h>\n#include <string.h>\n")
print("static void noisy(T *t)\n{\n\tchar line[257];\n"
      "\tmemset(line, 'x', 256);\n\tline[256] = '\\0';\n"
      "\tfor (int i = 0; i < 16; i++)\n\t\tt_log(t, \"%s\", line);\n}\n")
for i in range(n):
    print(f"TEST(noisy_{i:05d}) {{ noisy(t); }}")
