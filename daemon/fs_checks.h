// SPDX-License-Identifier: Apache-2.0
#pragma once
// Startup checks that turn "knobd will fail later" into "knobd refuses to start, exit 2, and
// says why": an unwritable state directory, a control socket path that cannot be created.
// Thread rule: pure filesystem calls, any thread (used before the loop runs).

#include <string>
#include <string_view>

#include "core/status.h"

namespace knob {

// Creates `dir` and missing parents (mode 0750) and proves it writable by creating and removing
// a probe file (access(2) lies under read-only mounts and for root).
Status EnsureWritableDir(const std::string& dir, std::string_view what);

// A Unix socket can be bound at `path`: it fits in sun_path, its parent exists or can be created
// and is writable, and `path` is not an existing non-socket file.
Status CheckSocketPathCreatable(const std::string& path);

}  // namespace knob
