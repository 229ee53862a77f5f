// Constant folding of integer instructions, bit for bit as the interpreter
// evaluates them (see Folding.h for the exact rules). Every operation works on
// the canonical form: sign-extended from the width, i1 as 0 or 1.
#include "passes/Folding.h"

namespace qmir {

namespace {

bool validIntType(const Type *t) {
  return t && t->isInt() &&
         (t->bits() == 1 || t->bits() == 8 || t->bits() == 32 || t->bits() == 64);
}

int64_t sext(const Type *t, int64_t v) {
  unsigned sh = 64 - t->bits();
  return static_cast<int64_t>(static_cast<uint64_t>(v) << sh) >> sh;
}

} // namespace

uint64_t zeroExtended(const Type *t, int64_t v) {
  unsigned sh = 64 - t->bits();
  return (static_cast<uint64_t>(v) << sh) >> sh;
}

int64_t canonicalInt(const Type *t, int64_t v) {
  if (t->bits() == 1)
    return v & 1;
  return sext(t, v);
}

bool evalICmp(ICmpPred p, const Type *t, int64_t a, int64_t b) {
  int64_t sa = sext(t, a), sb = sext(t, b);
  uint64_t ua = zeroExtended(t, a), ub = zeroExtended(t, b);
  switch (p) {
  case ICmpPred::EQ: return ua == ub;
  case ICmpPred::NE: return ua != ub;
  case ICmpPred::SLT: return sa < sb;
  case ICmpPred::SLE: return sa <= sb;
  case ICmpPred::SGT: return sa > sb;
  case ICmpPred::SGE: return sa >= sb;
  case ICmpPred::ULT: return ua < ub;
  case ICmpPred::ULE: return ua <= ub;
  case ICmpPred::UGT: return ua > ub;
  case ICmpPred::UGE: return ua >= ub;
  }
  return false;
}

std::optional<int64_t> foldIntOp(Opcode op, ICmpPred pred,
                                 const Type *operandTy, const Type *resultTy,
                                 llvm::ArrayRef<int64_t> ops) {
  if (!validIntType(operandTy) || !validIntType(resultTy))
    return std::nullopt;
  const Type *t = operandTy;
  unsigned w = t->bits();
  if (isBinaryOp(op)) {
    if (ops.size() != 2 || operandTy != resultTy)
      return std::nullopt;
    int64_t a = canonicalInt(t, ops[0]), b = canonicalInt(t, ops[1]);
    uint64_t ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
    uint64_t r;
    switch (op) {
    case Opcode::Add: r = ua + ub; break;
    case Opcode::Sub: r = ua - ub; break;
    case Opcode::Mul: r = ua * ub; break;
    case Opcode::And: r = ua & ub; break;
    case Opcode::Or: r = ua | ub; break;
    case Opcode::Xor: r = ua ^ ub; break;
    case Opcode::Shl:
      r = ua << (zeroExtended(t, b) % w);
      break;
    case Opcode::LShr:
      r = zeroExtended(t, a) >> (zeroExtended(t, b) % w);
      break;
    case Opcode::AShr:
      r = static_cast<uint64_t>(sext(t, a) >> (zeroExtended(t, b) % w));
      break;
    case Opcode::SDiv:
    case Opcode::SRem: {
      int64_t sa = sext(t, a), sb = sext(t, b);
      if (sb == 0)
        return std::nullopt; // panics: division by zero
      if (sb == -1) // MIN / -1 wraps to MIN; the remainder is 0
        r = op == Opcode::SDiv ? 0 - static_cast<uint64_t>(sa) : 0;
      else
        r = static_cast<uint64_t>(op == Opcode::SDiv ? sa / sb : sa % sb);
      break;
    }
    case Opcode::UDiv:
    case Opcode::URem: {
      uint64_t za = zeroExtended(t, a), zb = zeroExtended(t, b);
      if (zb == 0)
        return std::nullopt; // panics: division by zero
      r = op == Opcode::UDiv ? za / zb : za % zb;
      break;
    }
    default:
      return std::nullopt;
    }
    return canonicalInt(t, static_cast<int64_t>(r));
  }
  switch (op) {
  case Opcode::ICmp:
    if (ops.size() != 2 || !resultTy->isBool() || static_cast<unsigned>(pred) > 9)
      return std::nullopt;
    return evalICmp(pred, t, ops[0], ops[1]) ? 1 : 0;
  case Opcode::Select:
    if (ops.size() != 3 || operandTy != resultTy)
      return std::nullopt;
    return canonicalInt(t, (ops[0] & 1) ? ops[1] : ops[2]);
  case Opcode::ZExt:
    if (ops.size() != 1)
      return std::nullopt;
    return canonicalInt(resultTy, static_cast<int64_t>(zeroExtended(t, ops[0])));
  case Opcode::SExt:
    if (ops.size() != 1)
      return std::nullopt;
    // The interpreter sign-extends from the operand width even for i1 (true
    // becomes all ones).
    return canonicalInt(resultTy, sext(t, ops[0]));
  case Opcode::Trunc:
    if (ops.size() != 1)
      return std::nullopt;
    return canonicalInt(resultTy, ops[0]);
  default:
    return std::nullopt;
  }
}

ConstInt *foldInstruction(const Instruction &inst) {
  Opcode op = inst.opcode();
  if (!isBinaryOp(op) && !isCast(op) && op != Opcode::ICmp &&
      op != Opcode::Select)
    return nullptr;
  llvm::SmallVector<int64_t, 3> vals;
  for (unsigned k = 0; k < inst.numOperands(); ++k) {
    auto *c = dyn_cast<ConstInt>(inst.operand(k));
    if (!c)
      return nullptr;
    vals.push_back(c->value());
  }
  if (vals.empty())
    return nullptr;
  const Type *operandTy =
      op == Opcode::Select ? (vals.size() == 3 ? inst.operand(1)->type() : nullptr)
                           : inst.operand(0)->type();
  std::optional<int64_t> r =
      foldIntOp(op, inst.predicate(), operandTy, inst.type(), vals);
  if (!r)
    return nullptr;
  return inst.function()->parent()->constInt(inst.type(), *r);
}

unsigned decideSwitch(const Instruction &sw, int64_t v) {
  const Type *t = sw.operand(0)->type();
  int64_t cv = canonicalInt(t, v);
  for (unsigned s = 0; s < sw.numSuccessors(); ++s) {
    const Successor &succ = sw.successors()[s];
    if (!succ.isDefault && canonicalInt(t, succ.caseValue) == cv)
      return s;
  }
  for (unsigned s = 0; s < sw.numSuccessors(); ++s)
    if (sw.successors()[s].isDefault)
      return s;
  return 0;
}

} // namespace qmir
