// SPDX-License-Identifier: Apache-2.0
#include "knob/client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>

#include "client/allocator_stats.h"
#include "core/cpu_list.h"
#include "core/protocol/codec.h"
#include "core/protocol/framing.h"
#include "core/snapshot.h"

namespace knob {
namespace {

constexpr size_t kMaxLineBytes = 1024 * 1024;
constexpr auto kWelcomeTimeout = std::chrono::seconds(5);

using SteadyClock = std::chrono::steady_clock;

int ConnectUnix(const std::string& path, std::string& error) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    error = "socket path too long: " + path;
    close(fd);
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    error = "cannot connect to " + path + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  // A daemon that stops reading must not stall the background thread for long.
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

bool SendAll(int fd, std::string line) {
  line.push_back('\n');
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

void FillCache(const CacheStats& c, AppReport::Cache& out) {
  out.hits_total = static_cast<double>(c.hits());
  out.misses_total = static_cast<double>(c.misses());
  out.bytes = c.bytes();
  out.capacity_bytes = c.capacity_bytes();
  auto h = c.sampler().Snapshot();
  out.reuse_bounds_bytes = std::move(h.bounds_bytes);
  out.reuse_counts = std::move(h.counts);
  out.reuse_cold = h.cold;
  out.sample_rate = c.sampler().sample_rate();
}

}  // namespace

Client::Client(ClientOptions options)
    : options_(std::move(options)), latency_(options_.latency_bounds_seconds) {
  socket_path_ = options_.socket_path;
  if (socket_path_.empty()) {
    const char* env = std::getenv("KNOBD_SOCKET");
    if (env == nullptr || *env == '\0') env = std::getenv("KNOBD_CONTROL_SOCKET");
    socket_path_ = env != nullptr && *env != '\0' ? env : "/run/knobd/control.sock";
  }
  if (options_.initial_backoff.count() <= 0)
    options_.initial_backoff = std::chrono::milliseconds(1);
  if (options_.max_backoff < options_.initial_backoff)
    options_.max_backoff = options_.initial_backoff;
  if (options_.default_report_interval.count() <= 0)
    options_.default_report_interval = std::chrono::milliseconds(1000);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Client::~Client() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Client::RegisterKnob(KnobSpec spec, OnSet on_set) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string name = spec.name;
  knobs_[name] = Knob{std::move(spec), std::move(on_set)};
}

void Client::RegisterListKnob(KnobSpec spec, OnSetList on_set) {
  std::string name = spec.name;
  auto cpus = ParseCpuList(spec.list.value_or(""));
  spec.list = cpus.ok() ? FormatCpuList(*cpus) : spec.list.value_or("");
  spec.value = cpus.ok() ? static_cast<double>(cpus->size()) : 0;
  std::lock_guard<std::mutex> lock(mu_);
  knobs_[name] = Knob{std::move(spec), nullptr, std::move(on_set)};
}

void Client::UpdateKnobValue(const std::string& name, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = knobs_.find(name);
  if (it != knobs_.end() && !it->second.spec.list) it->second.spec.value = value;
}

void Client::UpdateKnobList(const std::string& name, const std::string& list) {
  auto cpus = ParseCpuList(list);
  if (!cpus.ok()) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = knobs_.find(name);
  if (it == knobs_.end() || !it->second.spec.list) return;
  it->second.spec.list = FormatCpuList(*cpus);
  it->second.spec.value = static_cast<double>(cpus->size());
}

PoolGauges& Client::pool(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& p = pools_[name];
  if (!p) p = std::make_unique<PoolGauges>();
  return *p;
}

CacheStats& Client::cache(const std::string& name, double sample_rate) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& c = caches_[name];
  if (!c) c = std::make_unique<CacheStats>(sample_rate);
  return *c;
}

void Client::SetGauge(const std::string& name, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_[name] = value;
}

std::string Client::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}
std::string Client::session() const {
  std::lock_guard<std::mutex> lock(mu_);
  return session_;
}
std::string Client::target() const {
  std::lock_guard<std::mutex> lock(mu_);
  return target_;
}

void Client::SetError(std::string e) {
  std::lock_guard<std::mutex> lock(mu_);
  last_error_ = std::move(e);
}

Status Client::Start() {
  if (thread_.joinable()) return OkStatus();
  if (options_.name.empty()) return InvalidArgumentError("knob::Client needs a name");
  stop_ = false;
  try {
    thread_ = std::thread([this] { Run(); });
  } catch (const std::exception& e) {
    return InternalError(std::string("cannot start the knob client thread: ") + e.what());
  }
  return OkStatus();
}

void Client::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }
  thread_.join();
  connected_ = false;
}

bool Client::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(stop_mu_);
  stop_cv_.wait_for(lock, d, [this] { return stop_; });
  return !stop_;
}

AppReport Client::BuildReport() {
  AppReport r;
  auto interval = latency_.Drain();
  r.requests_total = static_cast<double>(latency_.total());
  r.errors_total = static_cast<double>(errors_.load(std::memory_order_relaxed));
  r.in_flight = in_flight_.load(std::memory_order_relaxed);
  r.queue_depth = queue_depth_.load(std::memory_order_relaxed);
  r.latency_p50_seconds = interval.p50;
  r.latency_p90_seconds = interval.p90;
  r.latency_p99_seconds = interval.p99;
  r.latency_bucket_bounds_seconds = std::move(interval.bounds_seconds);
  r.latency_bucket_counts = std::move(interval.counts);
  r.latency_sum_seconds = interval.sum_seconds;
  r.allocator = ReadAllocatorStats();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, p] : pools_)
    r.pools[name] = AppReport::Pool{p->size.load(), p->busy.load(), p->waiters.load()};
  for (const auto& [name, c] : caches_) FillCache(*c, r.caches[name]);
  for (const auto& [name, k] : knobs_) {
    r.knobs[name] = k.spec.value;
    if (k.spec.list) r.knob_lists[name] = *k.spec.list;
  }
  r.gauges = gauges_;
  return r;
}

void Client::Run() {
  std::minstd_rand rng(static_cast<unsigned>(getpid()) ^
                       static_cast<unsigned>(SteadyClock::now().time_since_epoch().count()));
  auto backoff = options_.initial_backoff;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      if (stop_) return;
    }
    std::string err;
    int fd = ConnectUnix(socket_path_, err);
    bool welcomed = false;
    if (fd >= 0) {
      // ---- one connection ----
      protocol::Hello hello;
      hello.pid = getpid();
      hello.name = options_.name;
      hello.client = "knob-cpp/1";
      hello.metrics = {"requests", "latency", "pools", "caches", "allocator"};
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [name, k] : knobs_)
          hello.knobs.push_back(
              {k.spec.name, k.spec.value, k.spec.min, k.spec.max, k.spec.unit, k.spec.list});
      }
      protocol::LineFramer framer(kMaxLineBytes);
      auto interval =
          std::chrono::duration_cast<SteadyClock::duration>(options_.default_report_interval);
      auto welcome_deadline = SteadyClock::now() + kWelcomeTimeout;
      auto next_report = SteadyClock::now() + interval;
      bool alive = SendAll(fd, protocol::Encode(hello));
      if (!alive) err = "cannot send hello to " + socket_path_;
      char buf[16384];
      while (alive) {
        auto now = SteadyClock::now();
        auto until = welcomed ? next_report : welcome_deadline;
        int timeout_ms = static_cast<int>(std::max<int64_t>(
            0, std::chrono::ceil<std::chrono::milliseconds>(until - now).count()));
        pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        int pr = poll(fds, 2, timeout_ms);
        if (pr < 0 && errno != EINTR) {
          err = std::string("poll: ") + std::strerror(errno);
          break;
        }
        {
          std::lock_guard<std::mutex> lock(stop_mu_);
          if (stop_) {
            SendAll(fd, protocol::Encode(protocol::Bye{"client stopping"}));
            close(fd);
            connected_ = false;
            return;
          }
        }
        if (pr > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
          ssize_t n = recv(fd, buf, sizeof(buf), 0);
          if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            err = "knobd closed the connection";
            break;
          }
          std::vector<std::string> lines;
          if (!framer.Feed(std::string_view(buf, static_cast<size_t>(n)), lines)) {
            err = "knobd sent an oversized line";
            break;
          }
          for (const auto& line : lines) {
            auto msg = protocol::Decode(line);
            if (!msg.ok()) {
              SetError("bad message from knobd: " + msg.status().message());
              continue;
            }
            if (auto* w = std::get_if<protocol::Welcome>(&*msg)) {
              {
                std::lock_guard<std::mutex> lock(mu_);
                session_ = w->session;
                target_ = w->target;
                last_error_.clear();
              }
              interval = std::chrono::duration_cast<SteadyClock::duration>(
                  std::chrono::duration<double>(w->tick_interval_seconds));
              if (interval <= SteadyClock::duration::zero()) interval = std::chrono::seconds(1);
              welcomed = true;
              connected_ = true;
              connections_.fetch_add(1);
              backoff = options_.initial_backoff;
              next_report = SteadyClock::now() + interval;
            } else if (auto* set = std::get_if<protocol::Set>(&*msg)) {
              protocol::Ack ack;
              ack.id = set->id;
              ack.knob = set->knob;
              OnSet cb;
              OnSetList list_cb;
              std::optional<double> lo, hi;
              {
                std::lock_guard<std::mutex> lock(mu_);
                auto it = knobs_.find(set->knob);
                if (it != knobs_.end()) {
                  cb = it->second.on_set;
                  list_cb = it->second.on_set_list;
                  lo = it->second.spec.min;
                  hi = it->second.spec.max;
                }
              }
              SetResult result;
              if (!cb && !list_cb) {
                result = SetResult::Rejected("unknown knob '" + set->knob + "'");
              } else if (list_cb && !set->list) {
                result = SetResult::Rejected("knob '" + set->knob + "' takes a CPU list");
              } else if (cb && set->list) {
                result = SetResult::Rejected("knob '" + set->knob + "' takes a number");
              } else if (list_cb) {
                try {
                  result = list_cb(*set->list);
                } catch (const std::exception& e) {
                  result = SetResult::Rejected(std::string("callback threw: ") + e.what());
                } catch (...) {
                  result = SetResult::Rejected("callback threw");
                }
              } else if ((lo && set->value < *lo) || (hi && set->value > *hi)) {
                result = SetResult::Rejected("value outside the knob's bounds");
              } else {
                // The app's callback must never take the client (or the app) down.
                try {
                  result = cb(set->value);
                } catch (const std::exception& e) {
                  result = SetResult::Rejected(std::string("callback threw: ") + e.what());
                } catch (...) {
                  result = SetResult::Rejected("callback threw");
                }
              }
              ack.result =
                  result.applied ? protocol::AckResult::kApplied : protocol::AckResult::kRejected;
              ack.reason = result.reason;
              if (result.applied && set->list) {
                auto cpus = ParseCpuList(result.list.value_or(*set->list));
                if (cpus.ok()) {
                  ack.list = FormatCpuList(*cpus);
                  ack.value = static_cast<double>(cpus->size());
                  UpdateKnobList(set->knob, *ack.list);
                }
              } else if (result.applied) {
                double v = result.value.value_or(set->value);
                ack.value = v;
                UpdateKnobValue(set->knob, v);
              }
              if (!SendAll(fd, protocol::Encode(ack))) {
                alive = false;
                err = "cannot send ack";
                break;
              }
            } else if (auto* e = std::get_if<protocol::Error>(&*msg)) {
              SetError(std::string(protocol::ErrorCodeName(e->code)) + ": " + e->message);
            } else if (std::holds_alternative<protocol::Bye>(*msg)) {
              err = "knobd said bye";
              alive = false;
              break;
            }
          }
          if (!alive) break;
        }
        now = SteadyClock::now();
        if (!welcomed && now >= welcome_deadline) {
          err = "no welcome from knobd within 5 s";
          break;
        }
        if (welcomed && now >= next_report) {
          protocol::Report report;
          report.seq = ++seq_;
          if (before_report_) before_report_();
          report.app = BuildReport();
          if (!SendAll(fd, protocol::Encode(report))) {
            err = "cannot send report";
            break;
          }
          reports_sent_.fetch_add(1);
          next_report += interval;
          if (next_report < now) next_report = now + interval;
        }
      }
      close(fd);
      connected_ = false;
    }
    // Keep a more specific error the daemon sent (pid_mismatch, ...) over "closed".
    if (!err.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (last_error_.empty() || welcomed) last_error_ = err;
    }
    auto jittered = std::chrono::milliseconds(static_cast<int64_t>(
        static_cast<double>(backoff.count()) * (0.5 + 0.5 * (rng() % 1000) / 1000.0)));
    if (!SleepFor(std::max(jittered, std::chrono::milliseconds(1)))) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace knob
