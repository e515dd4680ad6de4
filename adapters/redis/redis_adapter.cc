// SPDX-License-Identifier: Apache-2.0
// knob-redis-adapter: makes an unmodified Redis tunable by knobd (docs/adapters.md).
//
//   knob cache_bytes = Redis `maxmemory`, set with CONFIG SET and read back with CONFIG GET;
//   the ack carries the value Redis reports, or Redis's own error text when it refuses.
//   report, read just before each is sent, from Redis's own counters:
//     requests_total / latency   LATENCY HISTOGRAM (Redis >= 7: per-command cumulative buckets
//                                of 2^k µs; their interval deltas are the report's histogram),
//                                else INFO commandstats (calls and the interval's mean latency)
//     errors_total               INFO stats total_error_replies + rejected_connections
//     in_flight                  INFO clients blocked_clients
//     caches.keyspace            keyspace_hits / keyspace_misses, used_memory, maxmemory
//     gauges                     evicted_keys, connected_clients, instantaneous_ops_per_sec
// Redis gives no reuse-distance histogram, so knobd models this cache from the hit ratios it
// observes at each maxmemory (optimizers/models/observed_mrc.h).
// Thread rule: the Redis connection is shared by the poll (before each report) and the knob
// callback (the client's thread): every command goes through Redis::Command under its mutex.
#include <hiredis/hiredis.h>
#include <knob/client.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/common/adapter.h"

namespace knob::adapter {
namespace {

constexpr const char* kName = "knob-redis-adapter";

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// "key:value" lines of an INFO section.
std::map<std::string, std::string> ParseInfo(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (!line.empty() && line[0] != '#' && colon != std::string::npos)
      out[line.substr(0, colon)] = line.substr(colon + 1);
    pos = eol + 1;
  }
  return out;
}

double Field(const std::map<std::string, std::string>& info, const std::string& key) {
  auto it = info.find(key);
  return it == info.end() ? 0 : std::strtod(it->second.c_str(), nullptr);
}

class Redis {
 public:
  Status Connect(const Flags& f) {
    std::lock_guard<std::mutex> lock(mu_);
    return ConnectLocked(f);
  }

  // Runs one command (argv form: no quoting issues); reconnects once when the link broke.
  Result<Reply> Command(const std::vector<std::string>& args) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!ctx_) KNOB_RETURN_IF_ERROR(ConnectLocked(flags_));
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (const auto& a : args) {
        argv.push_back(a.c_str());
        lens.push_back(a.size());
      }
      auto* raw = static_cast<redisReply*>(
          redisCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(), lens.data()));
      if (raw != nullptr) {
        Reply r(raw);
        if (r->type == REDIS_REPLY_ERROR) return UnavailableError(std::string(r->str, r->len));
        return r;
      }
      std::string err = ctx_->errstr;
      ctx_.reset();
      if (attempt == 1) return UnavailableError("redis: " + err);
    }
    return UnavailableError("redis: unreachable");
  }

  Result<std::string> Text(const std::vector<std::string>& args) {
    KNOB_ASSIGN_OR_RETURN(Reply r, Command(args));
    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
      return InternalError("redis: unexpected reply type to " + args[0]);
    return std::string(r->str, r->len);
  }

  Result<double> MaxMemory() {
    KNOB_ASSIGN_OR_RETURN(Reply r, Command({"CONFIG", "GET", "maxmemory"}));
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[1]->type != REDIS_REPLY_STRING)
      return InternalError("redis: CONFIG GET maxmemory: unexpected reply");
    return std::strtod(r->element[1]->str, nullptr);
  }

 private:
  struct CtxFree {
    void operator()(redisContext* c) const { redisFree(c); }
  };

  Status ConnectLocked(const Flags& f) {
    flags_ = f;
    timeval tv{2, 0};
    redisContext* c = f.Has("redis-socket")
                          ? redisConnectUnixWithTimeout(f.Get("redis-socket").c_str(), tv)
                          : redisConnectWithTimeout(f.Get("redis-host").c_str(),
                                                    std::atoi(f.Get("redis-port").c_str()), tv);
    if (c == nullptr) return UnavailableError("redis: cannot allocate a context");
    std::unique_ptr<redisContext, CtxFree> ctx(c);
    if (ctx->err) return UnavailableError(std::string("redis: ") + ctx->errstr);
    redisSetTimeout(ctx.get(), tv);
    KNOB_ASSIGN_OR_RETURN(std::string password, ReadSecretFile(f.Get("password-file")));
    if (!password.empty()) {
      auto* raw = static_cast<redisReply*>(redisCommand(ctx.get(), "AUTH %s", password.c_str()));
      if (raw == nullptr) return UnavailableError(std::string("redis: AUTH: ") + ctx->errstr);
      Reply r(raw);
      if (r->type == REDIS_REPLY_ERROR)
        return PermissionDeniedError("redis: AUTH: " + std::string(r->str, r->len));
    }
    ctx_ = std::move(ctx);
    return OkStatus();
  }

  std::mutex mu_;
  Flags flags_;
  std::unique_ptr<redisContext, CtxFree> ctx_;
};

// Per-command cumulative bucket counts of LATENCY HISTOGRAM: command -> (bucket µs -> count).
using Buckets = std::map<std::string, std::map<int64_t, uint64_t>>;

// The reply is [cmd, [ "calls", N, "histogram_usec", [b1, c1, b2, c2, ...] ], cmd, ...] where
// each c is the cumulative count of calls that took <= b µs.
std::optional<Buckets> ParseLatencyHistogram(const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY) return std::nullopt;
  Buckets out;
  for (size_t i = 0; i + 1 < r.elements; i += 2) {
    const redisReply* name = r.element[i];
    const redisReply* body = r.element[i + 1];
    if (name->type != REDIS_REPLY_STRING && name->type != REDIS_REPLY_STATUS) return std::nullopt;
    auto& cmd = out[std::string(name->str, name->len)];
    for (size_t j = 0; j + 1 < body->elements; j += 2) {
      const redisReply* key = body->element[j];
      const redisReply* val = body->element[j + 1];
      if (key->type != REDIS_REPLY_STRING || std::string(key->str, key->len) != "histogram_usec")
        continue;
      for (size_t k = 0; k + 1 < val->elements; k += 2)
        cmd[val->element[k]->integer] = static_cast<uint64_t>(val->element[k + 1]->integer);
    }
  }
  return out;
}

class RedisAdapter {
 public:
  RedisAdapter(Redis& redis, Client& client) : redis_(redis), client_(client) {}

  Status Poll() {
    KNOB_ASSIGN_OR_RETURN(std::string stats_text, redis_.Text({"INFO", "stats"}));
    KNOB_ASSIGN_OR_RETURN(std::string memory_text, redis_.Text({"INFO", "memory"}));
    KNOB_ASSIGN_OR_RETURN(std::string clients_text, redis_.Text({"INFO", "clients"}));
    auto stats = ParseInfo(stats_text), memory = ParseInfo(memory_text),
         clients = ParseInfo(clients_text);
    KNOB_RETURN_IF_ERROR(RecordLatency());

    const double errors =
        Field(stats, "total_error_replies") + Field(stats, "rejected_connections");
    const double hits = Field(stats, "keyspace_hits"), misses = Field(stats, "keyspace_misses");
    if (first_) {
      // Redis's counters run since its start; the report's run since the adapter's.
      first_ = false;
    } else {
      // A restarted Redis starts its counters at zero again: skip that interval.
      if (errors >= errors_ && hits >= hits_ && misses >= misses_) {
        client_.RecordErrors(static_cast<uint64_t>(errors - errors_));
        client_.cache("keyspace")
            .Add(static_cast<uint64_t>(hits - hits_), static_cast<uint64_t>(misses - misses_));
      }
    }
    errors_ = errors;
    hits_ = hits;
    misses_ = misses;
    const double maxmemory = Field(memory, "maxmemory");
    client_.cache("keyspace").SetBytes(Field(memory, "used_memory"));
    client_.cache("keyspace").SetCapacity(maxmemory);
    client_.UpdateKnobValue("cache_bytes", maxmemory);
    client_.SetInFlight(Field(clients, "blocked_clients"));
    client_.SetGauge("evicted_keys", Field(stats, "evicted_keys"));
    client_.SetGauge("connected_clients", Field(clients, "connected_clients"));
    client_.SetGauge("instantaneous_ops_per_sec", Field(stats, "instantaneous_ops_per_sec"));
    client_.SetGauge("used_memory_bytes", Field(memory, "used_memory"));
    return OkStatus();
  }

  SetResult SetMaxMemory(double value) {
    const auto bytes = static_cast<uint64_t>(std::llround(value));
    auto set = redis_.Command({"CONFIG", "SET", "maxmemory", std::to_string(bytes)});
    if (!set.ok()) return SetResult::Rejected(set.status().message());
    auto now = redis_.MaxMemory();
    if (!now.ok())
      return SetResult::Rejected("set, but cannot read back: " + now.status().message());
    if (*now != static_cast<double>(bytes))
      return SetResult::Rejected("Redis reports maxmemory " + std::to_string(*now) + " after set");
    client_.UpdateKnobValue("cache_bytes", *now);
    return SetResult::Applied(*now);
  }

 private:
  // Feeds the interval's new calls into the client's histogram, each bucket at its upper bound.
  Status RecordLatency() {
    auto r = redis_.Command({"LATENCY", "HISTOGRAM"});
    std::optional<Buckets> now;
    if (r.ok()) now = ParseLatencyHistogram(**r);
    if (!now) return RecordLatencyFromCommandStats();
    if (prev_) {
      for (const auto& [cmd, buckets] : *now) {
        const auto& before = (*prev_)[cmd];
        uint64_t below = 0, below_before = 0;
        for (const auto& [usec, cum] : buckets) {
          auto b = before.find(usec);
          uint64_t cum_before = b == before.end() ? below_before : b->second;
          uint64_t n = cum - below, n_before = cum_before - below_before;
          below = cum;
          below_before = cum_before;
          if (n > n_before) client_.RecordRequests(n - n_before, std::chrono::microseconds(usec));
        }
      }
    }
    prev_ = std::move(now);
    return OkStatus();
  }

  // Redis < 7: calls and total µs per command; the interval's mean latency for all its calls.
  Status RecordLatencyFromCommandStats() {
    KNOB_ASSIGN_OR_RETURN(std::string text, redis_.Text({"INFO", "commandstats"}));
    double calls = 0, usec = 0;
    for (const auto& [key, value] : ParseInfo(text)) {
      (void)key;
      for (const char* f : {"calls=", "usec="}) {
        size_t p = value.find(f);
        if (p == std::string::npos) continue;
        double v = std::strtod(value.c_str() + p + std::string(f).size(), nullptr);
        (std::string(f) == "calls=" ? calls : usec) += v;
      }
    }
    if (stat_calls_ && calls >= *stat_calls_ && usec >= stat_usec_) {
      double n = calls - *stat_calls_;
      if (n > 0)
        client_.RecordRequests(
            static_cast<uint64_t>(n),
            std::chrono::nanoseconds(static_cast<int64_t>(1000 * (usec - stat_usec_) / n)));
    }
    stat_calls_ = calls;
    stat_usec_ = usec;
    return OkStatus();
  }

  Redis& redis_;
  Client& client_;
  bool first_ = true;
  double errors_ = 0, hits_ = 0, misses_ = 0;
  std::optional<Buckets> prev_;
  std::optional<double> stat_calls_;
  double stat_usec_ = 0;
};

constexpr const char* kUsage =
    "usage: knob-redis-adapter [--redis-socket PATH | --redis-host HOST --redis-port PORT]\n"
    "         [--password-file FILE] [--name NAME] [--knobd-socket PATH] [--interval 1s]\n"
    "         [--min-bytes N] [--max-bytes N]\n"
    "Registers Redis with knobd as NAME (default redis) with one knob, cache_bytes = maxmemory,\n"
    "bounded by --min-bytes/--max-bytes (default 1 MiB .. 4 GiB). See docs/adapters.md.\n";

int Main(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv,
                            {{"redis-socket", ""},
                             {"redis-host", "127.0.0.1"},
                             {"redis-port", "6379"},
                             {"password-file", ""},
                             {"name", "redis"},
                             {"knobd-socket", ""},
                             {"interval", "1s"},
                             {"min-bytes", "1048576"},
                             {"max-bytes", "4294967296"}});
  if (!flags.ok()) return UsageError(kName, flags.status(), kUsage);
  auto interval = flags->Duration("interval");
  auto lo = flags->Number("min-bytes"), hi = flags->Number("max-bytes");
  for (const Status& s : {interval.status(), lo.status(), hi.status()})
    if (!s.ok()) return UsageError(kName, s, kUsage);
  InstallStopHandlers();
  Redis redis;
  if (!WaitUntilUp(kName, [&] { return redis.Connect(*flags); })) return 0;
  auto maxmemory = redis.MaxMemory();
  if (!maxmemory.ok()) {
    Log(kName, maxmemory.status().message());
    return 1;
  }
  ClientOptions options = BaseClientOptions(*flags, *interval);
  // Redis's own buckets (2^k µs, 1 µs to ~1 s): most commands finish far below the client's
  // default first bound of 50 µs, where every percentile would collapse onto one bucket.
  for (double b = 1e-6; b < 1.1; b *= 2) options.latency_bounds_seconds.push_back(b);
  Client client(options);
  RedisAdapter adapter(redis, client);
  client.RegisterKnob(
      {.name = "cache_bytes", .value = *maxmemory, .min = *lo, .max = *hi, .unit = "bytes"},
      [&](double v) { return adapter.SetMaxMemory(v); });
  return Serve(
      client, kName, [&] { return adapter.Poll(); },
      "relaying Redis (maxmemory " + std::to_string(static_cast<uint64_t>(*maxmemory)) +
          ") to knobd as '" + flags->Get("name") + "'");
}

}  // namespace
}  // namespace knob::adapter

int main(int argc, char** argv) { return knob::adapter::Main(argc, argv); }
