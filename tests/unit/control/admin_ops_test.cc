// SPDX-License-Identifier: Apache-2.0
// The admin operations are bound to the command table by AdminOp: every daemon command has
// exactly one handler and every handler a command (the control server checks it at Start).
#include "daemon/control/admin_ops.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "daemon/control/commands.h"

namespace knob {
namespace {

TEST(AdminOpsTest, EveryDaemonCommandHasExactlyOneHandler) {
  int daemon_commands = 0;
  for (const CommandSpec& c : Commands()) {
    if (!c.op) continue;
    ++daemon_commands;
    auto handlers = AdminHandlers();
    EXPECT_EQ(std::count_if(handlers.begin(), handlers.end(),
                            [&](const AdminHandlerSpec& h) { return h.op == *c.op; }),
              1)
        << c.name;
  }
  EXPECT_EQ(daemon_commands, 10);  // restore (issue 12) is the tenth
  EXPECT_EQ(AdminHandlers().size(), 10u);
  EXPECT_TRUE(CheckAdminHandlers().ok()) << CheckAdminHandlers().message();
}

}  // namespace
}  // namespace knob
