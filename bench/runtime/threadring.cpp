// Thread-ring: 503 tasks in a ring, each with a rendezvous channel, pass a
// token that is decremented at every hop until it reaches 0.
//   qz-bench-threadring [hops=10000000] [ring=503]
#include "qz_runtime.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {
std::chrono::steady_clock::time_point t0;
int64_t g_hops;
qz_chan *g_done;

struct Member {
  int state = 0;
  int64_t id;
  qz_chan *in, *next;
  int64_t token = 0;
};

int64_t member_poll(void *fp, qz_task *self) {
  auto *f = static_cast<Member *>(fp);
  for (;;) {
    switch (f->state) {
    case 0:
      if (qz_chan_recv_poll(f->in, &f->token, self) == QZ_PENDING)
        return QZ_PENDING;
      if (f->token == 0) {
        f->state = 2;
        continue;
      }
      f->state = 1;
      [[fallthrough]];
    case 1:
      if (qz_chan_send_poll(f->next, f->token - 1, self) == QZ_PENDING)
        return QZ_PENDING;
      f->state = 0;
      break;
    case 2:
      if (qz_chan_send_poll(g_done, f->id, self) == QZ_PENDING)
        return QZ_PENDING;
      f->state = 0;
      break;
    }
  }
}

struct Main {
  int state = 0;
  std::vector<Member> ring;
  int64_t winner = 0;
};

int64_t main_poll(void *fp, qz_task *self) {
  auto *m = static_cast<Main *>(fp);
  if (m->state == 0) {
    size_t n = m->ring.size();
    std::vector<qz_chan *> chans(n);
    for (auto &c : chans)
      c = qz_chan_new(0);
    for (size_t i = 0; i < n; ++i) {
      m->ring[i].id = int64_t(i + 1);
      m->ring[i].in = chans[i];
      m->ring[i].next = chans[(i + 1) % n];
      qz_spawn(member_poll, &m->ring[i]);
    }
    t0 = std::chrono::steady_clock::now();
    m->state = 1;
    if (!qz_chan_try_send(chans[0], g_hops)) {
      m->state = 3;
    }
  }
  if (m->state == 3) {  // nobody was receiving yet: a real send
    if (qz_chan_send_poll(m->ring[0].in, g_hops, self) == QZ_PENDING)
      return QZ_PENDING;
    m->state = 1;
  }
  if (qz_chan_recv_poll(g_done, &m->winner, self) == QZ_PENDING)
    return QZ_PENDING;
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  printf("threadring: %lld hops, winner %lld, %.1f ns per hop (workers %lld)\n", (long long)g_hops,
         (long long)m->winner, ns / double(g_hops), (long long)qz_runtime_workers());
  qz_task_set_result(self, 0);
  return QZ_READY;
}
} // namespace

int main(int argc, char **argv) {
  g_hops = argc > 1 ? atoll(argv[1]) : 10000000;
  int64_t n = argc > 2 ? atoll(argv[2]) : 503;
  g_done = qz_chan_new(0);
  static Main m;
  m.ring.resize(size_t(n));
  qz_main(main_poll, &m);
}
