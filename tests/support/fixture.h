// SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers for tests that read fixture trees under tests/data/proc/<case>/: the path of a case,
// and a scratch copy a test may mutate (threads exiting, pid reuse) without touching the source.
// Thread rule: test thread only.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace knob::test {

// Absolute path of tests/data/proc/<case_name> in the source tree.
inline std::string FixtureRoot(const std::string& case_name) {
  return std::string(KNOB_SOURCE_DIR) + "/tests/data/proc/" + case_name;
}

// A temporary copy of a fixture case, removed on destruction.
class ScratchTree {
 public:
  explicit ScratchTree(const std::string& case_name) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "knob-fixture-XXXXXX").string();
    char* dir = ::mkdtemp(tmpl.data());
    root_ = dir != nullptr ? dir : tmpl;
    std::filesystem::copy(
        FixtureRoot(case_name), root_,
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  }
  ~ScratchTree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  ScratchTree(const ScratchTree&) = delete;
  ScratchTree& operator=(const ScratchTree&) = delete;

  const std::string& root() const { return root_; }
  std::string Path(const std::string& rel) const { return root_ + "/" + rel; }
  // Rewrites a file in place (same inode, so a kept fd sees the new content, as on /proc).
  void Write(const std::string& rel, const std::string& content) const {
    std::ofstream f(Path(rel), std::ios::in | std::ios::out | std::ios::trunc);
    f << content;
  }
  void Remove(const std::string& rel) const { std::filesystem::remove_all(Path(rel)); }

 private:
  std::string root_;
};

}  // namespace knob::test
