// SPDX-License-Identifier: Apache-2.0
// The loader never crashes or throws on damaged input: every prefix of every shipped file and a
// few hostile documents load to either a policy or positioned errors.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "config/policy_loader.h"
#include "tests/unit/config/policy_test_util.h"

namespace knob {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(PolicyRobustness, EveryPrefixOfTheShippedFilesLoadsOrFailsCleanly) {
  const fs::path dir = fs::path(KNOB_SOURCE_DIR) / "config";
  for (const fs::path& p : {dir / "knobd.yaml", dir / "examples" / "web-server.yaml",
                            dir / "examples" / "microservice.yaml"}) {
    const std::string text = ReadFile(p);
    ASSERT_FALSE(text.empty()) << p;
    for (size_t n = 0; n <= text.size(); n += 7) {
      PolicyLoad load = LoadPolicyString(std::string_view(text).substr(0, n), p.string());
      EXPECT_EQ(load.ok(), load.errors.empty());
      for (const Diagnostic& d : load.errors) {
        EXPECT_GT(d.line, 0) << d.ToString();
        EXPECT_GT(d.column, 0) << d.ToString();
        EXPECT_FALSE(d.message.empty());
      }
    }
  }
}

TEST(PolicyRobustness, HostileDocuments) {
  const std::string deep_flow = std::string(5000, '[') + std::string(5000, ']');
  for (const std::string& yaml :
       {std::string("\0\0\0", 3), std::string("\xff\xfe garbage"), std::string("{{{{"),
        std::string(": : :"), std::string("global: !!binary aGVsbG8="), std::string("? [a]\n: b\n"),
        std::string("targets:\n  - [a, b]\n  - null\n  - 7\n"),
        std::string("global:\n  control: {max_clients: 1e309}\n"), std::string("profiles: [a]\n"),
        std::string("profiles:\n  p: [1]\n"),
        std::string("targets:\n  - name: w\n    select: [pid, 1]\n"),
        std::string("targets:\n  - name: w\n    select: {pid: 1}\n    knobs: [a]\n"),
        std::string("targets:\n  - name: w\n    select: {pid: 1}\n    knobs: {a: 5}\n"),
        deep_flow}) {
    PolicyLoad load = LoadPolicyString(yaml, "hostile.yaml");
    EXPECT_FALSE(load.ok()) << "accepted: " << yaml.substr(0, 60);
    EXPECT_FALSE(load.errors.empty());
  }
}

TEST(PolicyRobustness, AnchorsAndAliasesWork) {
  Policy p = test::MustLoad(R"(
targets:
  - name: a
    select: {pid: 1}
    knobs: &bounds
      worker_threads: {min: 2, max: 8}
  - name: b
    select: {pid: 2}
    knobs: *bounds
)");
  ASSERT_EQ(p.targets.size(), 2u);
  EXPECT_EQ(p.targets[0].knobs, p.targets[1].knobs);
  EXPECT_EQ(p.targets[1].knobs.at("worker_threads").max, 8);
}

}  // namespace
}  // namespace knob
