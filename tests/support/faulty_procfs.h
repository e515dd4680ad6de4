// SPDX-License-Identifier: Apache-2.0
#pragma once
// FaultyProcFs: wraps a ProcFs and injects failures by path, in the spirit of leveldb's
// fault_injection_test: "ENOENT from the second read of 100/stat on", "EACCES on 100/exe",
// "short read of 3 bytes". Rules match when the path contains `path_contains`.
// Thread rule: test thread only.

#include <string>
#include <vector>

#include "core/procfs.h"

namespace knob::test {

class FaultyProcFs final : public ProcFs {
 public:
  struct Fault {
    std::string path_contains;
    int skip_reads = 0;                      // let this many matching reads succeed first
    Status status;                           // failure to return (OK: no failure, see truncate_to)
    size_t truncate_to = std::string::npos;  // short read: keep this many bytes
    int seen = 0;
  };

  explicit FaultyProcFs(ProcFs& inner) : inner_(inner) {}

  void Fail(std::string path_contains, Status status, int skip_reads = 0) {
    faults_.push_back({std::move(path_contains), skip_reads, std::move(status)});
  }
  void ShortRead(std::string path_contains, size_t bytes, int skip_reads = 0) {
    faults_.push_back({std::move(path_contains), skip_reads, OkStatus(), bytes});
  }
  void Clear() { faults_.clear(); }
  int reads() const { return reads_; }

  Status Read(FsRoot root, std::string_view path, std::string& out) override {
    return Apply(path, out, inner_.Read(root, path, out));
  }
  Status ReadKept(FsRoot root, std::string_view path, std::string& out) override {
    return Apply(path, out, inner_.ReadKept(root, path, out));
  }
  void Forget(FsRoot root, std::string_view prefix) override { inner_.Forget(root, prefix); }
  Status ListDir(FsRoot root, std::string_view path, std::vector<std::string>& out) override {
    std::string dummy;
    Status s = Apply(path, dummy, OkStatus());
    if (!s.ok()) return s;
    return inner_.ListDir(root, path, out);
  }
  Status ReadLink(FsRoot root, std::string_view path, std::string& out) override {
    return Apply(path, out, inner_.ReadLink(root, path, out));
  }
  const std::string& RootPath(FsRoot root) const override { return inner_.RootPath(root); }

 private:
  Status Apply(std::string_view path, std::string& out, Status real) {
    ++reads_;
    for (Fault& f : faults_) {
      if (path.find(f.path_contains) == std::string_view::npos) continue;
      if (f.seen++ < f.skip_reads) continue;
      if (!f.status.ok()) {
        out.clear();
        return f.status;
      }
      if (real.ok() && out.size() > f.truncate_to) out.resize(f.truncate_to);
    }
    return real;
  }

  ProcFs& inner_;
  std::vector<Fault> faults_;
  int reads_ = 0;
};

}  // namespace knob::test
