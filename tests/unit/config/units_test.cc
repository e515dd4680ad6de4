// SPDX-License-Identifier: Apache-2.0
// Table tests for the strict unit parsers and their formatters.

#include "config/units.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "config/policy_loader.h"

namespace knob {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(ParseDuration, AcceptsEveryUnit) {
  struct Case {
    const char* text;
    nanoseconds want;
  } cases[] = {
      {"7ns", nanoseconds(7)},
      {"10us", microseconds(10)},
      {"10\u00b5s", microseconds(10)},
      {"250ms", milliseconds(250)},
      {"1s", seconds(1)},
      {"1.5s", milliseconds(1500)},
      {"5m", minutes(5)},
      {"1h", hours(1)},
      {"0s", nanoseconds(0)},
      {"0.25ms", microseconds(250)},
      {"0001s", seconds(1)},
      {"1000000h", hours(1000000)},
  };
  for (const Case& c : cases) {
    std::optional<nanoseconds> got = ParseDuration(c.text);
    ASSERT_TRUE(got.has_value()) << c.text;
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseDuration, RejectsLooseForms) {
  for (const char* text : {"",           "10",
                           "s",          "1 s",
                           " 1s",        "1s ",
                           "1.5.0s",     "-1s",
                           "+1s",        "1e3ms",
                           "1S",         "1sec",
                           "1d",         "1m30s",
                           ".5s",        "1.s",
                           "ms",         "1,5s",
                           "0x10s",      "2000000h",
                           "100000000h", "99999999999999999999999ns"}) {
    EXPECT_FALSE(ParseDuration(text).has_value()) << "'" << text << "'";
  }
}

TEST(ParseSize, AcceptsBinaryAndDecimalUnits) {
  struct Case {
    const char* text;
    uint64_t want;
  } cases[] = {
      {"0", 0},
      {"512", 512},
      {"512B", 512},
      {"64KiB", 64 * 1024},
      {"1MiB", 1 << 20},
      {"2GiB", uint64_t{2} << 30},
      {"1TiB", uint64_t{1} << 40},
      {"1KB", 1000},
      {"1kB", 1000},
      {"1MB", 1000000},
      {"3GB", 3000000000},
      {"2TB", 2000000000000},
      {"1.5KiB", 1536},
      {"0.5GiB", uint64_t{1} << 29},
      {"18446744073709551615", UINT64_MAX},
      {"16777215TiB", uint64_t{16777215} << 40},
  };
  for (const Case& c : cases) {
    std::optional<uint64_t> got = ParseSize(c.text);
    ASSERT_TRUE(got.has_value()) << c.text;
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseSize, RejectsLooseForms) {
  for (const char* text :
       {"", "B", "1 KiB", "1kib", "1Kb", "1K", "1G", "-1", "-1KiB", "1.5B", "0.1KiB", "1.2.3MiB",
        "18446744073709551616", "16777216TiB", "1e6", "1PiB", "12 ", "0x100"}) {
    EXPECT_FALSE(ParseSize(text).has_value()) << "'" << text << "'";
  }
}

TEST(ParsePercent, Table) {
  EXPECT_DOUBLE_EQ(*ParsePercent("10%"), 0.10);
  EXPECT_DOUBLE_EQ(*ParsePercent("0.5%"), 0.005);
  EXPECT_DOUBLE_EQ(*ParsePercent("0%"), 0.0);
  EXPECT_DOUBLE_EQ(*ParsePercent("100%"), 1.0);
  EXPECT_DOUBLE_EQ(*ParsePercent("250%"), 2.5);
  for (const char* text :
       {"", "%", "10", "0.1", "10 %", "-5%", "10%%", "1e2%", "ten%", "5.%", "99999999999%"}) {
    EXPECT_FALSE(ParsePercent(text).has_value()) << "'" << text << "'";
  }
}

TEST(FormatDuration, PicksTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(nanoseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(nanoseconds(7)), "7ns");
  EXPECT_EQ(FormatDuration(microseconds(10)), "10us");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(seconds(1)), "1s");
  EXPECT_EQ(FormatDuration(seconds(90)), "90s");
  EXPECT_EQ(FormatDuration(minutes(5)), "5m");
  EXPECT_EQ(FormatDuration(hours(2)), "2h");
  EXPECT_EQ(FormatDuration(-seconds(3)), "-3s");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  const nanoseconds kCases[] = {nanoseconds(1), nanoseconds(1001), milliseconds(10),
                                seconds(61),    minutes(59),       hours(1000)};
  for (nanoseconds d : kCases) {
    EXPECT_EQ(ParseDuration(FormatDuration(d)), d) << FormatDuration(d);
  }
}

TEST(FormatSize, PicksTheLargestExactBinaryUnit) {
  EXPECT_EQ(FormatSize(0), "0B");
  EXPECT_EQ(FormatSize(512), "512B");
  EXPECT_EQ(FormatSize(1000), "1000B");
  EXPECT_EQ(FormatSize(64 * 1024), "64KiB");
  EXPECT_EQ(FormatSize(1536), "1536B");
  EXPECT_EQ(FormatSize(uint64_t{2} << 30), "2GiB");
  EXPECT_EQ(FormatSize(uint64_t{3} << 40), "3TiB");
  for (uint64_t b : {uint64_t{1}, uint64_t{1000}, uint64_t{1} << 20, UINT64_MAX}) {
    EXPECT_EQ(ParseSize(FormatSize(b)), b) << FormatSize(b);
  }
}

TEST(FormatPercent, Table) {
  EXPECT_EQ(FormatPercent(0.10), "10%");
  EXPECT_EQ(FormatPercent(0.005), "0.5%");
  EXPECT_EQ(FormatPercent(1.0), "100%");
}

TEST(ValidateListenAddress, Table) {
  for (const char* ok : {"127.0.0.1:10464", "0.0.0.0:1", "[::1]:10464", "[::]:65535",
                         "localhost:10464", "127.0.0.1:0"}) {
    EXPECT_TRUE(ValidateListenAddress(ok).ok()) << ok;
  }
  for (const char* bad : {"", "10464", ":10464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:-1",
                          "127.0.0.1:65536", "127.0.0.1:http", "::1:10464", "[::1:10464",
                          "[nope]:1", "256.1.1.1:80", "example.com:80", "1.2.3.4:80x"}) {
    EXPECT_FALSE(ValidateListenAddress(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace knob
