// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/commands.h"

#include <gtest/gtest.h>

namespace knob {
namespace {

TEST(CommandsTest, EveryAdminOpHasExactlyOneCommand) {
  for (int i = 0; i <= static_cast<int>(protocol::AdminOp::kRestore); ++i) {
    auto op = static_cast<protocol::AdminOp>(i);
    int n = 0;
    for (const auto& c : Commands())
      if (c.op == op) ++n;
    EXPECT_EQ(n, 1) << protocol::AdminOpName(op);
  }
}

TEST(CommandsTest, HelpListsEveryCommandWithItsSummary) {
  std::string help = CommandsHelp();
  for (const auto& c : Commands()) {
    EXPECT_NE(help.find(std::string(c.name)), std::string::npos) << c.name;
    EXPECT_NE(help.find(std::string(c.summary)), std::string::npos) << c.name;
    EXPECT_FALSE(c.details.empty()) << c.name;
  }
  const CommandSpec* mode = FindCommand("mode");
  ASSERT_NE(mode, nullptr);
  EXPECT_NE(CommandHelp(*mode).find("usage: knobctl"), std::string::npos);
  EXPECT_EQ(FindCommand("frobnicate"), nullptr);
}

}  // namespace
}  // namespace knob
