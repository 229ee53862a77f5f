// Tests of the actor ABI (runtime/actor.cpp) with hand-written poll functions
// that play the part of the code actor-lower generates: a message loop task
// (the shape of @A.run after coro-split), the spawn/restart entry
// (@qz.spawn_actor.A.run), the constructor and the .send/.call stubs.
// Covered: one message at a time in per-sender FIFO order; stop handles what
// was sent before it and later sends fail; a panic with a live link restarts
// (mode 1, failed message handed over, mailbox kept), without one the actor
// terminates (mode 2, queue drained with status 3, sends and stop fail); the
// panic line on stderr; a crash storm (4 senders x 10,000 messages, a panic
// every third) natively and under many scheduler seeds; 2,000 runs of
// create/link/crash/restart/bump/stop; deadlock reports naming actors.
#include "qz_runtime.h"
#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace qz_test;

namespace {

// Collects the actor panic lines (qz_actor_set_panic_output) in a temporary
// file while alive: hundreds of restarts would flood the test log, and
// stderr itself stays free for deadlock reports and the watchdog.
class PanicCapture {
  FILE *tmp_ = nullptr;

public:
  PanicCapture() {
    tmp_ = tmpfile();
    if (!tmp_)
      abort();
    qz_actor_set_panic_output(tmp_);
  }
  std::string finish() {
    std::string s;
    if (!tmp_)
      return s;
    qz_actor_set_panic_output(nullptr);
    rewind(tmp_);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, tmp_)) > 0)
      s.append(buf, n);
    fclose(tmp_);
    tmp_ = nullptr;
    return s;
  }
  ~PanicCapture() { finish(); }
};

size_t count_of(const std::string &s, const std::string &what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size()))
    ++n;
  return n;
}

// Coroutine helpers for hand-written poll functions: the frame `f` has
// `int pc` and `int64_t r`; AWAIT calls a poll-form operation and returns
// QZ_PENDING from the poll function until it completes (result in f->r).
#define CO_BEGIN(f) switch ((f)->pc) { case 0:
#define CO_END }
#define AWAIT(f, expr)                                                                   \
  do {                                                                                   \
    (f)->pc = __LINE__;                                                                  \
    [[fallthrough]];                                                                     \
    case __LINE__:                                                                       \
      if (((f)->r = (expr)) == QZ_PENDING)                                               \
        return QZ_PENDING;                                                               \
  } while (0)

// ---- the "generated code": a test actor ------------------------------------

// Messages: {tag, reply, result, args...} like actor-lower's A.m.msg.
enum Tag : int64_t {
  T_ADD,             // add(k): Void
  T_GET,             // get(): Int
  T_CRASH,           // crash(): Void, panics
  T_CRASH_GET,       // crash_get(): Int, panics (with a location)
  T_SEQ,             // seq(sender, seq): Void; panics when the storm says so
  T_HOLD,            // hold(): Void, waits on a channel (in arg) inside the method
  T_CRASH_AT,        // panics with qz_panic_at
  T_CRASH_BOUNDS,    // qz_panic_bounds
  T_CRASH_BOUNDS_AT, // qz_panic_bounds_at
  T_LOOSE,           // panics with no method current
};
const char *const kMethod[] = {"add",      "get",          "crash",           "crash_get", "seq",
                               "hold",     "crash_at",     "crash_bounds", "crash_bounds_at",
                               "loose"};

struct Msg {
  int64_t tag;
  qz_chan *reply;  // sync methods only
  int64_t result;
  int64_t arg, sender, seq;
};

// What the test observes; it survives restarts (the actor's fields do not).
// Written by the actor's loop only (one handler at a time), read by the test
// after the actor has stopped.
struct Stats {
  int64_t per_sender = 0;   // T_SEQ: id = sender * per_sender + seq
  int64_t panic_every = 0;  // T_SEQ panics when id % panic_every == 0
  std::vector<int64_t> last_seq = std::vector<int64_t>(8, -1);
  std::vector<int> counted, failed;  // by id: handled without panic / failed after it
  std::vector<int64_t> trace;        // ids in the order handled
  std::vector<int64_t> modes;        // run mode of every loop run
  int64_t order_errors = 0, handled = 0, inits = 0, starts = 0;
  int64_t failed_async = 0, failed_sync = 0, drained = 0;
  std::atomic<int> in_handler{0}, overlap{0}, finished{0};
  void size(int64_t senders, int64_t per) {
    per_sender = per;
    counted.assign(size_t(senders * per), 0);
    failed.assign(size_t(senders * per), 0);
  }
};

// The actor's fields (A.state) plus a pointer the "init" does not reset.
struct TState {
  Stats *st;
  int64_t count;
};

struct LoopFrame {  // A.run.frame
  int state;
  qz_actor *a;
  void *mail;
  int64_t mode, tmp;
};

// Frames and messages a deadlock test abandons stay reachable from here
// (never destroyed: the leak check runs after static destructors).
std::vector<void *> &g_keep = *new std::vector<void *>;
bool g_keep_frames = false;

// @A.fail(msg, status): a synchronous caller gets `status`; async: freed.
void fail_msg(Stats *st, Msg *m, int64_t status) {
  if (m->reply) {
    if (status == 2)
      ++st->failed_sync;
    qz_chan_try_send(m->reply, status);
    return;  // the caller frees m
  }
  ++st->failed_async;
  if (m->tag == T_SEQ)
    ++st->failed[size_t(m->sender * st->per_sender + m->seq)];
  free(m);
}

// The methods and the dispatch of one message (everything but T_HOLD).
void handle(qz_actor *a, TState *s, Msg *m) {
  Stats *st = s->st;
  qz_actor_set_current(a, m, kMethod[m->tag]);
  if (st->in_handler.exchange(1))
    st->overlap.fetch_add(1);
  switch (m->tag) {
  case T_ADD:
    s->count += m->arg;
    break;
  case T_GET:
    m->result = s->count;
    break;
  case T_SEQ: {
    int64_t &last = st->last_seq[size_t(m->sender)];
    if (m->seq != last + 1)
      ++st->order_errors;
    last = m->seq;
    int64_t id = m->sender * st->per_sender + m->seq;
    st->trace.push_back(id);
    if (st->panic_every && id % st->panic_every == 0) {
      st->in_handler.store(0);
      qz_panic_str("storm");
    }
    ++st->counted[size_t(id)];
    ++s->count;
    break;
  }
  case T_CRASH:
    st->in_handler.store(0);
    qz_panic_str("boom");
  case T_CRASH_GET:
    st->in_handler.store(0);
    qz_panic_at("boom2", "t.qz", 7, 9);
  case T_CRASH_AT:
    st->in_handler.store(0);
    qz_panic_at("boom", "t.qz", 3, 5);
  case T_CRASH_BOUNDS:
    st->in_handler.store(0);
    qz_panic_bounds(999, 0);
  case T_CRASH_BOUNDS_AT:
    st->in_handler.store(0);
    qz_panic_bounds_at(7, 3, "u.qz", 10, 2);
  case T_LOOSE:
    st->in_handler.store(0);
    qz_actor_clear_current(a);
    qz_panic_str("loose");
  default:
    qz_panic_str("unknown tag");
  }
  ++st->handled;
  st->in_handler.store(0);
  qz_actor_clear_current(a);
  if (m->reply)
    qz_chan_try_send(m->reply, 1);
  else
    free(m);
}

// @A.run.task: the message loop as coro-split leaves it.
int64_t loop_poll(void *fp, qz_task *self) {
  auto *f = static_cast<LoopFrame *>(fp);
  qz_actor *a = f->a;
  auto *s = static_cast<TState *>(qz_actor_state(a));
  Stats *st = s->st;
  int64_t r;
  Msg *m;
  switch (f->state) {
  case 0:
    f->mode = qz_actor_run_mode(a);
    st->modes.push_back(f->mode);
    if (qz_actor_has_failed(a))
      fail_msg(st, static_cast<Msg *>(qz_actor_take_failed(a)), 2);
    if (f->mode == QZ_ACTOR_TERMINATING) {
      for (;;) {  // drain: fail everything still queued
        f->state = 1;
        [[fallthrough]];
      case 1:
        r = qz_actor_recv_poll(a, &f->mail, self);
        if (r == QZ_PENDING)
          return QZ_PENDING;
        if (r != QZ_READY)
          break;
        ++st->drained;
        fail_msg(st, static_cast<Msg *>(f->mail), 3);
      }
    } else {
      s->count = 0;  // @A.init
      ++st->inits;
      for (;;) {
        f->state = 2;
        [[fallthrough]];
      case 2:
        r = qz_actor_recv_poll(a, &f->mail, self);
        if (r == QZ_PENDING)
          return QZ_PENDING;
        if (r != QZ_READY)
          break;
        m = static_cast<Msg *>(f->mail);
        if (m->tag != T_HOLD) {
          handle(a, s, m);
          continue;
        }
        // hold(): a method that suspends (awaits a channel) inside the loop
        qz_actor_set_current(a, m, "hold");
        f->state = 3;
        [[fallthrough]];
      case 3:
        m = static_cast<Msg *>(f->mail);
        r = qz_chan_recv_poll(reinterpret_cast<qz_chan *>(m->arg), &f->tmp, self);
        if (r == QZ_PENDING)
          return QZ_PENDING;
        qz_actor_clear_current(a);
        free(m);
      }
    }
    st->finished.fetch_add(1);
    qz_actor_finished(a);
    qz_free(f);
    return QZ_READY;
  }
  return QZ_READY;
}

// @qz.spawn_actor.A.run: builds a loop frame and starts the loop; also the
// restart function.
void spawn_loop(qz_actor *a) {
  // Frames come from qz_alloc, like generated code's: the panic catcher
  // frees them with qz_free.
  auto *f = static_cast<LoopFrame *>(qz_alloc(sizeof(LoopFrame)));
  f->a = a;
  if (g_keep_frames)
    g_keep.push_back(f);
  ++static_cast<TState *>(qz_actor_state(a))->st->starts;
  qz_actor_start(a, loop_poll, f, spawn_loop);
}

// @A.new()
qz_actor *new_actor(const char *name, Stats *st) {
  auto *s = static_cast<TState *>(calloc(1, sizeof(TState)));
  s->st = st;
  qz_actor *a = qz_actor_create(name, s);
  spawn_loop(a);
  return a;
}

Msg *new_msg(int64_t tag, int64_t arg = 0, bool sync = false) {
  auto *m = static_cast<Msg *>(calloc(1, sizeof(Msg)));
  m->tag = tag;
  m->arg = arg;
  if (sync)
    m->reply = qz_chan_new(1);
  return m;
}

// @A.m.send: false when the actor is not running (the stub would panic).
bool send(qz_actor *a, int64_t tag, int64_t arg = 0) {
  Msg *m = new_msg(tag, arg);
  if (qz_actor_send(a, m))
    return true;
  free(m);
  return false;
}

bool send_seq(qz_actor *a, int64_t sender, int64_t seq) {
  Msg *m = new_msg(T_SEQ);
  m->sender = sender;
  m->seq = seq;
  if (qz_actor_send(a, m))
    return true;
  free(m);
  return false;
}

// @A.m.call, split in its send and its wait: status 1 replied (result set),
// 2 the method panicked, 3 the actor terminated first, 0 not running.
struct Call {
  Msg *m = nullptr;
  int64_t slot = 0, status = -1, result = 0;
};
void call_send(Call *c, qz_actor *a, int64_t tag, int64_t arg = 0) {
  c->status = -1;
  c->m = new_msg(tag, arg, true);
  if (!qz_actor_send(a, c->m)) {
    qz_chan_free(c->m->reply);
    free(c->m);
    c->m = nullptr;
    c->status = 0;
  }
}
int64_t call_wait(Call *c, qz_task *self) {
  if (!c->m)
    return QZ_READY;
  if (qz_chan_recv_poll(c->m->reply, &c->slot, self) == QZ_PENDING)
    return QZ_PENDING;
  qz_chan_free(c->m->reply);
  c->status = c->slot;
  c->result = c->m->result;
  free(c->m);
  c->m = nullptr;
  return QZ_READY;
}
int64_t call_poll(Call *c, qz_actor *a, int64_t tag, qz_task *self) {
  if (!c->m && c->status == -1)  // first poll of this call
    call_send(c, a, tag);
  return call_wait(c, self);
}
void call_reset(Call *c) { *c = Call(); }

// Yield until `cond` holds (re-checked whenever the task runs).
int64_t yield_until(bool cond, qz_task *self) {
  if (cond)
    return QZ_READY;
  while (qz_yield_poll(self) != QZ_PENDING) {
  }
  return QZ_PENDING;
}

// ---- one message at a time, per-sender FIFO ---------------------------------

struct SenderFrame {
  int pc = 0;
  int64_t r = 0;
  qz_actor *a = nullptr;
  qz_chan *done = nullptr;
  int64_t sender = 0, n = 0, i = 0, sent = 0;
  bool paced = false;  // send as a void method's stub does: qz_actor_send_poll
  Msg *m = nullptr;
};

// Sends seq 0..n-1 and yields now and then, so that senders interleave.
// Paced senders never yield by themselves: qz_actor_send_poll makes them
// yield (or move to another worker) when the mailbox is deep or contended.
int64_t sender_poll(void *fp, qz_task *self) {
  auto *f = static_cast<SenderFrame *>(fp);
  CO_BEGIN(f);
  for (f->i = 0; f->i < f->n; ++f->i) {
    if (f->paced) {
      f->m = new_msg(T_SEQ);
      f->m->sender = f->sender;
      f->m->seq = f->i;
      AWAIT(f, qz_actor_send_poll(f->a, f->m, self));
      if (f->r == QZ_READY)
        ++f->sent;
      else
        free(f->m);
      continue;
    }
    if (send_seq(f->a, f->sender, f->i))
      ++f->sent;
    if (f->i % 97 == 13)
      AWAIT(f, qz_yield_poll(self));
  }
  AWAIT(f, qz_chan_send_poll(f->done, f->sender, self));
  CO_END;
  return QZ_READY;
}

struct FanInMain {
  int pc = 0;
  int64_t r = 0, k = 0, v = 0, stop = -1;
  int64_t senders = 4, per = 0;
  bool paced = false;
  Stats *st = nullptr;
  Stats kst;  // the keeper's
  qz_actor *a = nullptr, *keeper = nullptr;
  qz_chan *done = nullptr;
  SenderFrame snd[4];
  Call get;
};

int64_t fan_in_poll(void *fp, qz_task *self) {
  auto *f = static_cast<FanInMain *>(fp);
  CO_BEGIN(f);
  f->done = qz_chan_new(4);
  for (f->k = 0; f->k < f->senders; ++f->k) {
    SenderFrame &s = f->snd[f->k];
    s = SenderFrame();
    s.a = f->a;
    s.done = f->done;
    s.sender = f->k;
    s.n = f->per;
    s.paced = f->paced;
    qz_spawn_named(sender_poll, &s, "sender");
  }
  for (f->k = 0; f->k < f->senders; ++f->k)
    AWAIT(f, qz_chan_recv_poll(f->done, &f->v, self));
  AWAIT(f, call_poll(&f->get, f->a, T_GET, self));
  AWAIT(f, qz_actor_stop_poll(f->a, self));
  f->stop = f->r;
  if (f->keeper)
    AWAIT(f, qz_actor_stop_poll(f->keeper, self));
  qz_chan_free(f->done);
  CO_END;
  return QZ_READY;
}

void check_fan_in(FanInMain &m, Stats &st, const char *what) {
  EXPECT_EQ(m.stop, QZ_READY) << what;
  EXPECT_EQ(st.order_errors, 0) << what;
  EXPECT_EQ(st.overlap.load(), 0) << what;
  EXPECT_EQ(st.finished.load(), 1) << what;
  int64_t total = m.senders * m.per, bad = 0, panics = 0;
  for (int64_t id = 0; id < total; ++id) {
    bool panicky = st.panic_every && id % st.panic_every == 0;
    panics += panicky;
    if (st.counted[size_t(id)] != (panicky ? 0 : 1) || st.failed[size_t(id)] != (panicky ? 1 : 0))
      ++bad;
  }
  EXPECT_EQ(bad, 0) << what << ": messages not counted exactly once (or failed once)";
  for (int64_t s = 0; s < m.senders; ++s)
    EXPECT_EQ(m.snd[s].sent, m.per) << what;
  EXPECT_EQ(st.starts, panics + 1) << what;
  EXPECT_EQ(int64_t(st.modes.size()), panics + 1) << what;
  if (!st.modes.empty()) {
    EXPECT_EQ(st.modes[0], QZ_ACTOR_FRESH) << what;
    EXPECT_EQ(std::count(st.modes.begin() + 1, st.modes.end(), int64_t(QZ_ACTOR_RESTARTED)),
              panics)
        << what;
  }
  EXPECT_EQ(st.failed_async, panics) << what;
  EXPECT_EQ(int64_t(st.trace.size()), total) << what;
  EXPECT_EQ(m.get.status, 1) << what;
}

// Runs the fan-in workload (natively with `workers`, or seeded when
// workers == 0) and returns the actor panic lines.
std::string run_fan_in(Stats &st, FanInMain &m, int64_t per, int64_t panic_every, int workers,
                       uint64_t seed = 0, bool paced = false) {
  st.size(4, per);
  st.panic_every = panic_every;
  m.per = per;
  m.paced = paced;
  m.st = &st;
  PanicCapture cap;
  // Wrapped in a first task so that the actors are created inside the run.
  struct Boot {
    FanInMain *m;
    Stats *st;
    bool linked;
  };
  static Boot boot;
  boot = Boot{&m, &st, panic_every != 0};
  qz_poll_fn start = [](void *, qz_task *self) -> int64_t {
    FanInMain *fm = boot.m;
    if (fm->pc == 0 && !fm->a) {
      fm->a = new_actor("Storm", boot.st);
      if (boot.linked) {
        fm->keeper = new_actor("Keeper", &fm->kst);
        qz_actor_link(fm->a, fm->keeper);
      }
    }
    return fan_in_poll(fm, self);
  };
  if (workers > 0) {
    qz_run(start, nullptr, workers);
  } else {
    int64_t res = -1;
    EXPECT_EQ(qz_run_seeded(start, nullptr, seed, &res), QZ_RUN_DONE) << qz_last_deadlock_report();
  }
  return cap.finish();
}

TEST(RuntimeActor, OneAtATimePerSenderFifo) {
  Watchdog wd(60, "fan-in");
  for (int workers : {1, 2, 4}) {
    Stats st;
    FanInMain m;
    std::string err = run_fan_in(st, m, scaled(5000), 0, workers);
    std::string what = "workers " + std::to_string(workers);
    check_fan_in(m, st, what.c_str());
    EXPECT_EQ(m.get.result, 4 * m.per) << what;
    EXPECT_EQ(st.inits, 1) << what;
    EXPECT_EQ(qz_actor_status(m.a), QZ_ACTOR_STOPPED) << what;
    EXPECT_EQ(err, "") << what;
    wd.kick();
  }
}

// Senders that never wait, as the stubs of void methods send: far more
// messages than QZ_ACTOR_PACE_DEPTH, so they yield and (with workers) move
// next to the actor. Every message still arrives once, in per-sender order,
// also when the actor panics on every third one.
TEST(RuntimeActor, PacedSendersKeepOrderAndLoseNothing) {
  Watchdog wd(90, "paced fan-in");
  const int64_t per = std::max<int64_t>(scaled(20000), 2 * QZ_ACTOR_PACE_DEPTH);
  for (int64_t panic_every : {0, 3}) {
    for (int workers : {1, 2, 4}) {
      Stats st;
      FanInMain m;
      std::string err = run_fan_in(st, m, per, panic_every, workers, 0, true);
      std::string what = "paced, workers " + std::to_string(workers) + ", panic every " +
                         std::to_string(panic_every);
      check_fan_in(m, st, what.c_str());
      if (!panic_every) {
        EXPECT_EQ(m.get.result, 4 * m.per) << what;
      }
      wd.kick();
    }
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      Stats st;
      FanInMain m;
      run_fan_in(st, m, 2 * QZ_ACTOR_PACE_DEPTH, panic_every, 0, seed, true);
      check_fan_in(m, st, ("paced, seed " + std::to_string(seed)).c_str());
      wd.kick();
    }
  }
}

TEST(RuntimeActor, PacedSendToAStoppedActorIsClosed) {
  Watchdog wd(30, "paced send after stop");
  static Stats st;
  struct F {
    int pc = 0;
    int64_t r = 0, sent = 0;
    qz_actor *a = nullptr;
    Msg *m = nullptr;
  };
  static F f;
  qz_poll_fn start = [](void *, qz_task *self) -> int64_t {
    F *g = &f;
    CO_BEGIN(g);
    g->a = new_actor("Gone", &st);
    AWAIT(g, qz_actor_stop_poll(g->a, self));
    g->m = new_msg(T_ADD, 1);
    AWAIT(g, qz_actor_send_poll(g->a, g->m, self));
    free(g->m);
    CO_END;
    return QZ_READY;
  };
  qz_run(start, nullptr, 2);
  EXPECT_EQ(f.r, QZ_CLOSED);
}

// An actor's message loop that takes every message and hands it to
// `on_message` (if set); the scenarios below need no more of an actor.
struct DrainLoop {
  int pc = 0;
  int64_t r = 0;
  qz_actor *a = nullptr;
  void *mail = nullptr;
  void (*on_message)(Msg *) = nullptr;
};
int64_t drain_loop_poll(void *fp, qz_task *self) {
  auto *f = static_cast<DrainLoop *>(fp);
  CO_BEGIN(f);
  for (;;) {
    AWAIT(f, qz_actor_recv_poll(f->a, &f->mail, self));
    if (f->r != QZ_READY) {
      qz_actor_finished(f->a);
      return QZ_READY;
    }
    if (f->on_message)
      f->on_message(static_cast<Msg *>(f->mail));
  }
  CO_END;
  return QZ_READY;
}

// A contended sender may move onto the worker that last ran the actor's loop
// while that worker is blocked in a blocking-form receive (inside a handler)
// that only this sender can end: it must still run somewhere. (A moved task
// used to sit, sticky, in the blocked worker's queue: a hang reported as a
// deadlock in about 4 runs of 10.)
namespace strand {
enum { HOLD = 1, DATA = 2 };
Msg hold{HOLD, nullptr, 0, 0, 0, 0}, data{DATA, nullptr, 0, 0, 0, 0};
qz_chan *held, *gate, *fin;
int64_t n = 0, count = 0;
DrainLoop lf;
void on_message(Msg *m) {
  if (m->tag == HOLD) {
    qz_chan_try_send(held, 1);
    int64_t v;
    qz_chan_recv(gate, &v);  // blocking forms, on a worker thread
    qz_chan_recv(gate, &v);
  } else if (++count == 2 * n) {
    qz_chan_try_send(fin, 1);
  }
}
struct SendF {
  int pc = 0;
  int64_t r = 0, i = 0;
  qz_actor *a = nullptr;
} sf[2];
int64_t sender_poll(void *fp, qz_task *self) {
  auto *f = static_cast<SendF *>(fp);
  CO_BEGIN(f);
  for (f->i = 0; f->i < n; ++f->i)
    AWAIT(f, qz_actor_send_poll(f->a, &data, self));
  AWAIT(f, qz_chan_send_poll(gate, 1, self));
  CO_END;
  return QZ_READY;
}
struct MainF {
  int pc = 0;
  int64_t r = 0, v = 0;
  qz_actor *a = nullptr;
} mf;
int64_t main_poll(void *, qz_task *self) {
  MainF *f = &mf;
  CO_BEGIN(f);
  f->a = qz_actor_create("Holder", nullptr);
  lf.a = f->a;
  qz_actor_start(f->a, drain_loop_poll, &lf, [](qz_actor *) { abort(); });
  qz_actor_send(f->a, &hold);
  AWAIT(f, qz_chan_recv_poll(held, &f->v, self));
  for (SendF &s : sf) {
    s.a = f->a;
    qz_spawn_named(sender_poll, &s, "sender");
  }
  AWAIT(f, qz_chan_recv_poll(fin, &f->v, self));
  CO_END;
  return QZ_READY;
}
} // namespace strand

TEST(RuntimeActor, MovedSenderIsNotStrandedOnABlockedWorker) {
  Watchdog wd(120, "moved sender on a blocked worker");
  for (int run = 0; run < 8; ++run) {
    strand::n = std::max<int64_t>(scaled(200000), 4 * QZ_ACTOR_PACE_DEPTH);
    strand::lf = DrainLoop();
    strand::lf.on_message = strand::on_message;
    strand::count = 0;
    strand::mf = strand::MainF();
    for (strand::SendF &s : strand::sf)
      s = strand::SendF();
    strand::held = qz_chan_new(-1);
    strand::gate = qz_chan_new(-1);
    strand::fin = qz_chan_new(-1);
    qz_run(strand::main_poll, nullptr, 3);
    EXPECT_EQ(strand::count, 2 * strand::n) << "run " << run;
    qz_chan_free(strand::held);
    qz_chan_free(strand::gate);
    qz_chan_free(strand::fin);
    wd.kick();
  }
}

// Senders that talk to one actor as fast as they can end up beside its loop,
// on one worker, sticky for up to 1.6 ms; when they then stop talking and
// compute (yielding now and then, which wakes nobody), the other workers,
// which parked while they were sticky, must come back for them: the compute
// phase runs on every worker it can use. (With the stay longer than a
// worker's spin, an idle worker that parked with sticky tasks left behind
// used to stay parked, and every compute slice ran on one thread.)
namespace regain {
Msg data{1, nullptr, 0, 0, 0, 0};
qz_chan *fin;
int64_t n = 0;
int nsenders = 2, nhogs = 0;
std::atomic<int> talked{0};   // senders done sending
constexpr int kSlices = 400;  // of about 200 µs each, per sender
DrainLoop lf;
struct WorkF {
  int pc = 0;
  int64_t r = 0, i = 0;
  qz_actor *a = nullptr;
  std::vector<std::thread::id> threads;  // of each compute slice
} wf[4];
void compute_200us() {
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
  while (std::chrono::steady_clock::now() < until) {
  }
}
int64_t work_poll(void *fp, qz_task *self) {
  auto *f = static_cast<WorkF *>(fp);
  CO_BEGIN(f);
  for (f->i = 0; f->i < n; ++f->i)
    AWAIT(f, qz_actor_send_poll(f->a, &data, self));
  // The senders compute at the same time (sending can take much longer for
  // one than another, under a sanitizer most of all): wait for the others by
  // yielding, which keeps a task where it is and sticky.
  talked.fetch_add(1);
  while (talked.load() < nsenders)
    AWAIT(f, qz_yield_poll(self));
  for (f->i = 0; f->i < kSlices; ++f->i) {
    compute_200us();
    f->threads.push_back(std::this_thread::get_id());
    AWAIT(f, qz_yield_poll(self));
  }
  AWAIT(f, qz_chan_send_poll(fin, 1, self));
  CO_END;
  return QZ_READY;
}
// A task that only computes, from start to end, beside the senders.
std::atomic<bool> hogs_stop{false};
struct HogF {
  int pc = 0;
  int64_t r = 0;
} hf[2];
int64_t hog_poll(void *fp, qz_task *self) {
  auto *f = static_cast<HogF *>(fp);
  CO_BEGIN(f);
  while (!hogs_stop.load()) {
    compute_200us();
    AWAIT(f, qz_yield_poll(self));
  }
  CO_END;
  return QZ_READY;
}
struct MainF {
  int pc = 0;
  int64_t r = 0, v = 0, done = 0;
  qz_actor *a = nullptr;
} mf;
int64_t main_poll(void *, qz_task *self) {
  MainF *f = &mf;
  CO_BEGIN(f);
  f->a = qz_actor_create("Sink", nullptr);
  lf.a = f->a;
  qz_actor_start(f->a, drain_loop_poll, &lf, [](qz_actor *) { abort(); });
  for (int i = 0; i < nhogs; ++i)
    qz_spawn_named(hog_poll, &hf[i], "hog");
  for (int i = 0; i < nsenders; ++i) {
    wf[i].a = f->a;
    qz_spawn_named(work_poll, &wf[i], "talker");
  }
  for (f->done = 0; f->done < nsenders; ++f->done)
    AWAIT(f, qz_chan_recv_poll(fin, &f->v, self));
  hogs_stop = true;
  AWAIT(f, qz_actor_stop_poll(f->a, self));
  CO_END;
  return QZ_READY;
}
// Runs `runs` times on `workers` workers; expects the senders' compute
// slices of the second half of their compute phase to have run on
// `threads` different threads.
void check(int workers, int senders, int hogs, int runs, long threads) {
  Watchdog wd(120, "senders that stop talking");
  for (int run = 0; run < runs; ++run) {
    n = std::max<int64_t>(scaled(300000), 4 * QZ_ACTOR_PACE_DEPTH);
    nsenders = senders;
    nhogs = hogs;
    hogs_stop = false;
    talked = 0;
    lf = DrainLoop();
    mf = MainF();
    for (WorkF &w : wf)
      w = WorkF();
    for (HogF &h : hf)
      h = HogF();
    fin = qz_chan_new(-1);
    qz_run(main_poll, nullptr, workers);
    std::vector<std::thread::id> late;
    for (int i = 0; i < senders; ++i) {
      ASSERT_EQ(wf[i].threads.size(), size_t(kSlices));
      late.insert(late.end(), wf[i].threads.begin() + kSlices / 2, wf[i].threads.end());
    }
    std::sort(late.begin(), late.end());
    EXPECT_EQ(std::unique(late.begin(), late.end()) - late.begin(), threads)
        << "run " << run << ": the compute phase ran on fewer workers than it could";
    qz_chan_free(fin);
    wd.kick();
  }
}
} // namespace regain

TEST(RuntimeActor, SendersThatStopTalkingGetTheirCoreBack) {
  regain::check(/*workers=*/2, /*senders=*/2, /*hogs=*/0, /*runs=*/8, /*threads=*/2);
}

// Four workers, three senders and a task that computes throughout: the
// senders' compute must spread over the three other workers. (A worker could
// park while another one held stolen tasks it had queued without waking
// anyone, and stay parked: about 1 run in 30 used two of the three, so 60
// runs catch it 9 times in 10.)
TEST(RuntimeActor, ComputeSpreadsOverEveryWorker) {
  regain::check(/*workers=*/4, /*senders=*/3, /*hogs=*/1,
                /*runs=*/int(std::max<int64_t>(8, scaled(60))), /*threads=*/3);
}

// ---- stop -------------------------------------------------------------------

// Sends add(1) until a send fails, counting the sends that got in.
struct RacerFrame {
  int pc = 0;
  int64_t r = 0, ok = 0;
  qz_actor *a = nullptr;
  std::atomic<bool> done{false};
};
int64_t racer_poll(void *fp, qz_task *self) {
  auto *f = static_cast<RacerFrame *>(fp);
  CO_BEGIN(f);
  for (;;) {
    if (!send(f->a, T_ADD, 1))
      break;
    ++f->ok;
    if (f->ok % 16 == 0)
      AWAIT(f, qz_yield_poll(self));
  }
  f->done.store(true);
  CO_END;
  return QZ_READY;
}

struct StopFrame {
  int pc = 0;
  int64_t r = 0;
  std::atomic<int64_t> result{-1};  // read by main while it waits
  qz_actor *a = nullptr;
};
int64_t stopper_poll(void *fp, qz_task *self) {
  auto *f = static_cast<StopFrame *>(fp);
  CO_BEGIN(f);
  AWAIT(f, qz_actor_stop_poll(f->a, self));
  f->result = f->r;
  CO_END;
  return QZ_READY;
}

struct StopMain {
  int pc = 0;
  int64_t r = 0, i = 0;
  Stats *st;
  qz_actor *a = nullptr;
  RacerFrame racer;
  StopFrame stoppers[2];
  int64_t stop1 = -1, stop2 = -1, late_send = -1;
  Call after;
};

int64_t stop_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<StopMain *>(fp);
  CO_BEGIN(f);
  f->a = new_actor("Counter", f->st);
  for (f->i = 0; f->i < 1000; ++f->i)
    send(f->a, T_ADD, 1);
  f->racer.a = f->a;
  qz_spawn_named(racer_poll, &f->racer, "racer");
  for (f->i = 0; f->i < 20; ++f->i)
    AWAIT(f, qz_yield_poll(self));
  // Two concurrent stops: one parks, the other finds it not running.
  f->stoppers[0].a = f->stoppers[1].a = f->a;
  qz_spawn_named(stopper_poll, &f->stoppers[0], "stopper");
  qz_spawn_named(stopper_poll, &f->stoppers[1], "stopper");
  AWAIT(f, yield_until(f->stoppers[0].result >= 0 && f->stoppers[1].result >= 0 &&
                           f->racer.done.load(),
                       self));
  f->late_send = send(f->a, T_ADD, 1);
  AWAIT(f, qz_actor_stop_poll(f->a, self));  // stopped: not running
  f->stop2 = f->r;
  AWAIT(f, call_poll(&f->after, f->a, T_GET, self));
  CO_END;
  return QZ_READY;
}

TEST(RuntimeActor, StopHandlesEarlierMessagesLaterSendsFail) {
  Watchdog wd(60, "stop");
  for (int workers : {1, 2, 4}) {
    std::string what = "workers " + std::to_string(workers);
    Stats st;
    StopMain m;
    m.st = &st;
    qz_run(stop_main_poll, &m, workers);
    // Every send that got in was handled before stop() returned.
    EXPECT_EQ(st.handled, 1000 + m.racer.ok) << what;
    EXPECT_EQ(st.finished.load(), 1) << what;
    int ready = (m.stoppers[0].result == QZ_READY) + (m.stoppers[1].result == QZ_READY);
    int closed = (m.stoppers[0].result == QZ_CLOSED) + (m.stoppers[1].result == QZ_CLOSED);
    EXPECT_EQ(ready, 1) << what;
    EXPECT_EQ(closed, 1) << what;
    EXPECT_EQ(m.late_send, 0) << what;
    EXPECT_EQ(m.stop2, QZ_CLOSED) << what;
    EXPECT_EQ(m.after.status, 0) << what;  // a call to a stopped actor: not running
    EXPECT_EQ(qz_actor_status(m.a), QZ_ACTOR_STOPPED) << what;
    EXPECT_EQ(st.modes, std::vector<int64_t>{QZ_ACTOR_FRESH}) << what;
    wd.kick();
  }
}

// ---- panics: restart with a live link, terminate without ---------------------

struct RestartMain {
  int pc = 0;
  int64_t r = 0;
  Stats *st, *kst;
  qz_actor *c = nullptr, *k = nullptr;
  Call get1, crash, get2;
  int64_t stop_c = -1, stop_k = -1;
  int64_t status_after_panic = -1;
};

int64_t restart_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<RestartMain *>(fp);
  CO_BEGIN(f);
  f->k = new_actor("Keeper", f->kst);
  f->c = new_actor("Crasher", f->st);
  qz_actor_link(f->c, f->k);
  qz_actor_link(f->k, f->c);  // again: no duplicate
  send(f->c, T_ADD, 5);
  send(f->c, T_CRASH);  // panics: restarted, fields reset, mailbox kept
  send(f->c, T_ADD, 7);
  AWAIT(f, call_poll(&f->get1, f->c, T_GET, self));
  f->status_after_panic = qz_actor_status(f->c);
  AWAIT(f, call_poll(&f->crash, f->c, T_CRASH_GET, self));  // failed: status 2
  AWAIT(f, call_poll(&f->get2, f->c, T_GET, self));
  AWAIT(f, qz_actor_stop_poll(f->c, self));
  f->stop_c = f->r;
  AWAIT(f, qz_actor_stop_poll(f->k, self));
  f->stop_k = f->r;
  CO_END;
  return QZ_READY;
}

TEST(RuntimeActor, PanicWithLiveLinkRestarts) {
  Watchdog wd(60, "restart");
  for (int workers : {0, 1, 2, 4}) {
    std::string what = "workers " + std::to_string(workers);
    Stats st, kst;
    RestartMain m;
    m.st = &st;
    m.kst = &kst;
    PanicCapture cap;
    if (workers)
      qz_run(restart_main_poll, &m, workers);
    else
      EXPECT_EQ(qz_run_seeded(restart_main_poll, &m, 42, nullptr), QZ_RUN_DONE);
    std::string err = cap.finish();
    EXPECT_EQ(m.get1.status, 1) << what;
    EXPECT_EQ(m.get1.result, 7) << what;  // 5 was lost with the old fields; 7 was not
    EXPECT_EQ(m.status_after_panic, QZ_ACTOR_RUNNING) << what;
    EXPECT_EQ(m.crash.status, 2) << what;  // the caller would panic "actor Crasher panicked in crash_get()"
    EXPECT_EQ(m.get2.status, 1) << what;
    EXPECT_EQ(m.get2.result, 0) << what;
    EXPECT_EQ(m.stop_c, QZ_READY) << what;
    EXPECT_EQ(m.stop_k, QZ_READY) << what;
    EXPECT_EQ(st.modes, (std::vector<int64_t>{QZ_ACTOR_FRESH, QZ_ACTOR_RESTARTED,
                                              QZ_ACTOR_RESTARTED}))
        << what;
    EXPECT_EQ(st.starts, 3) << what;
    EXPECT_EQ(st.inits, 3) << what;
    EXPECT_EQ(st.failed_async, 1) << what;  // the async crash() message, freed
    EXPECT_EQ(st.failed_sync, 1) << what;   // crash_get(), answered with status 2
    EXPECT_EQ(st.finished.load(), 1) << what;
    EXPECT_EQ(err, "actor Crasher panicked in crash(): boom\n"
                   "actor Crasher panicked in crash_get(): boom2 at t.qz:7:9\n")
        << what;
  }
}

struct TerminateMain {
  int pc = 0;
  int64_t r = 0;
  Stats *st, *dst;
  qz_actor *t = nullptr, *dead = nullptr;
  Call get, get2, after;
  int64_t stop_dead = -1, stop_t = -1, late_send = -1;
  bool with_stop_waiter = false;
};

// Without a live link (linked only to a stopped actor) a panic terminates:
// the queued messages are failed, then sends and stop fail.
int64_t terminate_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<TerminateMain *>(fp);
  CO_BEGIN(f);
  f->dead = new_actor("Dead", f->dst);
  AWAIT(f, qz_actor_stop_poll(f->dead, self));
  f->stop_dead = f->r;
  f->t = new_actor("Lonely", f->st);
  qz_actor_link(f->t, f->dead);  // not a live link
  // One poll on one worker: all of this is queued before the actor runs.
  send(f->t, T_ADD, 1);
  send(f->t, T_CRASH);
  send(f->t, T_ADD, 2);
  call_send(&f->get, f->t, T_GET);
  send(f->t, T_ADD, 3);
  if (f->with_stop_waiter) {
    // stop() parks before the actor runs; the termination ends the loop,
    // which wakes it (READY: the actor has exited).
    AWAIT(f, qz_actor_stop_poll(f->t, self));
    f->stop_t = f->r;
  }
  AWAIT(f, call_wait(&f->get, self));
  AWAIT(f, yield_until(f->st->finished.load() == 1, self));
  f->late_send = send(f->t, T_ADD, 4);
  AWAIT(f, call_poll(&f->after, f->t, T_GET, self));
  if (!f->with_stop_waiter) {
    AWAIT(f, qz_actor_stop_poll(f->t, self));
    f->stop_t = f->r;
  }
  CO_END;
  return QZ_READY;
}

TEST(RuntimeActor, PanicWithoutLiveLinkTerminates) {
  Watchdog wd(60, "terminate");
  for (int workers : {0, 1}) {
    for (bool waiter : {false, true}) {
      std::string what = "workers " + std::to_string(workers) + (waiter ? " stop waiter" : "");
      Stats st, dst;
      TerminateMain m;
      m.st = &st;
      m.dst = &dst;
      m.with_stop_waiter = waiter;
      PanicCapture cap;
      if (workers)
        qz_run(terminate_main_poll, &m, workers);
      else
        EXPECT_EQ(qz_run_seeded(terminate_main_poll, &m, 7, nullptr), QZ_RUN_DONE);
      std::string err = cap.finish();
      EXPECT_EQ(m.stop_dead, QZ_READY) << what;
      EXPECT_EQ(st.modes, (std::vector<int64_t>{QZ_ACTOR_FRESH, QZ_ACTOR_TERMINATING})) << what;
      EXPECT_EQ(st.handled, 1) << what;       // add(1)
      EXPECT_EQ(st.drained, 3) << what;       // add(2), get(), add(3)
      EXPECT_EQ(st.failed_async, 3) << what;  // crash() (failed with 2), add(2), add(3)
      EXPECT_EQ(m.get.status, 3) << what;     // the caller would panic "not running"
      EXPECT_EQ(m.late_send, 0) << what;
      EXPECT_EQ(m.after.status, 0) << what;
      EXPECT_EQ(m.stop_t, waiter ? QZ_READY : QZ_CLOSED) << what;
      EXPECT_EQ(qz_actor_status(m.t), QZ_ACTOR_TERMINATED) << what;
      EXPECT_EQ(st.finished.load(), 1) << what;
      EXPECT_EQ(err, "actor Lonely panicked in crash(): boom\n") << what;
    }
  }
}

// ---- the panic line ------------------------------------------------------------

struct FmtMain {
  int pc = 0;
  int64_t r = 0;
  Stats st, kst;
  qz_actor *a = nullptr, *k = nullptr;
  Call get;
};

int64_t fmt_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<FmtMain *>(fp);
  CO_BEGIN(f);
  qz_print_str("before ");  // buffered: the panic flushes it first
  f->k = new_actor("Keeper", &f->kst);
  f->a = new_actor("Fmt", &f->st);
  qz_actor_link(f->a, f->k);
  send(f->a, T_CRASH_AT);
  AWAIT(f, call_poll(&f->get, f->a, T_GET, self));
  qz_print_str("middle ");
  call_reset(&f->get);
  send(f->a, T_CRASH_BOUNDS);
  send(f->a, T_CRASH_BOUNDS_AT);
  send(f->a, T_CRASH);
  send(f->a, T_LOOSE);
  AWAIT(f, call_poll(&f->get, f->a, T_GET, self));
  qz_println_str("after");
  AWAIT(f, qz_actor_stop_poll(f->a, self));
  AWAIT(f, qz_actor_stop_poll(f->k, self));
  CO_END;
  return QZ_READY;
}

TEST(RuntimeActor, PanicLineFormat) {
  for (int workers : {1, 2}) {
    Child c = run_child(
        [workers] {
          static FmtMain m;
          qz_run(fmt_main_poll, &m, workers);
          fflush(stdout);
        },
        /*merge=*/true);
    EXPECT_EQ(c.status, 0) << c.out;
    EXPECT_EQ(c.out, "before actor Fmt panicked in crash_at(): boom at t.qz:3:5\n"
                     "middle actor Fmt panicked in crash_bounds(): index out of bounds: index 999, len 0\n"
                     "actor Fmt panicked in crash_bounds_at(): index out of bounds: index 7, len 3 at u.qz:10:2\n"
                     "actor Fmt panicked in crash(): boom\n"
                     "actor Fmt panicked: loose\n"
                     "after\n")
        << "workers " << workers;
  }
}

// After an actor's panic was caught on a worker, a panic in an ordinary task
// on that worker exits the process as before.
TEST(RuntimeActor, PanicOutsideActorsStillExits) {
  Child c = run_child([] {
    struct M {
      int pc = 0;
      int64_t r = 0;
      Stats st, kst;
      qz_actor *a, *k;
      Call get;
    };
    static M m;
    qz_run(
        [](void *fp, qz_task *self) -> int64_t {
          auto *f = static_cast<M *>(fp);
          CO_BEGIN(f);
          f->k = new_actor("Keeper", &f->kst);
          f->a = new_actor("Crasher", &f->st);
          qz_actor_link(f->a, f->k);
          send(f->a, T_CRASH);
          AWAIT(f, call_poll(&f->get, f->a, T_GET, self));
          qz_panic_at("plain", "m.qz", 1, 2);
          CO_END;
          return QZ_READY;
        },
        &m, 1);
  });
  EXPECT_EQ(c.status, 101);
  EXPECT_EQ(c.err, "actor Crasher panicked in crash(): boom\npanic: plain at m.qz:1:2\n");
}

// ---- crash storm ------------------------------------------------------------------

TEST(RuntimeActor, CrashStorm) {
  Watchdog wd(120, "crash storm");
  for (int workers : {1, 2, 4}) {
    std::string what = "workers " + std::to_string(workers);
    Stats st;
    FanInMain m;
    std::string err = run_fan_in(st, m, scaled(10000), 3, workers);
    check_fan_in(m, st, what.c_str());
    int64_t total = 4 * m.per, panics = (total + 2) / 3;
    EXPECT_EQ(int64_t(count_of(err, "actor Storm panicked in seq(): storm\n")), panics) << what;
    EXPECT_EQ(int64_t(count_of(err, "\n")), panics) << what;
    EXPECT_EQ(qz_actor_status(m.a), QZ_ACTOR_STOPPED) << what;
    wd.kick();
  }
}

TEST(RuntimeActor, CrashStormSeeded) {
  Watchdog wd(30, "seeded crash storm");
  const int64_t seeds = scaled(300);
  std::vector<int64_t> trace7;
  for (int64_t seed = 0; seed < seeds; ++seed) {
    std::string what = "seed " + std::to_string(seed);
    Stats st;
    FanInMain m;
    std::string err = run_fan_in(st, m, 100, 3, 0, uint64_t(seed));
    check_fan_in(m, st, what.c_str());
    EXPECT_EQ(int64_t(count_of(err, "actor Storm panicked in seq(): storm\n")), (400 + 2) / 3)
        << what;
    if (seed == 7)
      trace7 = st.trace;
    if (::testing::Test::HasFailure())
      break;
    wd.kick();
  }
  // The same seed replays the same interleaving.
  Stats st;
  FanInMain m;
  run_fan_in(st, m, 100, 3, 0, 7);
  EXPECT_EQ(st.trace, trace7);
}

// ---- the field report's scenario, many times -------------------------------------

struct ScenarioMain {
  int pc = 0;
  int64_t r = 0;
  Stats ast, bst;
  qz_actor *a = nullptr, *b = nullptr;
  Call ga, gb;
  int64_t result = -1;
};

// var a = Pinger(); var b = Crasher(); a.link(b); b.crash(); a.ping();
// a.get() == 1; b.bump(); b.get() == 1; a.stop(); b.stop()
int64_t scenario_poll(void *fp, qz_task *self) {
  auto *f = static_cast<ScenarioMain *>(fp);
  CO_BEGIN(f);
  f->a = new_actor("Pinger", &f->ast);
  f->b = new_actor("Crasher", &f->bst);
  qz_actor_link(f->a, f->b);
  f->result = 10;
  if (!send(f->b, T_CRASH))
    goto out;
  f->result = 11;
  if (!send(f->a, T_ADD, 1))
    goto out;
  AWAIT(f, call_poll(&f->ga, f->a, T_GET, self));
  f->result = 1;
  if (f->ga.status != 1 || f->ga.result != 1)
    goto out;
  f->result = 12;
  if (!send(f->b, T_ADD, 1))
    goto out;
  AWAIT(f, call_poll(&f->gb, f->b, T_GET, self));
  f->result = 2;
  if (f->gb.status != 1 || f->gb.result != 1)
    goto out;
  AWAIT(f, qz_actor_stop_poll(f->a, self));
  f->result = 3;
  if (f->r != QZ_READY)
    goto out;
  AWAIT(f, qz_actor_stop_poll(f->b, self));
  f->result = 4;
  if (f->r != QZ_READY)
    goto out;
  f->result = 0;
out:;
  CO_END;
  return QZ_READY;
}

void check_scenario(ScenarioMain &m, const std::string &err, const std::string &what) {
  EXPECT_EQ(m.result, 0) << what;
  EXPECT_EQ(m.bst.modes, (std::vector<int64_t>{QZ_ACTOR_FRESH, QZ_ACTOR_RESTARTED})) << what;
  EXPECT_EQ(m.bst.finished.load(), 1) << what;
  EXPECT_EQ(m.ast.finished.load(), 1) << what;
  EXPECT_EQ(err, "actor Crasher panicked in crash(): boom\n") << what;
}

TEST(RuntimeActor, CreateLinkCrashRestartBumpStopNeverHangs) {
  Watchdog wd(10, "create/link/crash/restart/bump/stop run");  // per run
  const int64_t runs = scaled(2000);
  for (int64_t i = 0; i < runs; ++i) {
    auto *m = new ScenarioMain;
    PanicCapture cap;
    int workers = i % 2 ? 4 : 2;  // 4 workers on fewer cores: preempted polls too
    qz_run(scenario_poll, m, workers);
    check_scenario(*m, cap.finish(),
                   "run " + std::to_string(i) + ", workers " + std::to_string(workers));
    delete m;
    if (::testing::Test::HasFailure())
      break;
    wd.kick();
  }
}

TEST(RuntimeActor, CreateLinkCrashRestartBumpStopSeeded) {
  Watchdog wd(10, "seeded create/link/crash/restart/bump/stop run");
  const int64_t seeds = scaled(1000);
  for (int64_t seed = 0; seed < seeds; ++seed) {
    auto *m = new ScenarioMain;
    PanicCapture cap;
    int rc = qz_run_seeded(scenario_poll, m, uint64_t(seed), nullptr);
    EXPECT_EQ(rc, QZ_RUN_DONE) << qz_last_deadlock_report();
    check_scenario(*m, cap.finish(), "seed " + std::to_string(seed));
    delete m;
    if (::testing::Test::HasFailure())
      break;
    wd.kick();
  }
}

// ---- deadlock reports and exit ----------------------------------------------------

struct StuckMain {
  int pc = 0;
  int64_t r = 0;
  Stats ist, sst;
  qz_actor *idle = nullptr, *stuck = nullptr;
  qz_chan *never = nullptr;
  Call get;
};

// "Idle" waits for mail; "Stuck" is inside hold(), waiting on a channel
// nobody sends to; main waits for Stuck's stop.
int64_t stuck_main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<StuckMain *>(fp);
  CO_BEGIN(f);
  f->never = qz_chan_new(0);
  f->idle = new_actor("Idle", &f->ist);
  f->stuck = new_actor("Stuck", &f->sst);
  {
    Msg *m = new_msg(T_HOLD, int64_t(reinterpret_cast<intptr_t>(f->never)));
    g_keep.push_back(m);
    qz_actor_send(f->stuck, m);
  }
  AWAIT(f, call_poll(&f->get, f->idle, T_GET, self));  // Idle has run: waits for mail
  AWAIT(f, qz_actor_stop_poll(f->stuck, self));
  CO_END;
  return QZ_READY;
}

void expect_stuck_report(const std::string &rep) {
  EXPECT_NE(rep.find("deadlock: 3 tasks wait forever"), std::string::npos) << rep;
  EXPECT_NE(rep.find("  main waits for stop of actor Stuck\n"), std::string::npos) << rep;
  EXPECT_NE(rep.find("  actor Idle waits for mail\n"), std::string::npos) << rep;
  EXPECT_NE(rep.find("  actor Stuck waits on channel recv (channel #"), std::string::npos) << rep;
}

TEST(RuntimeActor, DeadlockReportNamesActorsSeeded) {
  g_keep_frames = true;  // the abandoned loop frames stay reachable
  auto *m = new StuckMain;
  g_keep.push_back(m);
  int rc = qz_run_seeded(stuck_main_poll, m, 3, nullptr);
  g_keep_frames = false;
  ASSERT_EQ(rc, QZ_RUN_DEADLOCK);
  expect_stuck_report(qz_last_deadlock_report());
}

TEST(RuntimeActor, DeadlockReportNamesActorsNative) {
  Child c = run_child([] {
    static StuckMain m;
    qz_run(stuck_main_poll, &m, 2);
  });
  EXPECT_EQ(c.status, 101);
  expect_stuck_report(c.err);
}

// Main returning ends the process whatever its actors are doing.
TEST(RuntimeActor, MainReturnExitsWithActorsRunning) {
  Child c = run_child([] {
    struct M {
      int pc = 0;
      int64_t r = 0;
      Stats st;
      qz_chan *never;
      qz_actor *a;
    };
    static M m;
    qz_main(
        [](void *fp, qz_task *self) -> int64_t {
          auto *f = static_cast<M *>(fp);
          f->never = qz_chan_new(0);
          f->a = new_actor("Busy", &f->st);
          send(f->a, T_ADD, 1);
          qz_actor_send(f->a, new_msg(T_HOLD, int64_t(reinterpret_cast<intptr_t>(f->never))));
          qz_print_str("bye");
          qz_task_set_result(self, 7);
          return QZ_READY;
        },
        &m);
  });
  EXPECT_EQ(c.status, 7);
  EXPECT_EQ(c.out, "bye");
  EXPECT_EQ(c.err, "");
}

} // namespace
