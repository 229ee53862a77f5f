// Skynet: a tree of tasks, 10 children each, down to 1,000,000 leaves
// (1,111,111 tasks); every task sends the sum of its subtree to its parent on
// a rendezvous channel (as the Go version's unbuffered channels).
//   qz-bench-skynet [leaves=1000000]
#include "qz_runtime.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {
std::chrono::steady_clock::time_point t0;

struct Sky {
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
        qz_spawn(sky_poll, new Sky{0, f->mine, f->num + k * (f->size / 10), f->size / 10});
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
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      int64_t n = f->size;
      printf("skynet: sum %lld (%s), %.3f s (workers %lld)\n", (long long)f->sum,
             f->sum == n * (n - 1) / 2 ? "ok" : "WRONG", s, (long long)qz_runtime_workers());
      qz_task_set_result(self, f->sum == n * (n - 1) / 2 ? 0 : 1);
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
} // namespace

int main(int argc, char **argv) {
  int64_t leaves = argc > 1 ? atoll(argv[1]) : 1000000;
  t0 = std::chrono::steady_clock::now();
  qz_main(sky_poll, new Sky{0, nullptr, 0, leaves});
}
