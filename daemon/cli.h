// SPDX-License-Identifier: Apache-2.0
#pragma once
// knobd's command line and environment: what to do and which policy values to override.
// Precedence, highest first: command-line flag, KNOBD_* environment variable, policy file,
// built-in default. The parser is pure (environment passed in) so tests cover every path.
// Thread rule: pure functions, any thread.

#include <functional>
#include <optional>
#include <string>

#include "config/policy.h"
#include "core/status.h"

namespace knob {

// Values that replace the policy's own, re-applied after every reload.
struct PolicyOverrides {
  std::optional<std::string> log_level;
  std::optional<std::string> metrics_listen;
  std::optional<std::string> control_socket;
  std::optional<std::string> state_dir;
  std::optional<std::string> proc_root;
  std::optional<std::string> sys_root;
  void ApplyTo(Policy& policy) const;
};

enum class CliAction { kRun, kHelp, kVersion, kCheckConfig };

struct CliOptions {
  CliAction action = CliAction::kRun;
  std::string config_path;  // resolved: flag, KNOBD_CONFIG, /etc/knobd/knobd.yaml, bundled
  PolicyOverrides overrides;
};

// Returns the value of an environment variable or null (std::getenv in production).
using EnvLookup = std::function<const char*(const char*)>;
// Returns whether a file exists (for the default config choice).
using FileExists = std::function<bool(const std::string&)>;

// The system-wide config knobd prefers when present.
inline constexpr const char* kSystemConfigPath = "/etc/knobd/knobd.yaml";

// Errors are usage errors (exit 2): unknown flag, missing argument, bad log level, stray
// positional argument. The message names the problem; the caller adds "try --help".
Result<CliOptions> ParseCommandLine(int argc, char* const argv[], const EnvLookup& env,
                                    const FileExists& exists, const std::string& bundled_config);

std::string UsageText(const std::string& bundled_config);

bool IsValidLogLevel(const std::string& level);

}  // namespace knob
