// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point for the policy loader (LoadPolicyString). The loader no longer calls
// yaml-cpp 0.7's YAML::LoadAll, which looped on a stray ',' (findings_test.cc); an OOM report
// (-rss_limit_mb) from this target is a new finding.
// Build and run: see the "Fuzzing" section of docs/architecture.md.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/policy_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  knob::PolicyLoad load = knob::LoadPolicyString(yaml, "fuzz.yaml");
  if (load.ok() != load.errors.empty()) std::abort();
  return 0;
}
