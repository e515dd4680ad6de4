// SPDX-License-Identifier: Apache-2.0
#pragma once
// SockDiag: the host's TCP sockets from netlink sock_diag (inet_diag), IPv4 and IPv6, one dump
// per DumpTcp call, and resumable dumps of TCP, UDP and Unix sockets (below). Replaces parsing
// /proc/net/tcp{,6}: one syscall stream for the whole host, and tcp_info (RTT, retransmits,
// cwnd) comes with each socket when asked for.
//
// Kernel behaviour handled here: replies arrive as multi-part messages ending in NLMSG_DONE;
// TIME_WAIT (and other timewait/request) sockets carry inode 0 and belong to no process;
// tcp_info may be shorter than the struct compiled in (older kernel) or longer (newer): only the
// bytes present are read. For a LISTEN socket, rqueue is the current accept-queue length and
// wqueue the backlog (see inet_diag_get_info / tcp_diag_get_info in net/ipv4/tcp_diag.c).
//
// The same class also answers netlink taskstats (genetlink family "TASKSTATS") per-process
// queries: one TASKSTATS_CMD_ATTR_TGID request returns, summed in the kernel over the process's
// live threads, the run-queue delay and timeslices (sched_info, the same numbers as
// /proc/PID/task/TID/schedstat) and voluntary/involuntary context switches. That replaces one
// text file per thread with one small binary message per process. It needs CAP_NET_ADMIN
// (GENL_ADMIN_PERM) and CONFIG_TASKSTATS; otherwise it returns PermissionDenied / Unavailable and
// the cpu collector reads threads in rotation instead. Exited threads' values are only kept by
// the kernel while an exit listener is registered (none is), so the sums can drop when a thread
// exits; the caller turns them into increments.
//
// Resumable dumps (StartDump/ReadDump): a dump of TCP, UDP (inet_diag) or Unix (unix_diag)
// sockets read in slices across calls, on a netlink socket of its own so that DumpTcp can run
// between the slices. The kernel builds the next ~32 KiB part of a netlink dump only when the
// previous part was read (netlink_recvmsg -> netlink_dump), so stopping the reads also stops the
// kernel's work: the dump's cost (tcp_info included) is spread over the calls, not just our
// parsing. A dump walks the hash tables from a saved position (bucket, index), so sockets
// created or closed while it is spread out may be missed or seen twice, as with `ss`.
//
// Thread rule: one instance per collection thread; not thread-safe (reuses its buffer and socket).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "core/status.h"

namespace knob {

struct TcpSocketInfo {
  uint8_t family = 0;  // AF_INET or AF_INET6
  uint8_t state = 0;   // TCP_ESTABLISHED (1) ... TCP_LISTEN (10), as in <netinet/tcp.h>
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  uint32_t inode = 0;  // 0 for TIME_WAIT / SYN_RECV request sockets
  uid_t uid = 0;
  uint8_t protocol = 6;   // IPPROTO_TCP (6) or IPPROTO_UDP (17); 0 for AF_UNIX
  uint8_t unix_type = 0;  // AF_UNIX only: SOCK_STREAM (1), SOCK_DGRAM (2), SOCK_SEQPACKET (5)
  uint32_t rqueue = 0;    // LISTEN: accept-queue length; else bytes not yet read by the app
  uint32_t wqueue = 0;    // LISTEN: backlog; else bytes not yet acked
  // From tcp_info, present only when asked for and the kernel supplied enough bytes.
  std::optional<uint32_t> rtt_us, rttvar_us, snd_cwnd, total_retrans;
};

// Bit i set = include TCP state i. kAllTcpStates = every state.
inline constexpr uint32_t kAllTcpStates = 0xfff;
inline constexpr uint32_t kListenOnly = 1u << 10;

// What a resumable dump reads. family AF_INET / AF_INET6 with protocol IPPROTO_TCP or
// IPPROTO_UDP (inet_diag), or AF_UNIX (unix_diag; protocol ignored).
struct DiagDump {
  uint8_t family = 2;    // AF_INET
  uint8_t protocol = 6;  // IPPROTO_TCP
  uint32_t states = kAllTcpStates;
  bool with_info = false;  // TCP only: tcp_info (RTT, cwnd, retransmits)
  bool operator==(const DiagDump&) const = default;
};

// Per-process sums over live threads from taskstats (struct taskstats in <linux/taskstats.h>).
struct TaskStatsTotals {
  uint64_t cpu_delay_ns = 0;  // sched_info.run_delay summed over live threads
  uint64_t cpu_count = 0;     // sched_info.pcount: timeslices
  uint64_t nvcsw = 0, nivcsw = 0;
  // cpu_run_real_total (utime+stime, ns) and cpu_run_virtual_total (sum_exec_runtime, ns) of
  // live threads: they grow whenever any thread runs, so an unchanged reply means no thread ran.
  uint64_t cpu_run_real_ns = 0, cpu_run_virtual_ns = 0;
};

class SockDiag {
 public:
  virtual ~SockDiag() = default;
  // Appends to `out` (not cleared) every TCP socket of both families whose state bit is set in
  // `state_mask`. `with_info` asks for tcp_info. Unavailable when netlink sock_diag is missing.
  virtual Status DumpTcp(uint32_t state_mask, bool with_info, std::vector<TcpSocketInfo>& out) = 0;

  // taskstats for thread group `tgid`. NotFound when the process is gone; PermissionDenied
  // without CAP_NET_ADMIN; Unavailable when the kernel has no taskstats (and by default, for
  // fakes that do not model it).
  virtual Status TaskStatsTgid(pid_t /*tgid*/, TaskStatsTotals& /*out*/) {
    return UnavailableError("taskstats not provided");
  }

  // Starts a resumable dump of `what`, dropping an unfinished one. Errors of the request itself
  // (an unknown diag family, ENOENT / EOPNOTSUPP from the kernel) may also surface from the
  // first ReadDump.
  virtual Status StartDump(const DiagDump& what);
  // Appends sockets of the current dump to `out` (not cleared) until at least `max_sockets`
  // were appended (it may overshoot by one netlink datagram) or the dump ended; returns true
  // when it ended. An error (NLMSG_ERROR, ENOBUFS, a closed socket) ends the dump: StartDump
  // again. FailedPrecondition without a dump in progress.
  // Default (fakes that only script DumpTcp): the AF_INET TCP dump returns the whole DumpTcp
  // answer (both families) at once, the AF_INET6 one nothing, other kinds Unavailable.
  virtual Result<bool> ReadDump(size_t max_sockets, std::vector<TcpSocketInfo>& out);
  virtual void CancelDump() { default_dump_.reset(); }

 private:
  std::optional<DiagDump> default_dump_;
};

class RealSockDiag final : public SockDiag {
 public:
  RealSockDiag() = default;
  ~RealSockDiag() override;
  RealSockDiag(const RealSockDiag&) = delete;
  RealSockDiag& operator=(const RealSockDiag&) = delete;
  Status DumpTcp(uint32_t state_mask, bool with_info, std::vector<TcpSocketInfo>& out) override;
  Status TaskStatsTgid(pid_t tgid, TaskStatsTotals& out) override;
  Status StartDump(const DiagDump& what) override;
  Result<bool> ReadDump(size_t max_sockets, std::vector<TcpSocketInfo>& out) override;
  void CancelDump() override;

 private:
  Status OpenGenl();
  Status DumpFamily(uint8_t family, uint32_t state_mask, bool with_info,
                    std::vector<TcpSocketInfo>& out);
  int fd_ = -1;
  uint32_t seq_ = 0;
  std::vector<char> buf_;
  int genl_fd_ = -1;
  uint16_t taskstats_family_ = 0;
  Status genl_status_;  // sticky failure of family resolution
  bool genl_tried_ = false;
  int dump_fd_ = -1;  // the resumable dump's socket; closed when a dump ends early
  bool dump_running_ = false;
  DiagDump dump_;
  std::vector<char> dump_buf_;
};

// Parses one TASKSTATS_CMD_GET reply datagram into `out`. Exposed for tests.
Status ParseTaskStatsReply(const char* data, size_t len, TaskStatsTotals& out);

// Parses one netlink datagram (possibly several nlmsghdr) of an inet_diag dump into `out`.
// Returns true when NLMSG_DONE was seen. Exposed for tests with hand-built replies.
Result<bool> ParseInetDiagDatagram(const char* data, size_t len, bool with_info,
                                   std::vector<TcpSocketInfo>& out);

// The same for a unix_diag dump (struct unix_diag_msg): family AF_UNIX, unix_type, state, inode.
Result<bool> ParseUnixDiagDatagram(const char* data, size_t len, std::vector<TcpSocketInfo>& out);

}  // namespace knob
