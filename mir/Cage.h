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
// half the address space left, at least 16 MiB) and committed as it fills;
// its runs are recycled when a function's body or a module dies. Running out of it is reported like running
// out of memory, never as a crash.
#pragma once

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Alignment.h"
#include "llvm/Support/Compiler.h"

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
/// The bytes allocate(size) takes: the next power of two, at least 4 KiB.
size_t runBytes(size_t size);
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
inline size_t recordBytes(size_t len) { return recordHeaderSize(len) + len; }
/// Records start at 4-byte boundaries (a CPtr's), long ones at 8, so that a
/// header never straddles a 64-byte boundary (recordOf looks at a header
/// only within its text's 64-byte block).
inline llvm::Align recordAlign(size_t len) { return llvm::Align(len < 255 ? 4 : 8); }
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

/// A run of the cage that an arena allocates from.
struct Run {
  char *start = nullptr;
  size_t size = 0;
};

/// Part of the unused end of some arena's run, offered to arenas that need
/// memory (see IRArena::trim): the largest offered tail of at least `need`
/// bytes, all of it if `want` is 0, else its first max(need, want) bytes
/// (the rest stays offered). `run` is the run it belongs to, which stays
/// allocated until every arena that used part of it has let it go.
/// Returns false if no tail is big enough.
bool borrowTail(size_t need, size_t want, Run &run, char *&begin, char *&end);
/// Offers [begin, end), the unused end of `run` (which the caller holds), to
/// other arenas. False if it is too small to be worth it or the cage holds
/// enough bigger tails: the caller keeps it.
bool offerTail(const Run &run, char *begin, char *end);
/// An arena is done with `run`, of which it used [begin, end). The last
/// arena holding a run frees it; until then, the part this arena used is
/// poisoned for AddressSanitizer, as freed memory is.
void releaseRun(const Run &run, char *begin, char *end);
} // namespace cage

/// The bump allocator every IR object comes from (functions, modules, types).
/// It takes runs of 16 KiB (growing for big functions, like LLVM's
/// BumpPtrAllocator) from the cage and frees them all when it dies or is
/// Reset. trim() offers the unused end of its current run to other arenas,
/// so that a module's small functions share runs rather than each leaving
/// most of one unused (bench/RESULTS.md, "IR memory").
class IRArena {
public:
  /// Whether the arena may take tails that other arenas offered. An arena
  /// that lives long (a module's, the types', the interned strings') must
  /// not: a borrowed tail keeps the rest of its run (a dead function's
  /// body, say) allocated for as long as the borrower lives.
  enum TailUse { BorrowTails, OwnRunsOnly };
  explicit IRArena(TailUse use = BorrowTails) : borrows_(use == BorrowTails) {}
  IRArena(const IRArena &) = delete;
  IRArena &operator=(const IRArena &) = delete;
  ~IRArena() { Reset(); }

  LLVM_ATTRIBUTE_RETURNS_NONNULL void *Allocate(size_t size, llvm::Align align) {
    uintptr_t p = llvm::alignTo(cur_, align);
    if (LLVM_LIKELY(cur_ && p + size <= end_)) {
      cur_ = p + size;
      bytes_ += size;
      return reinterpret_cast<void *>(p);
    }
    return allocateSlow(size, align);
  }
  template <typename T> T *Allocate(size_t n = 1) {
    return static_cast<T *>(Allocate(sizeof(T) * n, llvm::Align(alignof(T))));
  }
  /// Frees everything.
  void Reset();
  /// Offers the unused end of the current run to other arenas. For when a
  /// body is complete (the parser and the lowering call it after each
  /// function). Later allocations here (a pass adding a few instructions)
  /// take small pieces first, 256 bytes and doubling, so a body that grows
  /// a little after a trim does not take a whole run for it.
  void trim();

  /// Bytes of runs held (a borrowed tail counts as its own size).
  size_t getTotalMemory() const { return heldBytes_; }
  /// Bytes handed out by Allocate.
  size_t getBytesAllocated() const { return bytes_; }

private:
  void *allocateSlow(size_t size, llvm::Align align);
  /// Offers [cur_, end_) (64-byte aligned) to other arenas.
  void offerRest();
  /// The part [begin, end) of `run` that this arena allocates from.
  struct Piece {
    cage::Run run;
    char *begin, *end;
  };
  uintptr_t cur_ = 0, end_ = 0; // in pieces_[current_]
  size_t current_ = 0;
  size_t bytes_ = 0;
  size_t heldBytes_ = 0;
  unsigned ownRuns_ = 0; // runs of the standard size taken, for growth
  size_t nextPiece_ = 0; // after a trim: the next piece's size; 0: whole runs
  bool borrows_;
  llvm::SmallVector<Piece, 0> pieces_;
};

namespace cage {
/// A copy of `s` in `arena`, as a string record, so that an IR object can
/// refer to it with one CPtr (Function::save, TypeContext::save).
inline llvm::StringRef save(IRArena &arena, llvm::StringRef s) {
  if (s.empty())
    return {};
  return writeRecord(static_cast<char *>(arena.Allocate(
                         recordBytes(s.size()), recordAlign(s.size()))),
                     s);
}
/// The record whose text `s` is (so `s` can be referred to in place), or
/// nullptr if `s` is some other string.
inline const char *recordOf(llvm::StringRef s) {
  if (s.empty())
    return nullptr;
  // Only look at the header when it would sit in the text's own 64-byte
  // block: arenas split runs at 64-byte boundaries, and what lies before
  // one may be unmapped, or poisoned for AddressSanitizer.
  size_t header = recordHeaderSize(s.size());
  auto addr = reinterpret_cast<uintptr_t>(s.data());
  if ((addr & 63) < header)
    return nullptr;
  const char *rec = s.data() - header;
  if (!contains(rec) || (reinterpret_cast<uintptr_t>(rec) & 3))
    return nullptr;
  auto first = static_cast<uint8_t>(rec[0]);
  if (header == 1)
    return first == s.size() ? rec : nullptr;
  uint32_t len;
  std::memcpy(&len, rec + 1, sizeof len);
  return first == 255 && len == s.size() ? rec : nullptr;
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
