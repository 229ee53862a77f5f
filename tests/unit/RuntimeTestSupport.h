// Helpers shared by the runtime's tests (tests/unit/Runtime*Test.cpp): a
// watchdog that fails the binary instead of letting a lost wake-up hang it,
// a clock, QZ_TEST_SCALE for the sanitizer runs, and a forked child whose
// output and exit status a test checks (panics and exits end the process).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace qz_test {

/// QZ_TEST_SCALE (0 < s <= 1, set by tools/sanitize-runtime.sh) scales the
/// iteration counts of the heavier tests down under sanitizers.
inline int64_t scaled(int64_t n) {
  const char *e = getenv("QZ_TEST_SCALE");
  double s = e ? atof(e) : 1.0;
  if (!(s > 0 && s <= 1))
    s = 1.0;
  return std::max<int64_t>(1, int64_t(double(n) * s));
}

inline int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Exits the process (status 3) if no progress is seen for `seconds`:
/// progress is a call of kick(), so a loop of many short runs gets a timeout
/// per run; a test that never kicks gets a plain timeout of `seconds`.
class Watchdog {
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<uint64_t> progress_{0};
  std::thread th_;

public:
  explicit Watchdog(int seconds, const char *what = "test") {
    th_ = std::thread([this, seconds, what] {
      std::unique_lock<std::mutex> g(mu_);
      uint64_t seen = progress_.load();
      while (!cv_.wait_for(g, std::chrono::seconds(seconds), [this] { return done_; })) {
        uint64_t now = progress_.load();
        if (now == seen) {
          fprintf(stderr,
                  "watchdog: %s made no progress in %d s (a lost wake-up or a hang, "
                  "after %llu steps)\n",
                  what, seconds, (unsigned long long)now);
          fflush(stderr);
          _exit(3);
        }
        seen = now;
      }
    });
  }
  void kick() { progress_.fetch_add(1, std::memory_order_relaxed); }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> g(mu_);
      done_ = true;
    }
    cv_.notify_one();
    th_.join();
  }
};

/// What a child run by run_child did: its exit status (1000 + the signal if
/// a signal ended it) and what it wrote.
struct Child {
  int status = -1;
  std::string out, err;
};

/// Runs f in a forked child with stdout and stderr captured (both into `out`
/// when `merge`, to see their order); a child that runs for 30 s is killed
/// by SIGALRM, so a hang fails instead of blocking the test.
template <typename F> Child run_child(F f, bool merge = false) {
  fflush(stdout);
  fflush(stderr);
  int po[2], pe[2];
  if (pipe(po) || pipe(pe))
    abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(po[1], 1);
    dup2(merge ? po[1] : pe[1], 2);
    close(po[0]);
    close(pe[0]);
    alarm(30);
    f();
    _exit(0);
  }
  close(po[1]);
  close(pe[1]);
  Child r;
  auto slurp = [](int fd, std::string &s) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
      s.append(buf, size_t(n));
    close(fd);
  };
  std::thread te([&] { slurp(pe[0], r.err); });
  slurp(po[0], r.out);
  te.join();
  int st = 0;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return r;
}

} // namespace qz_test
