// Ping-pong: two tasks exchange a counter through two channels.
//   qz-bench-pingpong [round_trips=1000000] [capacity=0]
// Prints the time per round trip measured inside the program; run.sh also
// takes the whole-process wall time.
#include "qz_runtime.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {
struct Pong {
  int state = 0;
  qz_chan *in, *out;
  int64_t v = 0;
};

int64_t pong_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Pong *>(fp);
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

struct Ping {
  int state = 0;
  qz_chan *out, *in;
  int64_t n, i = 0, v = 0;
  Pong pong;
  std::chrono::steady_clock::time_point t0;
};

int64_t ping_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Ping *>(fp);
  switch (f->state) {
  case 0:
    f->t0 = std::chrono::steady_clock::now();
    f->pong.in = f->out;
    f->pong.out = f->in;
    qz_spawn(pong_poll, &f->pong);
    for (f->i = 0; f->i < f->n; ++f->i) {
      f->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_chan_send_poll(f->out, f->i, self) == QZ_PENDING)
        return QZ_PENDING;
      f->state = 2;
      [[fallthrough]];
    case 2:
      if (qz_chan_recv_poll(f->in, &f->v, self) == QZ_PENDING)
        return QZ_PENDING;
      if (f->v != f->i + 1)
        qz_panic_str("wrong value");
    }
  }
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - f->t0).count();
  printf("pingpong: %lld round trips, %.1f ns per round trip (workers %lld)\n", (long long)f->n,
         ns / double(f->n), (long long)qz_runtime_workers());
  qz_task_set_result(self, 0);
  return QZ_READY;
}
} // namespace

int main(int argc, char **argv) {
  static Ping p;
  p.n = argc > 1 ? atoll(argv[1]) : 1000000;
  int64_t cap = argc > 2 ? atoll(argv[2]) : 0;
  p.out = qz_chan_new(cap);
  p.in = qz_chan_new(cap);
  qz_main(ping_poll, &p);
}
