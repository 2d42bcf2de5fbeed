// Parsing a request's wire bytes with an error that names what is wrong. A
// proto3 `string` field must hold valid UTF-8; protobuf refuses bytes that
// break this (or that are not protobuf at all) without saying where, and
// gRPC's callback API would then answer UNIMPLEMENTED. The service parses
// requests itself and answers INVALID_ARGUMENT naming the field instead.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace llmw {

// Parses `bytes` into *message. On failure: INVALID_ARGUMENT naming the first
// field at fault as a path ("chat.messages[1].content is not valid UTF-8"),
// or saying that the bytes are not a message of that type.
absl::Status ParseRequest(std::string_view bytes, google::protobuf::Message* message);

}  // namespace llmw
