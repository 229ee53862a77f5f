// The MIR interpreter: the reference semantics of every instruction. Passes are
// checked against it (a program must print and return the same before and after
// optimisation), so it favours being exactly right and never crashing the host
// on bad IR, and is still fast enough to run real test programs: each function
// is translated once into a compact register-machine form, and MIR calls push
// frames on an explicit stack instead of recursing in C++.
//
// Concurrent programs (tasks, channels, timers) run on the real runtime
// library (runtime/qz_runtime.h) in its deterministic mode: every task is
// polled on the calling thread, in an order picked by a PRNG seeded with
// InterpOptions::seed, with virtual time for sleeps. Both forms run: before
// coro-split (`await`, body-less `@qz.spawn.F`), where each task is an
// interpreter context (frame stack and registers) that an `await` answered
// "pending" suspends, and after it (`func.addr`, `new`/`free`,
// `qz_spawn_named`, poll-form calls with an explicit self, `@main.task`).
// Actors run on the runtime's actors (mailbox, status, links, stop) in every
// form: before actor-lower (the interpreter runs the stubs and the message
// loop itself), after it (body-less `@qz.spawn_actor.F`) and after
// coro-split (`qz_actor_start`). A panic in an actor's loop task is caught
// as the native runtime catches it: the "actor A panicked in m(): ..." line,
// then the loop restarts (or the actor terminates) and the program goes on.
#pragma once

#include "mir/IR.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace qmir {

struct InterpResult {
  /// Deadlocked: every task of a concurrent program waits forever; `message`
  /// is the runtime's report ("deadlock: main waits on channel recv ...").
  enum Kind { Returned, Panicked, Trapped, Deadlocked } kind = Returned;
  /// Returned: the i64/i32/i8/i1 result (sign-extended; i1 is 0 or 1), 0 for
  /// void and for non-integer results.
  int64_t value = 0;
  /// Panicked: the panic message. Trapped: what went wrong.
  std::string message;
  /// Panicked/Trapped: the instruction that panicked or trapped, and the
  /// function it belongs to. Null when the failure is not tied to one (bad
  /// arguments to run()).
  const Instruction *inst = nullptr;
  const Function *function = nullptr;
};

struct InterpOptions {
  /// 0 = unlimited; exceeding it traps "instruction limit exceeded".
  uint64_t instructionLimit = 0;
  /// Frames alive at once (the entry function counts as one); a call beyond
  /// it traps "call depth limit exceeded".
  unsigned maxCallDepth = 10000;
  /// Concurrent programs: the seed of the scheduler's choices. Unset: the
  /// decimal value of the environment variable QMIR_SEED, else 0. A program
  /// whose output does not depend on the interleaving prints the same for
  /// every seed; one that does is reproducible with the seed that showed it.
  std::optional<uint64_t> seed;
};

class Interpreter {
public:
  /// Program output (qz_print_*) goes to `out`. run() reports failures in
  /// its result; the only thing it prints on `err` is what a native program
  /// prints there and survives: the line of a panic in an actor ("actor A
  /// panicked in m(): MSG at FILE:L:C"), after flushing `out`.
  Interpreter(const Module &m, llvm::raw_ostream &out, llvm::raw_ostream &err,
              InterpOptions opts = {});
  ~Interpreter();
  Interpreter(const Interpreter &) = delete;
  Interpreter &operator=(const Interpreter &) = delete;

  /// Runs f with integer arguments (normalised to each parameter's width).
  /// Functions are translated on first use and cached: call invalidate()
  /// after changing the module. In a concurrent program (one that has actors,
  /// declares a poll-form runtime operation, `qz.spawn.*`,
  /// `qz.spawn_actor.*`, `qz_spawn_named` or an actor runtime function, or
  /// defines `@main.task`), f runs as the root task of a deterministic run;
  /// `@main.task(%frame, %self)` with no arguments gets a zeroed `main.frame`
  /// and its result is what it passed to qz_task_set_result. The runtime's
  /// deterministic mode is process-wide: run one concurrent program at a time.
  InterpResult run(const Function &f, llvm::ArrayRef<int64_t> args = {});
  /// Instructions executed by the last run() (dbg instructions are not
  /// executed and not counted).
  uint64_t instructionsExecuted() const;
  /// Drops the cached translations.
  void invalidate();

private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// "FILE:LINE:COL" for a location of `m` ("<unknown>" for a file index with no
/// `source` line); the empty string for LocId 0.
std::string formatSourceLoc(const Module &m, LocId loc);

/// Runs the program and returns the process exit status: main's result (0 for
/// void main; taken modulo 256 like a process status), 101 after a panic
/// (prints "panic: MSG at FILE:LINE:COL" or "panic: MSG" to err) or a
/// deadlock (prints the runtime's "deadlock: ..." report), 70 after a trap
/// (prints "error: interpreter: ..." to err), 1 if there is no @main. The
/// entry is `@main.task` (over a zeroed `main.frame`) when the module defines
/// both, as coro-split leaves it, else @main.
int runMain(const Module &m, llvm::raw_ostream &out, llvm::raw_ostream &err,
            InterpOptions opts = {});

} // namespace qmir
