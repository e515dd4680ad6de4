// SPDX-License-Identifier: Apache-2.0
#include "daemon/knobctl/render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <numeric>
#include <ostream>

#include "core/format.h"

namespace knob::ctl {

std::string Paint(const Style& style, Color c, const std::string& text) {
  if (!style.color || c == Color::kNone) return text;
  const char* code = "";
  switch (c) {
    case Color::kGreen:
      code = "\033[32m";
      break;
    case Color::kRed:
      code = "\033[31m";
      break;
    case Color::kYellow:
      code = "\033[33m";
      break;
    case Color::kBold:
      code = "\033[1m";
      break;
    case Color::kDim:
      code = "\033[2m";
      break;
    case Color::kNone:
      break;
  }
  return code + text + "\033[0m";
}

Color OutcomeColor(const std::string& o) {
  if (o == "verified") return Color::kGreen;
  if (o == "kept") return Color::kYellow;
  if (o == "rolled_back" || o == "vetoed" || o == "rejected" || o == "expired") return Color::kRed;
  if (o == "pending" || o == "applied") return Color::kYellow;
  return Color::kNone;
}

Color PhaseColor(const std::string& p) {
  if (p == "converged") return Color::kGreen;
  if (p == "verifying" || p == "exploring") return Color::kYellow;
  if (p == "paused" || p == "overridden") return Color::kRed;
  return Color::kNone;
}

std::string Num(double v) {
  const bool extreme = std::fabs(v) >= 1e15 || (v != 0 && std::fabs(v) < 1e-4);
  return FormatNumber(v, extreme ? 3 : 4);
}

std::string Seconds(double s) {
  char buf[32];
  if (s < 1e-3)
    std::snprintf(buf, sizeof(buf), "%.0fus", s * 1e6);
  else if (s < 1)
    std::snprintf(buf, sizeof(buf), "%.1fms", s * 1e3);
  else if (s < 120)
    std::snprintf(buf, sizeof(buf), "%.1fs", s);
  else if (s < 7200)
    std::snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof(buf), "%dh%02dm", static_cast<int>(s) / 3600,
                  (static_cast<int>(s) / 60) % 60);
  return buf;
}

std::string Time(WallTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[48];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm);
  return buf;
}

std::string Age(WallTime t, WallTime now) {
  double s = std::chrono::duration<double>(now - t).count();
  if (s < 0) return "in " + Seconds(-s);
  // Whole seconds read better than "3.2s ago" once past a few seconds.
  if (s >= 10 && s < 120) return std::to_string(static_cast<int>(s)) + "s ago";
  return Seconds(s) + " ago";
}

size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

namespace {

// Cuts to `w` display columns, marking the cut with "~".
std::string Cut(const std::string& s, size_t w) {
  if (DisplayWidth(s) <= w) return s;
  if (w == 0) return "";
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < s.size() && n < w - 1; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out += s[i];
    if ((c & 0xC0) != 0x80) ++n;
    while (i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) out += s[++i];
  }
  return out + "~";
}

}  // namespace

void Table::Print(std::ostream& out, const Style& style) const {
  const size_t cols = headers_.size();
  std::vector<size_t> w(cols, 0);
  for (size_t i = 0; i < cols; ++i) w[i] = DisplayWidth(headers_[i]);
  for (const auto& r : rows_)
    for (size_t i = 0; i < r.cells.size() && i < cols; ++i)
      w[i] = std::max(w[i], DisplayWidth(r.cells[i]));
  if (style.width > 0 && cols > 0) {
    // Two spaces between columns; shrink the widest column one step at a time, never below 4.
    auto total = [&] { return std::accumulate(w.begin(), w.end(), size_t{0}) + 2 * (cols - 1); };
    while (total() > static_cast<size_t>(style.width)) {
      auto widest = std::max_element(w.begin(), w.end());
      if (*widest <= 4) break;
      --*widest;
    }
  }
  auto line = [&](const std::vector<std::string>& cells, const std::vector<Color>& colors,
                  bool header) {
    std::string s;
    size_t pending_pad = 0;
    for (size_t i = 0; i < cols; ++i) {
      std::string cell = Cut(i < cells.size() ? cells[i] : "", w[i]);
      size_t pad = w[i] - DisplayWidth(cell);
      Color c = header ? Color::kBold : (i < colors.size() ? colors[i] : Color::kNone);
      if (!cell.empty()) {
        s += std::string(pending_pad, ' ') + Paint(style, c, cell);
        pending_pad = 0;
      }
      pending_pad += pad + (i + 1 < cols ? 2 : 0);
    }
    out << s << '\n';
  };
  line(headers_, {}, true);
  for (const auto& r : rows_) line(r.cells, r.colors, false);
}

void KeyValues(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& kv) {
  size_t w = 0;
  for (const auto& [k, v] : kv) w = std::max(w, k.size());
  for (const auto& [k, v] : kv) out << k << std::string(w - k.size() + 2, ' ') << v << '\n';
}

}  // namespace knob::ctl
