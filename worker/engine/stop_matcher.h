// Finds a request's stop strings in its streamed output text. Text that could
// still turn out to be the start of a stop string is held back until it
// either completes one (and is dropped) or can no longer do so (and is
// released), so a client never sees any part of a stop string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmw {

class StopStringMatcher {
 public:
  // Empty strings are ignored. With no stop strings, Append passes text
  // straight through.
  explicit StopStringMatcher(std::vector<std::string> stops);

  struct Output {
    std::string text;      // safe to emit now
    bool stopped = false;  // a stop string completed: generation should end
    int stop_index = -1;   // which one (index into the constructor's list)
  };

  // Takes the next piece of decoded text (whole UTF-8 characters). The
  // output stops at the first position where some stop string ends; of the
  // stop strings ending there the longest wins, and everything from its start
  // on is dropped. Deciding by the end position makes the result independent
  // of how the text is split into pieces (with "bcd" and "abcdef", "abcdef..."
  // stops at "bcd" and emits "a"). Without a match, all but the longest suffix
  // of the unemitted text that is a proper prefix of a stop string is
  // returned; that suffix always starts on a character boundary. After a stop,
  // Append returns nothing.
  Output Append(std::string_view text);

  // The text held back, for when generation ends for another reason. The
  // matcher is then empty and may be reused.
  std::string Flush();

  bool stopped() const { return stop_index_ >= 0; }

 private:
  struct Stop {
    std::string text;
    int index;                     // in the constructor's list
    std::vector<uint32_t> border;  // KMP: longest proper border of text[0..i]
    size_t matched = 0;            // longest prefix of text ending the output so far
  };

  std::vector<Stop> stops_;
  std::string pending_;  // received, not yet emitted
  int stop_index_ = -1;
};

}  // namespace llmw
