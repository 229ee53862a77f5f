// Unit tests of the pass infrastructure: pipeline parsing and its errors, pass
// options, the order of pass applications and instrumentation hooks, and the
// analysis cache (caching, per-function invalidation, CFG-only analyses).
#include "mir/Builder.h"
#include "passes/Analyses.h"
#include "passes/DCE.h"
#include "passes/PassManager.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace qmir;

namespace {

std::string errorText(llvm::Error e) { return llvm::toString(std::move(e)); }

/// Records every function it runs on; returns `result` from run.
class RecordPass : public FunctionPass {
public:
  RecordPass(std::string name, std::vector<std::string> &log,
             PreservedAnalyses result = PreservedAnalyses::all())
      : name_(std::move(name)), log_(log), result_(std::move(result)) {}
  llvm::StringRef name() const override { return name_; }
  PreservedAnalyses run(Function &f, AnalysisManager &) override {
    log_.push_back(name_ + ":" + f.name().str());
    return result_;
  }

private:
  std::string name_;
  std::vector<std::string> &log_;
  PreservedAnalyses result_;
};

class OptionPass : public FunctionPass {
public:
  explicit OptionPass(PassOptions &o)
      : threshold(o.takeInt("threshold", 225)), aggressive(o.takeBool("aggressive", false)) {}
  llvm::StringRef name() const override { return "opt"; }
  void printOptions(llvm::raw_ostream &os) const override {
    if (threshold != 225)
      os << "threshold=" << threshold;
  }
  PreservedAnalyses run(Function &, AnalysisManager &) override {
    return PreservedAnalyses::all();
  }
  int64_t threshold;
  bool aggressive;
};

PassRegistry &testRegistry() {
  static PassRegistry r = [] {
    PassRegistry reg;
    registerDCEPass(reg);
    reg.add<OptionPass>("opt", "a pass with options");
    return reg;
  }();
  return r;
}

/// Two functions, f (with a diamond) and g, and one declaration.
struct TwoFunctions {
  Module m;
  Function *f, *g;
  TwoFunctions() {
    Builder b(m);
    TypeContext &t = m.types();
    m.createFunction("decl", t.function({}, t.voidTy()));
    f = m.createFunction("f", t.function({t.i1()}, t.i64()));
    Block *entry = f->createBlock("entry");
    Block *l = f->createBlock("l");
    Block *r = f->createBlock("r");
    Block *j = f->createBlock("j");
    b.setInsertPoint(entry);
    b.condBr(f->arg(0), l, r);
    b.setInsertPoint(l);
    b.add(b.i64(1), b.i64(2)); // dead
    b.br(j);
    b.setInsertPoint(r);
    b.br(j);
    b.setInsertPoint(j);
    b.ret(b.i64(0));
    g = m.createFunction("g", t.function({}, t.voidTy()));
    b.setInsertPoint(g->createBlock("entry"));
    b.ret();
  }
};

//===----------------------------------------------------------------------===//
// Pipelines
//===----------------------------------------------------------------------===//

TEST(Pipeline, ParsesNamesAndBlanks) {
  PassManager pm;
  ASSERT_FALSE(errorText(parsePassPipeline(pm, " dce , dce ", testRegistry())).size());
  EXPECT_EQ(pm.size(), 2u);
  EXPECT_EQ(pm.pass(1).name(), "dce");
  PassManager empty;
  EXPECT_FALSE(errorText(parsePassPipeline(empty, "", testRegistry())).size());
  EXPECT_TRUE(empty.empty());
}

TEST(Pipeline, UnknownPassNamesPositionAndSuggests) {
  PassManager pm;
  std::string e = errorText(parsePassPipeline(pm, "dce,dcx", testRegistry()));
  EXPECT_NE(e.find("unknown pass 'dcx' (pass #2) in pipeline"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'dce'?"), std::string::npos) << e;
  EXPECT_NE(e.find("at column 5"), std::string::npos) << e;
  EXPECT_NE(e.find("\n  dce,dcx\n      ^"), std::string::npos) << e;
  EXPECT_TRUE(pm.empty()) << "nothing is added on error";
  e = errorText(parsePassPipeline(pm, "zzzzzz", testRegistry()));
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;
}

TEST(Pipeline, SyntaxErrors) {
  struct Case {
    const char *text, *message;
  } cases[] = {
      {"dce,", "expected a pass name after ','"},
      {"dce,,dce", "expected a pass name, found ','"},
      {",dce", "expected a pass name, found ','"},
      {"dce dce", "expected ',' or the end of the pipeline, found 'd'"},
      {"opt<threshold=3", "missing '>' to close the options of pass 'opt'"},
      {"opt<", "missing '>' to close the options of pass 'opt'"},
      {"opt<>", "expected an option name for pass 'opt', found '>'"},
      {"opt<threshold=1;threshold=2>", "option 'threshold' given twice"},
      {"opt<threshold=x>", "option 'threshold' expects an integer, got 'x' (pass 'opt')"},
      {"opt<aggressive=maybe>", "option 'aggressive' expects true or false"},
      {"opt<bogus=1>", "unknown option 'bogus' for pass 'opt'"},
      {"dce<threshold=1>", "unknown option 'threshold' for pass 'dce'"},
  };
  for (const Case &c : cases) {
    PassManager pm;
    std::string e = errorText(parsePassPipeline(pm, c.text, testRegistry()));
    EXPECT_NE(e.find(c.message), std::string::npos) << c.text << " -> " << e;
    EXPECT_TRUE(pm.empty()) << c.text;
  }
}

TEST(Pipeline, OptionsReachThePassAndRoundTrip) {
  PassManager pm;
  ASSERT_FALSE(errorText(parsePassPipeline(
                             pm, "opt< threshold = 50 ; aggressive >,opt,dce",
                             testRegistry()))
                   .size());
  ASSERT_EQ(pm.size(), 3u);
  auto &o = static_cast<const OptionPass &>(pm.pass(0));
  EXPECT_EQ(o.threshold, 50);
  EXPECT_TRUE(o.aggressive);
  EXPECT_EQ(static_cast<const OptionPass &>(pm.pass(1)).threshold, 225);
  std::string s;
  llvm::raw_string_ostream os(s);
  pm.printPipeline(os);
  EXPECT_EQ(s, "opt<threshold=50>,opt,dce");
  // The column of an option error points at the option.
  PassManager bad;
  std::string e = errorText(parsePassPipeline(bad, "dce,opt<x=1>", testRegistry()));
  EXPECT_NE(e.find("at column 9"), std::string::npos) << e;
}

TEST(Pipeline, GlobalRegistryHasDCEOnce) {
  registerAllPasses();
  registerAllPasses(); // idempotent
  const PassInfo *dce = PassRegistry::global().lookup("dce");
  ASSERT_NE(dce, nullptr);
  EXPECT_FALSE(dce->description.empty());
  EXPECT_FALSE(dce->testOnly);
}

//===----------------------------------------------------------------------===//
// Running passes and instrumentation
//===----------------------------------------------------------------------===//

struct LogInstrumentation : PassInstrumentation {
  std::vector<std::string> log;
  unsigned skipIndex = ~0u, stopIndex = ~0u;
  static std::string id(const PassRunInfo &i) {
    return i.passName().str() + "@" +
           (i.function ? i.function->name().str() : std::string("[module]")) +
           "#" + std::to_string(i.index) + "/" + std::to_string(i.position);
  }
  bool shouldRun(const PassRunInfo &i) override { return i.index != skipIndex; }
  void passSkipped(const PassRunInfo &i) override { log.push_back("skip " + id(i)); }
  void beforePass(const PassRunInfo &i) override { log.push_back("before " + id(i)); }
  bool afterPass(const PassRunInfo &i, const PreservedAnalyses &) override {
    log.push_back("after " + id(i));
    return i.index != stopIndex;
  }
};

class CountModulePass : public ModulePass {
public:
  unsigned runs = 0;
  llvm::StringRef name() const override { return "count"; }
  PreservedAnalyses run(Module &, AnalysisManager &) override {
    ++runs;
    return PreservedAnalyses::all();
  }
};

TEST(PassManager, RunsFunctionPassesPerDefinedFunctionInOrder) {
  TwoFunctions x;
  std::vector<std::string> log;
  PassManager pm;
  pm.addPass(std::make_unique<RecordPass>("a", log));
  auto mp = std::make_unique<CountModulePass>();
  CountModulePass *count = mp.get();
  pm.addPass(std::move(mp));
  pm.addPass(std::make_unique<RecordPass>("b", log));
  LogInstrumentation li;
  pm.addInstrumentation(li);
  EXPECT_TRUE(pm.run(x.m));
  EXPECT_EQ(log, (std::vector<std::string>{"a:f", "a:g", "b:f", "b:g"}));
  EXPECT_EQ(count->runs, 1u);
  EXPECT_EQ(li.log, (std::vector<std::string>{
                        "before a@f#0/0", "after a@f#0/0", "before a@g#1/0",
                        "after a@g#1/0", "before count@[module]#2/1",
                        "after count@[module]#2/1", "before b@f#3/2",
                        "after b@f#3/2", "before b@g#4/2", "after b@g#4/2"}));
}

TEST(PassManager, InstrumentationCanSkipAndStop) {
  TwoFunctions x;
  std::vector<std::string> log;
  PassManager pm;
  pm.addPass(std::make_unique<RecordPass>("a", log));
  pm.addPass(std::make_unique<RecordPass>("b", log));
  LogInstrumentation li;
  li.skipIndex = 1;
  li.stopIndex = 2;
  pm.addInstrumentation(li);
  EXPECT_FALSE(pm.run(x.m));
  EXPECT_EQ(log, (std::vector<std::string>{"a:f", "b:f"}));
  EXPECT_EQ(li.log, (std::vector<std::string>{"before a@f#0/0", "after a@f#0/0",
                                              "skip a@g#1/0", "before b@f#2/1",
                                              "after b@f#2/1"}));
}

// Streaming runs a pipeline of function passes on one function at a time;
// each application keeps the number run() gives it (pass-by-pass order), so
// a crash message or --bisect-limit names the same application either way.
TEST(PassManager, RunOnFunctionNumbersLikeRun) {
  TwoFunctions x;
  std::vector<std::string> log;
  PassManager pm;
  pm.addPass(std::make_unique<RecordPass>("a", log));
  pm.addPass(std::make_unique<RecordPass>("b", log));
  EXPECT_TRUE(pm.onlyFunctionPasses());
  LogInstrumentation li;
  pm.addInstrumentation(li);
  AnalysisManager am;
  EXPECT_TRUE(pm.runOnFunction(*x.m.function("g"), am, 1, 2));
  EXPECT_TRUE(pm.runOnFunction(*x.m.function("f"), am, 0, 2));
  EXPECT_EQ(log, (std::vector<std::string>{"a:g", "b:g", "a:f", "b:f"}));
  EXPECT_EQ(li.log, (std::vector<std::string>{"before a@g#1/0", "after a@g#1/0",
                                              "before b@g#3/1", "after b@g#3/1",
                                              "before a@f#0/0", "after a@f#0/0",
                                              "before b@f#2/1", "after b@f#2/1"}));
  li.log.clear();
  li.stopIndex = 2;
  EXPECT_FALSE(pm.runOnFunction(*x.m.function("f"), am, 0, 2));
  EXPECT_EQ(li.log, (std::vector<std::string>{"before a@f#0/0", "after a@f#0/0",
                                              "before b@f#2/1", "after b@f#2/1"}));
  pm.addPass(std::make_unique<CountModulePass>());
  EXPECT_FALSE(pm.onlyFunctionPasses());
}

TEST(PassManager, DCEThroughThePipeline) {
  TwoFunctions x;
  registerAllPasses();
  PassManager pm;
  ASSERT_FALSE(errorText(parsePassPipeline(pm, "dce,dce")).size());
  size_t before = x.f->instructionCount();
  EXPECT_TRUE(pm.run(x.m));
  EXPECT_EQ(x.f->instructionCount(), before - 1);
}

//===----------------------------------------------------------------------===//
// Analysis caching and invalidation
//===----------------------------------------------------------------------===//

/// Counts blocks; depends on instructions (not CFG-only).
struct BlockCount {
  using Result = unsigned;
  static const AnalysisKey *key() {
    static const AnalysisKey k{"block-count"};
    return &k;
  }
  static Result run(Function &f, AnalysisManager &) {
    return static_cast<unsigned>(std::distance(f.blocks().begin(), f.blocks().end()));
  }
};

/// CFG-only and built on another analysis.
struct EdgeCount {
  using Result = unsigned;
  static constexpr bool cfgOnly = true;
  static const AnalysisKey *key() {
    static const AnalysisKey k{"edge-count"};
    return &k;
  }
  static Result run(Function &f, AnalysisManager &am) {
    unsigned n = am.getResult<BlockCount>(f) * 0;
    for (Block &b : f.blocks())
      n += b.successors().size();
    return n;
  }
};

TEST(AnalysisManager, CachesPerFunction) {
  TwoFunctions x;
  AnalysisManager am;
  EXPECT_EQ(am.getCachedResult<BlockCount>(*x.f), nullptr);
  EXPECT_EQ(am.getResult<BlockCount>(*x.f), 4u);
  EXPECT_EQ(am.getResult<BlockCount>(*x.f), 4u);
  EXPECT_EQ(am.getResult<BlockCount>(*x.g), 1u);
  EXPECT_EQ(am.numComputations(BlockCount::key()), 2u);
  ASSERT_NE(am.getCachedResult<BlockCount>(*x.f), nullptr);
  EXPECT_EQ(am.getResult<EdgeCount>(*x.f), 4u);
  EXPECT_EQ(am.numComputations(BlockCount::key()), 2u) << "nested query hit the cache";
  EXPECT_EQ(am.numCachedResults(), 3u);
}

TEST(AnalysisManager, InvalidationFollowsPreservedAnalyses) {
  TwoFunctions x;
  AnalysisManager am;
  am.getResult<BlockCount>(*x.f);
  am.getResult<EdgeCount>(*x.f);
  am.getResult<BlockCount>(*x.g);

  am.invalidate(*x.f, PreservedAnalyses::all());
  EXPECT_EQ(am.numCachedResults(), 3u);

  am.invalidate(*x.f, PreservedAnalyses::none().preserve<BlockCount>());
  EXPECT_NE(am.getCachedResult<BlockCount>(*x.f), nullptr);
  EXPECT_EQ(am.getCachedResult<EdgeCount>(*x.f), nullptr);

  am.getResult<EdgeCount>(*x.f);
  am.invalidate(*x.f, PreservedAnalyses::none().preserveSet<CFGAnalyses>());
  EXPECT_EQ(am.getCachedResult<BlockCount>(*x.f), nullptr) << "not CFG-only";
  EXPECT_NE(am.getCachedResult<EdgeCount>(*x.f), nullptr) << "CFG-only";
  EXPECT_NE(am.getCachedResult<BlockCount>(*x.g), nullptr) << "other function";

  am.invalidateAll(PreservedAnalyses::none());
  EXPECT_EQ(am.numCachedResults(), 0u);
  am.getResult<BlockCount>(*x.f);
  EXPECT_EQ(am.numComputations(BlockCount::key()), 3u);
}

TEST(AnalysisManager, DominatorTreeSurvivesDCE) {
  TwoFunctions x;
  AnalysisManager am;
  DominatorTree &dt = am.getResult<DominatorTreeAnalysis>(*x.f);
  const Block *entry = x.f->entry();
  const Block *join = &x.f->blocks().back();
  EXPECT_TRUE(dt.dominates(entry, join));
  EXPECT_EQ(dt.idom(join), entry);
  am.getResult<BlockCount>(*x.f);

  PassManager pm;
  pm.addPass(std::make_unique<DCEPass>());
  ASSERT_TRUE(pm.run(x.m, am));
  // dce changed f but kept its blocks and edges.
  EXPECT_EQ(am.getCachedResult<DominatorTreeAnalysis>(*x.f), &dt);
  EXPECT_EQ(am.getCachedResult<BlockCount>(*x.f), nullptr);
  EXPECT_EQ(am.numComputations(DominatorTreeAnalysis::key()), 1u);

  // A pass that preserves nothing drops it; the next query recomputes.
  std::vector<std::string> log;
  PassManager pm2;
  pm2.addPass(std::make_unique<RecordPass>("clobber", log, PreservedAnalyses::none()));
  ASSERT_TRUE(pm2.run(x.m, am));
  EXPECT_EQ(am.getCachedResult<DominatorTreeAnalysis>(*x.f), nullptr);
  am.getResult<DominatorTreeAnalysis>(*x.f);
  EXPECT_EQ(am.numComputations(DominatorTreeAnalysis::key()), 2u);
}

TEST(AnalysisManager, ModulePassInvalidatesEveryFunction) {
  TwoFunctions x;
  AnalysisManager am;
  am.getResult<BlockCount>(*x.f);
  am.getResult<BlockCount>(*x.g);
  struct Clobber : ModulePass {
    llvm::StringRef name() const override { return "clobber"; }
    PreservedAnalyses run(Module &, AnalysisManager &) override {
      return PreservedAnalyses::none();
    }
  };
  PassManager pm;
  pm.addPass(std::make_unique<CountModulePass>());
  ASSERT_TRUE(pm.run(x.m, am));
  EXPECT_EQ(am.numCachedResults(), 2u);
  PassManager pm2;
  pm2.addPass(std::make_unique<Clobber>());
  ASSERT_TRUE(pm2.run(x.m, am));
  EXPECT_EQ(am.numCachedResults(), 0u);
}

TEST(PreservedAnalyses, Intersect) {
  PreservedAnalyses a = PreservedAnalyses::all();
  a.intersect(PreservedAnalyses::none().preserve<BlockCount>().preserve<EdgeCount>());
  EXPECT_TRUE(a.isPreserved<BlockCount>());
  a.intersect(PreservedAnalyses::none().preserve<EdgeCount>());
  EXPECT_FALSE(a.isPreserved<BlockCount>());
  EXPECT_TRUE(a.isPreserved<EdgeCount>());
  a.intersect(PreservedAnalyses::all());
  EXPECT_TRUE(a.isPreserved<EdgeCount>());
  EXPECT_FALSE(a.areAllPreserved());
}

} // namespace
