// Scheduler: worker threads with local run queues, a LIFO "runnext" slot,
// work stealing, a global injection queue, spinning before parking, the task
// state machine, the registry of live tasks and the deadlock detector; and the
// deterministic mode (qz_run_seeded), which polls the same tasks one at a
// time on the calling thread in an order drawn from a seeded PRNG.
// docs/runtime.md describes the design and the protocols.
#include "internal.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <linux/futex.h>
#include <string>
#include <sched.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace qzrt {

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

void SpinLock::lock() {
  for (unsigned spins = 0;; ++spins) {
    if (!locked_.exchange(true, std::memory_order_acquire))
      return;
    while (locked_.load(std::memory_order_relaxed)) {
      if (++spins < 200)
        cpu_relax();
      else
        sched_yield();
    }
  }
}

void fatal(const char *fmt, ...) {
  fflush(stdout);
  va_list ap;
  va_start(ap, fmt);
  fputs("qz runtime: internal error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fflush(stderr);
  abort();
}

extern std::atomic<uint64_t> g_next_chan_id; // chan.cpp

namespace {

void futex_wait(std::atomic<uint32_t> *w, uint32_t val) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(w), FUTEX_WAIT_PRIVATE, val, nullptr,
          nullptr, 0);
}
void futex_wait_for(std::atomic<uint32_t> *w, uint32_t val, uint64_t ns) {
  timespec ts{time_t(ns / 1000000000u), long(ns % 1000000000u)};
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(w), FUTEX_WAIT_PRIVATE, val, &ts,
          nullptr, 0);
}
void futex_wake(std::atomic<uint32_t> *w) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(w), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

constexpr unsigned kLocalCap = 256;  // local run queue ring size
constexpr unsigned kRunnextStreak = 32;  // runnext picks before checking the queue
constexpr uint64_t kSpinNs = 50000;   // spin this long before parking
constexpr uint64_t kStallNs = 20000;  // a worker in one poll this long loses runnext
// How long a moved task stays put (move_to_worker): kStickyNs after a first
// move, doubled (up to kStickyMaxNs) each time it is moved again soon after
// the last one, i.e. each time it was taken back to another core and at once
// collided there again. A worker that leaves sticky tasks behind parks only
// until the first of them may be stolen (Worker::sticky_retry_at), so a task
// that stops talking gets a core of its own back within kStickyMaxNs.
constexpr uint64_t kStickyNs = 25000;
constexpr uint64_t kStickyMaxNs = 1600000;
constexpr unsigned kShards = 64;

struct Sched;

struct alignas(64) Worker {
  Sched *sched = nullptr;
  unsigned index = 0;
  std::atomic<qz_task *> runnext{nullptr};
  SpinLock qlock;
  qz_task *ring[kLocalCap];
  unsigned head = 0, count = 0;  // under qlock
  std::atomic<unsigned> qsize{0};
  std::atomic<uint64_t> polls{0};     // bumped at every poll (stall detection)
  std::atomic<bool> in_poll{false};
  std::atomic<uint32_t> wakeup{0};    // futex word for parking
  bool blocked = false;               // in a blocking-form operation (under sched->mu)
  uint64_t sticky_retry_at = 0;       // the earliest expiry of a sticky task it left
  unsigned tick = 0, streak = 0;
  uint32_t rng = 0;
  std::thread thread;
};

struct alignas(64) Shard {
  SpinLock lock;
  qz_task *head = nullptr;
};

struct Sched {
  bool det = false;  // deterministic mode: no workers, see det_loop
  unsigned nworkers = 0;
  Worker *workers = nullptr;
  Poller *poller = nullptr;

  std::mutex mu;  // global queue, idle list, blocked counts
  std::deque<qz_task *> gq;
  std::atomic<size_t> gq_len{0};
  std::vector<Worker *> idle;
  std::atomic<int> nidle{0};
  std::atomic<int> nspinning{0};
  int nblocked_workers = 0;  // under mu
  int nblocked_threads = 0;  // under mu (workers included)
  std::atomic<int64_t> pending{0};  // timers + I/O waits + external refs
  std::atomic<int64_t> live{0};     // tasks not DONE
  std::atomic<bool> stopping{false};
  std::atomic<bool> exiting{false};
  bool exit_process = false;  // qz_main: exit when main finishes

  std::atomic<uint64_t> next_id{1};
  Shard shards[kShards];

  qz_task *main_task = nullptr;
  std::atomic<uint32_t> main_done{0};  // futex word for qz_run's thread
  int64_t main_result = 0;

  // Deterministic mode. The run queue belongs to the scheduler thread; other
  // threads (foreign wakes and spawns) append to the inbox, merged at the
  // next pick.
  std::vector<qz_task *> det_runq;
  std::mutex det_mu;
  std::vector<qz_task *> det_inbox;  // under det_mu
  std::atomic<bool> det_inbox_full{false};
  uint64_t det_rng = 0;  // splitmix64 state
};

std::atomic<Sched *> g_sched{nullptr};
// External references outlive a scheduler run (a thread may take one before
// qz_run starts the scheduler).
std::atomic<int64_t> g_external_refs{0};
// Threads that touch a scheduler they do not run in (foreign threads, the
// poller thread) count themselves here while they use it; a stopping
// scheduler waits for the count to drop before it frees the Sched.
std::atomic<int64_t> g_sched_users{0};
thread_local Worker *tl_worker = nullptr;
thread_local qz_task *tl_current = nullptr;
thread_local Sched *tl_det = nullptr;  // the deterministic scheduler's thread

// The running scheduler, pinned for the lifetime of this object. A worker or
// the deterministic scheduler's thread uses its own (alive while it runs);
// any other thread is counted in g_sched_users (seq_cst on both sides: the
// stopper stores null then reads the count, a user counts then reads
// g_sched, so one of them sees the other).
class SchedRef {
  Sched *s_;
  bool counted_ = false;

public:
  SchedRef() {
    if (Worker *w = tl_worker) {
      s_ = w->sched;
    } else if (tl_det) {
      s_ = tl_det;
    } else {
      counted_ = true;
      g_sched_users.fetch_add(1, std::memory_order_seq_cst);
      s_ = g_sched.load(std::memory_order_seq_cst);
    }
  }
  ~SchedRef() {
    if (counted_)
      g_sched_users.fetch_sub(1, std::memory_order_release);
  }
  SchedRef(const SchedRef &) = delete;
  SchedRef &operator=(const SchedRef &) = delete;
  Sched *get() const { return s_; }
};

void release_abandoned(Sched *s);

// Free a stopped scheduler (its workers and poller thread already joined):
// unpublish it, wait until no other thread uses it (a foreign wake may still
// be queueing a task or notifying the poller), then free the poller, the
// runtime's references to the tasks still suspended, and the Sched.
void retire_sched(Sched *s) {
  g_sched.store(nullptr, std::memory_order_seq_cst);
  while (g_sched_users.load(std::memory_order_seq_cst) != 0)
    sched_yield();
  delete s->poller;
  release_abandoned(s);
  delete[] s->workers;
  delete s;
}

// ---- global queue (under mu) ----
// A ring of pointers (not a list through the tasks: moving a batch must not
// touch every task's cache line).
void gq_push_locked(Sched &s, qz_task *t) {
  s.gq.push_back(t);
  s.gq_len.store(s.gq.size(), std::memory_order_relaxed);
}
qz_task *gq_pop_locked(Sched &s) {
  if (s.gq.empty())
    return nullptr;
  qz_task *t = s.gq.front();
  s.gq.pop_front();
  s.gq_len.store(s.gq.size(), std::memory_order_relaxed);
  return t;
}

void unpark(Worker *w) {
  w->wakeup.store(1, std::memory_order_release);
  futex_wake(&w->wakeup);
}

// Wake a parked worker if nobody is spinning (a spinner will find the work).
void notify_idle(Sched &s) {
  if (s.nspinning.load(std::memory_order_seq_cst) != 0 ||
      s.nidle.load(std::memory_order_seq_cst) == 0)
    return;
  Worker *w = nullptr;
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (s.idle.empty() || s.nspinning.load() != 0)
      return;
    w = s.idle.back();
    s.idle.pop_back();
    s.nidle.fetch_sub(1);
    s.nspinning.fetch_add(1);  // it starts out spinning
  }
  unpark(w);
}

void gq_push(Sched &s, qz_task *t) {
  {
    std::lock_guard<std::mutex> g(s.mu);
    gq_push_locked(s, t);
  }
  notify_idle(s);
}

// ---- local queue ----
// Appends t to w's ring (w.qlock held); false if the ring is full.
bool ring_push_locked(Worker &w, qz_task *t) {
  if (w.count == kLocalCap)
    return false;
  w.ring[(w.head + w.count) % kLocalCap] = t;
  ++w.count;
  w.qsize.store(w.count, std::memory_order_relaxed);
  return true;
}

void local_push(Worker &w, qz_task *t) {
  w.qlock.lock();
  if (ring_push_locked(w, t)) {
    w.qlock.unlock();
    return;
  }
  // Full: move half of it and t to the global queue.
  qz_task *batch[kLocalCap / 2 + 1];
  unsigned n = 0;
  for (; n < kLocalCap / 2; ++n) {
    batch[n] = w.ring[w.head];
    batch[n]->sticky = false;  // where it lands next is not beside its peers
    w.head = (w.head + 1) % kLocalCap;
  }
  w.count -= n;
  w.qsize.store(w.count, std::memory_order_relaxed);
  w.qlock.unlock();
  batch[n++] = t;
  Sched &s = *w.sched;
  {
    std::lock_guard<std::mutex> g(s.mu);
    for (unsigned i = 0; i < n; ++i)
      gq_push_locked(s, batch[i]);
  }
}

// Takes w off the idle list (s.mu held), counted as spinning from now on, as
// an unparked worker starts out; false if it was not on the list.
bool leave_idle_list_locked(Sched &s, Worker &w) {
  for (size_t i = 0; i < s.idle.size(); ++i) {
    if (s.idle[i] != &w)
      continue;
    s.idle.erase(s.idle.begin() + long(i));
    s.nidle.fetch_sub(1);
    s.nspinning.fetch_add(1);
    return true;
  }
  return false;
}

// local_push onto another worker's queue. That worker may be about to park:
// it re-checks its queue after joining the idle list (under s.mu), and this
// wakes it if it is on the list, so the task is never left behind.
void remote_push(Worker &w, qz_task *t) {
  Sched &s = *w.sched;
  std::unique_lock<std::mutex> g(s.mu);
  if (w.blocked) {  // its queue was spilled and nothing would run it
    t->sticky = false;
    gq_push_locked(s, t);
    g.unlock();
    notify_idle(s);
    return;
  }
  w.qlock.lock();  // s.mu then qlock, as in spill_locked and gq_take
  bool pushed = ring_push_locked(w, t);
  w.qlock.unlock();
  if (!pushed) {
    t->sticky = false;
    gq_push_locked(s, t);
  }
  if (leave_idle_list_locked(s, w))
    unpark(&w);
}

qz_task *local_pop(Worker &w) {
  if (w.qsize.load(std::memory_order_relaxed) == 0)
    return nullptr;
  w.qlock.lock();
  qz_task *t = nullptr;
  if (w.count) {
    t = w.ring[w.head];
    w.head = (w.head + 1) % kLocalCap;
    --w.count;
    w.qsize.store(w.count, std::memory_order_relaxed);
  }
  w.qlock.unlock();
  return t;
}

// Take about half of victim's queue: run the first, keep the rest.
qz_task *steal_from(Worker &self, Worker &v) {
  if (v.qsize.load(std::memory_order_relaxed) == 0)
    return nullptr;
  qz_task *batch[kLocalCap / 2];
  unsigned n = 0;
  if (!v.qlock.try_lock())
    return nullptr;
  unsigned take = (v.count + 1) / 2;
  // Sticky tasks stay while the victim is busy: they moved there to run
  // beside their peers (move_to_worker). An idle victim gives them up, and
  // so does a busy one once their stay (sticky_until) is over; the thief
  // notes the first expiry, to look again then if it parks.
  bool busy = v.in_poll.load(std::memory_order_relaxed);
  uint64_t now = busy ? now_ns() : 0;
  unsigned kept = 0;
  qz_task *keep[kLocalCap];
  unsigned total = v.count;
  for (unsigned i = 0; i < total && n < take; ++i) {
    qz_task *t = v.ring[v.head];
    v.head = (v.head + 1) % kLocalCap;
    --v.count;
    if (t->sticky && busy && now < t->sticky_until) {
      keep[kept++] = t;
      if (!self.sticky_retry_at || t->sticky_until < self.sticky_retry_at)
        self.sticky_retry_at = t->sticky_until;
    } else {
      t->sticky = false;
      batch[n++] = t;
    }
  }
  // Put the kept ones back at the head, in order.
  for (unsigned i = kept; i-- > 0;) {
    v.head = (v.head + kLocalCap - 1) % kLocalCap;
    v.ring[v.head] = keep[i];
    ++v.count;
  }
  v.qsize.store(v.count, std::memory_order_relaxed);
  v.qlock.unlock();
  if (n == 0)
    return nullptr;
  for (unsigned i = 1; i < n; ++i)
    local_push(self, batch[i]);
  return batch[0];
}

// Move everything this worker holds to the global queue (before it blocks).
void spill_locked(Sched &s, Worker &w) {
  if (qz_task *t = w.runnext.exchange(nullptr))
    gq_push_locked(s, t);
  w.qlock.lock();
  while (w.count) {
    w.ring[w.head]->sticky = false;
    gq_push_locked(s, w.ring[w.head]);
    w.head = (w.head + 1) % kLocalCap;
    --w.count;
  }
  w.qsize.store(0, std::memory_order_relaxed);
  w.qlock.unlock();
}

qz_task *gq_take(Sched &s, Worker &w) {
  if (s.gq_len.load(std::memory_order_relaxed) == 0)
    return nullptr;
  std::lock_guard<std::mutex> g(s.mu);
  qz_task *t = gq_pop_locked(s);
  if (!t)
    return nullptr;
  // Grab a fair share into the local queue.
  size_t share = s.gq.size() / s.nworkers;
  w.qlock.lock();
  if (share > kLocalCap - w.count)
    share = kLocalCap - w.count;
  if (share > kLocalCap / 2)
    share = kLocalCap / 2;
  for (size_t i = 0; i < share; ++i) {
    ring_push_locked(w, s.gq.front());  // room checked above
    s.gq.pop_front();
  }
  w.qlock.unlock();
  s.gq_len.store(s.gq.size(), std::memory_order_relaxed);
  return t;
}

qz_task *find_local_work(Worker &w) {
  Sched &s = *w.sched;
  if (++w.tick % 61 == 0) {  // fairness for the global queue
    if (qz_task *t = gq_take(s, w))
      return t;
  }
  if (w.streak < kRunnextStreak) {
    if (qz_task *t = w.runnext.exchange(nullptr, std::memory_order_acquire)) {
      ++w.streak;
      return t;
    }
  }
  w.streak = 0;
  if (qz_task *t = local_pop(w))
    return t;
  if (qz_task *t = w.runnext.exchange(nullptr, std::memory_order_acquire))
    return t;
  return gq_take(s, w);
}

// ---- registry of live tasks (for the deadlock report) ----
void registry_add(Sched &s, qz_task *t) {
  Shard &sh = s.shards[t->shard];
  sh.lock.lock();
  t->rprev = nullptr;
  t->rnext = sh.head;
  if (sh.head)
    sh.head->rprev = t;
  sh.head = t;
  sh.lock.unlock();
}
void registry_remove(Sched &s, qz_task *t) {
  Shard &sh = s.shards[t->shard];
  sh.lock.lock();
  if (t->rprev)
    t->rprev->rnext = t->rnext;
  else
    sh.head = t->rnext;
  if (t->rnext)
    t->rnext->rprev = t->rprev;
  sh.lock.unlock();
}

const char *wait_text(uint8_t k) {
  switch (k) {
  case W_RECV: return "channel recv";
  case W_SEND: return "channel send";
  case W_SLEEP: return "a timer";
  case W_IO: return "I/O";
  case W_YIELD: return "a yield";
  default: return "an external wake";
  }
}

void describe(const qz_task *t, char *buf, size_t n) {
  char who[96];
  if (t->is_main)
    snprintf(who, sizeof who, "main");
  else if (t->actor)  // an actor's loop task is named after the actor
    snprintf(who, sizeof who, "actor %s", t->name ? t->name : "?");
  else if (t->name)
    snprintf(who, sizeof who, "task %s (#%llu)", t->name, (unsigned long long)t->id);
  else
    snprintf(who, sizeof who, "task #%llu", (unsigned long long)t->id);
  if (actor_describe_wait(t, who, buf, n))  // waits for mail, for an actor's stop
    return;
  if (t->wait_kind == W_RECV || t->wait_kind == W_SEND)
    snprintf(buf, n, "%s waits on %s (channel #%llu)", who, wait_text(t->wait_kind),
             (unsigned long long)t->wait_obj);
  else
    snprintf(buf, n, "%s waits on %s", who, wait_text(t->wait_kind));
}

// The deadlock report: what every live task waits on. Native runs call it
// with s.mu held when the detector's condition holds (every worker is parked
// or blocked, nothing is queued, no timer/I/O/external ref is pending);
// deterministic runs when nothing is runnable and nothing is pending.
std::string deadlock_text(Sched &s) {
  std::vector<qz_task *> tasks;
  for (Shard &sh : s.shards) {
    sh.lock.lock();
    for (qz_task *t = sh.head; t; t = t->rnext)
      tasks.push_back(t);
    sh.lock.unlock();
  }
  // main first, then by id
  std::sort(tasks.begin(), tasks.end(), [](qz_task *a, qz_task *b) {
    if (a->is_main != b->is_main)
      return a->is_main;
    return a->id < b->id;
  });
  std::string out;
  char line[256], head[128];
  int foreign = s.nblocked_threads - s.nblocked_workers;
  if (tasks.size() == 1 && foreign == 0) {
    describe(tasks[0], line, sizeof line);
    out = "deadlock: ";
    out += line;
    out += "\n";
    return out;
  }
  snprintf(head, sizeof head, "deadlock: %zu tasks wait forever (no timer or I/O pending):\n",
           tasks.size());
  out = head;
  size_t shown = 0;
  for (qz_task *t : tasks) {
    if (++shown > 20) {
      snprintf(head, sizeof head, "  ... and %zu more\n", tasks.size() - 20);
      out += head;
      break;
    }
    describe(t, line, sizeof line);
    out += "  ";
    out += line;
    out += "\n";
  }
  if (foreign > 0) {
    snprintf(head, sizeof head, "  %d thread(s) outside the scheduler wait on channels\n",
             foreign);
    out += head;
  }
  return out;
}

[[noreturn]] void report_deadlock(Sched &s) {
  fflush(stdout);
  std::string text = deadlock_text(s);
  fputs(text.c_str(), stderr);
  fflush(stderr);
  _exit(101);
}

bool deadlocked_locked(Sched &s) {
  return !s.stopping.load() && !s.exiting.load() &&
         s.nidle.load() + s.nblocked_workers == int(s.nworkers) && s.gq.empty() &&
         s.pending.load() == 0 && g_external_refs.load() == 0 &&
         (s.live.load() > 0 || s.nblocked_threads > 0);
}

void task_release(qz_task *t) {
  if (t->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete t;
}

void finish_task(Sched &s, qz_task *t) {
  if (t->is_main) {
    s.main_result = t->result;
    s.exiting.store(true);
    if (s.exit_process) {
      fflush(stdout);
      fflush(stderr);
      _exit(int(t->result));
    }
  }
  registry_remove(s, t);
  s.live.fetch_sub(1);
  if (t->is_main) {
    s.main_done.store(1, std::memory_order_release);
    futex_wake(&s.main_done);
  }
  task_release(t);
}

// Poll t once (it was SCHEDULED). Returns true if it was woken while running
// and must be queued again; a finished task is unregistered here.
inline bool poll_task(Sched &s, qz_task *t, Worker *w) {
  uint32_t prev = t->state.exchange(RUNNING, std::memory_order_acq_rel);
  if (prev != SCHEDULED)
    fatal("task #%llu dequeued in state %u", (unsigned long long)t->id, prev);
  tl_current = t;
  if (w) {
    w->polls.fetch_add(1, std::memory_order_relaxed);
    w->in_poll.store(true, std::memory_order_relaxed);
  }
  // An actor's loop task is polled under its panic catcher (actor.cpp); no
  // runtime lock is held here, so a caught panic cannot leave one locked.
  int64_t r = __builtin_expect(t->actor != nullptr, 0) ? actor_poll(t) : t->poll(t->frame, t);
  if (w)
    w->in_poll.store(false, std::memory_order_relaxed);
  tl_current = nullptr;
  if (r == QZ_READY) {
    t->state.store(DONE, std::memory_order_release);
    finish_task(s, t);
    return false;
  }
  uint32_t st = RUNNING;
  // A task that waits for something is not sticky: wherever it wakes is fine.
  bool sticky = t->sticky;
  t->sticky = false;
  if (t->state.compare_exchange_strong(st, IDLE, std::memory_order_acq_rel))
    return false;
  t->sticky = sticky;
  if (st != NOTIFIED)
    fatal("task #%llu in state %u after its poll", (unsigned long long)t->id, st);
  t->state.store(SCHEDULED, std::memory_order_release);
  return true;
}

void run_task(Worker &w, qz_task *t) {
  // Woken while running: run it again, after what is already queued here
  // (or on the worker a yield asked for).
  if (poll_task(*w.sched, t, &w)) {
    int to = t->move_to;
    t->move_to = -1;
    if (to >= 0 && unsigned(to) < w.sched->nworkers && unsigned(to) != w.index)
      remote_push(w.sched->workers[to], t);
    else
      local_push(w, t);
  }
}

qz_task *try_steal(Worker &w, uint64_t spin_start, std::vector<uint64_t> &seen_polls) {
  Sched &s = *w.sched;
  if (qz_task *t = gq_take(s, w))
    return t;
  unsigned n = s.nworkers;
  w.rng = w.rng * 1664525u + 1013904223u;
  unsigned start = w.rng % n;
  for (unsigned i = 0; i < n; ++i) {
    Worker &v = s.workers[(start + i) % n];
    if (&v == &w)
      continue;
    if (qz_task *t = steal_from(w, v))
      return t;
    // The victim has been inside one poll since we started looking: its
    // runnext task would wait behind it, so take it.
    if (v.runnext.load(std::memory_order_relaxed) && v.in_poll.load() &&
        v.polls.load() == seen_polls[v.index] && now_ns() - spin_start > kStallNs) {
      if (qz_task *t = v.runnext.exchange(nullptr, std::memory_order_acquire))
        return t;
    }
  }
  return nullptr;
}

bool other_queue_nonempty(Sched &s, Worker &w) {
  for (unsigned i = 0; i < s.nworkers; ++i)
    if (&s.workers[i] != &w && s.workers[i].qsize.load(std::memory_order_relaxed) != 0)
      return true;
  return false;
}

// Sleep on the idle list (s.mu released) until unparked; or, if the last
// search left sticky tasks behind, until the first of them may be stolen: then
// leave the idle list and search again, counted as spinning.
void park(Worker &w) {
  Sched &s = *w.sched;
  while (w.wakeup.load(std::memory_order_acquire) == 0) {
    if (!w.sticky_retry_at) {
      futex_wait(&w.wakeup, 0);
      continue;
    }
    uint64_t now = now_ns();
    if (now < w.sticky_retry_at) {
      futex_wait_for(&w.wakeup, 0, w.sticky_retry_at - now);
      continue;
    }
    w.sticky_retry_at = 0;
    std::lock_guard<std::mutex> g(s.mu);
    // Another worker is already looking (it parks with a retry of its own if
    // it finds only sticky tasks): do not wake every idle worker. Otherwise
    // leave the list; if a waker took us off it already, its unpark is on
    // its way: wait for it, so that it cannot land after the next park began.
    if (s.nspinning.load() == 0 && leave_idle_list_locked(s, w))
      return;
  }
}

void worker_main(Worker *wp) {
  Worker &w = *wp;
  Sched &s = *w.sched;
  tl_worker = &w;
  std::vector<uint64_t> seen(s.nworkers);
  bool spinning = false;  // counted in s.nspinning
  while (!s.stopping.load(std::memory_order_relaxed)) {
    qz_task *t = find_local_work(w);
    if (!t) {
      // Look for work elsewhere, spinning for a while before parking.
      if (!spinning) {
        spinning = true;
        s.nspinning.fetch_add(1);
      }
      for (unsigned i = 0; i < s.nworkers; ++i)
        seen[i] = s.workers[i].polls.load();
      uint64_t start = now_ns();
      w.sticky_retry_at = 0;
      for (;;) {
        t = try_steal(w, start, seen);
        if (t || s.stopping.load(std::memory_order_relaxed))
          break;
        if (now_ns() - start > kSpinNs)
          break;
        for (int k = 0; k < 32; ++k)
          cpu_relax();
      }
      if (!t) {
        spinning = false;
        s.nspinning.fetch_sub(1);
        std::unique_lock<std::mutex> g(s.mu);
        if (s.stopping.load())
          break;
        t = gq_pop_locked(s);
        if (!t && w.qsize.load(std::memory_order_relaxed) != 0)
          continue;  // a remote_push got in (see there)
        // Work queued elsewhere since the last look (e.g. the rest of a batch
        // another spinner stole; it woke nobody, as we were still spinning),
        // none of it sticky: look again rather than leave it to one worker.
        if (!t && !w.sticky_retry_at && other_queue_nonempty(s, w))
          continue;
        if (!t) {
          s.idle.push_back(&w);
          s.nidle.fetch_add(1);
          if (deadlocked_locked(s))
            report_deadlock(s);
          w.wakeup.store(0, std::memory_order_relaxed);
          g.unlock();
          park(w);
          spinning = true;  // counted as spinning, by the waker or by park
          continue;
        }
      }
    }
    if (spinning) {
      spinning = false;
      // The last spinner found work: make sure another one looks for more.
      if (s.nspinning.fetch_sub(1) == 1)
        notify_idle(s);
    }
    run_task(w, t);
  }
  if (spinning)
    s.nspinning.fetch_sub(1);
  tl_worker = nullptr;
}

unsigned default_workers() {
  if (const char *e = getenv("QZ_WORKERS")) {
    long n = strtol(e, nullptr, 10);
    if (n > 0 && n <= 1024)
      return unsigned(n);
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

Sched *start_sched(unsigned nworkers) {
  if (g_sched)
    fatal("the runtime is already running");
  Sched *s = new Sched;
  s->nworkers = nworkers ? nworkers : default_workers();
  s->workers = new Worker[s->nworkers];
  s->idle.reserve(s->nworkers);
  g_sched = s;
  s->poller = make_epoll_poller(false);
  for (unsigned i = 0; i < s->nworkers; ++i) {
    Worker &w = s->workers[i];
    w.sched = s;
    w.index = i;
    w.rng = 0x9e3779b9u * (i + 1);
  }
  for (unsigned i = 0; i < s->nworkers; ++i)
    s->workers[i].thread = std::thread(worker_main, &s->workers[i]);
  return s;
}

// Tasks still suspended are abandoned: drop the runtime's references (those
// nobody else holds are freed; their frames are the caller's).
void release_abandoned(Sched *s) {
  for (Shard &sh : s->shards) {
    qz_task *t = sh.head;
    while (t) {
      qz_task *n = t->rnext;
      task_release(t);
      t = n;
    }
    sh.head = nullptr;
  }
}

void stop_sched(Sched *s) {
  s->stopping.store(true);
  {
    std::lock_guard<std::mutex> g(s->mu);
    for (Worker *w : s->idle)
      unpark(w);
    s->idle.clear();
  }
  for (unsigned i = 0; i < s->nworkers; ++i) {
    unpark(&s->workers[i]);
    s->workers[i].thread.join();
  }
  s->poller->stop();
  retire_sched(s);
}

qz_task *new_task(Sched &s, qz_poll_fn poll, void *frame, const char *name, bool is_main) {
  qz_task *t = new qz_task;
  t->poll = poll;
  t->frame = frame;
  t->name = name;
  t->is_main = is_main;
  t->id = s.next_id.fetch_add(1, std::memory_order_relaxed);
  t->shard = tl_worker ? tl_worker->index % kShards : unsigned(t->id % kShards);
  registry_add(s, t);
  return t;
}

// ---- deterministic mode ----

// Queue a runnable task in deterministic mode.
void det_push(Sched &s, qz_task *t) {
  if (tl_det == &s) {
    s.det_runq.push_back(t);
    return;
  }
  {
    std::lock_guard<std::mutex> g(s.det_mu);
    s.det_inbox.push_back(t);
    s.det_inbox_full.store(true, std::memory_order_release);
  }
  s.poller->notify();  // the scheduler thread may wait in poll_io(-1)
}

void det_merge_inbox(Sched &s) {
  if (!s.det_inbox_full.load(std::memory_order_acquire))
    return;
  std::lock_guard<std::mutex> g(s.det_mu);
  s.det_runq.insert(s.det_runq.end(), s.det_inbox.begin(), s.det_inbox.end());
  s.det_inbox.clear();
  s.det_inbox_full.store(false, std::memory_order_relaxed);
}

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Remove and return a runnable task drawn uniformly by the seeded PRNG.
qz_task *det_pick(Sched &s) {
  std::vector<qz_task *> &q = s.det_runq;
  size_t n = q.size();
  size_t i = n == 1 ? 0 : size_t((unsigned __int128)splitmix64(s.det_rng) * n >> 64);
  qz_task *t = q[i];
  q[i] = q.back();
  q.pop_back();
  return t;
}

// Runs until main finishes (QZ_RUN_DONE) or nothing can ever run again
// (QZ_RUN_DEADLOCK, with the report in *report).
int det_loop(Sched &s, std::string *report) {
  Poller &p = *s.poller;
  unsigned tick = 0;
  while (s.main_done.load(std::memory_order_acquire) == 0) {
    det_merge_inbox(s);
    if (!s.det_runq.empty()) {
      // Ready I/O is picked up now and then while tasks are runnable.
      if (++tick % 64 == 0 && p.io_waits() > 0) {
        p.poll_io(0);
        det_merge_inbox(s);
      }
      qz_task *t = det_pick(s);
      if (poll_task(s, t, nullptr))
        s.det_runq.push_back(t);  // woken while running (a yield, a self-wake)
      continue;
    }
    // Nothing runnable. Ready I/O and foreign wakes first, then the virtual
    // clock jumps to the earliest timer, then wait for I/O or another thread.
    bool outside = p.io_waits() > 0 || g_external_refs.load() > 0;
    if (outside) {
      p.poll_io(0);
      det_merge_inbox(s);
      if (!s.det_runq.empty())
        continue;
    }
    uint64_t deadline;
    if (p.next_timer(&deadline)) {
      p.advance_clock(deadline);
      continue;
    }
    if (outside) {
      // A foreign wake, spawn or the last unref notifies; I/O fires itself.
      p.poll_io(-1);
      continue;
    }
    std::lock_guard<std::mutex> g(s.mu);  // blocked-thread counts
    *report = deadlock_text(s);
    return QZ_RUN_DEADLOCK;
  }
  return QZ_RUN_DONE;
}

std::string g_last_deadlock_report;

[[noreturn]] void det_blocking_error() {
  fflush(stdout);
  fputs("qz runtime: blocking channel operation inside the deterministic scheduler "
        "(tasks must use the poll forms, e.g. qz_chan_send_poll)\n",
        stderr);
  fflush(stderr);
  abort();
}

// Count the new task live and queue it. From outside a running task both
// happen under the scheduler mutex, so the detector never sees a live task
// that is neither queued nor running.
void schedule_new(Sched &s, qz_task *t) {
  if (s.det) {
    s.live.fetch_add(1);
    det_push(s, t);
    return;
  }
  Worker *w = tl_worker;
  if (w && w->sched == &s && tl_current) {
    s.live.fetch_add(1);
    // Like Go's newproc: the new task runs next here (depth first, warm
    // cache); the one it displaces goes to the queue, where thieves see it.
    if (qz_task *old = w->runnext.exchange(t, std::memory_order_acq_rel))
      local_push(*w, old);
    // Unlike a message wake-up, a spawn brings an idle worker in: the spawner
    // may go on computing for long, and new tasks are parallelism.
    notify_idle(s);
  } else {
    {
      std::lock_guard<std::mutex> g(s.mu);
      s.live.fetch_add(1);
      gq_push_locked(s, t);
    }
    notify_idle(s);
  }
}

} // namespace

// ---- hooks for channels and the poller ----

void wake_task(qz_task *t) {
  uint32_t st = t->state.load(std::memory_order_acquire);
  for (;;) {
    if (st == IDLE) {
      if (t->state.compare_exchange_weak(st, SCHEDULED, std::memory_order_acq_rel))
        break;
    } else if (st == RUNNING) {
      if (t->state.compare_exchange_weak(st, NOTIFIED, std::memory_order_acq_rel))
        return;
    } else {
      return;  // SCHEDULED / NOTIFIED: coalesced; DONE: ignored
    }
  }
  Worker *w = tl_worker;
  if (w && tl_current) {
    // Woken by a task: it runs next on this worker (the waker is about to
    // suspend or finish, typically). The displaced runnext goes to the queue.
    if (qz_task *old = w->runnext.exchange(t, std::memory_order_acq_rel)) {
      local_push(*w, old);
      notify_idle(*w->sched);
    }
    return;
  }
  SchedRef ref;
  Sched *s = ref.get();
  if (!s)
    fatal("wake of task #%llu with no scheduler running", (unsigned long long)t->id);
  if (s->det)
    det_push(*s, t);
  else
    gq_push(*s, t);
}

bool enter_blocking(Waiter *w, uint8_t kind, uint64_t obj) {
  SchedRef ref;
  Sched *s = ref.get();
  if (!s)
    return false;
  if (s->det && tl_det == s)
    det_blocking_error();  // nothing else would ever run: it would hang
  if (qz_task *t = tl_current) {
    t->wait_kind = kind;
    t->wait_obj = obj;
  }
  std::lock_guard<std::mutex> g(s->mu);
  if (tl_worker && tl_worker->sched == s) {
    spill_locked(*s, *tl_worker);
    tl_worker->blocked = true;
    ++s->nblocked_workers;
    w->blocked = 2;
  } else {
    w->blocked = 1;
  }
  ++s->nblocked_threads;
  if (!s->det && deadlocked_locked(*s))
    report_deadlock(*s);
  return !s->gq.empty();
}

void blocked_waiter_completed(Waiter *w) {
  if (!w->blocked)
    return;
  SchedRef ref;
  Sched *s = ref.get();
  if (!s)
    return;
  std::lock_guard<std::mutex> g(s->mu);
  if (w->blocked == 2)
    --s->nblocked_workers;
  --s->nblocked_threads;
  w->blocked = 0;
}

void leave_blocking() {
  if (qz_task *t = tl_current)
    t->wait_kind = W_NONE;
  if (Worker *w = tl_worker) {
    std::lock_guard<std::mutex> g(w->sched->mu);
    w->blocked = false;
  }
}

void kick_idle() {
  SchedRef ref;
  if (Sched *s = ref.get(); s && !s->det)
    notify_idle(*s);
}

void add_pending(int64_t n) {
  SchedRef ref;
  Sched *s = ref.get();
  if (!s)
    return;
  // When the last pending wake source goes away, every worker may already be
  // parked (one parked while this timer was firing): re-run the detector.
  // (The deterministic loop checks for itself.)
  if (s->pending.fetch_add(n, std::memory_order_seq_cst) + n == 0 && n < 0 && !s->det) {
    std::lock_guard<std::mutex> g(s->mu);
    if (deadlocked_locked(*s))
      report_deadlock(*s);
  }
}

bool scheduler_running() { return g_sched != nullptr; }

Poller *current_poller() {
  Sched *s = tl_worker ? tl_worker->sched : tl_det ? tl_det : g_sched.load();
  if (!s)
    fatal("timer or I/O wait with no scheduler running");
  return s->poller;
}

int current_worker() { return tl_worker ? int(tl_worker->index) : -1; }

unsigned current_queue_length() {
  return tl_worker ? tl_worker->qsize.load(std::memory_order_relaxed) : 0;
}

bool move_to_worker(qz_task *self, int worker) {
  Worker *w = tl_worker;
  if (!w || worker < 0 || unsigned(worker) >= w->sched->nworkers || unsigned(worker) == w->index ||
      !w->sched->workers[worker].in_poll.load(std::memory_order_relaxed))
    return false;
  qz_yield_poll(self);
  self->move_to = worker;
  self->sticky = true;
  uint64_t now = now_ns();
  uint64_t stay = kStickyNs;
  // Moved again within 4x its last stay (sticky_until - sticky_ns is when
  // that move happened): taken away and colliding again. (Whatever the
  // target: the loop task moves too, and a stay that grew only on moves back
  // to the same worker kept the four-sender benchmark at 0.08-0.13 s in a
  // slow phase, against 0.06 s; bench/RESULTS.md.)
  if (self->sticky_ns && now < self->sticky_until + 3 * self->sticky_ns)
    stay = std::min(2 * self->sticky_ns, kStickyMaxNs);
  self->sticky_ns = stay;
  self->sticky_until = now + stay;
  return true;
}

qz_task *spawn_actor_task(qz_poll_fn poll, void *frame, const char *name, qz_actor *a) {
  SchedRef ref;
  Sched *s = ref.get();
  if (!s)
    fatal("actor %s started with no scheduler running (use qz_run or qz_main)", name);
  qz_task *t = new_task(*s, poll, frame, name, false);
  t->actor = a;  // before it can be polled
  schedule_new(*s, t);
  return t;
}

} // namespace qzrt

using namespace qzrt;

extern "C" {

int64_t qz_run(qz_poll_fn main_poll, void *main_frame, int64_t workers) {
  Sched *s = start_sched(workers > 0 ? unsigned(workers) : 0);
  qz_task *t = new_task(*s, main_poll, main_frame, "main", true);
  s->main_task = t;
  schedule_new(*s, t);
  while (s->main_done.load(std::memory_order_acquire) == 0)
    futex_wait(&s->main_done, 0);
  int64_t r = s->main_result;
  stop_sched(s);
  fflush(stdout);
  return r;
}

int qz_run_seeded(qz_poll_fn main_poll, void *main_frame, uint64_t seed, int64_t *result) {
  if (g_sched || tl_det)
    fatal("qz_run_seeded while the runtime is already running (not reentrant)");
  g_last_deadlock_report.clear();
  // Each run numbers its channels from 1, so a run's deadlock report does
  // not depend on what ran before it in this process.
  g_next_chan_id.store(1, std::memory_order_relaxed);
  Sched *s = new Sched;
  s->det = true;
  s->det_rng = seed;
  s->poller = make_epoll_poller(true);
  tl_det = s;
  g_sched = s;
  qz_task *t = new_task(*s, main_poll, main_frame, "main", true);
  s->main_task = t;
  schedule_new(*s, t);
  std::string report;
  int rc = det_loop(*s, &report);
  if (rc == QZ_RUN_DONE && result)
    *result = s->main_result;
  s->poller->stop();
  retire_sched(s);
  tl_det = nullptr;
  g_last_deadlock_report = std::move(report);
  fflush(stdout);
  return rc;
}

const char *qz_last_deadlock_report(void) { return g_last_deadlock_report.c_str(); }

void qz_main(qz_poll_fn main_poll, void *main_frame) {
  if (const char *e = getenv("QMIR_SEED")) {
    char *end = nullptr;
    errno = 0;
    unsigned long long seed = strtoull(e, &end, 10);
    if (*e < '0' || *e > '9' || *end != '\0' || errno == ERANGE) {
      fprintf(stderr, "qz runtime: QMIR_SEED must be a decimal unsigned 64-bit integer, not '%s'\n",
              e);
      _exit(2);
    }
    int64_t r = 0;
    int rc = qz_run_seeded(main_poll, main_frame, uint64_t(seed), &r);
    fflush(stdout);
    if (rc == QZ_RUN_DEADLOCK) {
      fputs(qz_last_deadlock_report(), stderr);
      fflush(stderr);
      _exit(101);
    }
    fflush(stderr);
    _exit(int(r));
  }
  Sched *s = start_sched(0);
  s->exit_process = true;
  qz_task *t = new_task(*s, main_poll, main_frame, "main", true);
  s->main_task = t;
  schedule_new(*s, t);
  for (;;)
    pause();
}

qz_task *qz_spawn_named(qz_poll_fn poll, void *frame, const char *name) {
  SchedRef ref;
  Sched *s = ref.get();
  if (!s)
    fatal("qz_spawn with no scheduler running (use qz_run or qz_main)");
  qz_task *t = new_task(*s, poll, frame, name, false);
  schedule_new(*s, t);
  return t;
}

qz_task *qz_spawn(qz_poll_fn poll, void *frame) { return qz_spawn_named(poll, frame, nullptr); }

void qz_task_wake(qz_task *task) { wake_task(task); }
void qz_task_retain(qz_task *task) { task->refs.fetch_add(1, std::memory_order_relaxed); }
void qz_task_release(qz_task *task) { task_release(task); }
void qz_task_set_result(qz_task *task, int64_t result) { task->result = result; }
qz_task *qz_current_task(void) { return tl_current; }

int64_t qz_yield_poll(qz_task *self) {
  self->move_to = -1;
  if (self->yielded) {
    self->yielded = false;
    self->wait_kind = W_NONE;
    return QZ_READY;
  }
  self->yielded = true;
  self->wait_kind = W_YIELD;
  wake_task(self);  // RUNNING -> NOTIFIED: requeued behind the local queue
  return QZ_PENDING;
}

int64_t qz_runtime_workers(void) {
  SchedRef ref;
  Sched *s = ref.get();
  return !s ? 0 : s->det ? 1 : int64_t(s->nworkers);
}

void qz_external_ref(void) { g_external_refs.fetch_add(1); }
void qz_external_unref(void) {
  if (g_external_refs.fetch_sub(1) != 1)
    return;
  SchedRef ref;
  Sched *s = ref.get();
  if (!s)
    return;
  if (s->det) {
    s->poller->notify();  // the scheduler thread re-checks for a deadlock
    return;
  }
  // The last pending wake source went away: nobody else would notice a
  // deadlock that already holds (every worker may be parked).
  std::lock_guard<std::mutex> g(s->mu);
  if (deadlocked_locked(*s))
    report_deadlock(*s);
}

} // extern "C"
