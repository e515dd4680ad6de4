// SPDX-License-Identifier: Apache-2.0
// Journald detection and the "<N>" priority prefixes.

#include "daemon/logging.h"

#include <gtest/gtest.h>
#include <spdlog/common.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

namespace knob {
namespace {

TEST(LoggingTest, SyslogPrefixes) {
  EXPECT_STREQ(SyslogPrefixForLevel(spdlog::level::debug), "<7>");
  EXPECT_STREQ(SyslogPrefixForLevel(spdlog::level::info), "<6>");
  EXPECT_STREQ(SyslogPrefixForLevel(spdlog::level::warn), "<4>");
  EXPECT_STREQ(SyslogPrefixForLevel(spdlog::level::err), "<3>");
  EXPECT_STREQ(SyslogPrefixForLevel(spdlog::level::critical), "<2>");
}

TEST(LoggingTest, JournalStreamMustMatchStderr) {
  unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(StderrIsJournal());
  setenv("JOURNAL_STREAM", "garbage", 1);
  EXPECT_FALSE(StderrIsJournal());
  struct stat st {};
  ASSERT_EQ(fstat(2, &st), 0);
  std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  setenv("JOURNAL_STREAM", other.c_str(), 1);
  EXPECT_FALSE(StderrIsJournal());
  setenv("JOURNAL_STREAM", mine.c_str(), 1);
  EXPECT_TRUE(StderrIsJournal());
  unsetenv("JOURNAL_STREAM");
}

}  // namespace
}  // namespace knob
