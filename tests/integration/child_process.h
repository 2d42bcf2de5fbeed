// A program run as a child process by a test: started with posix_spawn, its stdout and stderr
// captured in a temporary log file, signalled, and reaped with a bounded wait. The destructor
// kills (SIGKILL) and reaps a child that is still running, so a failed test leaves none behind.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace llmw::testing {

class ChildProcess {
 public:
  // Runs `binary` with `args`, output to a fresh log file; null (with `*error` set) on failure.
  static std::unique_ptr<ChildProcess> Start(const std::string& binary,
                                             const std::vector<std::string>& args,
                                             std::string* error) {
    char log_template[] = "/tmp/llmw-child-XXXXXX";
    const int log_fd = mkstemp(log_template);
    if (log_fd < 0) {
      *error = "cannot create a log file";
      return nullptr;
    }
    std::vector<std::string> argv_strings = {binary};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, log_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, log_fd);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(log_fd);
    if (rc != 0) {
      unlink(log_template);
      *error = "posix_spawn " + binary + " failed: error " + std::to_string(rc);
      return nullptr;
    }
    return std::unique_ptr<ChildProcess>(new ChildProcess(pid, log_template));
  }

  ~ChildProcess() {
    if (!exit_status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    unlink(log_path_.c_str());
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Everything the child wrote so far.
  std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  bool Signal(int signal) { return !exit_status_ && kill(pid_, signal) == 0; }

  // The wait status (as waitpid gives it) once the child has exited, waiting up to `timeout`;
  // nullopt while it still runs.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!exit_status_) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_status_ = status;
        break;
      }
      if (std::chrono::steady_clock::now() >= end) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_status_;
  }

  // The first capture group of `pattern` in the log, waiting up to `timeout` for it to appear;
  // nullopt when the time runs out or the child exits first.
  std::optional<std::string> WaitForLog(const std::string& pattern,
                                        std::chrono::milliseconds timeout) {
    const std::regex re(pattern);
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const std::string log = Log();
      std::smatch match;
      if (std::regex_search(log, match, re)) return match.size() > 1 ? match[1].str() : "";
      if (WaitExit(std::chrono::milliseconds(0)) || std::chrono::steady_clock::now() >= end) {
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

  const pid_t pid_;
  const std::string log_path_;
  std::optional<int> exit_status_;
};

}  // namespace llmw::testing
