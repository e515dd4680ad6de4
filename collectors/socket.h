// SPDX-License-Identifier: Apache-2.0
#pragma once
// SocketCollector: the target's TCP, UDP and Unix sockets, from host-wide netlink sock_diag
// dumps joined to the target's processes through the socket inodes in /proc/PID/fd.
//
// Cadences (CollectionSettings):
//  - every tick, a LISTEN-only TCP dump (cheap: one socket per listener) gives each listener's
//    accept queue and backlog;
//  - a full "pass" starts every socket_dump_interval: TCP with tcp_info (IPv4, IPv6, all
//    states), then UDP (IPv4, IPv6), then Unix sockets. It is read as resumable netlink dumps in
//    slices of at most socket_dump_sockets_per_tick sockets per tick, paced so the pass spreads
//    over the interval, so no tick pays for all of it (the kernel's part included: it builds
//    the next part of a dump only when we read). Counts by state, queue bytes, RTT,
//    retransmits, cwnd, UDP and Unix counts are summed over one complete pass and published
//    when it completes; until then the previous pass stays. The pass's start time is the
//    sample's time: TargetSnapshot::refreshed["sockets"], knobd_collector_sample_age_seconds
//    {part="sockets"}. A pass that fails midway (NLMSG_ERROR, ENOBUFS, EINTR on the socket)
//    is dropped and started again on the next tick, counted in
//    knobd_collector_socket_dump_restarts_total. UDP or Unix diag missing in the kernel: that
//    part is skipped from then on, knobd_collector_supported{source="udp_diag"|"unix_diag"} 0,
//    one log line.
//  - every fd_rescan_interval each target process's /proc/PID/fd is listed, staggered by pid,
//    and at once for a new process or when a listener appears whose inode no known process
//    owns. A listing readlink()s ("socket:[INODE]") only fds not known to be sockets: new fd
//    numbers and non-socket fds (a file's number may now hold a socket). An fd that held a
//    socket keeps it unless a completed pass no longer saw that inode (closed, so the number
//    may have been reused): then the process lists its fds on the next tick and re-reads those
//    numbers; each listing also re-reads a rotating tenth of the socket fds as a backstop (a
//    socket shared with another process keeps its inode alive). A new process's first scan
//    reads every fd. At most ~2000 readlinks per tick over all processes (at least one
//    process per tick); the rest wait, and the first pass waits for every first scan.
//    The inode -> target map is kept and changed only by what a listing (or a process exit)
//    changed. Age: refreshed["fds"].
//  - /proc/net/sockstat{,6} is read at the start of each pass: an empty family (no IPv6 TCP,
//    no UDP) skips its dump, whose hash walk would otherwise visit every TCP socket again.
// Sockets with inode 0 (TIME_WAIT, SYN_RECV request sockets) belong to no fd: they are counted
// for the target that listens on their local port, if any. An inode held by processes of two
// targets counts for the first that claimed it. Host listen overflows/drops come from
// /proc/net/netstat TcpExt every tick.
// A listener on both IPv4 and IPv6 appears twice in SocketStats::listeners; the per-port
// metrics sum them.
// Thread rule: collection thread only.

#include <array>
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

  uint64_t fd_scans() const { return fd_scans_; }          // /proc/PID/fd listings
  uint64_t fd_readlinks() const { return fd_readlinks_; }  // readlink() calls of those
  // Cadence rescans skipped because the process's fd count had not changed.
  uint64_t fd_count_checks() const { return fd_count_checks_; }
  uint64_t passes_completed() const { return passes_; }
  uint64_t pass_restarts() const { return restarts_; }
  bool pass_in_progress() const { return pass_active_; }
  // Sockets read from the full pass in the last Collect (0 when no pass ran).
  size_t last_tick_sockets() const { return tick_sockets_; }

 private:
  static constexpr uint32_t kNoTarget = UINT32_MAX;
  struct FdState {
    std::vector<std::pair<uint32_t, uint32_t>> fds;  // (fd, socket inode or 0), sorted by fd
    std::vector<uint32_t> inodes;                    // sorted, unique; each holds one ref in owner_
    MonoTime scanned{};
    MonoTime due{};             // next cadence listing
    uint32_t listings = 0;      // picks the backstop slice of socket fds re-read each listing
    uint32_t count_checks = 0;  // cadence checks answered by an unchanged fd count since a listing
    bool suspect = false;       // list again next tick (a socket closed, a listener appeared)
    bool scanned_once = false;  // the first scan reads every fd
    uint64_t seen_tick = 0;
  };
  struct Owner {
    uint32_t target;
    uint32_t refs;           // processes holding the inode
    uint64_t seen_pass = 0;  // last pass (passes_ + 1 while it runs) that saw the socket
  };
  // One pass's sums for one target.
  struct Acc {
    std::array<uint32_t, 13> by_state{};
    uint64_t send = 0, recv = 0, retrans = 0;
    double rtt = 0, rttvar = 0, cwnd = 0;
    uint32_t with_info = 0;
    uint32_t udp = 0;
    std::array<uint32_t, 4> unix_by_type{};  // stream, dgram, seqpacket, other
  };

  uint32_t Intern(const std::string& name);
  void Claim(const std::vector<uint32_t>& inodes, uint32_t target);
  void Release(const std::vector<uint32_t>& inodes);
  // Lists /proc/PID/fd. `full`: readlink every fd; else only fds not known to be sockets
  // (new numbers, files that may have been replaced by a socket under the same number).
  Status ScanFds(const ProcessKey& key, FdState& fs, MonoTime now, bool full);
  // True when the kernel reports as many open fds as the last listing found.
  bool FdCountUnchanged(const ProcessKey& key, const FdState& fs);
  // Which of this pass's parts /proc/net/sockstat{,6} says have no sockets at all.
  void SkipEmptyParts();
  void ReadNetstat(Snapshot& out);
  // Advances the full pass by up to this tick's budget; publishes when it completes.
  void StepPass(const CollectContext& ctx);
  bool StartPart(size_t part);  // false: no part left (pass complete)
  void Aggregate();
  void Publish();
  void Abort(const Status& s);  // drops the pass; a fresh one starts next tick

  Env& env_;
  std::string buf_, link_, dir_;
  std::vector<std::string> names_;
  std::vector<TcpSocketInfo> listen_, batch_;
  // By (target index, process): a process in two targets' selectors is scanned for each.
  std::map<std::pair<uint32_t, ProcessKey>, FdState> fds_;
  std::unordered_map<uint32_t, Owner> owner_;  // inode -> target index
  std::unordered_map<std::string, uint32_t> target_index_;
  std::vector<std::string> target_names_;
  std::unordered_map<uint16_t, uint32_t> listen_port_owner_;  // this tick's listeners
  std::map<std::string, SocketStats> last_full_;              // by target, listeners excluded
  std::optional<MonoTime> last_full_time_;
  std::set<uint32_t> unknown_listeners_;
  std::unordered_set<uint32_t> vanished_;  // scratch of Publish()

  // The pass in progress.
  bool pass_active_ = false;
  bool restart_now_ = false;  // the last pass failed: start the next one without waiting
  MonoTime pass_start_{};
  size_t part_ = 0;
  size_t pass_sockets_ = 0, last_pass_sockets_ = 0;
  size_t quota_ = 0;  // sockets per tick for this pass
  size_t tick_sockets_ = 0;
  size_t pending_first_scans_ = 0;   // processes whose first fd scan the budget deferred
  std::vector<Acc> acc_;             // by target index
  std::array<bool, 5> part_off_{};   // a part whose diag family the kernel lacks
  std::array<bool, 5> part_skip_{};  // this pass: no such sockets on the host (sockstat)
  std::vector<std::pair<uint32_t, uint32_t>> old_fds_;

  uint64_t tick_ = 0;
  uint64_t fd_readlinks_ = 0;
  uint64_t fd_count_checks_ = 0;
  uint64_t fd_scans_ = 0, passes_ = 0, restarts_ = 0;
  SupportTracker support_;
  TargetSweeper sweeper_;
  TargetMetricTable target_series_;  // lists the per-target series below; before them
  GaugeVec by_state_, listen_queue_, listen_backlog_, queue_bytes_, rtt_, rttvar_, retrans_, cwnd_,
      udp_, unix_, age_;
  CounterVec host_overflows_, host_drops_, restarts_total_;
};

}  // namespace knob
