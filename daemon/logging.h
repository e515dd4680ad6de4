// SPDX-License-Identifier: Apache-2.0
#pragma once
// knobd's logging: spdlog to stderr. Under systemd (JOURNAL_STREAM names our stderr) lines carry
// no timestamp (journald adds its own) and start with a "<N>" syslog priority that journald
// turns into the entry's priority; elsewhere lines are "2026-11-24T07:41:55.123 info message".
// Thread rule: SetupLogging once at startup before other threads exist; SetLogLevel from the
// loop thread; logging itself is thread-safe (spdlog _mt sink).

#include <string>

namespace knob {

// True when JOURNAL_STREAM is set and its "DEV:INODE" matches file descriptor 2, as
// systemd.exec(5) recommends checking (a child that inherited the variable but writes
// elsewhere must not emit "<N>" prefixes).
bool StderrIsJournal();

void SetupLogging(const std::string& level);
void SetLogLevel(const std::string& level);

// "<6>" for info, "<4>" for warn ... (sd-daemon(3) SD_INFO, SD_WARNING); exposed for tests.
const char* SyslogPrefixForLevel(int spdlog_level);

}  // namespace knob
