// AdvertisedEndpoint: wildcard hosts become the host name, port 0 the bound port.
#include "worker/registration/endpoint.h"

#include <gtest/gtest.h>

namespace llmw {
namespace {

TEST(AdvertisedEndpointTest, ReplacesWildcardHosts) {
  EXPECT_EQ(AdvertisedEndpoint("0.0.0.0:50051", 50051, "pod-3"), "pod-3:50051");
  EXPECT_EQ(AdvertisedEndpoint("[::]:50051", 50051, "pod-3"), "pod-3:50051");
  EXPECT_EQ(AdvertisedEndpoint(":50051", 50051, "pod-3"), "pod-3:50051");
  EXPECT_EQ(AdvertisedEndpoint("*:50051", 50051, "pod-3"), "pod-3:50051");
}

TEST(AdvertisedEndpointTest, KeepsConcreteHosts) {
  EXPECT_EQ(AdvertisedEndpoint("10.0.0.7:50051", 50051, "pod-3"), "10.0.0.7:50051");
  EXPECT_EQ(AdvertisedEndpoint("[::1]:7000", 7000, "pod-3"), "[::1]:7000");
  EXPECT_EQ(AdvertisedEndpoint("unix:/tmp/worker.sock", 0, "pod-3"), "unix:/tmp/worker.sock");
}

TEST(AdvertisedEndpointTest, PortZeroBecomesTheBoundPort) {
  EXPECT_EQ(AdvertisedEndpoint("0.0.0.0:0", 41234, "pod-3"), "pod-3:41234");
  EXPECT_EQ(AdvertisedEndpoint("127.0.0.1:0", 0, "pod-3"), "127.0.0.1:0");
}

TEST(HostnameTest, IsNotEmpty) { EXPECT_FALSE(Hostname().empty()); }

}  // namespace
}  // namespace llmw
