// Unit tests of the match-lower pass, driven through the pass registry (the
// pass has no header of its own): hand-written shapes (Option, payload enums,
// nested patterns, integer widths, shared targets, default edges, missing
// default), a checker that walks every path of the produced tree and fails if
// a tag, payload or switch is evaluated twice, and a differential test on
// random enum types, random nested pattern lists and random values, run in the
// interpreter before and after lowering (with the decision tree and with the
// backtracking fallback forced by max-nodes=0).
#include "mir/Builder.h"
#include "mir/Interpreter.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"
#include "passes/AnalysisManager.h"
#include "passes/PassRegistry.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <gtest/gtest.h>

#include <random>
#include <tuple>

using namespace qmir;

namespace {

/// Runs match-lower (with `opts`, e.g. "max-nodes=0") on `f`.
PreservedAnalyses runMatchLower(Function &f, llvm::StringRef maxNodes = {}) {
  registerAllPasses();
  const PassInfo *info = PassRegistry::global().lookup("match-lower");
  EXPECT_NE(info, nullptr);
  PassOptions opts;
  if (!maxNodes.empty())
    opts.add("max-nodes", maxNodes);
  std::unique_ptr<Pass> p = info->factory(opts);
  EXPECT_FALSE(opts.problem("match-lower").has_value());
  EXPECT_EQ(p->kind(), Pass::Kind::Function);
  AnalysisManager am;
  return static_cast<FunctionPass &>(*p).run(f, am);
}

struct Fixture {
  Module m;
  Builder b{m};
  TypeContext &t = m.types();

  Function *fn(llvm::StringRef name, llvm::ArrayRef<const Type *> params,
               const Type *result) {
    Function *f = m.createFunction(name, t.function(params, result));
    b.setInsertPoint(f->createBlock("entry"));
    return f;
  }
  const Type *enumTy(llvm::StringRef name, llvm::ArrayRef<EnumVariant> vars) {
    const Type *e = t.createNamedEnum(name);
    t.setEnumBody(e, vars);
    return e;
  }
  static ::testing::AssertionResult valid(const Function &f) {
    std::vector<VerifierError> errors;
    if (verifyFunction(f, &errors))
      return ::testing::AssertionSuccess();
    std::string s;
    llvm::raw_string_ostream os(s);
    printVerifierErrors(os, errors);
    return ::testing::AssertionFailure() << s << functionToString(f);
  }
  static unsigned count(const Function &f, Opcode op) {
    unsigned n = 0;
    for (const Block &bb : f.blocks())
      for (const Instruction &i : bb.insts())
        n += i.opcode() == op;
    return n;
  }
};

/// Walks every path from the entry through blocks not in `stop` (the arm
/// targets, which existed before lowering) and reports a test evaluated twice
/// on one path: an enum.tag or switch/condbr of the same value, or an
/// enum.payload of the same value, variant and field.
::testing::AssertionResult testsOncePerPath(
    const Function &f, const Block *start,
    const llvm::SmallPtrSetImpl<const Block *> &stop) {
  using Key = std::tuple<unsigned, const Value *, unsigned, unsigned>;
  std::vector<Key> seen;
  std::string problem;
  std::function<void(const Block *, unsigned)> walk = [&](const Block *bb,
                                                          unsigned depth) {
    if (!problem.empty() || depth > 200)
      return;
    size_t mark = seen.size();
    for (const Instruction &i : bb->insts()) {
      Key k;
      switch (i.opcode()) {
      case Opcode::EnumTag:
        k = {0, i.operand(0), 0, 0};
        break;
      case Opcode::EnumPayload:
        k = {1, i.operand(0), i.variantIndex(), i.fieldIndex()};
        break;
      case Opcode::Switch:
      case Opcode::CondBr:
        k = {2, i.operand(0), 0, 0};
        break;
      default:
        continue;
      }
      if (llvm::is_contained(seen, k)) {
        problem = "repeated " + i.opcodeName().str() + " in block " +
                  bb->name().str() + "\n" + functionToString(f);
        return;
      }
      seen.push_back(k);
    }
    for (const Block *s : bb->successors())
      if (!stop.count(s))
        walk(s, depth + 1);
    seen.resize(mark);
  };
  walk(start, 0);
  if (problem.empty())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << problem;
}

InterpResult run(const Module &m, const Function &f,
                 llvm::ArrayRef<int64_t> args = {}) {
  std::string out, err;
  llvm::raw_string_ostream os(out), es(err);
  Interpreter in(m, os, es);
  return in.run(f, args);
}

// Option: one tag switch, one payload extraction under the Some edge.
TEST(MatchLower, OptionBecomesTagSwitch) {
  Fixture x;
  const Type *fs[] = {x.t.i64()};
  const Type *opt = x.enumTy("Opt", {{"None", {}}, {"Some", fs}});
  Function *f = x.fn("f", {x.t.i64()}, x.t.i64());
  Block *test = f->createBlock("test");
  Block *some = f->createBlock("some");
  Block *none = f->createBlock("none");
  BlockArg *v = some->addArg(x.t.i64(), "v");
  Instruction *c = x.b.icmp(ICmpPred::SGT, f->arg(0), x.b.i64(0));
  Instruction *mk1 = x.b.enumMake(opt, 1, {f->arg(0)});
  Instruction *mk0 = x.b.enumMake(opt, 0, {});
  Instruction *sel = x.b.select(c, mk1, mk0);
  x.b.br(test);
  x.b.setInsertPoint(test);
  x.b.match(sel,
            {{x.m.makeVariantPattern(1, {x.m.makeBind("v")}), some},
             {x.m.makeVariantPattern(0, {}), none}},
            nullptr);
  x.b.setInsertPoint(some);
  x.b.ret(x.b.mul(v, x.b.i64(2)));
  x.b.setInsertPoint(none);
  x.b.ret(x.b.i64(-1));
  ASSERT_TRUE(x.valid(*f));

  PreservedAnalyses pa = runMatchLower(*f);
  EXPECT_FALSE(pa.areAllPreserved());
  ASSERT_TRUE(x.valid(*f));
  EXPECT_EQ(x.count(*f, Opcode::Match), 0u);
  EXPECT_EQ(x.count(*f, Opcode::EnumTag), 1u);
  EXPECT_EQ(x.count(*f, Opcode::Switch), 1u);
  EXPECT_EQ(x.count(*f, Opcode::EnumPayload), 1u);
  EXPECT_EQ(x.count(*f, Opcode::Unreachable), 0u); // complete: no dead end
  EXPECT_EQ(some->numArgs(), 1u);
  EXPECT_EQ(run(x.m, *f, {21}).value, 42);
  EXPECT_EQ(run(x.m, *f, {-5}).value, -1);
  // The payload is extracted below the tag test, never in the test block.
  for (const Instruction &i : test->insts())
    EXPECT_NE(i.opcode(), Opcode::EnumPayload);
  std::string once = functionToString(*f);
  EXPECT_TRUE(runMatchLower(*f).areAllPreserved());
  EXPECT_EQ(functionToString(*f), once);
}

// Integer matches on every width, with literals written both ways (255 and
// -1 are the same i8), duplicate literals (first wins), a default edge with
// arguments and i1 lowered to condbr.
TEST(MatchLower, IntegerWidths) {
  for (unsigned bits : {1u, 8u, 32u, 64u}) {
    Fixture x;
    const Type *it = x.t.intTy(bits);
    Function *f = x.fn("f", {it}, x.t.i64());
    Block *a = f->createBlock("a");
    Block *bb = f->createBlock("b");
    Block *d = f->createBlock("d");
    BlockArg *dv = d->addArg(x.t.i64(), "dv");
    std::vector<Builder::MatchArm> arms;
    if (bits == 1) {
      arms = {{x.m.makeIntPattern(1), a},
              {x.m.makeIntPattern(1), bb}, // never taken
              {x.m.makeIntPattern(0), bb}};
    } else {
      int64_t big = bits == 8 ? 255 : bits == 32 ? 4000000000 : INT64_MIN;
      arms = {{x.m.makeIntPattern(3), a},
              {x.m.makeIntPattern(big), a},
              {x.m.makeIntPattern(3), bb}, // never taken: 3 matched above
              {x.m.makeIntPattern(-7), bb}};
    }
    x.b.match(f->arg(0), arms, d, {x.b.i64(77)});
    x.b.setInsertPoint(a);
    x.b.ret(x.b.i64(1));
    x.b.setInsertPoint(bb);
    x.b.ret(x.b.i64(2));
    x.b.setInsertPoint(d);
    x.b.ret(dv);
    ASSERT_TRUE(x.valid(*f)) << bits;
    std::vector<int64_t> inputs = {0, 1, 3, -7, -1, 255, 4000000000, INT64_MIN, 9};
    std::vector<int64_t> before;
    for (int64_t in : inputs)
      before.push_back(run(x.m, *f, {in}).value);
    runMatchLower(*f);
    ASSERT_TRUE(x.valid(*f)) << bits;
    EXPECT_EQ(x.count(*f, Opcode::Match), 0u);
    EXPECT_EQ(x.count(*f, bits == 1 ? Opcode::CondBr : Opcode::Switch), 1u);
    for (size_t k = 0; k < inputs.size(); ++k)
      EXPECT_EQ(run(x.m, *f, {inputs[k]}).value, before[k])
          << "i" << bits << " input " << inputs[k];
    if (bits == 1) {
      EXPECT_EQ(before[0], 2);
      EXPECT_EQ(before[1], 1);
    }
    if (bits == 8) {
      EXPECT_EQ(before[4], 1); // -1 is 255
      EXPECT_EQ(before[2], 1); // 3: the first arm
    }
  }
}

// A match without default that is not exhaustive (the arms of a guard's
// remaining match): values no arm takes end in `unreachable`.
TEST(MatchLower, NoDefaultEndsInUnreachable) {
  Fixture x;
  const Type *two[] = {x.t.i64(), x.t.i64()};
  const Type *one[] = {x.t.i64()};
  const Type *shape =
      x.enumTy("Shape", {{"Circle", one}, {"Rect", two}, {"Empty", {}}});
  Function *f = x.fn("f", {x.t.i64()}, x.t.i64());
  Block *rect = f->createBlock("rect");
  Block *empty = f->createBlock("empty");
  rect->addArg(x.t.i64(), "w");
  BlockArg *h = rect->addArg(x.t.i64(), "h");
  Instruction *v = x.b.enumMake(shape, 1, {x.b.i64(2), f->arg(0)});
  x.b.match(v,
            {{x.m.makeVariantPattern(1, {x.m.makeBind("w"), x.m.makeBind("h")}),
              rect},
             {x.m.makeVariantPattern(2, {}), empty}},
            nullptr);
  x.b.setInsertPoint(rect);
  x.b.ret(h);
  x.b.setInsertPoint(empty);
  x.b.ret(x.b.i64(0));
  runMatchLower(*f);
  ASSERT_TRUE(x.valid(*f));
  EXPECT_EQ(x.count(*f, Opcode::Unreachable), 1u);
  EXPECT_EQ(x.count(*f, Opcode::EnumPayload), 2u);
  EXPECT_EQ(run(x.m, *f, {9}).value, 9);
}

// Nested patterns under one variant, arms sharing a target, bindings at
// several depths: every test happens at most once per path and the shared
// bodies are not copied.
TEST(MatchLower, NestedSharedTargetsTestOnce) {
  Fixture x;
  const Type *two[] = {x.t.i64(), x.t.i64()};
  const Type *one[] = {x.t.i64()};
  const Type *shape =
      x.enumTy("Shape", {{"Circle", one}, {"Rect", two}, {"Empty", {}}});
  const Type *inner[] = {shape};
  const Type *opt = x.enumTy("OptShape", {{"None", {}}, {"Some", inner}});
  Function *f = x.fn("f", {opt}, x.t.i64());
  Block *hundred = f->createBlock("hundred");
  Block *bound = f->createBlock("bound");
  Block *none = f->createBlock("none");
  BlockArg *s = bound->addArg(shape, "s");
  auto *m = &x.m;
  x.b.match(
      f->arg(0),
      {{m->makeVariantPattern(
            1, {m->makeVariantPattern(1, {m->makeIntPattern(10), m->makeWildcard()})}),
        hundred},
       {m->makeVariantPattern(
            1, {m->makeVariantPattern(2, {})}),
        hundred},
       {m->makeVariantPattern(1, {m->makeBind("s")}), bound},
       {m->makeVariantPattern(0, {}), none}},
      nullptr);
  x.b.setInsertPoint(hundred);
  x.b.ret(x.b.i64(100));
  x.b.setInsertPoint(bound);
  x.b.ret(x.b.add(x.b.cast(Opcode::SExt, x.b.enumTag(s), x.t.i64()), x.b.i64(1)));
  x.b.setInsertPoint(none);
  x.b.ret(x.b.i64(-1));
  ASSERT_TRUE(x.valid(*f));
  runMatchLower(*f);
  ASSERT_TRUE(x.valid(*f));
  EXPECT_EQ(x.count(*f, Opcode::Match), 0u);
  EXPECT_EQ(x.count(*f, Opcode::EnumTag), 3u); // outer, inner, and bound's own
  EXPECT_EQ(x.count(*f, Opcode::Add), 1u);      // the body stays single
  llvm::SmallPtrSet<const Block *, 4> stop = {hundred, bound, none};
  EXPECT_TRUE(testsOncePerPath(*f, f->entry(), stop));

  // Interpreted through a wrapper that builds each shape.
  Function *g = x.fn("g", {x.t.i64(), x.t.i64()}, x.t.i64());
  Block *gc = g->createBlock("c");
  Block *gr = g->createBlock("r");
  Block *ge = g->createBlock("e");
  Block *gn = g->createBlock("n");
  x.b.switchOn(g->arg(0), gn, {},
               {{0, gc, {}}, {1, gr, {}}, {2, ge, {}}});
  auto wrap = [&](Block *bb, Value *sh) {
    x.b.setInsertPoint(bb);
    Value *o = sh ? x.b.enumMake(opt, 1, {sh}) : x.b.enumMake(opt, 0, {});
    x.b.ret(x.b.call(f, {o}));
  };
  x.b.setInsertPoint(gc);
  wrap(gc, x.b.enumMake(shape, 0, {g->arg(1)}));
  x.b.setInsertPoint(gr);
  wrap(gr, x.b.enumMake(shape, 1, {g->arg(1), x.b.i64(5)}));
  x.b.setInsertPoint(ge);
  wrap(ge, x.b.enumMake(shape, 2, {}));
  wrap(gn, nullptr);
  ASSERT_TRUE(x.valid(*g));
  EXPECT_EQ(run(x.m, *g, {0, 10}).value, 1);  // Some(Circle) -> bound, tag 0
  EXPECT_EQ(run(x.m, *g, {1, 10}).value, 100); // Some(Rect(10, _))
  EXPECT_EQ(run(x.m, *g, {1, 11}).value, 2);   // Some(Rect(11, _)) -> bound
  EXPECT_EQ(run(x.m, *g, {2, 0}).value, 100);  // Some(Empty)
  EXPECT_EQ(run(x.m, *g, {3, 0}).value, -1);   // None
}

// Staggered rows P(A,_,_,..), P(_,A,_,..), ... make decision trees grow
// exponentially; past the cap the match is compiled by backtracking, still
// correct and linear in size.
TEST(MatchLower, ExplodingShapeFallsBackLinearly) {
  Fixture x;
  const Type *ab = x.enumTy("AB", {{"A", {}}, {"B", {}}});
  const unsigned n = 12;
  std::vector<const Type *> fields(n, ab);
  const Type *p = x.enumTy("P", {{"P", fields}});
  std::vector<const Type *> params(n, x.t.i1());
  Function *f = x.fn("f", params, x.t.i64());
  std::vector<Value *> parts;
  for (unsigned k = 0; k < n; ++k) {
    Value *a = x.b.enumMake(ab, 0, {});
    Value *bv = x.b.enumMake(ab, 1, {});
    parts.push_back(x.b.select(f->arg(k), a, bv));
  }
  Value *v = x.b.enumMake(p, 0, parts);
  std::vector<Builder::MatchArm> arms;
  std::vector<Block *> targets;
  for (unsigned k = 0; k < n; ++k) {
    std::vector<const Pattern *> ps(n, x.m.makeWildcard());
    ps[k] = x.m.makeVariantPattern(0, {});
    targets.push_back(f->createBlock("t" + std::to_string(k)));
    arms.push_back({x.m.makeVariantPattern(0, ps), targets.back()});
  }
  Block *d = f->createBlock("d");
  x.b.match(v, arms, d);
  for (unsigned k = 0; k < n; ++k) {
    x.b.setInsertPoint(targets[k]);
    x.b.ret(x.b.i64(k));
  }
  x.b.setInsertPoint(d);
  x.b.ret(x.b.i64(-1));
  ASSERT_TRUE(x.valid(*f));
  size_t before = f->instructionCount();
  std::vector<std::vector<int64_t>> inputs;
  std::vector<int64_t> expected;
  std::mt19937 rng(7);
  for (unsigned trial = 0; trial < 40; ++trial) {
    std::vector<int64_t> in(n);
    for (auto &b : in)
      b = std::uniform_int_distribution<int>(0, 5)(rng) == 0;
    inputs.push_back(in);
    expected.push_back(run(x.m, *f, in).value);
  }
  runMatchLower(*f);
  ASSERT_TRUE(x.valid(*f));
  EXPECT_EQ(x.count(*f, Opcode::Match), 0u);
  EXPECT_LT(f->instructionCount(), before + 10 * n) << functionToString(*f);
  for (size_t k = 0; k < inputs.size(); ++k)
    EXPECT_EQ(run(x.m, *f, inputs[k]).value, expected[k]);
}

//===----------------------------------------------------------------------===//
// Differential test on random matches.
//===----------------------------------------------------------------------===//

struct RandomMatch {
  Fixture &x;
  std::mt19937 &rng;
  std::vector<const Type *> enums;

  unsigned pick(unsigned n) {
    return std::uniform_int_distribution<unsigned>(0, n - 1)(rng);
  }
  bool chance(unsigned pct) { return pick(100) < pct; }

  void makeTypes(unsigned seed) {
    unsigned ne = 1 + pick(3);
    for (unsigned e = 0; e < ne; ++e) {
      unsigned nv = 1 + pick(3);
      std::vector<std::vector<const Type *>> fieldStore(nv);
      std::vector<std::string> names(nv);
      std::vector<EnumVariant> vars;
      for (unsigned v = 0; v < nv; ++v) {
        unsigned nf = pick(3);
        for (unsigned k = 0; k < nf; ++k) {
          unsigned what = pick(5 + enums.size());
          static const unsigned widths[] = {1, 8, 32, 64};
          fieldStore[v].push_back(what < 4 ? x.t.intTy(widths[what])
                                  : what == 4 ? x.t.i64()
                                              : enums[what - 5]);
        }
        names[v] = "V" + std::to_string(v);
      }
      for (unsigned v = 0; v < nv; ++v)
        vars.push_back({names[v], fieldStore[v]});
      enums.push_back(
          x.enumTy("E" + std::to_string(seed) + "_" + std::to_string(e), vars));
    }
  }

  int64_t randInt(const Type *t) {
    static const int64_t pool[] = {0, 1, 2, -1, 255, 7, -128, 127};
    int64_t v = pool[pick(8)];
    if (t->isInt(1))
      return v & 1;
    if (t->isInt(8) && v == 255 && chance(50))
      return -1;
    return v;
  }

  const Pattern *randPat(const Type *t, unsigned depth) {
    unsigned r = pick(100);
    if (r < 20 || depth > 3)
      return r % 2 ? x.m.makeWildcard() : x.m.makeBind("b");
    if (r < 35)
      return x.m.makeBind("b");
    if (t->isInt())
      return x.m.makeIntPattern(randInt(t));
    unsigned v = pick(t->variants().size());
    std::vector<const Pattern *> fs;
    for (const Type *ft : t->variants()[v].fields)
      fs.push_back(randPat(ft, depth + 1));
    return x.m.makeVariantPattern(v, fs);
  }

  void bindTypes(const Pattern *p, const Type *t,
                 std::vector<const Type *> &out) {
    if (p->kind == Pattern::Bind)
      out.push_back(t);
    if (p->kind == Pattern::Variant)
      for (unsigned k = 0; k < p->fields.size(); ++k)
        bindTypes(p->fields[k], t->variants()[p->variant].fields[k], out);
  }

  /// A value of type t at the insertion point; follows `p` when given so
  /// that nested patterns get hit.
  Value *valueFor(const Type *t, const Pattern *p) {
    if (p && p->kind != Pattern::Variant && p->kind != Pattern::Int)
      p = nullptr;
    if (t->isInt())
      return x.m.constInt(t, p && chance(80) ? p->intValue : randInt(t));
    unsigned v = p && chance(85) ? p->variant : pick(t->variants().size());
    bool follow = p && v == p->variant;
    std::vector<Value *> fs;
    auto fts = t->variants()[v].fields;
    for (unsigned k = 0; k < fts.size(); ++k)
      fs.push_back(valueFor(fts[k], follow ? p->fields[k] : nullptr));
    return x.b.enumMake(t, v, fs);
  }

  /// An i64 summary of a bound value.
  Value *summarize(Value *v) {
    const Type *t = v->type();
    if (t->isEnum())
      v = x.b.enumTag(v);
    if (v->type() == x.t.i64())
      return v;
    return x.b.cast(t->isInt(1) ? Opcode::ZExt : Opcode::SExt, v, x.t.i64());
  }

  /// @f(i64 sel) -> i64: builds value number `sel` (a switch over `nvals`
  /// constructions), matches it and returns a code for the arm and bindings.
  Function *build(unsigned seed, unsigned nvals) {
    const Type *st = chance(20) ? x.t.intTy(std::vector<unsigned>{1, 8, 32, 64}[pick(4)])
                                : enums.back();
    Function *f = x.fn("f" + std::to_string(seed), {x.t.i64()}, x.t.i64());
    Block *entry = f->entry();
    Block *mb = f->createBlock("m");
    BlockArg *scrut = mb->addArg(st, "x");
    std::vector<const Pattern *> pats;
    unsigned narms = 1 + pick(6);
    for (unsigned k = 0; k < narms; ++k)
      pats.push_back(randPat(st, 0));
    // Values: half follow an arm's pattern.
    std::vector<Block *> makers;
    for (unsigned k = 0; k < nvals; ++k)
      makers.push_back(f->createBlock("mk" + std::to_string(k)));
    x.b.setInsertPoint(entry);
    std::vector<Builder::SwitchCase> cases;
    for (unsigned k = 1; k < nvals; ++k)
      cases.push_back({int64_t(k), makers[k], {}});
    x.b.switchOn(f->arg(0), makers[0], {}, cases);
    for (unsigned k = 0; k < nvals; ++k) {
      x.b.setInsertPoint(makers[k]);
      Value *v = valueFor(st, chance(60) ? pats[pick(narms)] : nullptr);
      x.b.br(mb, {v});
    }
    // Arm targets, sometimes shared between arms binding the same types.
    std::vector<Builder::MatchArm> arms;
    std::vector<std::pair<std::vector<const Type *>, Block *>> made;
    for (unsigned k = 0; k < narms; ++k) {
      std::vector<const Type *> bt;
      bindTypes(pats[k], st, bt);
      Block *target = nullptr;
      for (auto &[types, blk] : made)
        if (types == bt && chance(50))
          target = blk;
      if (!target) {
        target = f->createBlock("arm" + std::to_string(k));
        for (const Type *ty : bt)
          target->addArg(ty, "p");
        x.b.setInsertPoint(target);
        Value *acc = x.b.i64(1000 * (made.size() + 1));
        for (BlockArg *a : target->args())
          acc = x.b.add(x.b.mul(acc, x.b.i64(31)), summarize(a));
        x.b.ret(acc);
        made.push_back({bt, target});
      }
      arms.push_back({pats[k], target});
    }
    Block *dflt = nullptr;
    std::vector<Value *> dargs;
    if (chance(50)) {
      dflt = f->createBlock("dflt");
      BlockArg *d = dflt->addArg(x.t.i64(), "d");
      x.b.setInsertPoint(dflt);
      x.b.ret(x.b.sub(x.b.i64(0), d));
      dargs.push_back(x.b.i64(7));
    }
    x.b.setInsertPoint(mb);
    x.b.match(scrut, arms, dflt, dargs);
    return f;
  }
};

std::string runAll(const Module &m, const Function &f, unsigned nvals) {
  std::string text, out, err;
  llvm::raw_string_ostream os(text), o(out), e(err);
  Interpreter in(m, o, e);
  for (unsigned k = 0; k < nvals; ++k) {
    InterpResult r = in.run(f, {int64_t(k)});
    // A trap's message differs (no arm vs. unreachable); its kind may not.
    os << int(r.kind) << ' ' << r.value << ' '
       << (r.kind == InterpResult::Panicked ? r.message : "") << '\n';
  }
  return text;
}

void randomMatches(llvm::StringRef maxNodes, unsigned seed0) {
  std::mt19937 rng(seed0);
  unsigned lowered = 0, traps = 0, taken = 0;
  for (unsigned seed = 0; seed < 400; ++seed) {
    Fixture x;
    RandomMatch rm{x, rng, {}};
    rm.makeTypes(seed);
    const unsigned nvals = 12;
    Function *f = rm.build(seed, nvals);
    ASSERT_TRUE(x.valid(*f)) << seed;
    llvm::SmallPtrSet<const Block *, 16> stop;
    const Block *mb = nullptr;
    for (const Block &bb : f->blocks()) {
      if (bb.name() == "m")
        mb = &bb;
      else if (&bb != f->entry())
        stop.insert(&bb);
    }
    std::string before = runAll(x.m, *f, nvals);
    for (size_t at = 0; at < before.size(); at = before.find('\n', at) + 1) {
      traps += before.compare(at, 2, "2 ") == 0;
      ++taken;
    }
    runMatchLower(*f, maxNodes);
    ASSERT_TRUE(x.valid(*f)) << seed;
    ASSERT_EQ(x.count(*f, Opcode::Match), 0u);
    ++lowered;
    EXPECT_EQ(runAll(x.m, *f, nvals), before)
        << "seed " << seed << "\n" << functionToString(*f);
    if (maxNodes.empty()) {
      EXPECT_TRUE(testsOncePerPath(*f, mb, stop)) << "seed " << seed;
    }
    std::string once = functionToString(*f);
    EXPECT_TRUE(runMatchLower(*f, maxNodes).areAllPreserved());
    EXPECT_EQ(functionToString(*f), once);
  }
  EXPECT_EQ(lowered, 400u);
  EXPECT_LT(traps, taken / 2) << "most values should hit an arm";
}

TEST(MatchLower, RandomMatchesPickTheSameArm) { randomMatches({}, 2024); }

TEST(MatchLower, RandomMatchesBacktrackingFallback) {
  randomMatches("0", 99);
}

} // namespace
