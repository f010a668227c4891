// The fps-hub's behaviour: default ack, rules from the environment and SetBehaviour
// (payment id > account > sort code > next N > seeded rates > default), memory of every
// decided payment id (a resubmission gets the original outcome), and over gRPC the
// scripted timeout and late ack held past the caller's deadline.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <map>

#include "sandbank/bank/fps.grpc.pb.h"
#include "sandbank/fps_hub/hub_service.h"
#include "sandbank/fps_hub/scheme_hub.h"

namespace sandbank::fps_hub {
namespace {

pb::HubSubmitRequest submission(const std::string& id, const std::string& sort_code = "040004",
                                const std::string& account = "12345678", int64_t amount = 1000) {
  pb::HubSubmitRequest r;
  r.set_payment_id(id);
  r.mutable_amount()->set_minor_units(amount);
  r.mutable_amount()->set_currency("GBP");
  r.set_sort_code(sort_code);
  r.set_account_number(account);
  return r;
}

pb::HubRule rule(pb::HubAction action) {
  pb::HubRule r;
  r.set_action(action);
  return r;
}

pb::HubAction decide(SchemeHub& hub, const pb::HubSubmitRequest& r) {
  auto d = hub.submit(r);
  EXPECT_TRUE(d.ok()) << d.status().toString();
  return d.ok() ? d->action : pb::HUB_ACTION_UNSPECIFIED;
}

TEST(SchemeHubTest, AcksByDefaultAndRemembersThePayment) {
  SchemeHub hub;
  auto d = hub.submit(submission("p-1"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->action, pb::HUB_ACTION_ACK);
  EXPECT_EQ(d->response.outcome(), pb::HUB_ACK);
  EXPECT_FALSE(d->replayed);
  auto rec = hub.submission("p-1");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->outcome(), pb::HUB_ACK);
  EXPECT_EQ(rec->submissions(), 1);
  EXPECT_EQ(hub.submission("p-2").status().code(), StatusCode::kNotFound);
}

TEST(SchemeHubTest, EnvironmentRulesRejectAndTimeOutBySortCodeAndAccount) {
  kit::Config config(std::map<std::string, std::string>{{"FPS_HUB_REJECT_SORT_CODES", "111111, 222222"},
                      {"FPS_HUB_TIMEOUT_SORT_CODES", "333333"},
                      {"FPS_HUB_REJECT_ACCOUNTS", "99999999"}});
  auto behaviour = SchemeHub::behaviourFromConfig(config);
  ASSERT_TRUE(behaviour.ok()) << behaviour.status().toString();
  SchemeHub hub;
  ASSERT_TRUE(hub.setBehaviour(*behaviour).ok());
  auto rejected = hub.submit(submission("p-1", "222222"));
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(rejected->response.outcome(), pb::HUB_REJECT);
  EXPECT_NE(rejected->response.reason().find("222222"), std::string::npos) << rejected->response.reason();
  EXPECT_EQ(decide(hub, submission("p-2", "333333")), pb::HUB_ACTION_TIMEOUT);
  EXPECT_EQ(decide(hub, submission("p-3", "040004", "99999999")), pb::HUB_ACTION_REJECT);
  EXPECT_EQ(decide(hub, submission("p-4", "040004")), pb::HUB_ACTION_ACK);
}

TEST(SchemeHubTest, BadEnvironmentNamesTheVariable) {
  auto bad_rate = SchemeHub::behaviourFromConfig(kit::Config(std::map<std::string, std::string>{{"FPS_HUB_REJECT_RATE", "1.5"}}));
  ASSERT_FALSE(bad_rate.ok());
  EXPECT_NE(bad_rate.status().message().find("FPS_HUB_REJECT_RATE"), std::string::npos);
  auto bad_default = SchemeHub::behaviourFromConfig(kit::Config(std::map<std::string, std::string>{{"FPS_HUB_DEFAULT", "maybe"}}));
  ASSERT_FALSE(bad_default.ok());
  EXPECT_NE(bad_default.status().message().find("FPS_HUB_DEFAULT"), std::string::npos);
}

TEST(SchemeHubTest, ResubmissionGetsTheOriginalOutcomeWhateverTheRulesSayNow) {
  SchemeHub hub;
  pb::HubBehaviourRequest reject_all;
  reject_all.set_default_action(pb::HUB_ACTION_REJECT);
  ASSERT_EQ(decide(hub, submission("p-1")), pb::HUB_ACTION_ACK);
  ASSERT_TRUE(hub.setBehaviour(reject_all).ok());
  auto again = hub.submit(submission("p-1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->response.outcome(), pb::HUB_ACK);
  EXPECT_EQ(hub.submission("p-1")->submissions(), 2);
  EXPECT_EQ(decide(hub, submission("p-2")), pb::HUB_ACTION_REJECT);
  EXPECT_EQ(hub.submit(submission("p-1", "040004", "12345678", 999)).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(SchemeHubTest, ATimedOutPaymentIsNotRememberedSoALaterSubmissionIsDecidedAfresh) {
  SchemeHub hub;
  pb::HubBehaviourRequest req;
  pb::HubRule r = rule(pb::HUB_ACTION_TIMEOUT);
  r.set_sort_code("333333");
  *req.add_rules() = r;
  ASSERT_TRUE(hub.setBehaviour(req).ok());
  EXPECT_EQ(decide(hub, submission("p-1", "333333")), pb::HUB_ACTION_TIMEOUT);
  EXPECT_EQ(hub.submission("p-1").status().code(), StatusCode::kNotFound);
  pb::HubBehaviourRequest clear;
  clear.set_clear(true);
  ASSERT_TRUE(hub.setBehaviour(clear).ok());
  auto d = hub.submit(submission("p-1", "333333"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->action, pb::HUB_ACTION_ACK);
  EXPECT_FALSE(d->replayed);
  EXPECT_EQ(hub.submission("p-1")->submissions(), 2);  // the timed-out one counts
}

TEST(SchemeHubTest, MostSpecificRuleWins) {
  SchemeHub hub;
  pb::HubBehaviourRequest req;
  pb::HubRule by_sort = rule(pb::HUB_ACTION_REJECT);
  by_sort.set_sort_code("040004");
  pb::HubRule by_account = rule(pb::HUB_ACTION_TIMEOUT);
  by_account.set_account_number("11111111");
  pb::HubRule by_payment = rule(pb::HUB_ACTION_ACK);
  by_payment.set_payment_id("vip");
  *req.add_rules() = by_sort;
  *req.add_rules() = by_account;
  *req.add_rules() = by_payment;
  auto resp = hub.setBehaviour(req);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->rules(), 3);
  EXPECT_EQ(decide(hub, submission("vip", "040004", "11111111")), pb::HUB_ACTION_ACK);
  EXPECT_EQ(decide(hub, submission("p-1", "040004", "11111111")), pb::HUB_ACTION_TIMEOUT);
  EXPECT_EQ(decide(hub, submission("p-2", "040004", "22222222")), pb::HUB_ACTION_REJECT);
  EXPECT_EQ(decide(hub, submission("p-3", "050005", "22222222")), pb::HUB_ACTION_ACK);
}

TEST(SchemeHubTest, NextNRuleAppliesToTheNextNewSubmissionsOnly) {
  SchemeHub hub;
  pb::HubBehaviourRequest req;
  pb::HubRule next = rule(pb::HUB_ACTION_REJECT);
  next.set_next_n(2);
  next.set_reason("scheme maintenance");
  *req.add_rules() = next;
  ASSERT_TRUE(hub.setBehaviour(req).ok());
  auto first = hub.submit(submission("p-1"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->response.reason(), "scheme maintenance");
  ASSERT_TRUE(hub.submit(submission("p-1")).ok());  // a resubmission does not use one up
  EXPECT_EQ(decide(hub, submission("p-2")), pb::HUB_ACTION_REJECT);
  EXPECT_EQ(decide(hub, submission("p-3")), pb::HUB_ACTION_ACK);
}

TEST(SchemeHubTest, SeededRatesPickTheSamePaymentsWhateverTheOrder) {
  pb::HubBehaviourRequest req;
  req.set_set_rates(true);
  req.set_reject_rate(0.2);
  req.set_timeout_rate(0.1);
  req.set_seed(42);
  SchemeHub forward, backward;
  ASSERT_TRUE(forward.setBehaviour(req).ok());
  ASSERT_TRUE(backward.setBehaviour(req).ok());
  std::map<std::string, pb::HubAction> a, b;
  for (int i = 0; i < 1000; ++i) a["p-" + std::to_string(i)] = decide(forward, submission("p-" + std::to_string(i)));
  for (int i = 999; i >= 0; --i) b["p-" + std::to_string(i)] = decide(backward, submission("p-" + std::to_string(i)));
  EXPECT_EQ(a, b);
  int rejects = 0, timeouts = 0;
  for (const auto& [id, action] : a) {
    rejects += action == pb::HUB_ACTION_REJECT;
    timeouts += action == pb::HUB_ACTION_TIMEOUT;
  }
  EXPECT_GT(rejects, 150);
  EXPECT_LT(rejects, 250);
  EXPECT_GT(timeouts, 60);
  EXPECT_LT(timeouts, 140);
  req.set_seed(43);
  SchemeHub other;
  ASSERT_TRUE(other.setBehaviour(req).ok());
  int differ = 0;
  for (int i = 0; i < 1000; ++i) differ += decide(other, submission("p-" + std::to_string(i))) != a["p-" + std::to_string(i)];
  EXPECT_GT(differ, 0);
}

TEST(SchemeHubTest, MalformedRulesAreRefused) {
  SchemeHub hub;
  pb::HubBehaviourRequest no_action;
  no_action.add_rules()->set_sort_code("040004");
  EXPECT_EQ(hub.setBehaviour(no_action).status().code(), StatusCode::kInvalidArgument);
  pb::HubBehaviourRequest no_matcher;
  *no_matcher.add_rules() = rule(pb::HUB_ACTION_REJECT);
  EXPECT_EQ(hub.setBehaviour(no_matcher).status().code(), StatusCode::kInvalidArgument);
  pb::HubBehaviourRequest rates;
  rates.set_set_rates(true);
  rates.set_reject_rate(0.7);
  rates.set_timeout_rate(0.7);
  EXPECT_EQ(hub.setBehaviour(rates).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hub.submit(submission("")).status().code(), StatusCode::kInvalidArgument);
}

class HubGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = makeFpsHubGrpcService(hub_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = pb::FpsHub::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                    grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    hub_.stop();
    server_->Shutdown();
  }

  grpc::Status submit(const pb::HubSubmitRequest& r, pb::HubSubmitResponse* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    return stub_->Submit(&ctx, r, out);
  }
  grpc::Status setBehaviour(const pb::HubBehaviourRequest& r) {
    grpc::ClientContext ctx;
    pb::HubBehaviourResponse out;
    return stub_->SetBehaviour(&ctx, r, &out);
  }

  SchemeHub hub_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::FpsHub::Stub> stub_;
};

TEST_F(HubGrpcTest, ScriptedTimeoutMissesTheCallersDeadline) {
  pb::HubBehaviourRequest req;
  pb::HubRule r = rule(pb::HUB_ACTION_TIMEOUT);
  r.set_payment_id("slow");
  *req.add_rules() = r;
  ASSERT_TRUE(setBehaviour(req).ok());
  pb::HubSubmitResponse out;
  EXPECT_EQ(submit(submission("slow"), &out).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(submit(submission("fast"), &out).ok());
  EXPECT_EQ(out.outcome(), pb::HUB_ACK);
  grpc::ClientContext ctx;
  pb::GetSubmissionRequest get;
  get.set_payment_id("slow");
  pb::HubSubmission rec;
  EXPECT_EQ(stub_->GetSubmission(&ctx, get, &rec).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(HubGrpcTest, LateAckIsRememberedAndAResubmissionLearnsItAtOnce) {
  pb::HubBehaviourRequest req;
  req.set_default_action(pb::HUB_ACTION_ACK_LATE);
  ASSERT_TRUE(setBehaviour(req).ok());
  pb::HubSubmitResponse out;
  EXPECT_EQ(submit(submission("p-1"), &out).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(submit(submission("p-1"), &out).ok());
  EXPECT_EQ(out.outcome(), pb::HUB_ACK);
  grpc::ClientContext ctx;
  pb::GetSubmissionRequest get;
  get.set_payment_id("p-1");
  pb::HubSubmission rec;
  ASSERT_TRUE(stub_->GetSubmission(&ctx, get, &rec).ok());
  EXPECT_TRUE(rec.answered_late());
  EXPECT_EQ(rec.submissions(), 2);
}

TEST_F(HubGrpcTest, SetBehaviourRefusesABadRuleWithAReason) {
  pb::HubBehaviourRequest req;
  req.add_rules()->set_sort_code("040004");
  grpc::Status s = setBehaviour(req);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("action"), std::string::npos) << s.error_message();
}

TEST_F(HubGrpcTest, SendInboundWithoutARouteToFpsIsRefused) {
  pb::HubInboundRequest req;
  req.set_account_id("alice");
  req.mutable_amount()->set_minor_units(100);
  req.mutable_amount()->set_currency("GBP");
  grpc::ClientContext ctx;
  pb::HubInboundResponse resp;
  grpc::Status s = stub_->SendInbound(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("fps"), std::string::npos);
}

}  // namespace
}  // namespace sandbank::fps_hub
