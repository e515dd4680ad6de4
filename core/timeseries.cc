#include "core/timeseries.h"

#include <cassert>

namespace knob {

SampleRing::SampleRing(size_t capacity) : buf_(capacity == 0 ? 1 : capacity) {}

void SampleRing::Push(Sample s) {
  if (size_ < buf_.size()) {
    buf_[(head_ + size_) % buf_.size()] = s;
    ++size_;
  } else {
    buf_[head_] = s;
    head_ = (head_ + 1) % buf_.size();
  }
}

const Sample& SampleRing::at(size_t i) const {
  assert(i < size_);
  return buf_[(head_ + i) % buf_.size()];
}

TimeSeriesStore::TimeSeriesStore(size_t capacity_per_series) : capacity_(capacity_per_series) {}

void TimeSeriesStore::Append(std::string_view target, std::string_view name, MonoTime t, double v) {
  auto tit = data_.find(target);
  if (tit == data_.end()) tit = data_.emplace(std::string(target), decltype(tit->second){}).first;
  auto sit = tit->second.find(name);
  if (sit == tit->second.end())
    sit = tit->second.emplace(std::string(name), SampleRing(capacity_)).first;
  // Out-of-order samples would make rates meaningless; the tick is monotonic, so drop them.
  if (!sit->second.empty() && t < sit->second.back().time) return;
  sit->second.Push({t, v});
}

const SampleRing* TimeSeriesStore::Find(std::string_view target, std::string_view name) const {
  auto tit = data_.find(target);
  if (tit == data_.end()) return nullptr;
  auto sit = tit->second.find(name);
  return sit == tit->second.end() ? nullptr : &sit->second;
}

std::optional<Sample> TimeSeriesStore::Latest(std::string_view target,
                                              std::string_view name) const {
  const SampleRing* r = Find(target, name);
  if (r == nullptr || r->empty()) return std::nullopt;
  return r->back();
}

namespace {
// Index of the first sample with time >= newest - window.
size_t WindowStart(const SampleRing& r, Duration window) {
  MonoTime from = r.back().time - window;
  size_t i = r.size() - 1;
  while (i > 0 && r.at(i - 1).time >= from) --i;
  return i;
}
}  // namespace

std::optional<double> TimeSeriesStore::Rate(std::string_view target, std::string_view name,
                                            Duration window) const {
  const SampleRing* r = Find(target, name);
  if (r == nullptr || r->size() < 2) return std::nullopt;
  size_t first = WindowStart(*r, window);
  // Restart after the last drop so a reset counter never yields a negative rate.
  for (size_t i = first + 1; i < r->size(); ++i) {
    if (r->at(i).value < r->at(i - 1).value) first = i;
  }
  const Sample& a = r->at(first);
  const Sample& b = r->back();
  double dt = ToSeconds(b.time - a.time);
  if (dt <= 0) return std::nullopt;
  return (b.value - a.value) / dt;
}

std::optional<double> TimeSeriesStore::Mean(std::string_view target, std::string_view name,
                                            Duration window) const {
  const SampleRing* r = Find(target, name);
  if (r == nullptr || r->empty()) return std::nullopt;
  size_t first = WindowStart(*r, window);
  double sum = 0;
  for (size_t i = first; i < r->size(); ++i) sum += r->at(i).value;
  return sum / static_cast<double>(r->size() - first);
}

std::vector<Sample> TimeSeriesStore::Window(std::string_view target, std::string_view name,
                                            Duration window) const {
  std::vector<Sample> out;
  const SampleRing* r = Find(target, name);
  if (r == nullptr || r->empty()) return out;
  for (size_t i = WindowStart(*r, window); i < r->size(); ++i) out.push_back(r->at(i));
  return out;
}

std::optional<Duration> TimeSeriesStore::Age(std::string_view target, std::string_view name,
                                             MonoTime now) const {
  auto s = Latest(target, name);
  if (!s) return std::nullopt;
  return now - s->time;
}

void TimeSeriesStore::RecordSnapshot(const Snapshot& snap) {
  const MonoTime t = snap.time;
  const HostSnapshot& h = snap.host;
  Append(series::kHostTarget, series::kHostLoad1, t, h.load1);
  double busy = 0, total = 0;
  for (double v : h.cpu_busy_seconds) busy += v;
  for (double v : h.cpu_total_seconds) total += v;
  if (total > 0) {
    Append(series::kHostTarget, series::kHostCpuBusySeconds, t, busy);
    Append(series::kHostTarget, series::kHostCpuTotalSeconds, t, total);
  }
  if (h.pressure.cpu && h.pressure.cpu->some) {
    Append(series::kHostTarget, series::kHostCpuPressureSome, t, h.pressure.cpu->some->avg10);
  }
  Append(series::kHostTarget, series::kHostListenOverflows, t,
         static_cast<double>(h.listen_overflows));

  for (const auto& [name, ts] : snap.targets) {
    if (ts.cpu) {
      const CpuStats& c = *ts.cpu;
      Append(name, series::kCpuSeconds, t, c.user_seconds + c.system_seconds);
      Append(name, series::kCpuUserSeconds, t, c.user_seconds);
      Append(name, series::kCpuSystemSeconds, t, c.system_seconds);
      Append(name, series::kRunqueueDelaySeconds, t, c.runqueue_delay_seconds);
      Append(name, series::kTimeslices, t, static_cast<double>(c.timeslices));
      Append(name, series::kVoluntarySwitches, t, static_cast<double>(c.voluntary_ctxt_switches));
      Append(name, series::kInvoluntarySwitches, t,
             static_cast<double>(c.nonvoluntary_ctxt_switches));
      Append(name, series::kThreads, t, c.threads);
      if (c.cgroup_throttled_seconds) {
        Append(name, series::kThrottledSeconds, t, *c.cgroup_throttled_seconds);
      }
    }
    if (ts.memory) {
      Append(name, series::kRssBytes, t, static_cast<double>(ts.memory->rss_bytes));
      if (ts.memory->pss_bytes) {
        Append(name, series::kPssBytes, t, static_cast<double>(*ts.memory->pss_bytes));
      }
      Append(name, series::kMajorFaults, t, static_cast<double>(ts.memory->major_faults));
      Append(name, series::kMinorFaults, t, static_cast<double>(ts.memory->minor_faults));
    }
    if (ts.cgroup_pressure && ts.cgroup_pressure->cpu && ts.cgroup_pressure->cpu->some) {
      Append(name, series::kCgroupCpuPressureSome, t, ts.cgroup_pressure->cpu->some->avg10);
    }
    if (ts.sockets) {
      double q = 0;
      for (const auto& l : ts.sockets->listeners) q += l.accept_queue;
      Append(name, series::kAcceptQueue, t, q);
      Append(name, series::kRetransmits, t, static_cast<double>(ts.sockets->retransmits_total));
      Append(name, series::kRttSeconds, t, ts.sockets->rtt_seconds_mean);
    }
    if (ts.perf) {
      if (ts.perf->cache_misses) {
        Append(name, series::kCacheMisses, t, static_cast<double>(*ts.perf->cache_misses));
      }
      if (ts.perf->instructions) {
        Append(name, series::kInstructions, t, static_cast<double>(*ts.perf->instructions));
      }
    }
    if (ts.app) {
      Append(name, series::kAppRequests, t, ts.app->requests_total);
      Append(name, series::kAppErrors, t, ts.app->errors_total);
      Append(name, series::kAppInFlight, t, ts.app->in_flight);
      if (ts.app->latency_p99_seconds) {
        Append(name, series::kAppP99Seconds, t, *ts.app->latency_p99_seconds);
      }
    }
  }
}

void TimeSeriesStore::ForgetTarget(std::string_view target) {
  auto it = data_.find(target);
  if (it != data_.end()) data_.erase(it);
}

std::vector<std::string> TimeSeriesStore::Targets() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : data_) out.push_back(k);
  return out;
}

}  // namespace knob
