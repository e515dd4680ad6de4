// SPDX-License-Identifier: Apache-2.0
#include "config/policy_fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "config/suggestions.h"
#include "config/units.h"
#include "core/format.h"

namespace knob {
namespace {

constexpr char kDurationForms[] =
    "accepted forms: 250ms, 1s, 1.5s, 5m, 1h; units ns us ms s m h, no space before the unit";
constexpr char kSizeForms[] =
    "accepted forms: 512, 512B, 64KiB, 2GiB, 1MB (KiB=1024, KB=1000; units B KiB MiB GiB TiB "
    "KB MB GB TB)";
constexpr char kPercentForms[] = "accepted forms: 10%, 0.5%";
constexpr char kBoolForms[] = "accepted forms: true, false";
constexpr char kObjectiveForms[] =
    "accepted forms: {maximize: throughput}, {minimize: p99_latency}, "
    "{minimize: cpu_per_request}";

}  // namespace

using std::chrono::nanoseconds;

void PolicyFields::Error(const YAML::Mark& mark, std::string message, std::string hint) {
  Diagnostic d;
  d.file = file_;
  if (mark.line >= 0 && mark.column >= 0) {
    d.line = mark.line + 1;
    d.column = mark.column + 1;
  }
  d.message = std::move(message);
  d.hint = std::move(hint);
  errors_.push_back(std::move(d));
}

YAML::Mark PolicyFields::MarkOf(const YamlEntry& e) {
  return e.value.IsNull() ? e.key_node.Mark() : e.value.Mark();
}

const char* PolicyFields::KindName(const YAML::Node& n) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "empty";
  return "a single value";
}

std::vector<YamlEntry> PolicyFields::Fields(
    const YAML::Node& node, const std::string& where, const std::vector<std::string>* valid,
    const std::function<std::string(const std::string&)>& misplaced) {
  std::vector<YamlEntry> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsMap()) {
    Error(node.Mark(), where + " must be a mapping (key: value lines), not " + KindName(node));
    return out;
  }
  std::map<std::string, int> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: `it->` points into a temporary that dies with the expression.
    YAML::Node k = it->first;
    YAML::Node v = it->second;
    if (!k.IsScalar()) {
      Error(k.Mark(), "keys in " + where + " must be plain names");
      continue;
    }
    std::string key = k.Scalar();
    if (auto [pos, inserted] = seen.emplace(key, k.Mark().line + 1); !inserted) {
      Error(k.Mark(),
            "duplicate key '" + key + "' in " + where + " (first at line " +
                std::to_string(pos->second) + ")",
            "remove one of them");
      continue;
    }
    if (valid != nullptr && std::find(valid->begin(), valid->end(), key) == valid->end()) {
      std::string hint;
      if (key == "<<") {
        hint = "YAML merge keys are not supported; share settings with a profile instead";
      } else if (misplaced) {
        hint = misplaced(key);
      }
      if (hint.empty()) hint = ChoiceHint(key, *valid, "valid keys here");
      Error(k.Mark(), "unknown key '" + key + "' in " + where, hint);
      continue;
    }
    out.push_back(YamlEntry{std::move(key), k, v});
  }
  return out;
}

std::string PolicyFields::What(const std::string& where, const YamlEntry& e) {
  return where + "." + e.key;
}

bool PolicyFields::ScalarOf(const YamlEntry& e, const std::string& what, std::string* out) {
  if (e.value.IsNull()) {
    Error(MarkOf(e), what + " has no value");
    return false;
  }
  if (!e.value.IsScalar()) {
    Error(e.value.Mark(), what + " must be a single value, not " + KindName(e.value));
    return false;
  }
  *out = e.value.Scalar();
  return true;
}

std::optional<std::string> PolicyFields::String(const YamlEntry& e, const std::string& what) {
  std::string s;
  if (!ScalarOf(e, what, &s)) return std::nullopt;
  if (s.empty()) {
    Error(MarkOf(e), what + " must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> PolicyFields::AbsolutePath(const YamlEntry& e, const std::string& what) {
  std::optional<std::string> s = String(e, what);
  if (s && (*s)[0] != '/') {
    Error(MarkOf(e), what + ": '" + *s + "' is not an absolute path", "start it with '/'");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> PolicyFields::Bool(const YamlEntry& e, const std::string& what) {
  std::string s;
  if (!ScalarOf(e, what, &s)) return std::nullopt;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  Error(MarkOf(e), what + ": '" + s + "' is not true or false", kBoolForms);
  return std::nullopt;
}

std::optional<double> PolicyFields::Number(const YamlEntry& e, const std::string& what, double min,
                                           bool min_exclusive, double max) {
  std::string s;
  if (!ScalarOf(e, what, &s)) return std::nullopt;
  std::optional<double> v = ParseNumber(s);
  if (!v) {
    std::string hint = "write a plain number such as 4 or 0.5";
    if (s.find('%') != std::string::npos) hint = "this field takes a plain number, not a percent";
    Error(MarkOf(e), what + ": '" + s + "' is not a number", hint);
    return std::nullopt;
  }
  if (*v < min || (min_exclusive && *v == min) || *v > max) {
    Error(MarkOf(e), what + ": " + s + " is out of range",
          std::string("must be ") + (min_exclusive ? "> " : ">= ") + FormatNumber(min) +
              " and <= " + FormatNumber(max));
    return std::nullopt;
  }
  return v;
}

std::optional<uint64_t> PolicyFields::Integer(const YamlEntry& e, const std::string& what,
                                              uint64_t min, uint64_t max) {
  std::string s;
  if (!ScalarOf(e, what, &s)) return std::nullopt;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    Error(MarkOf(e), what + ": " + s + " is out of range",
          "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    Error(MarkOf(e), what + ": '" + s + "' is not a whole number",
          "write digits only, e.g. " + std::to_string(std::max<uint64_t>(min, 1)));
    return std::nullopt;
  }
  if (v < min || v > max) {
    Error(MarkOf(e), what + ": " + s + " is out of range",
          "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return v;
}

std::optional<nanoseconds> PolicyFields::DurationField(const YamlEntry& e, const std::string& what,
                                                       nanoseconds min, nanoseconds max) {
  std::string s;
  if (!ScalarOf(e, what, &s)) return std::nullopt;
  std::optional<nanoseconds> d = ParseDuration(s);
  if (!d) {
    std::string hint = kDurationForms;
    if (IsPlainNumber(s)) {
      hint = "a duration needs a unit, e.g. '" + s + "ms' or '" + s + "s'; " + hint;
    } else if (std::optional<std::string> fix = DurationSpellingFix(s)) {
      hint = "did you mean '" + *fix + "'? " + hint;
    }
    Error(MarkOf(e), what + ": '" + s + "' is not a duration", hint);
    return std::nullopt;
  }
  if (*d < min || *d > max) {
    Error(MarkOf(e), what + ": " + s + " is out of range",
          "must be between " + FormatDuration(min) + " and " + FormatDuration(max));
    return std::nullopt;
  }
  return d;
}

std::optional<uint64_t> PolicyFields::SizeField(const YamlEntry& e, const std::string& what,
                                                uint64_t min, uint64_t max) {
  std::string s;
  if (!ScalarOf(e, what, &s)) return std::nullopt;
  std::optional<uint64_t> v = ParseSize(s);
  if (!v) {
    std::string hint = kSizeForms;
    if (std::optional<std::string> fix = SizeSpellingFix(s)) hint = *fix + "; " + hint;
    Error(MarkOf(e), what + ": '" + s + "' is not a size", hint);
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    Error(MarkOf(e), what + ": " + s + " is out of range",
          "must be between " + FormatSize(min) + " and " + FormatSize(max));
    return std::nullopt;
  }
  return v;
}

std::optional<double> PolicyFields::PercentField(const YamlEntry& e, const std::string& what,
                                                 double min, bool min_exclusive, double max) {
  std::string s;
  if (!ScalarOf(e, what, &s)) return std::nullopt;
  std::optional<double> v = ParsePercent(s);
  if (!v) {
    std::string hint = kPercentForms;
    if (IsPlainNumber(s)) hint = "a percent needs '%', e.g. '" + s + "%'; " + hint;
    Error(MarkOf(e), what + ": '" + s + "' is not a percent", hint);
    return std::nullopt;
  }
  if (*v < min || (min_exclusive && *v == min) || *v > max) {
    Error(MarkOf(e), what + ": " + s + " is out of range",
          std::string("must be ") + (min_exclusive ? "> " : ">= ") + FormatPercent(min) +
              " and <= " + FormatPercent(max));
    return std::nullopt;
  }
  return v;
}

std::optional<Mode> PolicyFields::ModeField(const YamlEntry& e, const std::string& what) {
  std::string s;
  if (!ScalarOf(e, what, &s)) return std::nullopt;
  if (std::optional<Mode> m = ParseMode(s)) return m;
  Error(MarkOf(e), what + ": unknown mode '" + s + "'", ChoiceHint(s, ModeNames(), "valid modes"));
  return std::nullopt;
}

std::optional<Objective> PolicyFields::ObjectiveField(const YamlEntry& e, const std::string& what) {
  if (!e.value.IsMap() || e.value.size() != 1) {
    Error(MarkOf(e), what + " must be one of maximize: or minimize: with a metric",
          kObjectiveForms);
    return std::nullopt;
  }
  static const std::vector<std::string> kKeys = {"maximize", "minimize"};
  std::vector<YamlEntry> fields = Fields(e.value, what, &kKeys);
  if (fields.empty()) return std::nullopt;
  const YamlEntry& f = fields[0];
  std::string metric;
  if (!ScalarOf(f, What(what, f), &metric)) return std::nullopt;
  if (f.key == "maximize") {
    if (metric == "throughput") return Objective::kMaximizeThroughput;
    if (metric == "p99_latency" || metric == "cpu_per_request") {
      Error(MarkOf(f), what + ": " + metric + " can only be minimized",
            "write {minimize: " + metric + "}");
      return std::nullopt;
    }
    Error(MarkOf(f), what + ": cannot maximize '" + metric + "'",
          ChoiceHint(metric, {"throughput"}, "maximize takes"));
    return std::nullopt;
  }
  if (metric == "p99_latency") return Objective::kMinimizeP99Latency;
  if (metric == "cpu_per_request") return Objective::kMinimizeCpuPerRequest;
  if (metric == "throughput") {
    Error(MarkOf(f), what + ": throughput can only be maximized", "write {maximize: throughput}");
    return std::nullopt;
  }
  Error(MarkOf(f), what + ": cannot minimize '" + metric + "'",
        ChoiceHint(metric, {"p99_latency", "cpu_per_request"}, "minimize takes"));
  return std::nullopt;
}

}  // namespace knob
