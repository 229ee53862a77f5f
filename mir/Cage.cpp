#include "mir/Cage.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sys/mman.h>

namespace qmir::cage {

uintptr_t base = 0;

static char *at(size_t off) { return reinterpret_cast<char *>(base + off); }
size_t reserved = 0;

namespace {

constexpr size_t kPage = 4096;
constexpr unsigned kMinClass = 12; // 4 KiB, IRArena's first slab
constexpr unsigned kMaxClass = 34; // 16 GiB, the whole cage
constexpr size_t kCommitStep = size_t(4) << 20;
// Freed runs at least this big give their pages back to the system, so a
// function whose body is dropped (mir-opt's streaming mode) stops counting
// towards the process's memory; smaller ones are reused as they are.
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

void reserve() {
  // The whole reach of a 32-bit offset first; a system that limits address
  // space (ulimit -v) gets a smaller cage rather than no IR at all.
  for (size_t size = size_t(1) << kMaxClass; size >= (size_t(256) << 20);
       size >>= 1) {
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
  } else {
    // Runs are aligned to their size, so a run never straddles a commit step
    // in a way that matters and addresses stay page-aligned.
    off = llvm::alignTo(s.frontier, bytes < kCommitStep ? bytes : kPage);
    if (off + bytes > reserved)
      fail("the IR cage is full");
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
    // 4-byte aligned, like every target of a CPtr.
    char *mem = static_cast<char *>(
        s.internArena->Allocate(str.size() ? str.size() : 1, llvm::Align(4)));
    std::memcpy(mem, str.data(), str.size());
    it->second = llvm::StringRef(mem, str.size());
  }
  return it->second;
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
