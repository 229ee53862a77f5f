// The interpreter on concurrent programs, run on the real runtime's
// deterministic mode (qz_run_seeded): before coro-split (await, body-less
// qz.spawn.F) — ping-pong, rendezvous, close and None, send on a closed
// channel, usleep ordering in virtual time, deadlock reports, a panic in a
// spawned task stopping every task, the same output for many seeds — and
// after it (func.addr, new/free, qz_spawn_named, poll calls with an explicit
// self, @main.task), hand-written and as the coro-split pass leaves the
// pre-split programs. Also the checks on the new instructions (use after
// free, double free, a foreign self, a pending operation left behind).
#include "mir/Interpreter.h"
#include "passes/Pipelines.h"
#include "tests/support/TestUtil.h"

#include "llvm/Support/raw_ostream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>

using namespace qmir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

struct Outcome {
  InterpResult result; ///< its inst and function pointers dangle (use fn)
  std::string out;
  std::string fn; ///< the function that failed
  uint64_t executed = 0;
};

/// Runs @main (or `entry`) of `text` with `seed`.
Outcome runText(llvm::StringRef text, uint64_t seed = 0,
                llvm::StringRef entry = "main", uint64_t limit = 0) {
  Outcome o;
  auto m = qmir::testing::parseOrFail(text, "tasks.mir");
  if (!m)
    return o;
  EXPECT_TRUE(qmir::testing::verifies(*m));
  const Function *f = m->function(entry);
  EXPECT_TRUE(f) << "no @" << entry.str();
  if (!f)
    return o;
  llvm::raw_string_ostream out(o.out);
  InterpOptions opts;
  opts.seed = seed;
  opts.instructionLimit = limit;
  Interpreter interp(*m, out, llvm::errs(), opts);
  o.result = interp.run(*f);
  o.executed = interp.instructionsExecuted();
  if (o.result.function)
    o.fn = o.result.function->name().str();
  o.result.function = nullptr;
  o.result.inst = nullptr;
  out.flush();
  return o;
}

/// runMain's exit status and streams.
struct MainRun {
  int status = -1;
  std::string out, err;
};
MainRun runMainText(llvm::StringRef text, uint64_t seed = 0,
                    llvm::StringRef pipeline = "") {
  MainRun r;
  auto m = qmir::testing::parseOrFail(text, "tasks.mir");
  if (!m)
    return r;
  if (!pipeline.empty()) {
    std::string error;
    EXPECT_TRUE(runPipeline(*m, pipeline, error)) << error;
    EXPECT_TRUE(qmir::testing::verifies(*m));
  }
  llvm::raw_string_ostream out(r.out), err(r.err);
  InterpOptions opts;
  opts.seed = seed;
  r.status = runMain(*m, out, err, opts);
  out.flush();
  err.flush();
  return r;
}

const char *kDecls = R"(
declare fn @qz_chan_new(i64) -> ptr
declare fn @qz_chan_close(ptr) -> void
declare fn @qz_chan_try_recv(ptr, ptr) -> i1
declare fn @qz_chan_send_poll(ptr, i64, ptr) -> i64
declare fn @qz_chan_recv_poll(ptr, ptr, ptr) -> i64
declare fn @qz_usleep_poll(i64, ptr) -> i64
declare fn @qz_yield_poll(ptr) -> i64
declare fn @qz_println_i64(i64) -> void
declare fn @qz_println_str(ptr) -> void
)";

std::string prog(llvm::StringRef body) { return std::string(kDecls) + body.str(); }

// Ping-pong over two rendezvous channels: main sends i, @pong answers i*10.
const std::string kPingPong = prog(R"(
declare fn @qz.spawn.pong(ptr, ptr, i64) -> void

fn @pong(%in: ptr, %out: ptr, %n: i64) -> void {
entry:
  %slot = alloca i64
  br loop(0)
loop(%i: i64):
  %more = icmp slt i64 %i, %n
  condbr %more, body, done
body:
  %st = await @qz_chan_recv_poll(%in, %slot)
  %v = load i64, %slot
  %r = mul i64 %v, 10
  %s2 = await @qz_chan_send_poll(%out, %r)
  %i2 = add i64 %i, 1
  br loop(%i2)
done:
  ret
}

fn @main() -> i64 {
entry:
  %a = call @qz_chan_new(0)
  %b = call @qz_chan_new(0)
  call @qz.spawn.pong(%a, %b, 5)
  %slot = alloca i64
  br loop(1, 0)
loop(%i: i64, %sum: i64):
  %more = icmp sle i64 %i, 5
  condbr %more, body, done
body:
  %s = await @qz_chan_send_poll(%a, %i)
  %st = await @qz_chan_recv_poll(%b, %slot)
  %v = load i64, %slot
  call @qz_println_i64(%v)
  %sum2 = add i64 %sum, %v
  %i2 = add i64 %i, 1
  br loop(%i2, %sum2)
done:
  ret %sum
}
)");

TEST(InterpreterTasks, PingPong) {
  Outcome o = runText(kPingPong);
  ASSERT_EQ(o.result.kind, InterpResult::Returned) << o.result.message;
  EXPECT_EQ(o.result.value, 150);
  EXPECT_EQ(o.out, "10\n20\n30\n40\n50\n");
  EXPECT_GT(o.executed, 50u); // counted across every task and poll
}

TEST(InterpreterTasks, ManySeedsSameOutput) {
  // Three producers into one buffered channel, one consumer summing: the
  // interleaving differs with the seed, the result does not.
  std::string text = prog(R"(
declare fn @qz.spawn.produce(ptr, i64) -> void

fn @produce(%ch: ptr, %base: i64) -> void {
entry:
  br loop(0)
loop(%i: i64):
  %more = icmp slt i64 %i, 10
  condbr %more, body, done
body:
  %v = add i64 %base, %i
  %st = await @qz_chan_send_poll(%ch, %v)
  %i2 = add i64 %i, 1
  br loop(%i2)
done:
  ret
}

fn @main() -> i64 {
entry:
  %ch = call @qz_chan_new(2)
  call @qz.spawn.produce(%ch, 0)
  call @qz.spawn.produce(%ch, 100)
  call @qz.spawn.produce(%ch, 1000)
  %slot = alloca i64
  br loop(0, 0)
loop(%n: i64, %sum: i64):
  %more = icmp slt i64 %n, 30
  condbr %more, body, done
body:
  %st = await @qz_chan_recv_poll(%ch, %slot)
  %v = load i64, %slot
  %sum2 = add i64 %sum, %v
  %n2 = add i64 %n, 1
  br loop(%n2, %sum2)
done:
  call @qz_println_i64(%sum)
  %r = srem i64 %sum, 256
  ret %r
}
)");
  std::string first;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Outcome o = runText(text, seed);
    ASSERT_EQ(o.result.kind, InterpResult::Returned) << "seed " << seed << ": "
                                                     << o.result.message;
    EXPECT_EQ(o.out, "11135\n") << "seed " << seed;
    Outcome p = runText(kPingPong, seed);
    ASSERT_EQ(p.result.kind, InterpResult::Returned) << p.result.message;
    if (seed == 0)
      first = p.out;
    EXPECT_EQ(p.out, first) << "seed " << seed;
  }
}

TEST(InterpreterTasks, SameSeedReplaysExactly) {
  // Output that depends on the interleaving: two tasks print as they go.
  std::string text = prog(R"(
declare fn @qz.spawn.chatter(i64) -> void

fn @chatter(%id: i64) -> void {
entry:
  br loop(0)
loop(%i: i64):
  %more = icmp slt i64 %i, 4
  condbr %more, body, done
body:
  call @qz_println_i64(%id)
  %st = await @qz_yield_poll()
  %i2 = add i64 %i, 1
  br loop(%i2)
done:
  ret
}

fn @main() -> i64 {
entry:
  call @qz.spawn.chatter(1)
  call @qz.spawn.chatter(2)
  %st = await @qz_usleep_poll(1000)
  ret 0
}
)");
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    Outcome a = runText(text, seed), b = runText(text, seed);
    ASSERT_EQ(a.result.kind, InterpResult::Returned) << a.result.message;
    EXPECT_EQ(a.out, b.out) << "seed " << seed;
    EXPECT_EQ(std::count(a.out.begin(), a.out.end(), '\n'), 8);
    seen.insert(a.out);
  }
  EXPECT_GT(seen.size(), 1u) << "the seed should change the interleaving";
}

TEST(InterpreterTasks, Rendezvous) {
  // A send on a rendezvous channel completes only when a receiver takes the
  // value: "after send" can never come before "main woke".
  std::string text = prog(R"(
declare fn @qz.spawn.sender(ptr, ptr) -> void

fn @sender(%ch: ptr, %done: ptr) -> void {
entry:
  %st = await @qz_chan_send_poll(%ch, 7)
  call @qz_println_str("after send")
  %st2 = await @qz_chan_send_poll(%done, 1)
  ret
}

fn @main() -> i64 {
entry:
  %ch = call @qz_chan_new(0)
  %done = call @qz_chan_new(0)
  call @qz.spawn.sender(%ch, %done)
  %s = await @qz_usleep_poll(500)
  call @qz_println_str("main woke")
  %slot = alloca i64
  %st = await @qz_chan_recv_poll(%ch, %slot)
  %st2 = await @qz_chan_recv_poll(%done, %slot)
  call @qz_println_str("got")
  %v = load i64, %slot
  ret %v
}
)");
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Outcome o = runText(text, seed);
    ASSERT_EQ(o.result.kind, InterpResult::Returned) << o.result.message;
    EXPECT_EQ(o.out, "main woke\nafter send\ngot\n") << "seed " << seed;
    EXPECT_EQ(o.result.value, 1);
  }
}

TEST(InterpreterTasks, CloseGivesNone) {
  // Buffered values are still received after close, then status 2 (None);
  // try_recv on the drained channel says false.
  std::string text = prog(R"(
declare fn @qz.spawn.produce(ptr) -> void

fn @produce(%ch: ptr) -> void {
entry:
  %a = await @qz_chan_send_poll(%ch, 1)
  %b = await @qz_chan_send_poll(%ch, 2)
  %c = await @qz_chan_send_poll(%ch, 3)
  call @qz_chan_close(%ch)
  ret
}

fn @main() -> i64 {
entry:
  %ch = call @qz_chan_new(1)
  call @qz.spawn.produce(%ch)
  %slot = alloca i64
  br loop
loop:
  %st = await @qz_chan_recv_poll(%ch, %slot)
  %some = icmp eq i64 %st, 0
  condbr %some, got, closed
got:
  %v = load i64, %slot
  call @qz_println_i64(%v)
  br loop
closed:
  call @qz_println_str("closed")
  %t = call @qz_chan_try_recv(%ch, %slot)
  %r = zext i1 %t to i64
  %r2 = add i64 %r, 40
  ret %r2
}
)");
  for (uint64_t seed = 0; seed < 10; ++seed) {
    Outcome o = runText(text, seed);
    ASSERT_EQ(o.result.kind, InterpResult::Returned) << o.result.message;
    EXPECT_EQ(o.out, "1\n2\n3\nclosed\n");
    EXPECT_EQ(o.result.value, 40);
  }
}

TEST(InterpreterTasks, ChannelsWithoutTasks) {
  // A program with channels but no task operation runs as before: try_recv
  // and close need no scheduler.
  std::string text = R"(
declare fn @qz_chan_new(i64) -> ptr
declare fn @qz_chan_close(ptr) -> void
declare fn @qz_chan_try_recv(ptr, ptr) -> i1

fn @main() -> i64 {
entry:
  %ch = call @qz_chan_new(4)
  %slot = alloca i64
  %t = call @qz_chan_try_recv(%ch, %slot)
  call @qz_chan_close(%ch)
  %u = call @qz_chan_try_recv(%ch, %slot)
  %a = zext i1 %t to i64
  %b = zext i1 %u to i64
  %r = add i64 %a, %b
  %r2 = add i64 %r, 5
  ret %r2
}
)";
  Outcome o = runText(text);
  ASSERT_EQ(o.result.kind, InterpResult::Returned) << o.result.message;
  EXPECT_EQ(o.result.value, 5);
}

TEST(InterpreterTasks, SendOnClosedPanics) {
  std::string text = prog(R"(
fn @main() -> i64 {
entry:
  %ch = call @qz_chan_new(1)
  call @qz_chan_close(%ch)
  %st = await @qz_chan_send_poll(%ch, 5)
  %closed = icmp eq i64 %st, 2
  condbr %closed, bad, ok
bad:
  panic "send on closed channel"
ok:
  ret 0
}
)");
  Outcome o = runText(text);
  EXPECT_EQ(o.result.kind, InterpResult::Panicked);
  EXPECT_EQ(o.result.message, "send on closed channel");
  MainRun r = runMainText(text);
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.err, "panic: send on closed channel\n");
}

TEST(InterpreterTasks, UsleepOrderingInVirtualTime) {
  // Sleeps of 300, 100, 200 ms wake in deadline order, at no wall-clock
  // cost, whatever the seed.
  std::string text = prog(R"(
declare fn @qz.spawn.sleeper(i64, i64) -> void

fn @sleeper(%id: i64, %us: i64) -> void {
entry:
  %st = await @qz_usleep_poll(%us)
  call @qz_println_i64(%id)
  ret
}

fn @main() -> i64 {
entry:
  call @qz.spawn.sleeper(1, 300000)
  call @qz.spawn.sleeper(2, 100000)
  call @qz.spawn.sleeper(3, 200000)
  %st = await @qz_usleep_poll(1000000)
  call @qz_println_str("done")
  ret 0
}
)");
  for (uint64_t seed = 0; seed < 10; ++seed) {
    auto t0 = std::chrono::steady_clock::now();
    Outcome o = runText(text, seed);
    auto dt = std::chrono::steady_clock::now() - t0;
    ASSERT_EQ(o.result.kind, InterpResult::Returned) << o.result.message;
    EXPECT_EQ(o.out, "2\n3\n1\ndone\n") << "seed " << seed;
    EXPECT_LT(dt, std::chrono::milliseconds(500));
  }
}

TEST(InterpreterTasks, DeadlockIsReported) {
  std::string text = prog(R"(
declare fn @qz.spawn.waiter(ptr) -> void

fn @waiter(%ch: ptr) -> void {
entry:
  %slot = alloca i64
  %st = await @qz_chan_recv_poll(%ch, %slot)
  ret
}

fn @main() -> i64 {
entry:
  %a = call @qz_chan_new(0)
  %b = call @qz_chan_new(1)
  call @qz.spawn.waiter(%a)
  call @qz_println_str("before")
  %slot = alloca i64
  %st = await @qz_chan_recv_poll(%b, %slot)
  call @qz_println_str("never")
  ret 0
}
)");
  Outcome o = runText(text);
  EXPECT_EQ(o.result.kind, InterpResult::Deadlocked);
  EXPECT_THAT(o.result.message, StartsWith("deadlock"));
  EXPECT_THAT(o.result.message, HasSubstr("main waits on channel recv"));
  EXPECT_THAT(o.result.message, HasSubstr("task waiter"));
  EXPECT_EQ(o.out, "before\n");
  MainRun r = runMainText(text);
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.out, "before\n");
  EXPECT_THAT(r.err, StartsWith("deadlock"));
  EXPECT_EQ(r.err.back(), '\n');
}

TEST(InterpreterTasks, PanicInSpawnedTaskStopsEverything) {
  // The spawned task prints "boom" and panics; main would go on printing.
  // Nothing runs after the panic, whatever the seed.
  std::string text = prog(R"(
declare fn @qz.spawn.bomb() -> void

fn @bomb() -> void {
entry:
  %st = await @qz_yield_poll()
  call @qz_println_str("boom")
  panic "kaboom"
}

fn @main() -> i64 {
entry:
  call @qz.spawn.bomb()
  br loop(0)
loop(%i: i64):
  %more = icmp slt i64 %i, 20
  condbr %more, body, done
body:
  call @qz_println_i64(%i)
  %st = await @qz_yield_poll()
  %i2 = add i64 %i, 1
  br loop(%i2)
done:
  call @qz_println_str("main done")
  ret 0
}
)");
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Outcome o = runText(text, seed);
    ASSERT_EQ(o.result.kind, InterpResult::Panicked) << "seed " << seed;
    EXPECT_EQ(o.result.message, "kaboom");
    EXPECT_EQ(o.fn, "bomb");
    EXPECT_THAT(o.out, ::testing::EndsWith("boom\n")) << "seed " << seed;
  }
  MainRun r = runMainText(text);
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.err, "panic: kaboom\n");
}

TEST(InterpreterTasks, TrapInTaskStopsTheRun) {
  std::string text = prog(R"(
declare fn @qz.spawn.bad() -> void

fn @bad() -> void {
entry:
  unreachable
}

fn @main() -> i64 {
entry:
  call @qz.spawn.bad()
  %st = await @qz_usleep_poll(10)
  ret 0
}
)");
  Outcome o = runText(text);
  EXPECT_EQ(o.result.kind, InterpResult::Trapped);
  EXPECT_EQ(o.result.message, "unreachable executed");
  MainRun r = runMainText(text);
  EXPECT_EQ(r.status, 70);
  EXPECT_THAT(r.err, HasSubstr("error: interpreter: unreachable executed (in @bad)"));
}

TEST(InterpreterTasks, InstructionLimitCountsAllTasks) {
  Outcome o = runText(kPingPong, 0, "main", 60);
  EXPECT_EQ(o.result.kind, InterpResult::Trapped);
  EXPECT_EQ(o.result.message, "instruction limit exceeded");
}

TEST(InterpreterTasks, AllocaOfASuspendedTask) {
  // A task passes the address of its own alloca to another task, which
  // writes through it while the owner is suspended.
  std::string text = prog(R"(
declare fn @qz.spawn.writer(ptr, ptr) -> void

fn @writer(%p: ptr, %done: ptr) -> void {
entry:
  store i64 42, %p
  %st = await @qz_chan_send_poll(%done, 1)
  ret
}

fn @main() -> i64 {
entry:
  %x = alloca i64
  %done = call @qz_chan_new(0)
  call @qz.spawn.writer(%x, %done)
  %slot = alloca i64
  %st = await @qz_chan_recv_poll(%done, %slot)
  %v = load i64, %x
  ret %v
}
)");
  Outcome o = runText(text);
  ASSERT_EQ(o.result.kind, InterpResult::Returned) << o.result.message;
  EXPECT_EQ(o.result.value, 42);
}

//===----------------------------------------------------------------------===//
// After coro-split
//===----------------------------------------------------------------------===//

const char *kPostDecls = R"(
declare fn @qz_chan_new(i64) -> ptr
declare fn @qz_chan_send_poll(ptr, i64, ptr) -> i64
declare fn @qz_chan_recv_poll(ptr, ptr, ptr) -> i64
declare fn @qz_spawn_named(ptr, ptr, ptr) -> ptr
declare fn @qz_task_set_result(ptr, i64) -> void
declare fn @qz_println_i64(i64) -> void
)";

// A worker sends 10, 20, 30 on a rendezvous channel; main.task receives and
// sums them. Both are state machines over heap frames, re-entered from the
// top on each poll.
const char *kPostSplit = R"(
type main.frame = {i64, ptr, i64, i64, i64}
type worker.frame = {i64, ptr}

fn @worker.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  %sp = struct.addr worker.frame %frame, 0
  %cp = struct.addr worker.frame %frame, 1
  %ch = load ptr, %cp
  br loop
loop:
  %state = load i64, %sp
  %fin = icmp eq i64 %state, 3
  condbr %fin, done, send
send:
  %k = add i64 %state, 1
  %v = mul i64 %k, 10
  %st = call @qz_chan_send_poll(%ch, %v, %self)
  %pend = icmp eq i64 %st, 1
  condbr %pend, pending, sent
pending:
  ret 1
sent:
  store i64 %k, %sp
  br loop
done:
  free %frame
  ret 0
}

fn @main.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  %sp = struct.addr main.frame %frame, 0
  %cp = struct.addr main.frame %frame, 1
  %slot = struct.addr main.frame %frame, 2
  %np = struct.addr main.frame %frame, 3
  %sump = struct.addr main.frame %frame, 4
  %state = load i64, %sp
  %fresh = icmp eq i64 %state, 0
  condbr %fresh, start, loop
start:
  %ch = call @qz_chan_new(0)
  store ptr %ch, %cp
  %wf = new worker.frame
  %wcp = struct.addr worker.frame %wf, 1
  store ptr %ch, %wcp
  %fp = func.addr @worker.task
  %t = call @qz_spawn_named(%fp, %wf, "worker")
  store i64 1, %sp
  br loop
loop:
  %n = load i64, %np
  %fin = icmp eq i64 %n, 3
  condbr %fin, done, recv
recv:
  %ch2 = load ptr, %cp
  %st = call @qz_chan_recv_poll(%ch2, %slot, %self)
  %pend = icmp eq i64 %st, 1
  condbr %pend, pending, got
pending:
  ret 1
got:
  %v = load i64, %slot
  call @qz_println_i64(%v)
  %s = load i64, %sump
  %s2 = add i64 %s, %v
  store i64 %s2, %sump
  %n2 = add i64 %n, 1
  store i64 %n2, %np
  br loop
done:
  %r = load i64, %sump
  call @qz_task_set_result(%self, %r)
  ret 0
}
)";

TEST(InterpreterTasks, PostSplitHandWritten) {
  std::string text = std::string(kPostDecls) + kPostSplit;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    Outcome o = runText(text, seed, "main.task");
    ASSERT_EQ(o.result.kind, InterpResult::Returned) << o.result.message;
    EXPECT_EQ(o.result.value, 60);
    EXPECT_EQ(o.out, "10\n20\n30\n");
    MainRun r = runMainText(text, seed);
    EXPECT_EQ(r.status, 60) << r.err;
    EXPECT_EQ(r.out, "10\n20\n30\n");
  }
}

TEST(InterpreterTasks, PostSplitDeadlockNamesTheTask) {
  // The worker waits for a receiver that never comes; main waits for it.
  std::string text = std::string(kPostDecls) + R"(
type main.frame = {i64, ptr, i64}
type w.frame = {ptr}

fn @w.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  %cp = struct.addr w.frame %frame, 0
  %ch = load ptr, %cp
  %st = call @qz_chan_send_poll(%ch, 1, %self)
  %pend = icmp eq i64 %st, 1
  condbr %pend, pending, done
pending:
  ret 1
done:
  free %frame
  ret 0
}

fn @main.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  %sp = struct.addr main.frame %frame, 0
  %state = load i64, %sp
  %fresh = icmp eq i64 %state, 0
  condbr %fresh, start, wait
start:
  %ch = call @qz_chan_new(0)
  %wf = new w.frame
  %wcp = struct.addr w.frame %wf, 0
  store ptr %ch, %wcp
  %fp = func.addr @w.task
  %t = call @qz_spawn_named(%fp, %wf, "w")
  %other = call @qz_chan_new(0)
  %op = struct.addr main.frame %frame, 1
  store ptr %other, %op
  store i64 1, %sp
  br wait
wait:
  %op2 = struct.addr main.frame %frame, 1
  %o = load ptr, %op2
  %slot = struct.addr main.frame %frame, 2
  %st = call @qz_chan_recv_poll(%o, %slot, %self)
  ret %st
}
)";
  MainRun r = runMainText(text);
  EXPECT_EQ(r.status, 101) << r.err;
  EXPECT_THAT(r.err, HasSubstr("deadlock"));
  EXPECT_THAT(r.err, HasSubstr("task w"));
}

TEST(InterpreterTasks, CoroSplitOutputMatchesPreSplit) {
  // The pre-split programs, run directly and after the coro-split pass (and
  // -O2), print the same and exit the same for several seeds.
  for (const std::string &text : {kPingPong}) {
    for (uint64_t seed = 0; seed < 5; ++seed) {
      MainRun pre = runMainText(text, seed);
      MainRun post = runMainText(text, seed, "coro-split");
      EXPECT_EQ(pre.status, 150 & 0xff);
      EXPECT_EQ(pre.out, "10\n20\n30\n40\n50\n");
      EXPECT_EQ(post.status, pre.status) << post.err;
      EXPECT_EQ(post.out, pre.out);
      EXPECT_EQ(post.err, pre.err);
    }
  }
}

TEST(InterpreterTasks, HeapUseAfterFreeAndDoubleFree) {
  std::string base = R"(
type P = {i64, i64}
fn @main() -> i64 {
entry:
  %p = new P
  %f = struct.addr P %p, 1
  store i64 7, %f
  %v = load i64, %f
)";
  {
    Outcome o = runText(base + "  free %p\n  ret %v\n}\n");
    ASSERT_EQ(o.result.kind, InterpResult::Returned) << o.result.message;
    EXPECT_EQ(o.result.value, 7);
  }
  {
    Outcome o = runText(base + "  free %p\n  %w = load i64, %f\n  ret %w\n}\n");
    EXPECT_EQ(o.result.kind, InterpResult::Trapped);
    EXPECT_THAT(o.result.message, HasSubstr("use after free"));
  }
  {
    Outcome o = runText(base + "  free %p\n  free %p\n  ret %v\n}\n");
    EXPECT_EQ(o.result.kind, InterpResult::Trapped);
    EXPECT_THAT(o.result.message, HasSubstr("double free"));
  }
  {
    Outcome o = runText(base + "  free %f\n  ret %v\n}\n");
    EXPECT_EQ(o.result.kind, InterpResult::Trapped);
    EXPECT_THAT(o.result.message, HasSubstr("middle of an object"));
  }
  {
    Outcome o = runText(base + "  %a = alloca i64\n  free %a\n  ret %v\n}\n");
    EXPECT_EQ(o.result.kind, InterpResult::Trapped);
    EXPECT_THAT(o.result.message, HasSubstr("not made by new"));
  }
  {
    // A `new` object outlives the call that made it.
    Outcome o = runText(R"(
fn @make() -> ptr {
entry:
  %p = new i64
  store i64 9, %p
  ret %p
}
fn @main() -> i64 {
entry:
  %p = call @make()
  %v = load i64, %p
  free %p
  ret %v
}
)");
    ASSERT_EQ(o.result.kind, InterpResult::Returned) << o.result.message;
    EXPECT_EQ(o.result.value, 9);
  }
}

TEST(InterpreterTasks, FuncAddrIsAHandle) {
  Outcome o = runText(R"(
fn @g(%frame: ptr, %self: ptr) -> i64 {
entry:
  ret 0
}
fn @main() -> i64 {
entry:
  %a = func.addr @g
  %v = load i64, %a
  ret %v
}
)");
  EXPECT_EQ(o.result.kind, InterpResult::Trapped);
  EXPECT_THAT(o.result.message, HasSubstr("runtime handle"));
}

TEST(InterpreterTasks, SelfMustBeTheRunningTask) {
  std::string text = std::string(kPostDecls) + R"(
type main.frame = {i64}
fn @main.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  call @qz_task_set_result(%frame, 3)
  ret 0
}
)";
  Outcome o = runText(text, 0, "main.task");
  EXPECT_EQ(o.result.kind, InterpResult::Trapped);
  EXPECT_THAT(o.result.message, HasSubstr("not the running task"));
}

TEST(InterpreterTasks, PendingOperationMustBeCalledAgain) {
  // A poll function that gives up on a pending receive (sends instead, or
  // says it is done) breaks the protocol: a trap, not a corrupted runtime.
  auto text = [](llvm::StringRef onPending) {
    return std::string(kPostDecls) + R"(
type main.frame = {i64, ptr, i64}
fn @main.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  %slot = struct.addr main.frame %frame, 2
  %ch = call @qz_chan_new(0)
  %st = call @qz_chan_recv_poll(%ch, %slot, %self)
  %pending = icmp eq i64 %st, 1
  condbr %pending, wrong, finish
wrong:
)" + onPending.str() + R"(
finish:
  ret 0
}
)";
  };
  Outcome o = runText(text("  %s = call @qz_chan_send_poll(%ch, 1, %self)\n  ret 1"), 0,
                      "main.task");
  EXPECT_EQ(o.result.kind, InterpResult::Trapped);
  EXPECT_THAT(o.result.message,
              HasSubstr("@qz_chan_send_poll called while the task waits in "
                        "@qz_chan_recv_poll"));
  o = runText(text("  ret 0"), 0, "main.task");
  EXPECT_EQ(o.result.kind, InterpResult::Trapped);
  EXPECT_THAT(o.result.message,
              HasSubstr("returned ready while its task waits in @qz_chan_recv_poll"));
}

TEST(InterpreterTasks, SpawnNeedsAPollFunction) {
  std::string text = std::string(kPostDecls) + R"(
type main.frame = {i64}
fn @notpoll(%x: i64) -> i64 {
entry:
  ret %x
}
fn @main.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  %fp = func.addr @notpoll
  %t = call @qz_spawn_named(%fp, %frame, "x")
  ret 0
}
)";
  Outcome o = runText(text, 0, "main.task");
  EXPECT_EQ(o.result.kind, InterpResult::Trapped);
  EXPECT_THAT(o.result.message, HasSubstr("is not a poll function"));
}

TEST(InterpreterTasks, SeedFromEnvironment) {
  // InterpOptions::seed unset: QMIR_SEED decides; the same value gives the
  // same interleaving as the explicit seed.
  std::string text = prog(R"(
declare fn @qz.spawn.chatter(i64) -> void
fn @chatter(%id: i64) -> void {
entry:
  call @qz_println_i64(%id)
  %st = await @qz_yield_poll()
  call @qz_println_i64(%id)
  ret
}
fn @main() -> i64 {
entry:
  call @qz.spawn.chatter(1)
  call @qz.spawn.chatter(2)
  call @qz.spawn.chatter(3)
  %st = await @qz_usleep_poll(1000)
  ret 0
}
)");
  auto m = qmir::testing::parseOrFail(text);
  ASSERT_TRUE(m);
  for (const char *seed : {"3", "17"}) {
    ::setenv("QMIR_SEED", seed, 1);
    std::string envOut, optOut;
    {
      llvm::raw_string_ostream out(envOut);
      Interpreter interp(*m, out, llvm::errs());
      EXPECT_EQ(interp.run(*m->function("main")).kind, InterpResult::Returned);
    }
    ::unsetenv("QMIR_SEED");
    {
      llvm::raw_string_ostream out(optOut);
      InterpOptions opts;
      opts.seed = std::stoull(seed);
      Interpreter interp(*m, out, llvm::errs(), opts);
      EXPECT_EQ(interp.run(*m->function("main")).kind, InterpResult::Returned);
    }
    EXPECT_EQ(envOut, optOut);
  }
}

} // namespace
