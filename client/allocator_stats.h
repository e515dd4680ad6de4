// SPDX-License-Identifier: Apache-2.0
#pragma once
// The process's own allocator statistics for reports: jemalloc through `mallctl` found at run
// time (dlsym, so the client does not link jemalloc), refreshed with an `epoch` write, reading
// stats.allocated/active/resident/mapped/retained; otherwise glibc mallinfo2().
// Thread rule: any thread.

#include <optional>

#include "core/snapshot.h"

namespace knob {

std::optional<AppReport::Allocator> ReadAllocatorStats();

}  // namespace knob
