// Test-only helpers for the action handlers' tests: form bodies, error expectations.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "api/form.h"
#include "api/rds_handler.h"
#include "api/test_util.h"
#include "cluster/cluster_service.h"

namespace rwd::api {

inline FormParams Form(std::string_view body) {
  ApiResult<FormParams> p = FormParams::Parse(body);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().ToString());
  return p.ok() ? std::move(p).value() : FormParams();
}

template <typename T>
void ExpectError(const ApiResult<T>& r, int http, const std::string& code,
                 const std::string& message_part = "") {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(http, r.error().http_status) << r.error().ToString();
  EXPECT_EQ(code, r.error().code) << r.error().ToString();
  if (!message_part.empty()) {
    EXPECT_NE(std::string::npos, r.error().message.find(message_part)) << r.error().ToString();
  }
}

inline bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// An RdsHandler over a real ClusterService on <dir>/data (real mariadbd), ports from
// first_port_. A subclass seeds meta.db before calling this SetUp.
class RdsServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    // The engine user (mariadbd runs as it) must be able to cross the data dir's parents:
    // ClusterService::Open refuses a data dir it could not reach.
    ASSERT_EQ(0, ::chmod(dir_.path().c_str(), 0711)) << std::strerror(errno);
    cluster::ServiceOptions o;
    o.data_dir = dir_.path() + "/data";
    o.first_port = first_port_;
    auto s = cluster::ClusterService::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    service_ = std::move(s).value();
    handler_ = std::make_unique<RdsHandler>(service_.get());
  }

  ApiResult<ApiResponse> Call(const std::string& action, const std::string& body = "") {
    ApiRequest req;
    req.action = action;
    req.version = std::string(kRdsApiVersion);
    req.params = Form("Action=" + action + "&Version=2014-10-31" + (body.empty() ? "" : "&") + body);
    return handler_->Handle(req);
  }

  int first_port_ = 47000;
  testing::TempDir dir_;
  std::unique_ptr<cluster::ClusterService> service_;
  std::unique_ptr<RdsHandler> handler_;
};

}  // namespace rwd::api
