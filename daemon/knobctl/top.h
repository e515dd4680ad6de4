// SPDX-License-Identifier: Apache-2.0
#pragma once
// `knobctl top`: a live view of every target (phase, throughput, p99, headroom, current ->
// recommended knob values, last decision), refreshed every tick. On a terminal it draws in the
// alternate screen with plain ANSI (works over ssh in any VT100-compatible terminal), reads
// keys without echo, and exits on q or Ctrl-C restoring the terminal; otherwise (a pipe, a
// file, --json) it prints one plain list (or one JSON object) per refresh, until SIGINT/SIGTERM
// or --count.
// Thread rule: the calling thread; it installs SIGINT/SIGTERM/SIGWINCH handlers while running.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "daemon/knobctl/render.h"

namespace knob::ctl {

struct TopOptions {
  std::string socket;
  double timeout_seconds = 10;
  std::optional<double> interval_seconds;  // unset: knobd's tick_interval
  uint64_t count = 0;                      // 0: until q / Ctrl-C
  bool json = false;
  bool tty = false;  // redraw in place and read keys from input_fd
  int input_fd = 0;
  Style style;
};

int RunTop(const TopOptions& o, std::ostream& out, std::ostream& err);

}  // namespace knob::ctl
