// SPDX-License-Identifier: Apache-2.0
#include "core/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace knob {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrnoMapsToCodes) {
  EXPECT_EQ(ErrnoToStatus(ENOENT, "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoToStatus(ESRCH, "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoToStatus(EACCES, "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(EPERM, "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(EOPNOTSUPP, "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoToStatus(ENOENT, "/proc/1/stat").message(),
            "/proc/1/stat: No such file or directory");
}

TEST(StatusTest, WithContextPrefixes) {
  Status s = NotFoundError("gone").WithContext("pid 42");
  EXPECT_EQ(s.ToString(), "NOT_FOUND: pid 42: gone");
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> a(7);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 7);
  Result<int> b(InvalidArgumentError("bad"));
  EXPECT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.value_or(3), 3);
}

}  // namespace
}  // namespace knob
