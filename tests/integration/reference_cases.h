// Shared by the real-model reference tests: the fixture cases written by
// tests/fixtures/<model>/make_*_fixtures.py (llama.cpp's prompt ids, top-20
// logits and greedy continuation) and the checks made against them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/model.h"
#include "nlohmann/json.hpp"
#include "worker/engine/sampler.h"
#include "worker/engine/sequence_runner.h"

namespace llmw {

inline constexpr int kTopSet = 5;

struct Case {
  std::string name;
  std::string prompt;
  std::vector<int32_t> prompt_ids;
  std::vector<std::pair<int32_t, double>> top_logits;
  std::vector<int32_t> greedy;
  std::vector<double> greedy_margins;
  std::vector<std::pair<int32_t, double>> exact_top_logits;
  std::vector<int32_t> exact_greedy;  // empty when not recorded for this prompt
  std::vector<double> exact_greedy_margins;
};

// tests/fixtures/<fixture_dir>/reference.json
inline std::vector<Case> LoadCases(const std::string& fixture_dir) {
  const char* source_dir = std::getenv("LLMW_SOURCE_DIR");
  const std::string path = std::string(source_dir ? source_dir : ".") + "/tests/fixtures/" +
                           fixture_dir + "/reference.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  const nlohmann::json doc = nlohmann::json::parse(in);
  std::vector<Case> cases;
  for (const auto& c : doc["cases"]) {
    Case k{c["name"], c["prompt"], c["prompt_ids"], {}, c["greedy"], c["greedy_margins"], {}, {}, {}};
    for (const auto& pair : c["top_logits"]) k.top_logits.emplace_back(pair[0], pair[1]);
    if (c.contains("exact_top_logits")) {
      for (const auto& pair : c["exact_top_logits"]) {
        k.exact_top_logits.emplace_back(pair[0], pair[1]);
      }
    }
    if (c.contains("exact_greedy")) {
      k.exact_greedy = c["exact_greedy"].get<std::vector<int32_t>>();
      k.exact_greedy_margins = c["exact_greedy_margins"].get<std::vector<double>>();
    }
    cases.push_back(std::move(k));
  }
  return cases;
}

inline std::vector<int32_t> TopK(std::span<const float> logits, int k) {
  std::vector<int32_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  ids.resize(k);
  return ids;
}

inline double MaxDiff(std::span<const float> logits,
                      const std::vector<std::pair<int32_t, double>>& expected) {
  double max_diff = 0;
  for (const auto& [id, value] : expected) {
    max_diff = std::max(max_diff, std::abs(logits[id] - value));
  }
  return max_diff;
}

// Logits after `prompt`, or a failed status.
inline absl::StatusOr<std::vector<float>> LastLogits(ModelRunner& model,
                                                     const std::vector<int32_t>& prompt) {
  absl::StatusOr<std::unique_ptr<SequenceRunner>> runner =
      SequenceRunner::Create(model, prompt.size());
  if (!runner.ok()) return runner.status();
  absl::StatusOr<std::span<const float>> logits = (*runner)->Append(prompt);
  if (!logits.ok()) return logits.status();
  return std::vector<float>(logits->begin(), logits->end());
}

// Greedy decoding compared step by step with `expected`; stops quietly at the
// first difference when the reference's margin there is under `near_tie`.
inline void ExpectGreedy(ModelRunner& model, const Case& c, const std::vector<int32_t>& expected,
                         const std::vector<double>& margins, double near_tie) {
  auto runner = SequenceRunner::Create(model, c.prompt_ids.size() + expected.size());
  ASSERT_TRUE(runner.ok()) << runner.status();
  absl::StatusOr<std::span<const float>> logits = (*runner)->Append(c.prompt_ids);
  ASSERT_TRUE(logits.ok()) << logits.status();
  for (size_t step = 0; step < expected.size(); ++step) {
    const int32_t token = ArgMax(*logits);
    if (token != expected[step]) {
      EXPECT_LT(margins[step], near_tie) << "step " << step << ": got " << token << ", reference "
                                         << expected[step] << " with a margin of " << margins[step];
      std::cout << c.name << ": same as the reference for " << step
                << " tokens, then a near-tie (margin " << margins[step] << ")\n";
      return;
    }
    const int32_t next[] = {token};
    logits = (*runner)->Append(next);
    ASSERT_TRUE(logits.ok()) << logits.status();
  }
}

// Same top-1 as the reference, and a top-5 set that differs only by tokens
// tying the reference's 5th (within `near_tie`).
inline void ExpectSameTop(std::span<const float> logits, const Case& c, double near_tie) {
  const std::vector<int32_t> ours = TopK(logits, kTopSet);
  EXPECT_EQ(ours[0], c.top_logits[0].first) << "top-1 differs";
  std::set<int32_t> ref_set;
  for (int i = 0; i < kTopSet; ++i) ref_set.insert(c.top_logits[i].first);
  for (int32_t id : ours) {
    if (ref_set.count(id)) continue;
    const auto it = std::find_if(c.top_logits.begin(), c.top_logits.end(),
                                 [&](const auto& p) { return p.first == id; });
    ASSERT_NE(it, c.top_logits.end()) << "token " << id << " is not in the reference top-20";
    EXPECT_LT(c.top_logits[kTopSet - 1].second - it->second, near_tie)
        << "token " << id << " in our top-5 is well below the reference's 5th";
  }
}

}  // namespace llmw
