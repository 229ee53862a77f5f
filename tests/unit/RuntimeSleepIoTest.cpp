// Timers and I/O waits on the native scheduler: 10,000 sleeping tasks cost
// one timer heap, not 10,000 blocked workers; a sleeping task never holds its
// worker; and the fd re-arm protocol of the poller (woken once per arming,
// re-armed, woken again, never twice; a write racing the re-arm is not lost;
// a spurious poll of an armed wait does not arm twice), natively and in
// deterministic mode.
#include "qz_runtime.h"
#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace qz_test;

namespace {

// ---- 10,000 sleeping tasks ------------------------------------------------

struct ManySleep {
  qz_chan *done;
  std::atomic<int> too_early{0};
};

struct SleepTask {
  int state = 0;
  ManySleep *sh;
  int64_t start = 0;
};

int64_t sleep_task_poll(void *fp, qz_task *self) {
  auto *f = static_cast<SleepTask *>(fp);
  switch (f->state) {
  case 0:
    f->start = now_us();
    f->state = 1;
    [[fallthrough]];
  case 1:
    if (qz_usleep_poll(100000, self) == QZ_PENDING)
      return QZ_PENDING;
    if (now_us() - f->start < 100000)
      f->sh->too_early.fetch_add(1);
    f->state = 2;
    [[fallthrough]];
  case 2:
    if (qz_chan_send_poll(f->sh->done, 1, self) == QZ_PENDING)
      return QZ_PENDING;
  }
  return QZ_READY;
}

struct ManyMain {
  int state = 0;
  ManySleep *sh;
  std::vector<SleepTask> *tasks;
  int64_t k = 0, v = 0, sum = 0;
};

int64_t many_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<ManyMain *>(fp);
  switch (f->state) {
  case 0:
    for (auto &t : *f->tasks)
      qz_spawn(sleep_task_poll, &t);
    for (f->k = 0; f->k < int64_t(f->tasks->size()); ++f->k) {
      f->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_chan_recv_poll(f->sh->done, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
      f->sum += f->v;
    }
  }
  qz_task_set_result(self, f->sum);
  return QZ_READY;
}

TEST(RuntimeTimer, TenThousandSleepersTwoWorkers) {
  Watchdog wd(60, "10,000 sleepers");
  const int64_t n = scaled(10000);
  ManySleep sh;
  sh.done = qz_chan_new(QZ_CHAN_UNBOUNDED);
  std::vector<SleepTask> tasks(static_cast<size_t>(n));
  for (auto &t : tasks)
    t.sh = &sh;
  ManyMain m{0, &sh, &tasks};
  auto t0 = std::chrono::steady_clock::now();
  int64_t r = qz_run(many_main_poll, &m, 2);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r, n);
  EXPECT_EQ(sh.too_early.load(), 0);
  EXPECT_GE(wall, 0.1);
  // Sleeping in parallel: ~100 ms plus spawning and waking, not 10,000 x.
  EXPECT_LT(wall, 1.0) << n << " sleepers took " << wall << " s";
  qz_chan_free(sh.done);
}

// ---- a sleeping task never holds a worker ------------------------------------
// One worker, 100 tasks sleeping 50 ms and a ping-pong pair: the round trips
// go on while the sleepers sleep, and every sleeper finishes.

struct HoldShared {
  std::atomic<int64_t> trips{0};
  std::atomic<int> sleepers_left{0};
  std::atomic<int64_t> min_trips_at_wake{INT64_MAX};
};

struct HoldSleeper {
  HoldShared *sh;
};

int64_t hold_sleeper_poll(void *fp, qz_task *self) {
  auto *f = static_cast<HoldSleeper *>(fp);
  if (qz_usleep_poll(50000, self) == QZ_PENDING)
    return QZ_PENDING;
  int64_t t = f->sh->trips.load();
  int64_t cur = f->sh->min_trips_at_wake.load();
  while (t < cur && !f->sh->min_trips_at_wake.compare_exchange_weak(cur, t)) {
  }
  f->sh->sleepers_left.fetch_sub(1);
  return QZ_READY;
}

struct Echo {
  int state = 0;
  qz_chan *in, *out;
  int64_t v = 0;
};

int64_t echo_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Echo *>(fp);
  for (;;) {
    if (f->state == 0) {
      int64_t r = qz_chan_recv_poll(f->in, &f->v, self);
      if (r == QZ_PENDING)
        return QZ_PENDING;
      if (r == QZ_CLOSED)
        return QZ_READY;
      f->state = 1;
    }
    if (qz_chan_send_poll(f->out, f->v + 1, self) == QZ_PENDING)
      return QZ_PENDING;
    f->state = 0;
  }
}

struct HoldMain {
  int state = 0;
  HoldShared *sh;
  std::vector<HoldSleeper> sleepers;
  Echo echo;
  qz_chan *to, *from;
  int64_t v = 0, i = 0;
};

int64_t hold_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<HoldMain *>(fp);
  switch (f->state) {
  case 0:
    f->sh->sleepers_left.store(int(f->sleepers.size()));
    for (auto &s : f->sleepers)
      qz_spawn(hold_sleeper_poll, &s);
    f->echo.in = f->to;
    f->echo.out = f->from;
    qz_spawn(echo_poll, &f->echo);
    // Ping-pong until every sleeper has woken up.
    while (f->sh->sleepers_left.load() > 0) {
      f->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_chan_send_poll(f->to, f->i, self) == QZ_PENDING)
        return QZ_PENDING;
      f->state = 2;
      [[fallthrough]];
    case 2:
      if (qz_chan_recv_poll(f->from, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
      EXPECT_EQ(f->v, f->i + 1);
      ++f->i;
      f->sh->trips.store(f->i);
    }
    qz_chan_close(f->to);
  }
  qz_task_set_result(self, f->i);
  return QZ_READY;
}

TEST(RuntimeTimer, SleepersNeverHoldTheWorker) {
  Watchdog wd(60, "sleepers vs ping-pong");
  HoldShared sh;
  HoldMain m;
  m.sh = &sh;
  m.sleepers.assign(100, HoldSleeper{&sh});
  m.to = qz_chan_new(0);
  m.from = qz_chan_new(0);
  auto t0 = std::chrono::steady_clock::now();
  int64_t trips = qz_run(hold_main_poll, &m, 1);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(sh.sleepers_left.load(), 0);
  // The ping-pong kept going during the 50 ms of sleep: by the time the first
  // sleeper woke up it had made many round trips (150,000-300,000 here).
  EXPECT_GT(sh.min_trips_at_wake.load(), scaled(1000)) << "trips " << trips;
  EXPECT_GE(trips, sh.min_trips_at_wake.load());
  EXPECT_LT(wall, 1.0);
  qz_chan_free(m.to);
  qz_chan_free(m.from);
}

// ---- the fd re-arm protocol ------------------------------------------------
// A reader task reads a pipe until EAGAIN, then waits for readability
// (qz_io_wait_poll arms a oneshot registration). Each byte the driver writes
// must cost exactly one poll of the reader: woken once, read, EAGAIN, re-arm.
// The driver checks the count after every step, with pauses in which a
// double wake would show.

struct Rearm {
  int state = 0;  // 0: read; 1: waiting
  int rfd = -1, wfd = -1;
  qz_chan *got = nullptr;
  std::atomic<int64_t> polls{0};
  std::atomic<bool> race_next{false};  // write a byte between EAGAIN and re-arm
};

int64_t rearm_reader_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Rearm *>(fp);
  f->polls.fetch_add(1);
  for (;;) {
    if (f->state == 1) {
      int64_t r = qz_io_wait_poll(f->rfd, QZ_IO_READ, self);
      if (r == QZ_PENDING)
        return QZ_PENDING;  // not ready yet (or polled without a wake)
      EXPECT_EQ(r, QZ_READY);
      f->state = 0;
    }
    char c;
    ssize_t n = read(f->rfd, &c, 1);
    if (n == 1) {
      EXPECT_EQ(qz_chan_send_poll(f->got, c, self), QZ_READY);  // unbounded
      if (c == 'q') {
        qz_io_forget(f->rfd);
        return QZ_READY;
      }
      continue;
    }
    EXPECT_EQ(errno, EAGAIN);
    if (f->race_next.exchange(false)) {
      // A writer racing the re-arm: the byte lands after our EAGAIN and
      // before the registration is re-armed. The level-triggered re-arm
      // must report it; the wake must not be lost.
      EXPECT_EQ(write(f->wfd, "r", 1), 1);
    }
    f->state = 1;
  }
}

struct RearmMain {
  int state = 0;
  Rearm *rd;
  qz_task *reader = nullptr;
  int64_t step = 0, v = 0, expect_polls = 0;
  int64_t errors = 0;
};

// The driver, a task too: steps through write / receive / pause / check.
int64_t rearm_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<RearmMain *>(fp);
  Rearm *rd = f->rd;
  auto check = [&](int64_t polls, const char *what) {
    if (rd->polls.load() != polls) {
      ADD_FAILURE() << what << ": reader polled " << rd->polls.load() << " times, expected "
                    << polls << " (step " << f->step << ")";
      ++f->errors;
    }
  };
  const int64_t rounds = 20;
  for (;;) {
    switch (f->state) {
    case 0:
      f->reader = qz_spawn(rearm_reader_poll, rd);
      qz_task_retain(f->reader);
      f->state = 1;
      [[fallthrough]];
    case 1:  // let the reader arm its wait
      if (qz_usleep_poll(5000, self) == QZ_PENDING)
        return QZ_PENDING;
      f->expect_polls = 1;
      check(1, "first arming");
      f->step = 0;
      [[fallthrough]];
    case 2:  // one byte: one wake, one poll, re-armed
      f->state = 2;
      if (f->step == rounds) {
        f->state = 5;
        continue;
      }
      if (f->step == 7)
        rd->race_next.store(true);
      EXPECT_EQ(write(rd->wfd, "x", 1), 1);
      f->state = 3;
      [[fallthrough]];
    case 3:
      if (qz_chan_recv_poll(rd->got, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
      EXPECT_EQ(f->v, 'x');
      f->expect_polls += 1;
      if (f->step == 7) {
        // the raced byte came by a second wake of the re-armed wait
        f->state = 31;
        [[fallthrough]];
      case 31:
        if (qz_chan_recv_poll(rd->got, &f->v, self) == QZ_PENDING)
          return QZ_PENDING;
        EXPECT_EQ(f->v, 'r');
        f->expect_polls += 1;
      }
      f->state = 4;
      [[fallthrough]];
    case 4:  // pause: a double wake would poll the reader again here
      if (qz_usleep_poll(2000, self) == QZ_PENDING)
        return QZ_PENDING;
      check(f->expect_polls, "after a byte");
      ++f->step;
      f->state = 2;
      continue;
    case 5:
      // A spurious poll of an armed wait: the reader is polled, its wait
      // answers PENDING and stays armed once (no second registration).
      qz_task_wake(f->reader);
      f->state = 6;
      [[fallthrough]];
    case 6:
      if (qz_usleep_poll(2000, self) == QZ_PENDING)
        return QZ_PENDING;
      f->expect_polls += 1;
      check(f->expect_polls, "after a wake without data");
      EXPECT_EQ(write(rd->wfd, "q", 1), 1);
      f->state = 7;
      [[fallthrough]];
    case 7:
      if (qz_chan_recv_poll(rd->got, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
      EXPECT_EQ(f->v, 'q');
      f->expect_polls += 1;
      f->state = 8;
      [[fallthrough]];
    case 8:
      if (qz_usleep_poll(2000, self) == QZ_PENDING)
        return QZ_PENDING;
      check(f->expect_polls, "at the end");
      qz_task_release(f->reader);
      qz_task_set_result(self, f->errors);
      return QZ_READY;
    }
  }
}

void run_rearm(bool seeded, uint64_t seed, int workers) {
  Watchdog wd(60, "fd re-arm");
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK), 0);
  Rearm rd;
  rd.rfd = fds[0];
  rd.wfd = fds[1];
  rd.got = qz_chan_new(QZ_CHAN_UNBOUNDED);
  RearmMain m;
  m.rd = &rd;
  int64_t errors = -1;
  if (seeded)
    EXPECT_EQ(qz_run_seeded(rearm_main_poll, &m, seed, &errors), QZ_RUN_DONE)
        << qz_last_deadlock_report();
  else
    errors = qz_run(rearm_main_poll, &m, workers);
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(rd.polls.load(), 1 + 20 + 1 + 1 + 1);  // first, 20 bytes, raced, spurious, q
  qz_chan_free(rd.got);
  close(fds[0]);
  close(fds[1]);
}

TEST(RuntimeIO, RearmProtocolTwoWorkers) { run_rearm(false, 0, 2); }
TEST(RuntimeIO, RearmProtocolOneWorker) { run_rearm(false, 0, 1); }
TEST(RuntimeIO, RearmProtocolDeterministic) {
  for (uint64_t seed : {1ull, 2ull, 3ull})
    run_rearm(true, seed, 0);
}

} // namespace
