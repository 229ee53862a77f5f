// The IR cage: one reserved range of address space that holds every IR object
// (types, functions, blocks, values, uses, patterns and the strings they name),
// so that a reference from one IR object to another fits in 32 bits.
//
// Why: IR memory per instruction is a target (bench/RESULTS.md, "IR memory"),
// and with 64-bit pointers the links alone (list neighbours, parent, type,
// first use, operand array; a use's value, neighbours and user) made up most
// of an instruction's bytes. V8 and the JVM compress pointers the same way: a
// CPtr<T> stores (address - base) / 4, and reading it adds the base back, so
// the IR keeps its pointer API (`Value *`, `Instruction *`) and passes do not
// change. The range is reserved once per process (16 GiB; under a ulimit -v,
// half the address space left, at least 16 MiB) and committed as it fills; its slabs are recycled when a
// function's body or a module dies. Running out of it is reported like running
// out of memory, never as a crash.
#pragma once

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Allocator.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace qmir {
namespace cage {

/// The start and size of the reserved range (set when the first IR object is
/// allocated; at most 16 GiB, the reach of a 32-bit offset in 4-byte units).
/// (An integer, not a `char *`: a store through any `char *` could alias a
/// `char *` global, so the compiler would reload it at every decompression.)
extern uintptr_t base;
extern size_t reserved;

/// Returns `size` bytes, aligned to 4096, from the cage (thread-safe). Exits
/// with a message if the cage is exhausted.
void *allocate(size_t size);
/// Gives back memory from allocate (the same size).
void deallocate(const void *p, size_t size);
/// Bytes currently handed out (rounded to the cage's size classes).
size_t bytesInUse();
/// Bytes of the cage ever handed out: what freed memory is reused before.
size_t highWater();

/// True if `p` points into the cage.
inline bool contains(const void *p) {
  return reinterpret_cast<uintptr_t>(p) - base < reserved;
}

/// A copy of `s` inside the cage, as a string record (below), shared by
/// equal strings and kept for the life of the process: for names and
/// messages given as literals or temporaries (names saved in a function's
/// arena are used in place).
llvm::StringRef intern(llvm::StringRef s);

/// Strings that IR objects refer to (value, block and function names, panic
/// messages, string constants) are kept as *records*: at a 4-byte boundary,
/// a length byte (255: a 4-byte length follows) and then the characters. So
/// one CPtr to the record is the whole reference, where a pointer and a
/// length took two words in every value and block.
inline llvm::StringRef recordText(const char *rec) {
  if (!rec)
    return {};
  auto n = static_cast<uint8_t>(rec[0]);
  if (n != 255)
    return {rec + 1, n};
  uint32_t len;
  std::memcpy(&len, rec + 1, sizeof len);
  return {rec + 5, len};
}
inline size_t recordHeaderSize(size_t len) { return len < 255 ? 1 : 5; }
/// Writes the record of `s` at `mem` (recordHeaderSize + size bytes).
inline llvm::StringRef writeRecord(char *mem, llvm::StringRef s) {
  if (s.size() < 255) {
    mem[0] = static_cast<char>(s.size());
  } else {
    auto len = static_cast<uint32_t>(s.size());
    mem[0] = static_cast<char>(255);
    std::memcpy(mem + 1, &len, sizeof len);
  }
  char *text = mem + recordHeaderSize(s.size());
  std::copy(s.begin(), s.end(), text);
  return {text, s.size()};
}

[[noreturn]] void outsideCage(const void *p);

/// For tools: running out of memory anywhere (malloc through LLVM, operator
/// new, the cage) prints "<tool>: out of memory" and exits with status 70,
/// instead of LLVM's abort and stack dump.
void installOutOfMemoryHandlers(const char *tool);

inline uint32_t compress(const void *p) {
  if (!p)
    return 0;
  size_t off = reinterpret_cast<uintptr_t>(p) - base;
  if (off >= reserved || (off & 3))
    outsideCage(p);
  return static_cast<uint32_t>(off >> 2);
}

inline void *decompress(uint32_t off) {
  return off ? reinterpret_cast<void *>(base + (uintptr_t(off) << 2)) : nullptr;
}

/// Slab source for the IR's bump allocators (llvm::BumpPtrAllocatorImpl).
class SlabAllocator : public llvm::AllocatorBase<SlabAllocator> {
public:
  void Reset() {}
  LLVM_ATTRIBUTE_RETURNS_NONNULL void *Allocate(size_t size, size_t /*align*/) {
    return cage::allocate(size);
  }
  using llvm::AllocatorBase<SlabAllocator>::Allocate;
  void Deallocate(const void *p, size_t size, size_t /*align*/) {
    cage::deallocate(p, size);
  }
  using llvm::AllocatorBase<SlabAllocator>::Deallocate;
};

} // namespace cage

/// The bump allocator every IR object comes from (functions, modules, types).
/// (1 KiB slabs would save 2% of the IR's memory, the unused tails of the
/// functions' last slabs, but they made verify 30% slower: a function's
/// objects end up spread over slabs recycled in reverse order.)
using IRArena = llvm::BumpPtrAllocatorImpl<cage::SlabAllocator, 4096>;

namespace cage {
/// A copy of `s` in `arena`, as a string record, so that an IR object can
/// refer to it with one CPtr (Function::save, TypeContext::save).
inline llvm::StringRef save(IRArena &arena, llvm::StringRef s) {
  if (s.empty())
    return {};
  char *mem = static_cast<char *>(
      arena.Allocate(recordHeaderSize(s.size()) + s.size(), llvm::Align(4)));
  return writeRecord(mem, s);
}
/// The record whose text `s` is (so `s` can be referred to in place), or
/// nullptr if `s` is some other string.
inline const char *recordOf(llvm::StringRef s) {
  if (s.empty())
    return nullptr;
  // Only look at the header when it would sit on the text's own page: the
  // page before may be unmapped, or poisoned for AddressSanitizer.
  size_t header = recordHeaderSize(s.size());
  auto addr = reinterpret_cast<uintptr_t>(s.data());
  if ((addr & 4095) < header)
    return nullptr;
  const char *rec = s.data() - header;
  if (!contains(rec) || (reinterpret_cast<uintptr_t>(rec) & 3) ||
      recordText(rec).size() != s.size())
    return nullptr;
  return rec;
}
/// A record holding `s`: `s`'s own if it has one, else an interned copy.
inline const char *record(llvm::StringRef s) {
  if (s.empty())
    return nullptr;
  if (const char *rec = recordOf(s))
    return rec;
  llvm::StringRef copy = intern(s);
  return copy.data() - recordHeaderSize(copy.size());
}
} // namespace cage

/// A 32-bit reference to an IR object in the cage. It converts to and from
/// `T *`, so fields of this type read like pointers.
template <typename T> class CPtr {
public:
  CPtr() = default;
  CPtr(T *p) : off_(cage::compress(p)) {}
  CPtr &operator=(T *p) {
    off_ = cage::compress(p);
    return *this;
  }
  T *get() const { return static_cast<T *>(cage::decompress(off_)); }
  operator T *() const { return get(); }
  T *operator->() const { return get(); }
  T &operator*() const { return *get(); }

private:
  uint32_t off_ = 0;
};

} // namespace qmir
