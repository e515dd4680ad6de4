// SPDX-License-Identifier: Apache-2.0
#pragma once
// JSON codec for core/protocol/messages.h: the only nlohmann_json user in core.
// Decode never throws and names the exact problem ("field 'pid': expected integer, got string").
// Encode produces one line of JSON without the trailing newline (framing adds it).
// Thread rule: pure functions, any thread.

#include <string>
#include <string_view>

#include "core/protocol/messages.h"
#include "core/status.h"

namespace knob::protocol {

// A decode failure: which protocol error code applies plus the precise message.
struct DecodeError {
  ErrorCode code = ErrorCode::kBadMessage;
  std::string message;
  std::optional<uint64_t> id;  // request id if it could be read, so the error can echo it
};

// Decodes one line (without its newline). On failure the Status code is kInvalidArgument and
// `error` (if non-null) receives the protocol error to send back.
Result<Message> Decode(std::string_view line, DecodeError* error = nullptr);

std::string Encode(const Message& m);

// Convenience wrappers.
inline std::string EncodeError(ErrorCode code, std::string message,
                               std::optional<uint64_t> id = std::nullopt) {
  return Encode(Message(Error{code, std::move(message), id}));
}

}  // namespace knob::protocol
