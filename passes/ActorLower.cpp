// actor-lower: generates, for every `actor` declaration, the code that makes it
// run: the task whose loop takes the next message from the actor's mailbox and
// dispatches on its tag to the method, and for each method the stub a caller
// uses to send it. A message is a heap object `A.m.msg = {i64 tag, ptr reply,
// result, args...}` (`new`), sent through the runtime's mailbox (an unbounded
// channel with waiter queues). A void method's stub `@A.m.send` enqueues and
// returns (an `await`: when the mailbox is deep the sender yields its worker to
// the actor, but it never waits for room); a method with a result has
// `@A.m.call`, which makes a one-slot reply channel, enqueues, and awaits the
// reply status (1 replied, 2 the method panicked, 3 the actor stopped or
// terminated before handling it), so a caller never hangs on a dead actor.
// `@A.actor.loop(%h)` is the loop (a name no method can have: method names are
// one identifier): it first settles a restart (the message in flight when the
// loop panicked fails with status 2; see qz_actor_panicked in docs/runtime.md),
// then either resets the fields with `@A.init` and serves messages one at a
// time until the mailbox is closed by stop() and drained, or, for an actor that
// terminated, fails every queued message with status 3 (through
// `@A.actor.fail`). `@A.new()` makes the state, the runtime actor and starts
// the loop through the body-less `@qz.spawn_actor.A.actor.loop`, which
// coro-split turns into a task start with a restart entry. The `actor`
// declarations are removed once lowered. Everything generated is ordinary MIR
// with `await`s: a method that suspends (it calls another actor synchronously,
// or sleeps) is just a suspending call inside the loop, and coro-split makes
// the loop a state machine, so it resumes in the middle of a message without
// blocking a worker.
#include "mir/Builder.h"
#include "passes/PassRegistry.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <string>

using namespace llvm;

namespace qmir {

namespace {

constexpr unsigned kTagField = 0, kReplyField = 1, kResultField = 2, kFirstArg = 3;
constexpr int64_t kReplied = 1, kPanicked = 2, kNotRunning = 3;

class ActorLowerer {
public:
  explicit ActorLowerer(Module &m) : m_(m), tc_(m.types()), b_(m) {}
  bool run();

private:
  struct Method {
    Function *impl;
    const Type *msg;
    bool sync;
    std::string name; ///< the method's source name ("get")
  };
  Function *rt(StringRef name, ArrayRef<const Type *> params, const Type *result);
  /// A function to define: the lowering's declaration, or a new one.
  Function *define(StringRef name, ArrayRef<const Type *> params, const Type *result);
  void lowerActor(const ActorDecl &a);
  void buildStub(const ActorDecl &a, const Method &m, unsigned tag);
  Function *buildFail(const ActorDecl &a, ArrayRef<Method> methods);
  void buildRun(const ActorDecl &a, ArrayRef<Method> methods, Function *fail);
  void buildNew(const ActorDecl &a, Function *run);

  Module &m_;
  TypeContext &tc_;
  Builder b_;
};

Function *ActorLowerer::rt(StringRef name, ArrayRef<const Type *> params, const Type *result) {
  return m_.getOrDeclareFunction(name, tc_.function(params, result));
}

Function *ActorLowerer::define(StringRef name, ArrayRef<const Type *> params,
                               const Type *result) {
  if (Function *f = m_.function(name))
    return f->isDeclaration() && f->type() == tc_.function(params, result) ? f : nullptr;
  return m_.createFunction(name, tc_.function(params, result));
}

void ActorLowerer::buildStub(const ActorDecl &a, const Method &m, unsigned tag) {
  auto params = m.impl->type()->params();
  Function *stub = define((Twine(m.impl->name()) + (m.sync ? ".call" : ".send")).str(), params,
                          m.impl->returnType());
  if (!stub || !stub->isDeclaration())
    return;
  const Type *ptr = tc_.ptr(), *i64 = tc_.i64();
  std::string notRunning = ("actor " + a.name + " is not running").str();
  Value *h = stub->arg(0);
  h->setName("actor");
  b_.setLoc(0);
  b_.setInsertPoint(stub->createBlock("entry"));
  Instruction *slot = m.sync ? b_.alloc(i64, 0, "reply.slot") : nullptr;
  Instruction *msg = b_.newObject(m.msg);
  msg->setName("msg");
  b_.store(b_.i64(tag), b_.fieldAddr(m.msg, msg, kTagField));
  for (unsigned k = 1; k < params.size(); ++k)
    b_.store(stub->arg(k), b_.fieldAddr(m.msg, msg, kFirstArg + k - 1));
  Value *reply = nullptr;
  if (m.sync) {
    reply = b_.call(rt("qz_chan_new", {i64}, ptr), {b_.i64(1)});
    reply->setName("reply");
    b_.store(reply, b_.fieldAddr(m.msg, msg, kReplyField));
  }
  // A void method's send may yield (the mailbox is deep, see
  // qz_actor_send_poll); a call waits for its reply anyway.
  Value *ok = m.sync ? static_cast<Value *>(
                           b_.call(rt("qz_actor_send", {ptr, ptr}, tc_.i1()), {h, msg}))
                     : b_.icmp(ICmpPred::EQ,
                               b_.await(rt("qz_actor_send_poll", {ptr, ptr, ptr}, i64),
                                        {h, msg}),
                               b_.i64(0));
  Block *sent = stub->createBlock("sent");
  Block *dead = stub->createBlock("not.running");
  b_.condBr(ok, sent, dead);
  b_.setInsertPoint(dead);
  if (reply)
    b_.call(rt("qz_chan_free", {ptr}, tc_.voidTy()), {reply});
  b_.freeObject(msg);
  b_.panic(notRunning);
  b_.setInsertPoint(sent);
  if (!m.sync) {
    b_.ret();
    return;
  }
  // The reply channel holds one status; the result travels in the message.
  b_.await(rt("qz_chan_recv_poll", {ptr, ptr, ptr}, i64), {reply, slot});
  Value *status = b_.load(i64, slot);
  status->setName("status");
  b_.call(rt("qz_chan_free", {ptr}, tc_.voidTy()), {reply});
  Block *replied = stub->createBlock("replied");
  Block *failed = stub->createBlock("failed");
  Block *panicked = stub->createBlock("panicked");
  Block *stopped = stub->createBlock("stopped");
  b_.condBr(b_.icmp(ICmpPred::EQ, status, b_.i64(kReplied)), replied, failed);
  b_.setInsertPoint(replied);
  Value *r = b_.load(m.impl->returnType(), b_.fieldAddr(m.msg, msg, kResultField));
  b_.freeObject(msg);
  b_.ret(r);
  b_.setInsertPoint(failed);
  b_.freeObject(msg);
  b_.condBr(b_.icmp(ICmpPred::EQ, status, b_.i64(kPanicked)), panicked, stopped);
  b_.setInsertPoint(panicked);
  b_.panic(("actor " + a.name + " panicked in " + m.name + "()").str());
  b_.setInsertPoint(stopped);
  b_.panic(notRunning);
}

/// `@A.actor.fail(%msg, %status)`: a message the actor will not handle. A caller
/// waiting for a reply gets the status; an asynchronous message is freed.
Function *ActorLowerer::buildFail(const ActorDecl &a, ArrayRef<Method> methods) {
  const Type *ptr = tc_.ptr(), *i64 = tc_.i64();
  Function *fail = define((a.name + ".actor.fail").str(), {ptr, i64}, tc_.voidTy());
  if (!fail || !fail->isDeclaration())
    return nullptr;
  Value *msg = fail->arg(0), *status = fail->arg(1);
  msg->setName("msg");
  status->setName("status");
  b_.setInsertPoint(fail->createBlock("entry"));
  Value *tag = b_.load(i64, msg);
  tag->setName("tag");
  Block *async = fail->createBlock("async");
  SmallVector<Builder::SwitchCase, 8> cases;
  for (unsigned k = 0; k < methods.size(); ++k) {
    if (!methods[k].sync) {
      cases.push_back({static_cast<int64_t>(k), async, {}});
      continue;
    }
    // Each message is read through its own type: the caller waits on the
    // reply channel and frees the message itself.
    Block *sync = fail->createBlock(("reply." + methods[k].name));
    cases.push_back({static_cast<int64_t>(k), sync, {}});
    Block *here = b_.insertBlock();
    b_.setInsertPoint(sync);
    Value *reply = b_.load(ptr, b_.fieldAddr(methods[k].msg, msg, kReplyField));
    b_.call(rt("qz_chan_try_send", {ptr, i64}, tc_.i1()), {reply, status});
    b_.ret();
    b_.setInsertPoint(here);
  }
  b_.switchOn(tag, async, {}, cases);
  b_.setInsertPoint(async);
  b_.freeObject(msg);
  b_.ret();
  return fail;
}

void ActorLowerer::buildRun(const ActorDecl &a, ArrayRef<Method> methods, Function *fail) {
  const Type *ptr = tc_.ptr(), *i64 = tc_.i64(), *voidTy = tc_.voidTy();
  Function *run = m_.function((a.name + ".actor.loop").str());
  Value *h = run->arg(0);
  h->setName("actor");
  Function *recv = rt("qz_actor_recv_poll", {ptr, ptr, ptr}, i64);
  Function *finished = rt("qz_actor_finished", {ptr}, voidTy);
  Function *setCurrent = rt("qz_actor_set_current", {ptr, ptr, ptr}, voidTy);
  Function *clearCurrent = rt("qz_actor_clear_current", {ptr}, voidTy);

  Block *entry = run->createBlock("entry");
  b_.setInsertPoint(entry);
  Instruction *slot = b_.alloc(ptr, 0, "mail");
  Value *state = b_.call(rt("qz_actor_state", {ptr}, ptr), {h});
  state->setName("state");
  Value *mode = b_.call(rt("qz_actor_run_mode", {ptr}, i64), {h});
  mode->setName("mode");
  Value *hasFailed = b_.call(rt("qz_actor_has_failed", {ptr}, tc_.i1()), {h});
  Block *failIt = run->createBlock("fail.inflight");
  Block *settled = run->createBlock("settled");
  b_.condBr(hasFailed, failIt, settled);
  b_.setInsertPoint(failIt);
  Value *failedMsg = b_.call(rt("qz_actor_take_failed", {ptr}, ptr), {h});
  failedMsg->setName("failed");
  b_.call(fail, {failedMsg, b_.i64(kPanicked)});
  b_.br(settled);

  Block *drain = run->createBlock("drain");
  Block *start = run->createBlock("init");
  b_.setInsertPoint(settled);
  b_.condBr(b_.icmp(ICmpPred::EQ, mode, b_.i64(2)), drain, start);
  Block *done = run->createBlock("done");
  b_.setInsertPoint(done);
  b_.call(finished, {h});
  b_.ret();

  // Terminated: every queued message fails with "not running".
  Block *drained = run->createBlock("drain.msg");
  b_.setInsertPoint(drain);
  Value *dst = b_.await(recv, {h, slot});
  b_.condBr(b_.icmp(ICmpPred::EQ, dst, b_.i64(0)), drained, done);
  b_.setInsertPoint(drained);
  b_.call(fail, {b_.load(ptr, slot), b_.i64(kNotRunning)});
  b_.br(drain);

  // Running: fields to their initial values, then one message at a time.
  Block *next = run->createBlock("next");
  b_.setInsertPoint(start);
  b_.call(a.init, {state});
  b_.br(next);
  Block *got = run->createBlock("got");
  b_.setInsertPoint(next);
  Value *st = b_.await(recv, {h, slot});
  b_.condBr(b_.icmp(ICmpPred::EQ, st, b_.i64(0)), got, done);
  b_.setInsertPoint(got);
  Value *msg = b_.load(ptr, slot);
  msg->setName("msg");
  Value *tag = b_.load(i64, msg);
  tag->setName("tag");
  Block *bad = run->createBlock("bad.tag");
  SmallVector<Builder::SwitchCase, 8> cases;
  SmallVector<Block *, 8> arms;
  for (unsigned k = 0; k < methods.size(); ++k) {
    arms.push_back(run->createBlock(("on." + methods[k].name)));
    cases.push_back({static_cast<int64_t>(k), arms.back(), {}});
  }
  b_.switchOn(tag, bad, {}, cases);
  b_.setInsertPoint(bad);
  b_.panic(("actor " + a.name + " received a message with an unknown tag").str());
  for (unsigned k = 0; k < methods.size(); ++k) {
    const Method &m = methods[k];
    b_.setInsertPoint(arms[k]);
    b_.call(setCurrent, {h, msg, b_.str(m.name)});
    SmallVector<Value *, 4> args{state};
    auto params = m.impl->type()->params();
    for (unsigned p = 1; p < params.size(); ++p)
      args.push_back(b_.load(params[p], b_.fieldAddr(m.msg, msg, kFirstArg + p - 1)));
    Instruction *r = b_.call(m.impl, args);
    b_.call(clearCurrent, {h});
    if (m.sync) {
      b_.store(r, b_.fieldAddr(m.msg, msg, kResultField));
      Value *reply = b_.load(ptr, b_.fieldAddr(m.msg, msg, kReplyField));
      b_.call(rt("qz_chan_try_send", {ptr, i64}, tc_.i1()), {reply, b_.i64(kReplied)});
    } else {
      b_.freeObject(msg);
    }
    b_.br(next);
  }
}

void ActorLowerer::buildNew(const ActorDecl &a, Function *run) {
  const Type *ptr = tc_.ptr();
  Function *ctor = define((a.name + ".new").str(), {}, ptr);
  if (!ctor || !ctor->isDeclaration())
    return;
  Function *spawn = rt(("qz.spawn_actor." + run->name()).str(), {ptr}, tc_.voidTy());
  b_.setInsertPoint(ctor->createBlock("entry"));
  Instruction *state = b_.newObject(a.state);
  state->setName("state");
  Instruction *h =
      b_.call(rt("qz_actor_create", {ptr, ptr}, ptr), {b_.str(a.name), state});
  h->setName("actor");
  b_.call(spawn, {h});
  b_.ret(h);
}

void ActorLowerer::lowerActor(const ActorDecl &a) {
  b_.setLoc(0);
  SmallVector<Method, 8> methods;
  for (Function *impl : a.methods) {
    Method m;
    m.impl = impl;
    m.sync = !impl->returnType()->isVoid();
    StringRef full = impl->name();
    m.name = full.starts_with(a.name) && full.size() > a.name.size() + 1
                 ? full.drop_front(a.name.size() + 1).str()
                 : full.str();
    const Type *msgTy = tc_.createFreshNamedStruct((impl->name() + ".msg").str());
    SmallVector<const Type *, 8> fields{tc_.i64(), tc_.ptr(),
                                        m.sync ? impl->returnType() : tc_.i64()};
    auto params = impl->type()->params();
    fields.append(params.begin() + 1, params.end());
    tc_.setStructBody(msgTy, fields);
    m.msg = msgTy;
    methods.push_back(std::move(m));
  }
  for (unsigned k = 0; k < methods.size(); ++k)
    buildStub(a, methods[k], k);
  Function *fail = buildFail(a, methods);
  Function *run = define((a.name + ".actor.loop").str(), {tc_.ptr()}, tc_.voidTy());
  if (!fail || !run || !run->isDeclaration())
    return;
  buildRun(a, methods, fail);
  buildNew(a, run);
}

bool ActorLowerer::run() {
  if (m_.actors().empty())
    return false;
  for (const ActorDecl &a : m_.actors())
    lowerActor(a);
  // The declarations are now code (like a lowered `match`): later passes
  // may rewrite or remove the methods they named.
  m_.actors().clear();
  return true;
}

class ActorLowerPass : public ModulePass {
public:
  StringRef name() const override { return "actor-lower"; }
  PreservedAnalyses run(Module &m, AnalysisManager &) override {
    return ActorLowerer(m).run() ? PreservedAnalyses::none() : PreservedAnalyses::all();
  }
};

} // namespace

void registerActorLowerPass(PassRegistry &registry) {
  registry.add<ActorLowerPass>(
      "actor-lower", "generates each actor's message loop (@A.actor.loop), its message stubs "
                     "(@A.m.send / @A.m.call), @A.new and the message types");
}

} // namespace qmir
