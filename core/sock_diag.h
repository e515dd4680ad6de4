#pragma once
// SockDiag: the host's TCP sockets from netlink sock_diag (inet_diag), IPv4 and IPv6, one dump
// per call. Replaces parsing /proc/net/tcp{,6}: one syscall stream for the whole host, and
// tcp_info (RTT, retransmits, cwnd) comes with each socket when asked for.
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
  uint32_t rqueue = 0;  // LISTEN: accept-queue length; else bytes not yet read by the app
  uint32_t wqueue = 0;  // LISTEN: backlog; else bytes not yet acked
  // From tcp_info, present only when asked for and the kernel supplied enough bytes.
  std::optional<uint32_t> rtt_us, rttvar_us, snd_cwnd, total_retrans;
};

// Bit i set = include TCP state i. kAllTcpStates = every state.
inline constexpr uint32_t kAllTcpStates = 0xfff;
inline constexpr uint32_t kListenOnly = 1u << 10;

// Per-process sums over live threads from taskstats (struct taskstats in <linux/taskstats.h>).
struct TaskStatsTotals {
  uint64_t cpu_delay_ns = 0;  // sched_info.run_delay summed over live threads
  uint64_t cpu_count = 0;     // sched_info.pcount: timeslices
  uint64_t nvcsw = 0, nivcsw = 0;
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
};

class RealSockDiag final : public SockDiag {
 public:
  RealSockDiag() = default;
  ~RealSockDiag() override;
  RealSockDiag(const RealSockDiag&) = delete;
  RealSockDiag& operator=(const RealSockDiag&) = delete;
  Status DumpTcp(uint32_t state_mask, bool with_info, std::vector<TcpSocketInfo>& out) override;
  Status TaskStatsTgid(pid_t tgid, TaskStatsTotals& out) override;

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
};

// Parses one TASKSTATS_CMD_GET reply datagram into `out`. Exposed for tests.
Status ParseTaskStatsReply(const char* data, size_t len, TaskStatsTotals& out);

// Parses one netlink datagram (possibly several nlmsghdr) of an inet_diag dump into `out`.
// Returns true when NLMSG_DONE was seen. Exposed for tests with hand-built replies.
Result<bool> ParseInetDiagDatagram(const char* data, size_t len, bool with_info,
                                   std::vector<TcpSocketInfo>& out);

}  // namespace knob
