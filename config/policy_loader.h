// SPDX-License-Identifier: Apache-2.0
#pragma once
// Loads and validates a policy (YAML via yaml-cpp). Every problem is reported, not just the
// first, each as "FILE:LINE:COL: error: MESSAGE" plus a hint ("did you mean ...", accepted forms).
// Thread rule: pure functions, any thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/policy.h"
#include "core/status.h"

namespace knob {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown (e.g. file unreadable)
  int column = 0;  // 1-based
  std::string message;
  std::string hint;  // may be empty
  // "FILE:LINE:COL: error: MESSAGE (hint: HINT)"
  std::string ToString() const;
};

struct PolicyLoad {
  std::optional<Policy> policy;  // set iff errors is empty
  std::vector<Diagnostic> errors;
  bool ok() const { return policy.has_value(); }
};

PolicyLoad LoadPolicyFile(const std::string& path);
PolicyLoad LoadPolicyString(std::string_view yaml, const std::string& source_name = "<string>");

// Checks "ADDR:PORT" as accepted by global.metrics_listen (IPv4, [IPv6] or localhost; port
// 0-65535, 0 = any free port), so --metrics-listen can accept exactly what the policy does.
Status ValidateListenAddress(std::string_view addr);

}  // namespace knob
