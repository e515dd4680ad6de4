// SPDX-License-Identifier: Apache-2.0
// PidWatch against real processes: a watched child that exits is reported once, a live one
// never, a pid that does not exist cannot be watched.
#include "core/pid_watch.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace knob {
namespace {

pid_t SleepingChild() {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  return pid;
}

// Exited() until it names `pid` or ~10 s pass (the exit is asynchronous to kill()).
bool SeesExit(PidWatch& w, pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    const auto& gone = w.Exited();
    if (std::find(gone.begin(), gone.end(), pid) != gone.end()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(PidWatchTest, ReportsAnExitedChildOnceAndNeverALiveOne) {
  PidWatch w;
  if (!w.available()) GTEST_SKIP() << "no epoll or pidfd_open on this kernel";
  pid_t live = SleepingChild();
  pid_t dying = SleepingChild();
  ASSERT_GT(live, 0);
  ASSERT_GT(dying, 0);
  ASSERT_TRUE(w.Watch(live));
  ASSERT_TRUE(w.Watch(dying));
  EXPECT_TRUE(w.Watch(dying));  // watching twice is one watch
  EXPECT_EQ(w.size(), 2u);
  EXPECT_TRUE(w.Exited().empty());
  kill(dying, SIGKILL);  // not reaped yet: a zombie has exited too
  EXPECT_TRUE(SeesExit(w, dying));
  EXPECT_FALSE(w.Watching(dying));
  EXPECT_TRUE(w.Watching(live));
  EXPECT_TRUE(w.Exited().empty());  // reported once
  waitpid(dying, nullptr, 0);
  // Retain drops what is not kept; Unwatch of an unknown pid is harmless.
  w.Retain({});
  EXPECT_EQ(w.size(), 0u);
  w.Unwatch(live);
  kill(live, SIGKILL);
  waitpid(live, nullptr, 0);
  EXPECT_TRUE(w.Exited().empty());  // no longer watched: nothing to report
}

TEST(PidWatchTest, AProcessThatDoesNotExistCannotBeWatched) {
  PidWatch w;
  if (!w.available()) GTEST_SKIP() << "no epoll or pidfd_open on this kernel";
  pid_t pid = SleepingChild();
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);  // reaped: the pid names nobody now
  EXPECT_FALSE(w.Watch(pid));
  EXPECT_EQ(w.size(), 0u);
  EXPECT_TRUE(w.available());  // a per-process refusal does not disable the watch
}

}  // namespace
}  // namespace knob
