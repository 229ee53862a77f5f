// Tests for the generic dominator tree and DominatorTree on MIR functions:
// hand-checked shapes (diamond, loop, unreachable code, irreducible CFG),
// instruction/value dominance, post-dominators through the reverse graph, and
// a comparison against a brute-force definition on random graphs.
#include "mir/Builder.h"
#include "mir/Dominators.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>

using namespace qmir;

namespace {

//===----------------------------------------------------------------------===//
// A plain adjacency-list graph, to exercise DomTreeBase through other traits.
//===----------------------------------------------------------------------===//

struct Node {
  unsigned id;
  std::vector<Node *> succs;
};
struct Graph {
  std::vector<std::unique_ptr<Node>> nodes;
  Node *entry = nullptr;
  Node *add() {
    nodes.push_back(std::make_unique<Node>(Node{unsigned(nodes.size()), {}}));
    return nodes.back().get();
  }
  void edge(unsigned a, unsigned b) { nodes[a]->succs.push_back(nodes[b].get()); }
};
struct GraphTraits {
  using GraphRef = const Graph *;
  using NodeRef = const Node *;
  static NodeRef entry(GraphRef g) { return g->entry; }
  static unsigned numIndices(GraphRef g) { return g->nodes.size(); }
  static unsigned index(GraphRef, NodeRef n) { return n->id; }
  template <typename Fn> static void forEachSuccessor(GraphRef, NodeRef n, Fn fn) {
    for (const Node *s : n->succs)
      fn(s);
  }
};
using GraphDomTree = DomTreeBase<GraphTraits>;

/// Nodes reachable from the entry when `removed` is deleted.
std::vector<bool> reachableWithout(const Graph &g, const Node *removed) {
  std::vector<bool> seen(g.nodes.size(), false);
  if (!g.entry || g.entry == removed)
    return seen;
  std::vector<const Node *> work{g.entry};
  seen[g.entry->id] = true;
  while (!work.empty()) {
    const Node *n = work.back();
    work.pop_back();
    for (const Node *s : n->succs)
      if (s != removed && !seen[s->id]) {
        seen[s->id] = true;
        work.push_back(s);
      }
  }
  return seen;
}

/// The textbook definition: a dominates b iff every path from the entry to b
/// passes through a.
void checkAgainstBruteForce(const Graph &g) {
  GraphDomTree dt(&g);
  auto reach = reachableWithout(g, nullptr);
  unsigned numReachable = std::count(reach.begin(), reach.end(), true);
  ASSERT_EQ(dt.rpo().size(), numReachable);
  for (auto &a : g.nodes) {
    EXPECT_EQ(dt.isReachable(a.get()), bool(reach[a->id])) << "node " << a->id;
    auto without = reachableWithout(g, a.get());
    for (auto &b : g.nodes) {
      bool expect = a == b || (reach[a->id] && reach[b->id] && !without[b->id]);
      EXPECT_EQ(dt.dominates(a.get(), b.get()), expect)
          << "dominates(" << a->id << ", " << b->id << ")";
    }
  }
  // idom(b) is the strict dominator of b that every other strict dominator
  // dominates; children() is its inverse.
  for (auto &b : g.nodes) {
    if (!reach[b->id] || b.get() == g.entry) {
      EXPECT_EQ(dt.idom(b.get()), nullptr);
      continue;
    }
    const Node *id = dt.idom(b.get());
    ASSERT_NE(id, nullptr);
    EXPECT_TRUE(dt.properlyDominates(id, b.get()));
    for (auto &c : g.nodes) {
      if (dt.properlyDominates(c.get(), b.get())) {
        EXPECT_TRUE(dt.dominates(c.get(), id));
      }
    }
    auto kids = dt.children(id);
    EXPECT_NE(std::find(kids.begin(), kids.end(), b.get()), kids.end());
    EXPECT_EQ(dt.level(b.get()), dt.level(id) + 1);
  }
  // rpo: every node precedes its successors except along back edges (whose
  // target dominates the source in a reducible graph; in general we can only
  // check that the entry comes first and every reachable node appears once).
  ASSERT_FALSE(dt.rpo().empty());
  EXPECT_EQ(dt.rpo()[0], g.entry);
  std::vector<bool> inRpo(g.nodes.size(), false);
  for (const Node *n : dt.rpo()) {
    EXPECT_FALSE(inRpo[n->id]);
    inRpo[n->id] = true;
  }
}

TEST(DomTreeBase, MatchesBruteForceOnRandomGraphs) {
  std::mt19937 rng(12345);
  for (unsigned iter = 0; iter < 300; ++iter) {
    Graph g;
    unsigned n = 1 + rng() % 14;
    for (unsigned k = 0; k < n; ++k)
      g.add();
    g.entry = g.nodes[0].get();
    unsigned edges = rng() % (2 * n + 1);
    for (unsigned e = 0; e < edges; ++e)
      g.edge(rng() % n, rng() % n);
    SCOPED_TRACE("iteration " + std::to_string(iter));
    checkAgainstBruteForce(g);
    if (testing::Test::HasFailure())
      return;
  }
}

TEST(DomTreeBase, IrreducibleLoop) {
  // 0 -> 1, 0 -> 2, 1 <-> 2, 2 -> 3: neither 1 nor 2 dominates the other.
  Graph g;
  for (int k = 0; k < 4; ++k)
    g.add();
  g.entry = g.nodes[0].get();
  g.edge(0, 1);
  g.edge(0, 2);
  g.edge(1, 2);
  g.edge(2, 1);
  g.edge(2, 3);
  GraphDomTree dt(&g);
  EXPECT_EQ(dt.idom(g.nodes[1].get()), g.nodes[0].get());
  EXPECT_EQ(dt.idom(g.nodes[2].get()), g.nodes[0].get());
  EXPECT_EQ(dt.idom(g.nodes[3].get()), g.nodes[2].get());
  EXPECT_FALSE(dt.dominates(g.nodes[1].get(), g.nodes[2].get()));
  checkAgainstBruteForce(g);
}

TEST(DomTreeBase, DeepChainDoesNotRecurse) {
  // A 200k-node chain would overflow the stack of a recursive DFS.
  Graph g;
  const unsigned n = 200000;
  for (unsigned k = 0; k < n; ++k)
    g.add();
  g.entry = g.nodes[0].get();
  for (unsigned k = 0; k + 1 < n; ++k)
    g.edge(k, k + 1);
  GraphDomTree dt(&g);
  EXPECT_EQ(dt.rpo().size(), n);
  EXPECT_TRUE(dt.dominates(g.nodes[0].get(), g.nodes[n - 1].get()));
  EXPECT_FALSE(dt.dominates(g.nodes[n - 1].get(), g.nodes[0].get()));
  EXPECT_EQ(dt.level(g.nodes[n - 1].get()), n - 1);
  EXPECT_EQ(dt.idom(g.nodes[n - 1].get()), g.nodes[n - 2].get());
}

TEST(DomTreeBase, PostDominatorsThroughReverseGraph) {
  // Forward: 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 2 -> 4 (exits: 3, 4).
  // Reverse graph with a virtual exit node 5 that reaches every exit.
  Graph rev;
  for (int k = 0; k < 6; ++k)
    rev.add();
  rev.entry = rev.nodes[5].get();
  rev.edge(5, 3);
  rev.edge(5, 4);
  rev.edge(1, 0);
  rev.edge(2, 0);
  rev.edge(3, 1);
  rev.edge(3, 2);
  rev.edge(4, 2);
  GraphDomTree pdt(&rev);
  auto N = [&](int k) { return rev.nodes[k].get(); };
  EXPECT_EQ(pdt.idom(N(1)), N(3)); // 1 always reaches 3
  EXPECT_EQ(pdt.idom(N(2)), N(5)); // 2 may leave through 3 or 4
  EXPECT_EQ(pdt.idom(N(0)), N(5));
  EXPECT_TRUE(pdt.dominates(N(3), N(1)));
  EXPECT_FALSE(pdt.dominates(N(3), N(0)));
  EXPECT_EQ(pdt.nearestCommonDominator(N(1), N(2)), N(5));
}

//===----------------------------------------------------------------------===//
// DominatorTree on functions
//===----------------------------------------------------------------------===//

class DomTest : public testing::Test {
protected:
  Module m;
  Builder b{m};
  Function *makeFn(llvm::StringRef name = "f") {
    TypeContext &t = m.types();
    return m.createFunction(name, t.function({t.i1(), t.i64()}, t.i64()));
  }
};

TEST_F(DomTest, DiamondWithLoopAndUnreachableBlock) {
  Function *f = makeFn();
  Block *entry = f->createBlock("entry");
  Block *then = f->createBlock("then");
  Block *els = f->createBlock("else");
  Block *join = f->createBlock("join");
  Block *loop = f->createBlock("loop");
  Block *exit = f->createBlock("exit");
  Block *dead = f->createBlock("dead");

  b.setInsertPoint(entry);
  Instruction *x = b.add(f->arg(1), b.i64(1));
  b.condBr(f->arg(0), then, els);
  b.setInsertPoint(then);
  Instruction *y = b.add(x, b.i64(2));
  b.br(join);
  b.setInsertPoint(els);
  b.br(join);
  b.setInsertPoint(join);
  b.br(loop);
  b.setInsertPoint(loop);
  Instruction *c = b.icmp(ICmpPred::SLT, x, b.i64(10));
  b.condBr(c, loop, exit);
  b.setInsertPoint(exit);
  Instruction *r = b.ret(x);
  b.setInsertPoint(dead);
  b.br(join);

  DominatorTree dt(*f);
  EXPECT_EQ(dt.rpo().size(), 6u);
  EXPECT_EQ(dt.rpo().front(), entry);
  EXPECT_FALSE(dt.isReachable(dead));
  EXPECT_TRUE(dt.isReachable(exit));

  EXPECT_EQ(dt.idom(entry), nullptr);
  EXPECT_EQ(dt.idom(then), entry);
  EXPECT_EQ(dt.idom(els), entry);
  EXPECT_EQ(dt.idom(join), entry);
  EXPECT_EQ(dt.idom(loop), join);
  EXPECT_EQ(dt.idom(exit), loop);
  EXPECT_EQ(dt.idom(dead), nullptr);

  EXPECT_TRUE(dt.dominates(entry, exit));
  EXPECT_TRUE(dt.dominates(loop, loop));
  EXPECT_TRUE(dt.dominates(dead, dead));
  EXPECT_FALSE(dt.dominates(then, join));
  EXPECT_FALSE(dt.dominates(entry, dead));
  EXPECT_FALSE(dt.dominates(dead, join));
  EXPECT_FALSE(dt.properlyDominates(loop, loop));
  EXPECT_EQ(dt.nearestCommonDominator(then, els), entry);
  EXPECT_EQ(dt.nearestCommonDominator(exit, loop), loop);
  EXPECT_EQ(dt.level(exit), 3u);

  auto kids = dt.children(entry);
  EXPECT_EQ(kids.size(), 3u);
  for (const Block *k : {then, els, join})
    EXPECT_NE(std::find(kids.begin(), kids.end(), k), kids.end());
  EXPECT_TRUE(dt.children(dead).empty());

  // Reverse post-order: a block comes after all its forward-edge predecessors.
  auto pos = [&](const Block *blk) {
    return std::find(dt.rpo().begin(), dt.rpo().end(), blk) - dt.rpo().begin();
  };
  EXPECT_LT(pos(entry), pos(then));
  EXPECT_LT(pos(then), pos(join));
  EXPECT_LT(pos(els), pos(join));
  EXPECT_LT(pos(join), pos(loop));
  EXPECT_LT(pos(loop), pos(exit));

  // Instruction and value dominance.
  EXPECT_TRUE(dt.dominates(x, y));
  EXPECT_FALSE(dt.dominates(y, x));
  EXPECT_FALSE(dt.dominates(x, x));
  EXPECT_FALSE(dt.dominates(y, r)); // then does not dominate exit
  EXPECT_TRUE(dt.dominates(x, c));
  EXPECT_TRUE(dt.dominates(c, loop->terminator()));
  EXPECT_FALSE(dt.dominates(loop->terminator(), c));
  EXPECT_TRUE(dt.valueDominates(f->arg(0), y));
  EXPECT_TRUE(dt.valueDominates(b.i64(7), y));
  EXPECT_TRUE(dt.valueDominates(x, r));
  EXPECT_FALSE(dt.valueDominates(y, r));
}

TEST_F(DomTest, BlockArgumentDominance) {
  Function *f = makeFn();
  Block *entry = f->createBlock("entry");
  Block *loop = f->createBlock("loop");
  Block *side = f->createBlock("side");
  Block *exit = f->createBlock("exit");
  BlockArg *i = loop->addArg(m.types().i64(), "i");
  BlockArg *s = side->addArg(m.types().i64(), "s");
  b.setInsertPoint(entry);
  b.br(loop, {b.i64(0)});
  b.setInsertPoint(loop);
  Instruction *c = b.icmp(ICmpPred::SLT, i, b.i64(3));
  b.condBr(c, side, {i}, exit, {});
  b.setInsertPoint(side);
  Instruction *n = b.add(s, b.i64(1));
  b.br(loop, {n});
  b.setInsertPoint(exit);
  Instruction *r = b.ret(i);

  DominatorTree dt(*f);
  EXPECT_TRUE(dt.valueDominates(i, r));
  EXPECT_TRUE(dt.valueDominates(i, c));
  EXPECT_TRUE(dt.valueDominates(s, n));
  EXPECT_FALSE(dt.valueDominates(s, r));
  EXPECT_EQ(dt.idom(side), loop);
  EXPECT_EQ(dt.idom(exit), loop);
}

TEST_F(DomTest, SkipsBrokenEdgesAndUnknownBlocks) {
  // An edge into another function's block is ignored (the verifier reports
  // it), and a block created after the tree was built is unknown to it.
  Function *f = makeFn("f");
  Function *g = makeFn("g");
  Block *fe = f->createBlock("entry");
  Block *ge = g->createBlock("entry");
  Block *gx = g->createBlock("x");
  b.setInsertPoint(ge);
  b.br(gx);
  b.setInsertPoint(gx);
  b.ret(b.i64(0));
  b.setInsertPoint(fe);
  b.br(gx);
  DominatorTree dt(*f);
  EXPECT_EQ(dt.rpo().size(), 1u);
  Block *later = f->createBlock("later");
  EXPECT_FALSE(dt.isReachable(later));
  EXPECT_FALSE(dt.dominates(fe, later));
  EXPECT_TRUE(dt.dominates(later, later));
  EXPECT_EQ(dt.idom(later), nullptr);
  EXPECT_TRUE(dt.children(later).empty());
}

TEST_F(DomTest, RandomFunctionsMatchBruteForce) {
  std::mt19937 rng(777);
  for (unsigned iter = 0; iter < 100; ++iter) {
    Module mod;
    Builder bb(mod);
    TypeContext &t = mod.types();
    Function *f = mod.createFunction("r", t.function({t.i1()}, t.voidTy()));
    unsigned n = 1 + rng() % 12;
    std::vector<Block *> blocks;
    Graph g;
    for (unsigned k = 0; k < n; ++k) {
      blocks.push_back(f->createBlock("b" + std::to_string(k)));
      g.add();
    }
    g.entry = g.nodes[0].get();
    for (unsigned k = 0; k < n; ++k) {
      bb.setInsertPoint(blocks[k]);
      switch (rng() % 3) {
      case 0:
        bb.ret();
        break;
      case 1: {
        unsigned s = rng() % n;
        bb.br(blocks[s]);
        g.edge(k, s);
        break;
      }
      default: {
        unsigned s1 = rng() % n, s2 = rng() % n;
        bb.condBr(f->arg(0), blocks[s1], blocks[s2]);
        g.edge(k, s1);
        g.edge(k, s2);
        break;
      }
      }
    }
    DominatorTree dt(*f);
    GraphDomTree ref(&g);
    checkAgainstBruteForce(g);
    for (unsigned x = 0; x < n; ++x) {
      EXPECT_EQ(dt.isReachable(blocks[x]), ref.isReachable(g.nodes[x].get()));
      for (unsigned y = 0; y < n; ++y)
        EXPECT_EQ(dt.dominates(blocks[x], blocks[y]),
                  ref.dominates(g.nodes[x].get(), g.nodes[y].get()))
            << "iteration " << iter << ": " << x << " dom " << y;
    }
    if (testing::Test::HasFailure())
      return;
  }
}

} // namespace
