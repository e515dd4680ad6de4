// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fakes for the non-file parts of Env: a SockDiag that returns a scripted socket list and a
// PerfEvents that either fails every open with a chosen status (no PMU, no permission) or
// counts up deterministically. (Metrics are read back with tests/support/metric_value.h.)
// Thread rule: test thread only.

#include <map>
#include <string>
#include <vector>

#include "core/perf_events.h"
#include "core/sock_diag.h"

namespace knob::test {

class FakeSockDiag final : public SockDiag {
 public:
  std::vector<TcpSocketInfo> sockets;
  Status status;
  int dumps = 0;
  Status DumpTcp(uint32_t state_mask, bool /*with_info*/,
                 std::vector<TcpSocketInfo>& out) override {
    ++dumps;
    if (!status.ok()) return status;
    for (const auto& s : sockets) {
      if (state_mask & (1u << s.state)) out.push_back(s);
    }
    return OkStatus();
  }
};

class FakePerfEvents final : public PerfEvents {
 public:
  Status open_status;    // non-OK: every Open fails with it
  uint64_t step = 1000;  // each Read adds this much
  std::map<int, uint64_t> counts;
  int opens = 0, closes = 0;
  Result<int> Open(pid_t, PerfCounter) override {
    if (!open_status.ok()) return open_status;
    ++opens;
    int h = next_++;
    counts[h] = 0;
    return h;
  }
  Result<uint64_t> Read(int handle) override {
    auto it = counts.find(handle);
    if (it == counts.end()) return NotFoundError("no such handle");
    it->second += step;
    return it->second;
  }
  void Close(int handle) override {
    ++closes;
    counts.erase(handle);
  }

 private:
  int next_ = 100;
};

}  // namespace knob::test
