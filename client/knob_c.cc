// SPDX-License-Identifier: Apache-2.0
// The C ABI (<knob/knob.h>) over knob::Client. Nothing here may throw across the boundary.
#include <cmath>
#include <new>

#include "knob/client.h"
#include "knob/knob.h"

struct knob_client {
  explicit knob_client(knob::ClientOptions o) : client(std::move(o)) {}
  knob::Client client;
};

namespace {
std::optional<double> Bound(double v) {
  if (std::isnan(v)) return std::nullopt;
  return v;
}
}  // namespace

extern "C" {

knob_client* knob_client_new(const char* name, const char* socket_path) {
  if (name == nullptr || *name == '\0') return nullptr;
  knob::ClientOptions o;
  o.name = name;
  if (socket_path != nullptr) o.socket_path = socket_path;
  return new (std::nothrow) knob_client(std::move(o));
}

int knob_client_register_knob(knob_client* c, const char* name, double value, double min,
                              double max, const char* unit, knob_on_set_fn on_set, void* user) {
  if (c == nullptr || name == nullptr || on_set == nullptr) return -1;
  knob::KnobSpec spec{name, value, Bound(min), Bound(max), unit != nullptr ? unit : ""};
  std::string knob_name = name;
  c->client.RegisterKnob(std::move(spec), [on_set, user, knob_name](double v) {
    char reason[256] = {0};
    if (on_set(user, knob_name.c_str(), v, reason, sizeof(reason)) != 0)
      return knob::SetResult::Applied();
    reason[sizeof(reason) - 1] = '\0';
    return knob::SetResult::Rejected(reason[0] != '\0' ? reason : "rejected by the application");
  });
  return 0;
}

int knob_client_start(knob_client* c) {
  if (c == nullptr) return -1;
  return c->client.Start().ok() ? 0 : -1;
}

void knob_client_free(knob_client* c) { delete c; }

void knob_client_record_request(knob_client* c, uint64_t latency_ns) {
  if (c) c->client.RecordRequest(std::chrono::nanoseconds(static_cast<int64_t>(latency_ns)));
}
void knob_client_record_error(knob_client* c) {
  if (c) c->client.RecordError();
}
void knob_client_set_in_flight(knob_client* c, double n) {
  if (c) c->client.SetInFlight(n);
}
void knob_client_set_queue_depth(knob_client* c, double n) {
  if (c) c->client.SetQueueDepth(n);
}
void knob_client_set_pool(knob_client* c, const char* pool, double size, double busy,
                          double waiters) {
  if (c == nullptr || pool == nullptr) return;
  auto& p = c->client.pool(pool);
  p.size = size;
  p.busy = busy;
  p.waiters = waiters;
}
void knob_client_cache_hit(knob_client* c, const char* cache) {
  if (c && cache) c->client.cache(cache).Hit();
}
void knob_client_cache_miss(knob_client* c, const char* cache) {
  if (c && cache) c->client.cache(cache).Miss();
}
void knob_client_cache_access(knob_client* c, const char* cache, const char* key, size_t key_len,
                              uint64_t size_bytes) {
  if (c && cache && key) c->client.cache(cache).Access(std::string_view(key, key_len), size_bytes);
}
void knob_client_set_cache_size(knob_client* c, const char* cache, double bytes,
                                double capacity_bytes) {
  if (c == nullptr || cache == nullptr) return;
  auto& s = c->client.cache(cache);
  s.SetBytes(bytes);
  s.SetCapacity(capacity_bytes);
}
void knob_client_set_gauge(knob_client* c, const char* name, double value) {
  if (c && name) c->client.SetGauge(name, value);
}
int knob_client_connected(const knob_client* c) {
  return c != nullptr && c->client.connected() ? 1 : 0;
}

}  // extern "C"
