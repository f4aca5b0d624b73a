#!/usr/bin/env python3
"""Writes a C file of N trivial Check tests to stdout, the same as
bench/gen_trivial.py's for deft: gen_check.py N.  Its main runs them in
Check's default CK_FORK mode (a forked process per test) unless the
environment says otherwise; `prog 0` registers none, for the start-up
time."""
import sys

n = int(sys.argv[1])
print("#include <check.h>\n#include <stdlib.h>\n")
for i in range(n):
    print(f"START_TEST(t{i:05d}) {{ ck_assert_int_eq({i}, {i}); }}\n"
          "END_TEST")
print("\nstatic const TTest *const tests[] = {")
for i in range(n):
    print(f"\t&t{i:05d}_ttest,")
print("};\n")
print(f"""int main(int argc, char **argv)
{{
	int n = argc > 1 ? atoi(argv[1]) : {n};
	Suite *s = suite_create("trivial");
	TCase *tc = tcase_create("trivial");
	for (int i = 0; i < n && i < {n}; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_SILENT);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}}""")
