#include "mir/Cage.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Compiler.h" // __asan_(un)poison_memory_region
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

namespace qmir::cage {

uintptr_t base = 0;

static char *at(size_t off) { return reinterpret_cast<char *>(base + off); }
size_t reserved = 0;

namespace {

constexpr size_t kPage = 4096;
constexpr unsigned kMinClass = 12; // 4 KiB, the smallest run handed out
constexpr unsigned kMaxClass = 34; // 16 GiB, the whole cage
constexpr size_t kCommitStep = size_t(4) << 20;
// The smallest cage worth having (a few hundred thousand instructions).
constexpr size_t kMinCage = size_t(16) << 20;
// Freed runs at least this big give their pages back to the system (only a
// function of tens of MiB has runs that big); smaller ones are kept and
// reused as they are, so a dropped body's pages count towards the process
// until the next bodies fill them.
constexpr size_t kReleaseAtLeast = size_t(256) << 10;
// Tails smaller than this are not worth another arena's bookkeeping.
constexpr size_t kMinTail = 256;
// How many tails wait for an arena at most (a new function's arena takes
// the one its predecessor left, so a few are plenty).
constexpr unsigned kTailPool = 16;

struct State {
  std::mutex mu;
  size_t frontier = 0;  // offset of the first never-used byte
  size_t committed = 0; // offset up to which the range is read-write
  uint32_t freeHead[kMaxClass + 1] = {}; // per class: offset/4 of a free run
  std::atomic<size_t> inUse{0};
  IRArena *internArena = nullptr;
  llvm::StringMap<llvm::StringRef> *interned = nullptr; // to copies in the cage
  // Runs whose tail was offered to other arenas: run offset / 4096 -> the
  // arenas that hold the run (the one that took it, and those that borrowed
  // a tail of it). A run is freed when its last arena lets it go.
  llvm::DenseMap<uint32_t, uint32_t> sharedRuns;
  // Unused ends of runs, offered by IRArena::trim. The pool does not keep a
  // run alive: a run's tails leave the pool when the run is freed.
  struct Tail {
    Run run;
    char *begin, *end;
  };
  Tail tails[kTailPool];
  unsigned numTails = 0;
};

State &state() {
  static State s;
  return s;
}

[[noreturn]] void fail(const char *what) {
  std::fprintf(stderr, "qmir: out of IR memory: %s\n", what);
  std::fflush(stderr);
  std::_Exit(70);
}

/// Address space the process may still map: unlimited unless RLIMIT_AS
/// (ulimit -v) is set, then the limit minus what is mapped already.
size_t addressSpaceLeft() {
  struct rlimit lim;
  if (getrlimit(RLIMIT_AS, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
    return SIZE_MAX;
  unsigned long pages = 0;
  if (FILE *f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%lu", &pages) != 1)
      pages = 0;
    std::fclose(f);
  }
  size_t mapped = pages * size_t(sysconf(_SC_PAGESIZE));
  return lim.rlim_cur > mapped ? lim.rlim_cur - mapped : 0;
}

void reserve() {
  // The whole reach of a 32-bit offset if the address space is unlimited.
  // Under a limit, half of what is left: the other half stays for malloc
  // (the IR's side tables, the passes, LLVM), which needs room as much as
  // the IR does.
  size_t want = size_t(1) << kMaxClass;
  size_t left = addressSpaceLeft();
  if (left != SIZE_MAX)
    want = std::min(want, llvm::alignDown(left / 2, size_t(1) << 20));
  for (size_t size = want; size >= kMinCage; size = llvm::alignDown(size / 2, kPage)) {
    void *p = mmap(nullptr, size, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
      base = reinterpret_cast<uintptr_t>(p);
      reserved = size;
      return;
    }
  }
  fail("cannot reserve address space for the IR");
}

unsigned classOf(size_t size) {
  unsigned c = llvm::Log2_64_Ceil(size);
  return c < kMinClass ? kMinClass : c;
}

uint32_t &nextFree(size_t off) {
  return *reinterpret_cast<uint32_t *>(at(off));
}

} // namespace

size_t runBytes(size_t size) { return size_t(1) << classOf(size); }

namespace {
void *allocateLocked(State &s, size_t size) {
  unsigned c = classOf(size);
  if (c > kMaxClass)
    fail("an allocation larger than the IR cage");
  size_t bytes = size_t(1) << c;
  if (!base) {
    reserve();
    // Offset 0 is the null reference: the first page stays unused.
    s.frontier = s.committed = kPage;
  }
  size_t off;
  if (uint32_t head = s.freeHead[c]) {
    off = size_t(head) << 2;
    s.freeHead[c] = nextFree(off);
    __asan_unpoison_memory_region(at(off), bytes);
  } else {
    // Runs are aligned to their size, so a run never straddles a commit step
    // in a way that matters and addresses stay page-aligned.
    off = llvm::alignTo(s.frontier, bytes < kCommitStep ? bytes : kPage);
    if (off + bytes > reserved) {
      char what[160];
      std::snprintf(what, sizeof what,
                    "the IR cage (%zu MiB) is full%s", reserved >> 20,
                    reserved < (size_t(1) << kMaxClass)
                        ? "; it is half the address space that was left "
                          "(ulimit -v)"
                        : "");
      fail(what);
    }
    s.frontier = off + bytes;
    if (s.frontier > s.committed) {
      size_t end = llvm::alignTo(s.frontier, kCommitStep);
      if (end > reserved)
        end = reserved;
      if (mprotect(at(s.committed), end - s.committed,
                   PROT_READ | PROT_WRITE) != 0)
        fail(std::strerror(errno));
      s.committed = end;
    }
  }
  s.inUse.fetch_add(bytes, std::memory_order_relaxed);
  return at(off);
}

void deallocateLocked(State &s, const void *p, size_t size) {
  unsigned c = classOf(size);
  size_t bytes = size_t(1) << c;
  size_t off = reinterpret_cast<uintptr_t>(p) - base;
  if (bytes >= kReleaseAtLeast)
    madvise(at(off), bytes, MADV_DONTNEED);
  // Under AddressSanitizer, IR used after its function or module died is
  // reported (as it was when arenas gave their memory back to malloc); the
  // first 8 bytes hold the free list's link (an arena may have poisoned
  // them).
  __asan_poison_memory_region(at(off) + 8, bytes - 8);
  __asan_unpoison_memory_region(at(off), 8);
  nextFree(off) = s.freeHead[c];
  s.freeHead[c] = static_cast<uint32_t>(off >> 2);
  s.inUse.fetch_sub(bytes, std::memory_order_relaxed);
}

uint32_t runKey(const Run &run) {
  return static_cast<uint32_t>((reinterpret_cast<uintptr_t>(run.start) - base) >>
                               12);
}

/// One arena lets `run` go, having used [begin, end) of it; the last one
/// frees it.
void releaseLocked(State &s, const Run &run, char *begin, char *end) {
  auto it = s.sharedRuns.find(runKey(run));
  if (it != s.sharedRuns.end()) {
    if (--it->second > 0) {
      // Others still use the run: what this arena had is dead all the same.
      __asan_poison_memory_region(begin, end - begin);
      return;
    }
    s.sharedRuns.erase(it);
    for (unsigned k = 0; k < s.numTails;) {
      if (s.tails[k].run.start == run.start)
        s.tails[k] = s.tails[--s.numTails];
      else
        ++k;
    }
  }
  deallocateLocked(s, run.start, run.size);
}
} // namespace

void *allocate(size_t size) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  return allocateLocked(s, size);
}

void deallocate(const void *p, size_t size) {
  if (!p)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  deallocateLocked(s, p, size);
}

void releaseRun(const Run &run, char *begin, char *end) {
  if (!run.start)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  releaseLocked(s, run, begin, end);
}

bool offerTail(const Run &run, char *begin, char *end) {
  if (size_t(end - begin) < kMinTail)
    return false;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  unsigned slot = s.numTails;
  if (slot == kTailPool) {
    // Full: replace the smallest tail, if this one is bigger.
    slot = 0;
    for (unsigned k = 1; k < kTailPool; ++k)
      if (s.tails[k].end - s.tails[k].begin <
          s.tails[slot].end - s.tails[slot].begin)
        slot = k;
    if (end - begin <= s.tails[slot].end - s.tails[slot].begin)
      return false;
    // The dropped tail stays poisoned: nobody may use it until its run is
    // freed and handed out again.
  } else {
    ++s.numTails;
  }
  // From now on the run is freed by the last arena that lets it go (the
  // one offering the tail holds it alone unless it is shared already).
  s.sharedRuns.try_emplace(runKey(run), 1);
  s.tails[slot] = {run, begin, end};
  __asan_poison_memory_region(begin, end - begin);
  return true;
}

bool borrowTail(size_t need, size_t want, Run &run, char *&begin, char *&end) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  int best = -1;
  for (unsigned k = 0; k < s.numTails; ++k) {
    size_t size = s.tails[k].end - s.tails[k].begin;
    if (size >= need &&
        (best < 0 || size > size_t(s.tails[best].end - s.tails[best].begin)))
      best = static_cast<int>(k);
  }
  if (best < 0)
    return false;
  State::Tail &t = s.tails[best];
  run = t.run;
  begin = t.begin;
  end = t.end;
  size_t size = end - begin;
  size_t slice = want ? llvm::alignTo(std::max(need, want), 64) : size;
  if (slice + kMinTail <= size) {
    // Lend the front; the rest stays offered.
    end = begin + slice;
    t.begin = end;
  } else {
    t = s.tails[--s.numTails];
  }
  ++s.sharedRuns[runKey(run)];
  __asan_unpoison_memory_region(begin, end - begin);
  return true;
}

size_t bytesInUse() { return state().inUse.load(std::memory_order_relaxed); }

size_t highWater() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.frontier;
}

llvm::StringRef intern(llvm::StringRef str) {
  State &s = state();
  static std::mutex internMu;
  std::lock_guard<std::mutex> lock(internMu);
  if (!s.interned) {
    s.interned = new llvm::StringMap<llvm::StringRef>();
    s.internArena = new IRArena(IRArena::OwnRunsOnly);
  }
  auto [it, added] = s.interned->try_emplace(str);
  if (added) {
    // A record (Cage.h), 4-byte aligned like every target of a CPtr.
    char *mem = static_cast<char *>(s.internArena->Allocate(
        recordBytes(str.size()), recordAlign(str.size())));
    it->second = writeRecord(mem, str);
  }
  return it->second;
}

namespace {
const char *oomTool = "qmir";

[[noreturn]] void outOfMemory() {
  // No allocation from here on: write(2) the message as it is.
  const char msg[] = ": out of memory\n";
  ssize_t ignored = write(2, oomTool, std::strlen(oomTool));
  ignored = write(2, msg, sizeof(msg) - 1);
  (void)ignored;
  std::_Exit(70);
}
} // namespace

void installOutOfMemoryHandlers(const char *tool) {
  oomTool = tool;
  std::set_new_handler([] { outOfMemory(); });
  llvm::install_bad_alloc_error_handler(
      [](void *, const char *, bool) { outOfMemory(); });
}

void outsideCage(const void *p) {
  std::fprintf(stderr,
               "qmir: internal error: an IR reference to %p, which is not an "
               "IR object (IR objects live in the cage, see mir/Cage.h)\n",
               p);
  std::fflush(stderr);
  std::abort();
}

} // namespace qmir::cage

namespace qmir {

// Runs of 16 KiB rather than a page: a function's arena starts a new run
// (leaving the rest of the old one, smaller than the object that did not
// fit, unused) a quarter as often, and the end of its last run goes to the
// next function anyway.
static constexpr size_t kStandardRun = 16384;

// Pieces a trimmed arena takes first: 256 bytes, doubling up to this.
static constexpr size_t kFirstPieceAfterTrim = 256;

void IRArena::offerRest() {
  if (!cur_)
    return;
  uintptr_t rest = llvm::alignTo(cur_, 64);
  Piece &p = pieces_[current_];
  if (rest < end_ && cage::offerTail(p.run, reinterpret_cast<char *>(rest),
                                     reinterpret_cast<char *>(end_))) {
    heldBytes_ -= end_ - rest;
    end_ = rest;
    p.end = reinterpret_cast<char *>(rest);
  }
}

void *IRArena::allocateSlow(size_t size, llvm::Align align) {
  // Room for the object at any alignment in the run.
  size_t need = size + align.value() - 1;
  if (need > kStandardRun / 4) {
    // Big objects get a run of their own; the current run stays current.
    cage::Run run{static_cast<char *>(cage::allocate(need)), need};
    size_t bytes = cage::runBytes(need);
    pieces_.push_back({run, run.start, run.start + bytes});
    heldBytes_ += bytes;
    bytes_ += size;
    return reinterpret_cast<void *>(
        llvm::alignTo(reinterpret_cast<uintptr_t>(run.start), align));
  }
  // What is left of the current run is too small for this object; it may
  // still be big enough for another arena's.
  offerRest();
  // After a trim, small pieces first (see trim()); else whole runs.
  size_t want = nextPiece_;
  if (nextPiece_)
    nextPiece_ = nextPiece_ * 2 >= kStandardRun ? 0 : nextPiece_ * 2;
  Piece p;
  if (!borrows_ || !cage::borrowTail(need, want, p.run, p.begin, p.end)) {
    // LLVM's BumpPtrAllocator's growth: double the run size every 128
    // runs, so a huge function does not keep thousands of runs.
    size_t bytes = kStandardRun << std::min<unsigned>(ownRuns_ / 128, 20);
    p.run = {static_cast<char *>(cage::allocate(bytes)), bytes};
    p.begin = p.run.start;
    p.end = p.run.start + bytes;
    ++ownRuns_;
    // A small piece is wanted: the rest of the new run goes to others.
    size_t piece = llvm::alignTo(std::max(need, want), 64);
    if (want && piece < bytes &&
        cage::offerTail(p.run, p.run.start + piece, p.end))
      p.end = p.run.start + piece;
  }
  pieces_.push_back(p);
  current_ = pieces_.size() - 1;
  heldBytes_ += p.end - p.begin;
  cur_ = reinterpret_cast<uintptr_t>(p.begin);
  end_ = reinterpret_cast<uintptr_t>(p.end);
  return Allocate(size, align);
}

void IRArena::trim() {
  offerRest();
  nextPiece_ = kFirstPieceAfterTrim;
}

void IRArena::Reset() {
  for (const Piece &p : pieces_)
    cage::releaseRun(p.run, p.begin, p.end);
  pieces_.clear();
  cur_ = end_ = 0;
  current_ = 0;
  bytes_ = 0;
  heldBytes_ = 0;
  ownRuns_ = 0;
  nextPiece_ = 0;
}

} // namespace qmir
