// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/report_merge.h"

#include <algorithm>
#include <optional>

namespace knob {
namespace {

// Quantile q of per-bucket counts (upper bounds `bounds`, the last bucket also holding what lay
// above it), interpolating linearly inside the bucket as the client library does.
std::optional<double> BucketQuantile(const std::vector<double>& bounds,
                                     const std::vector<uint64_t>& counts, double q) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0 || bounds.size() != counts.size()) return std::nullopt;
  const double rank = q * static_cast<double>(total);
  double seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double next = seen + static_cast<double>(counts[i]);
    if (next >= rank && counts[i] > 0) {
      const double lo = i == 0 ? 0 : bounds[i - 1];
      const double frac = (rank - seen) / static_cast<double>(counts[i]);
      return lo + (bounds[i] - lo) * std::clamp(frac, 0.0, 1.0);
    }
    seen = next;
  }
  return bounds.back();
}

void MaxInto(std::optional<double>& into, const std::optional<double>& v) {
  if (v && (!into || *v > *into)) into = v;
}

void AddCounters(const AppReport& from, AppReport& to) {
  to.requests_total += from.requests_total;
  to.errors_total += from.errors_total;
  for (const auto& [name, c] : from.caches) {
    AppReport::Cache& t = to.caches[name];
    t.hits_total += c.hits_total;
    t.misses_total += c.misses_total;
  }
}

}  // namespace

void Retire(const AppReport& last, AppReport& retired) { AddCounters(last, retired); }

AppReport MergeInstanceReports(const std::vector<const AppReport*>& live,
                               const AppReport& retired) {
  AppReport out;
  if (live.empty()) return out;
  if (live.size() == 1) {  // one process: its own report, exactly as it sent it
    out = *live.front();
    AddCounters(retired, out);
    return out;
  }
  const AppReport& first = *live.front();
  out.received = first.received;
  out.knobs = first.knobs;
  out.knob_lists = first.knob_lists;
  out.allocator = first.allocator;
  out.latency_bucket_bounds_seconds = first.latency_bucket_bounds_seconds;
  out.latency_bucket_counts.assign(out.latency_bucket_bounds_seconds.size(), 0);
  bool merged_histogram = false;
  std::optional<double> p50, p90, p99;  // of instances outside the merged histogram
  AddCounters(retired, out);
  for (const AppReport* r : live) {
    out.received = std::max(out.received, r->received);
    AddCounters(*r, out);
    out.in_flight += r->in_flight;
    out.queue_depth += r->queue_depth;
    out.latency_sum_seconds += r->latency_sum_seconds;
    const bool same_bounds =
        !r->latency_bucket_counts.empty() &&
        r->latency_bucket_bounds_seconds == out.latency_bucket_bounds_seconds &&
        r->latency_bucket_counts.size() == out.latency_bucket_counts.size();
    if (same_bounds) {
      for (size_t i = 0; i < r->latency_bucket_counts.size(); ++i)
        out.latency_bucket_counts[i] += r->latency_bucket_counts[i];
      merged_histogram = true;
    } else {
      MaxInto(p50, r->latency_p50_seconds);
      MaxInto(p90, r->latency_p90_seconds);
      MaxInto(p99, r->latency_p99_seconds);
    }
    for (const auto& [name, p] : r->pools) {
      AppReport::Pool& t = out.pools[name];
      t.size += p.size;
      t.busy += p.busy;
      t.waiters += p.waiters;
    }
    for (const auto& [name, c] : r->caches) {
      AppReport::Cache& t = out.caches[name];
      t.bytes += c.bytes;
      t.capacity_bytes += c.capacity_bytes;
      if (t.reuse_bounds_bytes.empty()) {
        t.reuse_bounds_bytes = c.reuse_bounds_bytes;
        t.reuse_counts.assign(c.reuse_counts.size(), 0);
        t.sample_rate = c.sample_rate;
      }
      // Reuse distances merge only over the same buckets and sampling rate; the shape of the
      // curve is what the cache model reads, and that is preserved by a sum.
      if (c.reuse_bounds_bytes == t.reuse_bounds_bytes && c.sample_rate == t.sample_rate &&
          c.reuse_counts.size() == t.reuse_counts.size()) {
        for (size_t i = 0; i < c.reuse_counts.size(); ++i) t.reuse_counts[i] += c.reuse_counts[i];
        t.reuse_cold += c.reuse_cold;
      }
    }
    for (const auto& [name, v] : r->gauges) out.gauges[name] += v;
  }
  if (merged_histogram) {
    out.latency_p50_seconds =
        BucketQuantile(out.latency_bucket_bounds_seconds, out.latency_bucket_counts, 0.50);
    out.latency_p90_seconds =
        BucketQuantile(out.latency_bucket_bounds_seconds, out.latency_bucket_counts, 0.90);
    out.latency_p99_seconds =
        BucketQuantile(out.latency_bucket_bounds_seconds, out.latency_bucket_counts, 0.99);
  } else {
    out.latency_bucket_bounds_seconds.clear();
    out.latency_bucket_counts.clear();
  }
  MaxInto(out.latency_p50_seconds, p50);
  MaxInto(out.latency_p90_seconds, p90);
  MaxInto(out.latency_p99_seconds, p99);
  return out;
}

AppReport PerInstance(AppReport merged, size_t instances) {
  if (instances <= 1) return merged;
  const double n = static_cast<double>(instances);
  for (auto& [name, p] : merged.pools) {
    p.size /= n;
    p.busy /= n;
    p.waiters /= n;
  }
  for (auto& [name, c] : merged.caches) {
    c.bytes /= n;
    c.capacity_bytes /= n;
  }
  return merged;
}

}  // namespace knob
