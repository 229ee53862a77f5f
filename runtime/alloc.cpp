// The heap of generated code: `new T` and `free p` in MIR become qz_alloc and
// qz_free (task frames, actor messages). These objects are small, short-lived
// and often freed on another thread than the one that made them: a sender
// allocates a message, the actor's worker frees it; a spawned task's frame is
// made by its parent and freed by whichever worker ran it last. The C
// library's malloc takes a slow, locking path for such cross-thread frees,
// which made it half the cost of an actor message. Here every thread keeps a
// free list per size class (16-byte steps up to 512 bytes); a list that grows
// past 2 x kBatch hands kBatch objects to a global pool for that class, and an
// empty list takes a batch back, so objects flow from the freeing threads to
// the allocating ones with one lock per kBatch objects. Larger objects go to
// calloc/free. Each object has a 16-byte header holding its class, so
// qz_free needs no size; memory in the pools is reused, never returned to
// the system (it is bounded by the peak number of live objects).
#include "qz_runtime.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace {

constexpr size_t kHeader = 16;
constexpr size_t kStep = 16;
constexpr unsigned kClasses = 32; // 16 .. 512 bytes
constexpr unsigned kLarge = 0;    // header class of a calloc'd object
constexpr unsigned kBatch = 64;

struct FreeObj {
  FreeObj *next;
};

/// A free object: linked through its first word. In the global pool, chains
/// of free objects are linked through the second word of their heads.
struct GlobalPool {
  std::mutex lock;
  FreeObj *batches = nullptr; // heads of full chains, linked via word 1
};
GlobalPool g_pools[kClasses + 1];

struct ThreadCache {
  FreeObj *head[kClasses + 1] = {};
  unsigned count[kClasses + 1] = {};
  ~ThreadCache();
};
thread_local ThreadCache tl_cache;

inline FreeObj *&chainNext(FreeObj *batchHead) {
  return *reinterpret_cast<FreeObj **>(reinterpret_cast<char *>(batchHead) + sizeof(void *));
}
/// The length of a chain in the pool lives in its head's header (word 1).
inline uint64_t &chainLength(FreeObj *batchHead) {
  return reinterpret_cast<uint64_t *>(reinterpret_cast<char *>(batchHead) - kHeader)[1];
}

[[noreturn]] void outOfMemory(size_t size) {
  fflush(stdout);
  fprintf(stderr, "panic: out of memory (allocating %zu bytes)\n", size);
  fflush(stderr);
  _Exit(101);
}

/// Moves kBatch objects from the cache of class c to the global pool.
void spill(ThreadCache &tc, unsigned c) {
  FreeObj *first = tc.head[c];
  FreeObj *last = first;
  for (unsigned i = 1; i < kBatch; ++i)
    last = last->next;
  tc.head[c] = last->next;
  tc.count[c] -= kBatch;
  last->next = nullptr;
  GlobalPool &p = g_pools[c];
  std::lock_guard<std::mutex> g(p.lock);
  chainLength(first) = kBatch;
  chainNext(first) = p.batches;
  p.batches = first;
}

/// Refills an empty cache of class c: a batch from the pool, else fresh memory.
void refill(ThreadCache &tc, unsigned c) {
  GlobalPool &p = g_pools[c];
  {
    std::lock_guard<std::mutex> g(p.lock);
    if (FreeObj *b = p.batches) {
      p.batches = chainNext(b);
      tc.head[c] = b;
      tc.count[c] = unsigned(chainLength(b));
      return;
    }
  }
  size_t block = kHeader + size_t(c) * kStep;
  char *mem = static_cast<char *>(malloc(block * kBatch));
  if (!mem)
    outOfMemory(block * kBatch);
  FreeObj *head = nullptr;
  for (unsigned i = kBatch; i-- > 0;) {
    char *b = mem + i * block;
    *reinterpret_cast<uint64_t *>(b) = c;
    auto *o = reinterpret_cast<FreeObj *>(b + kHeader);
    o->next = head;
    head = o;
  }
  tc.head[c] = head;
  tc.count[c] = kBatch;
}

ThreadCache::~ThreadCache() {
  // A thread that ends gives its objects back: whole batches, then what is
  // left as one shorter chain (its length is recorded like any chain's).
  for (unsigned c = 1; c <= kClasses; ++c) {
    while (count[c] >= kBatch)
      spill(*this, c);
    if (!head[c])
      continue;
    GlobalPool &p = g_pools[c];
    FreeObj *first = head[c];
    std::lock_guard<std::mutex> g(p.lock);
    chainLength(first) = count[c];
    chainNext(first) = p.batches;
    p.batches = first;
    head[c] = nullptr;
    count[c] = 0;
  }
}

} // namespace

extern "C" void *qz_alloc(int64_t size) {
  size_t n = size > 0 ? size_t(size) : 1;
  unsigned c = unsigned((n + kStep - 1) / kStep);
  if (c > kClasses) {
    char *b = static_cast<char *>(calloc(1, kHeader + n));
    if (!b)
      outOfMemory(n);
    *reinterpret_cast<uint64_t *>(b) = kLarge;
    return b + kHeader;
  }
  ThreadCache &tc = tl_cache;
  if (!tc.head[c])
    refill(tc, c);
  FreeObj *o = tc.head[c];
  tc.head[c] = o->next;
  --tc.count[c];
  memset(o, 0, size_t(c) * kStep);
  return o;
}

extern "C" void qz_free(void *p) {
  if (!p)
    return;
  char *b = static_cast<char *>(p) - kHeader;
  uint64_t c = *reinterpret_cast<uint64_t *>(b);
  if (c == kLarge) {
    free(b);
    return;
  }
  if (c > kClasses) {
    fflush(stdout);
    fprintf(stderr, "qz runtime: fatal: qz_free of a pointer qz_alloc did not return\n");
    abort();
  }
  ThreadCache &tc = tl_cache;
  auto *o = static_cast<FreeObj *>(p);
  o->next = tc.head[c];
  tc.head[c] = o;
  if (++tc.count[c] >= 2 * kBatch)
    spill(tc, c);
}
