// libFuzzer entry point for the policy loader (LoadPolicyString). Until config/policy_loader.cc
// stops calling YAML::LoadAll, inputs with a stray ',' at document level run out of memory in
// yaml-cpp 0.7 (see findings_test.cc); libFuzzer reports them as OOM (-rss_limit_mb).
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
