// SPDX-License-Identifier: Apache-2.0
#include "optimizers/model_summary.h"

#include <fmt/format.h>

#include <string>

namespace knob {

ModelView FlattenModelSummary(const ModelSummary& m) {
  ModelView view;
  auto& model = view.model;
  auto& notes = view.notes;
  model["observations"] = static_cast<double>(m.observations);
  model["workload_shifts"] = static_cast<double>(m.workload_shifts);
  model["latency_factor"] = m.latency_factor;
  if (m.usl) {
    model["usl.alpha"] = m.usl->alpha;
    model["usl.beta"] = m.usl->beta;
    model["usl.gamma"] = m.usl->gamma;
    model["usl.r_squared"] = m.usl->r_squared;
    model["usl.confidence"] = m.usl->confidence;
    model["usl.levels"] = m.usl->levels;
    if (m.usl->peak) model["usl.peak_concurrency"] = *m.usl->peak;
  } else if (!m.usl_status.empty()) {
    notes.push_back("usl: " + m.usl_status);
  }
  for (const auto& p : m.pools) {
    model["pool." + p.name + ".offered_erlangs"] = p.offered_erlangs;
    model["pool." + p.name + ".arrival_rate"] = p.arrival_rate;
    model["pool." + p.name + ".service_seconds"] = p.service_seconds;
  }
  for (const auto& c : m.caches) {
    model["cache." + c.name + ".hit_ratio"] = c.hit_ratio_now;
    if (c.bytes_for_90pct) model["cache." + c.name + ".bytes_for_90pct"] = *c.bytes_for_90pct;
  }
  for (const auto& p : m.penalties)
    notes.push_back("penalty on " + p.knob + (p.direction > 0 ? " >= " : " <= ") +
                    fmt::format("{}", p.value) +
                    fmt::format(" for {:.0f} s more: ", p.remaining_seconds) + p.reason);
  if (m.active_recommendation)
    notes.push_back("change #" + std::to_string(*m.active_recommendation) + " is being verified");
  for (const auto& h : m.override_holds)
    notes.push_back(fmt::format(
        "override: {} was changed by someone other than knobd; knobd leaves it alone for {:.0f} s "
        "more, then re-learns from its new value",
        h.knob, h.remaining_seconds));
  if (!m.holding_still.empty()) notes.push_back("holding still: " + m.holding_still);
  for (const auto& k : m.kept)
    notes.push_back(fmt::format("kept {} at {}: {}", k.knob, k.value, k.reason));
  return view;
}

}  // namespace knob
