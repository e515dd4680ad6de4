// SPDX-License-Identifier: Apache-2.0
// Command-line and environment parsing: actions, overrides, precedence, usage errors.

#include "daemon/cli.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "daemon/daemon.h"

namespace knob {
namespace {

constexpr const char* kBundled = "/src/config/knobd.yaml";

class CliTest : public ::testing::Test {
 protected:
  Result<CliOptions> Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "knobd");
    argv_.clear();
    storage_ = args;
    for (auto& a : storage_) argv_.push_back(a.data());
    argv_.push_back(nullptr);
    return ParseCommandLine(
        static_cast<int>(storage_.size()), argv_.data(),
        [this](const char* name) -> const char* {
          auto it = env_.find(name);
          return it == env_.end() ? nullptr : it->second.c_str();
        },
        [this](const std::string& p) { return files_.count(p) > 0; }, kBundled);
  }
  std::map<std::string, std::string> env_;
  std::set<std::string> files_;
  std::vector<std::string> storage_;
  std::vector<char*> argv_;
};

TEST_F(CliTest, NoArgumentsRunsWithBundledConfigWhenNoSystemConfig) {
  auto o = Parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->action, CliAction::kRun);
  EXPECT_EQ(o->config_path, kBundled);
  EXPECT_FALSE(o->overrides.log_level.has_value());
}

TEST_F(CliTest, SystemConfigPreferredWhenPresent) {
  files_.insert(kSystemConfigPath);
  auto o = Parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->config_path, kSystemConfigPath);
}

TEST_F(CliTest, EveryFlagSetsItsOverride) {
  auto o = Parse({"--config", "/p.yaml", "--log-level", "debug", "--metrics-listen", "0.0.0.0:9000",
                  "--control-socket", "/tmp/c.sock", "--state-dir", "/tmp/s", "--proc-root",
                  "/fixture/proc", "--sys-root", "/fixture/sys"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->config_path, "/p.yaml");
  EXPECT_EQ(o->overrides.log_level, "debug");
  EXPECT_EQ(o->overrides.metrics_listen, "0.0.0.0:9000");
  EXPECT_EQ(o->overrides.control_socket, "/tmp/c.sock");
  EXPECT_EQ(o->overrides.state_dir, "/tmp/s");
  EXPECT_EQ(o->overrides.proc_root, "/fixture/proc");
  EXPECT_EQ(o->overrides.sys_root, "/fixture/sys");

  Policy p;
  o->overrides.ApplyTo(p);
  EXPECT_EQ(p.global.log_level, "debug");
  EXPECT_EQ(p.global.metrics_listen, "0.0.0.0:9000");
  EXPECT_EQ(p.global.control.socket_path, "/tmp/c.sock");
  EXPECT_EQ(p.global.state_dir, "/tmp/s");
  EXPECT_EQ(p.global.collection.proc_root, "/fixture/proc");
  EXPECT_EQ(p.global.collection.sys_root, "/fixture/sys");
}

TEST_F(CliTest, ShortAndEqualsForms) {
  auto o = Parse({"-c", "/a.yaml", "--log-level=warn"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->config_path, "/a.yaml");
  EXPECT_EQ(o->overrides.log_level, "warn");
}

TEST_F(CliTest, EnvironmentIsUsedAndFlagsWin) {
  env_ = {{"KNOBD_CONFIG", "/env.yaml"},
          {"KNOBD_LOG_LEVEL", "error"},
          {"KNOBD_METRICS_LISTEN", "127.0.0.1:1"},
          {"KNOBD_CONTROL_SOCKET", "/env.sock"},
          {"KNOBD_STATE_DIR", "/env-state"}};
  auto o = Parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->config_path, "/env.yaml");
  EXPECT_EQ(o->overrides.log_level, "error");
  EXPECT_EQ(o->overrides.metrics_listen, "127.0.0.1:1");
  EXPECT_EQ(o->overrides.control_socket, "/env.sock");
  EXPECT_EQ(o->overrides.state_dir, "/env-state");

  o = Parse({"--config", "/flag.yaml", "--log-level", "trace"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->config_path, "/flag.yaml");
  EXPECT_EQ(o->overrides.log_level, "trace");
}

TEST_F(CliTest, EmptyEnvironmentValueIsIgnored) {
  env_ = {{"KNOBD_LOG_LEVEL", ""}};
  auto o = Parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->overrides.log_level.has_value());
}

TEST_F(CliTest, Actions) {
  EXPECT_EQ(Parse({"--help"})->action, CliAction::kHelp);
  EXPECT_EQ(Parse({"-h"})->action, CliAction::kHelp);
  EXPECT_EQ(Parse({"--version"})->action, CliAction::kVersion);
  EXPECT_EQ(Parse({"-V"})->action, CliAction::kVersion);
  auto o = Parse({"--check-config", "/x.yaml"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->action, CliAction::kCheckConfig);
  EXPECT_EQ(o->config_path, "/x.yaml");
}

TEST_F(CliTest, UsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message_part;
  };
  std::vector<Case> cases = {
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"-x"}, "unknown option"},
      {{"--config"}, "needs an argument"},
      {{"--check-config"}, "needs an argument"},
      {{"--log-level", "loud"}, "unknown log level 'loud'"},
      {{"policy.yaml"}, "unexpected argument 'policy.yaml'"},
      {{"--state-dir="}, "empty option value"},
  };
  for (const auto& c : cases) {
    auto o = Parse(c.args);
    ASSERT_FALSE(o.ok()) << c.args[0];
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(o.status().message().find(c.message_part), std::string::npos) << o.status().message();
  }
}

TEST_F(CliTest, RepeatedParsesAreIndependent) {
  ASSERT_FALSE(Parse({"--bogus"}).ok());
  auto o = Parse({"--log-level", "info"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->overrides.log_level, "info");
}

TEST(CliUsageTest, HelpMentionsEveryFlagAndExitCodes) {
  std::string u = UsageText(kBundled);
  for (const char* flag : {"--config", "--check-config", "--log-level", "--metrics-listen",
                           "--control-socket", "--state-dir", "--proc-root", "--sys-root", "--help",
                           "--version", "SIGHUP", "Exit status", kBundled}) {
    EXPECT_NE(u.find(flag), std::string::npos) << flag;
  }
}

TEST(ExitCodeTest, ConfigurationProblemsAreTwoInternalFailuresOne) {
  EXPECT_EQ(ExitCodeFor(OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeFor(InvalidArgumentError("bad policy")), kExitConfig);
  EXPECT_EQ(ExitCodeFor(AlreadyExistsError("port in use")), kExitConfig);
  EXPECT_EQ(ExitCodeFor(PermissionDeniedError("state dir")), kExitConfig);
  EXPECT_EQ(ExitCodeFor(NotFoundError("no such dir")), kExitConfig);
  EXPECT_EQ(ExitCodeFor(InternalError("loop broke")), kExitRuntime);
}

}  // namespace
}  // namespace knob
