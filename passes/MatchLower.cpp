// match-lower: replaces every high-level `match` terminator by a decision tree
// of `enum.tag` + `switch` (enum patterns), `switch` on the value (integer
// patterns; `condbr` for i1) and `enum.payload` (fields), so that later passes
// and backends only see ordinary control flow. Algorithm: the classic
// compilation to decision trees (Maranget, "Compiling pattern matching to good
// decision trees", 2008). The arms form a clause matrix with one column per
// occurrence (a path into the scrutinee: the scrutinee itself, or field K of
// variant V of an occurrence) and one row per arm in source order; a `default`
// edge is an extra all-wildcard last row; a `Bind` is a wildcard that records
// "binding slot N of this row = this occurrence". If the first row has only
// wildcards it wins (a leaf: a jump to its target block, whose parameters get
// the recorded occurrences in pre-order, exactly the values the `match` arm
// would pass). Otherwise the heuristic picks the first column where the first
// row tests something, and the node switches on that occurrence: for every
// constructor present in the column (a variant, or an integer literal
// normalised to the width) the specialised matrix keeps, in order, the rows
// with that constructor (the column replaced by its payload fields) and the
// rows with a wildcard (the column replaced by wildcards); unless the
// constructors cover every value (all variants, or both i1 values) the default
// matrix keeps the wildcard rows and takes the remaining values. Rows are
// never reordered, so the first arm that matches in the original `match` is
// the first row left at the leaf: first-match order is preserved. A tested
// column disappears from both sub-matrices, so no test repeats on a path, and
// the value of each occurrence (`enum.payload`) is created once per path, in
// the first block where it is needed and below the test that makes it valid
// (never before its variant is known). Arm actions are jumps to the existing
// target blocks, so bodies are shared, never copied; a path where nothing
// matches and there is no default ends in a shared `unreachable` block. Cost
// and the cap: a tree can grow exponentially only when rows test different
// columns in a staggered way (rows `P(A,_,_)`, `P(_,A,_)`, `P(_,_,A)`); the
// matches frontends produce test the scrutinee's tag first and nested payloads
// under disjoint constructors, for which the tree is linear in the patterns.
// To stay linear in every case the tree is first built abstractly and counted;
// if it would exceed 64 + 8 x (pattern nodes) test nodes (or the pass option
// `max-nodes=N`), the match is instead compiled by backtracking: arms are
// tried one after another, each as a chain of `icmp` + `condbr` tests whose
// failure edges lead to the next arm's chain (linear size; a test may then be
// repeated across arms). The pass changes blocks and edges, so it preserves no
// analysis when it lowers something.
#include "mir/Builder.h"
#include "passes/AnalysisManager.h"
#include "passes/PassRegistry.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

using namespace llvm;

namespace qmir {

namespace {

/// An integer literal as the canonical int64 of its width (sign-extended; i1
/// is 0 or 1), so that -1 and 255 are one constructor of an i8.
int64_t normInt(int64_t v, unsigned bits) {
  if (bits >= 64)
    return v;
  if (bits == 1)
    return v & 1;
  unsigned sh = 64 - bits;
  return static_cast<int64_t>(static_cast<uint64_t>(v) << sh) >> sh;
}

unsigned patternSize(const Pattern *p) {
  unsigned n = 1;
  if (p->kind == Pattern::Variant)
    for (const Pattern *f : p->fields)
      n += patternSize(f);
  return n;
}

bool isWild(const Pattern *p) {
  return p->kind == Pattern::Wildcard || p->kind == Pattern::Bind;
}

/// Lowers the `match` terminators of one function.
class MatchLowering {
public:
  MatchLowering(Function &f, int64_t maxNodes)
      : f_(f), m_(*f.parent()), b_(m_), maxNodes_(maxNodes) {}

  /// Returns the number of matches lowered.
  unsigned run() {
    std::vector<Instruction *> matches;
    for (Block &bb : f_.blocks())
      if (Instruction *t = bb.terminator(); t && t->opcode() == Opcode::Match)
        matches.push_back(t);
    for (Instruction *mt : matches)
      lower(mt);
    return matches.size();
  }

  unsigned fallbacks() const { return fallbacks_; }

private:
  /// A path into the scrutinee: field `field` of variant `variant` of
  /// occurrence `parent` (-1: the scrutinee itself).
  struct Occ {
    int parent;
    uint32_t variant;
    uint32_t field;
    const Type *type;
  };
  /// One pattern of the matrix; p == nullptr is a wildcard (binds already
  /// recorded in the row). `bindBase` is the pre-order number of the first
  /// Bind inside p among its arm's bindings.
  struct Cell {
    const Pattern *p = nullptr;
    unsigned bindBase = 0;
  };
  struct Row {
    unsigned succ; ///< successor index of the arm (or default) in the match
    SmallVector<Cell, 4> cells;
    SmallVector<int, 4> binds; ///< binding slot -> occurrence
  };
  struct Node {
    enum Kind : uint8_t { Leaf, Fail, Test } kind;
    unsigned succ = 0;  ///< Leaf: successor index
    unsigned first = 0; ///< Leaf: into bindPool_; Test: into casePool_
    unsigned num = 0;
    int occ = -1;  ///< Test: the occurrence tested
    int dflt = -1; ///< Test: child for the values no case names (-1: none)
  };
  struct Case {
    int64_t key; ///< variant index, or normalised integer
    int child;
  };

  // ---------------------------------------------------------------------
  // Building the abstract tree.

  int newOcc(int parent, uint32_t variant, uint32_t field, const Type *t) {
    occs_.push_back({parent, variant, field, t});
    return static_cast<int>(occs_.size() - 1);
  }

  static void addCell(Row &r, const Pattern *p, unsigned bindBase, int occ) {
    if (p->kind == Pattern::Bind)
      r.binds[bindBase] = occ;
    r.cells.push_back(isWild(p) ? Cell{} : Cell{p, bindBase});
  }

  int64_t keyOf(const Pattern *p, const Type *t) const {
    return p->kind == Pattern::Variant ? p->variant
                                       : normInt(p->intValue, t->bits());
  }

  int compile(std::vector<Row> rows, const SmallVector<int, 8> &cols) {
    if (overBudget_)
      return -1;
    if (rows.empty()) {
      nodes_.push_back({Node::Fail});
      return static_cast<int>(nodes_.size() - 1);
    }
    const Row &top = rows.front();
    unsigned j = 0;
    while (j < cols.size() && !top.cells[j].p)
      ++j;
    if (j == cols.size()) {
      Node n{Node::Leaf};
      n.succ = top.succ;
      n.first = bindPool_.size();
      n.num = top.binds.size();
      bindPool_.append(top.binds.begin(), top.binds.end());
      nodes_.push_back(n);
      return static_cast<int>(nodes_.size() - 1);
    }
    if (++tests_ > budget_) {
      overBudget_ = true;
      return -1;
    }
    int o = cols[j];
    const Type *t = occs_[o].type;
    SmallVector<int64_t, 8> keys;
    for (const Row &r : rows)
      if (r.cells[j].p)
        keys.push_back(keyOf(r.cells[j].p, t));
    llvm::sort(keys);
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    bool complete = t->isEnum() ? keys.size() == t->variants().size()
                                : t->isInt(1) && keys.size() == 2;

    SmallVector<Case, 8> cases;
    for (int64_t key : keys) {
      ArrayRef<const Type *> fieldTys;
      if (t->isEnum())
        fieldTys = t->variants()[key].fields;
      SmallVector<int, 8> newCols(cols.begin(), cols.begin() + j);
      for (unsigned k = 0; k < fieldTys.size(); ++k)
        newCols.push_back(newOcc(o, static_cast<uint32_t>(key), k, fieldTys[k]));
      newCols.append(cols.begin() + j + 1, cols.end());
      std::vector<Row> sub;
      for (const Row &r : rows) {
        const Cell &c = r.cells[j];
        if (c.p && keyOf(c.p, t) != key)
          continue;
        Row nr{r.succ, {}, r.binds};
        nr.cells.append(r.cells.begin(), r.cells.begin() + j);
        unsigned base = c.bindBase;
        for (unsigned k = 0; k < fieldTys.size(); ++k) {
          if (!c.p) {
            nr.cells.push_back(Cell{});
            continue;
          }
          const Pattern *fp = c.p->fields[k];
          addCell(nr, fp, base, newCols[j + k]);
          base += fp->numBindings();
        }
        nr.cells.append(r.cells.begin() + j + 1, r.cells.end());
        sub.push_back(std::move(nr));
      }
      int child = compile(std::move(sub), newCols);
      if (overBudget_)
        return -1;
      cases.push_back({key, child});
    }
    int dflt = -1;
    if (!complete) {
      SmallVector<int, 8> newCols(cols.begin(), cols.end());
      newCols.erase(newCols.begin() + j);
      std::vector<Row> sub;
      for (Row &r : rows) {
        if (r.cells[j].p)
          continue;
        r.cells.erase(r.cells.begin() + j);
        sub.push_back(std::move(r));
      }
      dflt = compile(std::move(sub), newCols);
      if (overBudget_)
        return -1;
    }
    Node n{Node::Test};
    n.occ = o;
    n.dflt = dflt;
    n.first = casePool_.size();
    n.num = cases.size();
    casePool_.append(cases.begin(), cases.end());
    nodes_.push_back(n);
    return static_cast<int>(nodes_.size() - 1);
  }

  // ---------------------------------------------------------------------
  // Emitting blocks.

  StringRef occName(int o) const { return occNames_[o]; }

  /// The value of occurrence `o` on the current path, extracting it (and its
  /// parents) at the insertion point the first time.
  Value *materialize(int o) {
    if (occVal_[o])
      return occVal_[o];
    const Occ &oc = occs_[o];
    Value *parent = materialize(oc.parent);
    Instruction *v = b_.enumPayload(parent, oc.variant, oc.field);
    const Type *pt = occs_[oc.parent].type;
    StringRef pn = occName(oc.parent);
    std::string name = pn.empty() ? std::string() : pn.str() + ".";
    name += pt->variants()[oc.variant].name.str() + "." +
            std::to_string(oc.field);
    occNames_[o] = f_.save(name);
    v->setName(occNames_[o]);
    occVal_[o] = v;
    undo_.push_back(o);
    return v;
  }

  Block *newBlock(StringRef label) {
    return f_.createBlock(f_.save(label), nextBlock_);
  }

  Block *nomatch() {
    if (!nomatch_) {
      nomatch_ = newBlock((Twine(baseName_) + ".nomatch").str());
      Builder ub(m_);
      ub.setLoc(loc_);
      ub.setInsertPoint(nomatch_);
      ub.unreachable();
    }
    return nomatch_;
  }

  std::string caseLabel(const Type *t, int64_t key) const {
    if (t->isEnum())
      return t->variants()[key].name.str();
    return key < 0 ? "n" + std::to_string(-static_cast<uint64_t>(key))
                   : "v" + std::to_string(key);
  }

  struct Edge {
    Block *block = nullptr;
    SmallVector<Value *, 4> args;
    int emit = -1; ///< node to emit into `block` (a new block)
  };

  /// The edge towards tree node `child`: straight to an arm's target when
  /// every value it binds is already available, else to a new block.
  Edge edgeTo(int child, StringRef fromName, StringRef label) {
    const Node &n = nodes_[child];
    Edge e;
    if (n.kind == Node::Fail) {
      e.block = nomatch();
      return e;
    }
    if (n.kind == Node::Leaf) {
      const Successor &s = match_->successors()[n.succ];
      if (s.isDefault) {
        e.block = s.block;
        e.args = defaultArgs_;
        return e;
      }
      bool ready = true;
      for (unsigned k = 0; k < n.num && ready; ++k)
        ready = occVal_[bindPool_[n.first + k]] != nullptr;
      if (ready) {
        e.block = s.block;
        for (unsigned k = 0; k < n.num; ++k)
          e.args.push_back(occVal_[bindPool_[n.first + k]]);
        return e;
      }
    }
    e.block = newBlock((Twine(fromName) + "." + label).str());
    e.emit = child;
    return e;
  }

  /// Emits node `id` at the end of `bb`, or before `before` when given.
  void emitNode(int id, Block *bb, Instruction *before) {
    size_t mark = undo_.size();
    auto at = [&] {
      if (before)
        b_.setInsertPoint(before);
      else
        b_.setInsertPoint(bb);
    };
    at();
    const Node n = nodes_[id];
    switch (n.kind) {
    case Node::Fail:
      b_.unreachable();
      break;
    case Node::Leaf: {
      const Successor &s = match_->successors()[n.succ];
      if (s.isDefault) {
        b_.br(s.block, defaultArgs_);
        break;
      }
      SmallVector<Value *, 4> args;
      for (unsigned k = 0; k < n.num; ++k)
        args.push_back(materialize(bindPool_[n.first + k]));
      b_.br(s.block, args);
      break;
    }
    case Node::Test: {
      const Type *t = occs_[n.occ].type;
      ArrayRef<Case> cases(casePool_.data() + n.first, n.num);
      if (t->isEnum() && t->variants().size() == 1) {
        // Only one variant: nothing to test.
        emitNode(cases.front().child, bb, before);
        break;
      }
      Value *v = materialize(n.occ);
      StringRef from = bb->name();
      SmallVector<Edge, 8> edges;
      if (t->isInt(1)) {
        int onTrue = n.dflt, onFalse = n.dflt;
        for (const Case &c : cases)
          (c.key ? onTrue : onFalse) = c.child;
        edges.push_back(edgeTo(onTrue, from, "true"));
        edges.push_back(edgeTo(onFalse, from, "false"));
        b_.condBr(v, edges[0].block, edges[0].args, edges[1].block,
                  edges[1].args);
      } else {
        Value *sv = v;
        if (t->isEnum()) {
          StringRef on = occName(n.occ);
          Instruction *tag = b_.enumTag(v);
          tag->setName(f_.save(on.empty() ? std::string("tag")
                                          : (Twine(on) + ".tag").str()));
          sv = tag;
        }
        // A complete signature sends its last constructor to the default.
        ArrayRef<Case> listed = cases;
        if (n.dflt < 0)
          listed = cases.drop_back();
        edges.push_back(n.dflt >= 0
                            ? edgeTo(n.dflt, from, "other")
                            : edgeTo(cases.back().child, from,
                                     caseLabel(t, cases.back().key)));
        SmallVector<Builder::SwitchCase, 8> sc;
        for (const Case &c : listed) {
          edges.push_back(edgeTo(c.child, from, caseLabel(t, c.key)));
          Builder::SwitchCase one;
          one.value = c.key;
          one.dest = edges.back().block;
          one.args.assign(edges.back().args.begin(), edges.back().args.end());
          sc.push_back(std::move(one));
        }
        b_.switchOn(sv, edges[0].block, edges[0].args, sc);
      }
      for (Edge &e : edges)
        if (e.emit >= 0)
          emitNode(e.emit, e.block, nullptr);
      break;
    }
    }
    while (undo_.size() > mark) {
      occVal_[undo_.back()] = nullptr;
      undo_.pop_back();
    }
  }

  // ---------------------------------------------------------------------
  // The backtracking fallback.

  /// Tests `p` against `v` at the insertion point; on failure jumps to
  /// `fail`. Leaves the insertion point where the success path continues.
  void emitPatternTest(const Pattern *p, Value *v, const Type *t,
                       const Edge &fail, SmallVectorImpl<Value *> &binds,
                       Value *knownTag) {
    switch (p->kind) {
    case Pattern::Wildcard:
      return;
    case Pattern::Bind:
      binds.push_back(v);
      return;
    case Pattern::Int: {
      Instruction *c =
          b_.icmp(ICmpPred::EQ, v, m_.constInt(t, normInt(p->intValue, t->bits())));
      Block *ok = newBlock((Twine(baseName_) + ".try").str());
      b_.condBr(c, ok, {}, fail.block, fail.args);
      b_.setInsertPoint(ok);
      return;
    }
    case Pattern::Variant: {
      if (t->variants().size() > 1) {
        Value *tag = knownTag ? knownTag : b_.enumTag(v);
        Instruction *c = b_.icmp(ICmpPred::EQ, tag, b_.i32(p->variant));
        Block *ok = newBlock((Twine(baseName_) + ".try").str());
        b_.condBr(c, ok, {}, fail.block, fail.args);
        b_.setInsertPoint(ok);
      }
      auto fts = t->variants()[p->variant].fields;
      for (unsigned k = 0; k < fts.size(); ++k) {
        const Pattern *fp = p->fields[k];
        if (fp->kind == Pattern::Wildcard)
          continue;
        Value *fv = b_.enumPayload(v, p->variant, k);
        emitPatternTest(fp, fv, fts[k], fail, binds, nullptr);
      }
      return;
    }
    }
  }

  void emitSequential(Value *scrut) {
    b_.setInsertPoint(match_);
    const Type *t = scrut->type();
    Value *rootTag = nullptr;
    if (t->isEnum() && t->variants().size() > 1)
      rootTag = b_.enumTag(scrut);
    auto succs = match_->successors();
    SmallVector<unsigned, 8> arms;
    int dflt = -1;
    for (unsigned k = 0; k < succs.size(); ++k) {
      if (succs[k].isDefault)
        dflt = static_cast<int>(k);
      else
        arms.push_back(k);
    }
    Edge last;
    if (dflt >= 0) {
      last.block = succs[dflt].block;
      last.args = defaultArgs_;
    } else {
      last.block = nomatch();
    }
    for (unsigned a = 0; a < arms.size(); ++a) {
      Edge fail = last;
      if (a + 1 < arms.size()) {
        fail.block = newBlock((Twine(baseName_) + ".arm" + Twine(a + 1)).str());
        fail.args.clear();
      }
      SmallVector<Value *, 4> binds;
      const Successor &s = succs[arms[a]];
      emitPatternTest(s.pattern, scrut, t, fail, binds, rootTag);
      b_.br(s.block, binds);
      if (a + 1 < arms.size())
        b_.setInsertPoint(fail.block);
    }
    if (arms.empty())
      b_.br(last.block, last.args);
  }

  // ---------------------------------------------------------------------

  void lower(Instruction *mt) {
    match_ = mt;
    Block *bb = mt->parent();
    auto next = std::next(bb->getIterator());
    nextBlock_ = next == f_.blocks().end() ? nullptr : &*next;
    nomatch_ = nullptr;
    loc_ = mt->loc();
    b_.setLoc(loc_);
    baseName_ = bb->name().empty() ? StringRef("match") : bb->name();
    Value *scrut = mt->operand(0);
    auto succs = mt->successors();
    defaultArgs_.clear();
    unsigned size = 0;
    std::vector<Row> rows;
    occs_.clear();
    nodes_.clear();
    casePool_.clear();
    bindPool_.clear();
    undo_.clear();
    int root = newOcc(-1, 0, 0, scrut->type());
    for (unsigned k = 0; k < succs.size(); ++k) {
      const Successor &s = succs[k];
      Row r{k, {}, {}};
      if (s.isDefault) {
        defaultArgs_ = mt->successorArgs(k);
        r.cells.push_back(Cell{});
      } else {
        size += patternSize(s.pattern);
        r.binds.assign(s.pattern->numBindings(), -1);
        addCell(r, s.pattern, 0, root);
      }
      rows.push_back(std::move(r));
    }
    budget_ = maxNodes_ >= 0 ? static_cast<uint64_t>(maxNodes_)
                             : 64 + 8 * static_cast<uint64_t>(size);
    tests_ = 0;
    overBudget_ = false;
    int top = compile(std::move(rows), SmallVector<int, 8>{root});

    if (overBudget_) {
      ++fallbacks_;
      emitSequential(scrut);
    } else {
      occVal_.assign(occs_.size(), nullptr);
      occNames_.assign(occs_.size(), StringRef());
      occVal_[root] = scrut;
      occNames_[root] = scrut->name();
      emitNode(top, bb, mt);
    }
    mt->eraseFromParent();
  }

  Function &f_;
  Module &m_;
  Builder b_;
  int64_t maxNodes_;
  unsigned fallbacks_ = 0;

  // Per match.
  Instruction *match_ = nullptr;
  Block *nextBlock_ = nullptr;
  Block *nomatch_ = nullptr;
  LocId loc_ = 0;
  StringRef baseName_;
  SmallVector<Value *, 4> defaultArgs_;
  uint64_t budget_ = 0, tests_ = 0;
  bool overBudget_ = false;
  std::vector<Occ> occs_;
  std::vector<Node> nodes_;
  SmallVector<Case, 16> casePool_;
  SmallVector<int, 16> bindPool_;
  std::vector<Value *> occVal_;
  std::vector<StringRef> occNames_;
  std::vector<int> undo_;
};

class MatchLowerPass : public FunctionPass {
public:
  MatchLowerPass() = default;
  explicit MatchLowerPass(PassOptions &opts)
      : maxNodes_(opts.takeInt("max-nodes", -1)) {}
  StringRef name() const override { return "match-lower"; }
  void printOptions(raw_ostream &os) const override {
    if (maxNodes_ >= 0)
      os << "max-nodes=" << maxNodes_;
  }
  PreservedAnalyses run(Function &f, AnalysisManager &) override {
    if (f.isDeclaration())
      return PreservedAnalyses::all();
    MatchLowering ml(f, maxNodes_);
    if (ml.run() == 0)
      return PreservedAnalyses::all();
    return PreservedAnalyses::none();
  }

private:
  int64_t maxNodes_ = -1;
};

} // namespace

void registerMatchLowerPass(PassRegistry &registry) {
  registry.add<MatchLowerPass>(
      "match-lower",
      "lowers `match` terminators to decision trees of enum.tag, switch and "
      "enum.payload (option max-nodes=N caps the tree size)");
}

} // namespace qmir
