// Channels of Int: bounded, unbounded and rendezvous, MPMC. A party that must
// wait parks its Waiter in the channel's receiver or sender queue; the peer
// that serves it (or close) removes it under the channel lock, hands the value
// over directly, and wakes it. No file descriptor is involved.
#include "internal.h"

#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <vector>

using namespace qzrt;

namespace {

struct WaitQueue {
  Waiter *head = nullptr, *tail = nullptr;
  bool empty() const { return head == nullptr; }
  void push(Waiter *w) {
    w->next = nullptr;
    w->prev = tail;
    if (tail)
      tail->next = w;
    else
      head = w;
    tail = w;
  }
  Waiter *pop() {
    Waiter *w = head;
    if (!w)
      return nullptr;
    head = w->next;
    if (head)
      head->prev = nullptr;
    else
      tail = nullptr;
    w->next = w->prev = nullptr;
    return w;
  }
};

} // namespace

// Reset by qz_run_seeded (sched.cpp) so that every run numbers from 1.
namespace qzrt {
std::atomic<uint64_t> g_next_chan_id{1};
} // namespace qzrt

struct qz_chan {
  SpinLock lock;
  int64_t cap = 0;  // > 0 bounded, 0 rendezvous, < 0 unbounded
  int64_t *buf = nullptr;
  size_t bufcap = 0, head = 0, count = 0;
  bool closed = false;
  WaitQueue recvq, sendq;
  uint64_t id = 0;

  bool has_room() const { return cap < 0 || int64_t(count) < cap; }
  /// Copies the first n (<= count) values, in order, to out: two copies at most.
  void copy_front(int64_t *out, size_t n) const {
    if (n == 0)
      return;
    size_t first = std::min(n, bufcap - head);
    memcpy(out, buf + head, first * sizeof(int64_t));
    if (n > first)
      memcpy(out + first, buf, (n - first) * sizeof(int64_t));
  }
  void push(int64_t v) {
    if (count == bufcap) {  // only unbounded channels grow
      size_t nc = bufcap ? bufcap * 2 : 16;
      int64_t *nb = static_cast<int64_t *>(malloc(nc * sizeof(int64_t)));
      if (!nb)
        fatal("out of memory");
      copy_front(nb, count);
      free(buf);
      buf = nb;
      bufcap = nc;
      head = 0;
    }
    // No division on the hot path: head + count < 2 * bufcap.
    size_t tail = head + count;
    buf[tail >= bufcap ? tail - bufcap : tail] = v;
    ++count;
  }
  int64_t pop() {
    int64_t v = buf[head];
    if (++head == bufcap)
      head = 0;
    --count;
    return v;
  }
  /// Pops up to `max` values into `out`.
  size_t pop_many(int64_t *out, size_t max) {
    size_t n = std::min(max, count);
    copy_front(out, n);
    head += n;
    if (head >= bufcap)
      head -= bufcap;
    count -= n;
    return n;
  }
};

namespace {

// Complete a waiter removed from a queue, under the channel lock. Returns the
// task to wake after unlocking (null for a thread waiter, notified here: the
// thread re-takes the channel lock before its Waiter goes away).
qz_task *complete(Waiter *w, int status) {
  qz_task *t = w->task;  // read before the store: w may be reused after it
  if (!t)
    blocked_waiter_completed(w);
  w->status.store(status, std::memory_order_release);
  if (!t)
    w->status.notify_one();
  return t;
}

void wake(qz_task *t) {
  if (t)
    wake_task(t);
}

// A task re-polled after parking: the outcome of its wait.
int64_t finish_wait(qz_task *self, const qz_chan *ch, uint8_t kind, int64_t *out) {
  if (self->wait_ptr != ch || self->wait_kind != kind)
    fatal("task #%llu re-polled with a different operation than the one it waits on",
          (unsigned long long)self->id);
  int st = self->waiter.status.load(std::memory_order_acquire);
  if (st == WS_WAITING)
    return QZ_PENDING;  // polled without being woken: still parked
  self->armed = false;
  self->wait_kind = W_NONE;
  self->wait_ptr = nullptr;
  if (st == WS_CLOSED)
    return QZ_CLOSED;
  if (out)
    *out = self->waiter.value;
  return QZ_READY;
}

void park(qz_task *self, qz_chan *ch, WaitQueue &q, uint8_t kind, int64_t value) {
  Waiter &w = self->waiter;
  w.task = self;
  w.value = value;
  w.blocked = 0;
  w.status.store(WS_WAITING, std::memory_order_relaxed);
  self->armed = true;
  self->wait_kind = kind;
  self->wait_obj = ch->id;
  self->wait_ptr = ch;
  q.push(&w);
}

// Wait as a thread on a stack Waiter queued in q; the channel is locked.
int block_thread(qz_chan *ch, Waiter &w, uint8_t kind) {
  bool spilled = enter_blocking(&w, kind, ch->id);
  ch->lock.unlock();
  if (spilled)
    kick_idle();
  while (w.status.load(std::memory_order_acquire) == WS_WAITING)
    w.status.wait(WS_WAITING, std::memory_order_acquire);
  ch->lock.lock();  // the completer notifies under the lock: wait for it
  ch->lock.unlock();
  leave_blocking();
  return w.status.load(std::memory_order_relaxed);
}

// The non-waiting part of send. READY, CLOSED, or PENDING (lock still held).
int64_t try_send_locked(qz_chan *ch, int64_t value, qz_task **to_wake) {
  if (ch->closed)
    return QZ_CLOSED;
  if (Waiter *r = ch->recvq.pop()) {  // a receiver waits: the buffer is empty
    r->value = value;
    *to_wake = complete(r, WS_DONE);
    return QZ_READY;
  }
  if (ch->has_room()) {
    ch->push(value);
    return QZ_READY;
  }
  return QZ_PENDING;
}

// The non-waiting part of recv. READY (*out set), CLOSED, or PENDING.
int64_t try_recv_locked(qz_chan *ch, int64_t *out, qz_task **to_wake) {
  if (ch->count > 0) {
    *out = ch->pop();
    if (Waiter *s = ch->sendq.pop()) {  // room now: take a parked sender's value
      ch->push(s->value);
      *to_wake = complete(s, WS_DONE);
    }
    return QZ_READY;
  }
  if (Waiter *s = ch->sendq.pop()) {  // rendezvous: straight from the sender
    *out = s->value;
    *to_wake = complete(s, WS_DONE);
    return QZ_READY;
  }
  if (ch->closed)
    return QZ_CLOSED;
  return QZ_PENDING;
}

} // namespace

// Actor mailboxes (actor.cpp): send that neither waits nor panics.
bool qzrt::chan_offer(qz_chan *ch, int64_t value, size_t *depth, bool *contended) {
  qz_task *to_wake = nullptr;
  if (contended) {
    *contended = !ch->lock.try_lock();
    if (*contended)
      ch->lock.lock();
  } else {
    ch->lock.lock();
  }
  int64_t r = try_send_locked(ch, value, &to_wake);
  if (depth)
    *depth = ch->count;
  ch->lock.unlock();
  wake(to_wake);
  return r == QZ_READY;
}

size_t qzrt::chan_take(qz_chan *ch, int64_t *out, size_t max) {
  size_t n = 0;
  ch->lock.lock();
  if (!ch->sendq.head && ch->count > 0)
    n = ch->pop_many(out, max);
  ch->lock.unlock();
  return n;
}

extern "C" {

qz_chan *qz_chan_new(int64_t cap) {
  qz_chan *ch = new qz_chan;
  ch->cap = cap < 0 ? -1 : cap;
  ch->id = g_next_chan_id.fetch_add(1, std::memory_order_relaxed);
  if (cap > 0) {
    ch->bufcap = size_t(cap);
    ch->buf = static_cast<int64_t *>(malloc(ch->bufcap * sizeof(int64_t)));
    if (!ch->buf)
      fatal("out of memory");
  }
  return ch;
}

void qz_chan_free(qz_chan *ch) {
  if (!ch)
    return;
  free(ch->buf);
  delete ch;
}

int64_t qz_chan_send_poll(qz_chan *ch, int64_t value, qz_task *self) {
  if (self->armed)
    return finish_wait(self, ch, W_SEND, nullptr);
  qz_task *to_wake = nullptr;
  ch->lock.lock();
  int64_t r = try_send_locked(ch, value, &to_wake);
  if (r == QZ_PENDING)
    park(self, ch, ch->sendq, W_SEND, value);
  ch->lock.unlock();
  wake(to_wake);
  return r;
}

int64_t qz_chan_recv_poll(qz_chan *ch, int64_t *out, qz_task *self) {
  if (self->armed)
    return finish_wait(self, ch, W_RECV, out);
  qz_task *to_wake = nullptr;
  ch->lock.lock();
  int64_t r = try_recv_locked(ch, out, &to_wake);
  if (r == QZ_PENDING)
    park(self, ch, ch->recvq, W_RECV, 0);
  ch->lock.unlock();
  wake(to_wake);
  return r;
}

void qz_chan_send(qz_chan *ch, int64_t value) {
  qz_task *to_wake = nullptr;
  ch->lock.lock();
  int64_t r = try_send_locked(ch, value, &to_wake);
  if (r == QZ_PENDING) {
    Waiter w;
    w.value = value;
    ch->sendq.push(&w);
    r = block_thread(ch, w, W_SEND) == WS_DONE ? QZ_READY : QZ_CLOSED;
  } else {
    ch->lock.unlock();
    wake(to_wake);
  }
  if (r == QZ_CLOSED)
    qz_panic_str("send on closed channel");
}

bool qz_chan_recv(qz_chan *ch, int64_t *out) {
  qz_task *to_wake = nullptr;
  ch->lock.lock();
  int64_t r = try_recv_locked(ch, out, &to_wake);
  if (r == QZ_PENDING) {
    Waiter w;
    ch->recvq.push(&w);
    if (block_thread(ch, w, W_RECV) != WS_DONE)
      return false;
    *out = w.value;
    return true;
  }
  ch->lock.unlock();
  wake(to_wake);
  return r == QZ_READY;
}

bool qz_chan_try_recv(qz_chan *ch, int64_t *out) {
  qz_task *to_wake = nullptr;
  ch->lock.lock();
  int64_t r = try_recv_locked(ch, out, &to_wake);
  ch->lock.unlock();
  wake(to_wake);
  return r == QZ_READY;
}

bool qz_chan_try_send(qz_chan *ch, int64_t value) {
  qz_task *to_wake = nullptr;
  ch->lock.lock();
  int64_t r = try_send_locked(ch, value, &to_wake);
  ch->lock.unlock();
  wake(to_wake);
  if (r == QZ_CLOSED)
    qz_panic_str("send on closed channel");
  return r == QZ_READY;
}

void qz_chan_close(qz_chan *ch) {
  std::vector<qz_task *> to_wake;
  ch->lock.lock();
  if (!ch->closed) {
    ch->closed = true;
    // Parked receivers exist only while the buffer is empty: they get None.
    while (Waiter *w = ch->recvq.pop())
      if (qz_task *t = complete(w, WS_CLOSED))
        to_wake.push_back(t);
    while (Waiter *w = ch->sendq.pop())
      if (qz_task *t = complete(w, WS_CLOSED))
        to_wake.push_back(t);
  }
  ch->lock.unlock();
  for (qz_task *t : to_wake)
    wake_task(t);
}

int64_t qz_chan_len(qz_chan *ch) {
  ch->lock.lock();
  int64_t n = int64_t(ch->count);
  ch->lock.unlock();
  return n;
}

} // extern "C"
