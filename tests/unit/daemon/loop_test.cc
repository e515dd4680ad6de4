// SPDX-License-Identifier: Apache-2.0
// The libuv wrappers on a real loop: callbacks fire, handles close cleanly, work runs off the
// loop thread and completes on it.

#include "daemon/loop/loop.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <csignal>
#include <string>
#include <thread>

#include "daemon/loop/async.h"
#include "daemon/loop/signal.h"
#include "daemon/loop/timer.h"
#include "daemon/loop/work.h"

namespace knob {
namespace {

using std::chrono::milliseconds;

TEST(LoopTest, RunReturnsWhenNothingIsActive) {
  Loop loop;
  EXPECT_TRUE(loop.Run().ok());
  EXPECT_FALSE(loop.RunNoWait());
}

TEST(TimerTest, OneShotFiresOnceAndLoopEnds) {
  Loop loop;
  Timer timer(loop);
  int fired = 0;
  timer.Start(milliseconds(1), milliseconds(0), [&] { ++fired; });
  EXPECT_TRUE(timer.active());
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(timer.active());
}

TEST(TimerTest, RepeatingTimerFiresUntilStopped) {
  Loop loop;
  Timer timer(loop);
  int fired = 0;
  timer.Start(milliseconds(0), milliseconds(1), [&] {
    if (++fired == 3) timer.Stop();
  });
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(fired, 3);
}

TEST(TimerTest, RestartReplacesCallback) {
  Loop loop;
  Timer timer(loop);
  int first = 0, second = 0;
  timer.Start(milliseconds(50), milliseconds(0), [&] { ++first; });
  timer.Start(milliseconds(1), milliseconds(0), [&] { ++second; });
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
}

TEST(TimerTest, DestroyedTimerNeverFiresAndLoopDrains) {
  Loop loop;
  int fired = 0;
  {
    Timer timer(loop);
    timer.Start(milliseconds(1), milliseconds(0), [&] { ++fired; });
  }
  ASSERT_TRUE(loop.Run().ok());  // processes the close; nothing else left
  EXPECT_EQ(fired, 0);
}

TEST(TimerTest, CallbackMayDestroyItsOwnTimer) {
  Loop loop;
  auto timer = std::make_unique<Timer>(loop);
  int fired = 0;
  timer->Start(milliseconds(1), milliseconds(1), [&] {
    ++fired;
    timer.reset();
  });
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(fired, 1);
}

TEST(LoopTest, DestructorClosesHandlesStillOpen) {
  // A Loop destroyed while a repeating timer is active must not hang or leak (ASan build), and
  // must close a handle nobody closed: uv_loop_close fails (and says so on stderr) otherwise.
  auto loop = std::make_unique<Loop>();
  auto timer = std::make_unique<Timer>(*loop);
  timer->Start(milliseconds(1), milliseconds(1), [] {});
  uv_timer_t unclosed;  // outlives the loop: only the destructor's walk closes it
  ASSERT_EQ(uv_timer_init(loop->raw(), &unclosed), 0);
  ASSERT_EQ(uv_timer_start(
                &unclosed, [](uv_timer_t*) {}, 1, 1),
            0);
  EXPECT_TRUE(loop->RunNoWait());
  timer.reset();
  ::testing::internal::CaptureStderr();
  loop.reset();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("uv_loop_close"), std::string::npos) << err;
  EXPECT_TRUE(uv_is_closing(reinterpret_cast<uv_handle_t*>(&unclosed)));
}

TEST(SignalTest, DeliversOnLoopThread) {
  Loop loop;
  Signal sig(loop);
  int got = 0;
  std::thread::id cb_thread;
  ASSERT_TRUE(sig.Start(SIGUSR1,
                        [&](int signo) {
                          got = signo;
                          cb_thread = std::this_thread::get_id();
                          sig.Stop();
                        })
                  .ok());
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(got, SIGUSR1);
  EXPECT_EQ(cb_thread, std::this_thread::get_id());
}

TEST(SignalTest, BadSignalNumberIsAnError) {
  Loop loop;
  Signal sig(loop);
  Status s = sig.Start(-5, [](int) {});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(AsyncTest, SendFromAnotherThreadWakesTheLoop) {
  Loop loop;
  std::thread::id cb_thread;
  int calls = 0;
  std::unique_ptr<Async> async;
  async = std::make_unique<Async>(loop, [&] {
    ++calls;
    cb_thread = std::this_thread::get_id();
    async.reset();  // closing the handle lets Run() return
  });
  std::thread sender([&] { async->Send(); });
  ASSERT_TRUE(loop.Run().ok());
  sender.join();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(cb_thread, std::this_thread::get_id());
}

TEST(WorkTest, RunsOffTheLoopThreadAndCompletesOnIt) {
  Loop loop;
  Work work(loop);
  std::thread::id work_thread, done_thread;
  bool was_cancelled = true;
  ASSERT_TRUE(work.Start([&] { work_thread = std::this_thread::get_id(); },
                         [&](bool cancelled) {
                           was_cancelled = cancelled;
                           done_thread = std::this_thread::get_id();
                         })
                  .ok());
  EXPECT_TRUE(work.busy());
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_FALSE(work.busy());
  EXPECT_FALSE(was_cancelled);
  EXPECT_NE(work_thread, std::this_thread::get_id());
  EXPECT_EQ(done_thread, std::this_thread::get_id());
}

TEST(WorkTest, SecondStartWhileBusyIsRefused) {
  Loop loop;
  Work work(loop);
  std::atomic<bool> release{false};
  ASSERT_TRUE(work.Start(
                      [&] {
                        while (!release.load()) std::this_thread::yield();
                      },
                      [](bool) {})
                  .ok());
  Status second = work.Start([] {}, [](bool) {});
  EXPECT_EQ(second.code(), StatusCode::kFailedPrecondition);
  release = true;
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_TRUE(work.Start([] {}, [](bool) {}).ok());
  ASSERT_TRUE(loop.Run().ok());
}

TEST(WorkTest, DestroyedWorkDoesNotCallDoneAndLoopWaitsForIt) {
  bool done_called = false;
  std::atomic<bool> ran{false};
  {
    Loop loop;
    auto work = std::make_unique<Work>(loop);
    ASSERT_TRUE(work->Start([&] { ran = true; }, [&](bool) { done_called = true; }).ok());
    work.reset();
    // ~Loop drains the request (cancelled or finished) without calling back.
  }
  EXPECT_FALSE(done_called);
}

}  // namespace
}  // namespace knob
