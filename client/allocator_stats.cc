// SPDX-License-Identifier: Apache-2.0
#include "client/allocator_stats.h"

#include <dlfcn.h>
#include <malloc.h>

#include <cstddef>
#include <cstdint>

namespace knob {
namespace {

using MallctlFn = int (*)(const char*, void*, size_t*, void*, size_t);

MallctlFn FindMallctl() {
  static MallctlFn fn = reinterpret_cast<MallctlFn>(dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

}  // namespace

std::optional<AppReport::Allocator> ReadAllocatorStats() {
  if (MallctlFn mallctl = FindMallctl()) {
    // jemalloc caches its stats; writing `epoch` refreshes them.
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch));
    AppReport::Allocator a;
    a.kind = "jemalloc";
    auto read = [&](const char* name, double& out) {
      size_t v = 0;
      size_t l = sizeof(v);
      if (mallctl(name, &v, &l, nullptr, 0) == 0) out = static_cast<double>(v);
    };
    read("stats.allocated", a.allocated);
    read("stats.active", a.active);
    read("stats.resident", a.resident);
    read("stats.mapped", a.mapped);
    read("stats.retained", a.retained);
    return a;
  }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();
  AppReport::Allocator a;
  a.kind = "glibc";
  a.allocated = static_cast<double>(mi.uordblks + mi.hblkhd);  // in use, heap + mmapped
  a.active = static_cast<double>(mi.uordblks + mi.hblkhd);
  a.resident = static_cast<double>(mi.arena + mi.hblkhd);  // obtained from the OS
  a.mapped = static_cast<double>(mi.hblkhd);
  a.retained = static_cast<double>(mi.fordblks);  // free, kept by malloc
  return a;
#else
  return std::nullopt;
#endif
}

}  // namespace knob
