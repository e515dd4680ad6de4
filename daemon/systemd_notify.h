// SPDX-License-Identifier: Apache-2.0
#pragma once
// The sd_notify(3) protocol, as knobd speaks it to systemd (Type=notify): READY after the
// metrics endpoint and control socket listen, RELOADING/READY around a reload (with
// MONOTONIC_USEC, which systemd 253+ requires for Type=notify-reload and older versions ignore),
// STOPPING at shutdown, WATCHDOG pings, and a one-line STATUS. Without NOTIFY_SOCKET every call
// is a no-op, so knobd behaves the same in a terminal.
// Thread rule: loop thread only.

#include <chrono>
#include <optional>
#include <string>

namespace knob {

class SystemdNotifier {
 public:
  void Ready(const std::string& status);
  void Reloading();
  void Stopping();
  void Watchdog();
  // Sent only when it differs from the last one, so per-tick calls cost nothing.
  void Status(const std::string& status);
  // The interval systemd expects pings at (WatchdogSec=), if the watchdog is on for us.
  static std::optional<std::chrono::microseconds> WatchdogInterval();

 private:
  void Send(const std::string& state);
  std::string last_status_;
};

}  // namespace knob
