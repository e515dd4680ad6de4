// SPDX-License-Identifier: Apache-2.0
// Startup directory checks. Paths under a regular file fail even for root, so these tests
// assert the failure paths whatever user runs them.

#include "daemon/fs_checks.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace knob {
namespace {

class FsChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knobd-fs-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/file") << "x";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FsChecksTest, CreatesMissingDirectories) {
  std::string d = dir_ + "/a/b/c";
  ASSERT_TRUE(EnsureWritableDir(d, "state directory").ok());
  EXPECT_TRUE(std::filesystem::is_directory(d));
  EXPECT_TRUE(std::filesystem::is_empty(d));  // the probe file is gone
}

TEST_F(FsChecksTest, DirectoryUnderAFileFailsWithAClearMessage) {
  Status s = EnsureWritableDir(dir_ + "/file/state", "state directory");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("state directory " + dir_ + "/file/state"), std::string::npos)
      << s.message();
}

TEST_F(FsChecksTest, AFileIsNotADirectory) {
  Status s = EnsureWritableDir(dir_ + "/file", "state directory");
  ASSERT_FALSE(s.ok());
}

TEST_F(FsChecksTest, ReadOnlyDirectoryFailsForNonRoot) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes to mode 0500 directories";
  std::string d = dir_ + "/ro";
  std::filesystem::create_directory(d);
  std::filesystem::permissions(
      d, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  Status s = EnsureWritableDir(d, "state directory");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
}

TEST_F(FsChecksTest, SocketPathChecks) {
  EXPECT_TRUE(CheckSocketPathCreatable(dir_ + "/run/knobd/control.sock").ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir_ + "/run/knobd"));

  Status under_file = CheckSocketPathCreatable(dir_ + "/file/control.sock");
  ASSERT_FALSE(under_file.ok());
  EXPECT_NE(under_file.message().find("control socket"), std::string::npos);

  Status not_socket = CheckSocketPathCreatable(dir_ + "/file");
  EXPECT_EQ(not_socket.code(), StatusCode::kAlreadyExists);

  Status too_long = CheckSocketPathCreatable(dir_ + "/" + std::string(200, 'x'));
  EXPECT_EQ(too_long.code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(CheckSocketPathCreatable("").code(), StatusCode::kInvalidArgument);
}

TEST_F(FsChecksTest, ExistingSocketIsAcceptable) {
  // A stale socket from a previous run is the server's to replace, not a startup error.
  std::string path = dir_ + "/old.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  EXPECT_TRUE(CheckSocketPathCreatable(path).ok());
}

}  // namespace
}  // namespace knob
