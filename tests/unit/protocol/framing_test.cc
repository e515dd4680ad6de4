// SPDX-License-Identifier: Apache-2.0
#include "core/protocol/framing.h"

#include <gtest/gtest.h>

namespace knob::protocol {
namespace {

TEST(LineFramerTest, SplitsAcrossChunks) {
  LineFramer f(100);
  std::vector<std::string> lines;
  EXPECT_TRUE(f.Feed("{\"a\":1}\n{\"b\"", lines));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "{\"a\":1}");
  EXPECT_EQ(f.pending_bytes(), 4u);
  EXPECT_TRUE(f.Feed(":2}\r\n\n", lines));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "{\"b\":2}");
  EXPECT_EQ(f.pending_bytes(), 0u);
}

TEST(LineFramerTest, LineAtExactLimitPasses) {
  LineFramer f(4);
  std::vector<std::string> lines;
  EXPECT_TRUE(f.Feed("abcd\n", lines));
  EXPECT_EQ(lines.size(), 1u);
}

TEST(LineFramerTest, OversizedPartialLineOverflowsAndStaysOverflowed) {
  LineFramer f(4);
  std::vector<std::string> lines;
  EXPECT_TRUE(f.Feed("abc", lines));
  EXPECT_FALSE(f.Feed("de", lines));
  EXPECT_TRUE(f.overflowed());
  EXPECT_FALSE(f.Feed("\nok\n", lines));
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(f.pending_bytes(), 0u);
}

TEST(LineFramerTest, CompleteLinesBeforeAnOversizedOneAreKept) {
  LineFramer f(4);
  std::vector<std::string> lines;
  EXPECT_FALSE(f.Feed("ok\ntoolong\n", lines));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "ok");
}

}  // namespace
}  // namespace knob::protocol
