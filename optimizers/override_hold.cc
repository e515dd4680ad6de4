// SPDX-License-Identifier: Apache-2.0
#include "optimizers/override_hold.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/prometheus.h"

namespace knob {

bool OverrideHold::Matches(double reported, double sent) {
  if (reported == sent) return true;
  // Relative slack for values that went through text (JSON) and back.
  if (std::fabs(reported - sent) <= 1e-9 * std::max(1.0, std::fabs(sent))) return true;
  return reported == std::floor(sent) || reported == std::ceil(sent);
}

void OverrideHold::Sent(const std::string& knob, double from, double value, MonoTime expires) {
  Knob& k = knobs_[knob];
  if (!k.settled) k.settled = from;
  k.in_flight.push_back({value, expires});
  originals_.try_emplace(knob, from);
}

std::vector<OverrideHold::Override> OverrideHold::Check(
    const std::map<std::string, double>& reported, MonoTime now, Duration hold) {
  std::vector<Override> out;
  for (const auto& [name, value] : reported) {
    Knob& k = knobs_[name];
    if (!k.settled) {
      k.settled = value;
      continue;
    }
    std::erase_if(k.in_flight, [&](const InFlight& f) { return f.expires <= now; });
    if (Matches(value, *k.settled)) continue;
    // The newest matching set wins; older ones were superseded by it.
    const double seen = value;  // a structured binding: clang 14 cannot capture it
    auto sent = std::find_if(k.in_flight.rbegin(), k.in_flight.rend(),
                             [&](const InFlight& f) { return Matches(seen, f.value); });
    if (sent != k.in_flight.rend()) {
      k.in_flight.erase(k.in_flight.begin(), sent.base());
      k.settled = value;
      continue;
    }
    Override o{name, *k.settled, value, now + hold};
    k.settled = value;
    k.in_flight.clear();
    if (hold > Duration::zero()) k.held_until = o.until;
    originals_.erase(name);
    out.push_back(std::move(o));
  }
  return out;
}

void OverrideHold::Settle(const std::map<std::string, double>& reported, MonoTime now) {
  for (const auto& [name, value] : reported) {
    Knob& k = knobs_[name];
    k.settled = value;
    const double seen = value;  // a structured binding: clang 14 cannot capture it
    std::erase_if(k.in_flight, [&](const InFlight& f) {
      return f.expires <= now || Matches(seen, f.value);  // expired, or seen applied
    });
  }
}

bool OverrideHold::Sending(const std::string& knob, double value, MonoTime now) const {
  auto it = knobs_.find(knob);
  if (it == knobs_.end()) return false;
  return std::any_of(it->second.in_flight.begin(), it->second.in_flight.end(),
                     [&](const InFlight& f) { return f.expires > now && Matches(value, f.value); });
}

bool OverrideHold::Held(const std::string& knob, MonoTime now) const {
  auto it = knobs_.find(knob);
  return it != knobs_.end() && it->second.held_until && now < *it->second.held_until;
}

void OverrideHold::RestoreHold(const std::string& knob, MonoTime until) {
  knobs_[knob].held_until = until;
}

std::map<std::string, MonoTime> OverrideHold::Holds(MonoTime now) const {
  std::map<std::string, MonoTime> out;
  for (const auto& [name, k] : knobs_)
    if (k.held_until && now < *k.held_until) out[name] = *k.held_until;
  return out;
}

std::optional<double> OverrideHold::Current(const std::string& knob) const {
  auto it = knobs_.find(knob);
  if (it == knobs_.end()) return std::nullopt;
  return it->second.settled;
}

std::string EncodeOverrideState(const std::map<std::string, const OverrideHold*>& targets,
                                MonoTime now) {
  nlohmann::json out = {{"version", 1}, {"targets", nlohmann::json::object()}};
  for (const auto& [name, h] : targets) {
    nlohmann::json t = {{"originals", nlohmann::json::object()},
                        {"holds", nlohmann::json::object()}};
    for (const auto& [knob, v] : h->originals())
      if (std::isfinite(v)) t["originals"][knob] = v;
    for (const auto& [knob, until] : h->Holds(now)) t["holds"][knob] = ToSeconds(until - now);
    if (!t["originals"].empty() || !t["holds"].empty()) out["targets"][name] = std::move(t);
  }
  return out.dump(1) + "\n";
}

Status DecodeOverrideState(const std::string& text, MonoTime now,
                           const std::function<OverrideHold&(const std::string&)>& target) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [](const std::string& why) { return InvalidArgumentError(why); };
  if (!j.is_object() || !j.contains("targets") || !j["targets"].is_object())
    return bad("not an object with \"targets\"");
  // Check everything before using any of it: a half-read file must not half-restore.
  for (const auto& [name, t] : j["targets"].items()) {
    if (!t.is_object()) return bad("target '" + name + "' is not an object");
    for (const char* part : {"originals", "holds"}) {
      if (!t.contains(part)) continue;
      if (!t[part].is_object()) return bad("target '" + name + "': " + part + " is not an object");
      for (const auto& [knob, v] : t[part].items())
        if (!v.is_number() || !std::isfinite(v.get<double>()))
          return bad("target '" + name + "': " + part + "." + knob + " is not a finite number");
    }
  }
  for (const auto& [name, t] : j["targets"].items()) {
    OverrideHold& h = target(name);
    if (t.contains("originals"))
      for (const auto& [knob, v] : t["originals"].items()) h.RestoreOriginal(knob, v.get<double>());
    if (t.contains("holds"))
      for (const auto& [knob, v] : t["holds"].items())
        h.RestoreHold(knob, now + std::chrono::duration_cast<Duration>(
                                      std::chrono::duration<double>(v.get<double>())));
  }
  return OkStatus();
}

struct OverrideMetrics::Families {
  explicit Families(prometheus::Registry& r)
      : remaining(r, "knobd_override_hold_remaining_seconds",
                  "Seconds until knobd may change a knob again that someone else changed "
                  "(present only while the hold lasts)"),
        overrides(r, "knobd_overrides_total",
                  "Knob values changed by someone other than knobd (operator, deploy, the "
                  "service itself), each starting a hold") {}
  GaugeVec remaining;
  CounterVec overrides;
};

OverrideMetrics::OverrideMetrics(prometheus::Registry* registry)
    : f_(registry ? std::make_unique<Families>(*registry) : nullptr) {}

OverrideMetrics::~OverrideMetrics() = default;

void OverrideMetrics::Count(const std::string& target, const std::string& knob) {
  if (f_) f_->overrides.Increment({{"target", target}, {"knob", knob}});
}

void OverrideMetrics::Export(const std::string& target, const OverrideHold& hold, MonoTime now) {
  if (!f_) return;
  f_->remaining.BeginTarget(target);
  for (const auto& [knob, until] : hold.Holds(now))
    f_->remaining.Set({{"target", target}, {"knob", knob}}, ToSeconds(until - now));
  f_->remaining.EndTarget(target);
}

}  // namespace knob
