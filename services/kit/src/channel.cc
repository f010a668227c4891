// Channels by service name, through the mesh or direct.
#include "sandbank/kit/channel.h"

#include <cctype>
#include <map>
#include <mutex>

#include <grpcpp/create_channel.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>

#include "interceptors.h"
#include "sandbank/core/environment.h"

namespace sandbank::kit {

std::string addressVariable(const std::string& service) { return serviceAddressVariable(service); }

std::shared_ptr<grpc::Channel> makeChannel(const std::string& target, const std::string& authority) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  if (!authority.empty()) args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, authority);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<TraceClientInterceptorFactory>());
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, grpc::InsecureChannelCredentials(), args, std::move(interceptors));
}

Result<std::shared_ptr<grpc::Channel>> channelTo(const std::string& service, const Config& config) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<grpc::Channel>> cache;  // guarded by mu
  std::string target, authority;
  if (auto mesh = config.get("SANDBANK_MESH"); mesh && !mesh->empty()) {
    target = *mesh;
    authority = service;
  } else if (auto addr = config.get(addressVariable(service)); addr && !addr->empty()) {
    target = *addr;
  } else {
    return Unavailable("no route to service '" + service + "': neither SANDBANK_MESH nor " +
                       addressVariable(service) + " is set (list it under depends_on in the manifest)");
  }
  std::lock_guard lock(mu);
  auto& ch = cache[target + "|" + authority];
  if (!ch) ch = makeChannel(target, authority);
  return ch;
}

}  // namespace sandbank::kit
