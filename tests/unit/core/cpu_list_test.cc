// SPDX-License-Identifier: Apache-2.0
#include "core/cpu_list.h"

#include <gtest/gtest.h>

namespace knob {
namespace {

TEST(CpuListTest, ParsesWhatTheKernelWrites) {
  auto a = ParseCpuList("0-3,8\n");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, (std::vector<int>{0, 1, 2, 3, 8}));
  auto b = ParseCpuList("7");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, std::vector<int>{7});
  // Unordered and overlapping items collapse to one sorted set.
  auto c = ParseCpuList("9,2-4,3");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, (std::vector<int>{2, 3, 4, 9}));
}

TEST(CpuListTest, CoversHostsWithMoreThan64Cpus) {
  auto a = ParseCpuList("0,64-66,127");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 5u);
  EXPECT_EQ(a->back(), 127);
  EXPECT_EQ(FormatCpuList(*a), "0,64-66,127");
}

TEST(CpuListTest, RejectsBadTextNamingIt) {
  for (const char* bad : {"", "a", "3-1", "1,", ",1", "1-", "-1", "0-70000", "1 2", "0x1"}) {
    auto r = ParseCpuList(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("CPU list"), std::string::npos) << r.status().message();
  }
}

TEST(CpuListTest, FormatsCanonically) {
  EXPECT_EQ(FormatCpuList({0, 1, 2, 3, 8}), "0-3,8");
  EXPECT_EQ(FormatCpuList({5, 4}), "4,5");
  EXPECT_EQ(FormatCpuList({1, 1, 3}), "1,3");
  EXPECT_EQ(FormatCpuList({}), "");
  auto round = ParseCpuList(FormatCpuList({0, 2, 3, 4, 6, 7}));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(*round, (std::vector<int>{0, 2, 3, 4, 6, 7}));
}

}  // namespace
}  // namespace knob
