// SPDX-License-Identifier: Apache-2.0
#pragma once
// Env: the only way collectors reach the host. Everything that touches /proc, /sys, netlink,
// perf or time goes through one of these references, so tests swap in fixtures and fakes
// (tests/support/) and the production daemon builds one RealEnv.
// Thread rule: an Env and what it refers to belong to the collection thread.

#include "core/clock.h"
#include "core/perf_events.h"
#include "core/procfs.h"
#include "core/sock_diag.h"

namespace knob {

struct Env {
  Clock& clock;
  ProcFs& procfs;
  SockDiag& sock_diag;
  PerfEvents& perf;
};

}  // namespace knob
