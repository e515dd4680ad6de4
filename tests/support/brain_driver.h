// SPDX-License-Identifier: Apache-2.0
#pragma once
// BrainDriver: runs a Brain the way the daemon's tick does, for the tests that put a simulated
// service under knobd. A tick advances the FakeClock, stamps the service's Snapshot with the new
// time, calls Observe then Decide, appends every recommendation to `published` and delivers it as
// the test chose (Delivery). The service model stays in the test: it builds the snapshot and
// overrides Apply to take a delivered value.
// Only the brain's public API is used (the Decider interface, OnOutcome and the queries), so the
// tests keep working while the brain's insides move.
// Thread rule: test thread only.

#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/policy.h"
#include "core/clock.h"
#include "core/recommendation.h"
#include "core/snapshot.h"
#include "optimizers/brain.h"
#include "tests/support/fake_clock.h"

namespace knob::test {

enum class Delivery {
  kNone,       // published only: the test acknowledges, vetoes or ignores each one itself
  kApplyAck,   // a non-advisory one is applied (Apply) and acknowledged kApplied at once
  kApplyOnly,  // every one, advisory too, is applied without an acknowledgement (by hand)
};

class BrainDriver {
 public:
  // metrics: the brain registers its metrics on `registry` (else it gets no registry).
  explicit BrainDriver(Policy p, Delivery delivery = Delivery::kApplyAck, bool metrics = false,
                       BrainOptions brain_options = {})
      : policy(std::move(p)),
        delivery_(delivery),
        metrics_(metrics),
        brain_options_(brain_options) {
    brain = MakeBrain();
  }
  virtual ~BrainDriver() = default;
  BrainDriver(const BrainDriver&) = delete;
  BrainDriver& operator=(const BrainDriver&) = delete;

  // One tick of length dt ending now, with the default delivery. Returns this tick's
  // recommendations as Decide returned them.
  std::vector<Recommendation> Step(Duration dt, Snapshot snapshot) {
    return Step(dt, std::move(snapshot), delivery_);
  }
  std::vector<Recommendation> Step(Duration dt, Snapshot snapshot, Delivery delivery) {
    clock.Advance(dt);
    snapshot.time = clock.Now();
    snapshot.wall_time = clock.WallNow();
    brain->Observe(policy, snapshot);
    std::vector<Recommendation> recs = brain->Decide(policy, snapshot);
    for (const Recommendation& r : recs) {
      published.push_back(r);
      if (delivery == Delivery::kApplyOnly || (delivery == Delivery::kApplyAck && !r.advisory)) {
        Apply(r);
      }
      if (delivery == Delivery::kApplyAck && !r.advisory) {
        brain->OnOutcome(r.id, Outcome::kApplied, "");
      }
    }
    return recs;
  }
  // A snapshot holding only `target` (keyed by its name) and an empty host.
  std::vector<Recommendation> Step(Duration dt, TargetSnapshot target) {
    return Step(dt, Only(std::move(target)), delivery_);
  }
  std::vector<Recommendation> Step(Duration dt, TargetSnapshot target, Delivery delivery) {
    return Step(dt, Only(std::move(target)), delivery);
  }

  // A daemon restart: a fresh brain on the same clock (and registry), nothing loaded yet.
  void Restart() { brain = MakeBrain(); }

  FakeClock clock;
  prometheus::Registry registry;
  Policy policy;
  std::unique_ptr<Brain> brain;
  std::vector<Recommendation> published;  // every recommendation, in order

 protected:
  // The simulated service takes a delivered recommendation's new value.
  virtual void Apply(const Recommendation& /*r*/) {}

 private:
  static Snapshot Only(TargetSnapshot target) {
    Snapshot s;
    std::string name = target.name;
    s.targets[name] = std::move(target);
    return s;
  }
  std::unique_ptr<Brain> MakeBrain() {
    return std::make_unique<Brain>(clock, metrics_ ? &registry : nullptr, brain_options_);
  }

  Delivery delivery_;
  bool metrics_;
  BrainOptions brain_options_;
};

}  // namespace knob::test
