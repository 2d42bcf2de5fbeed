// The advertised endpoint's default (see endpoint.h).
#include "worker/registration/endpoint.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace llmw {

std::string Hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

std::string AdvertisedEndpoint(const std::string& listen, int bound_port,
                               const std::string& hostname) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return listen;
  std::string host = listen.substr(0, colon);
  std::string port = listen.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "*") host = hostname;
  if (port == "0" && bound_port > 0) port = std::to_string(bound_port);
  return absl::StrCat(host, ":", port);
}

}  // namespace llmw
