#pragma once
// SocketCollector: the target's TCP sockets, from one host-wide netlink sock_diag dump joined to
// the target's processes through the socket inodes in /proc/PID/fd.
//
// Cadences (CollectionSettings): every tick, a LISTEN-only dump (cheap: one socket per listener)
// gives each listener's accept queue and backlog; every socket_dump_interval a full dump with
// tcp_info (IPv4 + IPv6, all states) refreshes state counts, queue bytes, RTT, retransmits and
// cwnd; every fd_rescan_interval each target process's /proc/PID/fd is re-read (readlink of each
// fd, "socket:[INODE]"), and at once for a new process or when a listener appears whose inode
// no known process owns. Ages: TargetSnapshot::refreshed["sockets"] and ["fds"].
// Sockets with inode 0 (TIME_WAIT, SYN_RECV request sockets) belong to no fd: they are counted
// for the target that listens on their local port, if any. Host listen overflows/drops come
// from /proc/net/netstat TcpExt every tick.
// A listener on both IPv4 and IPv6 appears twice in SocketStats::listeners; the per-port
// metrics sum them.
// Thread rule: collection thread only.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "collectors/collector.h"
#include "collectors/metrics.h"
#include "core/env.h"

namespace knob {

std::string_view TcpStateName(uint8_t state);  // "established" ... "listen", "unknown"

class SocketCollector final : public Collector {
 public:
  SocketCollector(Env& env, prometheus::Registry& registry);
  std::string_view Name() const override { return "socket"; }
  Status Collect(const CollectContext& ctx, Snapshot& out) override;

  uint64_t fd_scans() const { return fd_scans_; }

 private:
  struct FdState {
    std::vector<uint32_t> inodes;  // sorted
    MonoTime scanned{};
    MonoTime due{};  // next cadence rescan
    uint64_t seen_tick = 0;
  };
  std::unordered_set<uint32_t> known_;  // per-tick scratch, kept for its buckets
  std::unordered_map<uint32_t, const std::string*> owner_;
  Status ScanFds(const ProcessKey& key, FdState& fs, MonoTime now);
  void ReadNetstat(Snapshot& out);

  Env& env_;
  std::string buf_, link_;
  std::vector<std::string> names_;
  std::vector<TcpSocketInfo> sockets_;
  std::map<ProcessKey, FdState> fds_;
  std::map<std::string, SocketStats> last_full_;  // by target, listeners excluded
  std::optional<MonoTime> last_full_time_;
  std::set<uint32_t> unknown_listeners_;
  uint64_t tick_ = 0;
  uint64_t fd_scans_ = 0;
  SupportTracker support_;
  TargetSweeper sweeper_;
  GaugeVec by_state_, listen_queue_, listen_backlog_, queue_bytes_, rtt_, rttvar_, retrans_, cwnd_,
      age_;
  CounterVec host_overflows_, host_drops_;
};

}  // namespace knob
