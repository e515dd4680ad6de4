// SPDX-License-Identifier: Apache-2.0
#pragma once
// Errors as values, shaped like Abseil's Status/StatusOr (GCC 12 has no std::expected in C++20).
// Our code never throws; adapters around third-party libraries catch and return a Status.
// Thread rule: plain values, safe to copy between threads.

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace knob {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the caller's input is wrong (bad policy, bad message)
  kNotFound,          // a file, pid or target that does not exist (or no longer does)
  kPermissionDenied,  // EACCES/EPERM: we may not look
  kUnavailable,       // the kernel or host lacks the feature (no PSI, no PMU)
  kAlreadyExists,
  kFailedPrecondition,
  kResourceExhausted,  // a limit was hit (message size, client count, rate)
  kDeadlineExceeded,
  kUnimplemented,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: /proc/42/stat: No such file or directory"
  std::string ToString() const;
  // Returns a copy whose message is "context: message".
  Status WithContext(std::string_view context) const;
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status PermissionDeniedError(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status FailedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status ResourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnimplementedError(std::string m) {
  return {StatusCode::kUnimplemented, std::move(m)};
}

// Maps an errno to a code (ENOENT/ESRCH -> kNotFound, EACCES/EPERM -> kPermissionDenied,
// EOPNOTSUPP/ENOSYS/ENODEV -> kUnavailable, ...) with "context: strerror(err)".
Status ErrnoToStatus(int err, std::string_view context);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design, like StatusOr
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T value_or(T fallback) const { return ok() ? std::get<T>(v_) : std::move(fallback); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace knob

#define KNOB_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::knob::Status knob_status_ = (expr);        \
    if (!knob_status_.ok()) return knob_status_; \
  } while (0)

// `KNOB_ASSIGN_OR_RETURN(auto* f, MakeF());` declares (or assigns) the value of a Result, or
// returns its Status from the enclosing function.
#define KNOB_STATUS_CONCAT_INNER_(a, b) a##b
#define KNOB_STATUS_CONCAT_(a, b) KNOB_STATUS_CONCAT_INNER_(a, b)
#define KNOB_ASSIGN_OR_RETURN(lhs, expr) \
  KNOB_ASSIGN_OR_RETURN_IMPL_(KNOB_STATUS_CONCAT_(knob_result_, __LINE__), lhs, expr)
// `result` and `lhs` are a name and a declaration, which parentheses would break.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define KNOB_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                \
  if (!result.ok()) return result.status();            \
  lhs = std::move(*result)
// NOLINTEND(bugprone-macro-parentheses)
