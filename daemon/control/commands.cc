// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/commands.h"

#include <algorithm>

namespace knob {
namespace {

using protocol::AdminOp;

constexpr CommandSpec kCommands[] = {
    {"status", AdminOp::kStatus, "", "daemon version, uptime, mode, tick and target counts",
     "Shows the running knobd: version, pid, uptime, global mode, policy file, tick interval, "
     "ticks run, targets, connected clients and any feature running degraded.",
     0, 0},
    {"targets", AdminOp::kTargets, "", "every target with state, phase, mode and last report",
     "Lists every policy target and every registered client: state (pending, active, gone, "
     "error, paused), phase (learning, exploring, verifying, converged, paused, overridden), "
     "mode, whether a client is connected, its pid, the age of its last report and how many "
     "recommendations were made for it.",
     0, 0},
    {"show", AdminOp::kShow, "TARGET", "latest metrics, knobs and model of a target",
     "Shows one target: its collected metrics, the latest report of its client (throughput, "
     "latency, pools, caches, allocator), its knobs and what the model has learned.",
     1, 1},
    {"history", AdminOp::kHistory, "TARGET", "recommendations made for a target, newest first",
     "Lists recommendations for TARGET: id, age, knob, old -> new value, outcome and reason. "
     "Use --limit N to see more or fewer; --follow keeps printing new ones and outcome changes "
     "(one JSON object per line with --json) until Ctrl-C.",
     1, 1},
    {"explain", AdminOp::kExplain, "ID|TARGET",
     "why a recommendation was made, step by step; or why knobd holds a target still",
     "Explains recommendation ID: the scenario and numbers that triggered it, the prediction, "
     "every guard's verdict and what happened after it was delivered. Given a TARGET name "
     "instead, says what knobd is doing with it now: why it started no change on the last tick, "
     "each knob kept where it is and why, the change being verified, holds and penalties.",
     1, 1},
    {"pause", AdminOp::kPause, "TARGET|--all", "stop recommending for a target (keeps observing)",
     "Pauses TARGET (--all: every target): knobd keeps collecting and modelling it but sends no "
     "recommendation until `knobctl resume TARGET`. Lasts until resume or a daemon restart. "
     "Values knobd already set stay; `knobctl restore` puts them back.",
     1, 1},
    {"resume", AdminOp::kResume, "TARGET", "undo pause", "Resumes recommendations for TARGET.", 1,
     1},
    {"mode", AdminOp::kMode, "TARGET observe|recommend|apply", "override a target's mode",
     "Overrides the policy mode of TARGET until restart: observe (collect only), recommend "
     "(send advisory sets; the target decides) or apply (sets are applied and verified).",
     2, 2},
    {"reload", AdminOp::kReload, "", "re-read the policy file (like SIGHUP)",
     "Re-reads the policy file. A valid file takes effect at the next tick; an invalid one is "
     "rejected with every error and the old policy stays in force.",
     0, 0},
    {"restore", AdminOp::kRestore, "TARGET|--all", "put back the values knobd first saw, and pause",
     "Sends every knob knobd changed on TARGET (--all: every target) back to the value it had "
     "before knobd first changed it (kept in the state directory, so it survives restarts), one "
     "history record per knob, delivered as binding even in recommend mode, then pauses the "
     "target so knobd does not tune it again until `knobctl resume TARGET`. A knob someone else "
     "changed since knobd last did is the operator's and is left as it is.",
     1, 1},
    {"check-config", std::nullopt, "FILE", "validate a policy file without a daemon",
     "Loads FILE as knobd would and prints every problem as FILE:LINE:COL. Exit 0 when valid.", 1,
     1},
    {"analyze", std::nullopt, "usl|mrc FILE [--plot PNG] [--sample-rate R]",
     "offline USL fit or miss-ratio curve, no daemon needed",
     "Runs knobd's models on a file: `usl` fits the Universal Scalability Law to "
     "concurrency,throughput[,latency] rows and draws the fit against the data (an ASCII plot, "
     "and a PNG with --plot FILE, made by gnuplot); `mrc` streams a key trace (one key per line) "
     "of any size with bounded memory, showing progress on a terminal, and prints the LRU "
     "miss-ratio curve. --json prints the result as one JSON object.",
     1, -1},
    {"top", std::nullopt, "", "live view of every target, refreshed every tick",
     "A live view: each target's phase, throughput, p99, headroom, current -> recommended knob "
     "values and last decision, refreshed every tick (--interval SEC to change). On a terminal "
     "it redraws in place and exits on q or Ctrl-C; otherwise it prints a plain list per "
     "refresh (--count N stops after N).",
     0, 0},
};

}  // namespace

std::span<const CommandSpec> Commands() { return kCommands; }

const CommandSpec* FindCommand(std::string_view name) {
  for (const auto& c : kCommands)
    if (c.name == name) return &c;
  return nullptr;
}

std::string CommandsHelp() {
  size_t width = 0;
  for (const auto& c : kCommands) width = std::max(width, c.name.size() + 1 + c.args.size());
  std::string out;
  for (const auto& c : kCommands) {
    std::string left = std::string(c.name) + (c.args.empty() ? "" : " " + std::string(c.args));
    out += "  " + left + std::string(width - left.size() + 2, ' ') + std::string(c.summary) + "\n";
  }
  return out;
}

std::string CommandHelp(const CommandSpec& spec) {
  std::string out = "usage: knobctl [--socket PATH] [--json] " + std::string(spec.name);
  if (!spec.args.empty()) out += " " + std::string(spec.args);
  out += "\n\n" + std::string(spec.summary) + "\n\n" + std::string(spec.details) + "\n";
  return out;
}

}  // namespace knob
