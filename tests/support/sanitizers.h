// SPDX-License-Identifier: Apache-2.0
#pragma once
// Whether this test binary (and so the knobd and clients it starts, built with the same flags:
// scripts/sanitize.sh) runs under a sanitizer. Two kinds of check change meaning there:
//  - RSS: ASan keeps freed memory in its quarantine (256 MiB by default) and TSan keeps shadow
//    memory, so "memory came back" says nothing about knobd's allocator; the normal build
//    asserts it, the sanitizer builds assert everything else (fds, errors, bystanders).
//  - deadlines measured in ticks: instrumented code runs several times slower, so a bystander is
//    given kSanitizerSlowdown ticks instead of one.

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KNOB_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KNOB_TEST_SANITIZED 1
#endif
#endif

namespace knob::test {
#ifdef KNOB_TEST_SANITIZED
inline constexpr bool kSanitized = true;
inline constexpr int kSanitizerSlowdown = 4;
#else
inline constexpr bool kSanitized = false;
inline constexpr int kSanitizerSlowdown = 1;
#endif
}  // namespace knob::test
