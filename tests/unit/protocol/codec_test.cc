// SPDX-License-Identifier: Apache-2.0
#include "core/protocol/codec.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace knob::protocol {
namespace {

template <typename T>
T RoundTrip(const T& in) {
  std::string line = Encode(Message(in));
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  auto out = Decode(line);
  EXPECT_TRUE(out.ok()) << out.status().ToString() << "\n" << line;
  if (!out.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*out)) << line;
  return std::get<T>(*out);
}

TEST(CodecTest, HelloRoundTrip) {
  Hello h{"example-service",
          4242,
          {{"worker_threads", 8, 1, 64, "threads"}, {"cache_bytes", 1e6, {}, {}, ""}},
          {"requests", "latency"},
          "knob-cpp/0.1"};
  Hello out = RoundTrip(h);
  EXPECT_EQ(out.name, "example-service");
  EXPECT_EQ(out.pid, 4242);
  ASSERT_EQ(out.knobs.size(), 2u);
  EXPECT_EQ(out.knobs[0], h.knobs[0]);
  EXPECT_EQ(out.knobs[1], h.knobs[1]);
  EXPECT_EQ(out.metrics, h.metrics);
  EXPECT_EQ(out.client, "knob-cpp/0.1");
}

TEST(CodecTest, ReportRoundTripCoversAppReport) {
  Report r;
  r.seq = 7;
  r.app.requests_total = 1000;
  r.app.errors_total = 3;
  r.app.in_flight = 4;
  r.app.queue_depth = 2;
  r.app.latency_p50_seconds = 0.001;
  r.app.latency_p99_seconds = 0.02;
  r.app.latency_bucket_bounds_seconds = {0.001, 0.01, 0.1};
  r.app.latency_bucket_counts = {10, 5, 1};
  r.app.latency_sum_seconds = 0.5;
  r.app.pools["workers"] = {8, 3, 1};
  AppReport::Cache c;
  c.hits_total = 90;
  c.misses_total = 10;
  c.bytes = 500;
  c.capacity_bytes = 1000;
  c.reuse_bounds_bytes = {1024, 4096};
  c.reuse_counts = {3, 4};
  c.reuse_cold = 2;
  c.sample_rate = 0.01;
  r.app.caches["main"] = c;
  r.app.allocator = AppReport::Allocator{"jemalloc", 1, 2, 3, 4, 5};
  r.app.knobs["worker_threads"] = 8;
  r.app.gauges["custom"] = 1.5;
  Report out = RoundTrip(r);
  EXPECT_EQ(out.seq, 7u);
  EXPECT_EQ(out.app.requests_total, 1000);
  EXPECT_EQ(out.app.errors_total, 3);
  EXPECT_EQ(out.app.in_flight, 4);
  EXPECT_EQ(out.app.queue_depth, 2);
  EXPECT_EQ(out.app.latency_p50_seconds, 0.001);
  EXPECT_FALSE(out.app.latency_p90_seconds.has_value());
  EXPECT_EQ(out.app.latency_p99_seconds, 0.02);
  EXPECT_EQ(out.app.latency_bucket_bounds_seconds, r.app.latency_bucket_bounds_seconds);
  EXPECT_EQ(out.app.latency_bucket_counts, r.app.latency_bucket_counts);
  EXPECT_EQ(out.app.pools.at("workers").busy, 3);
  EXPECT_EQ(out.app.caches.at("main").reuse_counts, c.reuse_counts);
  EXPECT_EQ(out.app.caches.at("main").reuse_cold, 2u);
  EXPECT_EQ(out.app.caches.at("main").sample_rate, 0.01);
  ASSERT_TRUE(out.app.allocator);
  EXPECT_EQ(out.app.allocator->kind, "jemalloc");
  EXPECT_EQ(out.app.allocator->retained, 5);
  EXPECT_EQ(out.app.knobs, r.app.knobs);
  EXPECT_EQ(out.app.gauges, r.app.gauges);
}

TEST(CodecTest, AckSetWelcomeErrorByeRoundTrip) {
  Ack a{42, "worker_threads", AckResult::kRejected, 8, "above my own limit"};
  Ack ao = RoundTrip(a);
  EXPECT_EQ(ao.id, 42u);
  EXPECT_EQ(ao.result, AckResult::kRejected);
  EXPECT_EQ(ao.value, 8);
  EXPECT_EQ(ao.reason, "above my own limit");

  Set s{42, "worker_threads", 12, 8, "throughput still grows", {{"throughput_rps", 900}}, true, 30};
  Set so = RoundTrip(s);
  EXPECT_EQ(so.value, 12);
  EXPECT_EQ(so.old_value, 8);
  EXPECT_TRUE(so.advisory);
  EXPECT_EQ(so.predicted.at("throughput_rps"), 900);
  EXPECT_EQ(so.expires_in_seconds, 30);

  Welcome w{"s-1", "example-service", 0.5, "apply"};
  Welcome wo = RoundTrip(w);
  EXPECT_EQ(wo.session, "s-1");
  EXPECT_EQ(wo.tick_interval_seconds, 0.5);

  Error e{ErrorCode::kPidMismatch, "hello pid 1 is not your pid 2", 9};
  Error eo = RoundTrip(e);
  EXPECT_EQ(eo.code, ErrorCode::kPidMismatch);
  EXPECT_EQ(eo.id, 9u);

  EXPECT_EQ(RoundTrip(Bye{"shutdown"}).reason, "shutdown");
}

TEST(CodecTest, AdminRequestAndReplyRoundTrip) {
  AdminRequest q{AdminOp::kMode, 5, "web", 0, "apply", 0};
  AdminRequest qo = RoundTrip(q);
  EXPECT_EQ(qo.op, AdminOp::kMode);
  EXPECT_EQ(qo.target, "web");
  EXPECT_EQ(qo.mode, "apply");

  AdminReply rep;
  rep.op = AdminOp::kExplain;
  rep.id = 5;
  Recommendation rec;
  rec.id = 77;
  rec.target = "web";
  rec.knob = "worker_threads";
  rec.old_value = 8;
  rec.new_value = 10;
  rec.reason = "queue grows";
  // kClamp, not the default kAllow, so the round trip shows the verdict really crossed the wire.
  rec.verdicts.push_back({"bounds", Verdict::kClamp, "within 1..64"});
  rec.outcome = Outcome::kRolledBack;
  rec.created = WallTime(std::chrono::seconds(1'800'000'000));
  rep.recommendation = rec;
  rep.explanation = {"a", "b"};
  rep.status = StatusInfo{"0.1.0", 1, 10, "recommend", "/etc/knobd.yaml", 1, 10, 2, 1, {"no PSI"}};
  rep.targets =
      std::vector<TargetInfo>{{"web", "active", "apply", true, 12, 0.5, 3, 1, "converged"}};
  ShowInfo show;
  show.target.name = "web";
  show.metrics["cpu.user_seconds"] = 3;
  show.app = AppReport{};
  show.app->requests_total = 5;
  (*rep.targets)[0].instances = 3;
  InstanceInfo inst;
  inst.pid = 4711;
  inst.reports = 9;
  inst.last_report_age_seconds = 0.25;
  inst.app = AppReport{};
  inst.app->pools["db"] = {8, 2, 0};
  show.instances.push_back(inst);
  rep.show = show;
  AdminReply out = RoundTrip(rep);
  EXPECT_EQ(out.op, AdminOp::kExplain);
  ASSERT_TRUE(out.recommendation);
  EXPECT_EQ(out.recommendation->id, 77u);
  EXPECT_EQ(out.recommendation->outcome, Outcome::kRolledBack);
  EXPECT_EQ(out.recommendation->created, rec.created);
  ASSERT_EQ(out.recommendation->verdicts.size(), 1u);
  EXPECT_EQ(out.recommendation->verdicts[0].reason, "within 1..64");
  EXPECT_EQ(out.recommendation->verdicts[0].verdict, Verdict::kClamp);
  EXPECT_EQ(out.explanation.size(), 2u);
  ASSERT_TRUE(out.status);
  EXPECT_EQ(out.status->degraded, std::vector<std::string>{"no PSI"});
  ASSERT_TRUE(out.targets);
  EXPECT_EQ((*out.targets)[0].last_report_age_seconds, 0.5);
  EXPECT_EQ((*out.targets)[0].phase, "converged");
  ASSERT_TRUE(out.show);
  EXPECT_EQ(out.show->metrics.at("cpu.user_seconds"), 3);
  ASSERT_TRUE(out.show->app);
  EXPECT_EQ(out.show->app->requests_total, 5);
  EXPECT_EQ((*out.targets)[0].instances, 3u);
  ASSERT_EQ(out.show->instances.size(), 1u);
  EXPECT_EQ(out.show->instances[0].pid, 4711);
  EXPECT_EQ(out.show->instances[0].reports, 9u);
  EXPECT_EQ(out.show->instances[0].last_report_age_seconds, 0.25);
  ASSERT_TRUE(out.show->instances[0].app);
  EXPECT_EQ(out.show->instances[0].app->pools.at("db").size, 8);
}

struct BadCase {
  const char* line;
  ErrorCode code;
  const char* message;  // expected substring
};

// Readable, shell-safe test names in ctest: "bad_message_field_pid_expected_integer".
void PrintTo(const BadCase& c, std::ostream* os) {
  std::string name(ErrorCodeName(c.code));
  name += "_";
  for (const char* p = c.message; *p != '\0'; ++p) {
    char ch = *p;
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (alnum)
      name += ch;
    else if (name.back() != '_')
      name += '_';
  }
  *os << name;
}

class CodecErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(CodecErrorTest, NamesTheProblem) {
  DecodeError err;
  auto r = Decode(GetParam().line, &err);
  ASSERT_FALSE(r.ok()) << GetParam().line;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(err.code, GetParam().code) << err.message;
  EXPECT_NE(err.message.find(GetParam().message), std::string::npos) << "got: " << err.message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CodecErrorTest,
    ::testing::Values(
        BadCase{"", ErrorCode::kBadJson, "is not valid JSON"},
        BadCase{"{\"v\":1,", ErrorCode::kBadJson, "not valid JSON"},
        BadCase{"[1,2]", ErrorCode::kBadMessage, "must be a JSON object, got array"},
        BadCase{"{\"type\":\"bye\"}", ErrorCode::kBadMessage, "missing field 'v'"},
        BadCase{"{\"v\":\"1\",\"type\":\"bye\"}", ErrorCode::kBadMessage,
                "field 'v': expected integer, got string"},
        BadCase{"{\"v\":2,\"type\":\"bye\"}", ErrorCode::kVersionMismatch, "version 2"},
        BadCase{"{\"v\":1}", ErrorCode::kBadMessage, "missing field 'type'"},
        BadCase{"{\"v\":1,\"type\":7}", ErrorCode::kBadMessage, "field 'type': expected string"},
        BadCase{"{\"v\":1,\"type\":\"frobnicate\"}", ErrorCode::kUnknownType,
                "unknown message type 'frobnicate'"},
        BadCase{"{\"v\":1,\"type\":\"hello\",\"name\":\"a\",\"pid\":\"12\"}",
                ErrorCode::kBadMessage, "field 'pid': expected integer, got string"},
        BadCase{"{\"v\":1,\"type\":\"hello\",\"pid\":12}", ErrorCode::kBadMessage,
                "missing field 'name'"},
        BadCase{"{\"v\":1,\"type\":\"hello\",\"name\":\"a\"}", ErrorCode::kBadMessage,
                "missing field 'pid'"},
        BadCase{"{\"v\":1,\"type\":\"hello\",\"name\":\"a\",\"pid\":-3}", ErrorCode::kBadMessage,
                "field 'pid': expected non-negative integer"},
        BadCase{"{\"v\":1,\"type\":\"hello\",\"name\":\"a\",\"pid\":0}", ErrorCode::kBadMessage,
                "must be a positive pid"},
        BadCase{
            "{\"v\":1,\"type\":\"hello\",\"name\":\"a\",\"pid\":1,\"knobs\":[{\"name\":\"k\"}]}",
            ErrorCode::kBadMessage, "missing field 'knobs[0].value'"},
        BadCase{"{\"v\":1,\"type\":\"hello\",\"name\":\"a\",\"pid\":1,\"knobs\":{}}",
                ErrorCode::kBadMessage, "field 'knobs': expected array, got object"},
        BadCase{"{\"v\":1,\"type\":\"report\",\"errors_total\":0}", ErrorCode::kBadMessage,
                "missing field 'requests_total'"},
        BadCase{"{\"v\":1,\"type\":\"report\",\"requests_total\":true,\"errors_total\":0}",
                ErrorCode::kBadMessage, "field 'requests_total': expected number, got boolean"},
        BadCase{"{\"v\":1,\"type\":\"report\",\"requests_total\":-1,\"errors_total\":0}",
                ErrorCode::kBadMessage, "field 'requests_total': must be >= 0"},
        BadCase{"{\"v\":1,\"type\":\"report\",\"requests_total\":1,\"errors_total\":0,"
                "\"pools\":{\"w\":{\"size\":\"8\"}}}",
                ErrorCode::kBadMessage, "field 'pools.w.size': expected number, got string"},
        BadCase{"{\"v\":1,\"type\":\"report\",\"requests_total\":1,\"errors_total\":0,"
                "\"latency\":{\"bounds\":[1,2],\"counts\":[1]}}",
                ErrorCode::kBadMessage, "'bounds' has 2 entries but 'counts' has 1"},
        BadCase{"{\"v\":1,\"type\":\"report\",\"requests_total\":1,\"errors_total\":0,"
                "\"latency\":{\"bounds\":[2,1],\"counts\":[1,1]}}",
                ErrorCode::kBadMessage, "strictly ascending"},
        BadCase{"{\"v\":1,\"type\":\"report\",\"requests_total\":1,\"errors_total\":0,"
                "\"caches\":{\"c\":{\"hits_total\":1,\"misses_total\":1,\"reuse\":"
                "{\"sample_rate\":0.1,\"bounds\":[1],\"counts\":[-1]}}}}",
                ErrorCode::kBadMessage, "field 'caches.c.reuse.counts[0]': expected non-negative"},
        BadCase{"{\"v\":1,\"type\":\"report\",\"requests_total\":1,\"errors_total\":0,"
                "\"knobs\":{\"w\":\"x\"}}",
                // A string knob value is a CPU list (allowed_cpus); one that is not gets the
                // list's own error.
                ErrorCode::kBadMessage, "field 'knobs.w': CPU list 'x': 'x' is not a CPU number"},
        BadCase{"{\"v\":1,\"type\":\"ack\",\"id\":1,\"result\":\"maybe\"}", ErrorCode::kBadMessage,
                "field 'result': expected \"applied\" or \"rejected\""},
        BadCase{"{\"v\":1,\"type\":\"ack\",\"result\":\"applied\"}", ErrorCode::kBadMessage,
                "missing field 'id'"},
        BadCase{"{\"v\":1,\"type\":\"show\",\"id\":3}", ErrorCode::kBadMessage,
                "missing field 'target'"},
        BadCase{"{\"v\":1,\"type\":\"mode\",\"id\":3,\"target\":\"w\"}", ErrorCode::kBadMessage,
                "missing field 'mode'"},
        BadCase{"{\"v\":1,\"type\":\"explain\",\"id\":3,\"recommendation\":1.5}",
                ErrorCode::kBadMessage, "field 'recommendation': expected integer, got number"},
        BadCase{"{\"v\":1,\"type\":\"welcome\",\"session\":\"s\",\"tick_interval_seconds\":0}",
                ErrorCode::kBadMessage, "must be > 0"},
        // A pid above INT_MAX used to wrap to a negative pid_t (fuzz finding).
        BadCase{"{\"v\":1,\"type\":\"reply\",\"id\":7,\"op\":\"targets\",\"targets\":[{\"name\":"
                "\"w\",\"pid\":4294967295}]}",
                ErrorCode::kBadMessage, "field 'targets[0].pid': out of range for a pid"}));

TEST(CodecTest, ErrorEchoesRequestId) {
  DecodeError err;
  auto r = Decode("{\"v\":1,\"type\":\"show\",\"id\":31}", &err);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(err.id, 31u);
}

TEST(CodecTest, InvalidUtf8IsReplacedNotThrown) {
  Bye b{std::string("bad \xff byte")};
  std::string line = Encode(Message(b));
  auto r = Decode(line);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST(CodecTest, UnknownFieldsAreIgnoredForForwardCompatibility) {
  auto r = Decode("{\"v\":1,\"type\":\"bye\",\"future\":{\"x\":1}}");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::holds_alternative<Bye>(*r));
}

TEST(CodecTest, ErrorCodeNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    auto c = static_cast<ErrorCode>(i);
    EXPECT_EQ(ParseErrorCode(ErrorCodeName(c)), c);
  }
  EXPECT_FALSE(ParseErrorCode("nope"));
}

}  // namespace
}  // namespace knob::protocol

namespace knob::protocol {
namespace {

// Every JSON example in docs/protocol.md must decode: the page is the spec clients follow.
TEST(CodecTest, EveryExampleInTheProtocolDocDecodes) {
  std::ifstream in(KNOB_SOURCE_DIR "/docs/protocol.md");
  ASSERT_TRUE(in) << "docs/protocol.md missing";
  std::string line, object;
  bool in_json = false;
  int depth = 0, examples = 0;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      in_json = line == "```json";
      continue;
    }
    if (!in_json) continue;
    for (char c : line) depth += c == '{' ? 1 : c == '}' ? -1 : 0;
    object += line + " ";
    if (depth == 0 && !object.empty()) {
      auto m = Decode(object);
      EXPECT_TRUE(m.ok()) << m.status().ToString() << "\n" << object;
      ++examples;
      object.clear();
    }
  }
  EXPECT_GE(examples, 10);
}

}  // namespace
}  // namespace knob::protocol

namespace knob::protocol {
namespace {

// Every truncation and single-byte corruption of valid messages decodes to a message or to an
// error with a message: never a crash, never an empty explanation.
TEST(CodecTest, TruncatedAndCorruptedLinesNeverCrash) {
  Report r;
  r.app.requests_total = 5;
  r.app.latency_bucket_bounds_seconds = {0.1, 0.2};
  r.app.latency_bucket_counts = {1, 2};
  r.app.pools["w"] = {1, 2, 3};
  r.app.caches["c"].sample_rate = 0.5;
  r.app.caches["c"].reuse_bounds_bytes = {1024};
  r.app.caches["c"].reuse_counts = {1};
  std::vector<std::string> lines = {
      Encode(Message(r)),
      Encode(Message(Hello{"svc", 12, {{"k", 1, 0, 2, "u"}}, {"requests"}, "x"})),
      Encode(Message(AdminRequest{AdminOp::kMode, 1, "svc", 0, "apply", 0}))};
  const char replacements[] = {'"', '}', ']', ':', '-', '\xff'};
  size_t decoded = 0, refused = 0;
  for (const auto& line : lines) {
    for (size_t i = 0; i < line.size(); ++i) {
      std::vector<std::string> variants = {line.substr(0, i)};
      for (char c : replacements) {
        std::string v = line;
        v[i] = c;
        variants.push_back(v);
      }
      for (const auto& v : variants) {
        DecodeError err;
        auto m = Decode(v, &err);
        if (m.ok()) {
          ++decoded;
          EXPECT_FALSE(Encode(*m).empty());
        } else {
          ++refused;
          EXPECT_FALSE(err.message.empty()) << v;
        }
      }
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(decoded, 0u);
}

}  // namespace
}  // namespace knob::protocol

namespace knob::protocol {
namespace {

// List-valued knobs (docs/protocol.md): a CPU list travels as a string, canonical, with its CPU
// count as the number; numeric knobs stay numbers.
TEST(CodecTest, ListValuedKnobsTravelAsCpuListStrings) {
  Hello h{"unit", 1, {{"allowed_cpus", 0, {}, {}, "cpu list", "0-3,8"}}, {}, ""};
  std::string line = Encode(Message(h));
  EXPECT_NE(line.find(R"("value":"0-3,8")"), std::string::npos) << line;
  Hello hout = RoundTrip(h);
  ASSERT_EQ(hout.knobs.size(), 1u);
  EXPECT_EQ(hout.knobs[0].list, "0-3,8");
  EXPECT_EQ(hout.knobs[0].value, 5);

  auto set = Decode(R"({"v":1,"type":"set","id":7,"knob":"allowed_cpus","value":"5,4,0-1",)"
                    R"("old_value":"0-7"})");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const Set& s = std::get<Set>(*set);
  EXPECT_EQ(s.list, "0,1,4,5");
  EXPECT_EQ(s.value, 4);
  EXPECT_EQ(s.old_list, "0-7");
  Set sout = RoundTrip(s);
  EXPECT_EQ(sout.list, s.list);
  EXPECT_EQ(sout.old_list, s.old_list);

  Ack a{7, "allowed_cpus", AckResult::kApplied, 2.0, "", std::string("2-3")};
  Ack aout = RoundTrip(a);
  EXPECT_EQ(aout.list, "2,3");  // canonical: a pair is not a range
  EXPECT_EQ(aout.value, 2);

  Report r;
  r.app.knobs = {{"allowed_cpus", 3}, {"cpu_quota_percent", 150}};
  r.app.knob_lists = {{"allowed_cpus", "0-2"}};
  Report rout = RoundTrip(r);
  EXPECT_EQ(rout.app.knobs, r.app.knobs);
  EXPECT_EQ(rout.app.knob_lists, r.app.knob_lists);

  // A numeric set carries no list, as before.
  Set n = RoundTrip(Set{1, "worker_threads", 6, 4, "", {}, false, 30});
  EXPECT_FALSE(n.list.has_value());
}

TEST(CodecTest, BadCpuListIsBadMessageNamingTheField) {
  auto r = Decode(R"({"v":1,"type":"set","id":7,"knob":"allowed_cpus","value":"3-1"})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'value'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("runs backwards"), std::string::npos);
}

// A report whose interval had no requests has no percentiles: absent, not NaN or zero.
TEST(CodecTest, ReportWithoutRequestsCarriesNoP99) {
  Report r;
  r.app.requests_total = 10;
  std::string line = Encode(Message(r));
  EXPECT_EQ(line.find("p99"), std::string::npos) << line;
  Report out = RoundTrip(r);
  EXPECT_FALSE(out.app.latency_p99_seconds.has_value());
}

}  // namespace
}  // namespace knob::protocol
