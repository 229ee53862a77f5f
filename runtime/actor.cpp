// Actors: the runtime half of the code that actor-lower generates (message
// loop, stubs). An actor is a mailbox (an unbounded channel of message
// pointers, so the channel's receiver waiter queue parks the loop task and
// nothing is signalled through a file descriptor), a status, links, the
// message being handled, the failed message of the last panic, the mode of
// the current run and a queue of stop waiters. Its loop task is polled under
// a panic catcher: qz_panic_* on that thread longjmps back to actor_poll,
// which ends the task and restarts the loop. docs/runtime.md ("Actors")
// describes the protocols.
#include "internal.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <setjmp.h>
#include <vector>

using namespace qzrt;

namespace {

enum ActorStatus : int {
  A_RUNNING = QZ_ACTOR_RUNNING,
  A_STOPPING = QZ_ACTOR_STOPPING,
  A_STOPPED = QZ_ACTOR_STOPPED,
  A_TERMINATED = QZ_ACTOR_TERMINATED,
};

} // namespace

struct qz_actor {
  SpinLock lock;  // status changes, links, failed, mode, stop waiters
  const char *name = nullptr;
  void *state = nullptr;
  uint64_t id = 0;
  qz_chan *mbox = nullptr;             // unbounded; closed when not running
  std::atomic<int> status{A_RUNNING};  // written under lock, read anywhere
  std::vector<qz_actor *> links;       // under lock
  void *failed = nullptr;              // under lock
  int64_t mode = QZ_ACTOR_FRESH;       // under lock
  Waiter *stop_head = nullptr, *stop_tail = nullptr;  // under lock
  std::atomic<void (*)(qz_actor *)> restart{nullptr};
  // Only the loop task touches these (and its catcher, on the same thread;
  // a restarted loop runs after its predecessor's catcher spawned it).
  void *cur_msg = nullptr;
  const char *cur_method = nullptr;
  std::atomic<int> send_worker{-1};  // the worker of the last send
  std::atomic<int> loop_worker{-1};  // the worker that last polled the loop
  // Messages the loop already took from the mailbox, in order: a receive
  // takes up to kMailBatch at once, so the loop locks the mailbox once per
  // batch instead of once per message (senders contend for that lock).
  // Logically still in the mailbox: served before anything newer.
  static constexpr unsigned kMailBatch = 64;
  int64_t mail[kMailBatch];
  unsigned mail_head = 0, mail_count = 0;
  qz_actor *all_next = nullptr;  // the list of every actor (never freed)
};

namespace {

std::atomic<uint64_t> g_next_actor_id{1};
// Every actor ever created: they are never freed, and this keeps them (and
// the messages in their mailboxes) reachable for leak checkers and debuggers.
std::atomic<qz_actor *> g_actors{nullptr};

// The catcher of the actor loop task this thread is polling.
struct Catch {
  sigjmp_buf env;
  qz_task *task;
};
thread_local Catch *tl_catch = nullptr;

// Where actor panic lines go (qz_actor_set_panic_output); null: stderr.
std::atomic<FILE *> g_panic_out{nullptr};

// A panicked poll: bookkeeping, free the frame, start a fresh loop. Returns
// QZ_READY, which ends the old task like a normal return.
[[gnu::noinline]] int64_t after_panic(qz_task *t) {
  qz_actor *a = t->actor;
  if (t->armed)  // generated code returns PENDING right after parking
    fatal("actor %s panicked while its task was parked (task #%llu)", a->name,
          (unsigned long long)t->id);
  t->yielded = false;
  t->wait_kind = W_NONE;
  qz_actor_panicked(a);
  qz_free(t->frame);
  t->frame = nullptr;
  void (*restart)(qz_actor *) = a->restart.load(std::memory_order_acquire);
  if (!restart)
    fatal("actor %s has no restart function", a->name);
  // The fresh loop is spawned while the old task still counts as live, so
  // the deadlock detector never sees the actor without a task.
  restart(a);
  return QZ_READY;
}

void push_stop_waiter(qz_actor *a, Waiter *w) {
  w->next = nullptr;
  w->prev = a->stop_tail;
  if (a->stop_tail)
    a->stop_tail->next = w;
  else
    a->stop_head = w;
  a->stop_tail = w;
}

} // namespace

namespace qzrt {

int64_t actor_poll(qz_task *t) {
  Catch c;
  c.task = t;
  Catch *outer = tl_catch;  // null: polls do not nest
  tl_catch = &c;
  int me = current_worker();
  if (t->actor->loop_worker.load(std::memory_order_relaxed) != me)
    t->actor->loop_worker.store(me, std::memory_order_relaxed);
  if (sigsetjmp(c.env, 0) == 0) {
    int64_t r = t->poll(t->frame, t);
    tl_catch = outer;
    return r;
  }
  // Back from actor_catch_panic (which already cleared tl_catch).
  tl_catch = outer;
  return after_panic(c.task);
}

void actor_catch_panic(const char *msg, const char *file, int64_t line, int64_t col) {
  Catch *c = tl_catch;
  if (!c)
    return;
  tl_catch = nullptr;  // a panic from here on is not caught again
  qz_actor *a = c->task->actor;
  char where[160] = "";
  if (file)
    snprintf(where, sizeof where, " at %s:%" PRId64 ":%" PRId64, file, line, col);
  FILE *out = g_panic_out.load(std::memory_order_acquire);
  if (!out)
    out = stderr;
  fflush(stdout);
  // One fprintf per line: concurrent panics of several actors do not mix.
  if (const char *m = a->cur_method)
    fprintf(out, "actor %s panicked in %s(): %s%s\n", a->name, m, msg, where);
  else
    fprintf(out, "actor %s panicked: %s%s\n", a->name, msg, where);
  fflush(out);
  siglongjmp(c->env, 1);
}

bool actor_describe_wait(const qz_task *t, const char *who, char *buf, size_t n) {
  if (t->wait_kind == W_STOP) {
    auto *a = static_cast<const qz_actor *>(t->wait_ptr);
    snprintf(buf, n, "%s waits for stop of actor %s", who, a->name);
    return true;
  }
  if (t->actor && t->wait_kind == W_RECV && t->wait_ptr == t->actor->mbox) {
    snprintf(buf, n, "%s waits for mail", who);
    return true;
  }
  return false;
}

} // namespace qzrt

extern "C" {

qz_actor *qz_actor_create(const char *name, void *state) {
  auto *a = new qz_actor;
  a->name = name ? name : "?";
  a->state = state;
  a->id = g_next_actor_id.fetch_add(1, std::memory_order_relaxed);
  a->mbox = qz_chan_new(QZ_CHAN_UNBOUNDED);
  qz_actor *head = g_actors.load(std::memory_order_relaxed);
  do
    a->all_next = head;
  while (!g_actors.compare_exchange_weak(head, a, std::memory_order_release,
                                         std::memory_order_relaxed));
  return a;
}

void *qz_actor_state(qz_actor *a) { return a->state; }

qz_task *qz_actor_start(qz_actor *a, qz_poll_fn poll, void *frame, void (*restart)(qz_actor *)) {
  a->restart.store(restart, std::memory_order_release);
  return spawn_actor_task(poll, frame, a->name, a);
}

int64_t qz_actor_panicked(qz_actor *a) {
  a->lock.lock();
  // The message being handled is dropped: the next run fails it (a
  // synchronous caller gets status 2). A panic between messages has none.
  if (a->cur_msg)
    a->failed = a->cur_msg;
  a->cur_msg = nullptr;
  a->cur_method = nullptr;
  int st = a->status.load(std::memory_order_relaxed);
  bool live = false;
  for (qz_actor *l : a->links)
    if (l->status.load(std::memory_order_acquire) == A_RUNNING)
      live = true;
  bool close = false;
  if ((st == A_RUNNING || st == A_STOPPING) && live) {
    a->mode = QZ_ACTOR_RESTARTED;  // running (or stopping) as before
  } else {
    if (st == A_RUNNING || st == A_STOPPING) {
      a->status.store(A_TERMINATED, std::memory_order_release);
      close = st == A_RUNNING;  // a stop already closed it
    }
    a->mode = QZ_ACTOR_TERMINATING;
  }
  int64_t mode = a->mode;
  a->lock.unlock();
  // Closed outside the actor lock: sends that got in before still count as
  // sent before the termination and are failed by the draining loop.
  if (close)
    qz_chan_close(a->mbox);
  return mode;
}

int64_t qz_actor_run_mode(qz_actor *a) {
  a->lock.lock();
  int64_t m = a->mode;
  a->lock.unlock();
  return m;
}

bool qz_actor_has_failed(qz_actor *a) {
  a->lock.lock();
  bool r = a->failed != nullptr;
  a->lock.unlock();
  return r;
}

void *qz_actor_take_failed(qz_actor *a) {
  a->lock.lock();
  void *m = a->failed;
  a->failed = nullptr;
  a->lock.unlock();
  return m;
}

void qz_actor_set_current(qz_actor *a, void *msg, const char *method) {
  a->cur_msg = msg;
  a->cur_method = method;
}

void qz_actor_clear_current(qz_actor *a) {
  a->cur_msg = nullptr;
  a->cur_method = nullptr;
}

const char *qz_actor_current_method(qz_actor *a) { return a->cur_method; }

bool qz_actor_send(qz_actor *a, void *msg) {
  // The mailbox's closed flag decides, under the channel lock: a send either
  // gets in before the close (and is handled, or failed by a draining loop)
  // or fails.
  return chan_offer(a->mbox, int64_t(reinterpret_cast<intptr_t>(msg)));
}

namespace {
// A sender worth moving beside the actor's loop mostly talks: the loop
// handles a message in ~15 ns, and a cache-line transfer between cores costs
// 50-300 ns here (more while the machine is in a slow phase), so a sender
// that computes for longer than that between sends is better off computing
// in parallel, transfer and all. Either sign counts, measured since the
// task's previous contended send:
// - it sent at least one message per kTalkerGapNs of its own running time
//   (estimated: wall time shared with the tasks queued on its worker);
// - it collided again within kTalkerSends sends, sending at least one
//   message per 4 * kTalkerGapNs (collisions come often when transfers are
//   slow, which is when moving pays most, and slow transfers make the
//   sender's own time look longer than it is).
constexpr uint64_t kTalkerGapNs = 250;
constexpr uint64_t kTalkerSends = 8;

bool talks_more_than_computes(qz_task *self) {
  uint64_t now = qzrt::now_ns();
  uint64_t elapsed = now - self->mark_ns, sent = self->sends - self->mark_sends;
  uint64_t sharing = 1 + qzrt::current_queue_length();
  uint64_t own_gap_ns = elapsed / std::max<uint64_t>(1, sent * sharing);
  bool talker = self->mark_ns && (own_gap_ns <= kTalkerGapNs ||
                                  (sent <= kTalkerSends && own_gap_ns <= 4 * kTalkerGapNs));
  self->mark_ns = now;
  self->mark_sends = self->sends;
  return talker;
}
} // namespace

int64_t qz_actor_send_poll(qz_actor *a, void *msg, qz_task *self) {
  if (self && self->yielded)  // the yield after a deep send: already sent
    return qz_yield_poll(self);  // ends the yield: READY
  size_t depth = 0;
  bool contended = false;
  if (!chan_offer(a->mbox, int64_t(reinterpret_cast<intptr_t>(msg)), &depth, &contended))
    return QZ_CLOSED;
  // A sender that collides on the mailbox lock with a party on another
  // worker pays a cache-line transfer per message: if it mostly talks, it
  // moves to the worker that runs the actor's loop (or, failing that, to the
  // other sender's), so a busy mailbox and its senders share a core and its
  // cache.
  int me = current_worker();
  int last = a->send_worker.load(std::memory_order_relaxed);
  if (last != me)
    a->send_worker.store(me, std::memory_order_relaxed);
  if (self)
    ++self->sends;
  if (contended && self && self->actor != a && talks_more_than_computes(self)) {
    int loop = a->loop_worker.load(std::memory_order_relaxed);
    // Already beside the loop: stay (the other sender will come here).
    if (loop != me && (move_to_worker(self, loop) || move_to_worker(self, last)))
      return QZ_PENDING;
  }
  // The actor's own loop is the one that drains: it never paces itself.
  if (!self || depth <= QZ_ACTOR_PACE_DEPTH || self->actor == a)
    return QZ_READY;
  return qz_yield_poll(self);
}

int64_t qz_actor_recv_poll(qz_actor *a, void **out, qz_task *self) {
  if (a->mail_head < a->mail_count) {
    *out = reinterpret_cast<void *>(intptr_t(a->mail[a->mail_head++]));
    return QZ_READY;
  }
  // One lock for a whole batch when mail is waiting; the channel's own
  // receive parks the loop (or reports CLOSED) when there is none.
  if (!self || !self->armed) {
    if (size_t n = chan_take(a->mbox, a->mail, qz_actor::kMailBatch)) {
      *out = reinterpret_cast<void *>(intptr_t(a->mail[0]));
      a->mail_head = 1;
      a->mail_count = unsigned(n);
      return QZ_READY;
    }
  }
  int64_t v = 0;
  int64_t r = qz_chan_recv_poll(a->mbox, &v, self);
  if (r == QZ_READY) {
    *out = reinterpret_cast<void *>(intptr_t(v));
    a->mail_head = 0;
    a->mail_count = unsigned(chan_take(a->mbox, a->mail, qz_actor::kMailBatch));
  }
  return r;
}

int64_t qz_actor_stop_poll(qz_actor *a, qz_task *self) {
  if (!self)
    fatal("qz_actor_stop_poll outside a task");
  if (self->armed) {  // polled again after parking as a stop waiter
    if (self->wait_kind != W_STOP || self->wait_ptr != a)
      fatal("task #%llu re-polled with a different operation than the one it waits on",
            (unsigned long long)self->id);
    if (self->waiter.status.load(std::memory_order_acquire) == WS_WAITING)
      return QZ_PENDING;  // polled without being woken: still parked
    self->armed = false;
    self->wait_kind = W_NONE;
    self->wait_ptr = nullptr;
    return QZ_READY;
  }
  a->lock.lock();
  if (a->status.load(std::memory_order_relaxed) != A_RUNNING) {
    a->lock.unlock();
    return QZ_CLOSED;
  }
  a->status.store(A_STOPPING, std::memory_order_release);
  Waiter &w = self->waiter;
  w.task = self;
  w.value = 0;
  w.blocked = 0;
  w.status.store(WS_WAITING, std::memory_order_relaxed);
  self->armed = true;
  self->wait_kind = W_STOP;
  self->wait_obj = a->id;
  self->wait_ptr = a;
  push_stop_waiter(a, &w);
  a->lock.unlock();
  // The loop cannot finish before this close (it ends only on CLOSED), so
  // the waiter queued above is there when qz_actor_finished runs.
  qz_chan_close(a->mbox);
  return QZ_PENDING;
}

void qz_actor_finished(qz_actor *a) {
  std::vector<qz_task *> to_wake;
  a->lock.lock();
  if (a->status.load(std::memory_order_relaxed) != A_TERMINATED)
    a->status.store(A_STOPPED, std::memory_order_release);
  // Each waiter leaves the queue once, here, under the lock: one wake each.
  while (Waiter *w = a->stop_head) {
    a->stop_head = w->next;
    w->next = w->prev = nullptr;
    qz_task *t = w->task;  // read before the store: w may be reused after it
    qz_task_retain(t);     // t may finish as soon as it sees WS_DONE
    to_wake.push_back(t);
    w->status.store(WS_DONE, std::memory_order_release);
  }
  a->stop_tail = nullptr;
  a->lock.unlock();
  for (qz_task *t : to_wake) {
    wake_task(t);
    qz_task_release(t);
  }
}

void qz_actor_link(qz_actor *a, qz_actor *b) {
  if (a == b)
    return;
  qz_actor *first = a->id < b->id ? a : b, *second = first == a ? b : a;
  first->lock.lock();
  second->lock.lock();
  bool present = false;
  for (qz_actor *l : a->links)
    present |= l == b;
  if (!present) {
    a->links.push_back(b);
    b->links.push_back(a);
  }
  second->lock.unlock();
  first->lock.unlock();
}

int64_t qz_actor_status(qz_actor *a) { return a->status.load(std::memory_order_acquire); }

void qz_actor_set_panic_output(void *file) {
  g_panic_out.store(static_cast<FILE *>(file), std::memory_order_release);
}

} // extern "C"
