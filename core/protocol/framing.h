// SPDX-License-Identifier: Apache-2.0
#pragma once
// NDJSON framing: splits a byte stream into lines, enforcing a maximum line size so a peer
// cannot make us buffer without bound. Used by the control server and the C++ client.
// Thread rule: one instance per connection, used by one thread at a time.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace knob::protocol {

class LineFramer {
 public:
  explicit LineFramer(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Appends bytes and moves every complete line (without '\n', a trailing '\r' stripped) to
  // `lines`. Returns false once a line (complete or still partial) exceeds the limit: the
  // stream can no longer be trusted and the caller should reply `too_large` and close.
  // After overflow every further call returns false and yields nothing.
  bool Feed(std::string_view bytes, std::vector<std::string>& lines);

  // Bytes of a partial line waiting for its newline.
  size_t pending_bytes() const { return partial_.size(); }
  bool overflowed() const { return overflowed_; }
  size_t max_line_bytes() const { return max_line_bytes_; }

 private:
  size_t max_line_bytes_;
  std::string partial_;
  bool overflowed_ = false;
};

// One encoded message plus the newline.
inline std::string Frame(std::string encoded) {
  encoded.push_back('\n');
  return encoded;
}

}  // namespace knob::protocol
