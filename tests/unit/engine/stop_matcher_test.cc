// Stop strings over streamed text: matches split across pieces, the first
// match to complete wins, held-back prefixes released when they diverge,
// flush, UTF-8 boundaries, and a randomised comparison with a whole-text
// reference under many different splits.
#include "worker/engine/stop_matcher.h"

#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace llmw {
namespace {

struct Fed {
  std::vector<std::string> emitted;  // one per Append
  std::string text;                  // all emitted, plus the flush when not stopped
  bool stopped = false;
  int stop_index = -1;
};

Fed Feed(std::vector<std::string> stops, const std::vector<std::string>& pieces) {
  StopStringMatcher m(std::move(stops));
  Fed run;
  for (const std::string& piece : pieces) {
    StopStringMatcher::Output out = m.Append(piece);
    run.emitted.push_back(out.text);
    run.text += out.text;
    if (out.stopped) {
      run.stopped = true;
      run.stop_index = out.stop_index;
      break;
    }
  }
  if (!run.stopped) run.text += m.Flush();
  return run;
}

TEST(StopStringMatcherTest, NoStopStringsPassesStraightThrough) {
  StopStringMatcher m({});
  EXPECT_EQ(m.Append("hello ").text, "hello ");
  EXPECT_EQ(m.Append("").text, "");
  EXPECT_EQ(m.Append("wor").text, "wor");
  EXPECT_FALSE(m.Append("ld").stopped);
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopStringMatcherTest, EmptyStopStringsAreIgnored) {
  const Fed run = Feed({"", "END"}, {"abc", "E", "ND", "x"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.text, "abc");
  EXPECT_EQ(run.stop_index, 1);
}

TEST(StopStringMatcherTest, WholeStopStringInOnePiece) {
  const Fed run = Feed({"###"}, {"The answer", " is 4.### Next", "never seen"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.text, "The answer is 4.");
  EXPECT_EQ(run.emitted.size(), 2u);
}

TEST(StopStringMatcherTest, StopStringSplitAcrossTwoToFivePieces) {
  const std::vector<std::vector<std::string>> splits = {
      {"Hello <|e", "nd|> tail"},
      {"Hello <", "|en", "d|>"},
      {"Hello ", "<|", "e", "nd|", ">"},
      {"Hello", " <", "|", "end", "|>", "more"},
  };
  for (const auto& pieces : splits) {
    const Fed run = Feed({"<|end|>"}, pieces);
    EXPECT_TRUE(run.stopped);
    EXPECT_EQ(run.text, "Hello ");
  }
}

TEST(StopStringMatcherTest, HoldsBackAPossibleStartAndReleasesItOnDivergence) {
  StopStringMatcher m({"STOP"});
  StopStringMatcher::Output out = m.Append("go ST");
  EXPECT_EQ(out.text, "go ");  // "ST" might start "STOP"
  EXPECT_FALSE(out.stopped);
  out = m.Append("O");
  EXPECT_EQ(out.text, "");  // "STO" still might
  out = m.Append("RM");
  EXPECT_EQ(out.text, "STORM");  // diverged: released, nothing held
  EXPECT_FALSE(out.stopped);
  out = m.Append("S");
  EXPECT_EQ(out.text, "");
  out = m.Append("TOP!");
  EXPECT_EQ(out.text, "");
  EXPECT_TRUE(out.stopped);
}

TEST(StopStringMatcherTest, DivergenceKeepsTheLongestRemainingCandidate) {
  // "aab" diverges at "aaa", but its last "aa" can still start "aab".
  StopStringMatcher m({"aab"});
  EXPECT_EQ(m.Append("xaa").text, "x");
  EXPECT_EQ(m.Append("a").text, "a");
  StopStringMatcher::Output out = m.Append("b");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(out.text, "");
}

TEST(StopStringMatcherTest, FlushReleasesTheHeldText) {
  StopStringMatcher m({"</answer>"});
  EXPECT_EQ(m.Append("42 </ans").text, "42 ");
  EXPECT_EQ(m.Flush(), "</ans");
  EXPECT_EQ(m.Flush(), "");
  // The matcher starts afresh after a flush.
  EXPECT_EQ(m.Append("wer>").text, "wer>");
}

TEST(StopStringMatcherTest, EarliestCompletedMatchWins) {
  // Both in one piece: "two" ends first.
  Fed run = Feed({"three", "two"}, {"one two three"});
  EXPECT_EQ(run.text, "one ");
  EXPECT_EQ(run.stop_index, 1);
  run = Feed({"two", "three"}, {"one three two"});
  EXPECT_EQ(run.text, "one ");
  EXPECT_EQ(run.stop_index, 1);
}

TEST(StopStringMatcherTest, OverlappingCandidates) {
  // "ab" completes before "abc" could.
  Fed run = Feed({"abc", "ab"}, {"xa", "bc"});
  EXPECT_EQ(run.text, "x");
  EXPECT_EQ(run.stop_index, 1);
  // Same end: the longer one (starting earlier) wins.
  run = Feed({"ab", "aab"}, {"zaab"});
  EXPECT_EQ(run.text, "z");
  EXPECT_EQ(run.stop_index, 1);
  // A match that ends inside another candidate: decided by the end, so the
  // result does not depend on how the text is split.
  for (const auto& pieces : std::vector<std::vector<std::string>>{
           {"abcdef"}, {"a", "b", "c", "d", "e", "f"}, {"abc", "def"}}) {
    run = Feed({"abcdef", "bcd"}, pieces);
    EXPECT_EQ(run.text, "a");
    EXPECT_EQ(run.stop_index, 1);
  }
}

TEST(StopStringMatcherTest, StopStringAtTheVeryStart) {
  Fed run = Feed({"\n\n"}, {"\n\nrest"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.text, "");
  run = Feed({"\n\n"}, {"\n", "\n"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.text, "");
}

TEST(StopStringMatcherTest, EmptyPiecesChangeNothing) {
  const Fed run = Feed({"END"}, {"", "a", "", "E", "", "", "N", "", "D", ""});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.text, "a");
}

TEST(StopStringMatcherTest, AfterStoppingNothingMoreIsEmitted) {
  StopStringMatcher m({"x"});
  EXPECT_TRUE(m.Append("abxcd").stopped);
  EXPECT_TRUE(m.stopped());
  StopStringMatcher::Output out = m.Append("more");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(out.text, "");
  EXPECT_EQ(m.Flush(), "");
}

bool IsWholeUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    const size_t len = c < 0x80           ? 1
                       : (c >> 5) == 0x6  ? 2
                       : (c >> 4) == 0xE  ? 3
                       : (c >> 3) == 0x1E ? 4
                                          : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

TEST(StopStringMatcherTest, MultiByteStopStrings) {
  // "終わり" is 9 bytes; the pieces are whole characters, as decoded text is.
  Fed run = Feed({"終わり"}, {"これで", "終", "わ", "り", "です"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.text, "これで");
  run = Feed({"終わり"}, {"これで終わ", "らない"});
  EXPECT_FALSE(run.stopped);
  EXPECT_EQ(run.text, "これで終わらない");
}

TEST(StopStringMatcherTest, HoldBackStartsOnACharacterBoundary) {
  // "é" is C3 A9 and "è" is C3 A8: after "café" the tail "é" might start
  // "éa" — it is held back whole; "è" shares a lead byte with "é" but can
  // never start the stop string, so nothing of it is held.
  StopStringMatcher m({"éa"});
  StopStringMatcher::Output out = m.Append("café");
  EXPECT_EQ(out.text, "caf");
  out = m.Append("è");
  EXPECT_EQ(out.text, "éè");
  EXPECT_TRUE(IsWholeUtf8(out.text));
  // A stop string starting with a continuation byte (not valid UTF-8 on its
  // own) still never makes the matcher split a character.
  StopStringMatcher odd({"\xA9z"});
  out = odd.Append("café");
  EXPECT_EQ(out.text, "caf");
  EXPECT_TRUE(IsWholeUtf8(out.text));
  EXPECT_EQ(odd.Flush(), "é");
}

// Reference: the stop decision on the whole text: the earliest end position
// of any occurrence, the longest stop string among those ending there.
Fed Reference(const std::vector<std::string>& stops, const std::string& text) {
  Fed run;
  size_t best_end = std::string::npos;
  for (size_t i = 0; i < stops.size(); ++i) {
    const size_t pos = text.find(stops[i]);
    if (pos == std::string::npos) continue;
    const size_t end = pos + stops[i].size();
    if (end < best_end || (end == best_end && stops[i].size() > stops[run.stop_index].size())) {
      best_end = end;
      run.stop_index = static_cast<int>(i);
    }
  }
  run.stopped = run.stop_index >= 0;
  run.text = run.stopped ? text.substr(0, best_end - stops[run.stop_index].size()) : text;
  return run;
}

TEST(StopStringMatcherTest, RandomTextAndSplitsAgreeWithWholeTextReference) {
  std::mt19937 rng(2024);
  const std::string alphabet = "aab";
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<std::string> stops;
    const int n_stops = 1 + rng() % 3;
    for (int s = 0; s < n_stops; ++s) {
      std::string stop;
      const int len = 1 + rng() % 5;
      for (int k = 0; k < len; ++k) stop += alphabet[rng() % alphabet.size()];
      stops.push_back(stop);
    }
    std::string text;
    const int text_len = rng() % 30;
    for (int k = 0; k < text_len; ++k) text += "abc"[rng() % 3];
    std::vector<std::string> pieces;
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = std::min<size_t>(rng() % 5, text.size() - pos);  // 0 = empty piece
      pieces.push_back(text.substr(pos, len));
      pos += len;
    }
    const Fed expected = Reference(stops, text);
    const Fed got = Feed(stops, pieces);
    ASSERT_EQ(got.stopped, expected.stopped) << text;
    ASSERT_EQ(got.text, expected.text) << text;
    if (expected.stopped) {
      ASSERT_EQ(stops[got.stop_index], stops[expected.stop_index]) << text;
    }
    // Nothing emitted before a stop ever contains a stop string's prefix
    // that later completed: the emitted text is always a prefix of the
    // final text.
    std::string so_far;
    for (const std::string& e : got.emitted) {
      so_far += e;
      ASSERT_EQ(expected.text.compare(0, so_far.size(), so_far), 0) << text;
    }
  }
}

TEST(StopStringMatcherTest, HoldsBackOnlyWhatCouldStillMatch) {
  // After each piece, the held text is exactly the longest suffix of the
  // unemitted text that is a proper prefix of a stop string.
  StopStringMatcher m({"abcab", "xyz"});
  EXPECT_EQ(m.Append("zzabca").text, "zz");  // "abca" is held
  EXPECT_EQ(m.Append("x").text, "abca");     // now only "x" could start "xyz"
  EXPECT_EQ(m.Append("y").text, "");
  EXPECT_EQ(m.Flush(), "xy");
}

TEST(StopStringMatcherTest, LongOutputWithLongStopStrings) {
  // 8 stop strings of 256 bytes over a 1 MB stream that never matches but
  // keeps coming close: the work per piece is bounded, so this is quick.
  std::vector<std::string> stops;
  for (int i = 0; i < 8; ++i) stops.push_back(std::string(255, 'a') + static_cast<char>('b' + i));
  StopStringMatcher m(stops);
  std::string emitted;
  const std::string piece = std::string(100, 'a') + "z";
  for (int i = 0; i < 10000; ++i) emitted += m.Append(piece).text;
  emitted += m.Flush();
  EXPECT_EQ(emitted.size(), piece.size() * 10000);
  StopStringMatcher::Output out = m.Append(std::string(300, 'a') + "i tail");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(out.stop_index, 7);
  EXPECT_EQ(out.text, std::string(45, 'a'));
}

}  // namespace
}  // namespace llmw
