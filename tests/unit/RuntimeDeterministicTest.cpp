// Tests of the deterministic scheduler (qz_run_seeded and qz_main with
// QMIR_SEED): replay from a seed, exactly-once delivery over many seeds and
// every kind of channel, the virtual clock, deadlock reports that neither
// print nor exit, close, explicit wakes and yields, I/O and foreign threads,
// and the fatal error for a blocking operation on the scheduler thread.
#include "qz_runtime.h"
#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace qz_test;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Yield from a poll function that re-checks its condition whenever it runs:
// finishes the previous yield if one is under way, then starts a new one.
int64_t yield_now(qz_task *self) {
  while (qz_yield_poll(self) != QZ_PENDING) {
  }
  return QZ_PENDING;
}

// ---- a producers / consumers workload that records its interleaving -------

struct Work {
  qz_chan *data = nullptr, *done = nullptr;
  int producers = 0, consumers = 0;
  int64_t per = 0;
  std::vector<int64_t> trace;     // encoded events, in the order they happened
  std::vector<int> received;      // how often each value arrived
  int order_errors = 0;
};

enum : int64_t { EV_SENT = 1, EV_RECV = 2, EV_YIELD = 3 };
int64_t ev(int64_t kind, int64_t who, int64_t value) { return (kind << 56) | (who << 40) | value; }

struct Prod {
  int state = 0;
  Work *w;
  int64_t id, i = 0;
};

int64_t prod_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Prod *>(fp);
  Work *w = f->w;
  switch (f->state) {
  case 0:
    for (; f->i < w->per; ++f->i) {
      f->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_chan_send_poll(w->data, f->id * w->per + f->i, self) == QZ_PENDING)
        return QZ_PENDING;
      w->trace.push_back(ev(EV_SENT, f->id, f->i));
      if (f->i % 3 == 1) {  // some yields, to mix the order further
        f->state = 2;
        [[fallthrough]];
      case 2:
        if (qz_yield_poll(self) == QZ_PENDING)
          return QZ_PENDING;
        w->trace.push_back(ev(EV_YIELD, f->id, f->i));
      }
    }
    f->state = 3;
    [[fallthrough]];
  case 3:
    if (qz_chan_send_poll(w->done, 1, self) == QZ_PENDING)
      return QZ_PENDING;
  }
  return QZ_READY;
}

struct Cons {
  int state = 0;
  Work *w;
  int64_t id, v = 0;
  std::vector<int64_t> last;
};

int64_t cons_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Cons *>(fp);
  Work *w = f->w;
  switch (f->state) {
  case 0:
    f->last.assign(size_t(w->producers), -1);
    for (;;) {
      f->state = 1;
      [[fallthrough]];
    case 1: {
      int64_t r = qz_chan_recv_poll(w->data, &f->v, self);
      if (r == QZ_PENDING)
        return QZ_PENDING;
      if (r == QZ_CLOSED)
        break;
      w->trace.push_back(ev(EV_RECV, 100 + f->id, f->v));
      w->received.at(size_t(f->v))++;
      size_t p = size_t(f->v / w->per);
      if (f->v <= f->last[p])
        ++w->order_errors;
      f->last[p] = f->v;
    }
    }
    f->state = 2;
    [[fallthrough]];
  case 2:
    if (qz_chan_send_poll(w->done, 1, self) == QZ_PENDING)
      return QZ_PENDING;
  }
  return QZ_READY;
}

struct WorkMain {
  int state = 0;
  Work *w;
  std::vector<Prod> prods;
  std::vector<Cons> conss;
  int64_t k = 0, v = 0;
};

int64_t work_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<WorkMain *>(fp);
  Work *w = f->w;
  switch (f->state) {
  case 0:
    f->prods.resize(size_t(w->producers));
    f->conss.resize(size_t(w->consumers));
    for (int c = 0; c < w->consumers; ++c) {
      f->conss[size_t(c)].w = w;
      f->conss[size_t(c)].id = c;
      qz_spawn(cons_poll, &f->conss[size_t(c)]);
    }
    for (int p = 0; p < w->producers; ++p) {
      f->prods[size_t(p)].w = w;
      f->prods[size_t(p)].id = p;
      qz_spawn(prod_poll, &f->prods[size_t(p)]);
    }
    for (f->k = 0; f->k < w->producers; ++f->k) {
      f->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_chan_recv_poll(w->done, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
    }
    qz_chan_close(w->data);
    for (f->k = 0; f->k < w->consumers; ++f->k) {
      f->state = 2;
      [[fallthrough]];
    case 2:
      if (qz_chan_recv_poll(w->done, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
    }
  }
  qz_task_set_result(self, int64_t(w->trace.size()));
  return QZ_READY;
}

// Runs the workload under `seed`; returns its trace.
std::vector<int64_t> run_work(uint64_t seed, int64_t cap, int producers, int consumers,
                              int64_t per, Work *out = nullptr) {
  Work w;
  w.data = qz_chan_new(cap);
  w.done = qz_chan_new(QZ_CHAN_UNBOUNDED);
  w.producers = producers;
  w.consumers = consumers;
  w.per = per;
  w.received.assign(size_t(producers * per), 0);
  WorkMain m;
  m.w = &w;
  int64_t result = -1;
  EXPECT_EQ(qz_run_seeded(work_main_poll, &m, seed, &result), QZ_RUN_DONE) << "seed " << seed;
  EXPECT_EQ(result, int64_t(w.trace.size()));
  EXPECT_STREQ(qz_last_deadlock_report(), "");
  qz_chan_free(w.data);
  qz_chan_free(w.done);
  if (out)
    *out = w;
  return w.trace;
}

TEST(RuntimeDeterministic, SameSeedSameInterleaving) {
  for (int64_t cap : {int64_t(0), int64_t(2), int64_t(QZ_CHAN_UNBOUNDED)}) {
    std::set<std::vector<int64_t>> distinct;
    for (uint64_t seed = 1; seed <= 12; ++seed) {
      std::vector<int64_t> a = run_work(seed, cap, 3, 3, 20);
      std::vector<int64_t> b = run_work(seed, cap, 3, 3, 20);
      EXPECT_EQ(a, b) << "seed " << seed << " cap " << cap;
      EXPECT_FALSE(a.empty());
      distinct.insert(a);
    }
    // The seed does steer the order: 12 seeds give several interleavings.
    EXPECT_GE(distinct.size(), 6u) << "cap " << cap;
  }
  // Large seeds, and seed 0, are fine too.
  EXPECT_EQ(run_work(0, 1, 2, 2, 10), run_work(0, 1, 2, 2, 10));
  EXPECT_EQ(run_work(~0ull, 1, 2, 2, 10), run_work(~0ull, 1, 2, 2, 10));
}

TEST(RuntimeDeterministic, EveryValueOnceForManySeeds) {
  const int64_t seeds = scaled(200);
  for (int64_t cap : {int64_t(0), int64_t(1), int64_t(3), int64_t(QZ_CHAN_UNBOUNDED)}) {
    for (int64_t seed = 0; seed < seeds; ++seed) {
      Work w;
      int producers = 1 + int(seed % 4), consumers = 1 + int((seed / 4) % 3);
      run_work(uint64_t(seed) * 7919 + 11, cap, producers, consumers, 25, &w);
      for (size_t v = 0; v < w.received.size(); ++v)
        ASSERT_EQ(w.received[v], 1) << "value " << v << " seed " << seed << " cap " << cap;
      ASSERT_EQ(w.order_errors, 0) << "seed " << seed << " cap " << cap;
    }
  }
}

// ---- the virtual clock ------------------------------------------------------

struct VSleeper {
  int state = 0;
  int64_t us;
  int64_t index;
  std::vector<int64_t> *woke;
};

int64_t vsleeper_poll(void *fp, qz_task *self) {
  auto *f = static_cast<VSleeper *>(fp);
  if (qz_usleep_poll(f->us, self) == QZ_PENDING)
    return QZ_PENDING;
  f->woke->push_back(f->index);
  return QZ_READY;
}

struct VSleepMain {
  int state = 0;
  std::vector<VSleeper> *sleepers;
  int64_t i = 0;
};

TEST(RuntimeDeterministic, TenThousandSleepersVirtualTime) {
  const int64_t n = 10000;
  std::vector<int64_t> woke;
  std::vector<VSleeper> sleepers(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    // 100 ms plus a distinct offset (a permutation of 0..n-1 microseconds):
    // the wake-up order is the order of the deadlines, not of the spawns.
    int64_t off = (i * 7919) % n;
    sleepers[size_t(i)] = VSleeper{0, 100000 + off, off, &woke};
  }
  VSleepMain m{0, &sleepers};
  auto t0 = std::chrono::steady_clock::now();
  int64_t result = -1;
  int rc = qz_run_seeded(
      [](void *fp, qz_task *self) -> int64_t {
        auto *f = static_cast<VSleepMain *>(fp);
        if (f->state == 0) {
          for (auto &s : *f->sleepers)
            qz_spawn(vsleeper_poll, &s);
          f->state = 1;
        }
        // Then main sleeps 50 times 100 ms: 5 s of virtual time.
        for (; f->i < 50; ++f->i)
          if (qz_usleep_poll(100000, self) == QZ_PENDING)
            return QZ_PENDING;
        qz_task_set_result(self, 9);
        return QZ_READY;
      },
      &m, 42, &result);
  double wall = seconds_since(t0);
  EXPECT_EQ(rc, QZ_RUN_DONE);
  EXPECT_EQ(result, 9);
  ASSERT_EQ(int64_t(woke.size()), n);
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(woke[size_t(i)], i) << "wake-up " << i << " out of deadline order";
  EXPECT_LT(wall, 1.0) << "virtual sleeps must cost no wall time";
}

// Equal deadlines all fire at the same virtual instant; their order is the
// seed's, reproducibly.
TEST(RuntimeDeterministic, EqualDeadlinesOrderFollowsSeed) {
  auto run = [](uint64_t seed) {
    std::vector<int64_t> woke;
    std::vector<VSleeper> sleepers;
    for (int64_t i = 0; i < 50; ++i)
      sleepers.push_back(VSleeper{0, 100000, i, &woke});
    VSleepMain m{0, &sleepers};
    int64_t r;
    EXPECT_EQ(qz_run_seeded(
                  [](void *fp, qz_task *self) -> int64_t {
                    auto *f = static_cast<VSleepMain *>(fp);
                    if (f->state == 0) {
                      for (auto &s : *f->sleepers)
                        qz_spawn(vsleeper_poll, &s);
                      f->state = 1;
                    }
                    return qz_usleep_poll(200000, self) == QZ_PENDING ? QZ_PENDING : QZ_READY;
                  },
                  &m, seed, &r),
              QZ_RUN_DONE);
    EXPECT_EQ(woke.size(), 50u);
    return woke;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

// ---- deadlock ---------------------------------------------------------------

int64_t recv_forever(void *fp, qz_task *self) {
  int64_t v;
  return qz_chan_recv_poll(static_cast<qz_chan *>(fp), &v, self) == QZ_PENDING ? QZ_PENDING
                                                                                : QZ_READY;
}

struct DeadMain {
  int state = 0;
  qz_chan *a, *b;
};

int64_t dead_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<DeadMain *>(fp);
  if (f->state == 0) {
    f->state = 1;
    qz_spawn_named(recv_forever, f->a, "waiter");
    qz_spawn(
        [](void *cp, qz_task *s) -> int64_t {
          auto *ch = static_cast<qz_chan *>(cp);  // fills the buffer, then waits
          if (qz_chan_len(ch) == 0)
            qz_chan_try_send(ch, 1);
          return qz_chan_send_poll(ch, 2, s) == QZ_PENDING ? QZ_PENDING : QZ_READY;
        },
        f->b);
  }
  if (f->state == 1) {  // no false positive while a timer is pending
    if (qz_usleep_poll(30000, self) == QZ_PENDING)
      return QZ_PENDING;
    f->state = 2;
  }
  return recv_forever(f->a, self);
}

TEST(RuntimeDeterministic, DeadlockReturnsReport) {
  for (uint64_t seed : {1ull, 2ull, 3ull}) {
    DeadMain m{0, qz_chan_new(0), qz_chan_new(1)};
    int64_t result = 1234;
    testing::internal::CaptureStderr();
    int rc = qz_run_seeded(dead_main_poll, &m, seed, &result);
    std::string printed = testing::internal::GetCapturedStderr();
    EXPECT_EQ(rc, QZ_RUN_DEADLOCK);
    EXPECT_EQ(result, 1234);  // untouched
    EXPECT_EQ(printed, "");   // reported, not printed
    std::string rep = qz_last_deadlock_report();
    EXPECT_EQ(rep.rfind("deadlock: 3 tasks wait forever (no timer or I/O pending):\n", 0), 0u)
        << rep;
    EXPECT_NE(rep.find("  main waits on channel recv (channel #"), std::string::npos) << rep;
    EXPECT_NE(rep.find("  task waiter (#2) waits on channel recv (channel #"), std::string::npos)
        << rep;
    EXPECT_NE(rep.find("  task #3 waits on channel send (channel #"), std::string::npos) << rep;
    qz_chan_free(m.a);
    qz_chan_free(m.b);
  }
}

TEST(RuntimeDeterministic, DeadlockOneLineAndRunAgain) {
  qz_chan *ch = qz_chan_new(0);
  EXPECT_EQ(qz_run_seeded(recv_forever, ch, 7, nullptr), QZ_RUN_DEADLOCK);
  std::string rep = qz_last_deadlock_report();
  EXPECT_EQ(rep.rfind("deadlock: main waits on channel recv (channel #", 0), 0u) << rep;
  EXPECT_EQ(rep.back(), '\n');
  // A later run is unaffected and clears the report.
  Work w;
  run_work(7, 0, 1, 1, 5, &w);
  EXPECT_STREQ(qz_last_deadlock_report(), "");
  qz_chan_free(ch);
}

// ---- close wakes every waiter --------------------------------------------------

struct Parked {
  int state = 0;
  qz_chan *ch;
  bool send;
  int *closed_seen;
  int *parked;
  int64_t v = 0;
};

int64_t parked_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Parked *>(fp);
  int64_t r = f->send ? qz_chan_send_poll(f->ch, 7, self) : qz_chan_recv_poll(f->ch, &f->v, self);
  if (r == QZ_PENDING) {
    if (f->state == 0)
      ++*f->parked;
    f->state = 1;
    return QZ_PENDING;
  }
  if (r == QZ_CLOSED)
    ++*f->closed_seen;
  return QZ_READY;
}

TEST(RuntimeDeterministic, CloseWakesWaiters) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    struct Main {
      int state = 0;
      qz_chan *rch, *sch;
      std::vector<Parked> frames;
      int closed_seen = 0, parked = 0;
    } m;
    m.rch = qz_chan_new(seed % 2 ? 0 : 1);
    m.sch = qz_chan_new(0);
    for (int i = 0; i < 10; ++i)
      m.frames.push_back(Parked{0, i < 5 ? m.rch : m.sch, i >= 5, &m.closed_seen, &m.parked});
    int64_t result = -1;
    int rc = qz_run_seeded(
        [](void *fp, qz_task *self) -> int64_t {
          auto *f = static_cast<Main *>(fp);
          if (f->state == 0) {
            for (auto &p : f->frames)
              qz_spawn(parked_poll, &p);
            f->state = 1;
          }
          if (f->state == 1) {
            if (f->parked < 10)  // yield until every one of them is parked
              return yield_now(self);
            qz_chan_close(f->rch);
            qz_chan_close(f->sch);
            f->state = 2;
          }
          if (f->closed_seen < 10)
            return yield_now(self);
          qz_task_set_result(self, f->closed_seen);
          return QZ_READY;
        },
        &m, seed, &result);
    EXPECT_EQ(rc, QZ_RUN_DONE) << qz_last_deadlock_report();
    EXPECT_EQ(result, 10);
    qz_chan_free(m.rch);
    qz_chan_free(m.sch);
  }
}

// ---- explicit wakes, current task, yield -----------------------------------

TEST(RuntimeDeterministic, ExplicitWakeAndCurrentTask) {
  struct Sh {
    qz_task *sleeper = nullptr;
    bool woken = false;
    int sleeper_polls = 0;
    bool current_ok = true;
    int64_t workers = -1;
  } sh;
  int64_t result = -1;
  int rc = qz_run_seeded(
      [](void *fp, qz_task *self) -> int64_t {
        auto *sh = static_cast<Sh *>(fp);
        if (qz_current_task() != self)
          sh->current_ok = false;
        if (!sh->sleeper) {
          sh->workers = qz_runtime_workers();
          // A task that waits for an explicit wake, without parking anywhere.
          sh->sleeper = qz_spawn(
              [](void *p, qz_task *s) -> int64_t {
                auto *sh = static_cast<Sh *>(p);
                if (qz_current_task() != s)
                  sh->current_ok = false;
                ++sh->sleeper_polls;
                return sh->woken ? QZ_READY : QZ_PENDING;
              },
              sh);
          qz_task_retain(sh->sleeper);
          // Let it run and suspend first (yield until it was polled once).
        }
        if (sh->sleeper_polls == 0) {
          return yield_now(self);
        }
        if (!sh->woken) {
          sh->woken = true;
          qz_task_wake(sh->sleeper);
          qz_task_wake(sh->sleeper);  // coalesces
          return yield_now(self);
        }
        if (sh->sleeper_polls < 2) {
          return yield_now(self);
        }
        qz_task_release(sh->sleeper);
        qz_task_set_result(self, sh->sleeper_polls);
        return QZ_READY;
      },
      &sh, 3, &result);
  EXPECT_EQ(rc, QZ_RUN_DONE);
  EXPECT_EQ(result, 2);
  EXPECT_TRUE(sh.current_ok);
  EXPECT_EQ(sh.workers, 1);
  EXPECT_EQ(qz_current_task(), nullptr);
  EXPECT_EQ(qz_runtime_workers(), 0);
}

// ---- I/O and other threads -----------------------------------------------------

TEST(RuntimeDeterministic, IoWaitWithForeignWriter) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK), 0);
  struct M {
    int fd;
    int64_t got = 0, waits = 0;
  } m{fds[0]};
  std::thread writer([&] {
    for (int i = 1; i <= 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      char c = char(i);
      EXPECT_EQ(write(fds[1], &c, 1), 1);
    }
  });
  int64_t result = -1;
  int rc = qz_run_seeded(
      [](void *fp, qz_task *self) -> int64_t {
        auto *f = static_cast<M *>(fp);
        for (;;) {
          char c;
          while (read(f->fd, &c, 1) == 1)
            f->got += c;
          if (f->got == 6)
            break;
          int64_t w = qz_io_wait_poll(f->fd, QZ_IO_READ, self);
          if (w == QZ_PENDING) {
            ++f->waits;
            return QZ_PENDING;
          }
          EXPECT_EQ(w, QZ_READY);
        }
        qz_io_forget(f->fd);
        qz_task_set_result(self, f->got);
        return QZ_READY;
      },
      &m, 1, &result);
  writer.join();
  EXPECT_EQ(rc, QZ_RUN_DONE);
  EXPECT_EQ(result, 6);
  EXPECT_GE(m.waits, 1);
  close(fds[0]);
  close(fds[1]);
}

// A foreign thread drives a task through blocking-form channel operations
// (its wakes reach the scheduler thread through the inbox) while holding an
// external reference.
TEST(RuntimeDeterministic, ForeignThreadBlockingOps) {
  qz_chan *to_task = qz_chan_new(0), *from_task = qz_chan_new(0);
  struct Main {
    int state = 0;
    qz_chan *in, *out;
    int64_t v = 0;
  } m{0, to_task, from_task};
  const int64_t n = scaled(300);
  qz_external_ref();
  std::thread th([&] {
    for (int64_t i = 0; i < n; ++i) {
      qz_chan_send(to_task, i);
      int64_t v = -1;
      EXPECT_TRUE(qz_chan_recv(from_task, &v));
      EXPECT_EQ(v, i * 2);
    }
    qz_chan_close(to_task);
    qz_external_unref();
  });
  int rc = qz_run_seeded(
      [](void *fp, qz_task *self) -> int64_t {
        auto *f = static_cast<Main *>(fp);
        for (;;) {
          switch (f->state) {
          case 0: {
            int64_t r = qz_chan_recv_poll(f->in, &f->v, self);
            if (r == QZ_PENDING)
              return QZ_PENDING;
            if (r == QZ_CLOSED)
              return QZ_READY;
            f->state = 1;
          }
            [[fallthrough]];
          case 1:
            if (qz_chan_send_poll(f->out, f->v * 2, self) == QZ_PENDING)
              return QZ_PENDING;
            f->state = 0;
          }
        }
      },
      &m, 99, nullptr);
  th.join();
  EXPECT_EQ(rc, QZ_RUN_DONE);
  qz_chan_free(to_task);
  qz_chan_free(from_task);
}

// ---- in a child process: qz_main with QMIR_SEED, fatal blocking ops -----------

int count_threads() {
  int n = 0;
  if (DIR *d = opendir("/proc/self/task")) {
    while (dirent *e = readdir(d))
      if (e->d_name[0] != '.')
        ++n;
    closedir(d);
  }
  return n;
}

// qz_main under QMIR_SEED: prints the interleaving of three tasks; the same
// seed prints the same, and everything runs on the one thread.
void seeded_program() {
  struct Frame {
    int state = 0;
    qz_chan *ch;
    int64_t v = 0, k = 0;
  };
  static Frame m;
  static int threads_before;
  threads_before = count_threads();
  m.ch = qz_chan_new(1);
  qz_main(
      [](void *fp, qz_task *self) -> int64_t {
        auto *f = static_cast<Frame *>(fp);
        switch (f->state) {
        case 0:
          qz_print_str("threads=");
          qz_println_i64(count_threads() - threads_before + 1);
          for (int64_t t = 0; t < 3; ++t)
            qz_spawn(
                [](void *p, qz_task *s) -> int64_t {
                  // each sender sends its number 4 times
                  auto *c = static_cast<int64_t *>(p);
                  for (; (c[1] & 0xff) < 4; ++c[1]) {
                    if (qz_chan_send_poll(reinterpret_cast<qz_chan *>(c[2]), c[0], s) == QZ_PENDING)
                      return QZ_PENDING;
                  }
                  return QZ_READY;
                },
                new int64_t[3]{t, 0, reinterpret_cast<int64_t>(f->ch)});
          for (f->k = 0; f->k < 12; ++f->k) {
            f->state = 1;
            [[fallthrough]];
          case 1:
            if (qz_chan_recv_poll(f->ch, &f->v, self) == QZ_PENDING)
              return QZ_PENDING;
            qz_print_i64(f->v);
          }
        }
        qz_println_str("");
        qz_task_set_result(self, 42);
        return QZ_READY;
      },
      &m);
}

TEST(RuntimeDeterministic, QzMainWithSeed) {
  auto run = [](const char *seed) {
    return run_child([seed] {
      setenv("QMIR_SEED", seed, 1);
      seeded_program();
    });
  };
  Child a = run("12345"), b = run("12345");
  EXPECT_EQ(a.status, 42) << a.err;
  EXPECT_EQ(a.err, "");
  // No worker or poller thread was started.
  EXPECT_EQ(a.out.rfind("threads=1\n", 0), 0u) << a.out;
  EXPECT_EQ(a.out.size(), std::string("threads=1\n").size() + 13) << a.out;
  EXPECT_EQ(a.out, b.out);
  std::set<std::string> outs;
  for (int s = 0; s < 10; ++s)
    outs.insert(run(std::to_string(s).c_str()).out);
  EXPECT_GE(outs.size(), 3u);
  Child bad = run("12x");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("QMIR_SEED"), std::string::npos) << bad.err;
}

TEST(RuntimeDeterministic, QzMainSeededDeadlockExits101) {
  Child r = run_child([] {
    setenv("QMIR_SEED", "7", 1);
    static DeadMain m{0, qz_chan_new(0), qz_chan_new(1)};
    qz_println_str("before");
    qz_main(dead_main_poll, &m);
  });
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.out, "before\n");
  EXPECT_NE(r.err.find("deadlock: 3 tasks wait forever"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("task waiter (#2) waits on channel recv"), std::string::npos) << r.err;
}

TEST(RuntimeDeterministic, BlockingOpOnSchedulerThreadIsFatal) {
  Child r = run_child([] {
    qz_chan *ch = qz_chan_new(0);
    qz_run_seeded(
        [](void *fp, qz_task *) -> int64_t {
          int64_t v;
          qz_chan_recv(static_cast<qz_chan *>(fp), &v);  // nobody sends: would hang
          return QZ_READY;
        },
        ch, 1, nullptr);
  });
  EXPECT_EQ(r.status, 1000 + SIGABRT) << r.err;
  EXPECT_NE(r.err.find("blocking channel operation inside the deterministic scheduler"),
            std::string::npos)
      << r.err;
  // A blocking operation that need not wait is fine.
  qz_chan *ch = qz_chan_new(1);
  int64_t result = -1;
  EXPECT_EQ(qz_run_seeded(
                [](void *fp, qz_task *self) -> int64_t {
                  auto *c = static_cast<qz_chan *>(fp);
                  qz_chan_send(c, 5);
                  int64_t v = 0;
                  EXPECT_TRUE(qz_chan_recv(c, &v));
                  qz_task_set_result(self, v);
                  return QZ_READY;
                },
                ch, 1, &result),
            QZ_RUN_DONE);
  EXPECT_EQ(result, 5);
  qz_chan_free(ch);
}

} // namespace
