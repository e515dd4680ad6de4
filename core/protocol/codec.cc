// SPDX-License-Identifier: Apache-2.0
// Over 500 lines on purpose: every message's encoder and decoder sit side by side, so a field
// renamed on one side is seen on the other, and nlohmann_json stays private to this one file.
#include "core/protocol/codec.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/cpu_list.h"
#include "core/enum_names.h"
#include "core/protocol/recommendation_json.h"

namespace knob::protocol {
namespace {

using json = nlohmann::json;

// The wire names; the fallbacks are names a peer already understands.
constexpr auto kAckResultNames = MakeEnumNames<AckResult>(
    {{AckResult::kApplied, "applied"}, {AckResult::kRejected, "rejected"}}, "rejected");
constexpr auto kErrorCodeNames =
    MakeEnumNames<ErrorCode>({{ErrorCode::kBadJson, "bad_json"},
                              {ErrorCode::kBadMessage, "bad_message"},
                              {ErrorCode::kUnknownType, "unknown_type"},
                              {ErrorCode::kVersionMismatch, "version_mismatch"},
                              {ErrorCode::kTooLarge, "too_large"},
                              {ErrorCode::kRateLimited, "rate_limited"},
                              {ErrorCode::kTooManyClients, "too_many_clients"},
                              {ErrorCode::kIdleTimeout, "idle_timeout"},
                              {ErrorCode::kPermissionDenied, "permission_denied"},
                              {ErrorCode::kPidMismatch, "pid_mismatch"},
                              {ErrorCode::kNotRegistered, "not_registered"},
                              {ErrorCode::kAlreadyRegistered, "already_registered"},
                              {ErrorCode::kUnknownTarget, "unknown_target"},
                              {ErrorCode::kUnknownRecommendation, "unknown_recommendation"},
                              {ErrorCode::kInvalidArgument, "invalid_argument"},
                              {ErrorCode::kUnavailable, "unavailable"},
                              {ErrorCode::kInternal, "internal"}},
                             "internal");
constexpr auto kAdminOpNames = MakeEnumNames<AdminOp>({{AdminOp::kStatus, "status"},
                                                       {AdminOp::kTargets, "targets"},
                                                       {AdminOp::kShow, "show"},
                                                       {AdminOp::kHistory, "history"},
                                                       {AdminOp::kExplain, "explain"},
                                                       {AdminOp::kPause, "pause"},
                                                       {AdminOp::kResume, "resume"},
                                                       {AdminOp::kMode, "mode"},
                                                       {AdminOp::kReload, "reload"},
                                                       {AdminOp::kRestore, "restore"}},
                                                      "status");

constexpr auto kJsonTypeNames =
    MakeEnumNames<json::value_t>({{json::value_t::null, "null"},
                                  {json::value_t::boolean, "boolean"},
                                  {json::value_t::number_integer, "integer"},
                                  {json::value_t::number_unsigned, "integer"},
                                  {json::value_t::number_float, "number"},
                                  {json::value_t::string, "string"},
                                  {json::value_t::array, "array"},
                                  {json::value_t::object, "object"}},
                                 "value");

std::string_view JsonTypeName(const json& j) { return kJsonTypeNames.Name(j.type()); }

// Reads fields of one JSON object, remembering only the first problem so the error names the
// exact field. Nested objects get a dotted prefix ("pools.workers.size").
class Reader {
 public:
  Reader(const json& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void Fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
  }
  void Adopt(const Reader& child) {
    if (!child.ok()) Fail(child.error());
  }
  std::string Path(std::string_view name) const { return prefix_ + std::string(name); }
  std::string Child(std::string_view name) const { return Path(name) + "."; }

  const json* Get(std::string_view name, bool required) {
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) {
      if (required) Fail("missing field '" + Path(name) + "'");
      return nullptr;
    }
    return &*it;
  }
  bool Expect(std::string_view name, const json& v, bool good, std::string_view want) {
    if (good) return true;
    Fail("field '" + Path(name) + "': expected " + std::string(want) + ", got " +
         std::string(JsonTypeName(v)));
    return false;
  }

  void Str(std::string_view name, std::string& out, bool required = false) {
    const json* v = Get(name, required);
    if (v && Expect(name, *v, v->is_string(), "string")) out = v->get<std::string>();
  }
  void Bool(std::string_view name, bool& out, bool required = false) {
    const json* v = Get(name, required);
    if (v && Expect(name, *v, v->is_boolean(), "boolean")) out = v->get<bool>();
  }
  bool NumValue(std::string_view name, const json& v, double& out) {
    if (!Expect(name, v, v.is_number(), "number")) return false;
    out = v.get<double>();
    if (!std::isfinite(out)) {
      Fail("field '" + Path(name) + "': must be finite");
      return false;
    }
    return true;
  }
  void Num(std::string_view name, double& out, bool required = false) {
    const json* v = Get(name, required);
    if (v) NumValue(name, *v, out);
  }
  void NonNeg(std::string_view name, double& out, bool required = false) {
    const json* v = Get(name, required);
    double d = 0;
    if (v && NumValue(name, *v, d)) {
      if (d < 0) {
        Fail("field '" + Path(name) + "': must be >= 0, got " + v->dump());
        return;
      }
      out = d;
    }
  }
  void OptNum(std::string_view name, std::optional<double>& out) {
    const json* v = Get(name, false);
    double d = 0;
    if (v && NumValue(name, *v, d)) out = d;
  }
  bool UIntValue(std::string_view name, const json& v, uint64_t& out) {
    bool good = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
    if (!good && v.is_number_integer()) {
      Fail("field '" + Path(name) + "': expected non-negative integer, got " + v.dump());
      return false;
    }
    if (!Expect(name, v, good, "integer")) return false;
    out = v.get<uint64_t>();
    return true;
  }
  void UInt(std::string_view name, uint64_t& out, bool required = false) {
    const json* v = Get(name, required);
    if (v) UIntValue(name, *v, out);
  }
  void OptUInt(std::string_view name, std::optional<uint64_t>& out) {
    const json* v = Get(name, false);
    uint64_t u = 0;
    if (v && UIntValue(name, *v, u)) out = u;
  }
  void OptInt(std::string_view name, std::optional<int64_t>& out) {
    const json* v = Get(name, false);
    if (!v) return;
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t{INT64_MAX}) {
      Fail("field '" + Path(name) + "': out of range, got " + v->dump());
      return;
    }
    if (Expect(name, *v, v->is_number_integer(), "integer")) out = v->get<int64_t>();
  }
  const json* Obj(std::string_view name, bool required = false) {
    const json* v = Get(name, required);
    if (v && !Expect(name, *v, v->is_object(), "object")) return nullptr;
    return v;
  }
  const json* Arr(std::string_view name, bool required = false) {
    const json* v = Get(name, required);
    if (v && !Expect(name, *v, v->is_array(), "array")) return nullptr;
    return v;
  }
  void NumMap(std::string_view name, std::map<std::string, double>& out) {
    const json* o = Obj(name);
    if (!o) return;
    Reader r(*o, Child(name));
    for (auto it = o->begin(); it != o->end(); ++it) {
      double d = 0;
      if (r.NumValue(it.key(), it.value(), d)) out[it.key()] = d;
    }
    Adopt(r);
  }
  // A knob value: a number, or a CPU list as a string (core/cpu_list.h), stored canonical with
  // its CPU count as the number.
  bool KnobValue(std::string_view name, const json& v, double& out,
                 std::optional<std::string>& list) {
    if (!v.is_string()) return NumValue(name, v, out);
    auto cpus = ParseCpuList(v.get<std::string>());
    if (!cpus.ok()) {
      Fail("field '" + Path(name) + "': " + cpus.status().message());
      return false;
    }
    list = FormatCpuList(*cpus);
    out = static_cast<double>(cpus->size());
    return true;
  }
  void Knob(std::string_view name, double& out, std::optional<std::string>& list,
            bool required = false) {
    const json* v = Get(name, required);
    if (v) KnobValue(name, *v, out, list);
  }
  void KnobMap(std::string_view name, std::map<std::string, double>& out,
               std::map<std::string, std::string>& lists) {
    const json* o = Obj(name);
    if (!o) return;
    Reader r(*o, Child(name));
    for (auto it = o->begin(); it != o->end(); ++it) {
      double d = 0;
      std::optional<std::string> list;
      if (!r.KnobValue(it.key(), it.value(), d, list)) continue;
      out[it.key()] = d;
      if (list) lists[it.key()] = *list;
    }
    Adopt(r);
  }
  void NumArray(std::string_view name, std::vector<double>& out) {
    const json* a = Arr(name);
    if (!a) return;
    out.clear();
    for (size_t i = 0; i < a->size(); ++i) {
      double d = 0;
      if (!NumValue(std::string(name) + "[" + std::to_string(i) + "]", (*a)[i], d)) return;
      out.push_back(d);
    }
  }
  void UIntArray(std::string_view name, std::vector<uint64_t>& out) {
    const json* a = Arr(name);
    if (!a) return;
    out.clear();
    for (size_t i = 0; i < a->size(); ++i) {
      uint64_t u = 0;
      if (!UIntValue(std::string(name) + "[" + std::to_string(i) + "]", (*a)[i], u)) return;
      out.push_back(u);
    }
  }
  void StrArray(std::string_view name, std::vector<std::string>& out) {
    const json* a = Arr(name);
    if (!a) return;
    out.clear();
    for (size_t i = 0; i < a->size(); ++i) {
      const json& e = (*a)[i];
      if (!Expect(std::string(name) + "[" + std::to_string(i) + "]", e, e.is_string(), "string"))
        return;
      out.push_back(e.get<std::string>());
    }
  }

 private:
  const json& obj_;
  std::string prefix_;
  std::string error_;
};

double ToUnixSeconds(WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}
WallTime FromUnixSeconds(double s) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(s)));
}

json NumMapJson(const std::map<std::string, double>& m) {
  json o = json::object();
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

// ---- AppReport ----

json AppReportJson(const AppReport& a, bool with_received) {
  json j = json::object();
  if (with_received) j["received_unix"] = ToUnixSeconds(a.received);
  j["requests_total"] = a.requests_total;
  j["errors_total"] = a.errors_total;
  j["in_flight"] = a.in_flight;
  j["queue_depth"] = a.queue_depth;
  json lat = json::object();
  // A percentile is absent, never null, when there is none (JSON has no NaN).
  auto put = [&lat](const char* key, const std::optional<double>& v) {
    if (v && std::isfinite(*v)) lat[key] = *v;
  };
  put("p50", a.latency_p50_seconds);
  put("p90", a.latency_p90_seconds);
  put("p99", a.latency_p99_seconds);
  if (!a.latency_bucket_bounds_seconds.empty()) {
    lat["bounds"] = a.latency_bucket_bounds_seconds;
    lat["counts"] = a.latency_bucket_counts;
  }
  lat["sum"] = a.latency_sum_seconds;
  j["latency"] = std::move(lat);
  if (!a.pools.empty()) {
    json pools = json::object();
    for (const auto& [name, p] : a.pools)
      pools[name] = {{"size", p.size}, {"busy", p.busy}, {"waiters", p.waiters}};
    j["pools"] = std::move(pools);
  }
  if (!a.caches.empty()) {
    json caches = json::object();
    for (const auto& [name, c] : a.caches) {
      json cj = {{"hits_total", c.hits_total},
                 {"misses_total", c.misses_total},
                 {"bytes", c.bytes},
                 {"capacity_bytes", c.capacity_bytes}};
      if (c.sample_rate > 0) {
        cj["reuse"] = {{"bounds", c.reuse_bounds_bytes},
                       {"counts", c.reuse_counts},
                       {"cold", c.reuse_cold},
                       {"sample_rate", c.sample_rate}};
      }
      caches[name] = std::move(cj);
    }
    j["caches"] = std::move(caches);
  }
  if (a.allocator) {
    const auto& al = *a.allocator;
    j["allocator"] = {{"kind", al.kind},     {"allocated", al.allocated},
                      {"active", al.active}, {"resident", al.resident},
                      {"mapped", al.mapped}, {"retained", al.retained}};
  }
  if (!a.knobs.empty()) {
    json knobs = NumMapJson(a.knobs);
    for (const auto& [k, list] : a.knob_lists) knobs[k] = list;
    j["knobs"] = std::move(knobs);
  }
  if (!a.gauges.empty()) j["gauges"] = NumMapJson(a.gauges);
  return j;
}

bool CheckHistogram(Reader& r, std::string_view what, const std::vector<double>& bounds,
                    size_t counts) {
  if (bounds.size() != counts) {
    r.Fail("field '" + r.Path(what) + "': 'bounds' has " + std::to_string(bounds.size()) +
           " entries but 'counts' has " + std::to_string(counts));
    return false;
  }
  for (size_t i = 1; i < bounds.size(); ++i) {
    if (!(bounds[i] > bounds[i - 1])) {
      r.Fail("field '" + r.Path(what) + ".bounds': must be strictly ascending");
      return false;
    }
  }
  return true;
}

void ReadAppReport(Reader& r, AppReport& a, bool with_received) {
  if (with_received) {
    double s = 0;
    r.Num("received_unix", s);
    a.received = FromUnixSeconds(s);
  }
  r.NonNeg("requests_total", a.requests_total, true);
  r.NonNeg("errors_total", a.errors_total, true);
  r.NonNeg("in_flight", a.in_flight);
  r.NonNeg("queue_depth", a.queue_depth);
  if (const json* lat = r.Obj("latency")) {
    Reader lr(*lat, r.Child("latency"));
    lr.OptNum("p50", a.latency_p50_seconds);
    lr.OptNum("p90", a.latency_p90_seconds);
    lr.OptNum("p99", a.latency_p99_seconds);
    lr.NumArray("bounds", a.latency_bucket_bounds_seconds);
    lr.UIntArray("counts", a.latency_bucket_counts);
    lr.NonNeg("sum", a.latency_sum_seconds);
    if (lr.ok())
      CheckHistogram(lr, "", a.latency_bucket_bounds_seconds, a.latency_bucket_counts.size());
    r.Adopt(lr);
  }
  if (const json* pools = r.Obj("pools")) {
    for (auto it = pools->begin(); it != pools->end() && r.ok(); ++it) {
      std::string path = r.Child("pools") + it.key();
      if (!it.value().is_object()) {
        r.Fail("field '" + path + "': expected object, got " +
               std::string(JsonTypeName(it.value())));
        break;
      }
      Reader pr(it.value(), path + ".");
      AppReport::Pool p;
      pr.NonNeg("size", p.size, true);
      pr.NonNeg("busy", p.busy);
      pr.NonNeg("waiters", p.waiters);
      r.Adopt(pr);
      a.pools[it.key()] = p;
    }
  }
  if (const json* caches = r.Obj("caches")) {
    for (auto it = caches->begin(); it != caches->end() && r.ok(); ++it) {
      std::string path = r.Child("caches") + it.key();
      if (!it.value().is_object()) {
        r.Fail("field '" + path + "': expected object, got " +
               std::string(JsonTypeName(it.value())));
        break;
      }
      Reader cr(it.value(), path + ".");
      AppReport::Cache c;
      cr.NonNeg("hits_total", c.hits_total, true);
      cr.NonNeg("misses_total", c.misses_total, true);
      cr.NonNeg("bytes", c.bytes);
      cr.NonNeg("capacity_bytes", c.capacity_bytes);
      if (const json* reuse = cr.Obj("reuse")) {
        Reader rr(*reuse, cr.Child("reuse"));
        rr.NumArray("bounds", c.reuse_bounds_bytes);
        rr.UIntArray("counts", c.reuse_counts);
        rr.UInt("cold", c.reuse_cold);
        rr.NonNeg("sample_rate", c.sample_rate, true);
        if (rr.ok()) CheckHistogram(rr, "", c.reuse_bounds_bytes, c.reuse_counts.size());
        if (rr.ok() && c.sample_rate > 1)
          rr.Fail("field '" + rr.Path("sample_rate") + "': must be <= 1");
        cr.Adopt(rr);
      }
      r.Adopt(cr);
      a.caches[it.key()] = std::move(c);
    }
  }
  if (const json* al = r.Obj("allocator")) {
    Reader ar(*al, r.Child("allocator"));
    AppReport::Allocator alloc;
    ar.Str("kind", alloc.kind, true);
    ar.NonNeg("allocated", alloc.allocated);
    ar.NonNeg("active", alloc.active);
    ar.NonNeg("resident", alloc.resident);
    ar.NonNeg("mapped", alloc.mapped);
    ar.NonNeg("retained", alloc.retained);
    r.Adopt(ar);
    a.allocator = std::move(alloc);
  }
  r.KnobMap("knobs", a.knobs, a.knob_lists);
  r.NumMap("gauges", a.gauges);
}

// ---- Recommendation ----

// JSON has no inf/NaN (nlohmann would write null, which reads back as missing or fails).
double FiniteOrZero(double v) { return std::isfinite(v) ? v : 0; }
json FiniteNumMapJson(const std::map<std::string, double>& m) {
  json o = json::object();
  for (const auto& [k, v] : m) {
    if (std::isfinite(v)) o[k] = v;
  }
  return o;
}
int64_t ToUnixNanos(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
WallTime FromUnixNanos(int64_t n) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(n)));
}

json RecommendationJson(const Recommendation& rec) {
  json verdicts = json::array();
  for (const auto& v : rec.verdicts)
    verdicts.push_back(
        {{"guard", v.guard}, {"verdict", VerdictName(v.verdict)}, {"reason", v.reason}});
  json j = {{"id", rec.id},
            {"target", rec.target},
            {"knob", rec.knob},
            {"old_value", FiniteOrZero(rec.old_value)},
            {"new_value", FiniteOrZero(rec.new_value)},
            {"optimizer", rec.optimizer},
            {"scenario", rec.scenario},
            {"reason", rec.reason},
            {"triggers", FiniteNumMapJson(rec.triggers)},
            {"predicted", FiniteNumMapJson(rec.predicted)},
            {"realized", FiniteNumMapJson(rec.realized)},
            {"binding_constraint", rec.binding_constraint},
            {"confidence", FiniteOrZero(rec.confidence)},
            {"trade_offs", rec.trade_offs},
            {"verdicts", std::move(verdicts)},
            {"advisory", rec.advisory},
            {"outcome", OutcomeName(rec.outcome)},
            {"outcome_reason", rec.outcome_reason},
            {"created_unix", ToUnixSeconds(rec.created)},
            {"expires_unix", ToUnixSeconds(rec.expires)},
            {"created_ns", ToUnixNanos(rec.created)},
            {"expires_ns", ToUnixNanos(rec.expires)}};
  // Only for a list-valued knob, so records of numeric knobs stay as they were.
  if (!rec.new_list.empty()) j["new_list"] = rec.new_list;
  if (!rec.old_list.empty()) j["old_list"] = rec.old_list;
  return j;
}

void ReadRecommendation(Reader& r, Recommendation& rec) {
  r.UInt("id", rec.id, true);
  r.Str("target", rec.target, true);
  r.Str("knob", rec.knob, true);
  r.Num("old_value", rec.old_value);
  r.Num("new_value", rec.new_value, true);
  r.Str("old_list", rec.old_list);
  r.Str("new_list", rec.new_list);
  r.Str("optimizer", rec.optimizer);
  r.Str("scenario", rec.scenario);
  r.Str("reason", rec.reason);
  r.NumMap("triggers", rec.triggers);
  r.NumMap("predicted", rec.predicted);
  r.NumMap("realized", rec.realized);
  r.Str("binding_constraint", rec.binding_constraint);
  r.Num("confidence", rec.confidence);
  r.StrArray("trade_offs", rec.trade_offs);
  if (const json* vs = r.Arr("verdicts")) {
    for (size_t i = 0; i < vs->size() && r.ok(); ++i) {
      std::string path = r.Path("verdicts") + "[" + std::to_string(i) + "]";
      if (!(*vs)[i].is_object()) {
        r.Fail("field '" + path + "': expected object, got " + std::string(JsonTypeName((*vs)[i])));
        break;
      }
      Reader vr((*vs)[i], path + ".");
      GuardVerdict v;
      vr.Str("guard", v.guard, true);
      std::string verdict;
      vr.Str("verdict", verdict, true);
      if (auto parsed = ParseVerdict(verdict))
        v.verdict = *parsed;
      else if (!verdict.empty())
        vr.Fail("field '" + vr.Path("verdict") + "': unknown verdict '" + verdict +
                "' (allow, clamp or veto)");
      vr.Str("reason", v.reason);
      r.Adopt(vr);
      rec.verdicts.push_back(std::move(v));
    }
  }
  r.Bool("advisory", rec.advisory);
  std::string outcome;
  r.Str("outcome", outcome);
  if (!outcome.empty()) {
    auto o = ParseOutcome(outcome);
    if (!o)
      r.Fail("field '" + r.Path("outcome") + "': unknown outcome '" + outcome + "'");
    else
      rec.outcome = *o;
  }
  r.Str("outcome_reason", rec.outcome_reason);
  // The exact nanoseconds when present (a state file, a newer peer), else the seconds.
  double created = 0, expires = 0;
  r.Num("created_unix", created);
  r.Num("expires_unix", expires);
  std::optional<int64_t> created_ns, expires_ns;
  r.OptInt("created_ns", created_ns);
  r.OptInt("expires_ns", expires_ns);
  rec.created = created_ns ? FromUnixNanos(*created_ns) : FromUnixSeconds(created);
  rec.expires = expires_ns ? FromUnixNanos(*expires_ns) : FromUnixSeconds(expires);
}

// ---- Knobs, targets ----

json KnobJson(const KnobInfo& k) {
  json j = {{"name", k.name}, {"value", k.value}};
  if (k.list) j["value"] = *k.list;
  if (k.min) j["min"] = *k.min;
  if (k.max) j["max"] = *k.max;
  if (!k.unit.empty()) j["unit"] = k.unit;
  return j;
}

void ReadKnobs(Reader& r, std::string_view field, std::vector<KnobInfo>& out) {
  const json* ks = r.Arr(field);
  if (!ks) return;
  for (size_t i = 0; i < ks->size() && r.ok(); ++i) {
    std::string path = r.Path(field) + "[" + std::to_string(i) + "]";
    if (!(*ks)[i].is_object()) {
      r.Fail("field '" + path + "': expected object, got " + std::string(JsonTypeName((*ks)[i])));
      break;
    }
    Reader kr((*ks)[i], path + ".");
    KnobInfo k;
    kr.Str("name", k.name, true);
    if (kr.ok() && k.name.empty()) kr.Fail("field '" + kr.Path("name") + "': must not be empty");
    kr.Knob("value", k.value, k.list, true);
    kr.OptNum("min", k.min);
    kr.OptNum("max", k.max);
    kr.Str("unit", k.unit);
    if (kr.ok() && k.min && k.max && *k.min > *k.max)
      kr.Fail("field '" + path + "': min " + std::to_string(*k.min) + " > max " +
              std::to_string(*k.max));
    r.Adopt(kr);
    out.push_back(std::move(k));
  }
}

json TargetJson(const TargetInfo& t) {
  json j = {{"name", t.name},
            {"state", t.state},
            {"mode", t.mode},
            {"connected", t.connected},
            {"pid", t.pid},
            {"reports", t.reports},
            {"recommendations", t.recommendations}};
  if (t.last_report_age_seconds) j["last_report_age_seconds"] = *t.last_report_age_seconds;
  if (!t.phase.empty()) j["phase"] = t.phase;
  j["instances"] = t.instances;
  return j;
}

void ReadTarget(Reader& r, TargetInfo& t) {
  r.Str("name", t.name, true);
  r.Str("state", t.state);
  r.Str("mode", t.mode);
  r.Str("phase", t.phase);
  r.Bool("connected", t.connected);
  uint64_t pid = 0;
  r.UInt("pid", pid);
  if (r.ok() && pid > 0x7fffffff) {
    r.Fail("field '" + r.Path("pid") + "': out of range for a pid");
  }
  t.pid = static_cast<pid_t>(pid);
  r.OptNum("last_report_age_seconds", t.last_report_age_seconds);
  r.UInt("reports", t.reports);
  r.UInt("recommendations", t.recommendations);
  uint64_t instances = 0;
  r.UInt("instances", instances);
  if (r.ok() && instances > 0xffffffffu)
    r.Fail("field '" + r.Path("instances") + "': out of range for an instance count");
  t.instances = static_cast<uint32_t>(instances);
}

// ---- Per-message ----

json Body(const Hello& m) {
  json knobs = json::array();
  for (const auto& k : m.knobs) knobs.push_back(KnobJson(k));
  json j = {{"name", m.name}, {"pid", m.pid}, {"knobs", std::move(knobs)}, {"metrics", m.metrics}};
  if (!m.client.empty()) j["client"] = m.client;
  return j;
}
json Body(const Report& m) {
  json j = AppReportJson(m.app, false);
  j["seq"] = m.seq;
  return j;
}
json Body(const Ack& m) {
  json j = {{"id", m.id}, {"knob", m.knob}, {"result", AckResultName(m.result)}};
  if (m.value) j["value"] = *m.value;
  if (m.list) j["value"] = *m.list;
  if (!m.reason.empty()) j["reason"] = m.reason;
  return j;
}
json Body(const Bye& m) {
  json j = json::object();
  if (!m.reason.empty()) j["reason"] = m.reason;
  return j;
}
json Body(const Welcome& m) {
  return {{"session", m.session},
          {"target", m.target},
          {"tick_interval_seconds", m.tick_interval_seconds},
          {"mode", m.mode}};
}
json Body(const Set& m) {
  json j = {{"id", m.id},
            {"knob", m.knob},
            {"value", m.value},
            {"old_value", m.old_value},
            {"reason", m.reason},
            {"predicted", NumMapJson(m.predicted)},
            {"advisory", m.advisory},
            {"expires_in_seconds", m.expires_in_seconds}};
  if (m.list) j["value"] = *m.list;
  if (m.old_list) j["old_value"] = *m.old_list;
  return j;
}
json Body(const Error& m) {
  json j = {{"code", ErrorCodeName(m.code)}, {"message", m.message}};
  if (m.id) j["id"] = *m.id;
  return j;
}
json Body(const AdminRequest& m) {
  json j = {{"id", m.id}};
  if (!m.target.empty()) j["target"] = m.target;
  if (m.op == AdminOp::kExplain) j["recommendation"] = m.recommendation;
  if (!m.mode.empty()) j["mode"] = m.mode;
  if (m.limit) j["limit"] = m.limit;
  if (m.all) j["all"] = true;
  return j;
}
json Body(const AdminReply& m) {
  json j = {{"id", m.id}, {"op", AdminOpName(m.op)}};
  if (m.status) {
    const auto& s = *m.status;
    j["status"] = {{"version", s.version},
                   {"pid", s.pid},
                   {"uptime_seconds", s.uptime_seconds},
                   {"mode", s.mode},
                   {"policy_source", s.policy_source},
                   {"tick_interval_seconds", s.tick_interval_seconds},
                   {"ticks", s.ticks},
                   {"targets", s.targets},
                   {"clients", s.clients},
                   {"degraded", s.degraded}};
  }
  if (m.targets) {
    json ts = json::array();
    for (const auto& t : *m.targets) ts.push_back(TargetJson(t));
    j["targets"] = std::move(ts);
  }
  if (m.show) {
    const auto& s = *m.show;
    json knobs = json::array();
    for (const auto& k : s.knobs) knobs.push_back(KnobJson(k));
    json sj = {{"target", TargetJson(s.target)},
               {"metrics", NumMapJson(s.metrics)},
               {"knobs", std::move(knobs)},
               {"model", NumMapJson(s.model)},
               {"notes", s.notes}};
    if (s.app) sj["app"] = AppReportJson(*s.app, true);
    if (!s.instances.empty()) {
      json is = json::array();
      for (const auto& in : s.instances) {
        json ij = {{"pid", in.pid}, {"reports", in.reports}};
        if (in.last_report_age_seconds) ij["last_report_age_seconds"] = *in.last_report_age_seconds;
        if (in.app) ij["app"] = AppReportJson(*in.app, true);
        is.push_back(std::move(ij));
      }
      sj["instances"] = std::move(is);
    }
    j["show"] = std::move(sj);
  }
  if (m.history) {
    json hs = json::array();
    for (const auto& r : *m.history) hs.push_back(RecommendationJson(r));
    j["history"] = std::move(hs);
  }
  if (m.recommendation) j["recommendation"] = RecommendationJson(*m.recommendation);
  if (!m.explanation.empty()) j["explanation"] = m.explanation;
  if (!m.message.empty()) j["message"] = m.message;
  return j;
}

void Read(Reader& r, Hello& m) {
  r.Str("name", m.name, true);
  if (r.ok() && m.name.empty()) r.Fail("field 'name': must not be empty");
  uint64_t pid = 0;
  r.UInt("pid", pid, true);
  if (r.ok() && (pid == 0 || pid > 0x7fffffff)) r.Fail("field 'pid': must be a positive pid");
  m.pid = static_cast<pid_t>(pid);
  ReadKnobs(r, "knobs", m.knobs);
  r.StrArray("metrics", m.metrics);
  r.Str("client", m.client);
}
void Read(Reader& r, Report& m) {
  r.UInt("seq", m.seq);
  ReadAppReport(r, m.app, false);
}
void Read(Reader& r, Ack& m) {
  r.UInt("id", m.id, true);
  r.Str("knob", m.knob);
  std::string result;
  r.Str("result", result, true);
  if (r.ok()) {
    if (result == "applied")
      m.result = AckResult::kApplied;
    else if (result == "rejected")
      m.result = AckResult::kRejected;
    else
      r.Fail("field 'result': expected \"applied\" or \"rejected\", got \"" + result + "\"");
  }
  if (const json* v = r.Get("value", false)) {
    double d = 0;
    if (r.KnobValue("value", *v, d, m.list)) m.value = d;
  }
  r.Str("reason", m.reason);
}
void Read(Reader& r, Bye& m) { r.Str("reason", m.reason); }
void Read(Reader& r, Welcome& m) {
  r.Str("session", m.session, true);
  r.Str("target", m.target);
  r.Num("tick_interval_seconds", m.tick_interval_seconds, true);
  if (r.ok() && m.tick_interval_seconds <= 0) r.Fail("field 'tick_interval_seconds': must be > 0");
  r.Str("mode", m.mode);
}
void Read(Reader& r, Set& m) {
  r.UInt("id", m.id, true);
  r.Str("knob", m.knob, true);
  r.Knob("value", m.value, m.list, true);
  r.Knob("old_value", m.old_value, m.old_list);
  r.Str("reason", m.reason);
  r.NumMap("predicted", m.predicted);
  r.Bool("advisory", m.advisory);
  r.NonNeg("expires_in_seconds", m.expires_in_seconds);
}
void Read(Reader& r, Error& m) {
  std::string code;
  r.Str("code", code, true);
  if (r.ok()) {
    auto c = ParseErrorCode(code);
    // An unknown code from a newer daemon is still an error; keep its text.
    m.code = c.value_or(ErrorCode::kInternal);
    if (!c) m.message = "[" + code + "] ";
  }
  std::string msg;
  r.Str("message", msg, true);
  m.message += msg;
  r.OptUInt("id", m.id);
}
void Read(Reader& r, AdminRequest& m) {
  r.UInt("id", m.id);
  r.Str("target", m.target);
  r.Str("mode", m.mode);
  uint64_t limit = 0;
  r.UInt("limit", limit);
  m.limit = static_cast<uint32_t>(std::min<uint64_t>(limit, 1u << 30));
  const bool takes_all = m.op == AdminOp::kPause || m.op == AdminOp::kRestore;
  if (takes_all) r.Bool("all", m.all);
  bool needs_target = m.op == AdminOp::kShow || m.op == AdminOp::kHistory ||
                      m.op == AdminOp::kPause || m.op == AdminOp::kResume ||
                      m.op == AdminOp::kMode || m.op == AdminOp::kRestore;
  if (r.ok() && takes_all && m.all && !m.target.empty()) r.Fail("give 'target' or 'all', not both");
  if (r.ok() && needs_target && !m.all && m.target.empty())
    r.Fail(takes_all ? "missing field 'target' (or \"all\": true)" : "missing field 'target'");
  if (m.op == AdminOp::kExplain) r.UInt("recommendation", m.recommendation, true);
  if (r.ok() && m.op == AdminOp::kMode && m.mode.empty()) r.Fail("missing field 'mode'");
}
void Read(Reader& r, AdminReply& m) {
  r.UInt("id", m.id);
  std::string op;
  r.Str("op", op, true);
  if (r.ok()) {
    auto o = ParseAdminOp(op);
    if (!o)
      r.Fail("field 'op': unknown admin op '" + op + "'");
    else
      m.op = *o;
  }
  if (const json* s = r.Obj("status")) {
    Reader sr(*s, "status.");
    StatusInfo st;
    sr.Str("version", st.version);
    uint64_t pid = 0, u = 0;
    sr.UInt("pid", pid);
    if (sr.ok() && pid > 0x7fffffff) {
      sr.Fail("field '" + sr.Path("pid") + "': out of range for a pid");
    }
    st.pid = static_cast<pid_t>(pid);
    sr.Num("uptime_seconds", st.uptime_seconds);
    sr.Str("mode", st.mode);
    sr.Str("policy_source", st.policy_source);
    sr.Num("tick_interval_seconds", st.tick_interval_seconds);
    sr.UInt("ticks", st.ticks);
    sr.UInt("targets", u);
    st.targets = static_cast<uint32_t>(u);
    u = 0;
    sr.UInt("clients", u);
    st.clients = static_cast<uint32_t>(u);
    sr.StrArray("degraded", st.degraded);
    r.Adopt(sr);
    m.status = std::move(st);
  }
  if (const json* ts = r.Arr("targets")) {
    m.targets.emplace();
    for (size_t i = 0; i < ts->size() && r.ok(); ++i) {
      std::string path = "targets[" + std::to_string(i) + "]";
      if (!(*ts)[i].is_object()) {
        r.Fail("field '" + path + "': expected object, got " + std::string(JsonTypeName((*ts)[i])));
        break;
      }
      Reader tr((*ts)[i], path + ".");
      TargetInfo t;
      ReadTarget(tr, t);
      r.Adopt(tr);
      m.targets->push_back(std::move(t));
    }
  }
  if (const json* s = r.Obj("show")) {
    Reader sr(*s, "show.");
    ShowInfo info;
    if (const json* t = sr.Obj("target", true)) {
      Reader tr(*t, "show.target.");
      ReadTarget(tr, info.target);
      sr.Adopt(tr);
    }
    sr.NumMap("metrics", info.metrics);
    if (const json* app = sr.Obj("app")) {
      Reader ar(*app, "show.app.");
      AppReport a;
      ReadAppReport(ar, a, true);
      sr.Adopt(ar);
      info.app = std::move(a);
    }
    ReadKnobs(sr, "knobs", info.knobs);
    sr.NumMap("model", info.model);
    sr.StrArray("notes", info.notes);
    if (const json* is = sr.Arr("instances")) {
      for (size_t i = 0; i < is->size() && sr.ok(); ++i) {
        const std::string path = "show.instances[" + std::to_string(i) + "]";
        if (!(*is)[i].is_object()) {
          sr.Fail("field '" + path + "': expected object, got " +
                  std::string(JsonTypeName((*is)[i])));
          break;
        }
        Reader ir((*is)[i], path + ".");
        InstanceInfo in;
        uint64_t pid = 0;
        ir.UInt("pid", pid);
        if (ir.ok() && pid > 0x7fffffff) ir.Fail("field '" + ir.Path("pid") + "': out of range");
        in.pid = static_cast<pid_t>(pid);
        ir.UInt("reports", in.reports);
        ir.OptNum("last_report_age_seconds", in.last_report_age_seconds);
        if (const json* app = ir.Obj("app")) {
          Reader ar(*app, path + ".app.");
          AppReport a;
          ReadAppReport(ar, a, true);
          ir.Adopt(ar);
          in.app = std::move(a);
        }
        sr.Adopt(ir);
        info.instances.push_back(std::move(in));
      }
    }
    r.Adopt(sr);
    m.show = std::move(info);
  }
  if (const json* hs = r.Arr("history")) {
    m.history.emplace();
    for (size_t i = 0; i < hs->size() && r.ok(); ++i) {
      std::string path = "history[" + std::to_string(i) + "]";
      if (!(*hs)[i].is_object()) {
        r.Fail("field '" + path + "': expected object, got " + std::string(JsonTypeName((*hs)[i])));
        break;
      }
      Reader hr((*hs)[i], path + ".");
      Recommendation rec;
      ReadRecommendation(hr, rec);
      r.Adopt(hr);
      m.history->push_back(std::move(rec));
    }
  }
  if (const json* rj = r.Obj("recommendation")) {
    Reader rr(*rj, "recommendation.");
    Recommendation rec;
    ReadRecommendation(rr, rec);
    r.Adopt(rr);
    m.recommendation = std::move(rec);
  }
  r.StrArray("explanation", m.explanation);
  r.Str("message", m.message);
}

template <typename T>
Result<Message> ReadAs(Reader& r, T m, DecodeError* err, std::optional<uint64_t> id) {
  Read(r, m);
  if (!r.ok()) {
    if (err) *err = DecodeError{ErrorCode::kBadMessage, r.error(), id};
    return InvalidArgumentError(r.error());
  }
  return Message(std::move(m));
}

constexpr std::string_view kKnownTypes =
    "hello, report, ack, bye, welcome, set, error, reply, status, targets, show, history, "
    "explain, pause, resume, mode, reload";

}  // namespace

std::string_view AckResultName(AckResult r) { return kAckResultNames.Name(r); }
std::string_view ErrorCodeName(ErrorCode c) { return kErrorCodeNames.Name(c); }
std::optional<ErrorCode> ParseErrorCode(std::string_view s) { return kErrorCodeNames.Parse(s); }
std::string_view AdminOpName(AdminOp op) { return kAdminOpNames.Name(op); }
std::optional<AdminOp> ParseAdminOp(std::string_view s) { return kAdminOpNames.Parse(s); }

std::string_view TypeName(const Message& m) {
  struct V {
    std::string_view operator()(const Hello&) const { return "hello"; }
    std::string_view operator()(const Report&) const { return "report"; }
    std::string_view operator()(const Ack&) const { return "ack"; }
    std::string_view operator()(const Bye&) const { return "bye"; }
    std::string_view operator()(const Welcome&) const { return "welcome"; }
    std::string_view operator()(const Set&) const { return "set"; }
    std::string_view operator()(const Error&) const { return "error"; }
    std::string_view operator()(const AdminRequest& r) const { return AdminOpName(r.op); }
    std::string_view operator()(const AdminReply&) const { return "reply"; }
  };
  return std::visit(V{}, m);
}

std::string Encode(const Message& m) {
  json j = std::visit([](const auto& msg) { return Body(msg); }, m);
  j["v"] = kVersion;
  j["type"] = TypeName(m);
  // Replace invalid UTF-8 instead of throwing: strings can come from target names and reasons.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Message> Decode(std::string_view line, DecodeError* err) {
  auto fail = [&](ErrorCode code, std::string msg,
                  std::optional<uint64_t> id = std::nullopt) -> Result<Message> {
    if (err) *err = DecodeError{code, msg, id};
    return InvalidArgumentError(std::move(msg));
  };
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(ErrorCode::kBadJson, "message is not valid JSON");
  if (!j.is_object())
    return fail(ErrorCode::kBadMessage,
                "message must be a JSON object, got " + std::string(JsonTypeName(j)));
  std::optional<uint64_t> id;
  if (auto it = j.find("id"); it != j.end() && it->is_number_unsigned()) id = it->get<uint64_t>();
  auto v = j.find("v");
  if (v == j.end())
    return fail(ErrorCode::kBadMessage, "missing field 'v' (protocol version, 1)", id);
  if (!v->is_number_integer())
    return fail(ErrorCode::kBadMessage,
                "field 'v': expected integer, got " + std::string(JsonTypeName(*v)), id);
  if (v->get<int64_t>() != kVersion)
    return fail(ErrorCode::kVersionMismatch,
                "unsupported protocol version " + v->dump() + " (this side speaks 1)", id);
  auto t = j.find("type");
  if (t == j.end()) return fail(ErrorCode::kBadMessage, "missing field 'type'", id);
  if (!t->is_string())
    return fail(ErrorCode::kBadMessage,
                "field 'type': expected string, got " + std::string(JsonTypeName(*t)), id);
  const std::string type = t->get<std::string>();
  Reader r(j, "");
  if (type == "hello") return ReadAs(r, Hello{}, err, id);
  if (type == "report") return ReadAs(r, Report{}, err, id);
  if (type == "ack") return ReadAs(r, Ack{}, err, id);
  if (type == "bye") return ReadAs(r, Bye{}, err, id);
  if (type == "welcome") return ReadAs(r, Welcome{}, err, id);
  if (type == "set") return ReadAs(r, Set{}, err, id);
  if (type == "error") return ReadAs(r, Error{}, err, id);
  if (type == "reply") return ReadAs(r, AdminReply{}, err, id);
  if (auto op = ParseAdminOp(type)) {
    AdminRequest req;
    req.op = *op;
    return ReadAs(r, std::move(req), err, id);
  }
  return fail(ErrorCode::kUnknownType,
              "unknown message type '" + type + "' (known: " + std::string(kKnownTypes) + ")", id);
}

json RecommendationToJson(const Recommendation& rec) { return RecommendationJson(rec); }

Result<Recommendation> RecommendationFromJson(const json& j, const std::string& prefix) {
  if (!j.is_object()) {
    return InvalidArgumentError("'" + prefix + "': expected object, got " +
                                std::string(JsonTypeName(j)));
  }
  Reader r(j, prefix.empty() ? prefix : prefix + ".");
  Recommendation rec;
  ReadRecommendation(r, rec);
  if (!r.ok()) return InvalidArgumentError(r.error());
  return rec;
}

}  // namespace knob::protocol
