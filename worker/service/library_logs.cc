// The libraries' log hooks are plain function pointers without a context
// argument, so the Logger they write to sits in one process-wide pointer.
#include "worker/service/library_logs.h"

#include <atomic>
#include <cstdint>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "grpc/support/log.h"

namespace llmw {
namespace {

std::atomic<Logger*> g_library_log{nullptr};

void Route(const char* level, const char* source, const char* file, int line,
           std::string_view message) {
  Logger* log = g_library_log.load();
  if (log == nullptr) return;
  const std::initializer_list<LogField> fields = {
      {"source", source}, {"file", file != nullptr ? file : ""}, {"line", int64_t{line}}};
  if (std::string_view(level) == "error") {
    log->Error(message, fields);
  } else if (std::string_view(level) == "warning") {
    log->Warning(message, fields);
  } else {
    log->Info(message, fields);
  }
}

void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                 const std::string& message) {
  const char* name = level >= google::protobuf::LOGLEVEL_ERROR     ? "error"
                     : level == google::protobuf::LOGLEVEL_WARNING ? "warning"
                                                                   : "info";
  Route(name, "protobuf", file, line, message);
}

void GrpcLog(gpr_log_func_args* args) {
  const char* name = args->severity == GPR_LOG_SEVERITY_ERROR  ? "error"
                     : args->severity == GPR_LOG_SEVERITY_INFO ? "info"
                                                               : "debug";
  Route(name, "grpc", args->file, args->line, args->message);
}

}  // namespace

LibraryLogRoute::LibraryLogRoute(Logger* log) {
  g_library_log.store(log);
  previous_protobuf_handler_ = google::protobuf::SetLogHandler(&ProtobufLog);
  gpr_set_log_function(&GrpcLog);
}

LibraryLogRoute::~LibraryLogRoute() {
  gpr_set_log_function(nullptr);  // back to gRPC's own
  google::protobuf::SetLogHandler(previous_protobuf_handler_);
  g_library_log.store(nullptr);
}

}  // namespace llmw
