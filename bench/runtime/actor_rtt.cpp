// Actors through the runtime's actor ABI, with the code actor-lower would
// generate written by hand (message loop task, restart entry, stubs).
//   qz-bench-actor_rtt [calls=200000] [msgs_per_sender=250000] [crash_cycles=20000]
// Prints, measured inside the program:
//   1. the round trip of a synchronous call through one actor (message with
//      a one-slot reply channel, the actor's reply, the caller's wake-up);
//   2. messages/s from 4 sender tasks to 1 actor (asynchronous sends, until
//      stop() has returned, i.e. every message was handled);
//   3. the cycle time of crash() (a panic in the actor, caught, restart with
//      a live link) followed by one synchronous call. stderr is sent to
//      /dev/null during that phase (one panic line per cycle).
#include "qz_runtime.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

namespace {

enum Tag : int64_t { T_INC, T_GET, T_CRASH };
const char *const kMethod[] = {"inc", "get", "crash"};

struct Msg {  // {tag, reply, result, args...}
  int64_t tag;
  qz_chan *reply;
  int64_t result;
};

struct State {
  int64_t count;
};

struct LoopFrame {
  int state;
  qz_actor *a;
  void *mail;
};

void fail_msg(Msg *m, int64_t status) {
  if (m->reply)
    qz_chan_try_send(m->reply, status);
  else
    free(m);
}

int64_t loop_poll(void *fp, qz_task *self) {
  auto *f = static_cast<LoopFrame *>(fp);
  qz_actor *a = f->a;
  auto *s = static_cast<State *>(qz_actor_state(a));
  int64_t r;
  switch (f->state) {
  case 0:
    if (qz_actor_has_failed(a))
      fail_msg(static_cast<Msg *>(qz_actor_take_failed(a)), 2);
    if (qz_actor_run_mode(a) == QZ_ACTOR_TERMINATING) {
      for (;;) {
        f->state = 1;
        [[fallthrough]];
      case 1:
        r = qz_actor_recv_poll(a, &f->mail, self);
        if (r == QZ_PENDING)
          return QZ_PENDING;
        if (r != QZ_READY)
          break;
        fail_msg(static_cast<Msg *>(f->mail), 3);
      }
    } else {
      s->count = 0;
      for (;;) {
        f->state = 2;
        [[fallthrough]];
      case 2:
        r = qz_actor_recv_poll(a, &f->mail, self);
        if (r == QZ_PENDING)
          return QZ_PENDING;
        if (r != QZ_READY)
          break;
        auto *m = static_cast<Msg *>(f->mail);
        qz_actor_set_current(a, m, kMethod[m->tag]);
        if (m->tag == T_INC)
          ++s->count;
        else if (m->tag == T_GET)
          m->result = s->count;
        else
          qz_panic_str("crash");
        qz_actor_clear_current(a);
        if (m->reply)
          qz_chan_try_send(m->reply, 1);
        else
          free(m);
      }
    }
    qz_actor_finished(a);
    free(f);
    return QZ_READY;
  }
  return QZ_READY;
}

void spawn_loop(qz_actor *a) {
  auto *f = static_cast<LoopFrame *>(calloc(1, sizeof(LoopFrame)));
  f->a = a;
  qz_actor_start(a, loop_poll, f, spawn_loop);
}

qz_actor *new_actor(const char *name) {
  qz_actor *a = qz_actor_create(name, calloc(1, sizeof(State)));
  spawn_loop(a);
  return a;
}

void send(qz_actor *a, int64_t tag) {
  auto *m = static_cast<Msg *>(calloc(1, sizeof(Msg)));
  m->tag = tag;
  if (!qz_actor_send(a, m))
    qz_panic_str("actor is not running");
}

// The .call stub's state: send, then await the reply.
struct Call {
  Msg *m = nullptr;
  int64_t slot = 0;
};
int64_t call_poll(Call *c, qz_actor *a, int64_t *out, qz_task *self) {
  if (!c->m) {
    c->m = static_cast<Msg *>(calloc(1, sizeof(Msg)));
    c->m->tag = T_GET;
    c->m->reply = qz_chan_new(1);
    if (!qz_actor_send(a, c->m))
      qz_panic_str("actor is not running");
  }
  if (qz_chan_recv_poll(c->m->reply, &c->slot, self) == QZ_PENDING)
    return QZ_PENDING;
  qz_chan_free(c->m->reply);
  if (c->slot != 1)
    qz_panic_str("call failed");
  *out = c->m->result;
  free(c->m);
  c->m = nullptr;
  return QZ_READY;
}

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

struct Sender {
  qz_actor *a;
  qz_chan *done;
  int64_t n;
  bool sent;
};
int64_t sender_poll(void *fp, qz_task *self) {
  auto *s = static_cast<Sender *>(fp);
  if (!s->sent) {
    for (int64_t i = 0; i < s->n; ++i)
      send(s->a, T_INC);
    s->sent = true;
  }
  return qz_chan_send_poll(s->done, 1, self) == QZ_PENDING ? QZ_PENDING : QZ_READY;
}

double ns_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
}

struct Main {
  int pc = 0;
  int64_t r = 0, calls = 0, per = 0, cycles = 0, i = 0, v = 0;
  qz_actor *a = nullptr, *b = nullptr, *keeper = nullptr;
  qz_chan *done = nullptr;
  Sender senders[4];
  Call call;
  int saved_err = -1;
  std::chrono::steady_clock::time_point t0;
};

int64_t main_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Main *>(fp);
  CO_BEGIN(f);
  // 1. synchronous call round trip
  f->a = new_actor("Echo");
  for (f->i = 0; f->i < 1000; ++f->i)  // warm-up
    AWAIT(f, call_poll(&f->call, f->a, &f->v, self));
  f->t0 = std::chrono::steady_clock::now();
  for (f->i = 0; f->i < f->calls; ++f->i)
    AWAIT(f, call_poll(&f->call, f->a, &f->v, self));
  printf("actor_rtt: call round trip       %8.1f ns  (%lld calls, workers %lld)\n",
         ns_since(f->t0) / double(f->calls), (long long)f->calls,
         (long long)qz_runtime_workers());
  AWAIT(f, qz_actor_stop_poll(f->a, self));

  // 2. 4 senders -> 1 actor
  f->b = new_actor("Sink");
  f->done = qz_chan_new(4);
  f->t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < 4; ++k) {
    f->senders[k] = Sender{f->b, f->done, f->per, false};
    qz_spawn(sender_poll, &f->senders[k]);
  }
  for (f->i = 0; f->i < 4; ++f->i)
    AWAIT(f, qz_chan_recv_poll(f->done, &f->v, self));
  AWAIT(f, qz_actor_stop_poll(f->b, self));  // returns once all were handled
  {
    double ns = ns_since(f->t0);
    printf("actor_rtt: 4 senders -> 1 actor  %8.2f M msgs/s  (%lld messages, %.1f ns each)\n",
           4.0 * double(f->per) / ns * 1e3, (long long)(4 * f->per), ns / (4.0 * double(f->per)));
  }

  // 3. crash + restart + one call
  f->keeper = new_actor("Keeper");
  f->a = new_actor("Crasher");
  qz_actor_link(f->a, f->keeper);
  fflush(stderr);
  f->saved_err = dup(2);
  {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    close(devnull);
  }
  f->t0 = std::chrono::steady_clock::now();
  for (f->i = 0; f->i < f->cycles; ++f->i) {
    send(f->a, T_CRASH);
    AWAIT(f, call_poll(&f->call, f->a, &f->v, self));
  }
  {
    double ns = ns_since(f->t0);
    fflush(stderr);
    dup2(f->saved_err, 2);
    close(f->saved_err);
    printf("actor_rtt: crash+restart+call    %8.1f ns  (%lld cycles)\n", ns / double(f->cycles),
           (long long)f->cycles);
  }
  AWAIT(f, qz_actor_stop_poll(f->a, self));
  AWAIT(f, qz_actor_stop_poll(f->keeper, self));
  qz_chan_free(f->done);
  qz_task_set_result(self, 0);
  CO_END;
  return QZ_READY;
}

} // namespace

int main(int argc, char **argv) {
  static Main m;
  m.calls = argc > 1 ? atoll(argv[1]) : 200000;
  m.per = argc > 2 ? atoll(argv[2]) : 250000;
  m.cycles = argc > 3 ? atoll(argv[3]) : 20000;
  qz_main(main_poll, &m);
}
