// SPDX-License-Identifier: Apache-2.0
#pragma once
// CountingProcFs: wraps a ProcFs, forwards every call and counts reads and listings by path, for
// tests that assert how often a collector touches a file ("the allocator reuses the cpu
// collector's stat", "a thread list is re-read only when the count changes"). A subclass may
// fake DirSize (the only call without a counter).
// Thread rule: test thread only.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/procfs.h"

namespace knob::test {

class CountingProcFs : public ProcFs {
 public:
  explicit CountingProcFs(ProcFs& inner) : inner_(inner) {}

  // Read and ReadKept calls of exactly `path`.
  int ReadsOf(std::string_view path) const { return Count(reads_, path); }
  // Reads of files named `name` (the part after the last '/'), in any directory.
  int ReadsNamed(std::string_view name) const {
    int n = 0;
    for (const auto& [path, count] : reads_) {
      size_t slash = path.rfind('/');
      if ((slash == std::string::npos ? path : path.substr(slash + 1)) == name) n += count;
    }
    return n;
  }
  // Reads of paths ending in `suffix` ("/stat": PID/stat and PID/task/TID/stat, not /proc/stat).
  int ReadsEndingWith(std::string_view suffix) const { return EndingWith(reads_, suffix); }
  // ListDir calls of exactly `path` ("" is the root: a scan for processes).
  int ListingsOf(std::string_view path) const { return Count(listings_, path); }
  // ListDirKept calls of exactly `path`, and of paths ending in `suffix`.
  int KeptListingsOf(std::string_view path) const { return Count(kept_listings_, path); }
  int KeptListingsEndingWith(std::string_view suffix) const {
    return EndingWith(kept_listings_, suffix);
  }
  // Every read or listing of exactly `path`.
  int TouchesOf(std::string_view path) const {
    return ReadsOf(path) + ListingsOf(path) + KeptListingsOf(path);
  }
  void Reset() {
    reads_.clear();
    listings_.clear();
    kept_listings_.clear();
  }

  Status Read(FsRoot r, std::string_view p, std::string& out) override {
    ++reads_[std::string(p)];
    return inner_.Read(r, p, out);
  }
  Status ReadKept(FsRoot r, std::string_view p, std::string& out) override {
    ++reads_[std::string(p)];
    return inner_.ReadKept(r, p, out);
  }
  void Forget(FsRoot r, std::string_view prefix) override { inner_.Forget(r, prefix); }
  Status ListDir(FsRoot r, std::string_view p, std::vector<std::string>& out) override {
    ++listings_[std::string(p)];
    return inner_.ListDir(r, p, out);
  }
  Status ListDirKept(FsRoot r, std::string_view p, std::vector<std::string>& out) override {
    ++kept_listings_[std::string(p)];
    return inner_.ListDirKept(r, p, out);
  }
  Result<int64_t> DirSize(FsRoot r, std::string_view p) override { return inner_.DirSize(r, p); }
  Status ReadLink(FsRoot r, std::string_view p, std::string& out) override {
    return inner_.ReadLink(r, p, out);
  }
  const std::string& RootPath(FsRoot r) const override { return inner_.RootPath(r); }

 private:
  using Counts = std::map<std::string, int, std::less<>>;
  static int Count(const Counts& counts, std::string_view path) {
    auto it = counts.find(path);
    return it == counts.end() ? 0 : it->second;
  }
  static int EndingWith(const Counts& counts, std::string_view suffix) {
    int n = 0;
    for (const auto& [path, count] : counts) {
      if (path.size() >= suffix.size() &&
          path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
        n += count;
      }
    }
    return n;
  }

  ProcFs& inner_;
  Counts reads_, listings_, kept_listings_;
};

}  // namespace knob::test
