// cxx.cpp - deft.h from C++: TEST, assertions through overloads, and a
// lambda as a cleanup (t_defer is C only).
#include <deft.h>

#include <cstdio>
#include <string>

TEST(cxx_assertions)
{
	std::string s = "hello";
	T_EXPECT_EQ(t, s.size(), 5u);
	T_EXPECT_EQ(t, s.c_str(), "hello");
	T_EXPECT_LT(t, -1, 1u);
	T_EXPECT_NULL(t, nullptr);
	T_EXPECT_NEAR(t, 0.1 + 0.2, 0.3, 1e-9);
	T_EXPECT_EQ(t, 1.5L, 1.5);
	T_EXPECT_EQ(t, s.c_str(), "help");
}

TEST(cxx_lambda_cleanup)
{
	static int order = 0;
	auto count = [](T *sub, void *arg) {
		t_log(sub, "lambda cleanup %d", ++*static_cast<int *>(arg));
	};
	t_cleanup(t, count, &order);
	t_log(t, "body");
}
