// SPDX-License-Identifier: Apache-2.0
#include "daemon/cli.h"

#include <getopt.h>

#include <array>
#include <vector>

namespace knob {
namespace {

enum LongOnly : int {
  kOptCheckConfig = 1000,
  kOptLogLevel,
  kOptMetricsListen,
  kOptControlSocket,
  kOptStateDir,
  kOptProcRoot,
  kOptSysRoot,
};

constexpr std::array<const char*, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                   "error", "critical", "off"};

}  // namespace

bool IsValidLogLevel(const std::string& level) {
  for (const char* l : kLogLevels) {
    if (level == l) return true;
  }
  return false;
}

void PolicyOverrides::ApplyTo(Policy& policy) const {
  if (log_level) policy.global.log_level = *log_level;
  if (metrics_listen) policy.global.metrics_listen = *metrics_listen;
  if (control_socket) policy.global.control.socket_path = *control_socket;
  if (state_dir) policy.global.state_dir = *state_dir;
  if (proc_root) policy.global.collection.proc_root = *proc_root;
  if (sys_root) policy.global.collection.sys_root = *sys_root;
}

std::string UsageText(const std::string& bundled_config) {
  return "Usage: knobd [OPTIONS]\n"
         "Linux performance-tuning daemon: watches the targets in a YAML policy, recommends or\n"
         "applies better knob values, and exports Prometheus metrics.\n"
         "\n"
         "  -c, --config FILE          policy file (default: $KNOBD_CONFIG, else " +
         std::string(kSystemConfigPath) +
         // An installed knobd has no bundled policy of its own: its fallback is the system one.
         (bundled_config == kSystemConfigPath
              ? std::string(")\n")
              : "\n                             if it exists, else " + bundled_config + ")\n") +
         "      --check-config FILE    validate FILE, print every error as FILE:LINE:COL,\n"
         "                             exit 0 if valid, 2 if not (like nginx -t)\n"
         "      --log-level LEVEL      trace|debug|info|warn|error|critical|off\n"
         "                             (env KNOBD_LOG_LEVEL; policy global.log_level)\n"
         "      --metrics-listen ADDR:PORT\n"
         "                             Prometheus endpoint (env KNOBD_METRICS_LISTEN;\n"
         "                             default 127.0.0.1:10464; port 0 picks a free port)\n"
         "      --control-socket PATH  control socket (env KNOBD_CONTROL_SOCKET;\n"
         "                             default /run/knobd/control.sock)\n"
         "      --state-dir DIR        learned state (env KNOBD_STATE_DIR; default "
         "/var/lib/knobd)\n"
         "      --proc-root DIR        read targets' /proc from DIR (tests, containers)\n"
         "      --sys-root DIR         read /sys from DIR (tests, containers)\n"
         "  -h, --help                 show this help and exit\n"
         "  -V, --version              show the version and exit\n"
         "\n"
         "Signals: SIGHUP reloads the policy; SIGTERM/SIGINT finish the tick and exit 0.\n"
         "Exit status: 0 clean stop, 1 runtime failure, 2 configuration or usage error.\n";
}

Result<CliOptions> ParseCommandLine(int argc, char* const argv[], const EnvLookup& env,
                                    const FileExists& exists, const std::string& bundled_config) {
  static const option kLong[] = {
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {"config", required_argument, nullptr, 'c'},
      {"check-config", required_argument, nullptr, kOptCheckConfig},
      {"log-level", required_argument, nullptr, kOptLogLevel},
      {"metrics-listen", required_argument, nullptr, kOptMetricsListen},
      {"control-socket", required_argument, nullptr, kOptControlSocket},
      {"state-dir", required_argument, nullptr, kOptStateDir},
      {"proc-root", required_argument, nullptr, kOptProcRoot},
      {"sys-root", required_argument, nullptr, kOptSysRoot},
      {nullptr, 0, nullptr, 0},
  };
  CliOptions out;
  auto from_env = [&](const char* name, std::optional<std::string>& slot) {
    const char* v = env(name);
    if (v != nullptr && *v != '\0') slot = v;
  };
  from_env("KNOBD_LOG_LEVEL", out.overrides.log_level);
  from_env("KNOBD_METRICS_LISTEN", out.overrides.metrics_listen);
  from_env("KNOBD_CONTROL_SOCKET", out.overrides.control_socket);
  from_env("KNOBD_STATE_DIR", out.overrides.state_dir);
  std::optional<std::string> config;
  from_env("KNOBD_CONFIG", config);
  std::optional<std::string> check;
  bool help = false, version = false;

  // getopt_long keeps global state; optind = 0 makes glibc start over (tests parse many times).
  optind = 0;
  opterr = 0;
  int opt;
  while ((opt = getopt_long(argc, argv, ":hVc:", kLong, nullptr)) != -1) {
    switch (opt) {
      case 'h':
        help = true;
        break;
      case 'V':
        version = true;
        break;
      case 'c':
        config = optarg;
        break;
      case kOptCheckConfig:
        check = optarg;
        break;
      case kOptLogLevel:
        out.overrides.log_level = optarg;
        break;
      case kOptMetricsListen:
        out.overrides.metrics_listen = optarg;
        break;
      case kOptControlSocket:
        out.overrides.control_socket = optarg;
        break;
      case kOptStateDir:
        out.overrides.state_dir = optarg;
        break;
      case kOptProcRoot:
        out.overrides.proc_root = optarg;
        break;
      case kOptSysRoot:
        out.overrides.sys_root = optarg;
        break;
      case ':':
        return InvalidArgumentError(std::string("option '") + argv[optind - 1] +
                                    "' needs an argument");
      default:
        return InvalidArgumentError(std::string("unknown option '") + argv[optind - 1] + "'");
    }
  }
  if (optind < argc) {
    return InvalidArgumentError(std::string("unexpected argument '") + argv[optind] +
                                "' (the policy file goes after --config)");
  }
  if (out.overrides.log_level && !IsValidLogLevel(*out.overrides.log_level)) {
    return InvalidArgumentError("unknown log level '" + *out.overrides.log_level +
                                "' (accepted: trace, debug, info, warn, error, critical, off)");
  }
  for (const auto* v :
       {&out.overrides.control_socket, &out.overrides.state_dir, &out.overrides.proc_root,
        &out.overrides.sys_root, &out.overrides.metrics_listen}) {
    if (v->has_value() && (*v)->empty()) return InvalidArgumentError("empty option value");
  }

  if (help) {
    out.action = CliAction::kHelp;
  } else if (version) {
    out.action = CliAction::kVersion;
  } else if (check) {
    out.action = CliAction::kCheckConfig;
    out.config_path = *check;
    return out;
  }
  if (config) {
    out.config_path = *config;
  } else if (exists(kSystemConfigPath)) {
    out.config_path = kSystemConfigPath;
  } else {
    out.config_path = bundled_config;
  }
  return out;
}

}  // namespace knob
