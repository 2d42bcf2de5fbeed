// Helpers for engine tests: a thread-safe collector of one request's events,
// and the text/tokens it streamed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "worker/engine/request.h"

namespace llmw::testing {

class EventCollector {
 public:
  EventCallback Callback() {
    return [this](GenerationEvent e) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(std::move(e));
      if (std::holds_alternative<FinishedEvent>(events_.back())) done_.notify_all();
    };
  }

  // Waits for the FinishedEvent (up to `timeout`); false on time-out.
  bool WaitFinished(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::unique_lock<std::mutex> lock(mu_);
    return done_.wait_for(lock, timeout, [&] { return finished_locked() != nullptr; });
  }

  std::vector<GenerationEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<int32_t> tokens() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<int32_t> out;
    for (const auto& e : events_) {
      if (auto* t = std::get_if<TokenEvent>(&e)) out.push_back(t->id);
    }
    return out;
  }
  // Every text delta, including the text released by the FinishedEvent.
  std::string text() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& e : events_) {
      if (auto* t = std::get_if<TokenEvent>(&e)) out += t->text;
      if (auto* f = std::get_if<FinishedEvent>(&e)) out += f->text;
    }
    return out;
  }
  FinishedEvent finished() const {
    std::lock_guard<std::mutex> lock(mu_);
    const FinishedEvent* f = finished_locked();
    return f ? *f : FinishedEvent{};
  }
  const StartedEvent* started_locked() const {
    for (const auto& e : events_) {
      if (auto* s = std::get_if<StartedEvent>(&e)) return s;
    }
    return nullptr;
  }
  StartedEvent started() const {
    std::lock_guard<std::mutex> lock(mu_);
    const StartedEvent* s = started_locked();
    return s ? *s : StartedEvent{};
  }

 private:
  const FinishedEvent* finished_locked() const {
    for (const auto& e : events_) {
      if (auto* f = std::get_if<FinishedEvent>(&e)) return f;
    }
    return nullptr;
  }

  mutable std::mutex mu_;
  std::condition_variable done_;
  std::vector<GenerationEvent> events_;
};

}  // namespace llmw::testing
