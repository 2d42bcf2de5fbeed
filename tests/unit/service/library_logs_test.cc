// LibraryLogRoute: protobuf's and gRPC's log messages become the Logger's JSON lines.
#include "worker/service/library_logs.h"

#include <cstdio>
#include <string>
#include <vector>

#include "grpc/grpc.h"
#include "grpc/support/log.h"
#include "gtest/gtest.h"
#include "llmworker/v1/worker.pb.h"
#include "nlohmann/json.hpp"

namespace llmw {
namespace {

std::vector<std::string> Lines(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::vector<std::string> lines;
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), file) != nullptr) lines.emplace_back(buffer);
  return lines;
}

TEST(LibraryLogsTest, ProtobufAndGrpcMessagesBecomeJsonLines) {
  grpc_init();  // as in the worker, which serves gRPC: reads GRPC_VERBOSITY (errors by default)
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  Logger log(LogFormat::kJson, file);
  {
    const LibraryLogRoute route(&log);
    // Protobuf logs an error when a string field holds invalid UTF-8.
    llmworker::v1::AbortRequest request;
    EXPECT_FALSE(request.ParseFromString(std::string("\x0a\x02\xff\n", 4)));
    gpr_log(GPR_ERROR, "a gRPC error with a \"quote\" and\na newline");
  }
  gpr_log(GPR_ERROR, "after the route: not ours");
  const std::vector<std::string> lines = Lines(file);
  std::fclose(file);
  grpc_shutdown();
  ASSERT_EQ(lines.size(), 2u) << (lines.empty() ? "" : lines[0]);
  const nlohmann::json protobuf = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(protobuf["source"], "protobuf");
  EXPECT_EQ(protobuf["level"], "error");
  EXPECT_NE(protobuf["event"].get<std::string>().find("request_id"), std::string::npos);
  const nlohmann::json grpc = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(grpc["source"], "grpc");
  EXPECT_EQ(grpc["event"], "a gRPC error with a \"quote\" and\na newline");
  EXPECT_GT(grpc["line"].get<int>(), 0);
}

}  // namespace
}  // namespace llmw
