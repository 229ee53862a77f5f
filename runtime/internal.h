// Internal declarations of the qmir runtime: task layout, waiters, scheduler
// hooks used by channels and the poller. Not part of the C ABI.
#pragma once

#include "qz_runtime.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace qzrt {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

uint64_t now_ns();

// Test-and-test-and-set lock for short critical sections (channel state,
// local run queues); yields the CPU if the holder was descheduled.
class SpinLock {
  std::atomic<bool> locked_{false};

public:
  void lock();
  bool try_lock() { return !locked_.load(std::memory_order_relaxed) &&
                           !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() { locked_.store(false, std::memory_order_release); }
};

// Task states; see docs/runtime.md for the transition table.
enum TaskState : uint32_t { IDLE = 0, SCHEDULED = 1, RUNNING = 2, NOTIFIED = 3, DONE = 4 };

// What a suspended task waits on (for the deadlock report).
enum WaitKind : uint8_t { W_NONE, W_RECV, W_SEND, W_SLEEP, W_IO, W_YIELD, W_STOP };

enum WaitStatus : int { WS_WAITING = 0, WS_DONE = 1, WS_CLOSED = 2 };

// A parked party in a channel's sender or receiver queue: a task, or a thread
// blocked in a blocking-form operation. Whoever removes it from the queue (a
// peer or close, under the channel lock) completes it: writes value and
// status, then wakes it. Removal happens once, so the wake happens once.
struct Waiter {
  Waiter *next = nullptr;
  Waiter *prev = nullptr;
  qz_task *task = nullptr;  // null: a blocked thread waits on `status`
  int64_t value = 0;        // send: value offered; recv: value received
  uint8_t blocked = 0;      // thread waiter counted by the detector: 1 thread, 2 worker
  std::atomic<int> status{WS_WAITING};
};

} // namespace qzrt

struct qz_task {
  std::atomic<uint32_t> state{qzrt::SCHEDULED};
  std::atomic<int32_t> refs{1};
  qz_poll_fn poll = nullptr;
  void *frame = nullptr;
  qz_task *qnext = nullptr;  // link in the global injection queue
  qz_task *rprev = nullptr;  // link in the registry of live tasks
  qz_task *rnext = nullptr;
  uint32_t shard = 0;
  bool is_main = false;
  // The current wait, set by the poll-form operation that parked the task and
  // cleared when it completes. `armed` means the waiter is (or was) queued.
  bool armed = false;
  bool yielded = false;
  // A yield that asked to be requeued on another worker (its index), else -1.
  int32_t move_to = -1;
  // Moved next to its peers: work stealing leaves it where it is while its
  // worker is busy, until sticky_until (now_ns()).
  bool sticky = false;
  uint64_t sticky_until = 0;
  uint64_t sticky_ns = 0;  // how long its last move kept it (it moved at
                           // sticky_until - sticky_ns)
  // Actor sends: the count, and the count and time at the last contended
  // send, which tell a task that mostly talks from one that mostly computes.
  uint64_t sends = 0;
  uint64_t mark_sends = 0;
  uint64_t mark_ns = 0;
  uint8_t wait_kind = qzrt::W_NONE;
  uint64_t wait_obj = 0;  // channel id, fd
  const void *wait_ptr = nullptr;  // channel or fd record, to check reuse
  uint64_t id = 0;
  const char *name = nullptr;
  int64_t result = 0;
  qz_actor *actor = nullptr;  // set for an actor's loop task: polled under a panic catcher
  qzrt::Waiter waiter;
};

namespace qzrt {

// Scheduler hooks.
void wake_task(qz_task *t);
// The calling thread is about to block in a blocking-form operation on the
// thread waiter w, already queued; called under the channel lock. Leaves the
// scheduler (spills this worker's queues), counts the thread as blocked for
// the deadlock detector and runs it. Returns true if work was spilled: call
// kick_idle() after unlocking.
bool enter_blocking(Waiter *w, uint8_t kind, uint64_t obj);
// The completer of a thread waiter (under the channel lock) ends its count.
void blocked_waiter_completed(Waiter *w);
void leave_blocking();
void kick_idle();
// Pending wake sources (timers, I/O waits, external refs).
void add_pending(int64_t n);
bool scheduler_running();

// Poller interface: timers and I/O readiness, one implementation per OS
// event API (epoll here; docs/runtime.md maps it to kqueue). The same class
// serves both scheduler modes: with worker threads it runs its own poller
// thread on the monotonic clock; in deterministic mode (qz_run_seeded) it has
// no thread, its clock is virtual and the scheduler thread drives it.
class Poller {
public:
  virtual ~Poller() = default;
  // The clock timers run on (ns): CLOCK_MONOTONIC, or the virtual clock.
  virtual uint64_t now() = 0;
  // Wake `t` (setting t->waiter.status = WS_DONE) at or after deadline_ns.
  virtual void add_timer(uint64_t deadline_ns, qz_task *t) = 0;
  // Wake `t` once when fd is ready for `events`; 0 or -errno.
  virtual int arm_io(int fd, int events, qz_task *t) = 0;
  virtual void forget_fd(int fd) = 0;
  virtual void stop() = 0;  // joins the poller thread, if any

  // Deterministic mode only (called on the scheduler thread).
  // Wait up to timeout_ms (-1: until an event or notify()) for I/O readiness
  // and wake the tasks whose fds are ready.
  virtual void poll_io(int timeout_ms) = 0;
  // I/O waits armed and not yet delivered.
  virtual int64_t io_waits() = 0;
  // The earliest pending timer deadline; false if no timer is pending.
  virtual bool next_timer(uint64_t *deadline_ns) = 0;
  // Move the virtual clock to `t` (never backwards) and fire the due timers
  // in deadline order (FIFO among equal deadlines).
  virtual void advance_clock(uint64_t t) = 0;
  // Interrupt a poll_io(-1) from any thread (a foreign wake or unref).
  virtual void notify() = 0;
};
Poller *make_epoll_poller(bool deterministic);
Poller *current_poller();

[[noreturn]] void fatal(const char *fmt, ...);

// Actors (actor.cpp, docs/runtime.md "Actors").
// Spawn an actor's loop task (sched.cpp): qz_spawn_named with t->actor = a.
qz_task *spawn_actor_task(qz_poll_fn poll, void *frame, const char *name, qz_actor *a);
// poll_task calls this instead of t->poll for actor loop tasks: the poll runs
// under a panic catcher (sigsetjmp); a caught panic ends the task (QZ_READY).
int64_t actor_poll(qz_task *t);
// Called first by every qz_panic*: if this thread is polling an actor's loop
// task, prints "actor NAME panicked ..." and longjmps to its catcher (does
// not return); otherwise returns at once.
void actor_catch_panic(const char *msg, const char *file, int64_t line, int64_t col);
// The deadlock report's line for a task waiting for mail or for an actor's
// stop (`who` names the task); false if the task waits on something else.
bool actor_describe_wait(const qz_task *t, const char *who, char *buf, size_t n);
// The index of the worker thread running this code, -1 elsewhere.
int current_worker();
// How many tasks wait in this worker's local queue (0 off a worker).
unsigned current_queue_length();
// A yield (qz_yield_poll) that requeues the task on worker `worker`, sticky
// (not stolen while that worker is busy). False, and nothing done, when
// `worker` is this one, is not running a task, or there are no workers.
bool move_to_worker(qz_task *self, int worker);
// Send without waiting or panicking: false if closed (or a bounded channel is full).
bool chan_offer(qz_chan *ch, int64_t value, size_t *depth = nullptr, bool *contended = nullptr);
// Takes up to `max` buffered values, in order, without waiting (none when a
// sender is parked: those go through the ordinary receive). Returns how many.
size_t chan_take(qz_chan *ch, int64_t *out, size_t max);

} // namespace qzrt
