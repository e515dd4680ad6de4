// SPDX-License-Identifier: Apache-2.0
#include "core/protocol/framing.h"

namespace knob::protocol {

bool LineFramer::Feed(std::string_view bytes, std::vector<std::string>& lines) {
  if (overflowed_) return false;
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    std::string_view chunk = bytes.substr(0, nl);
    if (partial_.size() + chunk.size() > max_line_bytes_) {
      overflowed_ = true;
      partial_.clear();
      partial_.shrink_to_fit();
      return false;
    }
    partial_.append(chunk);
    if (nl == std::string_view::npos) break;
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    // Blank lines are keep-alives, not messages.
    if (!partial_.empty()) lines.push_back(std::move(partial_));
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
  return true;
}

}  // namespace knob::protocol
