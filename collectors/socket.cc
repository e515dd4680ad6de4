#include "collectors/socket.h"

#include <algorithm>
#include <cstdlib>

#include "collectors/parse/netstat.h"

namespace knob {
namespace {

constexpr uint8_t kTcpListen = 10;

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
      by_state_(reg, "knobd_target_tcp_sockets", "TCP sockets of the target by state"),
      listen_queue_(reg, "knobd_target_listen_queue",
                    "Connections waiting in a listener's accept queue, by local port"),
      listen_backlog_(reg, "knobd_target_listen_backlog",
                      "Accept-queue capacity (listen backlog) of a listener, by local port"),
      queue_bytes_(reg, "knobd_target_tcp_queue_bytes",
                   "Bytes queued on the target's TCP sockets, direction=send|recv"),
      rtt_(reg, "knobd_target_tcp_rtt_seconds", "Mean smoothed RTT over the target's sockets"),
      rttvar_(reg, "knobd_target_tcp_rtt_variance_seconds",
              "Mean RTT variance over the target's sockets"),
      retrans_(reg, "knobd_target_tcp_retransmitted_segments",
               "Retransmitted segments summed over the target's current sockets (falls when "
               "sockets close)"),
      cwnd_(reg, "knobd_target_tcp_cwnd_segments",
            "Mean congestion window over the target's sockets"),
      age_(reg, "knobd_collector_sample_age_seconds",
           "Age of the oldest reading behind a slow-cadence part of a target's snapshot"),
      host_overflows_(
          reg, "knobd_host_tcp_listen_overflows_total",
          "TcpExt ListenOverflows: connections dropped because an accept queue was full"),
      host_drops_(reg, "knobd_host_tcp_listen_drops_total",
                  "TcpExt ListenDrops: SYNs dropped at listeners for any reason") {}

Status SocketCollector::ScanFds(const ProcessKey& key, FdState& fs, MonoTime now) {
  const std::string dir = std::to_string(key.pid) + "/fd";
  KNOB_RETURN_IF_ERROR(env_.procfs.ListDirKept(FsRoot::kProc, dir, names_));
  ++fd_scans_;
  fs.inodes.clear();
  for (const std::string& n : names_) {
    if (!env_.procfs.ReadLink(FsRoot::kProc, dir + "/" + n, link_).ok()) continue;  // closed
    uint32_t inode = 0;
    if (ParseSocketLink(link_, inode)) fs.inodes.push_back(inode);
  }
  std::sort(fs.inodes.begin(), fs.inodes.end());
  fs.scanned = now;
  return OkStatus();
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

Status SocketCollector::Collect(const CollectContext& ctx, Snapshot& out) {
  ++tick_;
  ReadNetstat(out);
  if (!support_.Supported("sock_diag")) return OkStatus();
  const auto& cs = ctx.policy.global.collection;

  const bool full = !last_full_time_ || ctx.now - *last_full_time_ >= cs.socket_dump_interval;
  sockets_.clear();
  Status s = env_.sock_diag.DumpTcp(full ? kAllTcpStates : kListenOnly, full, sockets_);
  if (!support_.Report("sock_diag", s)) return OkStatus();
  if (!s.ok()) return s;

  // Which listeners no known process owns: a new one triggers an immediate fd rescan.
  // Hash containers: ~20 000 inodes at the benchmark's host, rebuilt every tick.
  known_.clear();
  for (const auto& [key, f] : fds_) known_.insert(f.inodes.begin(), f.inodes.end());
  std::set<uint32_t> unknown;
  for (const auto& sk : sockets_) {
    if (sk.state == kTcpListen && sk.inode != 0 && !known_.count(sk.inode))
      unknown.insert(sk.inode);
  }
  bool new_unknown = std::any_of(unknown.begin(), unknown.end(),
                                 [&](uint32_t i) { return !unknown_listeners_.count(i); });
  unknown_listeners_ = std::move(unknown);

  owner_.clear();  // inode -> target (points at out.targets' keys)
  std::map<std::string, std::optional<MonoTime>> oldest_scan;
  for (auto& [name, ts] : out.targets) {
    if (ts.state != TargetState::kActive || ts.processes.empty()) continue;
    for (const ProcessKey& key : ts.processes) {
      auto [it, inserted] = fds_.try_emplace(key);
      FdState& f = it->second;
      f.seen_tick = tick_;
      if (inserted || new_unknown || ctx.now >= f.due) {
        // A rescan readlink()s every fd (~20 000 at the benchmark's host): after the first,
        // spread processes over the interval by pid so no tick rescans them all.
        const int64_t tick = std::max<int64_t>(1, ctx.policy.global.tick_interval.count());
        const int64_t slots = std::max<int64_t>(1, cs.fd_rescan_interval.count() / tick);
        f.due = ctx.now + cs.fd_rescan_interval -
                (inserted ? Duration(tick * (static_cast<int64_t>(key.pid) % slots)) : Duration(0));
        if (!ScanFds(key, f, ctx.now).ok()) {
          f.scanned = ctx.now;  // gone or not permitted: no sockets; retry on the cadence
          continue;
        }
      }
      for (uint32_t inode : f.inodes) owner_.emplace(inode, &name);
      auto& o = oldest_scan[name];
      if (!o || f.scanned < *o) o = f.scanned;
    }
  }
  for (auto it = fds_.begin(); it != fds_.end();) {
    it = it->second.seen_tick == tick_ ? std::next(it) : fds_.erase(it);
  }

  std::map<std::string, SocketStats> now_stats;
  std::map<uint16_t, std::string> listen_port_owner;
  struct Sums {
    double rtt = 0, rttvar = 0, cwnd = 0;
    uint32_t n = 0;
  };
  std::map<std::string, Sums> sums;
  for (const auto& sk : sockets_) {
    if (sk.state != kTcpListen || sk.inode == 0) continue;
    auto o = owner_.find(sk.inode);
    if (o == owner_.end()) continue;
    now_stats[*o->second].listeners.push_back({sk.local_port, sk.rqueue, sk.wqueue});
    listen_port_owner.emplace(sk.local_port, *o->second);
  }
  if (full) {
    for (const auto& sk : sockets_) {
      const std::string* target = nullptr;
      if (sk.inode != 0) {
        auto o = owner_.find(sk.inode);
        if (o != owner_.end()) target = o->second;
      } else {
        auto o = listen_port_owner.find(sk.local_port);
        if (o != listen_port_owner.end()) target = &o->second;
      }
      if (target == nullptr) continue;
      SocketStats& st = now_stats[*target];
      ++st.tcp_by_state[std::string(TcpStateName(sk.state))];
      if (sk.state == kTcpListen) continue;
      st.send_queue_bytes += sk.wqueue;
      st.recv_queue_bytes += sk.rqueue;
      st.retransmits_total += sk.total_retrans.value_or(0);
      if (sk.rtt_us) {
        Sums& sm = sums[*target];
        sm.rtt += *sk.rtt_us / 1e6;
        sm.rttvar += sk.rttvar_us.value_or(0) / 1e6;
        sm.cwnd += sk.snd_cwnd.value_or(0);
        ++sm.n;
      }
    }
    last_full_.clear();
    for (auto& [name, st] : now_stats) {
      auto sm = sums.find(name);
      if (sm != sums.end() && sm->second.n > 0) {
        st.rtt_seconds_mean = sm->second.rtt / sm->second.n;
        st.rttvar_seconds_mean = sm->second.rttvar / sm->second.n;
        st.cwnd_mean = sm->second.cwnd / sm->second.n;
      }
      SocketStats copy = st;
      copy.listeners.clear();
      last_full_[name] = std::move(copy);
    }
    last_full_time_ = ctx.now;
  }

  for (auto& [name, ts] : out.targets) {
    if (ts.state != TargetState::kActive || ts.processes.empty()) continue;
    SocketStats st;
    auto lf = last_full_.find(name);
    if (lf != last_full_.end()) st = lf->second;
    auto ns = now_stats.find(name);
    if (ns != now_stats.end()) st.listeners = ns->second.listeners;
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
    if (last_full_time_) {
      ts.refreshed["sockets"] = *last_full_time_;
      age_.Set({{"target", name}, {"part", "sockets"}}, ToSeconds(ctx.now - *last_full_time_));
    }
    auto os = oldest_scan.find(name);
    if (os != oldest_scan.end() && os->second) {
      ts.refreshed["fds"] = *os->second;
      age_.Set({{"target", name}, {"part", "fds"}}, ToSeconds(ctx.now - *os->second));
    }
    ts.sockets = std::move(st);
  }
  sweeper_.Sweep(ctx.policy, [&](const std::string& t) {
    by_state_.ForgetTarget(t);
    listen_queue_.ForgetTarget(t);
    listen_backlog_.ForgetTarget(t);
    queue_bytes_.ForgetTarget(t);
    rtt_.ForgetTarget(t);
    rttvar_.ForgetTarget(t);
    retrans_.ForgetTarget(t);
    cwnd_.ForgetTarget(t);
    age_.ForgetTarget(t);
  });
  return OkStatus();
}

}  // namespace knob
