// SPDX-License-Identifier: Apache-2.0
// The policy loader: one walk over the YAML tree that collects every problem with its position.
// Over 500 lines on purpose: the sections and the profile resolution share one error list and
// one partial policy, and each section reads as the policy's shape in docs/policy.md. The typed
// field readers are in policy_fields, units, did-you-mean hints and the reload diff in their own
// files.
#include "config/policy_loader.h"

#include <arpa/inet.h>
#include <re2/re2.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "config/builtin_profiles.h"
#include "config/policy_fields.h"
#include "config/suggestions.h"
#include "config/units.h"
#include "core/format.h"

namespace knob {
namespace {

// Records where each YAML document starts; every other event is ignored.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;
  void OnDocumentStart(const YAML::Mark& m) override { marks.push_back(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

using std::chrono::nanoseconds;

constexpr int64_t kPidMaxLimit = 4194304;  // PID_MAX_LIMIT on 64-bit kernels
constexpr size_t kCommMaxLen = 15;         // TASK_COMM_LEN - 1
constexpr size_t kSunPathMax = 107;        // sizeof(sockaddr_un::sun_path) - 1

// ---------------------------------------------------------------------------------------------
// The loader: walks the YAML tree once, collecting every problem with its position.

// A knob as written at one level (profile or target); unset fields inherit.
struct PartialKnob {
  std::optional<double> min;
  std::optional<double> max;
  bool max_step_set = false;
  std::optional<double> max_step_fraction;
  std::optional<double> max_step_abs;
  std::optional<bool> enabled;
  YAML::Mark mark;
};

struct PartialProfile {
  std::string name;
  std::optional<std::string> description;
  std::optional<std::string> extends;
  YAML::Mark extends_mark;
  std::optional<Objective> objective;
  Constraints constraints;
  std::map<std::string, PartialKnob> knobs;
  YAML::Mark mark;
};

struct PartialTarget {
  std::string name;
  std::string label;  // "target 'web'", or "target #2" when the name is missing or invalid
  Selector selector;
  std::optional<std::string> profile;
  YAML::Mark profile_mark;
  std::optional<Objective> objective;
  Constraints constraints;
  std::map<std::string, PartialKnob> knobs;
  std::optional<Mode> mode;
  bool perf_counters = false;
};

void Overlay(Constraints& base, const Constraints& over) {
  if (over.p99_latency) base.p99_latency = over.p99_latency;
  if (over.error_rate) base.error_rate = over.error_rate;
  if (over.cpu_cores) base.cpu_cores = over.cpu_cores;
  if (over.memory_bytes) base.memory_bytes = over.memory_bytes;
  if (over.cpu_pressure) base.cpu_pressure = over.cpu_pressure;
  if (over.memory_pressure) base.memory_pressure = over.memory_pressure;
  if (over.io_pressure) base.io_pressure = over.io_pressure;
  if (over.runqueue_delay) base.runqueue_delay = over.runqueue_delay;
}

void Overlay(KnobPolicy& base, const PartialKnob& over) {
  if (over.min) base.min = over.min;
  if (over.max) base.max = over.max;
  // max_step is one field in YAML: writing it replaces both the fraction and the absolute part.
  if (over.max_step_set) {
    base.max_step_fraction = over.max_step_fraction;
    base.max_step_abs = over.max_step_abs;
  }
  if (over.enabled) base.enabled = *over.enabled;
}

class Loader : public PolicyFields {
 public:
  explicit Loader(std::string file) : PolicyFields(std::move(file)) {}

  PolicyLoad Load(std::string_view text) {
    // yaml-cpp stops at a NUL as if the file ended there, which would make a corrupt or binary
    // file look like a valid (empty) policy.
    if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
      std::string_view before = text.substr(0, nul);
      int line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
      size_t line_start = before.rfind('\n');
      int column =
          static_cast<int>(line_start == std::string_view::npos ? nul : nul - line_start - 1);
      YAML::Mark mark;
      mark.pos = static_cast<int>(nul);
      mark.line = line;
      mark.column = column;
      Error(mark, "the file contains a NUL byte",
            "a policy is a UTF-8 text file; is this the right file?");
      return Finish();
    }
    // yaml-cpp 0.7 (Debian 12) LoadAll never returns on a stray ',' at document level: it
    // keeps producing empty documents until memory runs out (upstream jbeder/yaml-cpp#1040).
    // So load only the first document, and look for a second one without ever going past it.
    YAML::Node first;
    std::optional<YAML::Mark> second;
    try {
      first = YAML::Load(std::string(text));
      std::istringstream in{std::string(text)};
      YAML::Parser parser(in);
      DocumentStarts starts;
      for (int docs = 0; docs < 2 && parser.HandleNextDocument(starts);) ++docs;
      if (starts.marks.size() > 1) second = starts.marks[1];
    } catch (const YAML::Exception& e) {
      Error(e.mark, "YAML syntax: " + e.msg,
            "the file is not valid YAML here; problems after this point are not checked");
      return Finish();
    } catch (const std::exception& e) {
      Error(YAML::Mark::null_mark(), std::string("cannot parse YAML: ") + e.what());
      return Finish();
    }
    if (second) {
      Error(*second, "more than one YAML document, or stray text after the first one",
            "put everything in one document: remove the '---' or the stray ',' at this line");
    }
    std::vector<YAML::Node> docs;
    if (!first.IsNull() || !second) docs.push_back(first);
    try {
      if (!docs.empty()) Root(docs[0]);
    } catch (const YAML::Exception& e) {
      // Not expected (we never call as<>), but a yaml-cpp bug must not escape as an exception.
      Error(e.mark, "YAML: " + e.msg);
    }
    Resolve();
    return Finish();
  }

 private:
  // ----- reporting

  PolicyLoad Finish() {
    PolicyLoad out;
    std::stable_sort(errors_.begin(), errors_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    out.errors = std::move(errors_);
    if (out.errors.empty()) out.policy = std::move(policy_);
    return out;
  }

  // ----- sections

  void Root(const YAML::Node& root) {
    static const std::vector<std::string> kTop = {"global", "profiles", "targets"};
    std::vector<YamlEntry> entries = Fields(root, "the policy", &kTop, [](const std::string& key) {
      for (const std::string& g : GlobalKeys()) {
        if (g == key) return "'" + key + "' belongs under 'global:'";
      }
      if (key == "target" || key == "name" || key == "select") {
        return std::string("targets are a list under 'targets:' (- name: ...)");
      }
      return std::string();
    });
    if (!root.IsNull() && !root.IsMap()) return;  // Fields reported it
    for (const YamlEntry& e : entries) {
      if (e.key == "global") Global(e.value);
      if (e.key == "profiles") Profiles(e.value);
      if (e.key == "targets") Targets(e);
    }
  }

  static const std::vector<std::string>& GlobalKeys() {
    static const std::vector<std::string> k = {
        "tick_interval",       "metrics_listen", "log_level",  "mode",
        "state_dir",           "control",        "collection", "guard",
        "checkpoint_interval", "restore_on_stop"};
    return k;
  }

  void Global(const YAML::Node& node) {
    GlobalSettings& g = policy_.global;
    const std::string where = "global";
    for (const YamlEntry& e : Fields(node, where, &GlobalKeys())) {
      const std::string what = What(where, e);
      if (e.key == "tick_interval") {
        if (auto v = DurationField(e, what, std::chrono::milliseconds(10), std::chrono::hours(1)))
          g.tick_interval = *v;
      } else if (e.key == "metrics_listen") {
        std::string s;
        if (!ScalarOf(e, what, &s)) continue;
        if (Status st = ValidateListenAddress(s); !st.ok()) {
          Error(MarkOf(e), what + ": " + st.message(),
                "write ADDR:PORT, e.g. 127.0.0.1:10464, 0.0.0.0:10464 or [::1]:10464");
        } else {
          g.metrics_listen = s;
        }
      } else if (e.key == "log_level") {
        static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
        std::string s;
        if (!ScalarOf(e, what, &s)) continue;
        if (std::find(kLevels.begin(), kLevels.end(), s) == kLevels.end()) {
          Error(MarkOf(e), what + ": unknown log level '" + s + "'",
                ChoiceHint(s, kLevels, "valid levels"));
        } else {
          g.log_level = s;
        }
      } else if (e.key == "mode") {
        if (auto v = ModeField(e, what)) g.mode = *v;
      } else if (e.key == "state_dir") {
        if (auto v = AbsolutePath(e, what)) g.state_dir = *v;
      } else if (e.key == "checkpoint_interval") {
        if (auto v = DurationField(e, what, std::chrono::seconds(1), std::chrono::hours(24)))
          g.checkpoint_interval = *v;
      } else if (e.key == "restore_on_stop") {
        if (auto v = Bool(e, what)) g.restore_on_stop = *v;
      } else if (e.key == "control") {
        Control(e.value);
      } else if (e.key == "collection") {
        Collection(e.value);
      } else if (e.key == "guard") {
        Guard(e.value);
      }
    }
  }

  void Control(const YAML::Node& node) {
    static const std::vector<std::string> kKeys = {"socket",
                                                   "group",
                                                   "admin_group",
                                                   "socket_mode",
                                                   "max_message_size",
                                                   "max_clients",
                                                   "max_messages_per_second",
                                                   "idle_timeout"};
    ControlSettings& c = policy_.global.control;
    const std::string where = "global.control";
    for (const YamlEntry& e : Fields(node, where, &kKeys)) {
      const std::string what = What(where, e);
      if (e.key == "socket") {
        if (auto v = AbsolutePath(e, what)) {
          if (v->size() > kSunPathMax) {
            Error(MarkOf(e), what + " is " + std::to_string(v->size()) + " bytes long",
                  "a Unix socket path holds at most 107 bytes; choose a shorter path");
          } else {
            c.socket_path = *v;
          }
        }
      } else if (e.key == "group") {
        if (auto v = String(e, what)) c.group = *v;
      } else if (e.key == "socket_mode") {
        // Connecting needs write permission, so each class gets rw or nothing; the owner
        // (knobd) always rw. Written in octal as chmod takes it.
        if (auto v = String(e, what)) {
          static const std::map<std::string, uint32_t> kModes = {{"0600", 0600}, {"600", 0600},
                                                                 {"0660", 0660}, {"660", 0660},
                                                                 {"0666", 0666}, {"666", 0666}};
          if (auto it = kModes.find(*v); it != kModes.end()) {
            c.socket_mode = it->second;
          } else {
            Error(MarkOf(e), what + ": '" + *v + "' is not a socket mode knobd accepts",
                  "0600 (knobd's user only), 0660 (and control.group) or 0666 (every local "
                  "user: admin ops still need admin_group)");
          }
        }
      } else if (e.key == "admin_group") {
        if (auto v = String(e, what)) c.admin_group = *v;
      } else if (e.key == "max_message_size") {
        if (auto v = SizeField(e, what, 1024, uint64_t{64} << 20)) c.max_message_bytes = *v;
      } else if (e.key == "max_clients") {
        if (auto v = Integer(e, what, 1, 65536)) c.max_clients = static_cast<uint32_t>(*v);
      } else if (e.key == "max_messages_per_second") {
        if (auto v = Number(e, what, 0, true, 1e6)) c.max_messages_per_second = *v;
      } else if (e.key == "idle_timeout") {
        if (auto v = DurationField(e, what, std::chrono::seconds(1), std::chrono::hours(24)))
          c.idle_timeout = *v;
      }
    }
  }

  void Collection(const YAML::Node& node) {
    static const std::vector<std::string> kKeys = {"proc_root",
                                                   "sys_root",
                                                   "thread_interval",
                                                   "socket_dump_interval",
                                                   "fd_rescan_interval",
                                                   "discovery_interval",
                                                   "per_thread_metrics",
                                                   "smaps_interval",
                                                   "thread_reads_per_tick",
                                                   "use_taskstats",
                                                   "socket_dump_sockets_per_tick",
                                                   "per_thread_metrics_limit",
                                                   "idle_process_interval"};
    CollectionSettings& c = policy_.global.collection;
    const std::string where = "global.collection";
    const nanoseconds lo = std::chrono::milliseconds(10);
    const nanoseconds hi = std::chrono::hours(1);
    for (const YamlEntry& e : Fields(node, where, &kKeys)) {
      const std::string what = What(where, e);
      if (e.key == "proc_root") {
        if (auto v = AbsolutePath(e, what)) c.proc_root = *v;
      } else if (e.key == "sys_root") {
        if (auto v = AbsolutePath(e, what)) c.sys_root = *v;
      } else if (e.key == "thread_interval") {
        if (auto v = DurationField(e, what, lo, hi)) c.thread_interval = *v;
      } else if (e.key == "socket_dump_interval") {
        if (auto v = DurationField(e, what, lo, hi)) c.socket_dump_interval = *v;
      } else if (e.key == "fd_rescan_interval") {
        if (auto v = DurationField(e, what, lo, hi)) c.fd_rescan_interval = *v;
      } else if (e.key == "discovery_interval") {
        if (auto v = DurationField(e, what, lo, hi)) c.discovery_interval = *v;
      } else if (e.key == "smaps_interval") {
        if (auto v = DurationField(e, what, lo, hi)) c.smaps_interval = *v;
      } else if (e.key == "idle_process_interval") {
        if (auto v = DurationField(e, what, nanoseconds(0), hi)) c.idle_process_interval = *v;
      } else if (e.key == "thread_reads_per_tick") {
        if (auto v = Integer(e, what, 0, 10'000'000))
          c.thread_reads_per_tick = static_cast<uint32_t>(*v);
      } else if (e.key == "socket_dump_sockets_per_tick") {
        if (auto v = Integer(e, what, 0, 10'000'000))
          c.socket_dump_sockets_per_tick = static_cast<uint32_t>(*v);
      } else if (e.key == "use_taskstats") {
        if (auto v = Bool(e, what)) c.use_taskstats = *v;
      } else if (e.key == "per_thread_metrics") {
        if (auto v = Bool(e, what)) c.per_thread_metrics = *v;
      } else if (e.key == "per_thread_metrics_limit") {
        if (auto v = Integer(e, what, 1, 10'000))
          c.per_thread_metrics_limit = static_cast<uint32_t>(*v);
      }
    }
  }

  void Guard(const YAML::Node& node) {
    static const std::vector<std::string> kKeys = {
        "cooldown",       "verification_window", "min_samples", "default_max_step",
        "regression_p99", "min_signal_to_noise", "hysteresis",  "override_hold"};
    GuardSettings& g = policy_.global.guard;
    const std::string where = "global.guard";
    for (const YamlEntry& e : Fields(node, where, &kKeys)) {
      const std::string what = What(where, e);
      if (e.key == "cooldown") {
        if (auto v = DurationField(e, what, nanoseconds(0), std::chrono::hours(24)))
          g.cooldown = *v;
      } else if (e.key == "verification_window") {
        if (auto v = DurationField(e, what, std::chrono::milliseconds(100), std::chrono::hours(24)))
          g.verification_window = *v;
      } else if (e.key == "min_samples") {
        if (auto v = Integer(e, what, 1, 1000000)) g.min_samples = static_cast<uint32_t>(*v);
      } else if (e.key == "default_max_step") {
        if (auto v = PercentField(e, what, 0, true, 10.0)) g.default_max_step_fraction = *v;
      } else if (e.key == "regression_p99") {
        if (auto v = PercentField(e, what, 0, false, 10.0)) g.regression_p99_fraction = *v;
      } else if (e.key == "min_signal_to_noise") {
        if (auto v = Number(e, what, 0, false, 1000)) g.min_signal_to_noise = *v;
      } else if (e.key == "hysteresis") {
        if (auto v = PercentField(e, what, 0, false, 1.0)) g.hysteresis_fraction = *v;
      } else if (e.key == "override_hold") {
        if (auto v = DurationField(e, what, nanoseconds(0), std::chrono::hours(24 * 7)))
          g.override_hold = *v;
      }
    }
  }

  // ----- profiles, constraints, knobs

  static bool ValidName(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    if (!std::isalnum(static_cast<unsigned char>(s[0]))) return false;
    return std::all_of(s.begin(), s.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
    });
  }

  void Profiles(const YAML::Node& node) {
    static const std::vector<std::string> kKeys = {"description", "extends", "objective",
                                                   "constraints", "knobs"};
    for (const YamlEntry& p : Fields(node, "profiles", nullptr)) {
      if (!ValidName(p.key)) {
        Error(p.key_node.Mark(), "profile name '" + p.key + "' is not a valid name",
              "use letters, digits, '-', '_' or '.', starting with a letter or digit");
        continue;
      }
      PartialProfile pp;
      pp.name = p.key;
      pp.mark = p.key_node.Mark();
      const std::string where = "profile '" + p.key + "'";
      for (const YamlEntry& e : Fields(p.value, where, &kKeys)) {
        const std::string what = where + " " + e.key;
        if (e.key == "description") {
          std::string s;
          if (ScalarOf(e, what, &s)) pp.description = s;
        } else if (e.key == "extends") {
          if (auto v = String(e, what)) {
            pp.extends = *v;
            pp.extends_mark = MarkOf(e);
          }
        } else if (e.key == "objective") {
          pp.objective = ObjectiveField(e, where + " objective");
        } else if (e.key == "constraints") {
          ConstraintsField(e.value, where + " constraints", pp.constraints);
        } else if (e.key == "knobs") {
          Knobs(e.value, where + " knobs", pp.knobs);
        }
      }
      user_profiles_.emplace(pp.name, std::move(pp));
    }
  }

  void ConstraintsField(const YAML::Node& node, const std::string& where, Constraints& c) {
    static const std::vector<std::string> kKeys = {
        "p99_latency",  "error_rate",      "cpu_cores",   "memory",
        "cpu_pressure", "memory_pressure", "io_pressure", "runqueue_delay"};
    const nanoseconds min_d = nanoseconds(1);
    const nanoseconds max_d = std::chrono::hours(24);
    for (const YamlEntry& e : Fields(node, where, &kKeys)) {
      const std::string what = where + " " + e.key;
      if (e.key == "p99_latency") {
        c.p99_latency = DurationField(e, what, min_d, max_d);
      } else if (e.key == "error_rate") {
        c.error_rate = PercentField(e, what, 0, true, 1.0);
      } else if (e.key == "cpu_cores") {
        c.cpu_cores = Number(e, what, 0, true, 65536);
      } else if (e.key == "memory") {
        c.memory_bytes = SizeField(e, what, 1, std::numeric_limits<uint64_t>::max());
      } else if (e.key == "cpu_pressure") {
        c.cpu_pressure = PercentField(e, what, 0, true, 1.0);
      } else if (e.key == "memory_pressure") {
        c.memory_pressure = PercentField(e, what, 0, true, 1.0);
      } else if (e.key == "io_pressure") {
        c.io_pressure = PercentField(e, what, 0, true, 1.0);
      } else if (e.key == "runqueue_delay") {
        c.runqueue_delay = DurationField(e, what, min_d, max_d);
      }
    }
  }

  // A knob bound: a plain number, or a size for byte-valued knobs ("64MiB").
  std::optional<double> KnobValue(const YamlEntry& e, const std::string& what) {
    std::string s;
    if (!ScalarOf(e, what, &s)) return std::nullopt;
    if (std::optional<double> v = ParseNumber(s)) {
      if (*v < 0) {
        Error(MarkOf(e), what + ": " + s + " is negative", "knob values are counts or bytes, >= 0");
        return std::nullopt;
      }
      return v;
    }
    if (std::optional<uint64_t> b = ParseSize(s)) return static_cast<double>(*b);
    Error(MarkOf(e), what + ": '" + s + "' is not a number or a size",
          "write a number such as 64, or a size such as 64MiB");
    return std::nullopt;
  }

  // max_step: "25%" (of the current value), 4 (absolute), or [25%, 4] (the smaller wins).
  bool MaxStepItem(const YamlEntry& e, const std::string& what, PartialKnob& k) {
    std::string s;
    if (!ScalarOf(e, what, &s)) return false;
    const char* hint = "write a percent such as 25%, a number such as 4, or both: [25%, 4]";
    if (!s.empty() && s.back() == '%') {
      std::optional<double> f = ParsePercent(s);
      if (!f || *f <= 0) {
        Error(MarkOf(e), what + ": '" + s + "' is not a positive percent", hint);
        return false;
      }
      if (k.max_step_fraction) {
        Error(MarkOf(e), what + " has two percents", hint);
        return false;
      }
      k.max_step_fraction = f;
      return true;
    }
    std::optional<double> v = ParseNumber(s);
    if (!v) {
      if (std::optional<uint64_t> b = ParseSize(s)) v = static_cast<double>(*b);
    }
    if (!v || *v <= 0) {
      Error(MarkOf(e), what + ": '" + s + "' is not a positive number or percent", hint);
      return false;
    }
    if (k.max_step_abs) {
      Error(MarkOf(e), what + " has two absolute steps", hint);
      return false;
    }
    k.max_step_abs = v;
    return true;
  }

  void Knobs(const YAML::Node& node, const std::string& where,
             std::map<std::string, PartialKnob>& out) {
    static const std::vector<std::string> kKeys = {"min", "max", "max_step", "enabled"};
    std::vector<std::string> known;
    for (std::string_view n : KnownKnobNames()) known.emplace_back(n);
    for (const YamlEntry& kn : Fields(node, where, nullptr)) {
      if (std::find(known.begin(), known.end(), kn.key) == known.end()) {
        // Stricter than for keys: "worker_threads_io" is a client's own knob, not a typo.
        if (std::optional<std::string> m = ClosestMatch(kn.key, known, false, 2)) {
          Error(kn.key_node.Mark(), "unknown knob '" + kn.key + "' in " + where,
                "did you mean '" + *m + "'?");
          continue;
        }
        if (!ValidName(kn.key)) {
          Error(kn.key_node.Mark(), "knob name '" + kn.key + "' is not a valid name",
                "use letters, digits, '-', '_' or '.'");
          continue;
        }
      }
      PartialKnob k;
      k.mark = kn.key_node.Mark();
      const std::string kwhere = where + " " + kn.key;
      for (const YamlEntry& e : Fields(kn.value, kwhere, &kKeys)) {
        const std::string what = kwhere + " " + e.key;
        if (e.key == "min") {
          k.min = KnobValue(e, what);
        } else if (e.key == "max") {
          k.max = KnobValue(e, what);
        } else if (e.key == "enabled") {
          k.enabled = Bool(e, what);
        } else if (e.key == "max_step") {
          k.max_step_set = true;
          if (e.value.IsSequence()) {
            if (e.value.size() == 0 || e.value.size() > 2) {
              Error(e.value.Mark(), what + " takes one percent and/or one number", "e.g. [25%, 4]");
              continue;
            }
            for (const YAML::Node& item : e.value)
              MaxStepItem(YamlEntry{e.key, e.key_node, item}, what, k);
          } else {
            MaxStepItem(e, what, k);
          }
        }
      }
      if (k.min && k.max && *k.min > *k.max) {
        Error(k.mark,
              kwhere + ": min " + FormatNumber(*k.min) + " is greater than max " +
                  FormatNumber(*k.max),
              "swap them or widen the range");
      }
      out.emplace(kn.key, k);
    }
  }

  // ----- targets

  static const std::vector<std::string>& SelectorKeys() {
    static const std::vector<std::string> k = {"pid",    "comm", "exe",        "cmdline",
                                               "cgroup", "unit", "registered", "host"};
    return k;
  }

  void Targets(const YamlEntry& entry) {
    if (entry.value.IsNull()) return;
    if (!entry.value.IsSequence()) {
      Error(MarkOf(entry), "targets must be a list ('- name: ...' items), not " +
                               std::string(KindName(entry.value)));
      return;
    }
    std::map<std::string, int> names;
    int index = 0;
    for (const YAML::Node& item : entry.value) {
      ++index;
      Target(item, index, names);
    }
  }

  void Target(const YAML::Node& item, int index, std::map<std::string, int>& names) {
    static const std::vector<std::string> kKeys = {
        "name", "select", "profile", "objective", "constraints", "knobs", "mode", "perf_counters"};
    if (!item.IsMap()) {
      Error(item.Mark(),
            "target #" + std::to_string(index) + " must be a mapping, not " + KindName(item),
            "each target looks like '- name: web' followed by select:, profile: ...");
      return;
    }
    // The name first, so later messages can say "target 'web'".
    PartialTarget t;
    std::string where = "target #" + std::to_string(index);
    for (auto it = item.begin(); it != item.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "name") {
        YamlEntry e{"name", it->first, it->second};
        if (auto v = String(e, where + " name")) {
          if (!ValidName(*v)) {
            Error(MarkOf(e), "target name '" + *v + "' is not a valid name",
                  "use letters, digits, '-', '_' or '.', starting with a letter or digit");
          } else if (auto [pos, inserted] = names.emplace(*v, MarkOf(e).line + 1); !inserted) {
            Error(MarkOf(e),
                  "duplicate target name '" + *v + "' (first at line " +
                      std::to_string(pos->second) + ")",
                  "target names must be unique");
          } else {
            t.name = *v;
            where = "target '" + *v + "'";
          }
        }
        break;
      }
    }
    bool has_name = false;
    bool has_select = false;
    t.label = where;
    for (const YamlEntry& e : Fields(item, where, &kKeys, [](const std::string& key) {
           for (const std::string& s : SelectorKeys()) {
             if (s == key) return "'" + key + "' belongs under 'select:'";
           }
           for (const std::string& s :
                {std::string("min"), std::string("max"), std::string("max_step")}) {
             if (s == key) return "'" + key + "' belongs under 'knobs: {KNOB: {...}}'";
           }
           return std::string();
         })) {
      const std::string what = where + " " + e.key;
      if (e.key == "name") {
        has_name = true;
      } else if (e.key == "select") {
        has_select = true;
        SelectorField(e, where, t.selector);
      } else if (e.key == "profile") {
        if (auto v = String(e, what)) {
          t.profile = *v;
          t.profile_mark = MarkOf(e);
        }
      } else if (e.key == "objective") {
        t.objective = ObjectiveField(e, what);
      } else if (e.key == "constraints") {
        ConstraintsField(e.value, what, t.constraints);
      } else if (e.key == "knobs") {
        Knobs(e.value, what, t.knobs);
      } else if (e.key == "mode") {
        t.mode = ModeField(e, what);
      } else if (e.key == "perf_counters") {
        if (auto v = Bool(e, what)) t.perf_counters = *v;
      }
    }
    if (!has_name) {
      Error(item.Mark(), where + " has no name", "add 'name: SOMETHING' (unique, used in metrics)");
    }
    if (!has_select) {
      Error(item.Mark(), where + " has no selector",
            "add 'select:' with one of: " + JoinList(SelectorKeys()));
    }
    // Kept even when broken, so its profile is still checked and every problem is reported.
    targets_.push_back(std::move(t));
  }

  bool SelectorField(const YamlEntry& sel, const std::string& target, Selector& s) {
    const std::string where = target + " select";
    size_t before = errors_.size();
    std::vector<YamlEntry> fields = Fields(sel.value, where, &SelectorKeys());
    bool any = false;
    const YamlEntry* host_entry = nullptr;
    for (const YamlEntry& e : fields) {
      const std::string what = where + " " + e.key;
      if (e.key == "pid") {
        if (auto v = Integer(e, what, 1, kPidMaxLimit)) {
          s.pid = static_cast<pid_t>(*v);
          any = true;
        }
      } else if (e.key == "comm") {
        if (auto v = String(e, what)) {
          if (v->size() > kCommMaxLen) {
            Error(MarkOf(e), what + ": '" + *v + "' is longer than 15 characters",
                  "the kernel truncates comm to 15 characters; match on exe or cmdline instead");
          } else {
            s.comm = *v;
            any = true;
          }
        }
      } else if (e.key == "exe") {
        if (auto v = String(e, what)) {
          s.exe = *v;
          any = true;
        }
      } else if (e.key == "cmdline") {
        if (auto v = String(e, what); v && v->size() > kMaxCmdlineRegexBytes) {
          Error(MarkOf(e),
                what + ": a regular expression of " + std::to_string(v->size()) +
                    " bytes is longer than the " + std::to_string(kMaxCmdlineRegexBytes) +
                    " allowed",
                "match a distinctive argument (e.g. '--config /etc/app.yaml') or use exe");
        } else if (v) {
          re2::RE2::Options opts;
          opts.set_log_errors(false);
          re2::RE2 re(*v, opts);
          if (re.ok()) {
            s.cmdline_regex = *v;
            any = true;
          } else {
            Error(MarkOf(e),
                  what + ": '" + *v + "' is not a valid regular expression (" + re.error() + ")",
                  "RE2 syntax (no backreferences or lookaround); quote the value in single quotes "
                  "to keep backslashes");
          }
        }
      } else if (e.key == "cgroup") {
        if (auto v = AbsolutePath(e, what)) {
          s.cgroup = *v;
          any = true;
        }
      } else if (e.key == "unit") {
        if (auto v = String(e, what)) {
          static const std::vector<std::string> kSuffixes = {".service", ".scope", ".slice"};
          bool ok = std::any_of(kSuffixes.begin(), kSuffixes.end(), [&](const std::string& x) {
            return v->size() > x.size() && v->compare(v->size() - x.size(), x.size(), x) == 0;
          });
          if (!ok || v->find('/') != std::string::npos) {
            Error(MarkOf(e), what + ": '" + *v + "' is not a systemd unit name",
                  "write the full name, e.g. nginx.service (or .scope / .slice)");
          } else {
            s.systemd_unit = *v;
            any = true;
          }
        }
      } else if (e.key == "registered") {
        if (auto v = String(e, what)) {
          if (*v != "*" && !ValidName(*v)) {
            Error(MarkOf(e), what + ": '" + *v + "' is not a valid client name",
                  "use the name the client sends in hello, or '*' for any registered client");
          } else {
            s.registered = *v;
            any = true;
          }
        }
      } else if (e.key == "host") {
        if (auto v = Bool(e, what)) {
          s.host = *v;
          if (*v) host_entry = &e;
        }
      }
    }
    if (host_entry != nullptr && any) {
      Error(MarkOf(*host_entry), where + ": host: true selects the whole host",
            "it cannot be combined with process selectors; make a separate target");
      return false;
    }
    if (errors_.size() != before) return false;
    if (!any && host_entry == nullptr) {
      Error(MarkOf(sel), target + " has an empty selector",
            "add one of: " + JoinList(SelectorKeys()));
      return false;
    }
    return true;
  }

  // ----- resolution: profiles into targets

  std::vector<std::string> AllProfileNames() const {
    std::set<std::string> names;
    for (const auto& [n, p] : BuiltinProfiles()) names.insert(n);
    for (const auto& [n, p] : user_profiles_) names.insert(n);
    return {names.begin(), names.end()};
  }

  // Resolves one profile (following `extends`), memoized. nullptr after reporting a problem.
  const Profile* ResolveProfile(const std::string& name, std::vector<std::string>& stack) {
    if (auto it = resolved_.find(name); it != resolved_.end()) return &it->second;
    auto user = user_profiles_.find(name);
    auto builtin = BuiltinProfiles().find(name);
    if (user == user_profiles_.end()) {
      if (builtin == BuiltinProfiles().end()) return nullptr;
      return &resolved_.emplace(name, builtin->second).first->second;
    }
    const PartialProfile& pp = user->second;
    if (std::find(stack.begin(), stack.end(), name) != stack.end()) {
      std::string chain;
      for (const std::string& s : stack) chain += s + " -> ";
      Error(pp.extends_mark, "profile '" + name + "' extends itself (" + chain + name + ")",
            "break the cycle");
      return nullptr;
    }
    Profile p;
    // A user profile named like a built-in extends it unless it says otherwise.
    if (pp.extends) {
      stack.push_back(name);
      const Profile* base = nullptr;
      if (*pp.extends == name && builtin != BuiltinProfiles().end()) {
        base = &builtin->second;
      } else if (user_profiles_.count(*pp.extends) || BuiltinProfiles().count(*pp.extends)) {
        base = ResolveProfile(*pp.extends, stack);
        if (base == nullptr) {
          stack.pop_back();
          return nullptr;
        }
      } else {
        Error(pp.extends_mark,
              "profile '" + name + "' extends unknown profile '" + *pp.extends + "'",
              ChoiceHint(*pp.extends, AllProfileNames(), "known profiles"));
        stack.pop_back();
        return nullptr;
      }
      stack.pop_back();
      p = *base;
    } else if (builtin != BuiltinProfiles().end()) {
      p = builtin->second;
    }
    p.name = name;
    if (pp.description) p.description = *pp.description;
    if (pp.objective) p.objective = *pp.objective;
    Overlay(p.constraints, pp.constraints);
    for (const auto& [kname, k] : pp.knobs) {
      Overlay(p.knobs[kname], k);
      CheckBounds(p.knobs[kname], k, "profile '" + name + "' knobs " + kname);
    }
    return &resolved_.emplace(name, std::move(p)).first->second;
  }

  // min <= max after merging; the message says which side was inherited.
  void CheckBounds(const KnobPolicy& merged, const PartialKnob& own, const std::string& what) {
    if (!merged.min || !merged.max || *merged.min <= *merged.max) return;
    if (own.min && own.max) return;  // both written here: already reported while parsing
    Error(own.mark,
          what + ": min " + FormatNumber(*merged.min) + " is greater than max " +
              FormatNumber(*merged.max) +
              (own.min ? " (max inherited from the profile)" : " (min inherited from the profile)"),
          own.min ? "lower min or also set max" : "raise max or also set min");
  }

  void Resolve() {
    for (const auto& [name, pp] : user_profiles_) {
      std::vector<std::string> stack;
      ResolveProfile(name, stack);
    }
    for (auto& [name, p] : resolved_) policy_.profiles[name] = p;
    for (const auto& [name, p] : BuiltinProfiles()) policy_.profiles.emplace(name, p);

    for (PartialTarget& pt : targets_) {
      TargetPolicy t;
      t.name = pt.name;
      t.selector = pt.selector;
      t.mode = pt.mode.value_or(policy_.global.mode);
      t.perf_counters = pt.perf_counters;
      if (pt.profile) {
        auto it = policy_.profiles.find(*pt.profile);
        if (it == policy_.profiles.end()) {
          Error(pt.profile_mark, pt.label + ": unknown profile '" + *pt.profile + "'",
                ChoiceHint(*pt.profile, AllProfileNames(), "known profiles"));
          continue;
        }
        t.profile = it->first;
        t.objective = it->second.objective;
        t.constraints = it->second.constraints;
        t.knobs = it->second.knobs;
      }
      if (pt.objective) t.objective = *pt.objective;
      Overlay(t.constraints, pt.constraints);
      for (const auto& [kname, k] : pt.knobs) {
        Overlay(t.knobs[kname], k);
        CheckBounds(t.knobs[kname], k, pt.label + " knobs " + kname);
      }
      policy_.targets.push_back(std::move(t));
    }
  }

  Policy policy_;
  std::map<std::string, PartialProfile> user_profiles_;
  std::map<std::string, Profile> resolved_;
  std::vector<PartialTarget> targets_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API.

std::string Diagnostic::ToString() const {
  std::string s = file;
  if (line > 0) {
    s += ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  s += ": error: " + message;
  if (!hint.empty()) s += " (hint: " + hint + ")";
  return s;
}

PolicyLoad LoadPolicyString(std::string_view yaml, const std::string& source_name) {
  PolicyLoad load = Loader(source_name).Load(yaml);
  if (load.policy) load.policy->source = source_name;
  return load;
}

PolicyLoad LoadPolicyFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    PolicyLoad load;
    load.errors.push_back(Diagnostic{path, 0, 0, "cannot read policy file: it is a directory",
                                     "give the path of a YAML file"});
    return load;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    PolicyLoad load;
    Diagnostic d;
    d.file = path;
    int err = errno;
    d.message =
        std::string("cannot read policy file: ") + (err != 0 ? std::strerror(err) : "read failed");
    d.hint = "check the path and that knobd may read it";
    load.errors.push_back(std::move(d));
    return load;
  }
  return LoadPolicyString(text.str(), path);
}

Status ValidateListenAddress(std::string_view addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) {
    return InvalidArgumentError("'" + std::string(addr) + "' has no port");
  }
  std::string_view host = addr.substr(0, colon);
  std::string_view port = addr.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  // Port 0 asks the kernel for a free port (tests); the daemon logs the one it got.
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    return InvalidArgumentError("'" + std::string(port) + "' is not a port (0-65535)");
  }
  if (host.empty()) {
    return InvalidArgumentError("'" + std::string(addr) + "' has no address before the port");
  }
  if (host.front() == '[') {
    if (host.back() != ']') return InvalidArgumentError("unclosed '[' in IPv6 address");
    std::string v6(host.substr(1, host.size() - 2));
    in6_addr a6{};
    if (inet_pton(AF_INET6, v6.c_str(), &a6) != 1) {
      return InvalidArgumentError("'" + v6 + "' is not an IPv6 address");
    }
    return OkStatus();
  }
  if (host.find(':') != std::string_view::npos) {
    return InvalidArgumentError("IPv6 addresses must be written in brackets, e.g. [::1]:10464");
  }
  std::string v4(host);
  in_addr a4{};
  if (inet_pton(AF_INET, v4.c_str(), &a4) == 1 || v4 == "localhost") return OkStatus();
  return InvalidArgumentError("'" + v4 + "' is not an IPv4 address (or localhost)");
}

}  // namespace knob
