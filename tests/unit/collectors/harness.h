// SPDX-License-Identifier: Apache-2.0
#pragma once
// A fixture host for collector unit tests: a scratch copy of tests/data/proc/edge (proc + sys
// roots) behind a FaultyProcFs, fake sock_diag/perf, a fake clock, a registry and a policy.

#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "config/policy.h"
#include "core/env.h"
#include "core/procfs.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_host.h"
#include "tests/support/faulty_procfs.h"
#include "tests/support/fixture.h"
#include "tests/support/metric_value.h"

namespace knob::test {

struct Harness {
  explicit Harness(const std::string& fixture = "edge")
      : tree(fixture),
        real(tree.Path("proc"), tree.Path("sys")),
        faulty(real),
        env{clock, faulty, sock_diag, perf} {
    policy.source = "<test>";
    policy.global.collection.proc_root = tree.Path("proc");
    policy.global.collection.sys_root = tree.Path("sys");
  }

  TargetPolicy& AddTarget(const std::string& name, Selector sel) {
    TargetPolicy t;
    t.name = name;
    t.selector = std::move(sel);
    policy.targets.push_back(t);
    return policy.targets.back();
  }

  // Runs the given collectors once, in order, into a fresh snapshot, then advances the clock
  // by one tick.
  Snapshot Tick(const std::vector<Collector*>& collectors) {
    Snapshot s;
    s.time = clock.Now();
    for (auto& [name, app] : apps) s.targets[name].app = app;
    CollectContext ctx{policy, clock.Now(), registered, &instances};
    for (Collector* c : collectors) {
      last_status = c->Collect(ctx, s);
    }
    clock.Advance(policy.global.tick_interval);
    return s;
  }

  std::optional<double> Metric(const std::string& name,
                               const std::map<std::string, std::string>& labels) {
    return MetricValue(registry, name, labels);
  }

  ScratchTree tree;
  RealProcFs real;
  FaultyProcFs faulty;
  FakeSockDiag sock_diag;
  FakePerfEvents perf;
  FakeClock clock;
  Env env;
  prometheus::Registry registry;
  Policy policy;
  std::map<std::string, pid_t> registered;
  std::map<std::string, std::vector<pid_t>> instances;  // names several processes registered
  std::map<std::string, AppReport> apps;
  Status last_status;
};

}  // namespace knob::test
