// ControlClient and Stubs: one channel to the control port, shared by every panel.
#include "control_client.h"

#include "control_stubs.h"

namespace sandbank::gui {

Stubs::Stubs(const std::string& address, std::string tok) : token(std::move(tok)) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  control = sandbank::control::Control::NewStub(channel);
  bus = sandbank::bus::Bus::NewStub(channel);
  store = sandbank::store::Store::NewStub(channel);
}

std::unique_ptr<grpc::ClientContext> Stubs::context(std::chrono::milliseconds deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  if (deadline.count() > 0) ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

QString describe(const grpc::Status& status) {
  static const char* const kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                       "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                       "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  const int code = static_cast<int>(status.error_code());
  QString name = code >= 0 && code <= 16 ? kNames[code] : QString::number(code);
  if (status.ok()) return name;
  return name + ": " + QString::fromStdString(status.error_message());
}

ControlClient::ControlClient(std::string address, std::string token, QObject* parent)
    : QObject(parent), address_(std::move(address)), token_(std::move(token)),
      stubs_(std::make_unique<Stubs>(address_, token_)) {
  pool_.setMaxThreadCount(4);
}

ControlClient::~ControlClient() { pool_.waitForDone(); }

}  // namespace sandbank::gui
