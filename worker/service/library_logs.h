// Sends what protobuf and gRPC log through the worker's Logger, so that with
// --log-format json every line the process writes is one JSON object.
#pragma once

#include "google/protobuf/stubs/logging.h"
#include "worker/service/logger.h"

namespace llmw {

// While it lives, protobuf's and gRPC's log messages go to `log` (which must
// outlive it) as lines with the fields source, file and line. One at a time:
// the libraries take a process-wide hook, so this installs one.
class LibraryLogRoute {
 public:
  explicit LibraryLogRoute(Logger* log);
  ~LibraryLogRoute();
  LibraryLogRoute(const LibraryLogRoute&) = delete;
  LibraryLogRoute& operator=(const LibraryLogRoute&) = delete;

 private:
  google::protobuf::LogHandler* previous_protobuf_handler_;
};

}  // namespace llmw
