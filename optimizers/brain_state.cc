// SPDX-License-Identifier: Apache-2.0
#include "optimizers/brain_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/protocol/recommendation_json.h"

namespace knob {
namespace {

using nlohmann::json;

void PutOpt(json& j, const char* k, const std::optional<double>& v) {
  if (v && std::isfinite(*v)) j[k] = *v;
}

// JSON has no inf/NaN (nlohmann writes null, which would not read back as a number).
std::map<std::string, double> Finite(const std::map<std::string, double>& m) {
  std::map<std::string, double> out;
  for (const auto& [k, v] : m)
    if (std::isfinite(v)) out[k] = v;
  return out;
}

double Fin(double v) { return std::isfinite(v) ? v : 0; }
template <typename T>
void GetOpt(const json& j, const char* k, std::optional<T>& v) {
  if (j.contains(k) && !j[k].is_null()) v = j[k].get<T>();
}

json ObsToJson(const BrainStateData::StoredObservation& s) {
  const Observation& o = s.obs;
  json j = {{"age", Fin(s.age_seconds)}, {"dt", Fin(o.interval_seconds)},
            {"x", Fin(o.throughput)},    {"err", Fin(o.error_rate)},
            {"n", Fin(o.concurrency)},   {"knobs", Finite(o.knobs)}};
  PutOpt(j, "p99", o.p99_seconds);
  PutOpt(j, "mean", o.mean_latency_seconds);
  PutOpt(j, "cpu", o.cpu_cores);
  PutOpt(j, "cpu_req", o.cpu_per_request_seconds);
  PutOpt(j, "mem", o.memory_bytes);
  PutOpt(j, "psi_cpu", o.cpu_pressure);
  PutOpt(j, "psi_mem", o.memory_pressure);
  PutOpt(j, "psi_io", o.io_pressure);
  PutOpt(j, "rq", o.runqueue_fraction);
  PutOpt(j, "rq_slice", o.runqueue_delay_per_slice_seconds);
  PutOpt(j, "thr", o.throttled_fraction);
  json pools = json::object();
  for (const auto& [name, p] : o.pools) pools[name] = {Fin(p.size), Fin(p.busy), Fin(p.waiters)};
  j["pools"] = pools;
  return j;
}

BrainStateData::StoredObservation ObsFromJson(const json& j) {
  BrainStateData::StoredObservation s;
  Observation& o = s.obs;
  s.age_seconds = j.value("age", 0.0);
  o.interval_seconds = j.value("dt", 0.0);
  o.throughput = j.value("x", 0.0);
  o.error_rate = j.value("err", 0.0);
  o.concurrency = j.value("n", 0.0);
  if (j.contains("knobs")) o.knobs = j["knobs"].get<std::map<std::string, double>>();
  GetOpt(j, "p99", o.p99_seconds);
  GetOpt(j, "mean", o.mean_latency_seconds);
  GetOpt(j, "cpu", o.cpu_cores);
  GetOpt(j, "cpu_req", o.cpu_per_request_seconds);
  GetOpt(j, "mem", o.memory_bytes);
  GetOpt(j, "psi_cpu", o.cpu_pressure);
  GetOpt(j, "psi_mem", o.memory_pressure);
  GetOpt(j, "psi_io", o.io_pressure);
  GetOpt(j, "rq", o.runqueue_fraction);
  GetOpt(j, "rq_slice", o.runqueue_delay_per_slice_seconds);
  GetOpt(j, "thr", o.throttled_fraction);
  if (j.contains("pools")) {
    for (const auto& [name, v] : j["pools"].items()) {
      o.pools[name] = {v.at(0).get<double>(), v.at(1).get<double>(), v.at(2).get<double>()};
    }
  }
  return s;
}

}  // namespace

// Written piece by piece: one observation, target or record is a JSON tree at a time, dumped
// and freed before the next. One tree of every target's 600 observations was the daemon's
// high-water mark: 28 of 44 MB under jemalloc's heap profile in the 5-minute soak (issue 12),
// its RSS climbing with every checkpoint while the observations filled up.
std::string EncodeBrainState(const BrainStateData& d) {
  // replace: invalid UTF-8 in a name or reason must not throw.
  auto dump = [](const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); };
  std::string out =
      "{\"version\":" + dump(d.version) + ",\"next_id\":" + dump(d.next_id) + ",\n\"targets\":[";
  bool first_target = true;
  for (const auto& t : d.targets) {
    json jt;
    jt["name"] = t.name;
    json pens = json::array();
    for (const auto& p : t.penalties)
      pens.push_back({{"knob", p.knob},
                      {"value", p.value},
                      {"direction", p.direction},
                      {"remaining_seconds", p.remaining_seconds},
                      {"reason", p.reason}});
    jt["penalties"] = pens;
    json knobs = json::array();
    for (const auto& k : t.knobs) {
      json jk = {{"knob", k.knob},
                 {"last_change_age_seconds", k.last_change_age_seconds},
                 {"values", k.values}};
      if (k.no_effect)
        jk["no_effect"] = {{"from", k.no_effect->from},
                           {"to", k.no_effect->to},
                           {"age_seconds", k.no_effect->age_seconds},
                           {"summary", k.no_effect->summary}};
      knobs.push_back(std::move(jk));
    }
    jt["knobs"] = knobs;
    jt["history"] = t.history;
    std::string head = dump(jt);  // {"history":...,"name":...}: reopened for the observations
    head.pop_back();
    out += first_target ? "\n" : ",\n";
    first_target = false;
    out += head + ",\"observations\":[";
    bool first_obs = true;
    for (const auto& o : t.observations) {
      out += first_obs ? "\n" : ",\n";
      first_obs = false;
      out += dump(ObsToJson(o));
    }
    out += "]}";
  }
  out += "],\n\"records\":[";
  bool first_record = true;
  for (const auto& r : d.records) {
    out += first_record ? "\n" : ",\n";
    first_record = false;
    out += dump(protocol::RecommendationToJson(r));
  }
  out += "]}\n";
  return out;
}

Result<BrainStateData> DecodeBrainState(const std::string& text) {
  try {
    json j = json::parse(text);
    BrainStateData d;
    d.version = j.value("version", 1);
    if (d.version != 1)
      return InvalidArgumentError("unsupported brain state version " + std::to_string(d.version));
    d.next_id = j.value("next_id", uint64_t{1});
    for (const auto& jt : j.value("targets", json::array())) {
      BrainStateData::Target t;
      t.name = jt.value("name", "");
      for (const auto& o : jt.value("observations", json::array()))
        t.observations.push_back(ObsFromJson(o));
      for (const auto& p : jt.value("penalties", json::array()))
        t.penalties.push_back({p.value("knob", ""), p.value("value", 0.0), p.value("direction", 0),
                               p.value("remaining_seconds", 0.0), p.value("reason", "")});
      for (const auto& k : jt.value("knobs", json::array())) {
        BrainStateData::StoredKnob sk{k.value("knob", ""), k.value("last_change_age_seconds", -1.0),
                                      k.value("values", std::vector<double>{}), std::nullopt};
        if (auto ne = k.find("no_effect"); ne != k.end() && ne->is_object())
          sk.no_effect = BrainStateData::StoredKnob::NoEffect{
              ne->value("from", 0.0), ne->value("to", 0.0), ne->value("age_seconds", 0.0),
              ne->value("summary", "")};
        t.knobs.push_back(std::move(sk));
      }
      t.history = jt.value("history", std::vector<uint64_t>{});
      d.targets.push_back(std::move(t));
    }
    const json records = j.value("records", json::array());
    for (size_t i = 0; i < records.size(); ++i) {
      Result<Recommendation> r =
          protocol::RecommendationFromJson(records[i], "records[" + std::to_string(i) + "]");
      if (!r.ok()) return InvalidArgumentError("brain state: " + r.status().message());
      d.records.push_back(std::move(*r));
    }
    return d;
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("brain state: ") + e.what());
  }
}

Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoToStatus(errno, "open " + tmp);
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoToStatus(e, "write " + tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoToStatus(e, "fsync " + tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return ErrnoToStatus(e, "rename " + tmp);
  }
  std::string dir =
      path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: the rename is already atomic
    ::close(dfd);
  }
  return OkStatus();
}

}  // namespace knob
