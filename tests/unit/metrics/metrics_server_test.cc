// MetricsServer over a real socket: /metrics body and content type, process
// metrics against /proc, a taken port, address parsing.
#include "worker/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "tests/unit/metrics/http_get.h"
#include "worker/metrics/process_metrics.h"

namespace llmw::metrics {
namespace {

using ::llmw::metrics::testing::HeaderValue;
using ::llmw::metrics::testing::HttpRequest;
using ::llmw::metrics::testing::HttpResponse;
using ::testing::HasSubstr;

TEST(MetricsServerTest, ServesCollectablesOnPickedPort) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::Counter& requests = prometheus::BuildCounter()
                                      .Name("llmw_requests_total")
                                      .Help("Requests.")
                                      .Register(*registry)
                                      .Add({{"model", "smollm2"}});
  requests.Increment(5);
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0", {registry, std::make_shared<ProcessCollector>("0.1.0")});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  HttpResponse r;
  ASSERT_TRUE(HttpRequest((*server)->port(), "GET", "/metrics", &r));
  EXPECT_EQ(r.status, 200);
  // prometheus-cpp 1.0.1 leaves out the format version; Prometheus reads plain text as 0.0.4.
  EXPECT_THAT(HeaderValue(r.headers, "Content-Type"), HasSubstr("text/plain"));
  EXPECT_THAT(r.body, HasSubstr("# TYPE llmw_requests_total counter\n"
                                "llmw_requests_total{model=\"smollm2\"} 5\n"));
  EXPECT_THAT(r.body, HasSubstr("llmw_build_info{version=\"0.1.0\"} 1\n"));

  // Resident memory as /proc tells it, within the growth of a few scrapes.
  double virtual_bytes = 0, resident_bytes = 0;
  ASSERT_TRUE(ReadProcessMemory(&virtual_bytes, &resident_bytes).ok());
  std::smatch match;
  const std::regex rss("\nllmw_process_resident_memory_bytes ([0-9.e+]+)\n");
  ASSERT_TRUE(std::regex_search(r.body, match, rss)) << r.body;
  EXPECT_NEAR(std::stod(match[1].str()), resident_bytes, 16 << 20);
  EXPECT_GT(resident_bytes, 0);
  EXPECT_GE(virtual_bytes, resident_bytes);

  // Updates show up in the next scrape.
  requests.Increment();
  ASSERT_TRUE(HttpRequest((*server)->port(), "GET", "/metrics", &r));
  EXPECT_THAT(r.body, HasSubstr("llmw_requests_total{model=\"smollm2\"} 6\n"));

  ASSERT_TRUE(HttpRequest((*server)->port(), "GET", "/", &r));
  EXPECT_EQ(r.status, 404);
}

TEST(MetricsServerTest, StopsInDestructor) {
  int port = 0;
  {
    auto server = MetricsServer::Start(":0", {});
    ASSERT_TRUE(server.ok()) << server.status();
    port = (*server)->port();
    HttpResponse r;
    ASSERT_TRUE(HttpRequest(port, "GET", "/metrics", &r));
  }
  HttpResponse r;
  EXPECT_FALSE(HttpRequest(port, "GET", "/metrics", &r));
}

TEST(MetricsServerTest, TakenPortIsAClearError) {
  // Hold a listening socket on a free port, then ask for that port.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto server = MetricsServer::Start(address, {});
  close(fd);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(server.status().message(), HasSubstr(address));
}

TEST(MetricsServerTest, BadAddresses) {
  for (const char* bad :
       {"", ":", "host:", "127.0.0.1:99999", "127.0.0.1:-1", "::1:9100", "127.0.0.1:9x"}) {
    auto server = MetricsServer::Start(bad, {});
    ASSERT_FALSE(server.ok()) << bad;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ListeningPortsOptionTest, Spellings) {
  EXPECT_EQ(*ListeningPortsOption("127.0.0.1:9100"), "127.0.0.1:9100");
  EXPECT_EQ(*ListeningPortsOption(":9100"), "9100");
  EXPECT_EQ(*ListeningPortsOption("9100"), "9100");
  EXPECT_EQ(*ListeningPortsOption("[::1]:9100"), "[::1]:9100");
  EXPECT_EQ(*ListeningPortsOption("0.0.0.0:0"), "0.0.0.0:0");
}

}  // namespace
}  // namespace llmw::metrics
