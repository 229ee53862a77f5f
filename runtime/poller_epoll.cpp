// The epoll implementation of the Poller (timers + I/O readiness), and the
// timer / I/O operations built on it. With worker threads, one poller thread
// sleeps in epoll_wait; timers live in a heap and arm one timerfd to the
// earliest deadline (armed directly by the task that adds an earlier timer:
// no wake-up of the poller thread on the way in). An I/O wait arms its fd with
// EPOLLONESHOT and the task pointer as the event's data: the event names the
// waiter itself, so there is no fd -> task map to clear or race on.
//
// In deterministic mode (qz_run_seeded) the same object has no thread and no
// timerfd: its clock is virtual, and the scheduler thread calls poll_io() and
// advance_clock(). Arming, the heap and the firing of a wait are shared.
#include "internal.h"

#include <cerrno>
#include <cstring>
#include <queue>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <thread>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace qzrt {
namespace {

struct Timer {
  uint64_t deadline;
  uint64_t seq;
  qz_task *task;
  bool operator>(const Timer &o) const {
    return deadline != o.deadline ? deadline > o.deadline : seq > o.seq;
  }
};

char g_timer_tag, g_notify_tag;

// Complete a timer or I/O wait: publish the outcome, wake the task, and only
// then stop counting it as pending (the detector never sees a gap).
void fire(qz_task *t) {
  t->waiter.status.store(WS_DONE, std::memory_order_release);
  wake_task(t);
  add_pending(-1);
}

class EpollPoller final : public Poller {
  const bool det_;
  int epfd_ = -1, tfd_ = -1, efd_ = -1;
  std::mutex mu_;  // timer heap
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> heap_;
  uint64_t seq_ = 0;
  uint64_t armed_ = 0;  // deadline the timerfd is armed to, 0 = disarmed
  uint64_t vclock_ = 0;  // deterministic mode: the virtual clock
  std::atomic<int64_t> io_waits_{0};
  std::thread thread_;

  void arm_locked(uint64_t deadline) {
    itimerspec its{};
    if (deadline) {
      its.it_value.tv_sec = time_t(deadline / 1000000000ull);
      its.it_value.tv_nsec = long(deadline % 1000000000ull);
    }
    if (timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &its, nullptr) != 0)
      fatal("timerfd_settime: %s", strerror(errno));
    armed_ = deadline;
  }

  void fire_due(uint64_t now) {
    std::vector<qz_task *> due;
    {
      std::lock_guard<std::mutex> g(mu_);
      while (!heap_.empty() && heap_.top().deadline <= now) {
        due.push_back(heap_.top().task);
        heap_.pop();
      }
      if (!det_)
        arm_locked(heap_.empty() ? 0 : heap_.top().deadline);
    }
    for (qz_task *t : due)
      fire(t);
  }

  // Handles n events; false if the stop event was among them (threaded mode).
  bool dispatch(const epoll_event *evs, int n) {
    bool go_on = true;
    for (int i = 0; i < n; ++i) {
      void *p = evs[i].data.ptr;
      if (p == &g_notify_tag) {
        if (!det_) {
          go_on = false;  // stop
          continue;
        }
        uint64_t v;
        (void)!read(efd_, &v, sizeof v);  // drain: notify() is level-triggered
        continue;
      }
      if (p == &g_timer_tag) {
        uint64_t expirations;
        (void)!read(tfd_, &expirations, sizeof expirations);
        fire_due(now_ns());
        continue;
      }
      // An I/O waiter: the oneshot registration is now disabled, so this is
      // the only event for this arming.
      qz_task *t = static_cast<qz_task *>(p);
      t->waiter.value = int64_t(evs[i].events);
      io_waits_.fetch_sub(1, std::memory_order_relaxed);
      fire(t);
    }
    return go_on;
  }

  int wait(epoll_event *evs, int cap, int timeout_ms) {
    for (;;) {
      int n = epoll_wait(epfd_, evs, cap, timeout_ms);
      if (n >= 0)
        return n;
      if (errno != EINTR)
        fatal("epoll_wait: %s", strerror(errno));
    }
  }

  void loop() {
    epoll_event evs[64];
    for (;;) {
      int n = wait(evs, 64, -1);
      if (!dispatch(evs, n))
        return;
    }
  }

public:
  explicit EpollPoller(bool det) : det_(det) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!det_)
      tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epfd_ < 0 || efd_ < 0 || (!det_ && tfd_ < 0))
      fatal("cannot create the poller: %s", strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &g_notify_tag;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, efd_, &ev);
    if (!det_) {
      ev.data.ptr = &g_timer_tag;
      epoll_ctl(epfd_, EPOLL_CTL_ADD, tfd_, &ev);
      thread_ = std::thread([this] { loop(); });
    }
  }
  ~EpollPoller() override {
    if (thread_.joinable())
      stop();
    close(epfd_);
    if (tfd_ >= 0)
      close(tfd_);
    close(efd_);
  }

  uint64_t now() override { return det_ ? vclock_ : now_ns(); }

  void add_timer(uint64_t deadline, qz_task *t) override {
    add_pending(1);  // before the task can return PENDING
    std::lock_guard<std::mutex> g(mu_);
    heap_.push(Timer{deadline, seq_++, t});
    if (!det_ && (armed_ == 0 || deadline < armed_))
      arm_locked(deadline);
  }

  int arm_io(int fd, int events, qz_task *t) override {
    epoll_event ev{};
    ev.events = uint32_t(EPOLLONESHOT) | ((events & QZ_IO_READ) ? uint32_t(EPOLLIN | EPOLLRDHUP) : 0u) |
                ((events & QZ_IO_WRITE) ? uint32_t(EPOLLOUT) : 0u);
    ev.data.ptr = t;
    add_pending(1);
    io_waits_.fetch_add(1, std::memory_order_relaxed);
    // Re-arm a disabled oneshot registration, or add the fd the first time.
    // The registration is level-triggered: if the fd became ready before
    // this call (a write racing the re-arm), the event fires at once.
    if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0)
      return 0;
    if (errno == ENOENT && epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0)
      return 0;
    int e = errno;
    io_waits_.fetch_sub(1, std::memory_order_relaxed);
    add_pending(-1);
    return -e;
  }

  void forget_fd(int fd) override { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

  void stop() override {
    if (!thread_.joinable())
      return;
    notify();
    thread_.join();
  }

  void poll_io(int timeout_ms) override {
    epoll_event evs[64];
    int n = wait(evs, 64, timeout_ms);
    dispatch(evs, n);
  }

  int64_t io_waits() override { return io_waits_.load(std::memory_order_relaxed); }

  bool next_timer(uint64_t *deadline) override {
    std::lock_guard<std::mutex> g(mu_);
    if (heap_.empty())
      return false;
    *deadline = heap_.top().deadline;
    return true;
  }

  void advance_clock(uint64_t t) override {
    if (t > vclock_)
      vclock_ = t;
    fire_due(vclock_);
  }

  void notify() override {
    uint64_t one = 1;
    (void)!write(efd_, &one, sizeof one);
  }
};

} // namespace

Poller *make_epoll_poller(bool deterministic) { return new EpollPoller(deterministic); }

} // namespace qzrt

using namespace qzrt;

extern "C" {

int64_t qz_usleep_poll(int64_t us, qz_task *self) {
  if (self->armed) {
    if (self->wait_kind != W_SLEEP)
      fatal("task #%llu re-polled with a different operation than the one it waits on",
            (unsigned long long)self->id);
    if (self->waiter.status.load(std::memory_order_acquire) == WS_WAITING)
      return QZ_PENDING;
    self->armed = false;
    self->wait_kind = W_NONE;
    return QZ_READY;
  }
  if (us <= 0)
    return QZ_READY;
  self->waiter.task = self;
  self->waiter.status.store(WS_WAITING, std::memory_order_relaxed);
  self->armed = true;
  self->wait_kind = W_SLEEP;
  self->wait_ptr = nullptr;
  Poller *p = current_poller();
  p->add_timer(p->now() + uint64_t(us) * 1000u, self);
  return QZ_PENDING;
}

void qz_usleep(int64_t us) {
  if (us <= 0)
    return;
  timespec ts{time_t(us / 1000000), long(us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int64_t qz_io_wait_poll(int64_t fd, int64_t events, qz_task *self) {
  if (self->armed) {
    if (self->wait_kind != W_IO || self->wait_obj != uint64_t(fd))
      fatal("task #%llu re-polled with a different operation than the one it waits on",
            (unsigned long long)self->id);
    if (self->waiter.status.load(std::memory_order_acquire) == WS_WAITING)
      return QZ_PENDING;
    self->armed = false;
    self->wait_kind = W_NONE;
    return QZ_READY;
  }
  self->waiter.task = self;
  self->waiter.status.store(WS_WAITING, std::memory_order_relaxed);
  self->armed = true;
  self->wait_kind = W_IO;
  self->wait_obj = uint64_t(fd);
  self->wait_ptr = nullptr;
  int r = current_poller()->arm_io(int(fd), int(events), self);
  if (r < 0) {
    self->armed = false;
    self->wait_kind = W_NONE;
    return r;
  }
  return QZ_PENDING;
}

void qz_io_forget(int64_t fd) {
  if (scheduler_running())
    current_poller()->forget_fd(int(fd));
}

} // extern "C"
