// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one table of operator commands. knobctl parses its command line from it and prints `help`
// generated from it; the daemon binds one handler to each entry with an `op`
// (daemon/control/admin_ops.h, checked at the control server's start), so a command cannot
// exist without its documentation or its handler (the bpftune `bpftune_reqs[]` idea). This
// file stays free of the daemon so knobctl links only it.
// Thread rule: immutable data, any thread.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/protocol/messages.h"

namespace knob {

struct CommandSpec {
  std::string_view name;                // "show"
  std::optional<protocol::AdminOp> op;  // unset: runs inside knobctl, no daemon needed
  std::string_view args;                // "TARGET"
  std::string_view summary;             // one line
  std::string_view details;             // a paragraph for `knobctl CMD --help`
  int min_args = 0;
  int max_args = 0;  // -1: any number
};

std::span<const CommandSpec> Commands();
const CommandSpec* FindCommand(std::string_view name);
// "  status                 daemon version, uptime, mode, targets" ... one line per command.
std::string CommandsHelp();
// Usage and details of one command.
std::string CommandHelp(const CommandSpec& spec);

}  // namespace knob
