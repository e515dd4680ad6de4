// SPDX-License-Identifier: Apache-2.0
#pragma once
// knobctl, the operator CLI, as a function so tests run it in-process against a real socket.
// Commands come from daemon/control/commands.h; output is aligned tables, or the daemon's JSON
// reply with --json. Exit codes (docs/knobctl.md): 0 ok, 1 the daemon answered with an error
// (or check-config found problems), 2 usage error, 3 cannot connect / no answer.
// Thread rule: any thread; blocking socket I/O with a timeout.

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace knob {

inline constexpr int kKnobctlOk = 0;
inline constexpr int kKnobctlDaemonError = 1;
inline constexpr int kKnobctlUsage = 2;
inline constexpr int kKnobctlCannotConnect = 3;

// Offline analysis hook (`knobctl analyze ...`): knobctl's main sets it to knob_optimizers'
// RunAnalyze; in-process tests may leave it null.
using AnalyzeFn =
    std::function<int(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)>;

struct KnobctlEnv {
  std::function<const char*(const char*)> getenv;  // null: std::getenv
  AnalyzeFn analyze;                               // null: "not built"
};

// args excludes argv[0].
int RunKnobctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const KnobctlEnv& env = {});

}  // namespace knob
