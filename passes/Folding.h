// Constant folding shared by the `constfold` and `sccp` passes: one exactly
// specified function that evaluates an integer instruction on constant
// operands, bit for bit as the interpreter (mir/Interpreter.cpp, the reference
// semantics) does, or says "not foldable". Integers are handled in the
// interpreter's canonical form: sign-extended from their width to 64 bits,
// except i1, which is 0 or 1 (the same form ConstInt::value() uses).
//
// Rules (docs/mir.md): add/sub/mul wrap at the width; sdiv/srem truncate, with
// MIN sdiv -1 = MIN and MIN srem -1 = 0; a zero divisor (signed or unsigned) is
// NOT foldable, because the instruction panics and the panic must stay; the
// shift amount is taken (unsigned) modulo the width; icmp compares signed or
// unsigned at the operand width; zext/sext/trunc change the width; select picks
// by the low bit of its condition. Anything else (pointers, aggregates, memory)
// is not foldable here.
//
// It also decides `match` patterns on partially known values (decideMatch), so
// that both passes fold a match exactly as the interpreter would take it.
#pragma once

#include "mir/IR.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>

namespace qmir {

/// `v` in canonical form at integer type `t` (truncated to the width, then
/// sign-extended; i1: 0 or 1).
int64_t canonicalInt(const Type *t, int64_t v);

/// The low `t->bits()` bits of v, zero-extended.
uint64_t zeroExtended(const Type *t, int64_t v);

/// Evaluates `op` on constant integer operands, as the interpreter does.
///  - binary ops (add .. ashr): ops = {a, b}, operandTy = resultTy = the type.
///  - icmp: ops = {a, b}, `pred`, operandTy = the compared type, resultTy = i1.
///  - select: ops = {c, a, b}, operandTy = resultTy = the type of a and b.
///  - zext/sext/trunc: ops = {a}, operandTy = a's type, resultTy = the target.
/// Operands may be in any form (they are canonicalised first). Returns the
/// canonical result, or nullopt when the instruction must not be folded: a
/// zero divisor (it panics), a non-integer type, a wrong operand count, or an
/// opcode that is not pure integer computation.
std::optional<int64_t> foldIntOp(Opcode op, ICmpPred pred,
                                 const Type *operandTy, const Type *resultTy,
                                 llvm::ArrayRef<int64_t> ops);

/// foldIntOp for an existing instruction whose operands are all ConstInt:
/// the folded constant, or nullptr (some operand is not a ConstInt, e.g.
/// undef, or the fold is not allowed).
ConstInt *foldInstruction(const Instruction &inst);

/// Evaluates icmp `p` on canonical operands of type `t`.
bool evalICmp(ICmpPred p, const Type *t, int64_t a, int64_t b);

//===----------------------------------------------------------------------===//
// Deciding `match`
//===----------------------------------------------------------------------===//

enum class PatternDecision { No, Yes, Unknown };

/// Decides whether pattern `p` matches a value of type `t` described by `v`,
/// knowing only part of it. `A` describes the abstraction:
///   std::optional<int64_t> A::intOf(const V &)       // a known integer
///   std::optional<unsigned> A::variantOf(const V &)  // a known enum variant
///   V A::payload(const V &, unsigned field)          // field of that variant
/// On Yes, `binds` receives the values bound by the pattern's Bind nodes in
/// pre-order (the arm target's arguments).
template <typename V, typename A>
PatternDecision decidePattern(const Pattern *p, const Type *t, const V &v,
                              A &acc, llvm::SmallVectorImpl<V> &binds) {
  switch (p->kind) {
  case Pattern::Wildcard:
    return PatternDecision::Yes;
  case Pattern::Bind:
    binds.push_back(v);
    return PatternDecision::Yes;
  case Pattern::Int: {
    if (!t->isInt())
      return PatternDecision::Unknown;
    std::optional<int64_t> k = acc.intOf(v);
    if (!k)
      return PatternDecision::Unknown;
    return canonicalInt(t, *k) == canonicalInt(t, p->intValue)
               ? PatternDecision::Yes
               : PatternDecision::No;
  }
  case Pattern::Variant: {
    if (!t->isEnum() || p->variant >= t->variants().size())
      return PatternDecision::Unknown;
    std::optional<unsigned> var = acc.variantOf(v);
    if (!var)
      return PatternDecision::Unknown;
    if (*var != p->variant)
      return PatternDecision::No;
    auto fts = t->variants()[p->variant].fields;
    if (p->fields.size() != fts.size())
      return PatternDecision::Unknown;
    // The interpreter checks fields left to right and stops at the first
    // mismatch; a field we cannot decide before a certain mismatch still
    // leaves the whole pattern undecided, which is conservative.
    for (unsigned k = 0; k < fts.size(); ++k) {
      PatternDecision d =
          decidePattern(p->fields[k], fts[k], acc.payload(v, k), acc, binds);
      if (d != PatternDecision::Yes)
        return d;
    }
    return PatternDecision::Yes;
  }
  }
  return PatternDecision::Unknown;
}

/// Decides which edge the `match` terminator `m` takes when its scrutinee is
/// described by `v`: the successor index of the first arm that matches (with
/// its bindings in `binds`) or of the default edge when every arm certainly
/// fails. Returns -1 when it cannot be decided (some arm before the taken one
/// is undecided) or when no arm matches and there is no default (the
/// interpreter traps there; that is left alone).
template <typename V, typename A>
int decideMatch(const Instruction &m, const V &v, A &acc,
                llvm::SmallVectorImpl<V> &binds) {
  const Type *t = m.operand(0)->type();
  int def = -1;
  for (unsigned s = 0; s < m.numSuccessors(); ++s) {
    const Successor &succ = m.successors()[s];
    if (succ.isDefault) {
      def = static_cast<int>(s);
      continue;
    }
    binds.clear();
    PatternDecision d = decidePattern(succ.pattern, t, v, acc, binds);
    if (d == PatternDecision::Unknown)
      return -1;
    if (d == PatternDecision::Yes)
      return static_cast<int>(s);
  }
  binds.clear();
  return def;
}

/// The successor index `switch` instruction `sw` takes on the canonical value
/// `v`: the first case (in written order) equal to it, else the default.
unsigned decideSwitch(const Instruction &sw, int64_t v);

//===----------------------------------------------------------------------===//
// The passes built on this (ConstFold.cpp, SCCP.cpp)
//===----------------------------------------------------------------------===//

struct ConstFoldStats {
  unsigned replaced = 0;       ///< instructions replaced by another value
  unsigned folded = 0;         ///< ... of which by a constant
  unsigned loadsForwarded = 0; ///< loads replaced within a block
  unsigned branchesFolded = 0; ///< condbr/switch/match turned into br
  unsigned matchesFolded = 0;  ///< ... of which matches
  bool changed() const { return replaced || branchesFolded; }
};

/// The `constfold` pass on one function.
ConstFoldStats constantFold(Function &f);

struct SCCPStats {
  unsigned valuesReplaced = 0; ///< instructions / block args made constant
  unsigned branchesFolded = 0; ///< condbr/switch/match turned into br
  unsigned unreachableBlocks = 0; ///< blocks found never executed
  bool changed() const { return valuesReplaced || branchesFolded; }
};

/// The `sccp` pass on one function.
SCCPStats runSCCP(Function &f);

} // namespace qmir
