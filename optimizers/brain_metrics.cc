// SPDX-License-Identifier: Apache-2.0
#include "optimizers/brain_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cmath>
#include <vector>

#include "core/prometheus.h"

namespace knob {

namespace {

// One family per unit (a Prometheus name carries one unit); `quantity` says which number.
constexpr const char* kUnits[] = {"requests_per_second", "seconds", "cores", "bytes", "ratio"};

// throughput is requests/s; a quantity named *_seconds, *_bytes or *_cores is in that unit;
// everything else the optimizers predict or realize is a dimensionless fraction or ratio.
size_t UnitOf(const std::string& quantity) {
  auto ends = [&](const char* suffix) {
    std::string s(suffix);
    return quantity.size() >= s.size() &&
           quantity.compare(quantity.size() - s.size(), s.size(), s) == 0;
  };
  if (quantity == "throughput") return 0;
  if (ends("_seconds")) return 1;
  if (ends("_cores")) return 2;
  if (ends("_bytes")) return 3;
  return 4;
}

using UnitFamilies = std::vector<prometheus::Family<prometheus::Gauge>*>;

UnitFamilies ByUnit(prometheus::Registry& r, const std::string& prefix, const std::string& what) {
  UnitFamilies out;
  for (const char* unit : kUnits)
    out.push_back(&FamilyOrUnscraped<prometheus::Gauge>(
        r, {prefix + unit, std::string("Quantity in ") + unit + ", " + what}));
  return out;
}

}  // namespace

struct BrainMetrics::Families {
  explicit Families(prometheus::Registry& r)
      : recommendations(FamilyOrUnscraped<prometheus::Counter>(
            r, {"knobd_recommendations_total",
                "Recommendations by target, knob and outcome transition"})),
        recommended(FamilyOrUnscraped<prometheus::Gauge>(
            r, {"knobd_recommended_value", "Last value recommended for a knob"})),
        predicted(ByUnit(r, "knobd_predicted_",
                         "predicted after the last change of a knob (quantity label)")),
        realized(ByUnit(r, "knobd_realized_",
                        "measured in the verification window of the last change (quantity "
                        "label)")),
        usl_peak(FamilyOrUnscraped<prometheus::Gauge>(
            r, {"knobd_model_usl_peak_concurrency",
                "Concurrency N* at which the fitted USL throughput peaks"})),
        r_squared(FamilyOrUnscraped<prometheus::Gauge>(
            r, {"knobd_model_fit_r_squared", "Coefficient of determination of a model fit"})),
        confidence(FamilyOrUnscraped<prometheus::Gauge>(
            r, {"knobd_model_confidence", "Confidence of a model fit, 0..1"})),
        shifts(FamilyOrUnscraped<prometheus::Counter>(
            r, {"knobd_model_workload_shifts_total",
                "Workload shifts detected (the model forgot older points)"})),
        observations(FamilyOrUnscraped<prometheus::Gauge>(
            r, {"knobd_model_observations",
                "Observations the target's model holds (restored ones included)"})),
        penalties(FamilyOrUnscraped<prometheus::Gauge>(
            r, {"knobd_model_penalized_regions",
                "Active penalized regions of a knob (values a rollback forbids)"})) {}
  prometheus::Family<prometheus::Counter>& recommendations;
  prometheus::Family<prometheus::Gauge>& recommended;
  UnitFamilies predicted;
  UnitFamilies realized;
  prometheus::Family<prometheus::Gauge>& usl_peak;
  prometheus::Family<prometheus::Gauge>& r_squared;
  prometheus::Family<prometheus::Gauge>& confidence;
  prometheus::Family<prometheus::Counter>& shifts;
  prometheus::Family<prometheus::Gauge>& observations;
  prometheus::Family<prometheus::Gauge>& penalties;
};

BrainMetrics::BrainMetrics(prometheus::Registry* registry) {
  // A family that cannot be registered is logged and counted by FamilyOrUnscraped
  // (core/prometheus.h), never dropped silently.
  if (registry) f_ = std::make_unique<Families>(*registry);
}

BrainMetrics::~BrainMetrics() = default;

void BrainMetrics::CountOutcome(const std::string& target, const std::string& knob,
                                Outcome outcome) {
  if (!f_) return;
  f_->recommendations
      .Add({{"target", target}, {"knob", knob}, {"outcome", std::string(OutcomeName(outcome))}})
      .Increment();
}

void BrainMetrics::SetRecommended(const std::string& target, const std::string& knob,
                                  double value) {
  if (f_) f_->recommended.Add({{"target", target}, {"knob", knob}}).Set(value);
}

void BrainMetrics::SetPredicted(const std::string& target, const std::string& knob,
                                const std::map<std::string, double>& predicted) {
  if (!f_) return;
  for (const auto& [q, v] : predicted)
    if (std::isfinite(v))
      f_->predicted[UnitOf(q)]->Add({{"target", target}, {"knob", knob}, {"quantity", q}}).Set(v);
}

void BrainMetrics::SetRealized(const std::string& target, const std::string& knob,
                               const std::map<std::string, double>& realized) {
  if (!f_) return;
  for (const auto& [q, v] : realized)
    if (std::isfinite(v))
      f_->realized[UnitOf(q)]->Add({{"target", target}, {"knob", knob}, {"quantity", q}}).Set(v);
}

void BrainMetrics::ExportModel(const std::string& target, const TargetModel& m, MonoTime now) {
  if (!f_) return;
  if (const auto& fit = m.usl()) {
    f_->r_squared.Add({{"target", target}, {"model", "usl"}}).Set(fit->r_squared);
    f_->confidence.Add({{"target", target}, {"model", "usl"}}).Set(fit->Confidence());
    if (auto peak = fit->Peak()) f_->usl_peak.Add({{"target", target}}).Set(*peak);
  }
  f_->observations.Add({{"target", target}}).Set(static_cast<double>(m.observations().size()));
  // Every knob that ever had a penalty keeps its series (0 once they expired).
  for (const auto& [knob, list] : m.penalties()) {
    double active = 0;
    for (const auto& p : list) active += p.until > now ? 1 : 0;
    f_->penalties.Add({{"target", target}, {"knob", knob}}).Set(active);
  }
  uint64_t& seen = shifts_seen_[target];
  if (m.shifts() > seen) {
    f_->shifts.Add({{"target", target}}).Increment(static_cast<double>(m.shifts() - seen));
    seen = m.shifts();
  }
}

}  // namespace knob
