// SPDX-License-Identifier: Apache-2.0
#include "core/status.h"

#include <cerrno>
#include <cstring>

#include "core/enum_names.h"

namespace knob {

namespace {

constexpr auto kStatusCodeNames =
    MakeEnumNames<StatusCode>({{StatusCode::kOk, "OK"},
                               {StatusCode::kInvalidArgument, "INVALID_ARGUMENT"},
                               {StatusCode::kNotFound, "NOT_FOUND"},
                               {StatusCode::kPermissionDenied, "PERMISSION_DENIED"},
                               {StatusCode::kUnavailable, "UNAVAILABLE"},
                               {StatusCode::kAlreadyExists, "ALREADY_EXISTS"},
                               {StatusCode::kFailedPrecondition, "FAILED_PRECONDITION"},
                               {StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED"},
                               {StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED"},
                               {StatusCode::kUnimplemented, "UNIMPLEMENTED"},
                               {StatusCode::kInternal, "INTERNAL"}},
                              "UNKNOWN");

}  // namespace

std::string_view StatusCodeName(StatusCode code) { return kStatusCodeNames.Name(code); }

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(StatusCodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

Status ErrnoToStatus(int err, std::string_view context) {
  StatusCode code = StatusCode::kInternal;
  switch (err) {
    case ENOENT:
    case ESRCH:
    case ENOTDIR:
      code = StatusCode::kNotFound;
      break;
    case EACCES:
    case EPERM:
      code = StatusCode::kPermissionDenied;
      break;
    case EOPNOTSUPP:
    case ENOSYS:
    case ENODEV:
    case ENXIO:
      code = StatusCode::kUnavailable;
      break;
    case EINVAL:
      code = StatusCode::kInvalidArgument;
      break;
    case EEXIST:
    case EADDRINUSE:
      code = StatusCode::kAlreadyExists;
      break;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOSPC:
      code = StatusCode::kResourceExhausted;
      break;
    case ETIMEDOUT:
      code = StatusCode::kDeadlineExceeded;
      break;
    default:
      break;
  }
  std::string m(context);
  m += ": ";
  m += std::strerror(err);
  return Status(code, std::move(m));
}

}  // namespace knob
