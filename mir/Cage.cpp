#include "mir/Cage.h"

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
constexpr unsigned kMinClass = 12; // 4 KiB, IRArena's first slab
constexpr unsigned kMaxClass = 34; // 16 GiB, the whole cage
constexpr size_t kCommitStep = size_t(4) << 20;
// The smallest cage worth having (a few hundred thousand instructions).
constexpr size_t kMinCage = size_t(16) << 20;
// Freed runs at least this big give their pages back to the system (only a
// function of tens of MiB has slabs that big); smaller ones are kept and
// reused as they are, so a dropped body's pages count towards the process
// until the next bodies fill them.
constexpr size_t kReleaseAtLeast = size_t(256) << 10;

struct State {
  std::mutex mu;
  size_t frontier = 0;  // offset of the first never-used byte
  size_t committed = 0; // offset up to which the range is read-write
  uint32_t freeHead[kMaxClass + 1] = {}; // per class: offset/4 of a free run
  std::atomic<size_t> inUse{0};
  IRArena *internArena = nullptr;
  llvm::StringMap<llvm::StringRef> *interned = nullptr; // to copies in the cage
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

void *allocate(size_t size) {
  State &s = state();
  unsigned c = classOf(size);
  if (c > kMaxClass)
    fail("an allocation larger than the IR cage");
  size_t bytes = size_t(1) << c;
  std::lock_guard<std::mutex> lock(s.mu);
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

void deallocate(const void *p, size_t size) {
  if (!p)
    return;
  State &s = state();
  unsigned c = classOf(size);
  size_t bytes = size_t(1) << c;
  size_t off = reinterpret_cast<uintptr_t>(p) - base;
  if (bytes >= kReleaseAtLeast)
    madvise(at(off), bytes, MADV_DONTNEED);
  // Under AddressSanitizer, IR used after its function or module died is
  // reported (as it was when slabs went back to malloc); the first 8 bytes
  // hold the free list's link (LLVM's allocator may have poisoned them).
  __asan_poison_memory_region(at(off) + 8, bytes - 8);
  __asan_unpoison_memory_region(at(off), 8);
  std::lock_guard<std::mutex> lock(s.mu);
  nextFree(off) = s.freeHead[c];
  s.freeHead[c] = static_cast<uint32_t>(off >> 2);
  s.inUse.fetch_sub(bytes, std::memory_order_relaxed);
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
    s.internArena = new IRArena();
  }
  auto [it, added] = s.interned->try_emplace(str);
  if (added) {
    // A record (Cage.h), 4-byte aligned like every target of a CPtr.
    char *mem = static_cast<char *>(s.internArena->Allocate(
        recordHeaderSize(str.size()) + str.size(), llvm::Align(4)));
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
