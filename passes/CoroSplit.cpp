// coro-split: turns every function that can suspend into a poll state
// machine over a heap frame, so that a task waiting on a channel, a timer or
// another suspending call returns to the scheduler instead of blocking a
// worker thread. A function suspends if it contains an `await` or calls a
// function that suspends (a fixed point over the call graph). Each such @f
// becomes `type f.frame = {i64 state, <result>, <parameters>, <slots>}` and
// `fn @f.poll(%frame: ptr, %self: ptr) -> i64`, which returns 0 when @f has
// returned (its result in the frame) and 1 when it must be polled again. The
// poll function's entry loads the state and switches to the start (state 0)
// or to the resume block of suspension point k. A suspension point is an
// `await @op(args)`, which becomes `call @op(args, %self)` followed by "if it
// said pending, suspend at k", or a call to a suspending @g, which becomes
// `new g.frame`, the argument stores, then a poll of @g.poll under the same
// rule, reading the result and freeing g's frame once it is ready. Resuming
// re-executes the operation, which is what the runtime's poll protocol asks.
// The frame holds only what is live across a suspension point, from the
// liveness analysis: a value live into a resume block gets a slot that the
// suspend path stores and the resume path reloads (parameters reuse their
// own field), and an alloca whose address is live there moves into the frame
// (so memory the runtime writes while the task sleeps, like a receive slot,
// lives in the frame). The rewiring goes through temporary allocas that
// mem2reg then promotes, which rebuilds SSA form with block parameters where
// the start path and the resume paths meet. Finally the pass gives tasks
// their entries: `@F.task(%frame, %self)` polls a spawned @F and frees its
// frame when done, the body-less `@qz.spawn.F(args)` the lowering called gets
// a body that builds F's frame and calls qz_spawn_named, and in a module
// with tasks `@main.task` runs main as the root task (a runner allocates a
// zeroed `main.frame`) and reports its result with qz_task_set_result. An
// actor's loop, started through the body-less `@qz.spawn_actor.F(%actor)`
// that actor-lower emits, becomes a qz_actor_start call instead, which
// names that same entry as the restart function.
#include "mir/Builder.h"
#include "passes/Mem2Reg.h"
#include "passes/Liveness.h"
#include "passes/PassRegistry.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <vector>

using namespace llvm;

namespace qmir {

namespace {

constexpr int64_t kReady = 0;
constexpr int64_t kPending = 1;
constexpr llvm::StringLiteral kSpawnPrefix = "qz.spawn.";
constexpr llvm::StringLiteral kSpawnActorPrefix = "qz.spawn_actor.";

/// Where @f's pieces live in f.frame.
struct FrameLayout {
  const Type *type = nullptr;
  Function *poll = nullptr;
  unsigned resultField = 0; ///< valid when the result is not void
  unsigned firstParam = 0;
};

/// Copies `src`'s body into `dst`, with `vmap` pre-seeded for src's
/// arguments. Returns the clone of src's entry block.
Block *cloneBody(const Function &src, Function &dst, DenseMap<const Value *, Value *> &vmap) {
  DenseMap<const Block *, Block *> bmap;
  for (const Block &b : src.blocks()) {
    Block *nb = dst.createBlock(b.name());
    bmap[&b] = nb;
    for (BlockArg *a : b.args()) {
      BlockArg *na = nb->addArg(a->type(), a->name());
      na->setBinding(a->binding());
      vmap[a] = na;
    }
  }
  std::vector<Instruction *> cloned;
  for (const Block &b : src.blocks()) {
    Block *nb = bmap[&b];
    for (const Instruction &i : b.insts()) {
      SmallVector<Value *, 4> ops;
      for (unsigned k = 0; k < i.numOperands(); ++k)
        ops.push_back(i.operand(k));
      Instruction *ni = dst.createInst(i.opcode(), i.type(), ops, i.numSuccessors());
      ni->setFieldIndex(i.fieldIndex());
      ni->setVariantIndex(i.variantIndex());
      if (i.opcode() == Opcode::Panic)
        ni->setMessage(dst.save(i.message()));
      else if (i.hasCallee())
        ni->setCallee(i.callee());
      else if (i.numSuccessors() == 0)
        ni->setAuxType(i.auxType());
      for (unsigned k = 0; k < i.numSuccessors(); ++k) {
        ni->successors()[k] = i.successors()[k];
        ni->successors()[k].block = bmap[i.successors()[k].block];
      }
      ni->setBinding(i.binding());
      if (!i.name().empty())
        ni->setName(dst.save(i.name()));
      ni->setLoc(i.loc());
      nb->append(ni);
      vmap[&i] = ni;
      cloned.push_back(ni);
    }
  }
  for (Instruction *ni : cloned)
    for (unsigned k = 0; k < ni->numOperands(); ++k) {
      Value *v = ni->operand(k);
      if (v && !v->isConstant()) {
        auto it = vmap.find(v);
        assert(it != vmap.end() && "operand defined outside the function");
        ni->setOperand(k, it->second);
      }
    }
  return bmap[src.entry()];
}

/// Moves `at` and everything after it in its block to a new block placed
/// right after it; the old block ends in `br` to the new one.
Block *splitBefore(Instruction *at, StringRef name) {
  Block *b = at->parent();
  Function *f = b->parent();
  auto next = std::next(b->getIterator());
  Block *after = f->createBlock(name, next == f->blocks().end() ? nullptr : &*next);
  for (auto it = at->getIterator(); it != b->insts().end();) {
    Instruction &i = *it++;
    i.removeFromParent();
    after->append(&i);
  }
  Builder bb(*f->parent());
  bb.setInsertPoint(b);
  bb.setLoc(at->loc());
  bb.br(after);
  return after;
}

class CoroSplitter {
public:
  explicit CoroSplitter(Module &m) : m_(m), tc_(m.types()) {}
  bool run();

private:
  void findSuspending();
  FrameLayout &declarePoll(Function &f);
  void buildPoll(Function &f);
  Function *runtimeFn(StringRef name, ArrayRef<const Type *> params, const Type *result);
  Function *taskEntry(Function &f, bool isMain);
  const Type *argsFrame(Function &f);

  Module &m_;
  TypeContext &tc_;
  SetVector<Function *> suspending_;
  DenseMap<Function *, FrameLayout> layouts_;
};

void CoroSplitter::findSuspending() {
  // Callers of each function, then a worklist from the functions that await.
  DenseMap<Function *, SmallVector<Function *, 4>> callers;
  SmallVector<Function *, 16> work;
  for (Function &f : m_.functions()) {
    bool awaits = false;
    for (Block &b : f.blocks())
      for (Instruction &i : b.insts()) {
        if (i.opcode() == Opcode::Await)
          awaits = true;
        else if (i.opcode() == Opcode::Call && i.callee() && !i.callee()->isDeclaration())
          callers[i.callee()].push_back(&f);
      }
    if (awaits && suspending_.insert(&f))
      work.push_back(&f);
  }
  while (!work.empty()) {
    Function *g = work.pop_back_val();
    for (Function *caller : callers.lookup(g))
      if (suspending_.insert(caller))
        work.push_back(caller);
  }
}

Function *CoroSplitter::runtimeFn(StringRef name, ArrayRef<const Type *> params,
                                  const Type *result) {
  return m_.getOrDeclareFunction(name, tc_.function(params, result));
}

/// Creates f.frame (opaque for now: its slots are known only after f's
/// liveness) and the declaration of f.poll, placed right after @f.
FrameLayout &CoroSplitter::declarePoll(Function &f) {
  FrameLayout &l = layouts_[&f];
  std::string base = f.name().str();
  l.type = tc_.createFreshNamedStruct(base + ".frame");
  std::string fnName = base + ".poll";
  for (unsigned n = 1; m_.function(fnName); ++n)
    fnName = base + ".poll" + std::to_string(n);
  l.poll = m_.createFunction(fnName, tc_.function({tc_.ptr(), tc_.ptr()}, tc_.i64()));
  l.poll->args()[0]->setName("frame");
  l.poll->args()[1]->setName("self");
  m_.functions().remove(*l.poll);
  m_.functions().insert(std::next(f.getIterator()), *l.poll);
  unsigned next = 1;
  if (!f.returnType()->isVoid())
    l.resultField = next++;
  l.firstParam = next;
  return l;
}

void CoroSplitter::buildPoll(Function &f) {
  FrameLayout &l = layouts_[&f];
  Function &poll = *l.poll;
  const Type *frameTy = l.type;
  Value *frame = poll.arg(0);
  Value *self = poll.arg(1);
  Builder b(m_);

  // dispatch: the state switch goes in last; start: the parameters.
  Block *dispatch = poll.createBlock("dispatch");
  Block *start = poll.createBlock("start");
  b.setInsertPoint(start);
  DenseMap<const Value *, Value *> vmap;
  DenseMap<const Value *, unsigned> paramField;
  for (Argument *a : f.args()) {
    unsigned field = l.firstParam + a->index();
    Instruction *ld = b.load(a->type(), b.fieldAddr(frameTy, frame, field));
    ld->setName(poll.save(a->name()));
    vmap[a] = ld;
    paramField[ld] = field;
  }
  Block *body = cloneBody(f, poll, vmap);
  b.setInsertPoint(start);
  b.br(body);

  // Suspension points, in program order, and the returns.
  SmallVector<Instruction *, 8> points, rets;
  for (Block &bb : poll.blocks())
    for (Instruction &i : bb.insts()) {
      if (i.opcode() == Opcode::Await ||
          (i.opcode() == Opcode::Call && suspending_.count(i.callee())))
        points.push_back(&i);
      else if (i.opcode() == Opcode::Ret)
        rets.push_back(&i);
    }

  // ret v: the result goes to the frame; the poll says "ready".
  for (Instruction *r : rets) {
    b.setInsertPoint(r);
    b.setLoc(r->loc());
    if (r->numOperands() == 1 && !f.returnType()->isVoid())
      b.store(r->operand(0), b.fieldAddr(frameTy, frame, l.resultField));
    b.ret(b.i64(kReady));
    r->eraseFromParent();
  }

  // Each point k starts its own block resumeAt[k]; pending goes to
  // suspendAt[k], filled in once liveness is known.
  struct Point {
    Block *resumeAt;
    Block *suspendAt;
  };
  SmallVector<Point, 8> pts;
  unsigned k = 0;
  for (Instruction *p : points) {
    ++k;
    b.setLoc(p->loc());
    Value *calleeFrame = nullptr;
    const FrameLayout *gl = nullptr;
    if (p->opcode() == Opcode::Call) {
      // A suspending callee: its frame is built before the resume point.
      gl = &layouts_[p->callee()];
      b.setInsertPoint(p);
      calleeFrame = b.newObject(gl->type);
      calleeFrame->setName(poll.save((Twine(p->callee()->name()) + ".fr").str()));
      for (unsigned a = 0; a < p->numOperands(); ++a)
        b.store(p->operand(a), b.fieldAddr(gl->type, calleeFrame, gl->firstParam + a));
    }
    Block *resumeAt = splitBefore(p, (Twine("resume.") + Twine(k)).str());
    Block *cont = splitBefore(&*std::next(p->getIterator()), (Twine("ready.") + Twine(k)).str());
    // Replace the point by the poll call and the pending test.
    b.setInsertPoint(p);
    Instruction *status;
    if (gl) {
      status = b.call(gl->poll, {calleeFrame, self});
    } else {
      SmallVector<Value *, 4> args;
      for (unsigned a = 0; a < p->numOperands(); ++a)
        args.push_back(p->operand(a));
      args.push_back(self);
      status = b.call(p->callee(), args);
    }
    status->setName(poll.save(p->name().empty() || gl ? (Twine(p->name()) + (p->name().empty() ? "st" : ".st")).str()
                                                       : p->name().str()));
    Block *suspendAt = poll.createBlock((Twine("suspend.") + Twine(k)).str());
    Instruction *oldBr = resumeAt->terminator();
    b.setInsertPoint(resumeAt);
    b.condBr(b.icmp(ICmpPred::EQ, status, b.i64(kPending)), suspendAt, cont);
    oldBr->eraseFromParent();
    if (gl) {
      b.setInsertPoint(&cont->front());
      Value *result = nullptr;
      if (!p->callee()->returnType()->isVoid())
        result = b.load(p->callee()->returnType(),
                        b.fieldAddr(gl->type, calleeFrame, gl->resultField));
      b.freeObject(calleeFrame);
      if (result) {
        result->setName(poll.save(p->name()));
        p->replaceAllUsesWith(result);
      }
    } else {
      p->replaceAllUsesWith(status);
    }
    p->eraseFromParent();
    b.setInsertPoint(suspendAt);
    b.ret(b.i64(kPending));
    pts.push_back({resumeAt, suspendAt});
  }
  b.setInsertPoint(dispatch);
  b.setLoc(0);
  Instruction *tmpBr = b.br(start);

  // What is live into each resume block must survive in the frame.
  Liveness live(poll);
  SetVector<Value *> saved;
  DenseSet<Value *> frameAllocas;
  for (const Point &pt : pts)
    for (unsigned idx : live.liveIn(pt.resumeAt)) {
      Value *v = const_cast<Value *>(live.value(idx));
      if (v == frame || v == self)
        continue;
      auto *i = dyn_cast<Instruction>(v);
      if (i && i->opcode() == Opcode::Alloca)
        frameAllocas.insert(v);
      saved.insert(v);
    }
  // An alloca's memory must also outlive the poll when a pointer derived
  // from it (struct.addr, select, a block parameter it flows into) is live
  // into a resume block, or when such a pointer escapes into memory: a
  // store of it, which includes the argument stores into a suspending
  // callee's frame. Those allocas move into the frame too; the derived
  // pointers are then saved like other values and point into the frame.
  DenseSet<const Value *> liveAcross;
  for (const Point &pt : pts)
    for (unsigned idx : live.liveIn(pt.resumeAt))
      liveAcross.insert(live.value(idx));
  for (Block &bb : poll.blocks())
    for (Instruction &i : bb.insts()) {
      if (i.opcode() != Opcode::Alloca || frameAllocas.count(&i))
        continue;
      SmallVector<Value *, 8> work{&i};
      DenseSet<Value *> seen{&i};
      bool mustMove = false;
      while (!work.empty() && !mustMove) {
        Value *d = work.pop_back_val();
        if (d != &i && liveAcross.count(d)) {
          mustMove = true;
          break;
        }
        for (Use &u : d->uses()) {
          Instruction *user = u.user();
          unsigned k = u.operandNo();
          Value *derived = nullptr;
          if (user->opcode() == Opcode::FieldAddr && k == 0)
            derived = user;
          else if (user->opcode() == Opcode::Select && k != 0)
            derived = user;
          else if (user->opcode() == Opcode::Store && k == 0)
            mustMove = true;
          else if (user->isTerminator())
            for (const Successor &sc : user->successors())
              if (k >= sc.firstArg && k < sc.firstArg + sc.numArgs && !sc.pattern)
                derived = sc.block->arg(k - sc.firstArg);
          if (derived && seen.insert(derived).second)
            work.push_back(derived);
        }
      }
      if (mustMove) {
        frameAllocas.insert(&i);
        saved.insert(&i);
      }
    }

  // Frame layout: state, result, parameters, then one slot per saved value
  // (a parameter's load reuses its field) and per frame alloca.
  SmallVector<const Type *, 16> fields{tc_.i64()};
  if (!f.returnType()->isVoid())
    fields.push_back(f.returnType());
  for (Argument *a : f.args())
    fields.push_back(a->type());
  DenseMap<Value *, unsigned> slotOf;
  for (Value *v : saved) {
    auto pf = paramField.find(v);
    if (pf != paramField.end()) {
      slotOf[v] = pf->second;
      continue;
    }
    slotOf[v] = fields.size();
    auto *i = dyn_cast<Instruction>(v);
    fields.push_back(frameAllocas.count(v) ? i->auxType() : v->type());
  }
  // An alloca outside the entry block gives a fresh zeroed object each time
  // it runs (in a loop, say); its frame field is zeroed there instead, by
  // copying a field that is never written (the frame starts zeroed), which
  // works for every type, pointers included.
  DenseMap<const Type *, unsigned> zeroField;
  for (Value *v : saved) {
    auto *a = dyn_cast<Instruction>(v);
    if (frameAllocas.count(v) && a->parent() != body && !zeroField.count(a->auxType())) {
      zeroField[a->auxType()] = fields.size();
      fields.push_back(a->auxType());
    }
  }
  tc_.setStructBody(frameTy, fields);

  // Frame allocas: their address is a field of the frame, computed in the
  // dispatch block, which dominates everything.
  for (Value *v : saved) {
    if (!frameAllocas.count(v))
      continue;
    auto *a = cast<Instruction>(v);
    b.setInsertPoint(tmpBr);
    Instruction *addr = b.fieldAddr(frameTy, frame, slotOf[v]);
    addr->setName(a->name());
    if (a->parent() != body) {
      b.setInsertPoint(a);
      b.setLoc(a->loc());
      const Type *t = a->auxType();
      b.store(b.load(t, b.fieldAddr(frameTy, frame, zeroField[t])), addr);
    }
    a->replaceAllUsesWith(addr);
    a->eraseFromParent();
  }

  // Other saved values go through a temporary alloca: stored after the
  // definition, loaded at each use, copied to the frame when suspending and
  // back when resuming. mem2reg then rebuilds SSA form.
  DenseMap<Value *, Instruction *> tmpOf;
  for (Value *v : saved) {
    if (frameAllocas.count(v))
      continue;
    b.setInsertPoint(tmpBr);
    // Named after the value, so that mem2reg's block parameters are too.
    Instruction *tmp = b.alloc(v->type(), 0, v->name());
    tmpOf[v] = tmp;
    SmallVector<Use *, 8> uses;
    for (Use &u : v->uses())
      uses.push_back(&u);
    for (Use *u : uses) {
      Instruction *user = u->user();
      b.setInsertPoint(user);
      b.setLoc(user->loc());
      u->set(b.load(v->type(), tmp));
    }
    if (auto *ba = dyn_cast<BlockArg>(v)) {
      Block *owner = ba->parent();
      b.setInsertPoint(&owner->front());
    } else {
      auto *def = cast<Instruction>(v);
      b.setInsertPoint(&*std::next(def->getIterator()));
      b.setLoc(def->loc());
    }
    b.store(v, tmp);
  }

  SmallVector<Builder::SwitchCase, 8> cases;
  k = 0;
  for (const Point &pt : pts) {
    ++k;
    Block *reload = poll.createBlock((Twine("reload.") + Twine(k)).str());
    Instruction *suspendRet = pt.suspendAt->terminator();
    b.setLoc(suspendRet->loc());
    for (unsigned idx : live.liveIn(pt.resumeAt)) {
      Value *v = const_cast<Value *>(live.value(idx));
      auto t = tmpOf.find(v);
      if (t == tmpOf.end())
        continue; // frame, self, or a frame alloca
      Instruction *slot;
      // A parameter's field already holds it: parameters never change.
      if (!paramField.count(v)) {
        b.setInsertPoint(suspendRet);
        slot = b.fieldAddr(frameTy, frame, slotOf[v]);
        b.store(b.load(v->type(), t->second), slot);
      }
      b.setInsertPoint(reload);
      slot = b.fieldAddr(frameTy, frame, slotOf[v]);
      b.store(b.load(v->type(), slot), t->second);
    }
    b.setInsertPoint(suspendRet);
    b.store(b.i64(k), b.fieldAddr(frameTy, frame, 0));
    b.setInsertPoint(reload);
    b.br(pt.resumeAt);
    cases.push_back({static_cast<int64_t>(k), reload, {}});
  }

  // The state switch; an unknown state is a runtime bug, reported loudly.
  tmpBr->eraseFromParent();
  b.setInsertPoint(dispatch);
  Value *state = b.load(tc_.i64(), b.fieldAddr(frameTy, frame, 0));
  state->setName("state");
  if (cases.empty()) {
    b.br(start);
  } else {
    Block *bad = poll.createBlock("bad.state");
    cases.insert(cases.begin(), {0, start, {}});
    b.switchOn(state, bad, {}, cases);
    b.setInsertPoint(bad);
    b.panic("coro-split: task resumed in an unknown state");
  }
  promoteMemoryToRegisters(poll);
}

/// A frame for a spawned function that does not suspend: its arguments.
const Type *CoroSplitter::argsFrame(Function &f) {
  auto it = layouts_.find(&f);
  if (it != layouts_.end())
    return it->second.type;
  FrameLayout &l = layouts_[&f];
  l.type = tc_.createFreshNamedStruct(f.name().str() + ".frame");
  SmallVector<const Type *, 8> fields{tc_.i64()};
  if (!f.returnType()->isVoid())
    l.resultField = fields.size(), fields.push_back(f.returnType());
  l.firstParam = fields.size();
  for (Argument *a : f.args())
    fields.push_back(a->type());
  tc_.setStructBody(l.type, fields);
  return l.type;
}

/// `@F.task(%frame, %self)`: the poll function of a task running @F. A
/// spawned task frees its frame when done; main reports its result.
Function *CoroSplitter::taskEntry(Function &f, bool isMain) {
  std::string name = f.name().str() + ".task";
  if (Function *existing = m_.function(name))
    return existing;
  Function *t = m_.createFunction(name, tc_.function({tc_.ptr(), tc_.ptr()}, tc_.i64()));
  Value *frame = t->arg(0);
  Value *self = t->arg(1);
  frame->setName("frame");
  self->setName("self");
  Builder b(m_);
  Block *entry = t->createBlock("entry");
  b.setInsertPoint(entry);
  const Type *frameTy = argsFrame(f);
  const FrameLayout &l = layouts_[&f];
  Function *setResult = runtimeFn("qz_task_set_result", {tc_.ptr(), tc_.i64()}, tc_.voidTy());
  auto finish = [&](Value *result) {
    if (isMain) {
      Value *r = result;
      if (!r)
        r = b.i64(0);
      else if (!r->type()->isInt(64))
        r = r->type()->isInt() ? static_cast<Value *>(b.cast(Opcode::SExt, r, tc_.i64()))
                               : b.i64(0);
      b.call(setResult, {self, r});
    } else {
      b.freeObject(frame);
    }
    b.ret(b.i64(kReady));
  };
  if (suspending_.count(&f)) {
    Instruction *st = b.call(l.poll, {frame, self});
    st->setName("st");
    Block *done = t->createBlock("done");
    Block *pending = t->createBlock("pending");
    b.condBr(b.icmp(ICmpPred::EQ, st, b.i64(kReady)), done, pending);
    b.setInsertPoint(pending);
    b.ret(st);
    b.setInsertPoint(done);
    Value *result = nullptr;
    if (isMain && !f.returnType()->isVoid())
      result = b.load(f.returnType(), b.fieldAddr(frameTy, frame, l.resultField));
    finish(result);
  } else {
    SmallVector<Value *, 4> args;
    for (Argument *a : f.args())
      args.push_back(b.load(a->type(), b.fieldAddr(frameTy, frame, l.firstParam + a->index())));
    Instruction *r = b.call(&f, args);
    finish(f.returnType()->isVoid() ? nullptr : r);
  }
  return t;
}

bool CoroSplitter::run() {
  findSuspending();
  // Spawn entries the lowering declared, and their targets.
  struct Spawn {
    Function *entry, *target;
    bool actor;
  };
  SmallVector<Spawn, 4> spawns; // qz.spawn.F / qz.spawn_actor.F, and F
  for (Function &f : m_.functions()) {
    if (!f.isDeclaration())
      continue;
    bool actor = f.name().starts_with(kSpawnActorPrefix);
    if (!actor && !f.name().starts_with(kSpawnPrefix))
      continue;
    StringRef targetName =
        f.name().drop_front(actor ? kSpawnActorPrefix.size() : kSpawnPrefix.size());
    if (Function *target = m_.function(targetName))
      if (!target->isDeclaration() && target->type()->params() == f.type()->params() &&
          (!actor || (f.type()->params().size() == 1 && f.type()->params()[0]->isPtr())))
        spawns.push_back({&f, target, actor});
  }
  Function *mainFn = m_.function("main");
  bool taskProgram = !suspending_.empty() || !spawns.empty();
  if (!taskProgram)
    return false;

  for (Function *f : suspending_)
    declarePoll(*f);
  for (Function *f : suspending_)
    buildPoll(*f);

  const Type *ptr = tc_.ptr();
  for (auto [entry, target, actor] : spawns) {
    Function *task = taskEntry(*target, /*isMain=*/false);
    const FrameLayout &l = layouts_[target];
    Builder b(m_);
    b.setInsertPoint(entry->createBlock("entry"));
    Instruction *fr = b.newObject(l.type);
    fr->setName("frame");
    for (Argument *a : entry->args())
      b.store(a, b.fieldAddr(l.type, fr, l.firstParam + a->index()));
    if (actor) {
      // An actor's loop task; after a panic the runtime calls this same
      // entry again to start a fresh loop (docs/runtime.md, actors).
      b.call(runtimeFn("qz_actor_start", {ptr, ptr, ptr, ptr}, ptr),
             {entry->arg(0), b.funcAddr(task), fr, b.funcAddr(entry)});
    } else {
      b.call(runtimeFn("qz_spawn_named", {ptr, ptr, ptr}, ptr),
             {b.funcAddr(task), fr, b.str(target->name())});
    }
    b.ret();
  }
  if (mainFn && !mainFn->isDeclaration() && !m_.function("main.task")) {
    taskEntry(*mainFn, /*isMain=*/true);
    // Runners look the frame type up by this name.
    const Type *mt = layouts_[mainFn].type;
    if (mt->name() != "main.frame" && !tc_.named("main.frame"))
      tc_.setStructBody(tc_.createNamedStruct("main.frame"), mt->fields());
  }

  // The original bodies are gone from every caller (all of them suspend
  // too); drop them unless something still takes their address.
  DenseSet<Function *> addressTaken;
  for (Function &f : m_.functions())
    for (Block &bb : f.blocks())
      for (Instruction &i : bb.insts())
        if (i.opcode() == Opcode::FuncAddr)
          addressTaken.insert(i.callee());
  for (Function *f : suspending_)
    if (!addressTaken.count(f)) {
      while (!f->blocks().empty())
        f->blocks().front().eraseFromParent();
      m_.eraseFunction(f);
    }
  return true;
}

class CoroSplitPass : public ModulePass {
public:
  StringRef name() const override { return "coro-split"; }
  PreservedAnalyses run(Module &m, AnalysisManager &) override {
    return CoroSplitter(m).run() ? PreservedAnalyses::none() : PreservedAnalyses::all();
  }
};

} // namespace

void registerCoroSplitPass(PassRegistry &registry) {
  registry.add<CoroSplitPass>(
      "coro-split", "turns functions that can suspend (await, or calls to such functions) "
                    "into frame types and poll state machines; gives spawned tasks and "
                    "main their task entries");
}

} // namespace qmir
