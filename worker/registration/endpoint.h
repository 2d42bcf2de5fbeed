// The address a worker advertises to the scheduler when none is configured: its listen address
// with a wildcard host replaced by the machine's host name and port 0 by the port it bound.
#pragma once

#include <string>

namespace llmw {

// The host name (gethostname), or "localhost" when it cannot be read.
std::string Hostname();

// "0.0.0.0:50051", "[::]:50051", ":50051" or "*:50051" → "<hostname>:50051"; a port of 0 becomes
// `bound_port` (when > 0). Any other host is kept as it is. Without a ":port" the text is
// returned unchanged.
std::string AdvertisedEndpoint(const std::string& listen, int bound_port,
                               const std::string& hostname);

}  // namespace llmw
