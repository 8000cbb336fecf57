#include "common/thread/worker_pool.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

TEST(WorkerPoolTest, RunsEveryJobOnItsThreads) {
  WorkerPool pool(3, 100);
  constexpr int kJobs = 50;
  absl::BlockingCounter done(kJobs);
  std::atomic<int> ran{0};
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> ran_on_caller{false};
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(pool.TrySchedule([&] {
      if (std::this_thread::get_id() == caller) ran_on_caller = true;
      ++ran;
      done.DecrementCount();
    }));
  }
  done.Wait();
  EXPECT_EQ(ran.load(), kJobs);
  EXPECT_FALSE(ran_on_caller.load());
  EXPECT_EQ(pool.stats().rejected, 0u);
}

TEST(WorkerPoolTest, RefusesBeyondTheQueueAndDestroysTheRefusedJob) {
  // Declared before the pool, so they outlive its threads.
  absl::Notification busy;
  absl::Notification release;
  WorkerPool pool(1, 2);
  ASSERT_TRUE(pool.TrySchedule([&] {
    busy.Notify();
    release.WaitForNotification();
  }));
  busy.WaitForNotification();
  // The thread is busy: two jobs may wait, the third may not.
  ASSERT_TRUE(pool.TrySchedule([] {}));
  ASSERT_TRUE(pool.TrySchedule([] {}));
  auto owned = std::make_shared<int>(7);
  std::weak_ptr<int> watch = owned;
  bool refused_ran = false;
  EXPECT_FALSE(pool.TrySchedule([owned = std::move(owned), &refused_ran] { refused_ran = true; }));
  EXPECT_TRUE(watch.expired());  // the refused job is gone, with what it held
  const WorkerPool::Stats stats = pool.stats();
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.queued, 2u);
  release.Notify();
  EXPECT_FALSE(refused_ran);
}

TEST(WorkerPoolTest, DestructorRunsWhatIsQueuedBeforeJoining) {
  std::atomic<int> ran{0};
  absl::Notification release;
  {
    WorkerPool pool(1, 10);
    ASSERT_TRUE(pool.TrySchedule([&] {
      release.WaitForNotification();
      ++ran;
    }));
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool.TrySchedule([&] { ++ran; }));
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 6);
}

TEST(WorkerPoolTest, AtLeastOneThread) {
  WorkerPool pool(0, 1);
  absl::Notification ran;
  ASSERT_TRUE(pool.TrySchedule([&] { ran.Notify(); }));
  ran.WaitForNotification();
}

}  // namespace
}  // namespace tokens
