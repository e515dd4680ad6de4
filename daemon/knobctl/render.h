// SPDX-License-Identifier: Apache-2.0
#pragma once
// How knobctl draws for a person: tables fitted to the terminal width, colour on a TTY (outcomes:
// verified green, rolled_back / vetoed / rejected red; NO_COLOR and --color=never turn it off),
// numbers, durations, and times with their zone or as a relative age.
// Thread rule: any thread; no shared state.

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace knob::ctl {

struct Style {
  bool color = false;
  int width = 0;  // terminal columns; 0: do not fit (not a terminal)
};

enum class Color { kNone, kGreen, kRed, kYellow, kBold, kDim };
// `text` wrapped in the colour's escape codes when style.color, else unchanged.
std::string Paint(const Style& style, Color c, const std::string& text);
// The colour an outcome name is shown in (verified green, rolled_back/vetoed/rejected red, ...).
Color OutcomeColor(const std::string& outcome);
Color PhaseColor(const std::string& phase);

// Four significant digits (three for magnitudes a table rarely shows).
std::string Num(double v);
// 850us, 12.5ms, 3.2s, 4m05s, 2h10m.
std::string Seconds(double s);
// "2026-12-02 00:04:38 UTC": local time with its zone.
std::string Time(WallTime t);
// "12s ago", "4m05s ago"; "in 3s" for the future.
std::string Age(WallTime t, WallTime now);

// Columns of text. Cells may carry a colour; widths are measured without escape codes. When the
// table is wider than style.width, the widest columns are cut (with "~") until it fits.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void Row(std::vector<std::string> cells, std::vector<Color> colors = {}) {
    rows_.push_back({std::move(cells), std::move(colors)});
  }
  void Print(std::ostream& out, const Style& style) const;

 private:
  struct R {
    std::vector<std::string> cells;
    std::vector<Color> colors;
  };
  std::vector<std::string> headers_;
  std::vector<R> rows_;
};

void KeyValues(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& kv);

// Display width of UTF-8 text (code points; knobctl prints no wide characters).
size_t DisplayWidth(const std::string& s);

}  // namespace knob::ctl
