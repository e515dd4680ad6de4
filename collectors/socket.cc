// SPDX-License-Identifier: Apache-2.0
// Over 500 lines on purpose: the fd-to-inode join, the resumable sock_diag pass and the per-target
// counts share one cadence state (which processes were rescanned, which pass is in progress).
#include "collectors/socket.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "collectors/parse/netstat.h"

namespace knob {
namespace {

constexpr uint8_t kTcpListen = 10;
constexpr uint8_t kTcp = 6, kUdp = 17;

// The parts of a pass, in order, and the support source each reports under.
struct Part {
  DiagDump dump;
  const char* source;
};
constexpr Part kParts[] = {
    {{AF_INET, kTcp, kAllTcpStates, true}, "sock_diag"},
    {{AF_INET6, kTcp, kAllTcpStates, true}, "sock_diag"},
    {{AF_INET, kUdp, kAllTcpStates, false}, "udp_diag"},
    {{AF_INET6, kUdp, kAllTcpStates, false}, "udp_diag"},
    {{AF_UNIX, 0, 0xffffffffu, false}, "unix_diag"},
};
static_assert(std::size(kParts) == 5);

// A pass is paced to finish within the interval; this floor keeps tiny hosts from trickling.
constexpr size_t kMinSocketsPerTick = 1024;
// Each incremental fd listing of a process also re-reads every kFullEvery-th socket fd (a
// rotating slice): a socket shared with another process can close here, keep its inode alive
// there, and leave its fd number to a new socket, which no pass would notice.
constexpr uint32_t kFullEvery = 10;
// readlink() calls (~4 us each) fd scans may make in one tick, over all processes; past it the
// remaining scans wait for the next tick (at least one process is scanned per tick). Bounds
// the tick after startup, when every process is new and every fd must be read.
constexpr uint64_t kFdReadlinksPerTick = 2000;
// A cadence rescan first asks the kernel for the process's fd count (one fstat): when it equals
// the count of the last listing, the set is taken as unchanged and the listing (a getdents that
// instantiates an inode per fd) is skipped. Equal counts can hide a non-socket fd replaced by a
// socket one for one (a socket replaced by a socket is caught by the pass, which no longer sees
// the old inode), so every kListEveryChecks-th check lists anyway.
constexpr uint32_t kListEveryChecks = 4;

// "TCP6: inuse 3" -> 3 for key "TCP6:"; nullopt when absent.
std::optional<uint64_t> SockstatInuse(std::string_view text, std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(at, eol - at);
    at = eol + 1;
    if (line.substr(0, key.size()) != key) continue;
    size_t p = line.find("inuse ");
    if (p == std::string_view::npos) return std::nullopt;
    uint64_t v = 0;
    bool any = false;
    for (p += 6; p < line.size() && line[p] >= '0' && line[p] <= '9'; ++p) {
      v = v * 10 + static_cast<uint64_t>(line[p] - '0');
      any = true;
    }
    return any ? std::optional<uint64_t>(v) : std::nullopt;
  }
  return std::nullopt;
}

constexpr std::string_view kUnixTypes[] = {"stream", "dgram", "seqpacket", "other"};
size_t UnixTypeIndex(uint8_t type) {
  switch (type) {
    case SOCK_STREAM:
      return 0;
    case SOCK_DGRAM:
      return 1;
    case SOCK_SEQPACKET:
      return 2;
    default:
      return 3;
  }
}

// An optional diag family the kernel lacks answers ENOENT (no module), EOPNOTSUPP or EINVAL.
bool MeansUnsupported(const Status& s) {
  return s.code() == StatusCode::kNotFound || s.code() == StatusCode::kUnavailable ||
         s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kInvalidArgument;
}
// What SupportTracker takes as "unsupported" (EINVAL would otherwise count as transient).
Status AsUnsupported(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument ? UnavailableError(s.message()) : s;
}

bool ParseSocketLink(const std::string& link, uint32_t& inode) {
  constexpr std::string_view kPrefix = "socket:[";
  if (link.size() <= kPrefix.size() + 1 || link.compare(0, kPrefix.size(), kPrefix) != 0 ||
      link.back() != ']') {
    return false;
  }
  char* end = nullptr;
  unsigned long v = std::strtoul(link.c_str() + kPrefix.size(), &end, 10);
  if (end != link.c_str() + link.size() - 1) return false;
  inode = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

std::string_view TcpStateName(uint8_t state) {
  static constexpr std::string_view kNames[] = {
      "unknown", "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2",   "time_wait",
      "close",   "close_wait",  "last_ack", "listen",   "closing",   "new_syn_recv"};
  return state < std::size(kNames) ? kNames[state] : "unknown";
}

SocketCollector::SocketCollector(Env& env, prometheus::Registry& reg)
    : env_(env),
      support_(reg, "socket"),
      by_state_(target_series_, reg, "knobd_target_tcp_sockets",
                "TCP sockets of the target by state"),
      listen_queue_(target_series_, reg, "knobd_target_listen_queue",
                    "Connections waiting in a listener's accept queue, by local port"),
      listen_backlog_(target_series_, reg, "knobd_target_listen_backlog",
                      "Accept-queue capacity (listen backlog) of a listener, by local port"),
      queue_bytes_(target_series_, reg, "knobd_target_tcp_queue_bytes",
                   "Bytes queued on the target's TCP sockets, direction=send|recv"),
      rtt_(target_series_, reg, "knobd_target_tcp_rtt_seconds",
           "Mean smoothed RTT over the target's sockets"),
      rttvar_(target_series_, reg, "knobd_target_tcp_rtt_variance_seconds",
              "Mean RTT variance over the target's sockets"),
      retrans_(target_series_, reg, "knobd_target_tcp_retransmitted_segments",
               "Retransmitted segments summed over the target's current sockets (falls when "
               "sockets close)"),
      cwnd_(target_series_, reg, "knobd_target_tcp_cwnd_segments",
            "Mean congestion window over the target's sockets"),
      udp_(target_series_, reg, "knobd_target_udp_sockets",
           "UDP sockets of the target (IPv4 and IPv6)"),
      unix_(target_series_, reg, "knobd_target_unix_sockets",
            "Unix-domain sockets of the target, type=stream|dgram|seqpacket|other"),
      age_(target_series_, reg, "knobd_collector_sample_age_seconds",
           "Age of the oldest reading behind a slow-cadence part of a target's snapshot"),
      host_overflows_(
          reg, "knobd_host_tcp_listen_overflows_total",
          "TcpExt ListenOverflows: connections dropped because an accept queue was full"),
      host_drops_(reg, "knobd_host_tcp_listen_drops_total",
                  "TcpExt ListenDrops: SYNs dropped at listeners for any reason"),
      restarts_total_(reg, "knobd_collector_socket_dump_restarts_total",
                      "Full socket passes dropped midway by a netlink error and started again") {}

uint32_t SocketCollector::Intern(const std::string& name) {
  auto [it, inserted] =
      target_index_.try_emplace(name, static_cast<uint32_t>(target_names_.size()));
  if (inserted) target_names_.push_back(name);
  return it->second;
}

void SocketCollector::Claim(const std::vector<uint32_t>& inodes, uint32_t target) {
  for (uint32_t inode : inodes) ++owner_.try_emplace(inode, Owner{target, 0}).first->second.refs;
}

void SocketCollector::Release(const std::vector<uint32_t>& inodes) {
  for (uint32_t inode : inodes) {
    auto it = owner_.find(inode);
    if (it == owner_.end()) continue;
    if (--it->second.refs == 0) owner_.erase(it);
  }
}

Status SocketCollector::ScanFds(const ProcessKey& key, FdState& fs, MonoTime now, bool full) {
  dir_ = std::to_string(key.pid) + "/fd";
  KNOB_RETURN_IF_ERROR(env_.procfs.ListDirKept(FsRoot::kProc, dir_, names_));
  ++fd_scans_;
  old_fds_.swap(fs.fds);
  fs.fds.clear();
  for (const std::string& n : names_) {
    char* end = nullptr;
    unsigned long fd = std::strtoul(n.c_str(), &end, 10);
    if (end != n.c_str() + n.size() || n.empty()) continue;
    fs.fds.emplace_back(static_cast<uint32_t>(fd), 0);
  }
  std::sort(fs.fds.begin(), fs.fds.end());
  const size_t base = dir_.size() + 1;
  std::string path = dir_ + "/";
  auto known = old_fds_.begin();
  for (auto& [fd, inode] : fs.fds) {
    while (known != old_fds_.end() && known->first < fd) ++known;
    // An fd number that still holds a socket we saw keeps it: had the socket closed and the
    // number been reused, the pass would not have seen the old inode and cleared the entry.
    if (!full && known != old_fds_.end() && known->first == fd && known->second != 0 &&
        fd % kFullEvery != fs.listings % kFullEvery) {
      inode = known->second;
      continue;
    }
    path.resize(base);
    path += std::to_string(fd);
    ++fd_readlinks_;
    if (!env_.procfs.ReadLink(FsRoot::kProc, path, link_).ok()) continue;  // closed meanwhile
    uint32_t v = 0;
    if (ParseSocketLink(link_, v)) inode = v;
  }
  fs.inodes.clear();
  for (const auto& [fd, inode] : fs.fds) {
    if (inode != 0) fs.inodes.push_back(inode);
  }
  std::sort(fs.inodes.begin(), fs.inodes.end());
  fs.inodes.erase(std::unique(fs.inodes.begin(), fs.inodes.end()), fs.inodes.end());
  fs.scanned = now;
  return OkStatus();
}

bool SocketCollector::FdCountUnchanged(const ProcessKey& key, const FdState& fs) {
  dir_ = std::to_string(key.pid) + "/fd";
  Result<int64_t> n = env_.procfs.DirSize(FsRoot::kProc, dir_);
  // 0 is what kernels before 6.2 report for any process: it proves nothing.
  if (!n.ok() || *n <= 0 || static_cast<size_t>(*n) != fs.fds.size()) return false;
  ++fd_count_checks_;
  return true;
}

void SocketCollector::ReadNetstat(Snapshot& out) {
  Status s = env_.procfs.ReadKept(FsRoot::kProc, "net/netstat", buf_);
  if (!support_.Report("netstat", s) || !s.ok()) return;
  auto c = parse::ParseNetstatListen(buf_);
  if (!c.ok()) return;
  out.host.listen_overflows = c->listen_overflows;
  out.host.listen_drops = c->listen_drops;
  host_overflows_.Observe({}, static_cast<double>(c->listen_overflows));
  host_drops_.Observe({}, static_cast<double>(c->listen_drops));
}

void SocketCollector::SkipEmptyParts() {
  part_skip_ = {};
  // Each family's dump walks every TCP socket of the host (the established hash holds both), so
  // an empty family still costs a full walk (~130 ns per socket) in one unsplittable read.
  if (env_.procfs.ReadKept(FsRoot::kProc, "net/sockstat6", buf_).ok()) {
    part_skip_[1] = SockstatInuse(buf_, "TCP6:") == std::optional<uint64_t>(0);
    part_skip_[3] = SockstatInuse(buf_, "UDP6:") == std::optional<uint64_t>(0);
  }
  if (env_.procfs.ReadKept(FsRoot::kProc, "net/sockstat", buf_).ok()) {
    part_skip_[2] = SockstatInuse(buf_, "UDP:") == std::optional<uint64_t>(0);
  }
}

bool SocketCollector::StartPart(size_t part) {
  for (; part < std::size(kParts); ++part) {
    if (part_off_[part] || part_skip_[part]) continue;
    Status s = env_.sock_diag.StartDump(kParts[part].dump);
    if (s.ok()) {
      part_ = part;
      return true;
    }
    if (part >= 2 && MeansUnsupported(s)) {
      support_.Report(kParts[part].source, AsUnsupported(s));
      part_off_[part] = true;
      continue;
    }
    Abort(s);
    return false;
  }
  Publish();
  return false;
}

void SocketCollector::Aggregate() {
  for (const TcpSocketInfo& sk : batch_) {
    uint32_t t = kNoTarget;
    if (sk.inode != 0) {
      auto o = owner_.find(sk.inode);
      if (o != owner_.end()) {
        t = o->second.target;
        o->second.seen_pass = passes_ + 1;
      }
    } else if (sk.family != AF_UNIX && sk.protocol == kTcp) {
      auto o = listen_port_owner_.find(sk.local_port);
      if (o != listen_port_owner_.end()) t = o->second;
    }
    if (t == kNoTarget) continue;
    if (t >= acc_.size()) acc_.resize(t + 1);
    Acc& a = acc_[t];
    if (sk.family == AF_UNIX) {
      ++a.unix_by_type[UnixTypeIndex(sk.unix_type)];
      continue;
    }
    if (sk.protocol == kUdp) {
      ++a.udp;
      continue;
    }
    ++a.by_state[std::min<size_t>(sk.state, a.by_state.size() - 1)];
    if (sk.state == kTcpListen) continue;
    a.send += sk.wqueue;
    a.recv += sk.rqueue;
    a.retrans += sk.total_retrans.value_or(0);
    if (sk.rtt_us) {
      a.rtt += *sk.rtt_us / 1e6;
      a.rttvar += sk.rttvar_us.value_or(0) / 1e6;
      a.cwnd += sk.snd_cwnd.value_or(0);
      ++a.with_info;
    }
  }
}

void SocketCollector::Publish() {
  last_full_.clear();
  for (size_t i = 0; i < acc_.size(); ++i) {
    const Acc& a = acc_[i];
    SocketStats st;
    for (size_t s = 0; s < a.by_state.size(); ++s) {
      if (a.by_state[s])
        st.tcp_by_state[std::string(TcpStateName(static_cast<uint8_t>(s)))] += a.by_state[s];
    }
    st.send_queue_bytes = a.send;
    st.recv_queue_bytes = a.recv;
    st.retransmits_total = a.retrans;
    if (a.with_info > 0) {
      st.rtt_seconds_mean = a.rtt / a.with_info;
      st.rttvar_seconds_mean = a.rttvar / a.with_info;
      st.cwnd_mean = a.cwnd / a.with_info;
    }
    st.udp_sockets = a.udp;
    for (size_t u = 0; u < a.unix_by_type.size(); ++u) {
      st.unix_sockets += a.unix_by_type[u];
      if (a.unix_by_type[u]) st.unix_by_type[std::string(kUnixTypes[u])] = a.unix_by_type[u];
    }
    last_full_[target_names_[i]] = std::move(st);
  }
  // A socket the previous pass saw and this one did not has closed: its fd number may now
  // hold another socket, so the processes holding it list their fds on the next tick and
  // re-read those numbers.
  vanished_.clear();
  for (const auto& [inode, o] : owner_) {
    if (o.seen_pass == passes_ && passes_ > 0) vanished_.insert(inode);
  }
  if (!vanished_.empty()) {
    for (auto& [key, f] : fds_) {
      for (auto& [fd, inode] : f.fds) {
        if (inode != 0 && vanished_.count(inode)) {
          inode = 0;
          f.suspect = true;
        }
      }
    }
  }
  last_full_time_ = pass_start_;
  last_pass_sockets_ = pass_sockets_;
  pass_active_ = false;
  ++passes_;
}

void SocketCollector::Abort(const Status& s) {
  env_.sock_diag.CancelDump();
  pass_active_ = false;
  if (!support_.Report("sock_diag", s)) return;  // gone for good: degraded, said once
  // Partial sums would undercount: drop them and start a fresh pass on the next tick.
  restart_now_ = true;
  ++restarts_;
  restarts_total_.Increment({});
  spdlog::debug("socket: full pass dropped at part {} after {} sockets: {}", part_, pass_sockets_,
                s.ToString());
}

void SocketCollector::StepPass(const CollectContext& ctx) {
  const auto& cs = ctx.policy.global.collection;
  tick_sockets_ = 0;
  if (!pass_active_) {
    const bool due = restart_now_ || passes_ + restarts_ == 0 ||
                     ctx.now - pass_start_ >= cs.socket_dump_interval;
    // The first pass waits for every process's first fd scan (spread by the readlink budget):
    // a pass without them would publish an undercount.
    if (!due || (passes_ == 0 && pending_first_scans_ > 0)) return;
    restart_now_ = false;
    pass_active_ = true;
    pass_start_ = ctx.now;
    pass_sockets_ = 0;
    acc_.assign(target_names_.size(), Acc{});
    // Pace: last pass's size over the ticks of one interval (+10 %), within [floor, cap].
    const size_t cap = cs.socket_dump_sockets_per_tick == 0 ? std::numeric_limits<size_t>::max()
                                                            : cs.socket_dump_sockets_per_tick;
    const int64_t tick = std::max<int64_t>(1, ctx.policy.global.tick_interval.count());
    const size_t slots =
        static_cast<size_t>(std::max<int64_t>(1, cs.socket_dump_interval.count() / tick));
    const size_t want = last_pass_sockets_ == 0
                            ? cap
                            : (last_pass_sockets_ + last_pass_sockets_ / 10 + slots - 1) / slots;
    quota_ = std::min(cap, std::max(kMinSocketsPerTick, want));
    SkipEmptyParts();
    if (!StartPart(0)) return;
  }
  while (pass_active_ && tick_sockets_ < quota_) {
    batch_.clear();
    Result<bool> done = env_.sock_diag.ReadDump(quota_ - tick_sockets_, batch_);
    if (!done.ok()) {
      const Status& s = done.status();
      if (part_ >= 2 && MeansUnsupported(s)) {
        support_.Report(kParts[part_].source, AsUnsupported(s));
        part_off_[part_] = true;
        StartPart(part_ + 1);
        continue;
      }
      Abort(s);
      return;
    }
    tick_sockets_ += batch_.size();
    pass_sockets_ += batch_.size();
    Aggregate();
    if (*done) {
      support_.Report(kParts[part_].source, OkStatus());
      StartPart(part_ + 1);
    }
  }
}

Status SocketCollector::Collect(const CollectContext& ctx, Snapshot& out) {
  ++tick_;
  ReadNetstat(out);
  if (!support_.Supported("sock_diag")) return OkStatus();
  const auto& cs = ctx.policy.global.collection;

  listen_.clear();
  Status s = env_.sock_diag.DumpTcp(kListenOnly, false, listen_);
  if (!support_.Report("sock_diag", s)) return OkStatus();
  if (!s.ok()) return s;

  // A listener no known process owns triggers an immediate fd rescan, once per new listener.
  bool new_unknown = false;
  {
    std::set<uint32_t> unknown;
    for (const auto& sk : listen_) {
      if (sk.state == kTcpListen && sk.inode != 0 && !owner_.count(sk.inode)) {
        unknown.insert(sk.inode);
        if (!unknown_listeners_.count(sk.inode)) new_unknown = true;
      }
    }
    unknown_listeners_ = std::move(unknown);
  }

  // The inode -> target map changes only where a rescan found a different fd set, a process
  // moved to another target, or a process went away.
  std::vector<std::optional<MonoTime>> oldest_scan;
  std::vector<uint32_t> old;
  const uint64_t readlinks_at_start = fd_readlinks_;
  bool scanned_any = false;
  pending_first_scans_ = 0;
  for (auto& [name, ts] : out.targets) {
    if (ts.state != TargetState::kActive || ts.processes.empty()) continue;
    const uint32_t t = Intern(name);
    if (oldest_scan.size() <= t) oldest_scan.resize(t + 1);
    for (const ProcessKey& key : ts.processes) {
      auto [it, inserted] = fds_.try_emplace({t, key});
      FdState& f = it->second;
      f.seen_tick = tick_;
      const bool want = !f.scanned_once || new_unknown || f.suspect || ctx.now >= f.due;
      if (want && scanned_any && fd_readlinks_ - readlinks_at_start >= kFdReadlinksPerTick) {
        if (new_unknown) f.suspect = true;  // the trigger is once per listener: keep it
        if (!f.scanned_once) ++pending_first_scans_;
      } else if (want) {
        // Listings are staggered by pid over the interval so no tick lists every process.
        const int64_t tick = std::max<int64_t>(1, ctx.policy.global.tick_interval.count());
        const int64_t slots = std::max<int64_t>(1, cs.fd_rescan_interval.count() / tick);
        if (!f.scanned_once || ctx.now >= f.due) {
          f.due = ctx.now + cs.fd_rescan_interval -
                  (f.scanned_once ? Duration(0)
                                  : Duration(tick * (static_cast<int64_t>(key.pid) % slots)));
        }
        if (f.scanned_once && !f.suspect && f.count_checks + 1 < kListEveryChecks &&
            FdCountUnchanged(key, f)) {
          ++f.count_checks;
          f.scanned = ctx.now;
          auto& o = oldest_scan[t];
          if (!o || f.scanned < *o) o = f.scanned;
          continue;
        }
        scanned_any = true;
        f.count_checks = 0;
        ++f.listings;
        f.suspect = false;
        old.swap(f.inodes);
        if (!ScanFds(key, f, ctx.now, /*full=*/!f.scanned_once).ok()) {
          f.fds.clear();  // gone or not permitted: no sockets; retry on the cadence
          f.inodes.clear();
          f.scanned = ctx.now;
        }
        f.scanned_once = true;
        if (old != f.inodes) {
          Release(old);
          Claim(f.inodes, t);
        }
      }
      if (!f.scanned_once) continue;
      auto& o = oldest_scan[t];
      if (!o || f.scanned < *o) o = f.scanned;
    }
  }
  for (auto it = fds_.begin(); it != fds_.end();) {
    if (it->second.seen_tick == tick_) {
      ++it;
      continue;
    }
    Release(it->second.inodes);
    it = fds_.erase(it);
  }

  listen_port_owner_.clear();
  std::map<std::string, std::vector<SocketStats::Listener>> listeners;
  for (const auto& sk : listen_) {
    if (sk.state != kTcpListen || sk.inode == 0) continue;
    auto o = owner_.find(sk.inode);
    if (o == owner_.end()) continue;
    listeners[target_names_[o->second.target]].push_back({sk.local_port, sk.rqueue, sk.wqueue});
    listen_port_owner_.emplace(sk.local_port, o->second.target);
  }

  StepPass(ctx);

  for (auto& [name, ts] : out.targets) {
    if (ts.state != TargetState::kActive || ts.processes.empty()) continue;
    SocketStats st;
    auto lf = last_full_.find(name);
    if (lf != last_full_.end()) st = lf->second;
    auto ls = listeners.find(name);
    if (ls != listeners.end()) st.listeners = ls->second;
    const prometheus::Labels t{{"target", name}};
    by_state_.BeginTarget(name);
    for (const auto& [state, n] : st.tcp_by_state) {
      by_state_.Set({{"target", name}, {"state", state}}, n);
    }
    by_state_.EndTarget(name);
    std::map<uint16_t, std::pair<double, double>> per_port;
    for (const auto& l : st.listeners) {
      per_port[l.port].first += l.accept_queue;
      per_port[l.port].second += l.backlog;
    }
    listen_queue_.BeginTarget(name);
    listen_backlog_.BeginTarget(name);
    for (const auto& [port, qb] : per_port) {
      prometheus::Labels l{{"target", name}, {"port", std::to_string(port)}};
      listen_queue_.Set(l, qb.first);
      listen_backlog_.Set(l, qb.second);
    }
    listen_queue_.EndTarget(name);
    listen_backlog_.EndTarget(name);
    queue_bytes_.Set({{"target", name}, {"direction", "send"}},
                     static_cast<double>(st.send_queue_bytes));
    queue_bytes_.Set({{"target", name}, {"direction", "recv"}},
                     static_cast<double>(st.recv_queue_bytes));
    rtt_.Set(t, st.rtt_seconds_mean);
    rttvar_.Set(t, st.rttvar_seconds_mean);
    retrans_.Set(t, static_cast<double>(st.retransmits_total));
    cwnd_.Set(t, st.cwnd_mean);
    if (support_.Supported("udp_diag")) udp_.Set(t, st.udp_sockets);
    if (support_.Supported("unix_diag")) {
      unix_.BeginTarget(name);
      for (std::string_view type : kUnixTypes) {
        auto u = st.unix_by_type.find(std::string(type));
        unix_.Set({{"target", name}, {"type", std::string(type)}},
                  u == st.unix_by_type.end() ? 0 : u->second);
      }
      unix_.EndTarget(name);
    }
    if (last_full_time_) {
      ts.refreshed["sockets"] = *last_full_time_;
      age_.Set({{"target", name}, {"part", "sockets"}}, ToSeconds(ctx.now - *last_full_time_));
    }
    auto ti = target_index_.find(name);
    if (ti != target_index_.end() && ti->second < oldest_scan.size() && oldest_scan[ti->second]) {
      const MonoTime scanned = *oldest_scan[ti->second];
      ts.refreshed["fds"] = scanned;
      age_.Set({{"target", name}, {"part", "fds"}}, ToSeconds(ctx.now - scanned));
    }
    ts.sockets = std::move(st);
  }
  sweeper_.Sweep(ctx.policy, [&](const std::string& t) { target_series_.ForgetTarget(t); });
  return OkStatus();
}

}  // namespace knob
