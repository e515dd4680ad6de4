// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/control_metrics.h"

#include <string>

#include "core/prometheus.h"

namespace knob {

struct ControlMetrics::Families {
  prometheus::Gauge* clients;
  prometheus::Family<prometheus::Counter>* messages;
  prometheus::Family<prometheus::Counter>* errors;
  prometheus::Family<prometheus::Counter>* rejected;
};

namespace {

void Inc(prometheus::Family<prometheus::Counter>* f, const char* label, std::string_view value) {
  f->Add({{label, std::string(value)}}).Increment();
}

}  // namespace

ControlMetrics::ControlMetrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  families_ = std::make_unique<Families>(Families{
      &FamilyOrUnscraped<prometheus::Gauge>(
           *registry, {"knobd_control_clients",
                       "Connections open on the control socket (targets and knobctl)"})
           .Add({}),
      &FamilyOrUnscraped<prometheus::Counter>(
          *registry,
          {"knobd_control_messages_total", "Messages received on the control socket, by type"}),
      &FamilyOrUnscraped<prometheus::Counter>(
          *registry,
          {"knobd_control_errors_total", "Error replies sent on the control socket, by code"}),
      &FamilyOrUnscraped<prometheus::Counter>(
          *registry,
          {"knobd_control_rejected_total", "Connections or messages refused, by reason"}),
  });
}

ControlMetrics::~ControlMetrics() = default;

void ControlMetrics::SetClients(size_t n) {
  if (families_) families_->clients->Set(static_cast<double>(n));
}

void ControlMetrics::Message(std::string_view type) {
  if (families_) Inc(families_->messages, "type", type);
}

void ControlMetrics::Error(protocol::ErrorCode code) {
  if (families_) Inc(families_->errors, "code", protocol::ErrorCodeName(code));
}

void ControlMetrics::Rejected(std::string_view reason) {
  if (families_) Inc(families_->rejected, "reason", reason);
}

}  // namespace knob
