/*
 * assert_test.c - checks that hold pass quietly and return true.  Checks
 * that fail, and their messages, are covered by the golden tests.
 */
#include <deft.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

TEST(integer_checks_compare_by_value)
{
	T_EXPECT(t, T_EXPECT_EQ(t, 1, 1));
	T_EXPECT(t, T_EXPECT_LT(t, -1, 1u));
	T_EXPECT(t, T_EXPECT_GT(t, 4294967295u, -1));
	T_EXPECT(t, T_EXPECT_LT(t, (int8_t)-1, (uint64_t)UINT64_MAX));
	T_EXPECT(t, T_EXPECT_EQ(t, (uint8_t)255, 255LL));
	T_EXPECT(t, T_EXPECT_NE(t, (unsigned)-1, -1));
	T_EXPECT(t, T_EXPECT_LE(t, INT64_MIN, INT64_MIN));
	T_EXPECT(t, T_EXPECT_GE(t, (short)3, (unsigned char)3));
	T_EXPECT(t, T_EXPECT_EQ(t, (_Bool)1, 1));
	T_EXPECT(t, T_EXPECT_EQ(t, 'a', (char)97));
	enum colour { RED, GREEN } c = GREEN;
	T_EXPECT(t, T_EXPECT_EQ(t, c, GREEN));
}

TEST(floating_checks)
{
	T_EXPECT(t, T_EXPECT_EQ(t, 0.5, 0.5f));
	T_EXPECT(t, T_EXPECT_LT(t, 1, 1.5));
	T_EXPECT(t, T_EXPECT_FLOAT_EQ(t, 0.1 + 0.2, 0.3));
	T_EXPECT(t, T_EXPECT_FLOAT_EQ(t, 1e300 * 10, 1e301));
	T_EXPECT(t, T_EXPECT_FLOAT_EQ(t, 0.0, -0.0));
	T_EXPECT(t, T_EXPECT_NEAR(t, 3.14159, M_PI, 1e-5));
	T_EXPECT(t, T_EXPECT_NE(t, NAN, NAN));
	T_EXPECT(t, T_EXPECT_EQ(t, INFINITY, HUGE_VAL));
	T_EXPECT(t, T_EXPECT_GT(t, 1.0L + LDBL_EPSILON, 1.0L));
}

TEST(string_checks_compare_content)
{
	char buf[16];
	strcpy(buf, "hello");
	const char *lit = "hello";
	T_EXPECT(t, T_EXPECT_EQ(t, buf, lit));
	T_EXPECT(t, T_EXPECT_NE(t, buf, "help"));
	T_EXPECT(t, T_EXPECT_LT(t, "abc", "abd"));
	T_EXPECT(t, T_EXPECT_EQ(t, (char *)NULL, (const char *)NULL));
	T_EXPECT(t, T_EXPECT_LT(t, (char *)NULL, ""));
	T_EXPECT(t, T_EXPECT_PTR_NE(t, buf, lit));
	T_EXPECT(t, T_EXPECT_PTR_EQ(t, lit, lit));
}

TEST(pointer_checks)
{
	int x, y;
	int *p = &x;
	T_EXPECT(t, T_EXPECT_EQ(t, p, &x));
	T_EXPECT(t, T_EXPECT_NE(t, p, &y));
	T_EXPECT(t, T_EXPECT_NULL(t, (int *)NULL));
	T_EXPECT(t, T_EXPECT_NOT_NULL(t, p));
	T_EXPECT(t, T_EXPECT_EQ(t, (void *)NULL, NULL));
}

TEST(memory_checks)
{
	unsigned char a[64], b[64];
	memset(a, 0xab, sizeof(a));
	memcpy(b, a, sizeof(b));
	T_EXPECT(t, T_EXPECT_MEM_EQ(t, a, b, sizeof(a)));
	T_EXPECT(t, T_EXPECT_MEM_EQ(t, NULL, NULL, 0));
	T_EXPECT(t, T_EXPECT_MEM_EQ(t, a, NULL, 0));
}

TEST(operands_are_evaluated_once)
{
	int i = 0, j = 10;
	T_EXPECT_EQ(t, i++, 0);
	T_EXPECT_LT(t, i++, j--);
	T_EXPECT_NEAR(t, (double)i++, 2.0, 0.0);
	T_EXPECT(t, i++ == 3);
	T_EXPECT_EQ(t, i, 4);
	T_EXPECT_EQ(t, j, 9);
}

TEST(assertions_that_hold_do_not_stop)
{
	int reached = 0;
	T_ASSERT(t, 1);
	T_ASSERT_EQ(t, 2, 2);
	T_ASSERT_NOT_NULL(t, &reached);
	T_ASSERT_MEM_EQ(t, "ab", "ab", 2);
	T_ASSERT_NEAR(t, 1.0, 1.1, 0.2);
	T_ASSERT_FLOAT_EQ(t, 1.0, 1.0);
	reached = 1;
	T_EXPECT_EQ(t, reached, 1);
}
