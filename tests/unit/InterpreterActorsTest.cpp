// The interpreter on actor programs, run on the real runtime's actors
// (runtime/actor.cpp) in its deterministic mode. Every program runs in each
// form a pipeline can leave it in: as the lowering leaves it (the module
// still has `actor` items and body-less stubs, which the interpreter runs
// itself), after actor-lower only (body-less @qz.spawn_actor.F, awaits),
// after actor-lower,coro-split (qz_actor_start with a MIR poll function,
// frame and restart entry) and after the -O2 pipeline, under several seeds:
// a synchronous round trip, per-sender FIFO, stop, a panic with a live link
// (the loop restarts with fresh fields, and the caller of a panicking
// synchronous method panics "actor C panicked in fail()"), termination
// without a live link ("actor C is not running"), the order of the panic
// line among the program's output, deadlock reports naming actors, a trap in
// an actor stopping everything, and the same interleaving in every form.
#include "mir/Interpreter.h"
#include "passes/Pipelines.h"
#include "tests/support/TestUtil.h"

#include "llvm/Support/raw_ostream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

using namespace qmir;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// C counts from 100 (its declared initial value; the object `new` gives is
// zeroed, so a method that saw 0 would be running without init). push
// prints its argument and adds it; crash changes the field, then panics;
// fail divides by its argument; uaf uses a freed object (a trap). G is a
// guard to link to. R relays to a C synchronously from inside its method
// (a method that suspends).
const char *kActors = R"(
type C.state = {i64}
type G.state = {}
type R.state = {i64}

actor C state C.state init @C.init methods(@C.push, @C.get, @C.crash, @C.fail, @C.uaf)
actor G state G.state init @G.init methods(@G.ping)
actor R state R.state init @R.init methods(@R.relay)

declare fn @C.new() -> ptr
declare fn @C.push.send(ptr, i64) -> void
declare fn @C.get.call(ptr) -> i64
declare fn @C.crash.send(ptr) -> void
declare fn @C.fail.call(ptr, i64) -> i64
declare fn @C.uaf.send(ptr) -> void
declare fn @G.new() -> ptr
declare fn @G.ping.call(ptr) -> i64
declare fn @R.new() -> ptr
declare fn @R.relay.call(ptr, ptr) -> i64
declare fn @qz_actor_link(ptr, ptr) -> void
declare fn @qz_actor_stop_poll(ptr, ptr) -> i64
declare fn @qz_chan_new(i64) -> ptr
declare fn @qz_chan_recv_poll(ptr, ptr, ptr) -> i64
declare fn @qz_println_i64(i64) -> void

fn @C.init(%self: ptr) -> void {
entry:
  %0 = struct.addr C.state %self, 0
  store i64 100, %0
  ret
}

fn @C.push(%self: ptr, %v: i64) -> void {
entry:
  call @qz_println_i64(%v)
  %0 = struct.addr C.state %self, 0
  %1 = load i64, %0
  %2 = add i64 %1, %v
  store i64 %2, %0
  ret
}

fn @C.get(%self: ptr) -> i64 {
entry:
  %0 = struct.addr C.state %self, 0
  %1 = load i64, %0
  ret %1
}

fn @C.crash(%self: ptr) -> void {
entry:
  %0 = struct.addr C.state %self, 0
  store i64 1000, %0
  panic "boom"
}

fn @C.fail(%self: ptr, %x: i64) -> i64 {
entry:
  %0 = sdiv i64 10, %x
  ret %0
}

fn @C.uaf(%self: ptr) -> void {
entry:
  %p = new C.state
  free %p
  %0 = struct.addr C.state %p, 0
  %1 = load i64, %0
  call @qz_println_i64(%1)
  ret
}

fn @G.init(%self: ptr) -> void {
entry:
  ret
}

fn @G.ping(%self: ptr) -> i64 {
entry:
  ret 1
}

fn @R.init(%self: ptr) -> void {
entry:
  ret
}

fn @R.relay(%self: ptr, %c: ptr) -> i64 {
entry:
  %v = call @C.get.call(%c)
  %r = add i64 %v, 1
  ret %r
}
)";

std::string prog(llvm::StringRef mainFn) { return std::string(kActors) + mainFn.str(); }

struct ProgRun {
  int status = -1;
  std::string out, err;
};

/// runMain over `text` after `pipeline` ("" = as the lowering leaves it),
/// with stdout and stderr apart, or (`merged`) into one stream.
ProgRun runForm(const std::string &text, llvm::StringRef pipeline, uint64_t seed,
            bool merged = false) {
  ProgRun r;
  auto m = qmir::testing::parseOrFail(text, "actors.mir");
  if (!m)
    return r;
  EXPECT_TRUE(qmir::testing::verifies(*m));
  if (!pipeline.empty()) {
    std::string error;
    EXPECT_TRUE(runPipeline(*m, pipeline, error)) << error;
    EXPECT_TRUE(qmir::testing::verifies(*m));
  }
  llvm::raw_string_ostream out(r.out), err(r.err);
  InterpOptions opts;
  opts.seed = seed;
  r.status = merged ? runMain(*m, out, out, opts) : runMain(*m, out, err, opts);
  out.flush();
  err.flush();
  return r;
}

/// The forms every program is checked in.
std::vector<std::string> forms() {
  return {"", "actor-lower", "actor-lower,coro-split", pipelineForLevel(0).str(),
          pipelineForLevel(2).str()};
}
constexpr uint64_t kSeeds = 6;

std::string where(const std::string &form, uint64_t seed) {
  return "form '" + (form.empty() ? std::string("unlowered") : form) + "', seed " +
         std::to_string(seed);
}

/// Runs `text` in every form under seeds 0..kSeeds-1 and expects the same
/// status, stdout and stderr each time; returns the first run.
ProgRun expectEveryForm(const std::string &text) {
  ProgRun first;
  bool have = false;
  for (const std::string &form : forms())
    for (uint64_t seed = 0; seed < kSeeds; ++seed) {
      ProgRun r = runForm(text, form, seed);
      if (!have) {
        first = r;
        have = true;
        continue;
      }
      EXPECT_EQ(r.status, first.status) << where(form, seed) << "\n" << r.err;
      EXPECT_EQ(r.out, first.out) << where(form, seed);
      EXPECT_EQ(r.err, first.err) << where(form, seed);
    }
  return first;
}

TEST(InterpreterActors, SyncCallRoundTrip) {
  ProgRun r = expectEveryForm(prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  %a = call @C.get.call(%c)
  call @qz_println_i64(%a)
  call @C.push.send(%c, 5)
  %b = call @C.get.call(%c)
  call @qz_println_i64(%b)
  %q = call @C.fail.call(%c, 2)
  ret %q
}
)"));
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_EQ(r.out, "100\n5\n105\n");
  EXPECT_EQ(r.err, "");
}

TEST(InterpreterActors, AsyncMessagesInSendOrder) {
  ProgRun r = expectEveryForm(prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  br loop(1)
loop(%i: i64):
  %more = icmp sle i64 %i, 20
  condbr %more, body, done
body:
  call @C.push.send(%c, %i)
  %i2 = add i64 %i, 1
  br loop(%i2)
done:
  %n = call @C.get.call(%c)
  call @qz_println_i64(%n)
  ret 0
}
)"));
  std::string want;
  for (int i = 1; i <= 20; ++i)
    want += std::to_string(i) + "\n";
  want += "310\n"; // 100 + 1 + ... + 20
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, want);
}

TEST(InterpreterActors, StopHandlesWhatWasSentThenFailsLaterCalls) {
  ProgRun r = expectEveryForm(prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  call @C.push.send(%c, 1)
  call @C.push.send(%c, 2)
  call @C.push.send(%c, 3)
  %st = await @qz_actor_stop_poll(%c)
  call @qz_println_i64(%st)
  %st2 = await @qz_actor_stop_poll(%c)
  call @qz_println_i64(%st2)
  call @C.push.send(%c, 4)
  ret 0
}
)"));
  // The three messages are handled before stop() returns READY (0); a
  // second stop finds it not running (2); a send to it panics.
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.out, "1\n2\n3\n0\n2\n");
  EXPECT_EQ(r.err, "panic: actor C is not running\n");
}

TEST(InterpreterActors, StoppedActorFailsASyncCall) {
  ProgRun r = expectEveryForm(prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  %st = await @qz_actor_stop_poll(%c)
  %v = call @C.get.call(%c)
  ret %v
}
)"));
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.err, "panic: actor C is not running\n");
}

TEST(InterpreterActors, PanicWithLiveLinkRestartsWithFreshFields) {
  ProgRun r = expectEveryForm(prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  %g = call @G.new()
  call @qz_actor_link(%c, %g)
  call @C.push.send(%c, 5)
  call @C.crash.send(%c)
  %v = call @C.get.call(%c)
  call @qz_println_i64(%v)
  call @C.push.send(%c, 7)
  %w = call @C.get.call(%c)
  call @qz_println_i64(%w)
  %p = call @G.ping.call(%g)
  call @qz_println_i64(%p)
  %q = call @C.fail.call(%c, 0)
  ret 0
}
)"));
  // crash() set the field to 1000 before panicking: the restarted loop ran
  // init again (100), kept its mailbox (push 7 arrives), and the caller of
  // the panicking synchronous fail() panics.
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.out, "5\n100\n7\n107\n1\n");
  EXPECT_EQ(r.err, "actor C panicked in crash(): boom\n"
                   "actor C panicked in fail(): division by zero\n"
                   "panic: actor C panicked in fail()\n");
}

TEST(InterpreterActors, PanicWithoutLiveLinkTerminates) {
  ProgRun r = expectEveryForm(prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  call @C.push.send(%c, 5)
  call @C.crash.send(%c)
  %v = call @C.get.call(%c)
  call @qz_println_i64(%v)
  ret 0
}
)"));
  // The get is either failed by the draining loop or refused by the closed
  // mailbox: "not running" either way.
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.out, "5\n");
  EXPECT_EQ(r.err, "actor C panicked in crash(): boom\n"
                   "panic: actor C is not running\n");
}

TEST(InterpreterActors, LinkToAStoppedActorIsNotLive) {
  ProgRun r = expectEveryForm(prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  %g = call @G.new()
  call @qz_actor_link(%c, %g)
  %st = await @qz_actor_stop_poll(%g)
  call @C.crash.send(%c)
  call @C.push.send(%c, 1)
  %v = call @C.get.call(%c)
  ret %v
}
)"));
  EXPECT_EQ(r.status, 101);
  EXPECT_THAT(r.err, HasSubstr("actor C panicked in crash(): boom\n"));
  EXPECT_THAT(r.err, HasSubstr("panic: actor C is not running\n"));
}

TEST(InterpreterActors, PanicLineComesInOutputOrder) {
  std::string text = prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  %g = call @G.new()
  call @qz_actor_link(%c, %g)
  call @qz_println_i64(1)
  call @C.crash.send(%c)
  %v = call @C.get.call(%c)
  call @qz_println_i64(%v)
  ret 0
}
)");
  for (const std::string &form : forms()) {
    ProgRun r = runForm(text, form, 3, /*merged=*/true);
    EXPECT_EQ(r.status, 0) << where(form, 3);
    EXPECT_EQ(r.out, "1\nactor C panicked in crash(): boom\n100\n") << where(form, 3);
  }
}

TEST(InterpreterActors, MethodThatCallsAnotherActor) {
  ProgRun r = expectEveryForm(prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  %r1 = call @R.new()
  %r2 = call @R.new()
  call @C.push.send(%c, 1)
  %a = call @R.relay.call(%r1, %c)
  %b = call @R.relay.call(%r2, %c)
  %s = add i64 %a, %b
  call @qz_println_i64(%s)
  ret 0
}
)"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\n204\n");
}

TEST(InterpreterActors, DeadlockReportNamesActors) {
  ProgRun r = expectEveryForm(prog(R"(
fn @main() -> i64 {
entry:
  %slot = alloca i64
  %c = call @C.new()
  %ch = call @qz_chan_new(0)
  %st = await @qz_chan_recv_poll(%ch, %slot)
  ret 0
}
)"));
  EXPECT_EQ(r.status, 101);
  EXPECT_THAT(r.err, HasSubstr("deadlock: "));
  EXPECT_THAT(r.err, HasSubstr("actor C waits for mail"));
  EXPECT_THAT(r.err, HasSubstr("main waits on channel recv"));
}

TEST(InterpreterActors, TrapInAnActorStopsEverything) {
  // A trap is the interpreter's, not a panic: no restart, the run stops
  // (inlining may change which function the report names).
  std::string text = prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  %g = call @G.new()
  call @qz_actor_link(%c, %g)
  call @C.uaf.send(%c)
  %v = call @C.get.call(%c)
  call @qz_println_i64(%v)
  ret 0
}
)");
  for (const std::string &form : forms())
    for (uint64_t seed = 0; seed < kSeeds; ++seed) {
      ProgRun r = runForm(text, form, seed);
      EXPECT_EQ(r.status, 70) << where(form, seed);
      EXPECT_EQ(r.out, "") << where(form, seed);
      EXPECT_THAT(r.err, HasSubstr("through a pointer to a freed object (use after free)"))
          << where(form, seed);
      EXPECT_THAT(r.err, Not(HasSubstr("panicked"))) << where(form, seed);
    }
}

TEST(InterpreterActors, InterleavingIsTheSameInEveryForm) {
  // Two actors print as their messages arrive: the interleaving depends on
  // the seed, and each seed gives the same one in every form.
  std::string text = prog(R"(
fn @main() -> i64 {
entry:
  %a = call @C.new()
  %b = call @C.new()
  br loop(0)
loop(%i: i64):
  %more = icmp slt i64 %i, 6
  condbr %more, body, done
body:
  call @C.push.send(%a, %i)
  %j = add i64 %i, 100
  call @C.push.send(%b, %j)
  %i2 = add i64 %i, 1
  br loop(%i2)
done:
  %x = call @C.get.call(%a)
  %y = call @C.get.call(%b)
  %s = add i64 %x, %y
  ret %s
}
)");
  std::set<std::string> outputs;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    ProgRun first = runForm(text, "", seed);
    EXPECT_EQ(first.status, (100 + 15 + 100 + 615) & 0xff) << first.err;
    outputs.insert(first.out);
    for (const std::string &form : forms()) {
      ProgRun r = runForm(text, form, seed);
      EXPECT_EQ(r.status, first.status) << where(form, seed);
      EXPECT_EQ(r.out, first.out) << where(form, seed);
    }
  }
  EXPECT_GT(outputs.size(), 1u) << "the program should interleave differently by seed";
}

TEST(InterpreterActors, ResultGoesThroughRunToo) {
  // Interpreter::run on an actor program: the result, and the actor's panic
  // line on the error stream (what a native program prints and survives).
  auto m = qmir::testing::parseOrFail(prog(R"(
fn @main() -> i64 {
entry:
  %c = call @C.new()
  %g = call @G.new()
  call @qz_actor_link(%c, %g)
  call @C.crash.send(%c)
  %v = call @C.get.call(%c)
  ret %v
}
)"),
                                      "actors.mir");
  ASSERT_TRUE(m);
  std::string out, err;
  llvm::raw_string_ostream os(out), es(err);
  InterpOptions opts;
  opts.seed = 2;
  Interpreter interp(*m, os, es, opts);
  InterpResult r = interp.run(*m->function("main"));
  EXPECT_EQ(r.kind, InterpResult::Returned) << r.message;
  EXPECT_EQ(r.value, 100);
  EXPECT_EQ(es.str(), "actor C panicked in crash(): boom\n");
  // And again: the run starts afresh (new actors, handles and channels).
  r = interp.run(*m->function("main"));
  EXPECT_EQ(r.value, 100);
}

// The runtime functions the generated stubs use, on their own.
const char *kChanDecls = R"(
declare fn @qz_chan_new(i64) -> ptr
declare fn @qz_chan_close(ptr) -> void
declare fn @qz_chan_free(ptr) -> void
declare fn @qz_chan_try_send(ptr, i64) -> i1
declare fn @qz_chan_try_recv(ptr, ptr) -> i1
declare fn @qz_println_i64(i64) -> void
)";

ProgRun runChan(llvm::StringRef body) {
  return runForm(std::string(kChanDecls) + body.str(), "", 0);
}

TEST(InterpreterActors, ChanTrySendAndFree) {
  ProgRun r = runChan(R"(
fn @main() -> i64 {
entry:
  %slot = alloca i64
  %c = call @qz_chan_new(1)
  %ok = call @qz_chan_try_send(%c, 7)
  %full = call @qz_chan_try_send(%c, 8)
  %got = call @qz_chan_try_recv(%c, %slot)
  %v = load i64, %slot
  call @qz_println_i64(%v)
  %a = zext i1 %ok to i64
  %b = zext i1 %full to i64
  call @qz_println_i64(%a)
  call @qz_println_i64(%b)
  call @qz_chan_free(%c)
  call @qz_chan_free(undef)
  ret 0
}
)");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "7\n1\n0\n");
}

TEST(InterpreterActors, ChanTrySendOnClosedPanics) {
  ProgRun r = runChan(R"(
fn @main() -> i64 {
entry:
  %c = call @qz_chan_new(1)
  call @qz_chan_close(%c)
  %ok = call @qz_chan_try_send(%c, 7)
  ret 0
}
)");
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.err, "panic: send on closed channel\n");
}

TEST(InterpreterActors, UseOfAFreedChannelTraps) {
  ProgRun r = runChan(R"(
fn @main() -> i64 {
entry:
  %c = call @qz_chan_new(1)
  call @qz_chan_free(%c)
  %ok = call @qz_chan_try_send(%c, 7)
  ret 0
}
)");
  EXPECT_EQ(r.status, 70);
  EXPECT_THAT(r.err, HasSubstr("@qz_chan_try_send: the channel was freed"));
  r = runChan(R"(
fn @main() -> i64 {
entry:
  %c = call @qz_chan_new(1)
  call @qz_chan_free(%c)
  call @qz_chan_free(%c)
  ret 0
}
)");
  EXPECT_EQ(r.status, 70);
  EXPECT_THAT(r.err, HasSubstr("@qz_chan_free: the channel was freed"));
}

TEST(InterpreterActors, ActorFunctionsCheckTheirHandles) {
  ProgRun r = runForm(R"(
declare fn @qz_actor_send(ptr, ptr) -> i1
declare fn @qz_chan_new(i64) -> ptr
fn @main() -> i64 {
entry:
  %c = call @qz_chan_new(1)
  %ok = call @qz_actor_send(%c, %c)
  ret 0
}
)",
                  "", 0);
  EXPECT_EQ(r.status, 70);
  EXPECT_THAT(r.err, HasSubstr("@qz_actor_send: the argument is not an actor"));
}

} // namespace
