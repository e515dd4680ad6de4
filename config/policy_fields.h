// SPDX-License-Identifier: Apache-2.0
#pragma once
// The policy loader's typed readers of YAML fields: each checks one value (its kind, grammar,
// unit and range) and records a Diagnostic with the value's position and a hint instead of
// throwing. The loader's sections (policy_loader.cc) derive from PolicyFields.
// Thread rule: one instance per load, one thread.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/policy.h"
#include "config/policy_loader.h"

namespace knob {

// One key of a mapping, with the nodes that carry its position.
struct YamlEntry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class PolicyFields {
 protected:
  explicit PolicyFields(std::string file) : file_(std::move(file)) {}

  // ----- reporting
  void Error(const YAML::Mark& mark, std::string message, std::string hint = "");

  // A null value's mark points at the next token, often on a later line; the key is where the
  // user looks.
  static YAML::Mark MarkOf(const YamlEntry& e);

  // ----- structure
  static const char* KindName(const YAML::Node& n);

  // The entries of a mapping. Unknown keys (when `valid` is given), duplicate keys and non-scalar
  // keys are reported and dropped. A null node is an empty mapping: `global:` with nothing under
  // it means "all defaults".
  std::vector<YamlEntry> Fields(
      const YAML::Node& node, const std::string& where, const std::vector<std::string>* valid,
      const std::function<std::string(const std::string&)>& misplaced = {});

  std::string What(const std::string& where, const YamlEntry& e);

  bool ScalarOf(const YamlEntry& e, const std::string& what, std::string* out);

  std::optional<std::string> String(const YamlEntry& e, const std::string& what);

  std::optional<std::string> AbsolutePath(const YamlEntry& e, const std::string& what);

  std::optional<bool> Bool(const YamlEntry& e, const std::string& what);

  std::optional<double> Number(const YamlEntry& e, const std::string& what, double min,
                               bool min_exclusive, double max);

  std::optional<uint64_t> Integer(const YamlEntry& e, const std::string& what, uint64_t min,
                                  uint64_t max);

  std::optional<std::chrono::nanoseconds> DurationField(const YamlEntry& e, const std::string& what,
                                                        std::chrono::nanoseconds min,
                                                        std::chrono::nanoseconds max);

  std::optional<uint64_t> SizeField(const YamlEntry& e, const std::string& what, uint64_t min,
                                    uint64_t max);

  // A fraction written as a percent. Bounds are fractions (1.0 == 100%).
  std::optional<double> PercentField(const YamlEntry& e, const std::string& what, double min,
                                     bool min_exclusive, double max);

  std::optional<Mode> ModeField(const YamlEntry& e, const std::string& what);

  std::optional<Objective> ObjectiveField(const YamlEntry& e, const std::string& what);

  std::string file_;
  std::vector<Diagnostic> errors_;
};

}  // namespace knob
