// SPDX-License-Identifier: Apache-2.0
#pragma once
// MissingFiles: remembers optional files that were absent (cpu.max of the root cgroup, a cgroup
// without the cpu controller's files) so a collector does not pay a failing open() for them
// every tick; it tries again after `retry`. Only NotFound is remembered: other errors are
// either reported (permission) or transient.
// Thread rule: owned by one collector, collection thread only.

#include <map>
#include <string>

#include "core/clock.h"
#include "core/status.h"

namespace knob {

class MissingFiles {
 public:
  bool ShouldTry(const std::string& path, MonoTime now) const {
    auto it = until_.find(path);
    return it == until_.end() || now >= it->second;
  }
  void Record(const std::string& path, const Status& s, MonoTime now, Duration retry) {
    if (s.code() == StatusCode::kNotFound) {
      until_[path] = now + retry;
    } else {
      until_.erase(path);
    }
  }

 private:
  std::map<std::string, MonoTime> until_;
};

}  // namespace knob
