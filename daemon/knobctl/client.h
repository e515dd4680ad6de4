// SPDX-License-Identifier: Apache-2.0
#pragma once
// One admin request to knobd over the control socket, as knobctl's commands make it: connect,
// send one line, wait for one line (with a timeout), decode. Failures are written to `err` in
// words that say what to do, with knobctl's exit code.
// Thread rule: any thread; blocking I/O bounded by the timeout.

#include <iosfwd>
#include <optional>
#include <string>

#include "core/protocol/messages.h"

namespace knob::ctl {

struct Reply {
  int exit_code = 0;  // kKnobctlOk, kKnobctlDaemonError (an `error` reply), kKnobctlCannotConnect
  std::string line;   // the reply as received (for --json)
  std::optional<protocol::AdminReply> reply;  // set when exit_code is 0
};

Reply Ask(const std::string& socket, double timeout_seconds, const protocol::AdminRequest& req,
          std::ostream& err);

}  // namespace knob::ctl
