// The MIR interpreter. Each function is translated once, on its first call,
// into a flat array of `Op`s over a frame register file indexed by Value::id();
// the constants a function uses get registers after the values and are copied
// in when a frame is pushed, so every operand is a plain register index. Edge
// arguments become precomputed move lists, sequentialised so that they keep
// the parallel-assignment meaning of block arguments. MIR calls push frames on
// an explicit stack, so recursion depth is bounded by an option, not by the
// host's C stack.
//
// Robustness: the interpreter must never crash the host, even on IR that the
// verifier would reject. Translation checks what execution relies on (operand
// counts, types, edge arities, field and variant indices) and turns anything
// wrong into a `Malformed` op that traps only if it is reached. Memory is a
// checked model: an alloca is an object of flattened cells (a struct is its
// fields' cells in order; an int, ptr or enum is one cell), a pointer names an
// allocation by a never-reused id plus a cell offset, and every load, store and
// struct.addr checks that the allocation is alive and that a sub-object of the
// accessed type starts at that offset. `new` objects live in the same model,
// on a heap of their own, until `free` (after which their pointers dangle).
//
// Tasks: a program that uses the task operations runs on the real runtime
// (runtime/qz_runtime.h) in its deterministic mode, qz_run_seeded. Each task
// is a host object {interpreter, context}; a context is the frame stack,
// registers and alloca cells of one task, swapped into the interpreter's
// execution vectors while the task is polled (so the non-task path is the
// same code, with no indirection). One C poll function, Impl::pollTask,
// resumes a task's context until its function returns (QZ_READY) or an
// `await` is answered QZ_PENDING (the context is saved with its pc at the
// await, which runs again when the task is polled again). After coro-split a
// task is a MIR poll function @F.task(frame, self) instead, called afresh on
// each poll. Runtime objects (channels, tasks) and function addresses are
// tagged handles like vectors, never host pointers; a receive writes into a
// per-task host slot that outlives the parked wait, copied into the checked
// cell when the operation answers READY. The first panic or trap stops the
// run: from then on every poll returns QZ_PENDING without running anything,
// the runtime sees that no task can make progress and returns, and the panic
// is reported instead of that "deadlock".
//
// Actors: the runtime's (runtime/actor.cpp). An actor's loop task is started
// through qz_actor_start, so the runtime knows it (its deadlock lines, its
// status); the state and message pointers it keeps are interpreter pointer
// bits, opaque to it. Natively a panic in that task longjmps to the
// runtime's catcher; here the interpreter never calls qz_panic_*, so it
// does the catcher's work itself (actorPanicked): the line, the
// bookkeeping, the task ends and a fresh loop starts. A module that still
// has `actor` items runs too: the interpreter stands in for the stubs and
// the loop actor-lower would generate (pollActorLoop, actorStub), making
// the same runtime calls in the same order, so that the pass harness can
// compare a program before and after actor-lower under the same seeds.
#include "mir/Interpreter.h"

#include "qz_runtime.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/IntrusiveRefCntPtr.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Compiler.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

using namespace qmir;

namespace {

//===----------------------------------------------------------------------===//
// Runtime values
//===----------------------------------------------------------------------===//

struct Agg;

/// One register, memory cell or aggregate field. Integers and pointers live in
/// `i` (integers sign-extended from their width, i1 as 0/1); struct and enum
/// values in `a`. A register only ever holds one kind (its value's type
/// decides), so the hot integer paths touch `i` alone. A null `a` reads as the
/// zero value of the type (fresh registers and alloca cells are null).
struct Slot {
  int64_t i = 0;
  llvm::IntrusiveRefCntPtr<Agg> a;
};

/// An immutable struct or enum value. MIR aggregates are copied by value;
/// since nothing mutates an Agg after it is built, copies share it.
struct Agg : llvm::RefCountedBase<Agg> {
  const Type *type = nullptr;
  uint32_t tag = 0; ///< enums: the variant index
  llvm::SmallVector<Slot, 2> fields; ///< struct fields / the variant's payload
};
using AggRef = llvm::IntrusiveRefCntPtr<Agg>;

// Integers of width W are kept sign-extended to 64 bits (i1: 0 or 1). `sh` is
// 64 - W (0 for i64 and ptr): the shift that views the low W bits.
inline int64_t sx(int64_t v, unsigned sh) {
  return static_cast<int64_t>(static_cast<uint64_t>(v) << sh) >> sh;
}
inline uint64_t zx(int64_t v, unsigned sh) {
  return (static_cast<uint64_t>(v) << sh) >> sh;
}
inline int64_t norm(uint64_t v, unsigned sh) {
  int64_t r = sx(static_cast<int64_t>(v), sh);
  return sh == 63 ? (r & 1) : r;
}
unsigned shiftOf(const Type *t) { return t->isInt() ? 64 - t->bits() : 0; }

// Pointers are encoded in a register's `i`: 0 is null; bit 63 marks a string
// constant (low 32 bits: index into the interpreter's string table); otherwise
// bits 24..62 are the allocation id and bits 0..23 the cell offset.
constexpr int64_t kStringBit = INT64_MIN;
constexpr unsigned kOffsetBits = 24;
constexpr uint64_t kMaxOffset = (uint64_t(1) << kOffsetBits) - 1;
constexpr uint64_t kMaxAllocId = (uint64_t(1) << (63 - kOffsetBits)) - 1;
// Bounds on interpreter memory, so that a runaway program traps instead of
// exhausting the host.
constexpr size_t kMaxRegs = size_t(1) << 23;
constexpr size_t kMaxCells = size_t(1) << 23;
// Vector handles: the string bit plus bit 62, then the index of the vector.
constexpr uint64_t kVecTag = (uint64_t(1) << 63) | (uint64_t(1) << 62);
constexpr size_t kMaxVecs = size_t(1) << 24;
constexpr size_t kMaxVecElems = size_t(1) << 26;
// Other runtime handles: bits 63, 62 and 61 (never a valid vector index), the
// kind in bits 56..58, the index below. Function addresses are handles too.
// Actors are handles too; so are the messages of actors the interpreter runs
// itself (before actor-lower, see Impl::ActorMsg).
enum class HostKind : uint64_t { Func = 1, Chan = 2, Task = 3, Actor = 4, Msg = 5 };
constexpr unsigned kHostKindShift = 56;
constexpr uint64_t kHostTagTop = 7; ///< bits 63..61, seen from bit 61
constexpr uint64_t kHostIndexMask = (uint64_t(1) << kHostKindShift) - 1;
inline int64_t hostHandle(HostKind k, uint64_t index) {
  return static_cast<int64_t>((kHostTagTop << 61) |
                              (static_cast<uint64_t>(k) << kHostKindShift) | index);
}
inline bool hostIndex(int64_t h, HostKind k, uint64_t &index) {
  uint64_t u = static_cast<uint64_t>(h);
  if ((u >> kHostKindShift) != ((kHostTagTop << 5) | static_cast<uint64_t>(k)))
    return false;
  index = u & kHostIndexMask;
  return true;
}
constexpr size_t kMaxTasks = size_t(1) << 22;
constexpr size_t kMaxChans = size_t(1) << 22; ///< alive at once
constexpr size_t kMaxActors = size_t(1) << 22;
constexpr size_t kMaxMsgs = size_t(1) << 22; ///< alive at once
/// The opaque pointers the runtime keeps for us (actor state, messages) are
/// interpreter pointer bits or handles, passed through unchanged.
inline void *opaque(int64_t bits) {
  return reinterpret_cast<void *>(static_cast<uintptr_t>(bits));
}
inline int64_t fromOpaque(const void *p) {
  return static_cast<int64_t>(reinterpret_cast<uintptr_t>(p));
}
constexpr int64_t kMaxChanCap = int64_t(1) << 24;

//===----------------------------------------------------------------------===//
// Translated form
//===----------------------------------------------------------------------===//

enum class K : uint8_t {
  Add, Sub, Mul, And, Or, Xor, Shl, LShr, AShr, SDiv, SRem, UDiv, URem,
  Eq, Ne, Slt, Sle, Sgt, Sge, Ult, Ule, Ugt, Uge,
  Select, SelectAgg, ZExt, SExt, Trunc,
  Alloca, Load, LoadAgg, Store, StoreAgg, FieldAddr,
  StructMake, StructExtract, StructInsert, EnumMake, EnumTag, EnumPayload,
  Call, CallRuntime, CallRuntimeN, CallUnknown,
  Await, FuncAddr, HeapNew, HeapFree, Spawn, SpawnActor, ActorNew, ActorStub,
  Br, CondBr, Switch, Match, Ret, RetVoid, Unreachable, Panic, Malformed,
};

/// One translated instruction. The meaning of a/b/c depends on the kind; they
/// are register indices unless noted in translateInst.
struct Op {
  K k = K::Malformed;
  uint8_t sh = 0;  ///< width shift of the operation (see sx/zx)
  uint8_t sh2 = 0; ///< casts: width shift of the operand
  uint32_t dst = 0, a = 0, b = 0, c = 0;
  const Instruction *inst = nullptr;
};

struct Move {
  uint32_t dst, src;
  bool agg;
};
struct Edge {
  uint32_t target; ///< pc of the target block's first op
  uint32_t firstMove, numMoves;
};
struct CallInfo {
  const Function *callee;
  struct CFunc *cf = nullptr; ///< resolved on first execution
  uint32_t firstArg, numArgs; ///< into CFunc::regLists
};
struct SwitchInfo {
  uint32_t defaultEdge;
  /// (case value, edge) sorted by value; stable, so the first of equal cases
  /// (the one written first) wins.
  std::vector<std::pair<int64_t, uint32_t>> cases;
};
struct MatchArm {
  const Pattern *pat;
  uint32_t target;
  uint32_t firstParam, numParams; ///< the target's parameter registers
};
struct MatchInfo {
  const Type *type;
  std::vector<MatchArm> arms;
  int64_t defaultEdge = -1;
};

enum class Builtin : uint32_t {
  PrintI64, PrintlnI64, PrintBool, PrintlnBool, PrintStr, PrintlnStr
};

struct CFunc {
  const Function *fn = nullptr;
  std::vector<Op> code;
  std::vector<Edge> edges;
  std::vector<Move> moves;
  std::vector<uint32_t> regLists;
  std::vector<CallInfo> calls;
  std::vector<SwitchInfo> switches;
  std::vector<MatchInfo> matches;
  std::vector<const Type *> types;
  std::vector<std::string> messages;
  std::vector<Slot> consts; ///< copied to registers constBase.. on entry
  std::vector<uint32_t> paramRegs;
  uint32_t constBase = 0, numRegs = 0;
  bool returnsInt = false;
};

struct Frame {
  CFunc *cf;
  uint32_t pc;        ///< where to resume (saved at calls)
  uint32_t base;      ///< first register
  uint32_t allocBase; ///< allocations and cells to free at return
  uint32_t cellBase;
  uint32_t retDst;    ///< caller's register receiving the result
};

struct AllocRec {
  uint64_t id;
  uint32_t base, size;
  const Type *type;
};

struct Layout {
  uint32_t cells = 0;
  llvm::SmallVector<uint32_t, 4> offsets; ///< structs: field cell offsets
};

/// Runtime functions with any signature (vectors, computed panics). Each is
/// checked against its declared type when a call is translated.
enum class RtFn : uint32_t {
  VecNew, VecLen, VecPush, VecPop, VecGet, VecSet, PanicBounds, PanicStr,
  // Tasks, channels and actors (Impl::taskRuntimeCall); the poll forms
  // come first.
  ChanSendPoll, ChanRecvPoll, UsleepPoll, YieldPoll, ActorRecvPoll, ActorStopPoll,
  ActorSendPoll, ChanNew, ChanClose, ChanTryRecv, ChanTrySend, ChanFree, ChanLen, TaskSetResult,
  CurrentTask, SpawnNamed, SpawnPlain,
  ActorCreate, ActorState, ActorStart, ActorRunMode, ActorHasFailed, ActorTakeFailed,
  ActorSetCurrent, ActorClearCurrent, ActorSend, ActorFinished, ActorLink, ActorStatus,
};
constexpr RtFn kFirstTaskFn = RtFn::ChanSendPoll;
constexpr RtFn kFirstActorFn = RtFn::ActorCreate;
bool isPollForm(RtFn f) {
  return f == RtFn::ChanSendPoll || f == RtFn::ChanRecvPoll ||
         f == RtFn::UsleepPoll || f == RtFn::YieldPoll || f == RtFn::ActorRecvPoll ||
         f == RtFn::ActorStopPoll || f == RtFn::ActorSendPoll;
}
/// The execution state of one task (or of a plain run): swapped with the
/// interpreter's own vectors while the task runs.
struct Context {
  std::vector<Frame> frames;
  std::vector<Slot> regs;
  std::vector<Slot> cells;
  std::vector<AllocRec> allocs;
};

/// An object made by `new`. Freed objects stay as tombstones so that a use
/// after free or a double free says so.
struct HeapObj {
  const Type *type = nullptr;
  std::unique_ptr<Slot[]> cells;
  uint32_t size = 0;
  bool freed = false;
};

const AllocRec *findAlloc(const std::vector<AllocRec> &allocs, uint64_t id) {
  // Allocations are made and freed in stack order, so ids ascend.
  if (!allocs.empty() && allocs.back().id == id)
    return &allocs.back();
  auto it = std::lower_bound(allocs.begin(), allocs.end(), id,
                             [](const AllocRec &r, uint64_t v) { return r.id < v; });
  return it != allocs.end() && it->id == id ? &*it : nullptr;
}

} // namespace

//===----------------------------------------------------------------------===//
// The interpreter proper
//===----------------------------------------------------------------------===//

class Interpreter::Impl {
public:
  Impl(const Module &m, llvm::raw_ostream &out, llvm::raw_ostream &err,
       InterpOptions opts)
      : m_(m), out_(out), err_(err), opts_(opts) {}

  InterpResult run(const Function &f, llvm::ArrayRef<int64_t> args);
  uint64_t executed() const { return executed_; }
  void invalidate() {
    funcs_.clear();
    funcTable_.clear();
    funcIds_.clear();
    taskProgram_ = -1;
    stubs_.reset();
    methodNames_.clear();
  }

private:
  /// A task: an interpreter context polled by pollTask.
  struct TaskHost {
    Impl *impl = nullptr;
    uint32_t index = 0; ///< in hosts_, and its handle's index
    /// Interp: a context running a function from its first instruction to
    /// its return (spawned before coro-split, or the root). Poll: calls
    /// `fn(frameVal, self)` afresh on each poll (after coro-split).
    /// ActorLoop: the message loop of an actor that actor-lower has not
    /// lowered, run by pollActorLoop (its context runs @A.init or a method).
    enum Kind { Interp, Poll, ActorLoop } kind = Interp;
    bool root = false;
    bool done = false;
    const Function *fn = nullptr;
    int64_t frameVal = 0;
    Context ctx;
    qz_task *task = nullptr; ///< set by each poll
    std::string name;        ///< must outlive the runtime's task
    /// Where a parked receive's value is delivered (see pollOp).
    int64_t recvSlot = 0;
    void *mailSlot = nullptr; ///< the same for qz_actor_recv_poll
    /// The poll-form operation that answered QZ_PENDING and has not answered
    /// anything else since: the protocol requires calling it again.
    bool parked = false;
    RtFn parkedFn = RtFn::YieldPoll;
    int64_t parkedArgs[2] = {0, 0};
    /// An actor's loop task (started through qz_actor_start): the index of
    /// the actor in actors_, else -1. A panic in it restarts the loop.
    int32_t actor = -1;
    /// ActorLoop: where the loop is, and the message being handled.
    enum Phase { Start, Init, Next, Method, Drain } phase = Start;
    uint64_t curMsg = 0;
    /// A synchronous message stub (before actor-lower) waiting for its
    /// reply: the message's index + 1, else 0.
    uint64_t stubMsg = 0;
  };

  /// An actor of the runtime (qz_actor_create) and how to restart its loop
  /// after a panic, as the restart entry given to qz_actor_start would.
  struct ActorRec {
    qz_actor *a = nullptr;
    const char *name = "";
    /// PreSplit: start a context running @restartFn(%h) (the function of a
    /// body-less @qz.spawn_actor.F). PostSplit: call the MIR restart entry
    /// @restartFn(%h). Unlowered: a fresh ActorLoop of `decl`.
    enum Restart { None, PreSplit, PostSplit, Unlowered } restart = None;
    const Function *restartFn = nullptr;
    uint32_t decl = 0;
    int64_t state = 0; ///< Unlowered: the pointer to its fields
  };
  /// A message of an actor that actor-lower has not lowered: what the
  /// generated message struct would hold, as host values. The runtime sees
  /// its handle as the opaque message pointer.
  struct ActorMsg {
    uint32_t decl = 0, method = 0;
    qz_chan *reply = nullptr; ///< synchronous methods: the one-slot reply channel
    Slot result;
    llvm::SmallVector<Slot, 4> args; ///< after the handle
  };
  /// What the interpreter knows of a declared actor stub (`@A.new`,
  /// `@A.m.send`, `@A.m.call`) when the module still has `actor` items.
  struct StubInfo {
    uint32_t decl = 0;
    int32_t method = -1; ///< -1: @A.new
    bool sync = false;
  };
  /// A channel handle's runtime channel (alive until qz_chan_free).
  struct ChanRec {
    qz_chan *ch = nullptr;
    uint32_t parked = 0; ///< tasks parked on it (it must not be freed then)
    bool closed = false;
  };

  static int64_t pollTask(void *frame, qz_task *self);
  int64_t pollHost(TaskHost &h);
  int64_t pollContext(TaskHost &h);
  int64_t pollActorLoop(TaskHost &h);
  /// A panic in an actor's loop task: print the runtime's line, bookkeeping,
  /// restart the loop. Returns the task's poll status.
  int64_t actorPanicked(TaskHost &h, const InterpResult &r);
  /// Stops the run with `r` (the first failure wins).
  void failRun(InterpResult r);
  void trapTask(const TaskHost &h, std::string msg);
  bool isTaskProgram();
  InterpResult runTasks(const Function &f, llvm::ArrayRef<int64_t> args,
                        bool pollRoot);
  void endTasks();
  void swapContext(Context &c) {
    frames_.swap(c.frames);
    regs_.swap(c.regs);
    cells_.swap(c.cells);
    allocs_.swap(c.allocs);
  }
  /// Pushes the entry frame of `cf` on `c` with `args` in its parameters.
  bool enterFrame(std::vector<Frame> &frames, std::vector<Slot> &regs, CFunc *cf,
                  const Slot *args);
  TaskHost *newHost(TaskHost::Kind kind);
  TaskHost *taskOf(int64_t handle);
  /// The live channel of a handle, or null with memError_ ("CALLEE: ...").
  ChanRec *chanOf(int64_t handle, llvm::StringRef callee);
  /// The actor of a handle, or -1 with memError_ ("@CALLEE: ...").
  int32_t actorOf(int64_t handle, llvm::StringRef callee);
  /// A NUL-terminated copy of a string constant, alive as long as the
  /// interpreter; null if `p` is not a string constant.
  const char *cString(int64_t p);
  // Task runtime functions and `await`; false (with memError_) on a trap,
  // or with rtPanic_ set when the runtime function panics.
  bool taskRuntimeCall(const Op &op, CFunc *cf, Slot *R);
  bool pollOp(RtFn fn, const int64_t *args, TaskHost &self, int64_t &status);
  bool spawnTask(const Function *target, TaskHost::Kind kind, const Slot *args,
                 int64_t frameVal, const std::string *name, bool plain,
                 int64_t &handle, int32_t actor = -1);
  // Actors that actor-lower has not lowered (stubs called by the program).
  const StubInfo *stubInfo(const Function *callee);
  bool actorNew(uint32_t decl, int64_t &handle);
  /// A message stub. `outcome`: 0 done, 1 suspended (run it again), 2
  /// panicked with rtPanic_. False (with memError_) on a trap.
  bool actorStub(const Op &op, CFunc *cf, Slot *R, int &outcome);
  /// @A.actor.fail of actor-lower: a waiting caller gets `status`, an
  /// asynchronous message is dropped.
  bool failMsg(void *msg, uint32_t decl, int64_t status);
  /// The index of a message of actor `decl`, else false with memError_.
  bool msgIndex(void *msg, uint32_t decl, uint64_t &index);
  static std::string methodName(const ActorDecl &d, const Function *impl);
  // The heap of `new`.
  bool heapNew(const Type *t, uint32_t size, int64_t &p);
  bool heapFree(int64_t p);
  uint32_t funcId(const Function *f);

  // Types.
  bool validType(const Type *t);
  const Layout &layout(const Type *t); // t must be valid
  const Slot &zeroOf(const Type *t);   // t must be valid
  bool containsAt(const Type *outer, uint32_t off, const Type *inner);

  // Translation.
  CFunc *get(const Function &f);
  std::unique_ptr<CFunc> translate(const Function &f);

  // Memory.
  Slot *resolve(int64_t p, const Type *t, const char *what) {
    if (LLVM_LIKELY(p > 0)) {
      uint64_t id = static_cast<uint64_t>(p) >> kOffsetBits;
      uint32_t off = static_cast<uint32_t>(p & kMaxOffset);
      const AllocRec *rec = findAlloc(allocs_, id);
      if (LLVM_LIKELY(rec != nullptr) &&
          ((off == 0 && rec->type == t) || containsAt(rec->type, off, t)))
        return cells_.data() + rec->base + off;
    }
    return resolveSlow(p, t, what);
  }
  Slot *resolveSlow(int64_t p, const Type *t, const char *what);
  Slot readCells(const Type *t, const Slot *cell);
  void writeCells(const Type *t, Slot *cell, const Slot &v);
  Agg *aggOf(const Slot &s, const Type *t) {
    return s.a ? s.a.get() : zeroOf(t).a.get();
  }
  bool matchPat(const Pattern *p, const Slot &v, const Type *t);

  /// Runs the context in the execution vectors from the top frame's pc until
  /// the bottom frame returns, a failure, or (suspended_) an await pends.
  InterpResult execute();
  void clearStacks() {
    frames_.clear();
    regs_.clear();
    cells_.clear();
    allocs_.clear();
    binds_.clear();
  }

  const Module &m_;
  llvm::raw_ostream &out_;
  [[maybe_unused]] llvm::raw_ostream &err_;
  InterpOptions opts_;
  std::unordered_map<const Function *, std::unique_ptr<CFunc>> funcs_;

  // Per-type caches; unordered_map keeps references stable across inserts.
  std::unordered_map<const Type *, char> valid_; // 1 visiting, 2 ok, 3 bad
  std::unordered_map<const Type *, Layout> layouts_;
  std::unordered_map<const Type *, Slot> zeros_;

  std::vector<llvm::StringRef> strings_;
  /// Vec<Int> objects of the qz_vec_* runtime functions; never freed within
  /// one interpreter (handles stay unique).
  std::vector<std::vector<int64_t>> vecs_;
  size_t vecElems_ = 0;
  llvm::DenseMap<const Value *, uint32_t> stringIds_;

  // Execution state.
  std::vector<Frame> frames_;
  std::vector<Slot> regs_;
  std::vector<Slot> cells_;
  std::vector<AllocRec> allocs_;
  uint64_t nextAllocId_ = 1;
  uint64_t executed_ = 0;
  llvm::SmallVector<Slot, 8> binds_;
  std::string memError_;

  // `new` objects by allocation id, and the cells of the live ones.
  llvm::DenseMap<uint64_t, HeapObj> heap_;
  size_t heapCells_ = 0;
  // Function addresses: handle index -> function.
  std::vector<const Function *> funcTable_;
  llvm::DenseMap<const Function *, uint32_t> funcIds_;

  // Tasks. hosts_ and chans_ are the tables behind task and channel handles;
  // they live for one run (channels are leaked: an abandoned task may still
  // be parked on one).
  int8_t taskProgram_ = -1; ///< -1: not computed yet
  std::vector<std::unique_ptr<TaskHost>> hosts_;
  /// Channels by handle index; a freed one is erased (its index is not
  /// reused, so a freed handle says so).
  llvm::DenseMap<uint64_t, ChanRec> chans_;
  uint64_t nextChan_ = 0;
  std::vector<ActorRec> actors_;
  llvm::DenseMap<uint64_t, ActorMsg> msgs_;
  uint64_t nextMsg_ = 0;
  /// Declared actor stubs, computed once per module (invalidate() clears).
  std::optional<llvm::DenseMap<const Function *, StubInfo>> stubs_;
  /// C strings of string constants, by string index (cString), and the
  /// method names of actors run before actor-lower: they outlive each run
  /// (the runtime keeps the current method's name).
  std::unordered_map<uint32_t, std::string> cStrings_;
  std::unordered_map<const Function *, std::string> methodNames_;
  /// Set with a false return of taskRuntimeCall: the runtime function
  /// panics with this message (no source location, like native qz_panic_str).
  std::optional<std::string> rtPanic_;
  /// The value the bottom frame returned at the last return of execute().
  Slot lastRet_;
  TaskHost *curHost_ = nullptr; ///< the task being polled
  bool tasksActive_ = false;    ///< inside qz_run_seeded
  bool stopping_ = false;       ///< a task failed: poll nothing any more
  bool suspended_ = false;      ///< execute() returned at a pending await
  std::optional<InterpResult> failure_;
};

bool Interpreter::Impl::validType(const Type *t) {
  if (!t)
    return false;
  char &st = valid_[t];
  if (st == 2)
    return true;
  if (st == 1 || st == 3) // a cycle: the type contains itself
    return false;
  st = 1;
  bool ok = true;
  switch (t->kind()) {
  case TypeKind::Int:
    ok = t->bits() == 1 || t->bits() == 8 || t->bits() == 32 || t->bits() == 64;
    break;
  case TypeKind::Ptr:
    break;
  case TypeKind::Struct:
    ok = !t->isOpaque();
    for (const Type *f : t->fields())
      ok = ok && validType(f);
    break;
  case TypeKind::Enum:
    ok = !t->isOpaque() && !t->variants().empty();
    for (const EnumVariant &v : t->variants())
      for (const Type *f : v.fields)
        ok = ok && validType(f);
    break;
  case TypeKind::Void:
  case TypeKind::Function:
    ok = false;
    break;
  }
  valid_[t] = ok ? 2 : 3; // re-lookup: the recursion may have rehashed
  if (ok)
    ok = t->kind() != TypeKind::Struct || layout(t).cells <= kMaxOffset;
  if (!ok)
    valid_[t] = 3;
  return ok;
}

const Layout &Interpreter::Impl::layout(const Type *t) {
  auto it = layouts_.find(t);
  if (it != layouts_.end())
    return it->second;
  Layout l;
  if (t->isStruct()) {
    uint64_t cells = 0;
    for (const Type *f : t->fields()) {
      l.offsets.push_back(static_cast<uint32_t>(std::min<uint64_t>(cells, UINT32_MAX)));
      cells += layout(f).cells;
    }
    // Saturate: validType rejects anything over kMaxOffset anyway.
    l.cells = static_cast<uint32_t>(std::min<uint64_t>(cells, UINT32_MAX));
  } else {
    l.cells = 1;
  }
  return layouts_.emplace(t, std::move(l)).first->second;
}

const Slot &Interpreter::Impl::zeroOf(const Type *t) {
  auto it = zeros_.find(t);
  if (it != zeros_.end())
    return it->second;
  Slot z;
  if (t->isStruct()) {
    z.a = AggRef(new Agg());
    z.a->type = t;
    for (const Type *f : t->fields())
      z.a->fields.push_back(zeroOf(f));
  } else if (t->isEnum()) {
    z.a = AggRef(new Agg());
    z.a->type = t;
    for (const Type *f : t->variants()[0].fields)
      z.a->fields.push_back(zeroOf(f));
  }
  return zeros_.emplace(t, std::move(z)).first->second;
}

/// Whether a sub-object of type `inner` starts `off` cells into an `outer`.
/// Like C, the first field of a struct shares the struct's address.
bool Interpreter::Impl::containsAt(const Type *outer, uint32_t off,
                                   const Type *inner) {
  if (off == 0 && outer == inner)
    return true;
  if (!outer->isStruct())
    return false;
  const Layout &l = layout(outer);
  for (unsigned i = 0; i < l.offsets.size(); ++i) {
    uint32_t fo = l.offsets[i];
    uint32_t fc = layout(outer->fields()[i]).cells;
    if (off < fo || (fc ? off >= fo + fc : off != fo))
      continue;
    if (containsAt(outer->fields()[i], off - fo, inner))
      return true;
  }
  return false;
}

CFunc *Interpreter::Impl::get(const Function &f) {
  auto &slot = funcs_[&f];
  if (!slot)
    slot = translate(f);
  return slot.get();
}

//===----------------------------------------------------------------------===//
// Translation
//===----------------------------------------------------------------------===//

namespace {

/// Orders the moves of one edge so that sequential execution has the meaning
/// of a parallel assignment: a register is overwritten only after every move
/// reading it has run; a cycle (`br loop(%b, %a)` for params %a, %b) is broken
/// by saving one register in `tmp`.
void sequentialize(llvm::SmallVectorImpl<Move> &pending, uint32_t tmp,
                   std::vector<Move> &out) {
  llvm::SmallVector<Move, 8> ms;
  for (const Move &m : pending)
    if (m.dst != m.src)
      ms.push_back(m);
  llvm::DenseMap<uint32_t, unsigned> readers; // register -> pending reads
  llvm::DenseMap<uint32_t, unsigned> byDst;   // register -> move writing it
  for (unsigned i = 0; i < ms.size(); ++i) {
    ++readers[ms[i].src];
    byDst[ms[i].dst] = i;
  }
  llvm::SmallVector<bool, 8> done(ms.size(), false);
  llvm::SmallVector<unsigned, 8> ready;
  for (unsigned i = 0; i < ms.size(); ++i)
    if (!readers.lookup(ms[i].dst))
      ready.push_back(i);
  size_t remaining = ms.size();
  while (remaining) {
    while (!ready.empty()) {
      unsigned i = ready.pop_back_val();
      out.push_back(ms[i]);
      done[i] = true;
      --remaining;
      // Once nothing reads the source any more, the move writing it may run.
      if (--readers[ms[i].src] == 0) {
        auto it = byDst.find(ms[i].src);
        if (it != byDst.end() && !done[it->second])
          ready.push_back(it->second);
      }
    }
    if (!remaining)
      break;
    // Only cycles are left: save one destination, redirect its readers.
    unsigned i = 0;
    while (done[i])
      ++i;
    uint32_t d = ms[i].dst;
    out.push_back(Move{tmp, d, ms[i].agg});
    for (unsigned j = 0; j < ms.size(); ++j)
      if (!done[j] && ms[j].src == d) {
        ms[j].src = tmp;
        ++readers[tmp];
      }
    readers[d] = 0;
    ready.push_back(i);
  }
}

bool builtinFor(llvm::StringRef name, Builtin &b, bool &strArg, bool &boolArg) {
  static const struct {
    const char *name;
    Builtin b;
  } table[] = {{"qz_print_i64", Builtin::PrintI64},
               {"qz_println_i64", Builtin::PrintlnI64},
               {"qz_print_bool", Builtin::PrintBool},
               {"qz_println_bool", Builtin::PrintlnBool},
               {"qz_print_str", Builtin::PrintStr},
               {"qz_println_str", Builtin::PrintlnStr}};
  for (const auto &e : table)
    if (name == e.name) {
      b = e.b;
      strArg = b == Builtin::PrintStr || b == Builtin::PrintlnStr;
      boolArg = b == Builtin::PrintBool || b == Builtin::PrintlnBool;
      return true;
    }
  return false;
}

struct RtFnInfo {
  const char *name;
  RtFn fn;
  const char *signature; ///< as Type::str() prints the declared type
};
const RtFnInfo *runtimeFnFor(llvm::StringRef name) {
  static const RtFnInfo table[] = {
      {"qz_vec_new", RtFn::VecNew, "fn() -> ptr"},
      {"qz_vec_len", RtFn::VecLen, "fn(ptr) -> i64"},
      {"qz_vec_push", RtFn::VecPush, "fn(ptr, i64) -> void"},
      {"qz_vec_pop", RtFn::VecPop, "fn(ptr) -> i64"},
      {"qz_vec_get", RtFn::VecGet, "fn(ptr, i64) -> i64"},
      {"qz_vec_set", RtFn::VecSet, "fn(ptr, i64, i64) -> void"},
      {"qz_panic_bounds", RtFn::PanicBounds, "fn(i64, i64) -> void"},
      {"qz_panic_str", RtFn::PanicStr, "fn(ptr) -> void"},
      {"qz_chan_send_poll", RtFn::ChanSendPoll, "fn(ptr, i64, ptr) -> i64"},
      {"qz_chan_recv_poll", RtFn::ChanRecvPoll, "fn(ptr, ptr, ptr) -> i64"},
      {"qz_usleep_poll", RtFn::UsleepPoll, "fn(i64, ptr) -> i64"},
      {"qz_yield_poll", RtFn::YieldPoll, "fn(ptr) -> i64"},
      {"qz_chan_new", RtFn::ChanNew, "fn(i64) -> ptr"},
      {"qz_chan_close", RtFn::ChanClose, "fn(ptr) -> void"},
      {"qz_chan_try_recv", RtFn::ChanTryRecv, "fn(ptr, ptr) -> i1"},
      {"qz_chan_len", RtFn::ChanLen, "fn(ptr) -> i64"},
      {"qz_task_set_result", RtFn::TaskSetResult, "fn(ptr, i64) -> void"},
      {"qz_current_task", RtFn::CurrentTask, "fn() -> ptr"},
      {"qz_spawn_named", RtFn::SpawnNamed, "fn(ptr, ptr, ptr) -> ptr"},
      {"qz_spawn", RtFn::SpawnPlain, "fn(ptr, ptr) -> ptr"},
      {"qz_chan_try_send", RtFn::ChanTrySend, "fn(ptr, i64) -> i1"},
      {"qz_chan_free", RtFn::ChanFree, "fn(ptr) -> void"},
      {"qz_actor_recv_poll", RtFn::ActorRecvPoll, "fn(ptr, ptr, ptr) -> i64"},
      {"qz_actor_stop_poll", RtFn::ActorStopPoll, "fn(ptr, ptr) -> i64"},
      {"qz_actor_send_poll", RtFn::ActorSendPoll, "fn(ptr, ptr, ptr) -> i64"},
      {"qz_actor_create", RtFn::ActorCreate, "fn(ptr, ptr) -> ptr"},
      {"qz_actor_state", RtFn::ActorState, "fn(ptr) -> ptr"},
      {"qz_actor_start", RtFn::ActorStart, "fn(ptr, ptr, ptr, ptr) -> ptr"},
      {"qz_actor_run_mode", RtFn::ActorRunMode, "fn(ptr) -> i64"},
      {"qz_actor_has_failed", RtFn::ActorHasFailed, "fn(ptr) -> i1"},
      {"qz_actor_take_failed", RtFn::ActorTakeFailed, "fn(ptr) -> ptr"},
      {"qz_actor_set_current", RtFn::ActorSetCurrent, "fn(ptr, ptr, ptr) -> void"},
      {"qz_actor_clear_current", RtFn::ActorClearCurrent, "fn(ptr) -> void"},
      {"qz_actor_send", RtFn::ActorSend, "fn(ptr, ptr) -> i1"},
      {"qz_actor_finished", RtFn::ActorFinished, "fn(ptr) -> void"},
      {"qz_actor_link", RtFn::ActorLink, "fn(ptr, ptr) -> void"},
      {"qz_actor_status", RtFn::ActorStatus, "fn(ptr) -> i64"},
  };
  for (const auto &e : table)
    if (name == e.name)
      return &e;
  return nullptr;
}

std::string typeStr(const Type *t) { return t ? t->str() : "<null type>"; }

} // namespace

std::unique_ptr<CFunc> Interpreter::Impl::translate(const Function &f) {
  auto cf = std::make_unique<CFunc>();
  cf->fn = &f;
  // Registers: the values by id, one scratch register for breaking move
  // cycles, then the constants.
  const uint32_t kTmp = f.numValueIds();
  cf->constBase = kTmp + 1;
  cf->returnsInt = f.returnType() && f.returnType()->isInt();

  // Pass 1: the pc of every block. Each instruction but dbg becomes one op; a
  // block that does not end in a terminator gets a trapping op at its end.
  llvm::DenseMap<const Block *, uint32_t> blockPc;
  uint32_t pc = 0;
  for (const Block &b : f.blocks()) {
    blockPc[&b] = pc;
    for (const Instruction &i : b.insts())
      if (i.opcode() != Opcode::DbgValue)
        ++pc;
    if (!b.terminator())
      ++pc;
  }

  llvm::DenseMap<const Value *, uint32_t> constRegs;
  std::string err;
  // The register holding `v`, or UINT32_MAX (with `err` set).
  auto reg = [&](const Value *v) -> uint32_t {
    if (!v) {
      err = "an operand is missing (null)";
      return UINT32_MAX;
    }
    switch (v->valueKind()) {
    case ValueKind::Argument:
      if (cast<Argument>(v)->parent() != &f)
        break;
      return v->id();
    case ValueKind::BlockArg: {
      const Block *b = cast<BlockArg>(v)->parent();
      if (!b || b->parent() != &f || !blockPc.count(b))
        break;
      return v->id();
    }
    case ValueKind::Instruction: {
      const Instruction *i = cast<Instruction>(v);
      if (i->function() != &f || !blockPc.count(i->parent()))
        break;
      return v->id();
    }
    case ValueKind::ConstInt:
    case ValueKind::ConstString:
    case ValueKind::Undef: {
      auto it = constRegs.find(v);
      if (it != constRegs.end())
        return it->second;
      Slot s;
      if (auto *ci = dyn_cast<ConstInt>(v)) {
        if (!validType(v->type()) || !v->type()->isInt()) {
          err = "an integer constant has type " + typeStr(v->type());
          return UINT32_MAX;
        }
        s.i = norm(static_cast<uint64_t>(ci->value()), shiftOf(v->type()));
      } else if (auto *cs = dyn_cast<ConstString>(v)) {
        auto [sit, inserted] = stringIds_.try_emplace(cs, strings_.size());
        if (inserted)
          strings_.push_back(cs->text());
        s.i = kStringBit | static_cast<int64_t>(sit->second);
      } else {
        if (!validType(v->type())) {
          err = "undef has type " + typeStr(v->type());
          return UINT32_MAX;
        }
        s = zeroOf(v->type()); // undef reads as zero
      }
      uint32_t r = cf->constBase + static_cast<uint32_t>(cf->consts.size());
      cf->consts.push_back(std::move(s));
      constRegs[v] = r;
      return r;
    }
    }
    err = "an operand is defined outside this function (or was erased)";
    return UINT32_MAX;
  };

  // An edge: the target's pc and the moves into its parameters.
  auto edge = [&](const Instruction &inst, const Successor &s) -> int64_t {
    auto it = blockPc.find(s.block);
    if (!s.block || it == blockPc.end()) {
      err = "branches to a block that is not in the function";
      return -1;
    }
    if (s.numArgs != s.block->numArgs()) {
      err = "passes " + std::to_string(s.numArgs) + " arguments to a block with " +
            std::to_string(s.block->numArgs()) + " parameters";
      return -1;
    }
    if (s.firstArg + s.numArgs > inst.numOperands()) {
      err = "edge arguments are out of range";
      return -1;
    }
    llvm::SmallVector<Move, 8> ms;
    for (unsigned k = 0; k < s.numArgs; ++k) {
      const Value *v = inst.operand(s.firstArg + k);
      uint32_t r = reg(v);
      if (r == UINT32_MAX)
        return -1;
      const BlockArg *p = s.block->arg(k);
      if (v->type() != p->type() || !validType(p->type())) {
        err = "passes a " + typeStr(v->type()) + " to a parameter of type " +
              typeStr(p->type());
        return -1;
      }
      ms.push_back(Move{p->id(), r, p->type()->isAggregate()});
    }
    Edge e{it->second, static_cast<uint32_t>(cf->moves.size()), 0};
    sequentialize(ms, kTmp, cf->moves);
    e.numMoves = static_cast<uint32_t>(cf->moves.size()) - e.firstMove;
    cf->edges.push_back(e);
    return static_cast<int64_t>(cf->edges.size() - 1);
  };

  // Collects the types a pattern binds, in pre-order; false if the pattern
  // does not fit the type.
  std::function<bool(const Pattern *, const Type *,
                     llvm::SmallVectorImpl<const Type *> &)>
      patTypes = [&](const Pattern *p, const Type *t,
                     llvm::SmallVectorImpl<const Type *> &out) -> bool {
    if (!p)
      return false;
    switch (p->kind) {
    case Pattern::Wildcard:
      return true;
    case Pattern::Bind:
      out.push_back(t);
      return true;
    case Pattern::Int:
      return t->isInt();
    case Pattern::Variant: {
      if (!t->isEnum() || p->variant >= t->variants().size())
        return false;
      auto fts = t->variants()[p->variant].fields;
      if (fts.size() != p->fields.size())
        return false;
      for (unsigned i = 0; i < fts.size(); ++i)
        if (!patTypes(p->fields[i], fts[i], out))
          return false;
      return true;
    }
    }
    return false;
  };

  auto want = [&](bool cond, const char *msg) {
    if (!cond && err.empty())
      err = msg;
    return cond;
  };

  // Translates one instruction into `op`; false (with `err`) if malformed.
  auto translateInst = [&](const Instruction &I, Op &op) -> bool {
    op.inst = &I;
    op.dst = I.id();
    unsigned nops = I.numOperands();
    auto operandReg = [&](unsigned k, uint32_t &out) {
      if (k >= nops) {
        err = "is missing an operand";
        return false;
      }
      out = reg(I.operand(k));
      return out != UINT32_MAX;
    };
    auto opTy = [&](unsigned k) { return I.operand(k)->type(); };
    Opcode oc = I.opcode();
    switch (oc) {
    case Opcode::Add: case Opcode::Sub: case Opcode::Mul: case Opcode::SDiv:
    case Opcode::SRem: case Opcode::UDiv: case Opcode::URem: case Opcode::And:
    case Opcode::Or: case Opcode::Xor: case Opcode::Shl: case Opcode::LShr:
    case Opcode::AShr: {
      static const K map[] = {K::Add, K::Sub, K::Mul, K::SDiv, K::SRem,
                              K::UDiv, K::URem, K::And, K::Or, K::Xor,
                              K::Shl, K::LShr, K::AShr};
      op.k = map[static_cast<unsigned>(oc) - static_cast<unsigned>(Opcode::Add)];
      if (!want(nops == 2, "needs two operands") || !operandReg(0, op.a) ||
          !operandReg(1, op.b))
        return false;
      if (!want(validType(I.type()) && I.type()->isInt() &&
                    opTy(0) == I.type() && opTy(1) == I.type(),
                "operand and result types must be the same integer type"))
        return false;
      op.sh = shiftOf(I.type());
      return true;
    }
    case Opcode::ICmp: {
      static const K map[] = {K::Eq, K::Ne, K::Slt, K::Sle, K::Sgt,
                              K::Sge, K::Ult, K::Ule, K::Ugt, K::Uge};
      unsigned p = static_cast<unsigned>(I.predicate());
      if (!want(p < 10, "has an invalid predicate") ||
          !want(nops == 2, "needs two operands") || !operandReg(0, op.a) ||
          !operandReg(1, op.b))
        return false;
      const Type *t = opTy(0);
      if (!want(t && (t->isInt() || t->isPtr()) && validType(t) && opTy(1) == t,
                "compares operands that are not integers of one type") ||
          !want(I.type() && I.type()->isBool(), "result must be i1"))
        return false;
      op.k = map[p];
      op.sh = shiftOf(t);
      return true;
    }
    case Opcode::Select: {
      if (!want(nops == 3, "needs three operands") || !operandReg(0, op.a) ||
          !operandReg(1, op.b) || !operandReg(2, op.c))
        return false;
      if (!want(opTy(0) && opTy(0)->isBool(), "condition must be i1") ||
          !want(validType(I.type()) && opTy(1) == I.type() &&
                    opTy(2) == I.type(),
                "both choices must have the result type"))
        return false;
      op.k = I.type()->isAggregate() ? K::SelectAgg : K::Select;
      return true;
    }
    case Opcode::ZExt: case Opcode::SExt: case Opcode::Trunc: {
      if (!want(nops == 1, "needs one operand") || !operandReg(0, op.a))
        return false;
      if (!want(opTy(0) && opTy(0)->isInt() && validType(opTy(0)) &&
                    validType(I.type()) && I.type()->isInt(),
                "casts between integer types only"))
        return false;
      op.k = oc == Opcode::ZExt ? K::ZExt : oc == Opcode::SExt ? K::SExt : K::Trunc;
      op.sh = shiftOf(I.type());
      op.sh2 = shiftOf(opTy(0));
      return true;
    }
    case Opcode::Alloca: {
      const Type *t = I.auxType();
      if (!want(validType(t), "allocates a type that has no values"))
        return false;
      op.k = K::Alloca;
      op.b = static_cast<uint32_t>(cf->types.size());
      cf->types.push_back(t);
      op.c = layout(t).cells;
      return true;
    }
    case Opcode::Load: {
      if (!want(nops == 1, "needs one operand") || !operandReg(0, op.a))
        return false;
      if (!want(opTy(0) && opTy(0)->isPtr(), "loads through a non-pointer") ||
          !want(validType(I.type()), "loads a type that has no values"))
        return false;
      op.k = I.type()->isStruct() ? K::LoadAgg : K::Load;
      op.b = static_cast<uint32_t>(cf->types.size());
      cf->types.push_back(I.type());
      return true;
    }
    case Opcode::Store: {
      if (!want(nops == 2, "needs two operands") || !operandReg(0, op.a) ||
          !operandReg(1, op.b))
        return false;
      if (!want(opTy(1) && opTy(1)->isPtr(), "stores through a non-pointer") ||
          !want(validType(opTy(0)), "stores a type that has no values"))
        return false;
      op.k = opTy(0)->isStruct() ? K::StoreAgg : K::Store;
      op.c = static_cast<uint32_t>(cf->types.size());
      cf->types.push_back(opTy(0));
      return true;
    }
    case Opcode::FieldAddr: {
      const Type *st = I.auxType();
      if (!want(nops == 1, "needs one operand") || !operandReg(0, op.a))
        return false;
      if (!want(opTy(0) && opTy(0)->isPtr(), "takes a field address of a non-pointer") ||
          !want(st && st->isStruct() && validType(st), "needs a struct type") ||
          !want(I.fieldIndex() < st->fields().size(), "field index out of range"))
        return false;
      op.k = K::FieldAddr;
      op.b = static_cast<uint32_t>(cf->types.size());
      cf->types.push_back(st);
      op.c = layout(st).offsets[I.fieldIndex()];
      return true;
    }
    case Opcode::StructMake: {
      const Type *st = I.auxType();
      if (!want(st && st->isStruct() && validType(st) && I.type() == st,
                "needs a struct type") ||
          !want(nops == st->fields().size(), "needs one operand per field"))
        return false;
      op.k = K::StructMake;
      op.a = static_cast<uint32_t>(cf->regLists.size());
      for (unsigned k = 0; k < nops; ++k) {
        uint32_t r;
        if (!operandReg(k, r))
          return false;
        if (!want(opTy(k) == st->fields()[k], "operand type differs from its field's"))
          return false;
        cf->regLists.push_back(r);
      }
      op.b = static_cast<uint32_t>(cf->types.size());
      cf->types.push_back(st);
      return true;
    }
    case Opcode::StructExtract:
    case Opcode::StructInsert: {
      const Type *st = I.auxType();
      bool ins = oc == Opcode::StructInsert;
      if (!want(nops == (ins ? 2u : 1u), "has the wrong number of operands") ||
          !operandReg(0, op.a) || (ins && !operandReg(1, op.b)))
        return false;
      if (!want(st && st->isStruct() && validType(st) && opTy(0) == st,
                "operand is not of the struct type") ||
          !want(I.fieldIndex() < st->fields().size(), "field index out of range"))
        return false;
      const Type *ft = st->fields()[I.fieldIndex()];
      if (ins ? !want(opTy(1) == ft && I.type() == st, "inserts a value of the wrong type")
              : !want(I.type() == ft, "result type differs from the field's"))
        return false;
      // Extract: a = struct, c = field. Insert: a = struct, b = new field
      // value, c = field. The struct type is read from the instruction.
      op.k = ins ? K::StructInsert : K::StructExtract;
      op.c = I.fieldIndex();
      return true;
    }
    case Opcode::EnumMake: {
      const Type *en = I.auxType();
      if (!want(en && en->isEnum() && validType(en) && I.type() == en,
                "needs an enum type") ||
          !want(I.variantIndex() < en->variants().size(), "variant index out of range"))
        return false;
      auto fts = en->variants()[I.variantIndex()].fields;
      if (!want(nops == fts.size(), "needs one operand per payload field"))
        return false;
      op.k = K::EnumMake;
      op.a = static_cast<uint32_t>(cf->regLists.size());
      for (unsigned k = 0; k < nops; ++k) {
        uint32_t r;
        if (!operandReg(k, r))
          return false;
        if (!want(opTy(k) == fts[k], "operand type differs from its field's"))
          return false;
        cf->regLists.push_back(r);
      }
      op.b = static_cast<uint32_t>(cf->types.size());
      cf->types.push_back(en);
      op.c = I.variantIndex();
      return true;
    }
    case Opcode::EnumTag: {
      if (!want(nops == 1, "needs one operand") || !operandReg(0, op.a))
        return false;
      const Type *en = opTy(0);
      if (!want(en && en->isEnum() && validType(en), "operand is not an enum") ||
          !want(I.type() && I.type()->isInt() && validType(I.type()),
                "result must be an integer"))
        return false;
      op.k = K::EnumTag;
      op.sh = shiftOf(I.type());
      op.b = static_cast<uint32_t>(cf->types.size());
      cf->types.push_back(en);
      return true;
    }
    case Opcode::EnumPayload: {
      if (!want(nops == 1, "needs one operand") || !operandReg(0, op.a))
        return false;
      const Type *en = opTy(0);
      if (!want(en && en->isEnum() && validType(en) && I.auxType() == en,
                "operand is not of the enum type") ||
          !want(I.variantIndex() < en->variants().size(), "variant index out of range"))
        return false;
      auto fts = en->variants()[I.variantIndex()].fields;
      if (!want(I.fieldIndex() < fts.size(), "field index out of range") ||
          !want(I.type() == fts[I.fieldIndex()], "result type differs from the field's"))
        return false;
      op.k = K::EnumPayload;
      op.b = static_cast<uint32_t>(cf->types.size());
      cf->types.push_back(en);
      op.c = I.variantIndex() | (I.fieldIndex() << 16);
      if (!want(I.variantIndex() < 65536 && I.fieldIndex() < 65536,
                "too many variants or fields"))
        return false;
      return true;
    }
    case Opcode::Call: {
      const Function *callee = I.callee();
      if (!want(callee != nullptr, "has no callee"))
        return false;
      auto params = callee->type()->params();
      if (!want(nops == params.size(), "passes the wrong number of arguments") ||
          !want(I.type() == callee->returnType(), "result type differs from the callee's"))
        return false;
      llvm::SmallVector<uint32_t, 8> args;
      for (unsigned k = 0; k < nops; ++k) {
        uint32_t r;
        if (!operandReg(k, r))
          return false;
        if (!want(opTy(k) == params[k] && validType(params[k]),
                  "argument type differs from the parameter's"))
          return false;
        args.push_back(r);
      }
      if (callee->isDeclaration()) {
        Builtin b;
        bool strArg, boolArg;
        if (callee->name().starts_with("qz.spawn.")) {
          // Before coro-split: `spawn F(args)` starts a task running @F.
          const Function *target =
              callee->parent()->function(callee->name().drop_front(9));
          if (!want(target && !target->isDeclaration() &&
                        target->parent() == f.parent(),
                    "spawns a function that has no body in this module") ||
              !want(target->type()->params() == params,
                    "spawns a function whose parameters differ from its own") ||
              !want(callee->returnType()->isVoid(), "a spawn entry must return void"))
            return false;
          op.k = K::Spawn;
          op.a = static_cast<uint32_t>(cf->calls.size());
          CallInfo ci{target, nullptr, static_cast<uint32_t>(cf->regLists.size()),
                      static_cast<uint32_t>(args.size())};
          cf->regLists.insert(cf->regLists.end(), args.begin(), args.end());
          cf->calls.push_back(ci);
          return true;
        }
        if (callee->name().starts_with("qz.spawn_actor.")) {
          // Before coro-split: start the loop task of actor %h running @F(%h).
          const Function *target =
              callee->parent()->function(callee->name().drop_front(15));
          const Type *ptr = callee->parent()->types().ptr();
          if (!want(target && !target->isDeclaration() &&
                        target->parent() == f.parent(),
                    "starts an actor loop that has no body in this module") ||
              !want(params.size() == 1 && params[0] == ptr &&
                        callee->returnType()->isVoid() &&
                        target->type() == callee->type(),
                    "an actor loop start and its loop must be fn(ptr) -> void"))
            return false;
          op.k = K::SpawnActor;
          op.a = static_cast<uint32_t>(cf->calls.size());
          cf->calls.push_back(CallInfo{target, nullptr,
                                       static_cast<uint32_t>(cf->regLists.size()), 1});
          cf->regLists.push_back(args[0]);
          return true;
        }
        if (const StubInfo *si = stubInfo(callee)) {
          // An actor that actor-lower has not lowered: the interpreter runs
          // its stubs and loop itself.
          const ActorDecl &d = m_.actors()[si->decl];
          if (si->method < 0) {
            if (!want(callee->type()->str() == "fn() -> ptr", "@A.new must be fn() -> ptr") ||
                !want(d.state && d.state->isStruct() && validType(d.state),
                      "the actor's state is not a struct type") ||
                !want(d.init && !d.init->isDeclaration() &&
                          d.init->type()->str() == "fn(ptr) -> void",
                      "the actor's init function must be fn(ptr) -> void with a body"))
              return false;
            op.k = K::ActorNew;
            op.b = si->decl;
            return true;
          }
          const Function *impl = d.methods[static_cast<size_t>(si->method)];
          if (!want(!impl->isDeclaration() && impl->type() == callee->type() &&
                        !params.empty() && params[0]->isPtr(),
                    "an actor stub must have its method's type, and the method a body"))
            return false;
          op.k = K::ActorStub;
          op.a = static_cast<uint32_t>(cf->calls.size());
          op.b = si->decl;
          op.c = static_cast<uint32_t>(si->method);
          cf->calls.push_back(CallInfo{impl, nullptr,
                                       static_cast<uint32_t>(cf->regLists.size()),
                                       static_cast<uint32_t>(args.size())});
          cf->regLists.insert(cf->regLists.end(), args.begin(), args.end());
          return true;
        }
        op.k = K::CallUnknown;
        if (const RtFnInfo *rt = runtimeFnFor(callee->name())) {
          if (callee->type()->str() != rt->signature) {
            err = "calls runtime function @" + callee->name().str() +
                  " declared as " + typeStr(callee->type()) +
                  "; the interpreter implements it as " + rt->signature;
            return false;
          }
          op.k = K::CallRuntimeN;
          op.a = static_cast<uint32_t>(cf->regLists.size());
          op.b = static_cast<uint32_t>(rt->fn);
          op.c = static_cast<uint32_t>(args.size());
          cf->regLists.insert(cf->regLists.end(), args.begin(), args.end());
          return true;
        }
        if (builtinFor(callee->name(), b, strArg, boolArg)) {
          const TypeContext &tc = callee->parent()->types();
          const Type *want1 = strArg ? tc.ptr() : boolArg ? tc.i1() : tc.i64();
          if (params.size() != 1 || params[0] != want1 ||
              !callee->returnType()->isVoid()) {
            err = "calls runtime function @" + callee->name().str() +
                  " declared as " + typeStr(callee->type()) +
                  "; the interpreter implements it as fn(" + want1->str() +
                  ") -> void";
            return false;
          }
          op.k = K::CallRuntime;
          op.a = args[0];
          op.b = static_cast<uint32_t>(b);
        }
        return true;
      }
      if (!want(callee->parent() == f.parent(), "calls a function of another module"))
        return false;
      op.k = K::Call;
      op.a = static_cast<uint32_t>(cf->calls.size());
      CallInfo ci{callee, nullptr, static_cast<uint32_t>(cf->regLists.size()),
                  static_cast<uint32_t>(args.size())};
      cf->regLists.insert(cf->regLists.end(), args.begin(), args.end());
      cf->calls.push_back(ci);
      return true;
    }
    case Opcode::Br: {
      if (!want(I.numSuccessors() == 1, "needs one successor"))
        return false;
      int64_t e = edge(I, I.successors()[0]);
      if (e < 0)
        return false;
      op.k = K::Br;
      op.b = static_cast<uint32_t>(e);
      return true;
    }
    case Opcode::CondBr: {
      if (!want(I.numSuccessors() == 2, "needs two successors") ||
          !want(I.numMainOperands() == 1, "needs a condition") ||
          !operandReg(0, op.a) || !want(opTy(0) && opTy(0)->isBool(), "condition must be i1"))
        return false;
      int64_t t = edge(I, I.successors()[0]);
      if (t < 0)
        return false;
      int64_t e = edge(I, I.successors()[1]);
      if (e < 0)
        return false;
      op.k = K::CondBr;
      op.b = static_cast<uint32_t>(t);
      op.c = static_cast<uint32_t>(e);
      return true;
    }
    case Opcode::Switch: {
      if (!want(I.numSuccessors() >= 1 && I.successors()[0].isDefault,
                "needs a default successor first") ||
          !want(I.numMainOperands() == 1, "needs one operand") || !operandReg(0, op.a))
        return false;
      const Type *t = opTy(0);
      if (!want(t && t->isInt() && validType(t), "switches on a non-integer"))
        return false;
      SwitchInfo si;
      int64_t d = edge(I, I.successors()[0]);
      if (d < 0)
        return false;
      si.defaultEdge = static_cast<uint32_t>(d);
      for (unsigned k = 1; k < I.numSuccessors(); ++k) {
        int64_t e = edge(I, I.successors()[k]);
        if (e < 0)
          return false;
        si.cases.emplace_back(
            norm(static_cast<uint64_t>(I.successors()[k].caseValue), shiftOf(t)),
            static_cast<uint32_t>(e));
      }
      // Case values are distinct (the verifier checks), so any sort is stable.
      std::sort(si.cases.begin(), si.cases.end(),
                [](const auto &x, const auto &y) { return x.first < y.first; });
      op.k = K::Switch;
      op.b = static_cast<uint32_t>(cf->switches.size());
      cf->switches.push_back(std::move(si));
      return true;
    }
    case Opcode::Match: {
      if (!want(I.numMainOperands() == 1, "needs one operand") || !operandReg(0, op.a))
        return false;
      const Type *t = opTy(0);
      if (!want(t && (t->isInt() || t->isEnum()) && validType(t),
                "matches a value that is neither an integer nor an enum"))
        return false;
      MatchInfo mi;
      mi.type = t;
      for (unsigned k = 0; k < I.numSuccessors(); ++k) {
        const Successor &s = I.successors()[k];
        if (s.isDefault) {
          if (!want(mi.defaultEdge < 0 && k + 1 == I.numSuccessors(),
                    "default must be the last edge"))
            return false;
          mi.defaultEdge = edge(I, s);
          if (mi.defaultEdge < 0)
            return false;
          continue;
        }
        llvm::SmallVector<const Type *, 4> bt;
        if (!want(patTypes(s.pattern, t, bt), "has a pattern that does not fit the matched type"))
          return false;
        auto it = blockPc.find(s.block);
        if (!want(s.block && it != blockPc.end(), "branches to a block that is not in the function") ||
            !want(s.numArgs == 0, "passes arguments on a pattern arm") ||
            !want(s.block->numArgs() == bt.size(),
                  "arm target's parameters differ from the pattern's bindings"))
          return false;
        MatchArm arm{s.pattern, it->second, static_cast<uint32_t>(cf->regLists.size()),
                     static_cast<uint32_t>(bt.size())};
        for (unsigned j = 0; j < bt.size(); ++j) {
          if (!want(s.block->arg(j)->type() == bt[j],
                    "arm target's parameter type differs from the bound value's"))
            return false;
          cf->regLists.push_back(s.block->arg(j)->id());
        }
        mi.arms.push_back(arm);
      }
      op.k = K::Match;
      op.b = static_cast<uint32_t>(cf->matches.size());
      cf->matches.push_back(std::move(mi));
      return true;
    }
    case Opcode::Ret: {
      const Type *rt = f.returnType();
      if (rt && rt->isVoid()) {
        if (!want(nops == 0, "returns a value from a void function"))
          return false;
        op.k = K::RetVoid;
        return true;
      }
      if (!want(nops == 1, "must return a value") || !operandReg(0, op.a) ||
          !want(opTy(0) == rt && validType(rt), "returns a value of the wrong type"))
        return false;
      op.k = K::Ret;
      return true;
    }
    case Opcode::Unreachable:
      op.k = K::Unreachable;
      return true;
    case Opcode::Panic:
      op.k = K::Panic;
      return true;
    case Opcode::DbgValue:
      break;
    case Opcode::Await: {
      const Function *callee = I.callee();
      if (!want(callee != nullptr, "has no callee"))
        return false;
      const RtFnInfo *rt = runtimeFnFor(callee->name());
      if (!callee->isDeclaration() || !rt || !isPollForm(rt->fn)) {
        err = "awaits @" + callee->name().str() +
              ", which is not a poll-form runtime operation the interpreter "
              "implements (qz_chan_send_poll, qz_chan_recv_poll, qz_usleep_poll, "
              "qz_yield_poll, qz_actor_recv_poll, qz_actor_stop_poll, qz_actor_send_poll)";
        return false;
      }
      if (callee->type()->str() != rt->signature) {
        err = "awaits runtime function @" + callee->name().str() + " declared as " +
              typeStr(callee->type()) + "; the interpreter implements it as " +
              rt->signature;
        return false;
      }
      auto params = callee->type()->params();
      if (!want(nops + 1 == params.size(), "passes the wrong number of arguments") ||
          !want(I.type() == callee->returnType(), "result type must be i64"))
        return false;
      op.k = K::Await;
      op.a = static_cast<uint32_t>(cf->regLists.size());
      op.b = static_cast<uint32_t>(rt->fn);
      op.c = nops;
      for (unsigned k = 0; k < nops; ++k) {
        uint32_t r;
        if (!operandReg(k, r))
          return false;
        if (!want(opTy(k) == params[k], "argument type differs from the parameter's"))
          return false;
        cf->regLists.push_back(r);
      }
      return true;
    }
    case Opcode::FuncAddr: {
      const Function *callee = I.callee();
      if (!want(nops == 0, "takes no operands") ||
          !want(callee && callee->parent() == f.parent(),
                "names no function of this module") ||
          !want(I.type() && I.type()->isPtr(), "result must be ptr"))
        return false;
      op.k = K::FuncAddr;
      op.a = funcId(callee);
      return true;
    }
    case Opcode::HeapNew: {
      const Type *t = I.auxType();
      if (!want(nops == 0, "takes no operands") ||
          !want(validType(t), "allocates a type that has no values") ||
          !want(I.type() && I.type()->isPtr(), "result must be ptr"))
        return false;
      op.k = K::HeapNew;
      op.b = static_cast<uint32_t>(cf->types.size());
      cf->types.push_back(t);
      op.c = layout(t).cells;
      return true;
    }
    case Opcode::HeapFree:
      if (!want(nops == 1, "needs one operand") || !operandReg(0, op.a) ||
          !want(opTy(0) && opTy(0)->isPtr(), "frees a non-pointer"))
        return false;
      op.k = K::HeapFree;
      return true;
    }
    err = "cannot be interpreted";
    return false;
  };

  for (const Block &b : f.blocks()) {
    for (const Instruction &I : b.insts()) {
      if (I.opcode() == Opcode::DbgValue)
        continue;
      Op op;
      err.clear();
      if (!translateInst(I, op)) {
        op = Op();
        op.k = K::Malformed;
        op.inst = &I;
        op.a = static_cast<uint32_t>(cf->messages.size());
        cf->messages.push_back("malformed IR: " + I.opcodeName().str() +
                               " instruction " + err);
      }
      cf->code.push_back(op);
    }
    if (!b.terminator()) {
      Op op;
      op.k = K::Malformed;
      op.a = static_cast<uint32_t>(cf->messages.size());
      cf->messages.push_back("malformed IR: block " +
                             (b.name().empty() ? "bb" + std::to_string(b.id())
                                               : b.name().str()) +
                             " does not end with a terminator");
      cf->code.push_back(op);
    }
  }

  cf->numRegs = cf->constBase + static_cast<uint32_t>(cf->consts.size());
  for (const Argument *a : f.args())
    cf->paramRegs.push_back(a->id());
  return cf;
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

Slot *Interpreter::Impl::resolveSlow(int64_t p, const Type *t, const char *what) {
  if (p == 0) {
    memError_ = std::string(what) + " through a null pointer";
    return nullptr;
  }
  if (p < 0) {
    memError_ = std::string(what) +
                ((static_cast<uint64_t>(p) & kVecTag) == kVecTag
                     ? " through a runtime handle (a vector, channel, task, actor or "
                       "function address), not a pointer to memory"
                     : " through a pointer to a string constant");
    return nullptr;
  }
  uint64_t id = static_cast<uint64_t>(p) >> kOffsetBits;
  uint32_t off = static_cast<uint32_t>(p & kMaxOffset);
  const Type *objTy = nullptr;
  Slot *base = nullptr;
  if (const AllocRec *rec = findAlloc(allocs_, id)) {
    objTy = rec->type;
    base = cells_.data() + rec->base;
  } else if (auto it = heap_.find(id); it != heap_.end()) {
    if (it->second.freed) {
      memError_ = std::string(what) + " through a pointer to a freed object (use after free)";
      return nullptr;
    }
    objTy = it->second.type;
    base = it->second.cells.get();
  } else {
    // An alloca of another task, alive while that task is suspended.
    for (const auto &h : hosts_) {
      if (h->ctx.allocs.empty())
        continue;
      if (const AllocRec *rec = findAlloc(h->ctx.allocs, id)) {
        objTy = rec->type;
        base = h->ctx.cells.data() + rec->base;
        break;
      }
    }
  }
  if (!objTy) {
    memError_ = std::string(what) +
                (id < nextAllocId_
                     ? " through a dangling pointer (its alloca's call has returned)"
                     : " through an invalid pointer");
    return nullptr;
  }
  if (!(off == 0 && objTy == t) && !containsAt(objTy, off, t)) {
    memError_ = std::string(what) + " of " + t->str() +
                " through a pointer that does not point at one (it points " +
                std::to_string(off) + " cells into a " + objTy->str() + ")";
    return nullptr;
  }
  return base + off;
}

Slot Interpreter::Impl::readCells(const Type *t, const Slot *cell) {
  if (t->isStruct()) {
    const Layout &l = layout(t);
    AggRef a(new Agg());
    a->type = t;
    a->fields.reserve(t->fields().size());
    for (unsigned i = 0; i < t->fields().size(); ++i)
      a->fields.push_back(readCells(t->fields()[i], cell + l.offsets[i]));
    Slot s;
    s.a = std::move(a);
    return s;
  }
  if (t->isEnum())
    return cell->a ? *cell : zeroOf(t);
  Slot s;
  s.i = cell->i;
  return s;
}

void Interpreter::Impl::writeCells(const Type *t, Slot *cell, const Slot &v) {
  if (t->isStruct()) {
    const Layout &l = layout(t);
    const Agg *a = aggOf(v, t);
    for (unsigned i = 0; i < t->fields().size(); ++i)
      writeCells(t->fields()[i], cell + l.offsets[i], a->fields[i]);
    return;
  }
  if (t->isEnum())
    cell->a = v.a;
  else
    cell->i = v.i;
}

bool Interpreter::Impl::heapNew(const Type *t, uint32_t size, int64_t &p) {
  if (nextAllocId_ > kMaxAllocId) {
    memError_ = "too many allocations";
    return false;
  }
  if (heapCells_ + size > kMaxCells) {
    memError_ = "heap memory limit exceeded (new)";
    return false;
  }
  uint64_t id = nextAllocId_++;
  HeapObj &o = heap_[id];
  o.type = t;
  o.size = size;
  o.cells = std::make_unique<Slot[]>(size ? size : 1); // zero-initialised
  heapCells_ += size;
  p = static_cast<int64_t>(id << kOffsetBits);
  return true;
}

bool Interpreter::Impl::heapFree(int64_t p) {
  if (p == 0) // like C's free(NULL)
    return true;
  if (p < 0) {
    memError_ = "free of a string constant or runtime handle (not made by new)";
    return false;
  }
  uint64_t id = static_cast<uint64_t>(p) >> kOffsetBits;
  auto it = heap_.find(id);
  if (it == heap_.end()) {
    memError_ = id < nextAllocId_ ? "free of a pointer that was not made by new (an alloca)"
                                  : "free of an invalid pointer";
    return false;
  }
  if (it->second.freed) {
    memError_ = "double free of an object made by new";
    return false;
  }
  if (p & static_cast<int64_t>(kMaxOffset)) {
    memError_ = "free of a pointer into the middle of an object";
    return false;
  }
  it->second.freed = true;
  it->second.cells.reset();
  heapCells_ -= it->second.size;
  return true;
}

uint32_t Interpreter::Impl::funcId(const Function *f) {
  auto [it, inserted] = funcIds_.try_emplace(f, static_cast<uint32_t>(funcTable_.size()));
  if (inserted)
    funcTable_.push_back(f);
  return it->second;
}

bool Interpreter::Impl::matchPat(const Pattern *p, const Slot &v, const Type *t) {
  switch (p->kind) {
  case Pattern::Wildcard:
    return true;
  case Pattern::Bind:
    binds_.push_back(v);
    return true;
  case Pattern::Int:
    return v.i == norm(static_cast<uint64_t>(p->intValue), shiftOf(t));
  case Pattern::Variant: {
    const Agg *a = aggOf(v, t);
    if (a->tag != p->variant)
      return false;
    auto fts = t->variants()[p->variant].fields;
    for (unsigned i = 0; i < fts.size(); ++i)
      if (!matchPat(p->fields[i], a->fields[i], fts[i]))
        return false;
    return true;
  }
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Execution
//===----------------------------------------------------------------------===//

InterpResult Interpreter::Impl::run(const Function &f, llvm::ArrayRef<int64_t> args) {
  executed_ = 0;
  clearStacks();
  if (!heap_.empty()) {
    heap_.clear();
    heapCells_ = 0;
  }
  InterpResult res;
  auto fail = [&](std::string msg) {
    res.kind = InterpResult::Trapped;
    res.message = std::move(msg);
    res.function = &f;
    return res;
  };
  if (f.isDeclaration())
    return fail("cannot run @" + f.name().str() + ": it is only declared");
  bool tasks = isTaskProgram();
  // After coro-split: @main.task(%frame, %self) is the root task's poll
  // function, over a zeroed main.frame.
  if (tasks && args.empty() && f.name() == "main.task" &&
      f.type()->str() == "fn(ptr, ptr) -> i64")
    return runTasks(f, args, /*pollRoot=*/true);
  if (args.size() != f.args().size())
    return fail("@" + f.name().str() + " takes " + std::to_string(f.args().size()) +
                " arguments, but run() was given " + std::to_string(args.size()));
  for (const Argument *a : f.args())
    if (!a->type() || !a->type()->isInt() || !validType(a->type()))
      return fail("parameter " + std::to_string(a->index()) + " of @" +
                  f.name().str() + " has type " + typeStr(a->type()) +
                  "; run() passes integers only");
  if (tasks)
    return runTasks(f, args, /*pollRoot=*/false);
  CFunc *cf = get(f);
  regs_.resize(cf->numRegs);
  for (size_t k = 0; k < cf->consts.size(); ++k)
    regs_[cf->constBase + k] = cf->consts[k];
  for (unsigned k = 0; k < args.size(); ++k)
    regs_[cf->paramRegs[k]].i =
        norm(static_cast<uint64_t>(args[k]), shiftOf(f.args()[k]->type()));
  frames_.push_back(Frame{cf, 0, 0, 0, 0, 0});
  return execute();
}

InterpResult Interpreter::Impl::execute() {
  Frame *fr = &frames_.back();
  CFunc *cf = fr->cf;
  const Op *code = cf->code.data();
  Slot *R = regs_.data() + fr->base;
  uint32_t pc = fr->pc;
  const uint64_t limit =
      opts_.instructionLimit ? opts_.instructionLimit : UINT64_MAX;
  uint64_t n = executed_; // tasks: counted across polls
  const Op *cur = nullptr;

  auto finish = [&](InterpResult::Kind kind, std::string msg) {
    InterpResult res;
    res.kind = kind;
    res.message = std::move(msg);
    res.inst = cur ? cur->inst : nullptr;
    res.function = cf->fn;
    executed_ = n;
    clearStacks();
    return res;
  };
#define TRAP(msg) return finish(InterpResult::Trapped, (msg))
#define PANIC(msg) return finish(InterpResult::Panicked, (msg))
  // A panic of a runtime function or of code the interpreter stands in for
  // (actor stubs): no source location, as native code prints it.
  auto panicNoLoc = [&](std::string msg) {
    InterpResult res = finish(InterpResult::Panicked, std::move(msg));
    res.inst = nullptr;
    return res;
  };

  auto takeEdge = [&](uint32_t e) {
    const Edge &E = cf->edges[e];
    const Move *mv = cf->moves.data() + E.firstMove;
    for (uint32_t k = 0; k < E.numMoves; ++k) {
      if (LLVM_LIKELY(!mv[k].agg))
        R[mv[k].dst].i = R[mv[k].src].i;
      else
        R[mv[k].dst].a = R[mv[k].src].a;
    }
    pc = E.target;
  };

  for (;;) {
    const Op &op = code[pc++];
    cur = &op;
    if (LLVM_UNLIKELY(n >= limit))
      TRAP("instruction limit exceeded");
    ++n;
    switch (op.k) {
    case K::Add:
      R[op.dst].i = norm(static_cast<uint64_t>(R[op.a].i) + static_cast<uint64_t>(R[op.b].i), op.sh);
      break;
    case K::Sub:
      R[op.dst].i = norm(static_cast<uint64_t>(R[op.a].i) - static_cast<uint64_t>(R[op.b].i), op.sh);
      break;
    case K::Mul:
      R[op.dst].i = norm(static_cast<uint64_t>(R[op.a].i) * static_cast<uint64_t>(R[op.b].i), op.sh);
      break;
    case K::And:
      R[op.dst].i = R[op.a].i & R[op.b].i;
      break;
    case K::Or:
      R[op.dst].i = R[op.a].i | R[op.b].i;
      break;
    case K::Xor:
      R[op.dst].i = R[op.a].i ^ R[op.b].i;
      break;
    case K::Shl: {
      unsigned amt = static_cast<unsigned>(zx(R[op.b].i, op.sh) % (64 - op.sh));
      R[op.dst].i = norm(static_cast<uint64_t>(R[op.a].i) << amt, op.sh);
      break;
    }
    case K::LShr: {
      unsigned amt = static_cast<unsigned>(zx(R[op.b].i, op.sh) % (64 - op.sh));
      R[op.dst].i = norm(zx(R[op.a].i, op.sh) >> amt, op.sh);
      break;
    }
    case K::AShr: {
      unsigned amt = static_cast<unsigned>(zx(R[op.b].i, op.sh) % (64 - op.sh));
      R[op.dst].i = norm(static_cast<uint64_t>(sx(R[op.a].i, op.sh) >> amt), op.sh);
      break;
    }
    case K::SDiv:
    case K::SRem: {
      int64_t b = sx(R[op.b].i, op.sh);
      if (LLVM_UNLIKELY(b == 0))
        PANIC("division by zero");
      int64_t a = sx(R[op.a].i, op.sh);
      uint64_t r;
      if (b == -1) // MIN / -1 overflows: wraps to MIN, and the remainder is 0
        r = op.k == K::SDiv ? 0 - static_cast<uint64_t>(a) : 0;
      else
        r = static_cast<uint64_t>(op.k == K::SDiv ? a / b : a % b);
      R[op.dst].i = norm(r, op.sh);
      break;
    }
    case K::UDiv:
    case K::URem: {
      uint64_t b = zx(R[op.b].i, op.sh);
      if (LLVM_UNLIKELY(b == 0))
        PANIC("division by zero");
      uint64_t a = zx(R[op.a].i, op.sh);
      R[op.dst].i = norm(op.k == K::UDiv ? a / b : a % b, op.sh);
      break;
    }
    case K::Eq:
      R[op.dst].i = R[op.a].i == R[op.b].i;
      break;
    case K::Ne:
      R[op.dst].i = R[op.a].i != R[op.b].i;
      break;
    case K::Slt:
      R[op.dst].i = sx(R[op.a].i, op.sh) < sx(R[op.b].i, op.sh);
      break;
    case K::Sle:
      R[op.dst].i = sx(R[op.a].i, op.sh) <= sx(R[op.b].i, op.sh);
      break;
    case K::Sgt:
      R[op.dst].i = sx(R[op.a].i, op.sh) > sx(R[op.b].i, op.sh);
      break;
    case K::Sge:
      R[op.dst].i = sx(R[op.a].i, op.sh) >= sx(R[op.b].i, op.sh);
      break;
    case K::Ult:
      R[op.dst].i = zx(R[op.a].i, op.sh) < zx(R[op.b].i, op.sh);
      break;
    case K::Ule:
      R[op.dst].i = zx(R[op.a].i, op.sh) <= zx(R[op.b].i, op.sh);
      break;
    case K::Ugt:
      R[op.dst].i = zx(R[op.a].i, op.sh) > zx(R[op.b].i, op.sh);
      break;
    case K::Uge:
      R[op.dst].i = zx(R[op.a].i, op.sh) >= zx(R[op.b].i, op.sh);
      break;
    case K::Select:
      R[op.dst].i = (R[op.a].i & 1) ? R[op.b].i : R[op.c].i;
      break;
    case K::SelectAgg: {
      AggRef v = (R[op.a].i & 1) ? R[op.b].a : R[op.c].a;
      R[op.dst].a = std::move(v);
      break;
    }
    case K::ZExt:
      R[op.dst].i = norm(zx(R[op.a].i, op.sh2), op.sh);
      break;
    case K::SExt:
      R[op.dst].i = norm(static_cast<uint64_t>(sx(R[op.a].i, op.sh2)), op.sh);
      break;
    case K::Trunc:
      R[op.dst].i = norm(static_cast<uint64_t>(R[op.a].i), op.sh);
      break;

    case K::Alloca: {
      uint32_t size = op.c;
      if (LLVM_UNLIKELY(nextAllocId_ > kMaxAllocId))
        TRAP("too many allocas");
      uint64_t id = nextAllocId_++;
      uint32_t base;
      // The alloca's register is non-zero iff it already ran in this call.
      // Running it again (in a loop, or after inlining put it there) ends the
      // previous object's lifetime, like a C block-scope variable: its cells
      // are reused and re-zeroed, and old pointers to it become dangling.
      // This keeps memory bounded by the allocas of the live calls.
      if (int64_t prev = R[op.dst].i) {
        uint64_t oldId = static_cast<uint64_t>(prev) >> kOffsetBits;
        auto it = std::lower_bound(
            allocs_.begin() + fr->allocBase, allocs_.end(), oldId,
            [](const AllocRec &r, uint64_t v) { return r.id < v; });
        if (LLVM_UNLIKELY(it == allocs_.end() || it->id != oldId))
          TRAP("internal error: an alloca's previous object is missing");
        base = it->base;
        allocs_.erase(it);
        for (uint32_t k = 0; k < size; ++k)
          cells_[base + k] = Slot();
      } else {
        if (LLVM_UNLIKELY(cells_.size() + size > kMaxCells))
          TRAP("stack memory limit exceeded (alloca)");
        base = static_cast<uint32_t>(cells_.size());
        cells_.resize(cells_.size() + size); // zero-initialised
      }
      allocs_.push_back(AllocRec{id, base, size, cf->types[op.b]});
      R[op.dst].i = static_cast<int64_t>(id << kOffsetBits);
      break;
    }
    case K::Load:
    case K::LoadAgg: {
      const Type *t = cf->types[op.b];
      Slot *cell = resolve(R[op.a].i, t, "load");
      if (LLVM_UNLIKELY(!cell))
        TRAP(memError_);
      if (op.k == K::Load) {
        if (t->isEnum())
          R[op.dst].a = cell->a ? cell->a : zeroOf(t).a;
        else
          R[op.dst].i = cell->i;
      } else {
        Slot v = readCells(t, cell);
        R[op.dst].a = std::move(v.a);
      }
      break;
    }
    case K::Store:
    case K::StoreAgg: {
      const Type *t = cf->types[op.c];
      Slot *cell = resolve(R[op.b].i, t, "store");
      if (LLVM_UNLIKELY(!cell))
        TRAP(memError_);
      if (op.k == K::Store) {
        if (t->isEnum())
          cell->a = R[op.a].a;
        else
          cell->i = R[op.a].i;
      } else {
        Slot v = R[op.a]; // keep the value alive while writing
        writeCells(t, cell, v);
      }
      break;
    }
    case K::FieldAddr: {
      if (LLVM_UNLIKELY(!resolve(R[op.a].i, cf->types[op.b], "struct.addr")))
        TRAP(memError_);
      // The field lies inside the allocation, so the offset cannot overflow.
      R[op.dst].i = R[op.a].i + op.c;
      break;
    }

    case K::StructMake:
    case K::EnumMake: {
      const Type *t = cf->types[op.b];
      bool isEnum = op.k == K::EnumMake;
      unsigned nf = isEnum ? t->variants()[op.c].fields.size() : t->fields().size();
      AggRef a(new Agg());
      a->type = t;
      a->tag = isEnum ? op.c : 0;
      a->fields.reserve(nf);
      for (unsigned k = 0; k < nf; ++k)
        a->fields.push_back(R[cf->regLists[op.a + k]]);
      R[op.dst].a = std::move(a);
      break;
    }
    case K::StructExtract: {
      const Type *t = op.inst->auxType();
      const Agg *a = aggOf(R[op.a], t);
      if (LLVM_UNLIKELY(a->type != t || op.c >= a->fields.size()))
        TRAP("internal error: struct.extract on a value of another type");
      Slot v = a->fields[op.c];
      R[op.dst] = std::move(v);
      break;
    }
    case K::StructInsert: {
      const Type *st = op.inst->auxType();
      const Agg *a = aggOf(R[op.a], st);
      if (LLVM_UNLIKELY(a->type != st || op.c >= a->fields.size()))
        TRAP("internal error: struct.insert on a value of another type");
      AggRef copy(new Agg(*a));
      copy->fields[op.c] = R[op.b];
      R[op.dst].a = std::move(copy);
      break;
    }
    case K::EnumTag: {
      const Agg *a = aggOf(R[op.a], cf->types[op.b]);
      R[op.dst].i = norm(a->tag, op.sh);
      break;
    }
    case K::EnumPayload: {
      const Type *t = cf->types[op.b];
      const Agg *a = aggOf(R[op.a], t);
      unsigned variant = op.c & 0xffff, field = op.c >> 16;
      if (LLVM_UNLIKELY(a->type != t))
        TRAP("internal error: enum.payload on a value of another type");
      if (a->tag != variant)
        TRAP("enum.payload of variant " + t->variants()[variant].name.str() +
             " on a value holding " + t->variants()[a->tag].name.str());
      Slot v = a->fields[field];
      R[op.dst] = std::move(v);
      break;
    }

    case K::Call: {
      if (LLVM_UNLIKELY(frames_.size() >= opts_.maxCallDepth))
        TRAP("call depth limit exceeded");
      CallInfo &ci = cf->calls[op.a];
      if (!ci.cf)
        ci.cf = get(*ci.callee);
      CFunc *callee = ci.cf;
      size_t newBase = regs_.size();
      if (LLVM_UNLIKELY(newBase + callee->numRegs > kMaxRegs))
        TRAP("call stack memory limit exceeded");
      fr->pc = pc;
      uint32_t callerBase = fr->base;
      regs_.resize(newBase + callee->numRegs);
      R = regs_.data() + callerBase;
      Slot *CR = regs_.data() + newBase;
      for (uint32_t k = 0; k < ci.numArgs; ++k)
        CR[callee->paramRegs[k]] = R[cf->regLists[ci.firstArg + k]];
      for (size_t k = 0; k < callee->consts.size(); ++k)
        CR[callee->constBase + k] = callee->consts[k];
      frames_.push_back(Frame{callee, 0, static_cast<uint32_t>(newBase),
                              static_cast<uint32_t>(allocs_.size()),
                              static_cast<uint32_t>(cells_.size()), op.dst});
      fr = &frames_.back();
      cf = callee;
      code = cf->code.data();
      R = CR;
      pc = 0;
      break;
    }
    case K::CallRuntime: {
      int64_t v = R[op.a].i;
      switch (static_cast<Builtin>(op.b)) {
      case Builtin::PrintI64:
      case Builtin::PrintlnI64:
        out_ << v;
        break;
      case Builtin::PrintBool:
      case Builtin::PrintlnBool:
        out_ << ((v & 1) ? "true" : "false");
        break;
      case Builtin::PrintStr:
      case Builtin::PrintlnStr: {
        uint64_t idx = static_cast<uint64_t>(v) & 0xffffffffu;
        if (v >= 0 || (static_cast<uint64_t>(v) & kVecTag) == kVecTag ||
            idx >= strings_.size())
          TRAP("@" + op.inst->callee()->name().str() +
               ": the argument does not point at a string constant");
        out_ << strings_[idx];
        break;
      }
      }
      Builtin b = static_cast<Builtin>(op.b);
      if (b == Builtin::PrintlnI64 || b == Builtin::PrintlnBool ||
          b == Builtin::PrintlnStr)
        out_ << '\n';
      break;
    }
    case K::CallRuntimeN: {
      const uint32_t *args = cf->regLists.data() + op.a;
      auto arg = [&](unsigned k) { return R[args[k]].i; };
      // Vectors are handles: string-bit | vector-bit | index into vecs_.
      auto vecOf = [&](int64_t h) -> std::vector<int64_t> * {
        uint64_t u = static_cast<uint64_t>(h);
        if ((u & kVecTag) != kVecTag || (u & ~kVecTag) >= vecs_.size())
          return nullptr;
        return &vecs_[u & ~kVecTag];
      };
      if (static_cast<RtFn>(op.b) >= kFirstTaskFn) {
        if (LLVM_UNLIKELY(!taskRuntimeCall(op, cf, R))) {
          if (rtPanic_) {
            std::string msg = std::move(*rtPanic_);
            rtPanic_.reset();
            return panicNoLoc(std::move(msg));
          }
          TRAP(memError_);
        }
        break;
      }
      switch (static_cast<RtFn>(op.b)) {
      case RtFn::VecNew:
        if (vecs_.size() >= kMaxVecs)
          TRAP("too many vectors");
        vecs_.emplace_back();
        R[op.dst].i = static_cast<int64_t>(kVecTag | (vecs_.size() - 1));
        break;
      case RtFn::PanicBounds:
        PANIC("index out of bounds: index " + std::to_string(arg(0)) + ", len " +
              std::to_string(arg(1)));
      case RtFn::PanicStr: {
        int64_t v = arg(0);
        uint64_t idx = static_cast<uint64_t>(v) & 0xffffffffu;
        if (v >= 0 || (static_cast<uint64_t>(v) & kVecTag) == kVecTag ||
            idx >= strings_.size())
          TRAP("@qz_panic_str: the argument does not point at a string constant");
        PANIC(strings_[idx].str());
      }
      default: {
        std::vector<int64_t> *v = vecOf(arg(0));
        if (!v)
          TRAP("@" + op.inst->callee()->name().str() +
               ": the argument is not a vector");
        switch (static_cast<RtFn>(op.b)) {
        case RtFn::VecLen:
          R[op.dst].i = static_cast<int64_t>(v->size());
          break;
        case RtFn::VecPush:
          if (++vecElems_ > kMaxVecElems)
            TRAP("vector memory limit exceeded");
          v->push_back(arg(1));
          break;
        case RtFn::VecPop:
          if (v->empty())
            TRAP("@qz_vec_pop on an empty vector");
          R[op.dst].i = v->back();
          v->pop_back();
          --vecElems_;
          break;
        case RtFn::VecGet:
        case RtFn::VecSet: {
          uint64_t i = static_cast<uint64_t>(arg(1));
          if (i >= v->size())
            TRAP("@" + op.inst->callee()->name().str() + ": index " +
                 std::to_string(arg(1)) + " out of range for length " +
                 std::to_string(v->size()) + " (MIR must check it first)");
          if (static_cast<RtFn>(op.b) == RtFn::VecGet)
            R[op.dst].i = (*v)[i];
          else
            (*v)[i] = arg(2);
          break;
        }
        default:
          break;
        }
      }
      }
      break;
    }
    case K::CallUnknown:
      TRAP("call to runtime function @" + op.inst->callee()->name().str() +
           ", which the interpreter does not implement");

    case K::Await: {
      if (LLVM_UNLIKELY(!curHost_))
        TRAP("await outside a task");
      int64_t args[2] = {0, 0};
      const uint32_t *regs = cf->regLists.data() + op.a;
      for (uint32_t k = 0; k < op.c && k < 2; ++k)
        args[k] = R[regs[k]].i;
      int64_t st;
      if (LLVM_UNLIKELY(!pollOp(static_cast<RtFn>(op.b), args, *curHost_, st)))
        TRAP(memError_);
      if (st == QZ_PENDING) {
        // Suspend: the await runs again when the task is polled again.
        fr->pc = pc - 1;
        executed_ = n;
        suspended_ = true;
        return InterpResult();
      }
      R[op.dst].i = st;
      break;
    }
    case K::FuncAddr:
      R[op.dst].i = hostHandle(HostKind::Func, op.a);
      break;
    case K::HeapNew: {
      int64_t p;
      if (LLVM_UNLIKELY(!heapNew(cf->types[op.b], op.c, p)))
        TRAP(memError_);
      R[op.dst].i = p;
      break;
    }
    case K::HeapFree:
      if (LLVM_UNLIKELY(!heapFree(R[op.a].i)))
        TRAP(memError_);
      break;
    case K::Spawn: {
      const CallInfo &ci = cf->calls[op.a];
      llvm::SmallVector<Slot, 8> args;
      for (uint32_t k = 0; k < ci.numArgs; ++k)
        args.push_back(R[cf->regLists[ci.firstArg + k]]);
      int64_t handle;
      std::string name = ci.callee->name().str();
      if (LLVM_UNLIKELY(!spawnTask(ci.callee, TaskHost::Interp, args.data(), 0, &name,
                                   false, handle)))
        TRAP(memError_);
      break;
    }
    case K::SpawnActor: {
      // Before coro-split: the loop task of actor %h runs @F(%h); after a
      // panic the same function runs again in a fresh context.
      const CallInfo &ci = cf->calls[op.a];
      Slot h = R[cf->regLists[ci.firstArg]];
      int32_t ai = actorOf(h.i, op.inst->callee()->name());
      if (LLVM_UNLIKELY(ai < 0))
        TRAP(memError_);
      int64_t handle;
      if (LLVM_UNLIKELY(!spawnTask(ci.callee, TaskHost::Interp, &h, 0, nullptr, false,
                                   handle, ai)))
        TRAP(memError_);
      actors_[static_cast<size_t>(ai)].restart = ActorRec::PreSplit;
      actors_[static_cast<size_t>(ai)].restartFn = ci.callee;
      break;
    }
    case K::ActorNew:
      if (LLVM_UNLIKELY(!actorNew(op.b, R[op.dst].i)))
        TRAP(memError_);
      break;
    case K::ActorStub: {
      int outcome = 0;
      if (LLVM_UNLIKELY(!actorStub(op, cf, R, outcome)))
        TRAP(memError_);
      if (outcome == 1) {
        // Waiting for the reply: the stub runs again when polled again.
        fr->pc = pc - 1;
        executed_ = n;
        suspended_ = true;
        return InterpResult();
      }
      if (outcome == 2) {
        std::string msg = std::move(*rtPanic_);
        rtPanic_.reset();
        return panicNoLoc(std::move(msg));
      }
      break;
    }

    case K::Br:
      takeEdge(op.b);
      break;
    case K::CondBr:
      takeEdge((R[op.a].i & 1) ? op.b : op.c);
      break;
    case K::Switch: {
      const SwitchInfo &si = cf->switches[op.b];
      int64_t v = R[op.a].i;
      uint32_t e = si.defaultEdge;
      auto it = std::lower_bound(
          si.cases.begin(), si.cases.end(), v,
          [](const std::pair<int64_t, uint32_t> &c, int64_t x) { return c.first < x; });
      if (it != si.cases.end() && it->first == v)
        e = it->second;
      takeEdge(e);
      break;
    }
    case K::Match: {
      const MatchInfo &mi = cf->matches[op.b];
      const Slot &v = R[op.a];
      const MatchArm *hit = nullptr;
      for (const MatchArm &arm : mi.arms) {
        binds_.clear();
        if (matchPat(arm.pat, v, mi.type)) {
          hit = &arm;
          break;
        }
      }
      if (hit) {
        // The bound values were copied out, so a target parameter may safely
        // overwrite the matched register.
        for (uint32_t k = 0; k < hit->numParams; ++k)
          R[cf->regLists[hit->firstParam + k]] = std::move(binds_[k]);
        binds_.clear();
        pc = hit->target;
      } else if (mi.defaultEdge >= 0) {
        takeEdge(static_cast<uint32_t>(mi.defaultEdge));
      } else {
        TRAP("match: no arm matches the value and there is no default");
      }
      break;
    }
    case K::Ret:
    case K::RetVoid: {
      Slot v;
      if (op.k == K::Ret)
        v = R[op.a];
      uint32_t dst = fr->retDst;
      bool retInt = cf->returnsInt;
      allocs_.resize(fr->allocBase);
      cells_.resize(fr->cellBase);
      regs_.resize(fr->base);
      frames_.pop_back();
      if (frames_.empty()) {
        InterpResult res;
        res.value = retInt ? v.i : 0;
        lastRet_ = std::move(v);
        executed_ = n;
        clearStacks();
        return res;
      }
      fr = &frames_.back();
      cf = fr->cf;
      code = cf->code.data();
      R = regs_.data() + fr->base;
      pc = fr->pc;
      if (op.k == K::Ret)
        R[dst] = std::move(v);
      break;
    }
    case K::Unreachable:
      TRAP("unreachable executed");
    case K::Panic:
      PANIC(op.inst->message().str());
    case K::Malformed:
      TRAP(cf->messages[op.a]);
    }
  }
#undef TRAP
#undef PANIC
}


//===----------------------------------------------------------------------===//
// Tasks
//===----------------------------------------------------------------------===//

namespace {
const char *rtName(RtFn f) {
  switch (f) {
  case RtFn::ChanSendPoll: return "qz_chan_send_poll";
  case RtFn::ChanRecvPoll: return "qz_chan_recv_poll";
  case RtFn::UsleepPoll: return "qz_usleep_poll";
  case RtFn::YieldPoll: return "qz_yield_poll";
  case RtFn::ActorRecvPoll: return "qz_actor_recv_poll";
  case RtFn::ActorStopPoll: return "qz_actor_stop_poll";
  case RtFn::ActorSendPoll: return "qz_actor_send_poll";
  default: return "a runtime operation";
  }
}

uint64_t seedFromEnv() {
  const char *s = std::getenv("QMIR_SEED");
  if (!s || !*s)
    return 0;
  char *end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  return end && *end == '\0' ? static_cast<uint64_t>(v) : 0;
}

/// The restart entry the interpreter gives qz_actor_start. The runtime calls
/// it only from its panic catcher, which only a qz_panic_* call reaches; the
/// interpreter never makes one (it catches its own panics and restarts the
/// loop itself, see actorPanicked), so this is never called.
void restartNotExpected(qz_actor *) {
  std::fputs("qmir interpreter: internal error: the runtime restarted an actor loop\n",
             stderr);
  std::abort();
}

/// Actor names must outlive the program (the runtime never frees an actor):
/// interned for the life of the process.
const char *internActorName(llvm::StringRef name) {
  static std::mutex mu;
  static auto *names = new std::set<std::string, std::less<>>();
  std::lock_guard<std::mutex> lock(mu);
  return names->emplace(name.str()).first->c_str();
}
} // namespace

bool Interpreter::Impl::isTaskProgram() {
  if (taskProgram_ >= 0)
    return taskProgram_ != 0;
  bool t = !m_.actors().empty();
  if (const Function *mt = m_.function("main.task"))
    t = t || !mt->isDeclaration();
  for (const Function &g : m_.functions()) {
    if (t)
      break;
    if (!g.isDeclaration())
      continue;
    if (g.name().starts_with("qz.spawn.") || g.name().starts_with("qz.spawn_actor.")) {
      t = true;
    } else if (const RtFnInfo *rt = runtimeFnFor(g.name())) {
      t = isPollForm(rt->fn) || rt->fn == RtFn::SpawnNamed ||
          rt->fn == RtFn::SpawnPlain || rt->fn == RtFn::TaskSetResult ||
          rt->fn == RtFn::CurrentTask || rt->fn >= kFirstActorFn;
    }
  }
  taskProgram_ = t ? 1 : 0;
  return t;
}

bool Interpreter::Impl::enterFrame(std::vector<Frame> &frames, std::vector<Slot> &regs,
                                   CFunc *cf, const Slot *args) {
  if (regs.size() + cf->numRegs > kMaxRegs) {
    memError_ = "call stack memory limit exceeded";
    return false;
  }
  uint32_t base = static_cast<uint32_t>(regs.size());
  regs.resize(base + cf->numRegs);
  for (size_t k = 0; k < cf->consts.size(); ++k)
    regs[base + cf->constBase + k] = cf->consts[k];
  for (size_t k = 0; k < cf->paramRegs.size(); ++k)
    regs[base + cf->paramRegs[k]] = args[k];
  frames.push_back(Frame{cf, 0, base, 0, 0, 0});
  return true;
}

Interpreter::Impl::TaskHost *Interpreter::Impl::newHost(TaskHost::Kind kind) {
  auto h = std::make_unique<TaskHost>();
  h->impl = this;
  h->index = static_cast<uint32_t>(hosts_.size());
  h->kind = kind;
  hosts_.push_back(std::move(h));
  return hosts_.back().get();
}

Interpreter::Impl::TaskHost *Interpreter::Impl::taskOf(int64_t handle) {
  uint64_t i;
  if (!hostIndex(handle, HostKind::Task, i) || i >= hosts_.size())
    return nullptr;
  return hosts_[i].get();
}

Interpreter::Impl::ChanRec *Interpreter::Impl::chanOf(int64_t handle,
                                                      llvm::StringRef callee) {
  uint64_t i;
  if (hostIndex(handle, HostKind::Chan, i)) {
    auto it = chans_.find(i);
    if (it != chans_.end())
      return &it->second;
    if (i < nextChan_) {
      memError_ = "@" + callee.str() + ": the channel was freed (qz_chan_free)";
      return nullptr;
    }
  }
  memError_ = "@" + callee.str() + ": the argument is not a channel";
  return nullptr;
}

int32_t Interpreter::Impl::actorOf(int64_t handle, llvm::StringRef callee) {
  uint64_t i;
  if (hostIndex(handle, HostKind::Actor, i) && i < actors_.size())
    return static_cast<int32_t>(i);
  // (Twine: GCC 12's -Wrestrict misfires on "@" + std::string at -O3.)
  memError_ = (llvm::Twine("@") + callee + ": the argument is not an actor").str();
  return -1;
}

const char *Interpreter::Impl::cString(int64_t v) {
  uint64_t idx = static_cast<uint64_t>(v) & 0xffffffffu;
  if (v >= 0 || (static_cast<uint64_t>(v) & kVecTag) == kVecTag || idx >= strings_.size())
    return nullptr;
  auto [it, inserted] = cStrings_.try_emplace(static_cast<uint32_t>(idx));
  if (inserted)
    it->second = strings_[idx].str();
  return it->second.c_str();
}

void Interpreter::Impl::endTasks() {
  hosts_.clear();
  // Channels are not freed: an abandoned task may still be parked on one.
  // Actors never are (the runtime keeps them), nor the reply channels of
  // messages still in a mailbox.
  chans_.clear();
  nextChan_ = 0;
  actors_.clear();
  msgs_.clear();
  nextMsg_ = 0;
  curHost_ = nullptr;
  tasksActive_ = false;
  stopping_ = false;
  suspended_ = false;
  failure_.reset();
  rtPanic_.reset();
}

InterpResult Interpreter::Impl::runTasks(const Function &f, llvm::ArrayRef<int64_t> args,
                                         bool pollRoot) {
  InterpResult res;
  auto fail = [&](std::string msg) {
    endTasks();
    clearStacks();
    res.kind = InterpResult::Trapped;
    res.message = std::move(msg);
    res.function = &f;
    return res;
  };
  endTasks();
  TaskHost *root = newHost(pollRoot ? TaskHost::Poll : TaskHost::Interp);
  root->root = true;
  root->fn = &f;
  if (pollRoot) {
    const Type *ft = m_.types().named("main.frame");
    if (!ft || !ft->isStruct() || !validType(ft))
      return fail("@main.task needs a struct type main.frame for its frame");
    if (!heapNew(ft, layout(ft).cells, root->frameVal))
      return fail(memError_);
  } else {
    llvm::SmallVector<Slot, 8> as(args.size());
    for (unsigned k = 0; k < args.size(); ++k)
      as[k].i = norm(static_cast<uint64_t>(args[k]), shiftOf(f.args()[k]->type()));
    if (!enterFrame(root->ctx.frames, root->ctx.regs, get(f), as.data()))
      return fail(memError_);
  }
  tasksActive_ = true;
  uint64_t seed = opts_.seed ? *opts_.seed : seedFromEnv();
  int64_t result = 0;
  int rc = qz_run_seeded(&Impl::pollTask, root, seed, &result);
  tasksActive_ = false;
  if (failure_) {
    res = std::move(*failure_);
  } else if (rc == QZ_RUN_DEADLOCK) {
    const char *report = qz_last_deadlock_report();
    std::string msg = report && *report ? report : "deadlock";
    while (!msg.empty() && msg.back() == '\n')
      msg.pop_back();
    if (!llvm::StringRef(msg).starts_with("deadlock"))
      msg = "deadlock: " + msg;
    res.kind = InterpResult::Deadlocked;
    res.message = std::move(msg);
    res.function = &f;
  } else if (rc != QZ_RUN_DONE) {
    res.kind = InterpResult::Trapped;
    res.message = "the runtime's deterministic run failed (status " +
                  std::to_string(rc) + ")";
    res.function = &f;
  } else {
    res.value = result;
  }
  endTasks();
  clearStacks();
  return res;
}

int64_t Interpreter::Impl::pollTask(void *frame, qz_task *self) {
  TaskHost &h = *static_cast<TaskHost *>(frame);
  Impl &I = *h.impl;
  if (h.done)
    return QZ_READY;
  if (I.stopping_)
    return QZ_PENDING;
  if (I.curHost_) {
    // The runtime polled a task from inside another's poll: never expected
    // of the deterministic mode; stop rather than corrupt a context.
    InterpResult r;
    r.kind = InterpResult::Trapped;
    r.message = "internal error: a task was polled while another task runs";
    I.failure_ = std::move(r);
    I.stopping_ = true;
    return QZ_PENDING;
  }
  h.task = self;
  return I.pollHost(h);
}

void Interpreter::Impl::failRun(InterpResult r) {
  if (!failure_)
    failure_ = std::move(r);
  stopping_ = true;
  clearStacks();
}

void Interpreter::Impl::trapTask(const TaskHost &h, std::string msg) {
  InterpResult r;
  r.kind = InterpResult::Trapped;
  r.message = std::move(msg);
  r.function = h.fn;
  failRun(std::move(r));
}

int64_t Interpreter::Impl::pollHost(TaskHost &h) {
  curHost_ = &h;
  swapContext(h.ctx);
  int64_t status = h.kind == TaskHost::ActorLoop ? pollActorLoop(h) : pollContext(h);
  swapContext(h.ctx);
  curHost_ = nullptr;
  if (status == QZ_READY) {
    h.done = true;
    h.ctx = Context(); // release its memory: many short tasks may finish
  }
  return status;
}

int64_t Interpreter::Impl::pollContext(TaskHost &h) {
  if (frames_.empty() && h.kind == TaskHost::Interp) {
    trapTask(h, "internal error: a task was polled after its function returned");
    return QZ_PENDING;
  }
  if (frames_.empty()) {
    // A poll-function task: call fn(frame, self) afresh.
    Slot a[2];
    a[0].i = h.frameVal;
    a[1].i = hostHandle(HostKind::Task, h.index);
    if (!enterFrame(frames_, regs_, get(*h.fn), a)) {
      trapTask(h, memError_);
      return QZ_PENDING;
    }
  }
  suspended_ = false;
  InterpResult r = execute();
  auto waiting = [&] {
    return std::string(" while its task waits in @") + rtName(h.parkedFn) +
           " (a task must call a pending operation again until it is ready)";
  };
  if (suspended_) {
    suspended_ = false;
    return QZ_PENDING;
  }
  if (r.kind == InterpResult::Panicked && h.actor >= 0)
    return actorPanicked(h, r);
  if (r.kind != InterpResult::Returned) {
    failRun(std::move(r));
    return QZ_PENDING;
  }
  if (h.kind == TaskHost::Poll) {
    if (r.value == QZ_PENDING)
      return QZ_PENDING; // polled again later, from the start of fn
    if (r.value != QZ_READY) {
      trapTask(h, "poll function @" + h.fn->name().str() + " returned " +
                      std::to_string(r.value) + " (expected 0, ready, or 1, pending)");
      return QZ_PENDING;
    }
    if (h.parked) {
      trapTask(h, "poll function @" + h.fn->name().str() + " returned ready" + waiting());
      return QZ_PENDING;
    }
    return QZ_READY;
  }
  if (h.parked) {
    trapTask(h, "@" + h.fn->name().str() + " returned" + waiting());
    return QZ_PENDING;
  }
  if (h.root)
    qz_task_set_result(h.task, r.value);
  return QZ_READY;
}

//===----------------------------------------------------------------------===//
// Actors
//===----------------------------------------------------------------------===//

int64_t Interpreter::Impl::actorPanicked(TaskHost &h, const InterpResult &r) {
  const int32_t ai = h.actor;
  const ActorRec ar = actors_[static_cast<size_t>(ai)]; // restarts may grow actors_
  if (h.parked) {
    // Native: a fatal error of the runtime (the task is parked).
    trapTask(h, "actor " + std::string(ar.name) + " panicked (" + r.message +
                    ") while its task waits in @" + rtName(h.parkedFn));
    return QZ_PENDING;
  }
  // What the runtime's catcher prints (runtime/actor.cpp): stdout first.
  const char *method = qz_actor_current_method(ar.a);
  out_.flush();
  err_ << "actor " << ar.name << " panicked";
  if (method)
    err_ << " in " << method << "()";
  err_ << ": " << r.message;
  std::string where = r.inst ? formatSourceLoc(m_, r.inst->loc()) : std::string();
  if (!where.empty())
    err_ << " at " << where;
  err_ << "\n";
  err_.flush();
  qz_actor_panicked(ar.a);
  // The context (frames, registers, allocas) is gone already; the message
  // being handled is the runtime's failed one now.
  h.curMsg = 0;
  // The runtime frees the frame it was given (the poll function's frame).
  if (h.kind == TaskHost::Poll && !heapFree(h.frameVal)) {
    trapTask(h, "after actor " + std::string(ar.name) + " panicked, freeing its frame: " +
                    memError_);
    return QZ_PENDING;
  }
  // A fresh loop, started while the old task still counts as live (as the
  // runtime does it: the deadlock detector never sees the actor without one).
  Slot hs;
  hs.i = hostHandle(HostKind::Actor, static_cast<uint64_t>(ai));
  int64_t task;
  switch (ar.restart) {
  case ActorRec::PreSplit:
    if (!spawnTask(ar.restartFn, TaskHost::Interp, &hs, 0, nullptr, false, task, ai)) {
      trapTask(h, memError_);
      return QZ_PENDING;
    }
    break;
  case ActorRec::Unlowered:
    if (!spawnTask(m_.actors()[ar.decl].init, TaskHost::ActorLoop, nullptr, 0, nullptr,
                   false, task, ai)) {
      trapTask(h, memError_);
      return QZ_PENDING;
    }
    break;
  case ActorRec::PostSplit: {
    // The restart entry given to qz_actor_start, called with the actor.
    if (!enterFrame(frames_, regs_, get(*ar.restartFn), &hs)) {
      trapTask(h, memError_);
      return QZ_PENDING;
    }
    suspended_ = false;
    InterpResult rr = execute();
    if (suspended_) {
      suspended_ = false;
      clearStacks();
      trapTask(h, "the restart entry @" + ar.restartFn->name().str() + " of actor " +
                      ar.name + " suspended");
      return QZ_PENDING;
    }
    if (rr.kind != InterpResult::Returned) {
      failRun(std::move(rr));
      return QZ_PENDING;
    }
    break;
  }
  case ActorRec::None:
    trapTask(h, "internal error: actor " + std::string(ar.name) + " has no loop to restart");
    return QZ_PENDING;
  }
  return QZ_READY;
}

std::string Interpreter::Impl::methodName(const ActorDecl &d, const Function *impl) {
  llvm::StringRef full = impl->name();
  return full.starts_with(d.name) && full.size() > d.name.size() + 1
             ? full.drop_front(d.name.size() + 1).str()
             : full.str();
}

const Interpreter::Impl::StubInfo *Interpreter::Impl::stubInfo(const Function *callee) {
  if (m_.actors().empty() || !callee->isDeclaration())
    return nullptr;
  if (!stubs_) {
    stubs_.emplace();
    for (uint32_t k = 0; k < m_.actors().size(); ++k) {
      const ActorDecl &d = m_.actors()[k];
      if (const Function *f = m_.function(d.name.str() + ".new"))
        if (f->isDeclaration())
          (*stubs_)[f] = StubInfo{k, -1, false};
      for (size_t j = 0; j < d.methods.size(); ++j) {
        const Function *impl = d.methods[j];
        if (!impl || !impl->returnType())
          continue;
        bool sync = !impl->returnType()->isVoid();
        const Function *f = m_.function(impl->name().str() + (sync ? ".call" : ".send"));
        if (f && f->isDeclaration())
          (*stubs_)[f] = StubInfo{k, static_cast<int32_t>(j), sync};
      }
    }
  }
  auto it = stubs_->find(callee);
  return it == stubs_->end() ? nullptr : &it->second;
}

bool Interpreter::Impl::actorNew(uint32_t decl, int64_t &handle) {
  if (!tasksActive_ || !curHost_) {
    memError_ = "an actor created outside a running task";
    return false;
  }
  if (actors_.size() >= kMaxActors) {
    memError_ = "too many actors";
    return false;
  }
  // As actor-lower's @A.new: the fields, the runtime actor, its loop task.
  const ActorDecl &d = m_.actors()[decl];
  int64_t state;
  if (!heapNew(d.state, layout(d.state).cells, state))
    return false;
  ActorRec rec;
  rec.name = internActorName(d.name);
  rec.a = qz_actor_create(rec.name, opaque(state));
  rec.restart = ActorRec::Unlowered;
  rec.decl = decl;
  rec.state = state;
  actors_.push_back(rec);
  int32_t ai = static_cast<int32_t>(actors_.size() - 1);
  handle = hostHandle(HostKind::Actor, static_cast<uint64_t>(ai));
  int64_t task;
  return spawnTask(d.init, TaskHost::ActorLoop, nullptr, 0, nullptr, false, task, ai);
}

bool Interpreter::Impl::msgIndex(void *msg, uint32_t decl, uint64_t &index) {
  if (hostIndex(fromOpaque(msg), HostKind::Msg, index)) {
    auto it = msgs_.find(index);
    if (it != msgs_.end() && it->second.decl == decl)
      return true;
  }
  memError_ = "internal error: the mailbox of actor " + m_.actors()[decl].name.str() +
              " holds something that is not one of its messages";
  return false;
}

bool Interpreter::Impl::failMsg(void *msg, uint32_t decl, int64_t status) {
  uint64_t i;
  if (!msgIndex(msg, decl, i))
    return false;
  ActorMsg &m = msgs_.find(i)->second;
  if (m.reply) // the caller gets the status and drops the message
    qz_chan_try_send(m.reply, status);
  else
    msgs_.erase(i);
  return true;
}

bool Interpreter::Impl::actorStub(const Op &op, CFunc *cf, Slot *R, int &outcome) {
  TaskHost *self = curHost_;
  const ActorDecl &d = m_.actors()[op.b];
  const CallInfo &ci = cf->calls[op.a];
  const Function *impl = ci.callee;
  const bool sync = !impl->returnType()->isVoid();
  llvm::StringRef stub = op.inst->callee()->name();
  if (!tasksActive_ || !self || !self->task) {
    memError_ = "@" + stub.str() + " outside a task";
    return false;
  }
  const uint32_t *regs = cf->regLists.data() + ci.firstArg;
  std::string notRunning = "actor " + d.name.str() + " is not running";
  if (!self->stubMsg) {
    // As actor-lower's stub: the message, a reply channel for a result, send.
    int32_t ai = actorOf(R[regs[0]].i, stub);
    if (ai < 0)
      return false;
    if (msgs_.size() >= kMaxMsgs) {
      memError_ = "@" + stub.str() + ": too many actor messages";
      return false;
    }
    ActorMsg msg;
    msg.decl = op.b;
    msg.method = op.c;
    for (uint32_t k = 1; k < ci.numArgs; ++k)
      msg.args.push_back(R[regs[k]]);
    if (sync)
      msg.reply = qz_chan_new(1);
    qz_chan *reply = msg.reply;
    uint64_t idx = nextMsg_++;
    msgs_.try_emplace(idx, std::move(msg));
    if (!qz_actor_send(actors_[static_cast<size_t>(ai)].a,
                       opaque(hostHandle(HostKind::Msg, idx)))) {
      if (reply)
        qz_chan_free(reply);
      msgs_.erase(idx);
      rtPanic_ = std::move(notRunning);
      outcome = 2;
      return true;
    }
    if (!sync) {
      outcome = 0;
      return true;
    }
    self->stubMsg = idx + 1;
  }
  uint64_t idx = self->stubMsg - 1;
  auto it = msgs_.find(idx);
  if (it == msgs_.end()) {
    memError_ = "internal error: @" + stub.str() + " lost the message it waits on";
    return false;
  }
  int64_t st = qz_chan_recv_poll(it->second.reply, &self->recvSlot, self->task);
  if (st == QZ_PENDING) {
    outcome = 1;
    return true;
  }
  self->stubMsg = 0;
  int64_t status = st == QZ_READY ? self->recvSlot : 0;
  qz_chan_free(it->second.reply);
  Slot result = std::move(it->second.result);
  msgs_.erase(it);
  if (status == 1) {
    R[op.dst] = std::move(result);
    outcome = 0;
    return true;
  }
  rtPanic_ = status == 2 ? "actor " + d.name.str() + " panicked in " + methodName(d, impl) + "()"
                         : std::move(notRunning);
  outcome = 2;
  return true;
}

int64_t Interpreter::Impl::pollActorLoop(TaskHost &h) {
  // actor-lower's @A.actor.loop, step by step; the context runs @A.init and
  // the methods (which may suspend), the rest is here.
  const size_t ai = static_cast<size_t>(h.actor);
  const uint32_t decl = actors_[ai].decl;
  const ActorDecl &d = m_.actors()[decl];
  for (;;) {
    qz_actor *a = actors_[ai].a;
    switch (h.phase) {
    case TaskHost::Start: {
      (void)qz_actor_state(a);
      int64_t mode = qz_actor_run_mode(a);
      // The message in flight when the last run panicked.
      if (qz_actor_has_failed(a) && !failMsg(qz_actor_take_failed(a), decl, 2)) {
        trapTask(h, memError_);
        return QZ_PENDING;
      }
      if (mode == QZ_ACTOR_TERMINATING) {
        h.phase = TaskHost::Drain;
        continue;
      }
      Slot st;
      st.i = actors_[ai].state;
      if (!enterFrame(frames_, regs_, get(*d.init), &st)) {
        trapTask(h, memError_);
        return QZ_PENDING;
      }
      h.phase = TaskHost::Init;
      continue;
    }
    case TaskHost::Init:
    case TaskHost::Method: {
      suspended_ = false;
      InterpResult r = execute();
      if (suspended_) {
        suspended_ = false;
        return QZ_PENDING;
      }
      if (r.kind == InterpResult::Panicked)
        return actorPanicked(h, r);
      if (r.kind != InterpResult::Returned) {
        failRun(std::move(r));
        return QZ_PENDING;
      }
      if (h.phase == TaskHost::Method) {
        qz_actor_clear_current(a);
        auto it = msgs_.find(h.curMsg);
        h.curMsg = 0;
        if (it == msgs_.end()) {
          trapTask(h, "internal error: actor " + d.name.str() + " lost its message");
          return QZ_PENDING;
        }
        if (it->second.reply) {
          it->second.result = std::move(lastRet_);
          qz_chan_try_send(it->second.reply, 1);
        } else {
          msgs_.erase(it);
        }
      }
      h.phase = TaskHost::Next;
      continue;
    }
    case TaskHost::Next:
    case TaskHost::Drain: {
      int64_t st = qz_actor_recv_poll(a, &h.mailSlot, h.task);
      if (st == QZ_PENDING)
        return QZ_PENDING;
      if (st != QZ_READY) { // closed and drained
        qz_actor_finished(a);
        return QZ_READY;
      }
      if (h.phase == TaskHost::Drain) {
        if (!failMsg(h.mailSlot, decl, 3)) {
          trapTask(h, memError_);
          return QZ_PENDING;
        }
        continue;
      }
      uint64_t mi;
      if (!msgIndex(h.mailSlot, decl, mi)) {
        trapTask(h, memError_);
        return QZ_PENDING;
      }
      const ActorMsg &msg = msgs_.find(mi)->second;
      const Function *impl = d.methods[msg.method];
      auto [nit, inserted] = methodNames_.try_emplace(impl);
      if (inserted)
        nit->second = methodName(d, impl);
      qz_actor_set_current(a, h.mailSlot, nit->second.c_str());
      llvm::SmallVector<Slot, 6> args;
      args.emplace_back();
      args.back().i = actors_[ai].state;
      args.append(msg.args.begin(), msg.args.end());
      if (!enterFrame(frames_, regs_, get(*impl), args.data())) {
        trapTask(h, memError_);
        return QZ_PENDING;
      }
      h.curMsg = mi;
      h.phase = TaskHost::Method;
      continue;
    }
    }
  }
}

//===----------------------------------------------------------------------===//
// Runtime operations
//===----------------------------------------------------------------------===//

bool Interpreter::Impl::pollOp(RtFn fn, const int64_t *args, TaskHost &self,
                               int64_t &st) {
  if (!tasksActive_ || !self.task) {
    memError_ = std::string("@") + rtName(fn) + " outside a task";
    return false;
  }
  if (self.parked && (self.parkedFn != fn || self.parkedArgs[0] != args[0] ||
                      self.parkedArgs[1] != args[1])) {
    memError_ = std::string("@") + rtName(fn) + " called while the task waits in @" +
                rtName(self.parkedFn) +
                " (a pending operation must be called again with the same arguments)";
    return false;
  }
  ChanRec *cr = nullptr;
  int32_t ai = -1;
  if (fn == RtFn::ChanSendPoll || fn == RtFn::ChanRecvPoll) {
    cr = chanOf(args[0], rtName(fn));
    if (!cr)
      return false;
  } else if (fn == RtFn::ActorRecvPoll || fn == RtFn::ActorStopPoll ||
             fn == RtFn::ActorSendPoll) {
    ai = actorOf(args[0], rtName(fn));
    if (ai < 0)
      return false;
  }
  const bool wasParked = self.parked;
  const Type *i64 = m_.types().i64();
  switch (fn) {
  case RtFn::ChanSendPoll:
    st = qz_chan_send_poll(cr->ch, args[1], self.task);
    break;
  case RtFn::ChanRecvPoll:
    // Check the destination first, so that a bad pointer traps before the
    // task parks. The runtime delivers into the task's host slot (a parked
    // receive is completed by the sender, while this task sleeps).
    if (!resolve(args[1], i64, "qz_chan_recv_poll: store"))
      return false;
    st = qz_chan_recv_poll(cr->ch, &self.recvSlot, self.task);
    if (st == QZ_READY) {
      Slot *cell = resolve(args[1], i64, "qz_chan_recv_poll: store");
      if (!cell)
        return false;
      cell->i = self.recvSlot;
    }
    break;
  case RtFn::ActorRecvPoll: {
    // The message pointer is opaque to the runtime: the bits come back as
    // they were sent.
    const Type *ptr = m_.types().ptr();
    if (!resolve(args[1], ptr, "qz_actor_recv_poll: store"))
      return false;
    st = qz_actor_recv_poll(actors_[static_cast<size_t>(ai)].a, &self.mailSlot, self.task);
    if (st == QZ_READY) {
      Slot *cell = resolve(args[1], ptr, "qz_actor_recv_poll: store");
      if (!cell)
        return false;
      cell->i = fromOpaque(self.mailSlot);
    }
    break;
  }
  case RtFn::ActorStopPoll:
    st = qz_actor_stop_poll(actors_[static_cast<size_t>(ai)].a, self.task);
    break;
  case RtFn::ActorSendPoll:
    // Sent on the first call; a call after PENDING (a yield) sends nothing.
    st = qz_actor_send_poll(actors_[static_cast<size_t>(ai)].a, opaque(args[1]), self.task);
    break;
  case RtFn::UsleepPoll:
    st = qz_usleep_poll(args[0] < 0 ? 0 : args[0], self.task);
    break;
  case RtFn::YieldPoll:
    st = qz_yield_poll(self.task);
    break;
  default:
    memError_ = "internal error: not a poll-form operation";
    return false;
  }
  if (cr) { // who waits on a channel (qz_chan_free must not free it then)
    if (wasParked && cr->parked)
      --cr->parked;
    if (st == QZ_PENDING)
      ++cr->parked;
  }
  self.parked = st == QZ_PENDING;
  self.parkedFn = fn;
  self.parkedArgs[0] = args[0];
  self.parkedArgs[1] = args[1];
  return true;
}

bool Interpreter::Impl::spawnTask(const Function *target, TaskHost::Kind kind,
                                  const Slot *args, int64_t frameVal,
                                  const std::string *name, bool plain, int64_t &handle,
                                  int32_t actor) {
  if (!tasksActive_ || !curHost_) {
    memError_ = "spawn outside a running task";
    return false;
  }
  if (hosts_.size() >= kMaxTasks) {
    memError_ = "too many tasks";
    return false;
  }
  TaskHost *h = newHost(kind);
  h->fn = target;
  h->frameVal = frameVal;
  h->actor = actor;
  if (name)
    h->name = *name;
  if (kind == TaskHost::Interp &&
      !enterFrame(h->ctx.frames, h->ctx.regs, get(*target), args))
    return false;
  if (actor >= 0) // the actor's loop task: the runtime names it after the actor
    qz_actor_start(actors_[static_cast<size_t>(actor)].a, &Impl::pollTask, h,
                   &restartNotExpected);
  else if (plain)
    qz_spawn(&Impl::pollTask, h);
  else
    qz_spawn_named(&Impl::pollTask, h, name ? h->name.c_str() : nullptr);
  handle = hostHandle(HostKind::Task, h->index);
  return true;
}

bool Interpreter::Impl::taskRuntimeCall(const Op &op, CFunc *cf, Slot *R) {
  const uint32_t *regs = cf->regLists.data() + op.a;
  auto arg = [&](unsigned k) { return R[regs[k]].i; };
  RtFn fn = static_cast<RtFn>(op.b);
  llvm::StringRef name = op.inst->callee()->name();
  std::string callee = "@" + name.str();
  auto bad = [&](const std::string &what) {
    memError_ = callee + ": " + what;
    return false;
  };
  auto runningTask = [&](int64_t h) -> TaskHost * {
    TaskHost *t = taskOf(h);
    return t && t == curHost_ ? t : nullptr;
  };
  // A poll or restart function (func.addr) of this module with a body.
  auto funcArg = [&](unsigned k, const char *what, const char *type, const Function *&out) {
    uint64_t fi;
    if (!hostIndex(arg(k), HostKind::Func, fi) || fi >= funcTable_.size())
      return bad("argument " + std::to_string(k + 1) +
                 " is not a function address (func.addr)");
    out = funcTable_[fi];
    if (out->isDeclaration() || out->type()->str() != type)
      return bad("@" + out->name().str() + " is not " + what + " " + type + " with a body");
    return true;
  };
  int32_t ai = -1;
  if (fn >= kFirstActorFn) {
    if (!tasksActive_)
      return bad("called outside a concurrent run");
    if (fn != RtFn::ActorCreate && (ai = actorOf(arg(0), name)) < 0)
      return false;
  }
  qz_actor *a = ai >= 0 ? actors_[static_cast<size_t>(ai)].a : nullptr;
  switch (fn) {
  case RtFn::ChanSendPoll:
  case RtFn::ChanRecvPoll:
  case RtFn::UsleepPoll:
  case RtFn::YieldPoll:
  case RtFn::ActorRecvPoll:
  case RtFn::ActorStopPoll:
  case RtFn::ActorSendPoll: {
    // The explicit form of an await (after coro-split): self comes last.
    TaskHost *self = runningTask(arg(op.c - 1));
    if (!self)
      return bad("the task argument is not the running task");
    int64_t as[2] = {0, 0};
    for (unsigned k = 0; k + 1 < op.c && k < 2; ++k)
      as[k] = arg(k);
    int64_t st;
    if (!pollOp(fn, as, *self, st))
      return false;
    R[op.dst].i = st;
    return true;
  }
  case RtFn::ChanNew: {
    int64_t cap = arg(0);
    if (cap > kMaxChanCap)
      return bad("channel capacity too large");
    if (chans_.size() >= kMaxChans)
      return bad("too many channels");
    uint64_t idx = nextChan_++;
    chans_[idx].ch = qz_chan_new(cap);
    R[op.dst].i = hostHandle(HostKind::Chan, idx);
    return true;
  }
  case RtFn::ChanFree:
    if (arg(0) == 0) // like the runtime's qz_chan_free(NULL)
      return true;
    [[fallthrough]];
  case RtFn::ChanClose:
  case RtFn::ChanLen:
  case RtFn::ChanTryRecv:
  case RtFn::ChanTrySend: {
    ChanRec *cr = chanOf(arg(0), name);
    if (!cr)
      return false;
    switch (fn) {
    case RtFn::ChanClose:
      qz_chan_close(cr->ch);
      cr->closed = true;
      break;
    case RtFn::ChanLen:
      R[op.dst].i = qz_chan_len(cr->ch);
      break;
    case RtFn::ChanTrySend:
      if (cr->closed) { // the runtime would panic (qz_panic_str)
        rtPanic_ = "send on closed channel";
        return false;
      }
      R[op.dst].i = qz_chan_try_send(cr->ch, arg(1));
      break;
    case RtFn::ChanFree: {
      if (cr->parked)
        return bad("the channel is freed while a task waits on it");
      qz_chan_free(cr->ch);
      uint64_t idx;
      hostIndex(arg(0), HostKind::Chan, idx);
      chans_.erase(idx);
      break;
    }
    default: { // try_recv
      const Type *i64 = m_.types().i64();
      Slot *cell = resolve(arg(1), i64, "qz_chan_try_recv: store");
      if (!cell)
        return false;
      int64_t v = 0;
      bool got = qz_chan_try_recv(cr->ch, &v);
      if (got)
        cell->i = v; // nothing ran in between: the cell has not moved
      R[op.dst].i = got;
      break;
    }
    }
    return true;
  }
  case RtFn::TaskSetResult: {
    TaskHost *self = runningTask(arg(0));
    if (!self || !self->task)
      return bad("the task argument is not the running task");
    qz_task_set_result(self->task, arg(1));
    return true;
  }
  case RtFn::CurrentTask:
    R[op.dst].i = curHost_ ? hostHandle(HostKind::Task, curHost_->index) : 0;
    return true;
  case RtFn::SpawnNamed:
  case RtFn::SpawnPlain: {
    const Function *target;
    if (!funcArg(0, "a poll function", "fn(ptr, ptr) -> i64", target))
      return false;
    std::string tname;
    bool named = false;
    if (fn == RtFn::SpawnNamed && arg(2) != 0) {
      const char *s = cString(arg(2));
      if (!s)
        return bad("the name does not point at a string constant");
      tname = s;
      named = true;
    }
    int64_t handle;
    if (!spawnTask(target, TaskHost::Poll, nullptr, arg(1), named ? &tname : nullptr,
                   fn == RtFn::SpawnPlain, handle))
      return false;
    R[op.dst].i = handle;
    return true;
  }

  // Actors: the runtime's own (runtime/actor.cpp); the state and message
  // pointers are interpreter pointers it keeps opaque.
  case RtFn::ActorCreate: {
    const char *s = cString(arg(0));
    if (!s)
      return bad("the name does not point at a string constant");
    if (actors_.size() >= kMaxActors)
      return bad("too many actors");
    ActorRec rec;
    rec.name = internActorName(s);
    rec.a = qz_actor_create(rec.name, opaque(arg(1)));
    actors_.push_back(rec);
    R[op.dst].i = hostHandle(HostKind::Actor, actors_.size() - 1);
    return true;
  }
  case RtFn::ActorStart: {
    // After coro-split: qz_actor_start(h, func.addr @F.task, frame,
    // func.addr @qz.spawn_actor.F), the frame made by `new`.
    const Function *poll, *restart;
    if (!funcArg(1, "a poll function", "fn(ptr, ptr) -> i64", poll) ||
        !funcArg(3, "a restart function", "fn(ptr) -> void", restart))
      return false;
    int64_t handle;
    if (!spawnTask(poll, TaskHost::Poll, nullptr, arg(2), nullptr, false, handle, ai))
      return false;
    actors_[static_cast<size_t>(ai)].restart = ActorRec::PostSplit;
    actors_[static_cast<size_t>(ai)].restartFn = restart;
    R[op.dst].i = handle;
    return true;
  }
  case RtFn::ActorState:
    R[op.dst].i = fromOpaque(qz_actor_state(a));
    return true;
  case RtFn::ActorRunMode:
    R[op.dst].i = qz_actor_run_mode(a);
    return true;
  case RtFn::ActorHasFailed:
    R[op.dst].i = qz_actor_has_failed(a);
    return true;
  case RtFn::ActorTakeFailed:
    R[op.dst].i = fromOpaque(qz_actor_take_failed(a));
    return true;
  case RtFn::ActorSetCurrent: {
    const char *method = cString(arg(2));
    if (!method)
      return bad("the method name does not point at a string constant");
    qz_actor_set_current(a, opaque(arg(1)), method);
    return true;
  }
  case RtFn::ActorClearCurrent:
    qz_actor_clear_current(a);
    return true;
  case RtFn::ActorSend:
    R[op.dst].i = qz_actor_send(a, opaque(arg(1)));
    return true;
  case RtFn::ActorFinished:
    qz_actor_finished(a);
    return true;
  case RtFn::ActorLink: {
    int32_t bi = actorOf(arg(1), name);
    if (bi < 0)
      return false;
    qz_actor_link(a, actors_[static_cast<size_t>(bi)].a);
    return true;
  }
  case RtFn::ActorStatus:
    R[op.dst].i = qz_actor_status(a);
    return true;
  default:
    return bad("internal error: not a task runtime function");
  }
}

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

Interpreter::Interpreter(const Module &m, llvm::raw_ostream &out,
                         llvm::raw_ostream &err, InterpOptions opts)
    : impl_(std::make_unique<Impl>(m, out, err, opts)) {}
Interpreter::~Interpreter() = default;

InterpResult Interpreter::run(const Function &f, llvm::ArrayRef<int64_t> args) {
  return impl_->run(f, args);
}
uint64_t Interpreter::instructionsExecuted() const { return impl_->executed(); }
void Interpreter::invalidate() { impl_->invalidate(); }

std::string qmir::formatSourceLoc(const Module &m, LocId loc) {
  if (loc == 0 || loc > m.numLocs())
    return {};
  const SourceLoc &l = m.loc(loc);
  std::string file = l.file < m.sourceFiles().size() ? m.sourceFiles()[l.file]
                                                     : std::string("<unknown>");
  return file + ":" + std::to_string(l.line) + ":" + std::to_string(l.col);
}

int qmir::runMain(const Module &m, llvm::raw_ostream &out, llvm::raw_ostream &err,
                  InterpOptions opts) {
  // After coro-split the program's entry is the root task @main.task.
  const Function *mainFn = m.function("main.task");
  if (!mainFn || mainFn->isDeclaration() || !m.types().named("main.frame"))
    mainFn = m.function("main");
  if (!mainFn || mainFn->isDeclaration()) {
    err << "error: interpreter: "
        << (mainFn ? "@main is only declared" : "no @main function") << "\n";
    return 1;
  }
  Interpreter interp(m, out, err, opts);
  InterpResult r = interp.run(*mainFn);
  out.flush(); // program output comes before the diagnostic
  std::string where =
      r.inst ? formatSourceLoc(m, r.inst->loc()) : std::string();
  switch (r.kind) {
  case InterpResult::Returned:
    return static_cast<int>(static_cast<uint64_t>(r.value) & 0xff);
  case InterpResult::Panicked:
    err << "panic: " << r.message;
    if (!where.empty())
      err << " at " << where;
    err << "\n";
    return 101;
  case InterpResult::Trapped:
    err << "error: interpreter: " << r.message;
    if (r.function)
      err << " (in @" << r.function->name() << ")";
    if (!where.empty())
      err << " at " << where;
    err << "\n";
    return 70;
  case InterpResult::Deadlocked:
    err << r.message << "\n";
    return 101;
  }
  return 70;
}
