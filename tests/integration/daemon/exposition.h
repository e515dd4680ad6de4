// SPDX-License-Identifier: Apache-2.0
#pragma once
// A strict reader of the Prometheus text exposition format (0.0.4), for asserting that what
// knobd serves is well formed: every line is a HELP, a TYPE, a comment or a sample; samples
// belong to a declared family; each family is declared once.

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace knob::test {

struct Exposition {
  std::map<std::string, std::string> types;  // family -> counter|gauge|histogram|summary|untyped
  std::map<std::string, std::string> help;
  std::vector<std::string> sample_names;
  std::vector<std::string> problems;  // "line N: why: text"
};

inline Exposition ParseExposition(const std::string& text) {
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kSample(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*,?\}|\{\})? ([-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?[Ii]nf|[Nn]a[Nn])( -?[0-9]+)?$)re");
  Exposition out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto problem = [&](const std::string& why) {
    out.problems.push_back("line " + std::to_string(n) + ": " + why + ": " + line);
  };
  auto family_of = [&](const std::string& sample) -> std::string {
    if (out.types.count(sample)) return sample;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s(suffix);
      if (sample.size() > s.size() && sample.compare(sample.size() - s.size(), s.size(), s) == 0) {
        std::string base = sample.substr(0, sample.size() - s.size());
        auto it = out.types.find(base);
        if (it != out.types.end() && (it->second == "histogram" || it->second == "summary")) {
          return base;
        }
      }
    }
    return "";
  };
  std::smatch m;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) {
      if (!std::regex_match(line, m, kHelp)) {
        problem("malformed HELP");
      } else if (!out.help.emplace(m[1], m[2]).second) {
        problem("second HELP for family");
      }
    } else if (line.rfind("# TYPE ", 0) == 0) {
      if (!std::regex_match(line, m, kType)) {
        problem("malformed TYPE");
      } else if (!out.types.emplace(m[1], m[2]).second) {
        problem("second TYPE for family");
      }
    } else if (line[0] == '#') {
      continue;
    } else if (!std::regex_match(line, m, kSample)) {
      problem("malformed sample");
    } else {
      out.sample_names.push_back(m[1]);
      if (family_of(m[1]).empty()) problem("sample of an undeclared family");
    }
  }
  return out;
}

}  // namespace knob::test
