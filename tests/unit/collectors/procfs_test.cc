// SPDX-License-Identifier: Apache-2.0
// RealProcFs over a fixture tree and over the real /proc: reads, kept fds, errors.
#include "core/procfs.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "collectors/parse/cgroup.h"
#include "collectors/parse/loadavg.h"
#include "collectors/parse/netstat.h"
#include "collectors/parse/pid_stat.h"
#include "collectors/parse/pid_status.h"
#include "collectors/parse/pressure.h"
#include "collectors/parse/proc_stat.h"
#include "collectors/parse/schedstat.h"
#include "collectors/parse/smaps_rollup.h"
#include "tests/support/fixture.h"

namespace knob {
namespace {

TEST(ProcFsFixtureTest, CapturedVmParsesWithEveryParser) {
  RealProcFs fs(test::FixtureRoot("vm-hybrid-6.18"), "/nonexistent");
  std::string buf;
  ASSERT_TRUE(fs.Read(FsRoot::kProc, "5410/stat", buf).ok());
  auto st = parse::ParsePidStat(buf);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->pid, 5410);
  EXPECT_EQ(st->comm, "bash");
  ASSERT_TRUE(fs.Read(FsRoot::kProc, "5410/status", buf).ok());
  EXPECT_TRUE(parse::ParsePidStatus(buf).ok());
  ASSERT_TRUE(fs.Read(FsRoot::kProc, "5410/task/5410/schedstat", buf).ok());
  EXPECT_TRUE(parse::ParseSchedstat(buf).ok());
  ASSERT_TRUE(fs.Read(FsRoot::kProc, "5410/smaps_rollup", buf).ok());
  EXPECT_TRUE(parse::ParseSmapsRollup(buf).ok());
  ASSERT_TRUE(fs.Read(FsRoot::kProc, "5410/cgroup", buf).ok());
  auto cg = parse::ParsePidCgroup(buf);
  ASSERT_TRUE(cg.ok());
  EXPECT_EQ(cg->unified, "/");
  EXPECT_TRUE(cg->v1.count("memory"));
  ASSERT_TRUE(fs.Read(FsRoot::kProc, "stat", buf).ok());
  auto ps = parse::ParseProcStat(buf);
  ASSERT_TRUE(ps.ok());
  EXPECT_EQ(ps->cpus.size(), 2u);
  ASSERT_TRUE(fs.Read(FsRoot::kProc, "loadavg", buf).ok());
  EXPECT_TRUE(parse::ParseLoadAvg(buf).ok());
  ASSERT_TRUE(fs.Read(FsRoot::kProc, "net/netstat", buf).ok());
  EXPECT_TRUE(parse::ParseNetstatListen(buf).ok());
  for (const char* f : {"pressure/cpu", "pressure/io", "pressure/memory"}) {
    ASSERT_TRUE(fs.Read(FsRoot::kProc, f, buf).ok());
    EXPECT_TRUE(parse::ParsePressure(buf).ok()) << f;
  }
}

TEST(ProcFsTest, ErrorsMapToCodes) {
  RealProcFs fs(test::FixtureRoot("vm-hybrid-6.18"), "/nonexistent");
  std::string buf = "stale";
  Status s = fs.Read(FsRoot::kProc, "99999/stat", buf);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_TRUE(buf.empty());
  EXPECT_NE(s.message().find("99999/stat"), std::string::npos);
  std::vector<std::string> names;
  ASSERT_TRUE(fs.ListDir(FsRoot::kProc, "5410/task", names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"5410"});
  EXPECT_EQ(fs.ListDir(FsRoot::kSys, "fs/cgroup", names).code(), StatusCode::kNotFound);
}

TEST(ProcFsTest, ReadKeptReusesFdAndSeesNewContent) {
  RealProcFs fs("/proc", "/sys");
  std::string buf;
  ASSERT_TRUE(fs.ReadKept(FsRoot::kProc, "self/stat", buf).ok());
  uint64_t opens = fs.opens();
  EXPECT_EQ(fs.kept_fds(), 1u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(fs.ReadKept(FsRoot::kProc, "self/stat", buf).ok());
  EXPECT_EQ(fs.opens(), opens);  // no open() per read in steady state
  EXPECT_TRUE(parse::ParsePidStat(buf).ok());
  fs.Forget(FsRoot::kProc, "self/");
  EXPECT_EQ(fs.kept_fds(), 0u);
}

TEST(ProcFsTest, KeptFdOfExitedProcessReportsNotFound) {
  RealProcFs fs("/proc", "/sys");
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  std::string path = std::to_string(child) + "/stat";
  std::string buf;
  ASSERT_TRUE(fs.ReadKept(FsRoot::kProc, path, buf).ok());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  // The kept fd still names the dead task: ESRCH, never another process's data.
  Status s = fs.ReadKept(FsRoot::kProc, path, buf);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_EQ(fs.kept_fds(), 0u);
}

TEST(ProcFsTest, KeptFdBudgetFallsBackToPlainReads) {
  RealProcFs fs("/proc", "/sys", /*max_kept_fds=*/1);
  std::string buf;
  ASSERT_TRUE(fs.ReadKept(FsRoot::kProc, "self/stat", buf).ok());
  ASSERT_TRUE(fs.ReadKept(FsRoot::kProc, "self/status", buf).ok());
  EXPECT_EQ(fs.kept_fds(), 1u);
  EXPECT_TRUE(parse::ParsePidStatus(buf).ok());
}

TEST(ProcFsTest, ListDirKeptSeesChangesWithoutReopening) {
  RealProcFs fs("/proc", "/sys");
  std::vector<std::string> names;
  ASSERT_TRUE(fs.ListDirKept(FsRoot::kProc, "self/fd", names).ok());
  const size_t before = names.size();
  const uint64_t opens = fs.opens();
  int fd = ::dup(0);
  ASSERT_TRUE(fs.ListDirKept(FsRoot::kProc, "self/fd", names).ok());
  EXPECT_EQ(names.size(), before + 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), std::to_string(fd)), 1);
  EXPECT_EQ(fs.opens(), opens);
  ::close(fd);
  ASSERT_TRUE(fs.ListDirKept(FsRoot::kProc, "self/task", names).ok());
  EXPECT_GE(names.size(), 1u);
  EXPECT_EQ(std::count(names.begin(), names.end(), "."), 0);
}

TEST(ProcFsTest, DirSizeOfRealFdDirIsTheFdCountOrZeroOnOldKernels) {
  RealProcFs fs("/proc", "/sys");
  std::vector<std::string> names;
  // Our own fd dir, listed through a kept fd that itself shows up in the listing.
  ASSERT_TRUE(fs.ListDirKept(FsRoot::kProc, "self/fd", names).ok());
  const uint64_t opens = fs.opens();
  Result<int64_t> n = fs.DirSize(FsRoot::kProc, "self/fd");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(fs.opens(), opens);  // fstat of the kept fd, no open()
  if (*n == 0) GTEST_SKIP() << "kernel before 6.2: /proc/PID/fd has no size";
  EXPECT_EQ(*n, static_cast<int64_t>(names.size()));
  int fd = ::dup(0);
  EXPECT_EQ(*fs.DirSize(FsRoot::kProc, "self/fd"), static_cast<int64_t>(names.size()) + 1);
  ::close(fd);
  EXPECT_EQ(fs.DirSize(FsRoot::kProc, "999999999/fd").status().code(), StatusCode::kNotFound);
}

TEST(ProcFsTest, ReadLinkAndLargeFile) {
  RealProcFs fs("/proc", "/sys");
  std::string buf;
  ASSERT_TRUE(fs.ReadLink(FsRoot::kProc, "self/exe", buf).ok());
  EXPECT_NE(buf.find("collectors_test"), std::string::npos);
  // /proc/self/smaps is usually larger than the first 4 KiB chunk.
  ASSERT_TRUE(fs.Read(FsRoot::kProc, "self/smaps", buf).ok());
  EXPECT_GT(buf.size(), 4096u);
}

}  // namespace
}  // namespace knob
