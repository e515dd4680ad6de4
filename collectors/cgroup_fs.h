// SPDX-License-Identifier: Apache-2.0
#pragma once
// Where the cgroup v2 hierarchy lives under the sys root: "fs/cgroup" on a pure v2 host,
// "fs/cgroup/unified" on a hybrid host (v1 controllers plus a v2 tree, like the CI VM), unset on
// a pure v1 host. A target's v2 files are then <root>/<path from "0::" of /proc/PID/cgroup>/...
// Thread rule: pure function over the given ProcFs.

#include <optional>
#include <string>

#include "core/procfs.h"

namespace knob {

inline std::optional<std::string> FindCgroupV2Root(ProcFs& fs) {
  std::string buf;
  if (fs.Read(FsRoot::kSys, "fs/cgroup/cgroup.controllers", buf).ok()) return "fs/cgroup";
  if (fs.Read(FsRoot::kSys, "fs/cgroup/unified/cgroup.controllers", buf).ok()) {
    return "fs/cgroup/unified";
  }
  return std::nullopt;
}

// "<root><cgroup>/<file>" with exactly one '/' between parts.
inline std::string CgroupFile(const std::string& root, const std::string& cgroup,
                              const char* file) {
  std::string p = root;
  if (!cgroup.empty() && cgroup != "/") {
    if (cgroup.front() != '/') p.push_back('/');
    p += cgroup;
  }
  p.push_back('/');
  p += file;
  return p;
}

}  // namespace knob
