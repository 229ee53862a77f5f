// Stress tests of the runtime's wake-up protocol: random wakes from several
// threads (no wake lost, no concurrent poll), many ping-pong runs (no lost
// channel wake-ups), a small skynet. Each runs under a watchdog so that a
// lost wake-up fails the run instead of hanging it.
#include "qz_runtime.h"
#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace qz_test;

namespace {

// ---- task state machine under random wakes --------------------------------

constexpr int kTasks = 64;

struct WakeShared;

struct WakeFrame {
  WakeShared *sh;
  int index;
  std::atomic<int64_t> wakes{0};     // wakes issued to this task
  std::atomic<int64_t> last_seen{-1};  // `wakes` read at the start of the last poll
  std::atomic<bool> in_poll{false};
  std::atomic<int64_t> polls{0};
  bool finishing = false;
  uint32_t rng;
};

struct WakeShared {
  WakeFrame frames[kTasks];
  qz_task *tasks[kTasks];
  std::atomic<bool> ready{false};
  std::atomic<bool> finish{false};
  std::atomic<int64_t> budget{200000};  // wakes the tasks may still issue
  std::atomic<int> concurrent{0};       // polls that overlapped
  std::atomic<int> ext_running{0};
  std::atomic<int> active_polls{0};     // polls in progress
  std::atomic<int64_t> poll_seq{0};     // polls started
  qz_chan *done;
};

void issue_wake(WakeShared *sh, int target) {
  sh->frames[target].wakes.fetch_add(1, std::memory_order_seq_cst);
  qz_task_wake(sh->tasks[target]);
}

int64_t wake_task_poll(void *fp, qz_task *self) {
  auto *f = static_cast<WakeFrame *>(fp);
  if (f->finishing)  // only the done message is left to send
    return qz_chan_send_poll(f->sh->done, f->index, self) == QZ_PENDING ? QZ_PENDING : QZ_READY;
  f->sh->active_polls.fetch_add(1);
  f->sh->poll_seq.fetch_add(1);
  if (f->in_poll.exchange(true))
    f->sh->concurrent.fetch_add(1);
  int64_t seen = f->wakes.load(std::memory_order_seq_cst);
  f->polls.fetch_add(1);
  bool fin = f->sh->finish.load();
  if (!fin && f->sh->ready.load()) {  // every task pointer is published
    f->rng = f->rng * 1103515245u + 12345u;
    unsigned r = (f->rng >> 16) % 8;
    if (r < 3 && f->sh->budget.fetch_sub(1) > 0)
      issue_wake(f->sh, int((f->rng >> 8) % kTasks));
    if (r == 3 && f->sh->budget.fetch_sub(1) > 0)
      issue_wake(f->sh, f->index);  // wake self while running: NOTIFIED
  }
  f->last_seen.store(seen, std::memory_order_seq_cst);
  f->in_poll.store(false);
  f->sh->active_polls.fetch_sub(1);
  if (fin) {
    f->finishing = true;
    return qz_chan_send_poll(f->sh->done, f->index, self) == QZ_PENDING ? QZ_PENDING : QZ_READY;
  }
  return QZ_PENDING;  // no waker registered: only explicit wakes bring it back
}

struct WakeMain {
  int state = 0;
  WakeShared *sh;
  int64_t k = 0, v = 0;
};

// True once no wake can come any more (external threads done, the tasks'
// wake budget spent, no poll running or started during the check) and every
// task was polled after its last wake.
bool quiescent(WakeShared *sh) {
  if (sh->ext_running.load() != 0)
    return false;
  sh->budget.store(0);  // the tasks stop waking each other
  int64_t seq = sh->poll_seq.load();
  if (sh->active_polls.load() != 0)
    return false;
  for (auto &f : sh->frames)
    if (f.in_poll.load() || f.last_seen.load() != f.wakes.load())
      return false;
  return sh->active_polls.load() == 0 && sh->poll_seq.load() == seq;
}

int64_t wake_main_poll(void *fp, qz_task *self) {
  auto *m = static_cast<WakeMain *>(fp);
  WakeShared *sh = m->sh;
  switch (m->state) {
  case 0:
    for (int i = 0; i < kTasks; ++i) {
      sh->tasks[i] = qz_spawn(wake_task_poll, &sh->frames[i]);
      qz_task_retain(sh->tasks[i]);
    }
    qz_external_ref();  // one per external waker thread, released by it
    qz_external_ref();
    sh->ready.store(true);
    // Wait until the storm is over and every task was polled after its last
    // wake; a lost wake keeps this loop going until the watchdog fires.
    do {
      m->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_usleep_poll(2000, self) == QZ_PENDING)
        return QZ_PENDING;
    } while (!quiescent(sh));
    sh->finish.store(true);
    for (int i = 0; i < kTasks; ++i)
      issue_wake(sh, i);
    for (m->k = 0; m->k < kTasks; ++m->k) {
      m->state = 2;
      [[fallthrough]];
    case 2:
      if (qz_chan_recv_poll(sh->done, &m->v, self) == QZ_PENDING)
        return QZ_PENDING;
    }
  }
  return QZ_READY;
}

void run_wake_stress(int workers) {
  Watchdog wd(120, "wake stress");
  auto *sh = new WakeShared;
  sh->done = qz_chan_new(0);
  for (int i = 0; i < kTasks; ++i) {
    sh->frames[i].sh = sh;
    sh->frames[i].index = i;
    sh->frames[i].rng = 77u * unsigned(i) + 1;
  }
  sh->ext_running = 2;
  std::vector<std::thread> ext;
  for (int t = 0; t < 2; ++t)
    ext.emplace_back([sh, t] {
      while (!sh->ready.load())
        std::this_thread::yield();
      uint32_t rng = 12345u + unsigned(t);
      for (int i = 0; i < 100000; ++i) {
        rng = rng * 1664525u + 1013904223u;
        issue_wake(sh, int((rng >> 10) % kTasks));
        if ((rng >> 3) % 64 == 0)
          std::this_thread::yield();
      }
      sh->ext_running.fetch_sub(1);
      qz_external_unref();
    });
  WakeMain m;
  m.sh = sh;
  qz_run(wake_main_poll, &m, workers);
  for (auto &t : ext)
    t.join();
  EXPECT_EQ(sh->concurrent.load(), 0);
  int64_t total_wakes = 0, total_polls = 0;
  for (auto &f : sh->frames) {
    EXPECT_EQ(f.last_seen.load(), f.wakes.load()) << "task " << f.index;
    total_wakes += f.wakes.load();
    total_polls += f.polls.load();
  }
  EXPECT_GE(total_wakes, 200000);
  EXPECT_GT(total_polls, kTasks);
  for (auto *t : sh->tasks)
    qz_task_release(t);
  qz_chan_free(sh->done);
  delete sh;
}

TEST(RuntimeStress, RandomWakesTwoWorkers) { run_wake_stress(2); }
TEST(RuntimeStress, RandomWakesFourWorkers) { run_wake_stress(4); }
TEST(RuntimeStress, RandomWakesOneWorker) { run_wake_stress(1); }

// ---- ping-pong: 10,000 round trips, many times ------------------------------

struct Pong {
  int state = 0;
  qz_chan *in, *out;
  int64_t v = 0;
};

int64_t pong_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Pong *>(fp);
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
      if (qz_chan_send_poll(f->out, f->v + 1, self) == QZ_PENDING)
        return QZ_PENDING;
      f->state = 0;
    }
  }
}

struct Ping {
  int state = 0;
  qz_chan *out, *in;
  int64_t n, i = 0, v = 0, errors = 0;
  Pong pong;
};

int64_t ping_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Ping *>(fp);
  switch (f->state) {
  case 0:
    f->pong.in = f->out;
    f->pong.out = f->in;
    qz_spawn(pong_poll, &f->pong);
    for (f->i = 0; f->i < f->n; ++f->i) {
      f->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_chan_send_poll(f->out, f->i * 2, self) == QZ_PENDING)
        return QZ_PENDING;
      f->state = 2;
      [[fallthrough]];
    case 2:
      if (qz_chan_recv_poll(f->in, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
      if (f->v != f->i * 2 + 1)
        ++f->errors;
    }
    qz_chan_close(f->out);
  }
  qz_task_set_result(self, f->errors);
  return QZ_READY;
}

TEST(RuntimeStress, PingPongManyRuns) {
  Watchdog wd(300, "ping-pong runs");
  const int64_t caps[] = {0, 1, 0, QZ_CHAN_UNBOUNDED};
  for (int run = 0; run < 40; ++run) {
    Ping p;
    p.n = 10000;
    int64_t cap = caps[run % 4];
    p.out = qz_chan_new(cap);
    p.in = qz_chan_new(cap);
    int workers = 1 + run % 4;
    EXPECT_EQ(qz_run(ping_poll, &p, workers), 0) << "run " << run;
    qz_chan_free(p.out);
    qz_chan_free(p.in);
  }
}

// ---- a small skynet: a tree of 100,000 tasks --------------------------------

// Sky frames alive. The root waits until it is the only one left: a child
// whose send completed still has to be polled once to free its frame, and
// tasks still suspended when main returns are abandoned with their frames.
std::atomic<int64_t> g_sky_frames{0};

struct Sky {
  Sky(qz_chan *parent, int64_t num, int64_t size) : parent(parent), num(num), size(size) {
    g_sky_frames.fetch_add(1);
  }
  ~Sky() { g_sky_frames.fetch_sub(1); }
  int state = 0;
  qz_chan *parent;
  int64_t num, size;
  qz_chan *mine = nullptr;
  int64_t i = 0, sum = 0, v = 0;
};

int64_t sky_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Sky *>(fp);
  switch (f->state) {
  case 0:
    if (f->size == 1) {
      f->sum = f->num;
    } else {
      f->mine = qz_chan_new(0);
      for (int64_t k = 0; k < 10; ++k)
        qz_spawn(sky_poll, new Sky(f->mine, f->num + k * (f->size / 10), f->size / 10));
      for (f->i = 0; f->i < 10; ++f->i) {
        f->state = 1;
        [[fallthrough]];
      case 1:
        if (qz_chan_recv_poll(f->mine, &f->v, self) == QZ_PENDING)
          return QZ_PENDING;
        f->sum += f->v;
      }
      qz_chan_free(f->mine);
    }
    if (!f->parent) {
      f->state = 3;
      [[fallthrough]];
    case 3:
      if (g_sky_frames.load() > 1) {  // the last children's final polls
        while (qz_yield_poll(self) != QZ_PENDING) {
        }
        return QZ_PENDING;
      }
      qz_task_set_result(self, f->sum);
      delete f;
      return QZ_READY;
    }
    f->state = 2;
    [[fallthrough]];
  case 2:
    if (qz_chan_send_poll(f->parent, f->sum, self) == QZ_PENDING)
      return QZ_PENDING;
  }
  delete f;
  return QZ_READY;
}

TEST(RuntimeStress, SmallSkynet) {
  Watchdog wd(120, "skynet");
  for (int workers : {1, 2}) {
    const int64_t n = 100000;
    EXPECT_EQ(qz_run(sky_poll, new Sky(nullptr, 0, n), workers), n * (n - 1) / 2);
    EXPECT_EQ(g_sky_frames.load(), 0);
  }
}

} // namespace
