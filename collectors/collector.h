// SPDX-License-Identifier: Apache-2.0
#pragma once
// The collector interface: each collector fills its own part of each TargetSnapshot.
// The daemon's tick runs discovery first (which fills TargetSnapshot::processes and state),
// then every collector in collectors/all.cc order. Collectors register their own Prometheus
// families on the registry they are given at construction.
// Thread rule: Collect() is called from one thread at a time (the collection worker).

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/policy.h"
#include "core/clock.h"
#include "core/snapshot.h"
#include "core/status.h"

namespace prometheus {
class Registry;
}

namespace knob {

struct CollectContext {
  const Policy& policy;
  MonoTime now;
  // Pids of clients that said `hello`, by the name they registered (control socket).
  const std::map<std::string, pid_t>& registered_pids;
  // Every live process registered under a name, when several are (a target's instances:
  // docs/protocol.md); null or absent: the one pid above.
  const std::map<std::string, std::vector<pid_t>>* instance_pids = nullptr;
};

class Collector {
 public:
  virtual ~Collector() = default;
  // Config key, log prefix and the `collector` metric label: "cpu" "load" "allocator" ...
  virtual std::string_view Name() const = 0;
  // A target that exits mid-read is marked gone and skipped, not an error. A host that lacks
  // the feature (no PSI, no PMU) returns OK, disables that part once and says so loudly
  // (warn log + knobd_collector_supported gauge). A non-OK status counts one collector error.
  virtual Status Collect(const CollectContext& ctx, Snapshot& out) = 0;
};

}  // namespace knob
