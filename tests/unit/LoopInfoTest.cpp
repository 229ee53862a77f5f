// Unit tests of LoopInfo: natural loops from back edges (several latches
// sharing a header make one loop), nesting and depths, the innermost-first
// order, irreducible cycles and unreachable code (no loops), addBlock, and
// LoopInfoAnalysis's caching and invalidation.
#include "mir/Parser.h"
#include "passes/Analyses.h"
#include "passes/LoopInfo.h"

#include "tests/support/TestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace qmir;

namespace {

std::unique_ptr<Module> parse(llvm::StringRef text) {
  return qmir::testing::parseOrFail(text);
}

Block *block(Function &f, llvm::StringRef name) {
  for (Block &b : f.blocks())
    if (b.name() == name)
      return &b;
  ADD_FAILURE() << "no block " << name.str();
  return nullptr;
}

std::string names(llvm::ArrayRef<Block *> bs) {
  std::string s;
  for (Block *b : bs)
    s += (s.empty() ? "" : " ") + b->name().str();
  return s;
}

std::string sortedNames(llvm::ArrayRef<Block *> bs) {
  std::vector<Block *> v(bs.begin(), bs.end());
  std::sort(v.begin(), v.end(),
            [](Block *a, Block *b) { return a->name() < b->name(); });
  return names(v);
}

/// The header, then the other blocks sorted by name (the list itself is in
/// reverse post-order, which the tests need not spell out).
std::string members(const Loop *l) {
  std::vector<std::string> rest;
  for (Block *b : l->blocks().drop_front())
    rest.push_back(b->name().str());
  std::sort(rest.begin(), rest.end());
  std::string s = l->header()->name().str() + ":";
  for (auto &r : rest)
    s += " " + r;
  return s;
}

/// Whether the blocks are in an order where each block comes after its
/// immediate dominator (true of reverse post-order).
bool dominanceOrdered(const DominatorTree &dt, const Loop *l) {
  for (size_t k = 0; k < l->blocks().size(); ++k)
    for (size_t j = k + 1; j < l->blocks().size(); ++j)
      if (dt.properlyDominates(l->blocks()[j], l->blocks()[k]))
        return false;
  return true;
}

std::string printed(const LoopInfo &li) {
  std::string s;
  llvm::raw_string_ostream os(s);
  li.print(os);
  return s;
}

const char *kNest = R"(
fn @f(%n: i64) -> i64 {
entry:
  br outer(0)
outer(%i: i64):
  %c = icmp slt i64 %i, %n
  condbr %c, ob, exit
ob:
  br inner(0)
inner(%j: i64):
  %d = icmp slt i64 %j, %i
  condbr %d, ib, latch
ib:
  %e = icmp eq i64 %j, 3
  condbr %e, skip, inc
skip:
  br inner(%j)
inc:
  %j2 = add i64 %j, 1
  br inner(%j2)
latch:
  %i2 = add i64 %i, 1
  condbr %c, outer(%i2), side
side:
  br outer(%i2)
exit:
  br self
self:
  %s = icmp eq i64 %n, 0
  condbr %s, self, out
out:
  ret %n
}
)";

TEST(LoopInfo, NestedLoopsAndLatches) {
  auto m = parse(kNest);
  Function &f = *m->function("f");
  DominatorTree dt(f);
  LoopInfo li(f, dt);
  ASSERT_EQ(li.numLoops(), 3u);
  ASSERT_EQ(li.topLevelLoops().size(), 2u);

  Loop *outer = li.topLevelLoops()[0];
  Loop *self = li.topLevelLoops()[1];
  EXPECT_EQ(outer->header(), block(f, "outer"));
  EXPECT_EQ(outer->depth(), 1u);
  EXPECT_EQ(members(outer), "outer: ib inc inner latch ob side skip");
  EXPECT_TRUE(dominanceOrdered(dt, outer));
  EXPECT_EQ(sortedNames(outer->latches()), "latch side");
  ASSERT_EQ(outer->subLoops().size(), 1u);

  Loop *inner = outer->subLoops()[0];
  EXPECT_EQ(inner->parent(), outer);
  EXPECT_EQ(inner->depth(), 2u);
  EXPECT_TRUE(inner->isInnermost());
  EXPECT_EQ(members(inner), "inner: ib inc skip");
  EXPECT_TRUE(dominanceOrdered(dt, inner));
  // Two back edges into one header: one loop with two latches.
  EXPECT_EQ(sortedNames(inner->latches()), "inc skip");

  EXPECT_EQ(names(self->blocks()), "self");
  EXPECT_EQ(names(self->latches()), "self");

  EXPECT_EQ(li.loopFor(block(f, "skip")), inner);
  EXPECT_EQ(li.loopFor(block(f, "latch")), outer);
  EXPECT_EQ(li.loopFor(block(f, "entry")), nullptr);
  EXPECT_EQ(li.loopFor(block(f, "exit")), nullptr);
  EXPECT_EQ(li.loopDepth(block(f, "inc")), 2u);
  EXPECT_EQ(li.loopDepth(block(f, "out")), 0u);
  EXPECT_TRUE(li.isLoopHeader(block(f, "inner")));
  EXPECT_FALSE(li.isLoopHeader(block(f, "ib")));
  EXPECT_TRUE(li.contains(outer, block(f, "inc")));
  EXPECT_FALSE(li.contains(inner, block(f, "latch")));
  EXPECT_FALSE(li.contains(outer, block(f, "self")));
  EXPECT_TRUE(LoopInfo::contains(outer, inner));
  EXPECT_FALSE(LoopInfo::contains(inner, outer));
  EXPECT_FALSE(LoopInfo::contains(self, inner));

  // Inner loops come before the loops around them.
  auto order = li.loopsInnermostFirst();
  ASSERT_EQ(order.size(), 3u);
  auto pos = [&](Loop *l) { return std::find(order.begin(), order.end(), l) - order.begin(); };
  EXPECT_LT(pos(inner), pos(outer));

  std::string text = printed(li);
  EXPECT_EQ(text.find("loop header=outer depth=1 blocks=[outer, "), 0u) << text;
  EXPECT_NE(text.find("] latches=[latch, side]\n  loop header=inner depth=2 "
                      "blocks=[inner, "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("]\nloop header=self depth=1 blocks=[self] "
                      "latches=[self]\n"),
            std::string::npos)
      << text;
}

// A cycle with two entries has no header dominating it: not a natural loop.
// A loop only reachable from dead code is not one either.
TEST(LoopInfo, IrreducibleAndUnreachableCyclesAreNotLoops) {
  auto m = parse(R"(
fn @f(%c: i1) -> i64 {
entry:
  condbr %c, a, b
a:
  condbr %c, b, out
b:
  br a
out:
  ret 0
dead:
  br dead2
dead2:
  br dead
}
)");
  Function &f = *m->function("f");
  DominatorTree dt(f);
  LoopInfo li(f, dt);
  EXPECT_TRUE(li.empty());
  EXPECT_EQ(li.loopFor(block(f, "a")), nullptr);
  EXPECT_EQ(li.loopFor(block(f, "dead")), nullptr);
  EXPECT_EQ(printed(li), "");
}

// The entry block may head a loop; a loop can contain a loop that is not
// its header's only successor.
TEST(LoopInfo, EntryBlockAsHeaderAndSiblings) {
  auto m = parse(R"(
fn @f(%c: i1) -> void {
entry:
  br l1
l1:
  condbr %c, l1, mid
mid:
  br l2
l2:
  condbr %c, l2, back
back:
  condbr %c, entry, done
done:
  ret
}
)");
  Function &f = *m->function("f");
  DominatorTree dt(f);
  LoopInfo li(f, dt);
  ASSERT_EQ(li.topLevelLoops().size(), 1u);
  Loop *top = li.topLevelLoops()[0];
  EXPECT_EQ(top->header(), f.entry());
  EXPECT_EQ(names(top->blocks()), "entry l1 mid l2 back"); // a chain: one RPO
  ASSERT_EQ(top->subLoops().size(), 2u);
  EXPECT_EQ(top->subLoops()[0]->header(), block(f, "l1"));
  EXPECT_EQ(top->subLoops()[1]->header(), block(f, "l2"));
  auto order = li.loopsInnermostFirst();
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order.back(), top);
}

TEST(LoopInfo, AddBlockJoinsEnclosingLoops) {
  auto m = parse(kNest);
  Function &f = *m->function("f");
  DominatorTree dt(f);
  LoopInfo li(f, dt);
  Loop *outer = li.topLevelLoops()[0];
  Loop *inner = outer->subLoops()[0];
  Block *nb = f.createBlock("new", block(f, "inner"));
  li.addBlock(nb, outer, block(f, "inner"));
  EXPECT_EQ(li.loopFor(nb), outer);
  // Right before `inner`, which stays behind `ob` as in RPO.
  std::string list = names(outer->blocks());
  EXPECT_NE(list.find("new inner"), std::string::npos) << list;
  EXPECT_EQ(list.find("outer"), 0u) << list;
  EXPECT_EQ(members(outer), "outer: ib inc inner latch new ob side skip");
  EXPECT_EQ(members(inner), "inner: ib inc skip");
  EXPECT_EQ(outer->header(), block(f, "outer"));
  Block *free = f.createBlock("free");
  li.addBlock(free, nullptr);
  EXPECT_EQ(li.loopFor(free), nullptr);
}

TEST(LoopInfo, AnalysisIsCachedAndCFGOnly) {
  auto m = parse(kNest);
  Function &f = *m->function("f");
  AnalysisManager am;
  LoopInfo &li = am.getResult<LoopInfoAnalysis>(f);
  EXPECT_EQ(li.numLoops(), 3u);
  EXPECT_EQ(&am.getResult<LoopInfoAnalysis>(f), &li);
  EXPECT_EQ(am.numComputations(LoopInfoAnalysis::key()), 1u);
  // It asked for the dominator tree.
  EXPECT_NE(am.getCachedResult<DominatorTreeAnalysis>(f), nullptr);

  am.invalidate(f, PreservedAnalyses::none().preserveSet<CFGAnalyses>());
  EXPECT_EQ(am.getCachedResult<LoopInfoAnalysis>(f), &li);
  am.invalidate(f, PreservedAnalyses::none());
  EXPECT_EQ(am.getCachedResult<LoopInfoAnalysis>(f), nullptr);
  am.getResult<LoopInfoAnalysis>(f);
  EXPECT_EQ(am.numComputations(LoopInfoAnalysis::key()), 2u);
}

} // namespace
