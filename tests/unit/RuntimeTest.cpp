// Unit tests of the native runtime, written against its C ABI with
// hand-written poll functions shaped like what coro-split generates: a frame
// struct with a state index, resumed by a switch, calling the poll forms of
// the suspending operations and returning QZ_PENDING when they do.
#include "qz_runtime.h"
#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <mutex>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace qz_test;

namespace {

// ---- producers / consumers ----------------------------------------------

struct PCShared {
  qz_chan *data;
  qz_chan *done;  // each producer and consumer sends one value when finished
  int64_t per_producer;
  std::atomic<int64_t> sum{0};
  std::atomic<int64_t> received{0};
  std::atomic<int> order_errors{0};
  int producers;
};

struct ProducerFrame {
  int state = 0;
  PCShared *sh;
  int64_t id, i = 0;
};

int64_t producer_poll(void *fp, qz_task *self) {
  auto *f = static_cast<ProducerFrame *>(fp);
  switch (f->state) {
  case 0:
    for (; f->i < f->sh->per_producer; ++f->i) {
      f->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_chan_send_poll(f->sh->data, f->id * f->sh->per_producer + f->i, self) ==
          QZ_PENDING)
        return QZ_PENDING;
    }
    f->state = 2;
    [[fallthrough]];
  case 2:
    if (qz_chan_send_poll(f->sh->done, 1, self) == QZ_PENDING)
      return QZ_PENDING;
  }
  delete f;
  return QZ_READY;
}

struct ConsumerFrame {
  int state = 0;
  PCShared *sh;
  int64_t v = 0, sum = 0, n = 0;
  std::vector<int64_t> last;  // last value seen per producer
};

int64_t consumer_poll(void *fp, qz_task *self) {
  auto *f = static_cast<ConsumerFrame *>(fp);
  switch (f->state) {
  case 0:
    f->last.assign(size_t(f->sh->producers), -1);
    for (;;) {
      f->state = 1;
      [[fallthrough]];
    case 1: {
      int64_t r = qz_chan_recv_poll(f->sh->data, &f->v, self);
      if (r == QZ_PENDING)
        return QZ_PENDING;
      if (r == QZ_CLOSED)
        break;
      size_t p = size_t(f->v / f->sh->per_producer);
      if (f->v <= f->last[p])
        f->sh->order_errors.fetch_add(1);
      f->last[p] = f->v;
      f->sum += f->v;
      ++f->n;
    }
    }
    f->sh->sum.fetch_add(f->sum);
    f->sh->received.fetch_add(f->n);
    f->state = 2;
    [[fallthrough]];
  case 2:
    if (qz_chan_send_poll(f->sh->done, 1, self) == QZ_PENDING)
      return QZ_PENDING;
  }
  delete f;
  return QZ_READY;
}

struct PCMain {
  int state = 0;
  PCShared *sh;
  int consumers;
  int64_t k = 0, v = 0;
};

int64_t pc_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<PCMain *>(fp);
  switch (f->state) {
  case 0:
    for (int c = 0; c < f->consumers; ++c) {
      auto *cf = new ConsumerFrame;
      cf->sh = f->sh;
      qz_spawn(consumer_poll, cf);
    }
    for (int p = 0; p < f->sh->producers; ++p) {
      auto *pf = new ProducerFrame;
      pf->sh = f->sh;
      pf->id = p;
      qz_spawn(producer_poll, pf);
    }
    for (f->k = 0; f->k < f->sh->producers; ++f->k) {
      f->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_chan_recv_poll(f->sh->done, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
    }
    qz_chan_close(f->sh->data);
    for (f->k = 0; f->k < f->consumers; ++f->k) {
      f->state = 2;
      [[fallthrough]];
    case 2:
      if (qz_chan_recv_poll(f->sh->done, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
    }
  }
  qz_task_set_result(self, 0);
  return QZ_READY;
}

void run_pc(int64_t cap, int producers, int consumers, int64_t per, int workers) {
  Watchdog wd(60, "producers/consumers");
  PCShared sh;
  sh.data = qz_chan_new(cap);
  sh.done = qz_chan_new(QZ_CHAN_UNBOUNDED);
  sh.per_producer = per;
  sh.producers = producers;
  PCMain m;
  m.sh = &sh;
  m.consumers = consumers;
  EXPECT_EQ(qz_run(pc_main_poll, &m, workers), 0);
  int64_t n = producers * per;
  EXPECT_EQ(sh.received.load(), n);
  EXPECT_EQ(sh.sum.load(), n * (n - 1) / 2);
  EXPECT_EQ(sh.order_errors.load(), 0);
  qz_chan_free(sh.data);
  qz_chan_free(sh.done);
}

TEST(RuntimeChan, RendezvousManyProducersConsumers) { run_pc(0, 4, 3, 5000, 2); }
TEST(RuntimeChan, BoundedManyProducersConsumers) { run_pc(3, 4, 3, 5000, 2); }
TEST(RuntimeChan, UnboundedManyProducersConsumers) { run_pc(QZ_CHAN_UNBOUNDED, 4, 3, 5000, 2); }
TEST(RuntimeChan, BoundedOneWorker) { run_pc(1, 3, 2, 3000, 1); }
TEST(RuntimeChan, RendezvousFourWorkers) { run_pc(0, 5, 5, 2000, 4); }

// ---- single-task semantics ----------------------------------------------

// A generic main that runs a body once (no suspension).
template <typename F> int64_t run_once(F body, int workers = 1) {
  struct Frame {
    F *body;
  } fr{&body};
  return qz_run(
      [](void *fp, qz_task *self) -> int64_t {
        qz_task_set_result(self, (*static_cast<Frame *>(fp)->body)(self));
        return QZ_READY;
      },
      &fr, workers);
}

TEST(RuntimeChan, BufferedFifoAndTry) {
  qz_chan *ch = qz_chan_new(2);
  int64_t r = run_once([&](qz_task *self) -> int64_t {
    int64_t v = 0;
    EXPECT_FALSE(qz_chan_try_recv(ch, &v));
    EXPECT_EQ(qz_chan_send_poll(ch, 10, self), QZ_READY);
    EXPECT_TRUE(qz_chan_try_send(ch, 11));
    EXPECT_FALSE(qz_chan_try_send(ch, 12));  // full
    EXPECT_EQ(qz_chan_len(ch), 2);
    EXPECT_EQ(qz_chan_recv_poll(ch, &v, self), QZ_READY);
    EXPECT_EQ(v, 10);
    EXPECT_TRUE(qz_chan_try_recv(ch, &v));
    EXPECT_EQ(v, 11);
    return 5;
  });
  EXPECT_EQ(r, 5);
  qz_chan_free(ch);
}

TEST(RuntimeChan, CloseDrainsThenNone) {
  qz_chan *ch = qz_chan_new(QZ_CHAN_UNBOUNDED);
  run_once([&](qz_task *self) -> int64_t {
    for (int i = 0; i < 100; ++i)
      EXPECT_EQ(qz_chan_send_poll(ch, i, self), QZ_READY);
    qz_chan_close(ch);
    qz_chan_close(ch);  // twice: no-op
    EXPECT_EQ(qz_chan_send_poll(ch, 1, self), QZ_CLOSED);
    int64_t v = -1;
    for (int i = 0; i < 100; ++i) {
      EXPECT_EQ(qz_chan_recv_poll(ch, &v, self), QZ_READY);
      EXPECT_EQ(v, i);
    }
    EXPECT_EQ(qz_chan_recv_poll(ch, &v, self), QZ_CLOSED);
    EXPECT_FALSE(qz_chan_try_recv(ch, &v));
    EXPECT_FALSE(qz_chan_recv(ch, &v));  // blocking form: false, no wait
    return 0;
  });
  qz_chan_free(ch);
}

TEST(RuntimeChan, RendezvousTryRecvNeedsParkedSender) {
  qz_chan *ch = qz_chan_new(0);
  run_once([&](qz_task *self) -> int64_t {
    int64_t v;
    EXPECT_FALSE(qz_chan_try_send(ch, 1));  // nobody receiving
    EXPECT_FALSE(qz_chan_try_recv(ch, &v));
    return 0;
  });
  qz_chan_free(ch);
}

// Close wakes every parked receiver (None) and sender (closed).
struct Parked {
  int state = 0;
  qz_chan *ch;
  bool send;
  std::atomic<int> *closed_seen;
  qz_chan *done;
  int64_t v = 0;
};

int64_t parked_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Parked *>(fp);
  switch (f->state) {
  case 0:
    f->state = 1;
    [[fallthrough]];
  case 1: {
    int64_t r = f->send ? qz_chan_send_poll(f->ch, 7, self) : qz_chan_recv_poll(f->ch, &f->v, self);
    if (r == QZ_PENDING)
      return QZ_PENDING;
    if (r == QZ_CLOSED)
      f->closed_seen->fetch_add(1);
    f->state = 2;
  }
    [[fallthrough]];
  case 2:
    if (qz_chan_send_poll(f->done, 1, self) == QZ_PENDING)
      return QZ_PENDING;
  }
  return QZ_READY;
}

struct CloseMain {
  int state = 0;
  qz_chan *rch, *sch, *done;
  std::vector<Parked> frames;
  std::atomic<int> closed_seen{0};
  int64_t k = 0, v = 0;
};

int64_t close_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<CloseMain *>(fp);
  switch (f->state) {
  case 0:
    for (int i = 0; i < 10; ++i)
      f->frames.push_back(Parked{0, i < 5 ? f->rch : f->sch, i >= 5, &f->closed_seen, f->done});
    for (auto &p : f->frames)
      qz_spawn(parked_poll, &p);
    f->state = 1;
    [[fallthrough]];
  case 1:
    // Let them all park (they run before a 20 ms timer fires).
    if (qz_usleep_poll(20000, self) == QZ_PENDING)
      return QZ_PENDING;
    EXPECT_EQ(f->done ? qz_chan_len(f->done) : 0, 0);
    qz_chan_close(f->rch);
    qz_chan_close(f->sch);
    for (f->k = 0; f->k < 10; ++f->k) {
      f->state = 2;
      [[fallthrough]];
    case 2:
      if (qz_chan_recv_poll(f->done, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
    }
  }
  return QZ_READY;
}

TEST(RuntimeChan, CloseWakesEveryWaiter) {
  for (int64_t cap : {int64_t(0), int64_t(1)}) {
    Watchdog wd(30, "close");
    CloseMain m;
    m.rch = qz_chan_new(cap);
    m.sch = qz_chan_new(0);
    m.done = qz_chan_new(QZ_CHAN_UNBOUNDED);
    qz_run(close_main_poll, &m, 2);
    EXPECT_EQ(m.closed_seen.load(), 10);
    qz_chan_free(m.rch);
    qz_chan_free(m.sch);
    qz_chan_free(m.done);
  }
}

// ---- timers -------------------------------------------------------------

struct Sleeper {
  int state = 0;
  int64_t us;
  qz_chan *out;
  int64_t started = 0;
  std::atomic<int> *too_early;
};

int64_t sleeper_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Sleeper *>(fp);
  switch (f->state) {
  case 0:
    f->started = now_us();
    f->state = 1;
    [[fallthrough]];
  case 1:
    if (qz_usleep_poll(f->us, self) == QZ_PENDING)
      return QZ_PENDING;
    if (now_us() - f->started < f->us)
      f->too_early->fetch_add(1);
    f->state = 2;
    [[fallthrough]];
  case 2:
    if (qz_chan_send_poll(f->out, f->us, self) == QZ_PENDING)
      return QZ_PENDING;
  }
  return QZ_READY;
}

struct SleepMain {
  int state = 0;
  std::vector<Sleeper> sleepers;
  qz_chan *out;
  std::vector<int64_t> order;
  int64_t k = 0, v = 0;
};

int64_t sleep_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<SleepMain *>(fp);
  switch (f->state) {
  case 0:
    for (auto &s : f->sleepers)
      qz_spawn(sleeper_poll, &s);
    for (f->k = 0; f->k < int64_t(f->sleepers.size()); ++f->k) {
      f->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_chan_recv_poll(f->out, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
      f->order.push_back(f->v);
    }
  }
  return QZ_READY;
}

TEST(RuntimeTimer, UsleepOrderAndDuration) {
  Watchdog wd(30, "usleep");
  std::atomic<int> too_early{0};
  SleepMain m;
  m.out = qz_chan_new(QZ_CHAN_UNBOUNDED);
  for (int64_t us : {60000, 20000, 40000, 1, 80000, 10000})
    m.sleepers.push_back(Sleeper{0, us, m.out, 0, &too_early});
  qz_run(sleep_main_poll, &m, 2);
  EXPECT_EQ(m.order, (std::vector<int64_t>{1, 10000, 20000, 40000, 60000, 80000}));
  EXPECT_EQ(too_early.load(), 0);
  qz_chan_free(m.out);
}

// A sleeping task does not hold its worker: with one worker, a counting task
// keeps running while main sleeps.
struct Counter {
  std::atomic<bool> *stop;
  std::atomic<int64_t> *count;
  bool yielding = false;
};

int64_t counter_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Counter *>(fp);
  if (f->yielding && qz_yield_poll(self) == QZ_PENDING)
    return QZ_PENDING;
  f->yielding = false;
  if (f->stop->load())
    return QZ_READY;
  f->count->fetch_add(1);
  f->yielding = true;
  qz_yield_poll(self);
  return QZ_PENDING;
}

TEST(RuntimeTimer, SleepDoesNotBlockWorker) {
  Watchdog wd(30, "sleep-vs-worker");
  std::atomic<bool> stop{false};
  std::atomic<int64_t> count{0};
  Counter c{&stop, &count};
  struct Main {
    int state = 0;
    Counter *c;
    int64_t before = 0;
  } m{0, &c};
  int64_t r = qz_run(
      [](void *fp, qz_task *self) -> int64_t {
        auto *f = static_cast<Main *>(fp);
        if (f->state == 0) {
          qz_spawn(counter_poll, f->c);
          f->state = 1;
        }
        if (qz_usleep_poll(30000, self) == QZ_PENDING)
          return QZ_PENDING;
        f->c->stop->store(true);
        qz_task_set_result(self, f->c->count->load());
        return QZ_READY;
      },
      &m, 1);
  EXPECT_GT(r, 100);
}

// ---- I/O ----------------------------------------------------------------

TEST(RuntimeIO, WaitReadable) {
  Watchdog wd(30, "io");
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK), 0);
  struct Reader {
    int state = 0;
    int fd;
    int64_t got = -1;
  } rd{0, fds[0]};
  struct Writer {
    int state = 0;
    int fd;
  } wr{0, fds[1]};
  struct Main {
    int state = 0;
    Reader *rd;
    Writer *wr;
  } m{0, &rd, &wr};
  qz_run(
      [](void *fp, qz_task *self) -> int64_t {
        auto *f = static_cast<Main *>(fp);
        if (f->state == 0) {
          f->state = 1;
          qz_spawn(
              [](void *wp, qz_task *wself) -> int64_t {
                auto *w = static_cast<Writer *>(wp);
                if (qz_usleep_poll(10000, wself) == QZ_PENDING)
                  return QZ_PENDING;
                char c = 42;
                EXPECT_EQ(write(w->fd, &c, 1), 1);
                return QZ_READY;
              },
              f->wr);
        }
        Reader *r = f->rd;
        for (;;) {
          char c;
          ssize_t n = read(r->fd, &c, 1);
          if (n == 1) {
            r->got = c;
            break;
          }
          EXPECT_EQ(errno, EAGAIN);
          int64_t w = qz_io_wait_poll(r->fd, QZ_IO_READ, self);
          if (w == QZ_PENDING)
            return QZ_PENDING;
          EXPECT_EQ(w, QZ_READY);
        }
        qz_io_forget(r->fd);
        return QZ_READY;
      },
      &m, 2);
  EXPECT_EQ(rd.got, 42);
  close(fds[0]);
  close(fds[1]);
}

// ---- blocking forms from a thread outside the scheduler ------------------

TEST(RuntimeChan, ForeignThreadBlockingOps) {
  Watchdog wd(30, "foreign thread");
  qz_chan *to_task = qz_chan_new(0), *from_task = qz_chan_new(0);
  struct Main {
    int state = 0;
    qz_chan *in, *out;
    int64_t v = 0, i = 0;
  } m{0, to_task, from_task};
  qz_external_ref();  // the thread may send while every task waits
  std::thread th([&] {
    for (int64_t i = 0; i < 1000; ++i) {
      qz_chan_send(to_task, i);
      int64_t v = -1;
      EXPECT_TRUE(qz_chan_recv(from_task, &v));
      EXPECT_EQ(v, i * 2);
    }
    qz_chan_close(to_task);
    qz_external_unref();
  });
  qz_run(
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
      &m, 2);
  th.join();
  qz_chan_free(to_task);
  qz_chan_free(from_task);
}

// ---- Vec, print ---------------------------------------------------------

TEST(RuntimeBasics, Vec) {
  qz_vec *v = qz_vec_new();
  for (int i = 0; i < 1000; ++i)
    qz_vec_push(v, i * 3);
  EXPECT_EQ(qz_vec_len(v), 1000);
  qz_vec_set(v, 10, -1);
  EXPECT_EQ(qz_vec_get(v, 10), -1);
  EXPECT_EQ(qz_vec_pop(v), 999 * 3);
  EXPECT_EQ(qz_vec_len(v), 999);
  qz_vec_free(v);
}

// ---- exits: panics, deadlock, main's result (in subprocesses) -----------

int64_t recv_forever_poll(void *fp, qz_task *self) {
  int64_t v;
  if (qz_chan_recv_poll(static_cast<qz_chan *>(fp), &v, self) == QZ_PENDING)
    return QZ_PENDING;
  return QZ_READY;
}

TEST(RuntimeExit, DeadlockMainRecv) {
  Child r = run_child([] {
    qz_chan *ch = qz_chan_new(0);
    qz_run(
        [](void *fp, qz_task *self) -> int64_t {
          qz_println_str("before");
          return recv_forever_poll(fp, self);
        },
        ch, 2);
  });
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.out, "before\n");  // stdout flushed
  EXPECT_NE(r.err.find("deadlock: main waits on channel recv"), std::string::npos) << r.err;
}

TEST(RuntimeExit, DeadlockNamesEveryTask) {
  Child r = run_child([] {
    struct M {
      int state = 0;
      qz_chan *a, *b;
    };
    static M m{0, qz_chan_new(0), qz_chan_new(1)};
    qz_run(
        [](void *fp, qz_task *self) -> int64_t {
          auto *f = static_cast<M *>(fp);
          if (f->state == 0) {
            f->state = 1;
            qz_spawn_named(recv_forever_poll, f->a, "waiter");
            qz_spawn(
                [](void *cp, qz_task *s) -> int64_t {
                  // fills the buffer, then waits in the second send
                  auto *ch = static_cast<qz_chan *>(cp);
                  if (qz_chan_len(ch) == 0)
                    qz_chan_try_send(ch, 1);
                  return qz_chan_send_poll(ch, 2, s) == QZ_PENDING ? QZ_PENDING : QZ_READY;
                },
                f->b);
          }
          // main sleeps first: no false positive while a timer is pending
          if (f->state == 1) {
            if (qz_usleep_poll(30000, self) == QZ_PENDING)
              return QZ_PENDING;
            f->state = 2;
          }
          return recv_forever_poll(f->a, self);
        },
        &m, 2);
  });
  EXPECT_EQ(r.status, 101);
  EXPECT_NE(r.err.find("deadlock: 3 tasks"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("main waits on channel recv"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("task waiter (#"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("waits on channel send"), std::string::npos) << r.err;
}

TEST(RuntimeExit, NoDeadlockWhileTimerPending) {
  // One worker, main sleeps 50 ms: the worker parks with a timer pending.
  Child r = run_child([] {
    struct M {
      int x;
    } m{0};
    int64_t res = qz_run(
        [](void *, qz_task *self) -> int64_t {
          if (qz_usleep_poll(50000, self) == QZ_PENDING)
            return QZ_PENDING;
          qz_task_set_result(self, 7);
          return QZ_READY;
        },
        &m, 1);
    _exit(int(res));
  });
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(RuntimeExit, PanicAt) {
  Child r = run_child([] {
    int dummy = 0;
    qz_run(
        [](void *, qz_task *) -> int64_t {
          qz_print_str("partial");
          qz_panic_at("boom", "main.qz", 3, 7);
        },
        &dummy, 2);
  });
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.out, "partial");
  EXPECT_EQ(r.err, "panic: boom at main.qz:3:7\n");
}

TEST(RuntimeExit, PanicInSpawnedTaskAndBounds) {
  Child r = run_child([] {
    int dummy = 0;
    qz_run(
        [](void *, qz_task *self) -> int64_t {
          static bool spawned = false;
          if (!spawned) {
            spawned = true;
            qz_spawn([](void *, qz_task *) -> int64_t { qz_panic_bounds_at(999, 0, "v.qz", 4, 9); },
                     nullptr);
          }
          return qz_usleep_poll(5000000, self);
        },
        &dummy, 2);
  });
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.err, "panic: index out of bounds: index 999, len 0 at v.qz:4:9\n");
}

TEST(RuntimeExit, SendOnClosedChannelPanics) {
  Child r = run_child([] {
    qz_chan *ch = qz_chan_new(1);
    qz_chan_close(ch);
    qz_chan_send(ch, 1);
  });
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.err, "panic: send on closed channel\n");
}

TEST(RuntimeExit, MainResultIsExitStatus) {
  Child r = run_child([] {
    static int64_t n = 0;
    qz_main(
        [](void *, qz_task *self) -> int64_t {
          qz_println_i64(-12);
          qz_print_bool(true);
          qz_println_bool(false);
          qz_println_str("bye");
          qz_task_set_result(self, 42);
          return QZ_READY;
        },
        &n);
  });
  EXPECT_EQ(r.status, 42);
  EXPECT_EQ(r.out, "-12\ntruefalse\nbye\n");
}

} // namespace
