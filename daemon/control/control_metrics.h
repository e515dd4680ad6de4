// SPDX-License-Identifier: Apache-2.0
#pragma once
// Prometheus families of the control socket (docs/metrics.md, "Control"): open connections,
// messages by type, error replies by code, refusals by reason.
// Thread rule: loop thread only (prometheus metric objects are safe to scrape concurrently).

#include <cstddef>
#include <memory>
#include <string_view>

#include "core/protocol/messages.h"

namespace prometheus {
class Registry;
}

namespace knob {

class ControlMetrics {
 public:
  // With no registry every call is a no-op: metrics never break the socket.
  explicit ControlMetrics(prometheus::Registry* registry);
  ~ControlMetrics();
  ControlMetrics(const ControlMetrics&) = delete;
  ControlMetrics& operator=(const ControlMetrics&) = delete;

  void SetClients(size_t n);
  void Message(std::string_view type);
  void Error(protocol::ErrorCode code);
  void Rejected(std::string_view reason);

 private:
  struct Families;
  std::unique_ptr<Families> families_;
};

}  // namespace knob
