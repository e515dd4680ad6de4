// SPDX-License-Identifier: Apache-2.0
#pragma once
// One table per enum gives both directions of its text form: Name(e) for logs, metrics and the
// wire, Parse(text) for config and requests. A value missing from the table (a cast from a bad
// integer) names itself `fallback`; Parse accepts only the names in the table.
// Thread rule: constexpr data, any thread.
//
//   inline constexpr auto kModeNames = MakeEnumNames<Mode>(
//       {{Mode::kObserve, "observe"}, {Mode::kApply, "apply"}}, "unknown");
//   kModeNames.Name(Mode::kApply) == "apply";  kModeNames.Parse("observe") == Mode::kObserve

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace knob {

template <typename E, size_t N>
class EnumNames {
 public:
  using Entry = std::pair<E, std::string_view>;

  constexpr EnumNames(const std::array<Entry, N>& entries, std::string_view fallback)
      : entries_(entries), fallback_(fallback) {}

  constexpr std::string_view Name(E e) const {
    for (const Entry& entry : entries_) {
      if (entry.first == e) return entry.second;
    }
    return fallback_;
  }
  constexpr std::optional<E> Parse(std::string_view name) const {
    for (const Entry& entry : entries_) {
      if (entry.second == name) return entry.first;
    }
    return std::nullopt;
  }
  constexpr const std::array<Entry, N>& entries() const { return entries_; }

 private:
  std::array<Entry, N> entries_;
  std::string_view fallback_;
};

template <typename E, size_t N>
constexpr EnumNames<E, N> MakeEnumNames(const std::pair<E, std::string_view> (&entries)[N],
                                        std::string_view fallback) {
  std::array<std::pair<E, std::string_view>, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = entries[i];
  return EnumNames<E, N>(a, fallback);
}

}  // namespace knob
