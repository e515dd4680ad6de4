// SPDX-License-Identifier: Apache-2.0
#pragma once
// Whether this test binary (and so the knobd and clients it starts, built with the same flags:
// scripts/sanitize.sh) runs under a sanitizer. Two kinds of check change meaning there:
//  - RSS: ASan keeps freed memory in its quarantine (256 MiB by default) and TSan keeps shadow
//    memory, so "memory came back" says nothing about knobd's allocator; the normal build
//    asserts it, the sanitizer builds assert everything else (fds, errors, bystanders).
//  - deadlines measured in ticks, and the load a test may ask knobd to carry: instrumented code
//    runs several times slower (ASan ~2-4x; TSan ~5-15x, by its documentation, and more on the
//    JSON decoding that dominates a flood), so a bystander is given kSanitizerSlowdown ticks
//    instead of one, and a load sized to what the normal build serves is divided by it.

#if defined(__SANITIZE_THREAD__)
#define KNOB_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KNOB_TEST_TSAN 1
#endif
#endif

#if defined(KNOB_TEST_TSAN) || defined(__SANITIZE_ADDRESS__)
#define KNOB_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KNOB_TEST_SANITIZED 1
#endif
#endif

namespace knob::test {
#if defined(KNOB_TEST_TSAN)
inline constexpr bool kSanitized = true;
inline constexpr int kSanitizerSlowdown = 10;
#elif defined(KNOB_TEST_SANITIZED)
inline constexpr bool kSanitized = true;
inline constexpr int kSanitizerSlowdown = 4;
#else
inline constexpr bool kSanitized = false;
inline constexpr int kSanitizerSlowdown = 1;
#endif
}  // namespace knob::test
