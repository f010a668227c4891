// Trace propagation through gRPC metadata.
#include "interceptors.h"

#include <cstdlib>

#include "sandbank/kit/trace.h"

namespace sandbank::kit {
namespace {

using grpc::experimental::InterceptionHookPoints;

class TraceServerInterceptor final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      TraceContext ctx;
      auto* md = methods->GetRecvInitialMetadata();
      auto it = md->find(kTraceparentHeader);
      if (it != md->end()) {
        if (auto parsed = parseTraceparent(std::string_view(it->second.data(), it->second.size()))) {
          // The caller made a fresh span for this call; it is the span we serve in.
          ctx.trace_id = parsed->trace_id;
          ctx.span_id = parsed->span_id;
        }
      }
      if (ctx.trace_id.empty()) {
        ctx.trace_id = newTraceId();
        ctx.span_id = newSpanId();
      }
      // Synchronous handlers run on this thread right after the interceptors.
      setCurrentTrace(std::move(ctx));
    }
    methods->Proceed();
  }
};

class TraceClientInterceptor final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      auto* md = methods->GetSendInitialMetadata();
      if (md->find(kTraceparentHeader) == md->end()) {
        TraceContext child = childOf(currentTrace());
        md->emplace(kTraceparentHeader, formatTraceparent(child));
      }
      if (md->find(kSourceHeader) == md->end()) {
        static const std::string source = [] {
          const char* s = std::getenv("SANDBANK_SERVICE");
          return std::string(s ? s : "client");
        }();
        md->emplace(kSourceHeader, source);
      }
    }
    methods->Proceed();
  }
};

}  // namespace

grpc::experimental::Interceptor* TraceServerInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo*) {
  return new TraceServerInterceptor();
}

grpc::experimental::Interceptor* TraceClientInterceptorFactory::CreateClientInterceptor(
    grpc::experimental::ClientRpcInfo*) {
  return new TraceClientInterceptor();
}

}  // namespace sandbank::kit
