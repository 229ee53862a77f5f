// See RandomMIR.h. The generator writes MIR the way a frontend lowers
// statements: each statement list appends to the current block and may leave
// the builder in a new block (after an if, a loop or a match).
#include "tests/support/RandomMIR.h"

#include "mir/Builder.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <string>

using namespace qmir;

namespace {

/// SplitMix64: tiny, fast, and the same on every platform (unlike the
/// distributions of <random>).
class Rng {
public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  unsigned below(unsigned n) { return n ? static_cast<unsigned>(next() % n) : 0; }
  bool chance(unsigned percent) { return below(100) < percent; }

private:
  uint64_t s_;
};

class Generator {
public:
  Generator(uint64_t seed, const testing::RandomMIROptions &o)
      : rng_(seed), o_(o), m_(std::make_unique<Module>()), b_(*m_) {}

  std::unique_ptr<Module> run();

private:
  struct FnState {
    Function *fn = nullptr;
    Block *entry = nullptr;
    llvm::SmallVector<Value *, 8> vars; // i64 allocas
    Value *opt = nullptr;               // Opt alloca
    Value *pair = nullptr;              // Pair alloca
    unsigned calleeLimit = 0;           // may call @h0 .. @h(calleeLimit-1)
    unsigned budget = 0;                // statements left (keeps size bounded)
  };

  Value *constant();
  Value *leaf();
  Value *expr(unsigned depth);
  Value *cond(unsigned depth);
  void stmts(unsigned depth);
  void stmt(unsigned depth);
  Instruction *allocaVar(const Type *t, llvm::StringRef name, bool gensym);
  Block *block(llvm::StringRef name) { return f_.fn->createBlock(name); }
  void genFunction(Function *f, unsigned calleeLimit);

  Rng rng_;
  testing::RandomMIROptions o_;
  std::unique_ptr<Module> m_;
  Builder b_;
  const Type *optTy_ = nullptr, *pairTy_ = nullptr;
  Function *println_ = nullptr;
  Function *yield_ = nullptr; ///< qz_yield_poll, when awaitPercent > 0
  llvm::SmallVector<Function *, 4> helpers_;
  FnState f_;
  unsigned scope_ = 0, gensym_ = 0;
};

Value *Generator::constant() {
  static const int64_t interesting[] = {0, 1, 2, 3, -1, 7, 100, -100, 255,
                                        INT64_MAX, INT64_MIN, 1 << 20};
  if (rng_.chance(70))
    return b_.i64(static_cast<int64_t>(rng_.below(10)));
  return b_.i64(interesting[rng_.below(std::size(interesting))]);
}

Value *Generator::leaf() {
  TypeContext &t = m_->types();
  switch (rng_.below(6)) {
  case 0:
  case 1:
    return constant();
  case 2:
  case 3:
  case 4:
    return b_.load(t.i64(), f_.vars[rng_.below(f_.vars.size())]);
  default: {
    Value *addr = b_.fieldAddr(pairTy_, f_.pair, rng_.below(2));
    return b_.load(t.i64(), addr);
  }
  }
}

Value *Generator::cond(unsigned depth) {
  static const ICmpPred preds[] = {ICmpPred::EQ,  ICmpPred::NE,  ICmpPred::SLT,
                                   ICmpPred::SLE, ICmpPred::SGT, ICmpPred::SGE,
                                   ICmpPred::ULT, ICmpPred::UGE};
  return b_.icmp(preds[rng_.below(std::size(preds))], expr(depth), expr(depth));
}

Value *Generator::expr(unsigned depth) {
  if (depth == 0 || rng_.chance(35))
    return leaf();
  TypeContext &t = m_->types();
  switch (rng_.below(12)) {
  case 0: return b_.add(expr(depth - 1), expr(depth - 1));
  case 1: return b_.sub(expr(depth - 1), expr(depth - 1));
  case 2: return b_.mul(expr(depth - 1), expr(depth - 1));
  case 3: {
    static const Opcode bit[] = {Opcode::And, Opcode::Or, Opcode::Xor,
                                 Opcode::Shl, Opcode::AShr, Opcode::LShr};
    return b_.binary(bit[rng_.below(std::size(bit))], expr(depth - 1), expr(depth - 1));
  }
  case 4: // may panic when the divisor is zero
    return b_.binary(rng_.chance(50) ? Opcode::SDiv : Opcode::SRem, expr(depth - 1),
                     rng_.chance(75) ? b_.i64(static_cast<int64_t>(rng_.below(9)) - 4)
                                     : expr(depth - 1));
  case 5:
    return b_.select(cond(depth - 1), expr(depth - 1), expr(depth - 1));
  case 6:
    return b_.cast(Opcode::ZExt, cond(depth - 1), t.i64());
  case 7: { // through a narrower width and back
    const Type *narrow = rng_.chance(50) ? t.i32() : t.i8();
    Value *n = b_.cast(Opcode::Trunc, expr(depth - 1), narrow);
    if (rng_.chance(50))
      n = b_.add(n, b_.intConst(narrow, rng_.below(300)));
    return b_.cast(rng_.chance(50) ? Opcode::SExt : Opcode::ZExt, n, t.i64());
  }
  case 8:
    if (f_.calleeLimit) {
      Function *h = helpers_[rng_.below(f_.calleeLimit)];
      return b_.call(h, {expr(depth - 1), expr(depth - 1)});
    }
    return leaf();
  case 9: { // the payload of the option, or a default: tag test + payload
    Value *o = b_.load(optTy_, f_.opt);
    Value *isSome = b_.icmp(ICmpPred::EQ, b_.enumTag(o), b_.i32(1));
    Block *some = block("opt.some"), *join = block("opt.join");
    BlockArg *r = join->addArg(t.i64(), "p");
    Value *dflt = constant();
    b_.condBr(isSome, some, {}, join, {dflt});
    b_.setInsertPoint(some);
    b_.br(join, {b_.enumPayload(o, 1, 0)});
    b_.setInsertPoint(join);
    return r;
  }
  case 10: { // struct value round trip
    Value *p = b_.structMake(pairTy_, {expr(depth - 1), expr(depth - 1)});
    if (rng_.chance(50))
      p = b_.structInsert(p, rng_.below(2), expr(depth - 1));
    return b_.structExtract(p, rng_.below(2));
  }
  default:
    return leaf();
  }
}

Instruction *Generator::allocaVar(const Type *t, llvm::StringRef name, bool gensym) {
  BindingId bind = m_->addBinding(name, scope_, gensym ? ++gensym_ : 0);
  Block *saved = b_.insertBlock();
  b_.setInsertPoint(f_.entry);
  Instruction *a = b_.alloc(t, bind);
  b_.setInsertPoint(saved);
  return a;
}

void Generator::stmts(unsigned depth) {
  unsigned n = 1 + rng_.below(o_.stmtsPerBlock);
  for (unsigned i = 0; i < n && f_.budget; ++i) {
    --f_.budget;
    stmt(depth);
  }
}

void Generator::stmt(unsigned depth) {
  TypeContext &t = m_->types();
  unsigned kind = rng_.below(depth ? 11 : 6);
  if (o_.awaitPercent && rng_.chance(o_.awaitPercent)) {
    b_.await(yield_, {});
    return;
  }
  if (rng_.chance(o_.panicPercent)) {
    Block *boom = block("boom"), *cont = block("cont");
    b_.condBr(cond(1), boom, cont);
    b_.setInsertPoint(boom);
    b_.panic("random panic");
    b_.setInsertPoint(cont);
    return;
  }
  switch (kind) {
  case 0:
  case 1:
  case 2:
    b_.store(expr(3), f_.vars[rng_.below(f_.vars.size())]);
    return;
  case 3:
    b_.store(expr(2), b_.fieldAddr(pairTy_, f_.pair, rng_.below(2)));
    return;
  case 4:
    if (rng_.chance(70))
      b_.store(b_.enumMake(optTy_, 1, {expr(2)}), f_.opt);
    else
      b_.store(b_.enumMake(optTy_, 0, {}), f_.opt);
    return;
  case 5:
    b_.call(println_, {expr(2)});
    return;
  case 6:
  case 7: { // if / else
    Block *then = block("then"), *els = block("else"), *join = block("join");
    b_.condBr(cond(2), then, els);
    b_.setInsertPoint(then);
    stmts(depth - 1);
    b_.br(join);
    b_.setInsertPoint(els);
    if (rng_.chance(60))
      stmts(depth - 1);
    b_.br(join);
    b_.setInsertPoint(join);
    return;
  }
  case 8: { // a counted loop whose counter lives in memory
    ++scope_;
    Instruction *i = allocaVar(t.i64(), rng_.chance(50) ? "i" : "v", rng_.chance(30));
    b_.store(b_.i64(0), i);
    Block *head = block("loop"), *body = block("body"), *exit = block("exit");
    b_.br(head);
    b_.setInsertPoint(head);
    Value *iv = b_.load(t.i64(), i);
    b_.condBr(b_.icmp(ICmpPred::SLT, iv, b_.i64(rng_.below(o_.maxTrip + 1))), body, exit);
    b_.setInsertPoint(body);
    stmts(depth - 1);
    b_.store(b_.add(b_.load(t.i64(), i), b_.i64(1)), i);
    b_.br(head);
    b_.setInsertPoint(exit);
    return;
  }
  case 9: { // a loop carrying its counter and an accumulator in block args
    Block *head = block("ssa.loop"), *body = block("ssa.body"), *exit = block("ssa.exit");
    BlockArg *iv = head->addArg(t.i64(), "k");
    BlockArg *acc = head->addArg(t.i64(), "acc");
    b_.br(head, {b_.i64(0), expr(1)});
    b_.setInsertPoint(head);
    Value *more = b_.icmp(ICmpPred::SLT, iv, b_.i64(rng_.below(o_.maxTrip + 1)));
    b_.condBr(more, body, {}, exit, {});
    b_.setInsertPoint(body);
    Value *next = b_.add(acc, b_.mul(iv, expr(1)));
    if (rng_.chance(50))
      stmts(depth - 1);
    b_.br(head, {b_.add(iv, b_.i64(1)), next});
    b_.setInsertPoint(exit);
    b_.store(acc, f_.vars[rng_.below(f_.vars.size())]);
    return;
  }
  default: { // match over the option, with a literal sub-pattern
    Value *o = b_.load(optTy_, f_.opt);
    Block *lit = block("arm.lit"), *some = block("arm.some"), *none = block("arm.none"),
          *join = block("match.join");
    BlockArg *x = some->addArg(t.i64(), "x");
    llvm::SmallVector<Builder::MatchArm, 3> arms;
    if (rng_.chance(50))
      arms.push_back({m_->makeVariantPattern(1, {m_->makeIntPattern(rng_.below(4))}), lit});
    arms.push_back({m_->makeVariantPattern(1, {m_->makeBind("x")}), some});
    bool withDefault = rng_.chance(30);
    if (!withDefault)
      arms.push_back({m_->makeVariantPattern(0, {}), none});
    b_.match(o, arms, withDefault ? none : nullptr);
    b_.setInsertPoint(lit);
    stmts(depth - 1);
    b_.br(join);
    b_.setInsertPoint(some);
    b_.store(b_.add(x, expr(1)), f_.vars[rng_.below(f_.vars.size())]);
    if (rng_.chance(40))
      stmts(depth - 1);
    b_.br(join);
    b_.setInsertPoint(none);
    if (rng_.chance(50))
      stmts(depth - 1);
    b_.br(join);
    b_.setInsertPoint(join);
    return;
  }
  }
}

void Generator::genFunction(Function *f, unsigned calleeLimit) {
  TypeContext &t = m_->types();
  f_ = FnState{};
  f_.fn = f;
  f_.calleeLimit = calleeLimit;
  f_.budget = 6 * o_.stmtsPerBlock;
  ++scope_;
  f_.entry = f->createBlock("entry");
  Block *start = f->createBlock("start");
  b_.setInsertPoint(start);
  // A user `v` and a macro gensym `v` live side by side in every function.
  static const char *names[] = {"v", "v", "x", "tmp", "sum", "tmp"};
  for (unsigned k = 0; k < o_.numVars; ++k) {
    Instruction *a = allocaVar(t.i64(), names[k % std::size(names)], k % 2 == 1);
    f_.vars.push_back(a);
    b_.store(k < f->args().size() ? static_cast<Value *>(f->arg(k)) : constant(), a);
  }
  f_.opt = allocaVar(optTy_, "step", false);
  if (rng_.chance(60))
    b_.store(b_.enumMake(optTy_, 1, {constant()}), f_.opt);
  f_.pair = allocaVar(pairTy_, "p", false);
  stmts(o_.maxDepth);
  Value *result = b_.load(t.i64(), f_.vars[0]);
  for (unsigned k = 1; k < f_.vars.size(); ++k)
    result = b_.add(b_.mul(result, b_.i64(31)), b_.load(t.i64(), f_.vars[k]));
  b_.ret(result);
  b_.setInsertPoint(f_.entry);
  b_.br(start);
}

std::unique_ptr<Module> Generator::run() {
  TypeContext &t = m_->types();
  optTy_ = t.createNamedEnum("Opt");
  const Type *payload[] = {t.i64()};
  t.setEnumBody(optTy_, {EnumVariant{"None", {}}, EnumVariant{"Some", payload}});
  pairTy_ = t.createNamedStruct("Pair");
  t.setStructBody(pairTy_, {t.i64(), t.i64()});
  println_ = m_->createFunction("qz_println_i64", t.function({t.i64()}, t.voidTy()));
  if (o_.awaitPercent)
    yield_ = m_->createFunction("qz_yield_poll", t.function({t.ptr()}, t.i64()));
  for (unsigned h = 0; h < o_.numHelpers; ++h)
    helpers_.push_back(m_->createFunction(("h" + llvm::Twine(h)).str(),
                                          t.function({t.i64(), t.i64()}, t.i64())));
  Function *mainFn = m_->createFunction("main", t.function({}, t.i64()));
  for (unsigned h = 0; h < o_.numHelpers; ++h)
    genFunction(helpers_[h], h);
  genFunction(mainFn, o_.numHelpers);
  return std::move(m_);
}

} // namespace

std::unique_ptr<Module> qmir::testing::generateRandomModule(uint64_t seed,
                                                           const RandomMIROptions &o) {
  return Generator(seed, o).run();
}
