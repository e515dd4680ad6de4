// SPDX-License-Identifier: Apache-2.0
#pragma once
// knobctl, the operator CLI, as a function so tests run it in-process against a real socket.
// Commands come from daemon/control/commands.h; options are parsed with getopt_long, so
// `--opt=value`, `--opt value` and `--` work everywhere. Output is tables fitted to the terminal
// (colour on a TTY unless NO_COLOR), or JSON with --json for every command (analyze included).
// Exit codes (docs/knobctl.md): 0 ok, 1 the daemon answered with an error (or check-config found
// problems), 2 usage error, 3 cannot connect / no answer.
// Thread rule: any thread (getopt_long's global state is taken under a lock); blocking socket
// I/O with a timeout. `top` and `history --follow` run until interrupted or --count.

#include <chrono>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace knob {

inline constexpr int kKnobctlOk = 0;
inline constexpr int kKnobctlDaemonError = 1;
inline constexpr int kKnobctlUsage = 2;
inline constexpr int kKnobctlCannotConnect = 3;

// What `knobctl analyze` was asked (after option parsing).
struct AnalyzeRequest {
  std::vector<std::string> args;  // "usl" FILE | "mrc" TRACE
  bool json = false;
  std::string plot;                   // usl: write a PNG of the fit here (gnuplot)
  std::optional<double> sample_rate;  // mrc: SHARDS sampling rate in (0, 1]
  bool progress = false;              // mrc: show progress on stderr (a terminal)
  bool color = false;
  int width = 0;  // terminal columns for the ASCII plot; 0: default
};

// Offline analysis hook (`knobctl analyze ...`): knobctl's main sets it to the analyze front
// end (daemon/knobctl/analyze_cli.h, which links knob_optimizers); in-process tests may leave it
// null.
using AnalyzeFn =
    std::function<int(const AnalyzeRequest& req, std::ostream& out, std::ostream& err)>;

struct KnobctlEnv {
  std::function<const char*(const char*)> getenv;  // null: std::getenv
  AnalyzeFn analyze;                               // null: "not built"
  std::optional<bool> tty;                         // null: isatty(1) (and stdin for `top` keys)
  int width = -1;                                  // -1: the terminal's, else $COLUMNS
  int input_fd = 0;                                // where `top` reads q from
};

// args excludes argv[0].
int RunKnobctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const KnobctlEnv& env = {});

}  // namespace knob
