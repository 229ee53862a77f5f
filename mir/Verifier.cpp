// The MIR verifier (rules in docs/mir.md). One FunctionVerifier walks each
// function once, block by block, checking every instruction's shape, operand
// ownership, types and SSA dominance; the dominator tree answers cross-block
// dominance in O(1) and a per-value "seen in this block visit" stamp answers
// the same-block case, so the whole check is linear in the function size.
// Scratch tables are stamped rather than cleared and are reused across the
// functions of a module, so verifying allocates per function, not per
// instruction. Checks are ordered so that a malformed instruction never leads
// a later check to read a field it does not have (e.g. the auxType/callee/
// successor union of Instruction): each stage runs only if the previous one
// passed.
#include "mir/Verifier.h"

#include "mir/Dominators.h"
#include "mir/Printer.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <memory>

using namespace qmir;

/// A block's label without the printer's disambiguation, for blocks that are
/// not (or no longer) in the function being verified.
static std::string rawLabel(const Block &b) {
  if (!b.name().empty())
    return b.name().str();
  return "bb" + std::to_string(b.id());
}

static void printFunctionName(llvm::raw_ostream &os, const Function &f) {
  os << '@';
  if (isIdentifier(f.name()))
    os << f.name();
  else
    printQuoted(os, f.name());
}

/// Integer literals (switch cases, patterns) may be written signed or
/// unsigned: -1 and 255 both fit in i8.
static bool fitsInWidth(int64_t v, unsigned bits) {
  if (bits >= 64)
    return true;
  int64_t lo = -(int64_t(1) << (bits - 1));
  int64_t hi = int64_t(1) << bits; // exclusive
  return v >= lo && v < hi;
}

/// The bit pattern of `v` at width `bits`, so that -1 and 255 compare equal
/// as i8 case values.
static uint64_t truncToWidth(int64_t v, unsigned bits) {
  if (bits >= 64)
    return static_cast<uint64_t>(v);
  return static_cast<uint64_t>(v) & ((uint64_t(1) << bits) - 1);
}

namespace {

/// Builds one error message with stream syntax and files it when the
/// statement ends.
class Diag {
public:
  Diag(std::vector<VerifierError> *errors, const Function *f, const Block *b,
       const Instruction *i)
      : errors_(errors), f_(f), b_(b), i_(i), os_(msg_) {}
  Diag(const Diag &) = delete;
  ~Diag() {
    if (errors_)
      errors_->push_back(VerifierError{f_, b_, i_, std::move(msg_)});
  }
  Diag &operator<<(const Type *t) {
    if (t)
      t->print(os_);
    else
      os_ << "<null type>";
    return *this;
  }
  template <typename T> Diag &operator<<(const T &x) {
    os_ << x;
    return *this;
  }

private:
  std::vector<VerifierError> *errors_;
  const Function *f_;
  const Block *b_;
  const Instruction *i_;
  std::string msg_;
  llvm::raw_string_ostream os_;
};

/// A value or block as the printer names it, so that messages match the
/// printed function. `names` is null for blocks outside the function.
struct ValueDesc {
  const SlotNames *names;
  const Value *v;
};
llvm::raw_ostream &operator<<(llvm::raw_ostream &os, ValueDesc d) {
  d.names->printValue(os, d.v);
  return os;
}

struct BlockName {
  const SlotNames *names;
  const Block *b;
};
llvm::raw_ostream &operator<<(llvm::raw_ostream &os, BlockName n) {
  os << '\'';
  if (n.names)
    n.names->printBlock(os, n.b);
  else
    os << rawLabel(*n.b);
  return os << '\'';
}

struct FnName {
  const Function *f;
};
llvm::raw_ostream &operator<<(llvm::raw_ostream &os, FnName n) {
  printFunctionName(os, *n.f);
  return os;
}

class FunctionVerifier {
public:
  explicit FunctionVerifier(std::vector<VerifierError> *errors)
      : errors_(errors) {}

  bool run(const Function &f);

private:
  Diag report(const Block *b, const Instruction *i) {
    ok_ = false;
    return Diag(errors_, f_, b, i);
  }
  Diag report(const Instruction &i) { return report(i.parent(), &i); }

  // Names as the printer spells them; computed on the first error only.
  const SlotNames &names() {
    if (!names_)
      names_ = std::make_unique<SlotNames>(*f_);
    return *names_;
  }
  ValueDesc val(const Value *v) { return {&names(), v}; }
  BlockName blk(const Block *b) {
    return {isLiveBlock(b) ? &names() : nullptr, b};
  }

  bool isLiveBlock(const Block *b) const {
    return b && b->parent() == f_ && b->id() < blockStamp_.size() &&
           blockStamp_[b->id()] == fnStamp_;
  }
  bool bindingExists(BindingId b) const { return b <= m_->numBindings(); }

  void checkParams();
  void checkBlockParams(const Block &b);
  void checkInstruction(const Instruction &i, const Block &b, bool reachable);
  bool checkOperand(const Instruction &i, unsigned k, const Block &b,
                    bool reachable);
  bool checkEdgeShape(const Instruction &i);
  void checkEdgeArgs(const Instruction &i, unsigned k);
  void checkTypes(const Instruction &i);
  bool expectOperands(const Instruction &i, unsigned n);
  bool expectAggregate(const Instruction &i, bool wantStruct);
  void checkSwitch(const Instruction &i);
  void checkMatch(const Instruction &i);
  bool checkPattern(const Instruction &i, unsigned arm, const Pattern *p,
                    const Type *t);

  std::vector<VerifierError> *errors_;
  const Function *f_ = nullptr;
  const Module *m_ = nullptr;
  const DominatorTree *dt_ = nullptr;
  bool ok_ = true;

  // Stamped scratch: blockStamp_[block id] == fnStamp_ iff the block is linked
  // into the current function; seen_[value id] == visit_ iff the instruction
  // was passed during the current block visit (so it precedes the one being
  // checked). Stamps only grow, so nothing is ever cleared.
  std::vector<uint32_t> blockStamp_;
  uint32_t fnStamp_ = 0;
  std::vector<uint32_t> seen_;
  uint32_t visit_ = 0;
  llvm::SmallVector<uint64_t, 16> cases_;
  llvm::SmallVector<const Type *, 8> bound_;
  std::unique_ptr<SlotNames> names_;
};

} // namespace

bool FunctionVerifier::run(const Function &f) {
  f_ = &f;
  m_ = f.parent();
  ok_ = true;
  names_.reset();
  checkParams();
  // A function without blocks is a declaration: there is no body to check.
  if (f.isDeclaration())
    return ok_;

  ++fnStamp_;
  if (blockStamp_.size() < f.numBlockIds())
    blockStamp_.resize(f.numBlockIds(), 0);
  if (seen_.size() < f.numValueIds())
    seen_.resize(f.numValueIds(), 0);
  for (const Block &b : f.blocks())
    if (b.id() < blockStamp_.size())
      blockStamp_[b.id()] = fnStamp_;

  DominatorTree dt(f);
  dt_ = &dt;

  const Block *entry = f.entry();
  if (entry->numArgs() != 0)
    report(entry, nullptr) << "the entry block must not have parameters (it has "
                           << entry->numArgs() << ")";

  for (const Block &b : f.blocks()) {
    ++visit_;
    checkBlockParams(b);
    if (b.empty()) {
      report(&b, nullptr) << "block has no terminator";
      continue;
    }
    bool reachable = dt.isReachable(&b);
    const Instruction *last = &b.insts().back();
    for (const Instruction &i : b.insts()) {
      if (i.parent() != &b) {
        report(&b, &i) << "instruction's parent is not the block that holds it";
        continue;
      }
      if (i.isTerminator() && &i != last)
        report(i) << "terminator '" << i.opcodeName()
                  << "' must be the last instruction of its block";
      else if (!i.isTerminator() && &i == last)
        report(i) << "block does not end in a terminator";
      checkInstruction(i, b, reachable);
      if (i.id() < seen_.size())
        seen_[i.id()] = visit_;
    }
  }
  dt_ = nullptr;
  return ok_;
}

void FunctionVerifier::checkParams() {
  for (const Argument *a : f_->args()) {
    if (!a->type() || a->type()->isVoid())
      report(nullptr, nullptr) << "parameter " << a->index()
                               << " has type " << a->type();
    if (!bindingExists(a->binding()))
      report(nullptr, nullptr)
          << "parameter " << a->index() << " refers to binding #"
          << a->binding() << ", but the module has " << m_->numBindings()
          << " bindings";
  }
}

void FunctionVerifier::checkBlockParams(const Block &b) {
  for (unsigned k = 0; k < b.numArgs(); ++k) {
    const BlockArg *a = b.arg(k);
    if (a->parent() != &b || a->index() != k) {
      report(&b, nullptr) << "block parameter " << k
                          << " does not record its block and position";
      continue;
    }
    if (!a->type() || a->type()->isVoid())
      report(&b, nullptr) << "block parameter " << k << " has type "
                          << a->type();
    if (!bindingExists(a->binding()))
      report(&b, nullptr) << "block parameter " << k << " refers to binding #"
                          << a->binding() << ", but the module has "
                          << m_->numBindings() << " bindings";
  }
}

bool FunctionVerifier::checkOperand(const Instruction &i, unsigned k,
                                    const Block &b, bool reachable) {
  const Value *v = i.operand(k);
  if (!v) {
    report(i) << "operand " << k << " is null";
    return false;
  }
  switch (v->valueKind()) {
  case ValueKind::ConstInt:
  case ValueKind::ConstString:
  case ValueKind::Undef:
    break;
  case ValueKind::Argument: {
    const Function *owner = cast<Argument>(v)->parent();
    if (owner != f_) {
      report(i) << "operand " << k << " is an argument of function "
                << FnName{owner};
      return false;
    }
    break;
  }
  case ValueKind::BlockArg: {
    const BlockArg *a = cast<BlockArg>(v);
    const Block *def = a->parent();
    if (!isLiveBlock(def)) {
      if (def && def->parent() != f_)
        report(i) << "operand " << k
                  << " is a block parameter of function "
                  << FnName{def->parent()};
      else
        report(i) << "operand " << k
                  << " is a parameter of a block that is not in this function";
      return false;
    }
    if (a->index() >= def->numArgs() || def->arg(a->index()) != a) {
      report(i) << "operand " << k << " is a removed parameter of block "
                << blk(def);
      return false;
    }
    if (reachable && !dt_->dominates(def, &b)) {
      report(i) << "operand " << k << " (" << val(v)
                << ") is not dominated by its definition: block "
                << blk(def) << " does not dominate this block";
      return false;
    }
    break;
  }
  case ValueKind::Instruction: {
    const Instruction *d = cast<Instruction>(v);
    const Block *db = d->parent();
    if (!db) {
      report(i) << "operand " << k
                << " is an instruction that is not in any block";
      return false;
    }
    if (!isLiveBlock(db)) {
      if (db->parent() != f_)
        report(i) << "operand " << k << " is defined in function "
                  << FnName{db->parent()};
      else
        report(i) << "operand " << k
                  << " is defined in a block that is not in this function";
      return false;
    }
    if (d == &i) {
      report(i) << "instruction uses its own result (operand " << k << ")";
      return false;
    }
    if (!reachable)
      break;
    if (db == &b) {
      if (d->id() >= seen_.size() || seen_[d->id()] != visit_) {
        report(i) << "operand " << k << " (" << val(v)
                  << ") is used before its definition";
        return false;
      }
    } else if (!dt_->properlyDominates(db, &b)) {
      report(i) << "operand " << k << " (" << val(v)
                << ") is not dominated by its definition: block "
                << blk(db) << " does not dominate this block";
      return false;
    }
    break;
  }
  }
  if (!v->type() || v->type()->isVoid()) {
    // The printer has no name for a void instruction; name its opcode.
    if (const Instruction *d = dyn_cast<Instruction>(v))
      report(i) << "operand " << k << " is a '" << d->opcodeName()
                << "' instruction, which has no value";
    else
      report(i) << "operand " << k << " has type " << v->type();
    return false;
  }
  return true;
}

/// Terminator edge layout: successor count and main operand count per
/// opcode, contiguous argument ranges, targets in this function.
bool FunctionVerifier::checkEdgeShape(const Instruction &i) {
  unsigned ns = i.numSuccessors();
  bool countOk = true;
  unsigned wantMin = 0, wantMax = 0, mainMin = 0, mainMax = 0;
  switch (i.opcode()) {
  case Opcode::Br:
    wantMin = wantMax = 1;
    break;
  case Opcode::CondBr:
    wantMin = wantMax = 2;
    mainMin = mainMax = 1;
    break;
  case Opcode::Switch:
  case Opcode::Match:
    wantMin = 1;
    wantMax = ~0u;
    mainMin = mainMax = 1;
    break;
  case Opcode::Ret:
    mainMax = 1;
    break;
  default: // unreachable, panic
    break;
  }
  if (ns < wantMin || ns > wantMax) {
    auto d = report(i);
    d << "'" << i.opcodeName() << "' must have ";
    if (wantMin == wantMax)
      d << "exactly " << wantMin;
    else
      d << "at least " << wantMin;
    d << (wantMin == 1 ? " successor" : " successors") << ", has " << ns;
    countOk = false;
  }
  unsigned main = i.numMainOperands();
  if (main > i.numOperands()) {
    report(i) << "edge 0's arguments start past the end of the operands";
    return false;
  }
  if (main < mainMin || main > mainMax) {
    auto d = report(i);
    d << "'" << i.opcodeName() << "' takes ";
    if (mainMin == mainMax)
      d << mainMin;
    else
      d << mainMin << " or " << mainMax;
    d << (mainMax == 1 ? " operand" : " operands");
    if (ns)
      d << " before its edges";
    d << ", has " << main;
    countOk = false;
  }
  if (!countOk)
    return false;
  bool ok = true;
  unsigned next = main;
  for (unsigned k = 0; k < ns; ++k) {
    const Successor &s = i.successors()[k];
    if (s.firstArg != next || s.firstArg + s.numArgs > i.numOperands()) {
      report(i) << "edge " << k << "'s argument range is corrupt";
      return false;
    }
    next += s.numArgs;
    if (!s.block) {
      report(i) << "edge " << k << " has no target block";
      ok = false;
    } else if (!isLiveBlock(s.block)) {
      if (s.block->parent() != f_)
        report(i) << "edge " << k << " targets block " << blk(s.block)
                  << " of function " << FnName{s.block->parent()};
      else
        report(i) << "edge " << k << " targets block " << blk(s.block)
                  << ", which is not in this function";
      ok = false;
    }
  }
  if (next != i.numOperands()) {
    report(i) << "operands after the last edge's arguments";
    return false;
  }
  return ok;
}

void FunctionVerifier::checkInstruction(const Instruction &i, const Block &b,
                                        bool reachable) {
  if (!i.type()) {
    report(i) << "instruction has no result type";
    return;
  }
  bool ok = true;
  for (unsigned k = 0, e = i.numOperands(); k < e; ++k)
    ok &= checkOperand(i, k, b, reachable);
  if (i.isTerminator())
    ok &= checkEdgeShape(i);
  if (ok)
    checkTypes(i);
}

bool FunctionVerifier::expectOperands(const Instruction &i, unsigned n) {
  if (i.numOperands() == n)
    return true;
  report(i) << "'" << i.opcodeName() << "' takes " << n
            << (n == 1 ? " operand" : " operands") << ", has "
            << i.numOperands();
  return false;
}

/// struct.* and enum.* name their aggregate type (auxType): it must be a
/// struct (or enum) with a body.
bool FunctionVerifier::expectAggregate(const Instruction &i, bool wantStruct) {
  const Type *agg = i.auxType();
  if (!agg || (wantStruct ? !agg->isStruct() : !agg->isEnum())) {
    report(i) << "'" << i.opcodeName() << "' needs "
              << (wantStruct ? "a struct" : "an enum") << " type, got " << agg;
    return false;
  }
  if (agg->isOpaque()) {
    report(i) << "'" << i.opcodeName() << "' uses type " << agg
              << ", which has no body";
    return false;
  }
  return true;
}

void FunctionVerifier::checkEdgeArgs(const Instruction &i, unsigned k) {
  const Successor &s = i.successors()[k];
  const Block *t = s.block;
  if (s.numArgs != t->numArgs()) {
    report(i) << "edge to " << blk(t) << " passes " << s.numArgs
              << (s.numArgs == 1 ? " argument" : " arguments")
              << ", but the block has " << t->numArgs()
              << (t->numArgs() == 1 ? " parameter" : " parameters");
    return;
  }
  for (unsigned a = 0; a < s.numArgs; ++a) {
    const Type *have = i.operand(s.firstArg + a)->type();
    const Type *want = t->arg(a)->type();
    if (have != want)
      report(i) << "argument " << a << " of edge to " << blk(t)
                << " has type " << have << ", but the parameter has type "
                << want;
  }
}

void FunctionVerifier::checkTypes(const Instruction &i) {
  const Type *t = i.type();
  auto opTy = [&](unsigned k) { return i.operand(k)->type(); };
  const Opcode op = i.opcode();

  // Instructions without a result have type void.
  switch (op) {
  case Opcode::Store:
  case Opcode::DbgValue:
  case Opcode::Br:
  case Opcode::CondBr:
  case Opcode::Switch:
  case Opcode::Match:
  case Opcode::Ret:
  case Opcode::Unreachable:
  case Opcode::Panic:
    if (!t->isVoid()) {
      report(i) << "'" << i.opcodeName() << "' must have type void, not " << t;
      return;
    }
    break;
  default:
    break;
  }

  if (isBinaryOp(op)) {
    if (!expectOperands(i, 2))
      return;
    if (!t->isInt()) {
      report(i) << "'" << i.opcodeName()
                << "' result type must be an integer type, not " << t;
      return;
    }
    for (unsigned k = 0; k < 2; ++k)
      if (opTy(k) != t)
        report(i) << "'" << i.opcodeName() << "' operand " << k
                  << " has type " << opTy(k) << ", expected " << t
                  << " (the result type)";
    return;
  }

  switch (op) {
  case Opcode::ICmp:
    if (!expectOperands(i, 2))
      return;
    if (!opTy(0)->isInt() || opTy(0) != opTy(1))
      report(i) << "'icmp' operands must have the same integer type, got "
                << opTy(0) << " and " << opTy(1);
    if (!t->isBool())
      report(i) << "'icmp' result type must be i1, not " << t;
    if (static_cast<unsigned>(i.predicate()) >
        static_cast<unsigned>(ICmpPred::UGE))
      report(i) << "'icmp' has an invalid predicate ("
                << static_cast<unsigned>(i.predicate()) << ")";
    return;

  case Opcode::Select:
    if (!expectOperands(i, 3))
      return;
    if (!opTy(0)->isBool())
      report(i) << "'select' condition has type " << opTy(0)
                << ", expected i1";
    for (unsigned k = 1; k < 3; ++k)
      if (opTy(k) != t)
        report(i) << "'select' operand " << k << " has type " << opTy(k)
                  << ", expected " << t << " (the result type)";
    return;

  case Opcode::ZExt:
  case Opcode::SExt:
  case Opcode::Trunc: {
    if (!expectOperands(i, 1))
      return;
    const Type *from = opTy(0);
    if (!from->isInt() || !t->isInt()) {
      report(i) << "'" << i.opcodeName() << "' needs integer types, got "
                << from << " to " << t;
      return;
    }
    if (op == Opcode::Trunc ? from->bits() <= t->bits()
                            : from->bits() >= t->bits())
      report(i) << "'" << i.opcodeName() << "' must "
                << (op == Opcode::Trunc ? "narrow" : "widen") << ", but "
                << from << " to " << t << " does not";
    return;
  }

  case Opcode::Alloca: {
    if (!expectOperands(i, 0))
      return;
    if (!t->isPtr())
      report(i) << "'alloca' result type must be ptr, not " << t;
    const Type *slot = i.auxType();
    if (!slot || slot->isVoid() || slot->isFunction())
      report(i) << "'alloca' needs a value type to allocate, got " << slot;
    else if (slot->isOpaque())
      report(i) << "'alloca' of type " << slot << ", which has no body";
    if (!bindingExists(i.binding()))
      report(i) << "'alloca' refers to binding #" << i.binding()
                << ", but the module has " << m_->numBindings() << " bindings";
    return;
  }

  case Opcode::Load:
    if (!expectOperands(i, 1))
      return;
    if (!opTy(0)->isPtr())
      report(i) << "'load' address has type " << opTy(0) << ", expected ptr";
    if (t->isVoid() || t->isFunction())
      report(i) << "'load' must produce a value type, not " << t;
    return;

  case Opcode::Store:
    if (!expectOperands(i, 2))
      return;
    if (!opTy(1)->isPtr())
      report(i) << "'store' address has type " << opTy(1) << ", expected ptr";
    if (opTy(0)->isFunction())
      report(i) << "'store' value has type " << opTy(0)
                << ", which is not a value type";
    return;

  case Opcode::StructMake: {
    if (!expectAggregate(i, true))
      return;
    const Type *st = i.auxType();
    if (t != st)
      report(i) << "'struct.make' result type " << t
                << " differs from its struct type " << st;
    auto fields = st->fields();
    if (i.numOperands() != fields.size()) {
      report(i) << "'struct.make' of " << st << " needs " << fields.size()
                << (fields.size() == 1 ? " field" : " fields") << ", got "
                << i.numOperands();
      return;
    }
    for (unsigned k = 0; k < fields.size(); ++k)
      if (opTy(k) != fields[k])
        report(i) << "'struct.make' field " << k << " has type " << opTy(k)
                  << ", expected " << fields[k];
    return;
  }

  case Opcode::StructExtract:
  case Opcode::StructInsert:
  case Opcode::FieldAddr: {
    bool isAddr = op == Opcode::FieldAddr;
    bool isInsert = op == Opcode::StructInsert;
    if (!expectOperands(i, isInsert ? 2 : 1) || !expectAggregate(i, true))
      return;
    const Type *st = i.auxType();
    if (isAddr) {
      if (!opTy(0)->isPtr())
        report(i) << "'struct.addr' address has type " << opTy(0)
                  << ", expected ptr";
      if (!t->isPtr())
        report(i) << "'struct.addr' result type must be ptr, not " << t;
    } else if (opTy(0) != st) {
      report(i) << "'" << i.opcodeName() << "' operand has type " << opTy(0)
                << ", but the instruction names " << st;
      return;
    }
    unsigned idx = i.fieldIndex();
    if (idx >= st->fields().size()) {
      report(i) << "'" << i.opcodeName() << "' field index " << idx
                << " is out of range for " << st << " ("
                << st->fields().size() << " fields)";
      return;
    }
    const Type *ft = st->fields()[idx];
    if (op == Opcode::StructExtract && t != ft)
      report(i) << "'struct.extract' result type " << t << " differs from field "
                << idx << "'s type " << ft;
    if (isInsert) {
      if (t != st)
        report(i) << "'struct.insert' result type " << t
                  << " differs from its struct type " << st;
      if (opTy(1) != ft)
        report(i) << "'struct.insert' value has type " << opTy(1)
                  << ", expected field " << idx << "'s type " << ft;
    }
    return;
  }

  case Opcode::EnumMake: {
    if (!expectAggregate(i, false))
      return;
    const Type *en = i.auxType();
    if (t != en)
      report(i) << "'enum.make' result type " << t
                << " differs from its enum type " << en;
    unsigned v = i.variantIndex();
    if (v >= en->variants().size()) {
      report(i) << "'enum.make' variant index " << v << " is out of range for "
                << en << " (" << en->variants().size() << " variants)";
      return;
    }
    const EnumVariant &var = en->variants()[v];
    if (i.numOperands() != var.fields.size()) {
      report(i) << "'enum.make' variant " << var.name << " of " << en
                << " needs " << var.fields.size() << " payload "
                << (var.fields.size() == 1 ? "value" : "values") << ", got "
                << i.numOperands();
      return;
    }
    for (unsigned k = 0; k < var.fields.size(); ++k)
      if (opTy(k) != var.fields[k])
        report(i) << "'enum.make' payload " << k << " of variant " << var.name
                  << " has type " << opTy(k) << ", expected " << var.fields[k];
    return;
  }

  case Opcode::EnumTag:
  case Opcode::EnumPayload: {
    if (!expectOperands(i, 1))
      return;
    if (!opTy(0)->isEnum()) {
      report(i) << "'" << i.opcodeName() << "' operand has type " << opTy(0)
                << ", expected an enum";
      return;
    }
    if (!expectAggregate(i, false))
      return;
    const Type *en = i.auxType();
    if (opTy(0) != en) {
      report(i) << "'" << i.opcodeName() << "' operand has type " << opTy(0)
                << ", but the instruction names " << en;
      return;
    }
    if (op == Opcode::EnumTag) {
      if (!t->isInt(32))
        report(i) << "'enum.tag' result type must be i32, not " << t;
      return;
    }
    unsigned v = i.variantIndex();
    if (v >= en->variants().size()) {
      report(i) << "'enum.payload' variant index " << v
                << " is out of range for " << en << " ("
                << en->variants().size() << " variants)";
      return;
    }
    const EnumVariant &var = en->variants()[v];
    unsigned idx = i.fieldIndex();
    if (idx >= var.fields.size()) {
      report(i) << "'enum.payload' field index " << idx
                << " is out of range for variant " << var.name << " of " << en
                << " (" << var.fields.size() << " fields)";
      return;
    }
    if (t != var.fields[idx])
      report(i) << "'enum.payload' result type " << t << " differs from field "
                << idx << " of variant " << var.name << ", which has type "
                << var.fields[idx];
    return;
  }

  case Opcode::FuncAddr:
    if (!expectOperands(i, 0))
      return;
    if (!i.callee())
      report(i) << "'func.addr' names no function";
    else if (i.callee()->parent() != m_)
      report(i) << "'func.addr' of " << FnName{i.callee()} << ", which is not in this module";
    if (!t->isPtr())
      report(i) << "'func.addr' result type must be ptr, not " << t;
    return;

  case Opcode::HeapNew: {
    if (!expectOperands(i, 0))
      return;
    if (!t->isPtr())
      report(i) << "'new' result type must be ptr, not " << t;
    const Type *obj = i.auxType();
    if (!obj || obj->isVoid() || obj->isFunction())
      report(i) << "'new' needs a value type to allocate, got " << obj;
    else if (obj->isOpaque())
      report(i) << "'new' of type " << obj << ", which has no body";
    return;
  }

  case Opcode::HeapFree:
    if (!expectOperands(i, 1))
      return;
    if (!opTy(0)->isPtr())
      report(i) << "'free' operand has type " << opTy(0) << ", expected ptr";
    return;

  case Opcode::Call:
  case Opcode::Await: {
    const Function *callee = i.callee();
    const char *what = op == Opcode::Call ? "call" : "await";
    if (!callee) {
      report(i) << "'" << what << "' has no callee";
      return;
    }
    if (callee->parent() != m_) {
      report(i) << "callee " << FnName{callee} << " is not in this module";
      return;
    }
    auto params = callee->type()->params();
    if (op == Opcode::Await) {
      // The poll-form operation takes the task as an implicit last argument
      // and returns the poll status (0 ready, 1 pending, 2 closed, ...).
      if (params.empty() || !params.back()->isPtr() ||
          !callee->returnType()->isInt(64)) {
        report(i) << "'await' of " << FnName{callee}
                  << ", which is not a poll-form operation (last parameter ptr, "
                     "result i64)";
        return;
      }
      params = params.drop_back();
    }
    if (i.numOperands() != params.size()) {
      report(i) << "call to " << FnName{callee} << " passes "
                << i.numOperands()
                << (i.numOperands() == 1 ? " argument" : " arguments")
                << ", expected " << params.size();
      return;
    }
    for (unsigned k = 0; k < params.size(); ++k)
      if (opTy(k) != params[k])
        report(i) << "argument " << k << " of call to " << FnName{callee}
                  << " has type " << opTy(k) << ", expected " << params[k];
    if (t != callee->returnType())
      report(i) << "call to " << FnName{callee} << " has result type " << t
                << ", but the callee returns " << callee->returnType();
    return;
  }

  case Opcode::DbgValue:
    if (!expectOperands(i, 1))
      return;
    if (i.dbgBinding() == 0)
      report(i) << "'dbg' names no binding";
    else if (!bindingExists(i.dbgBinding()))
      report(i) << "'dbg' refers to binding #" << i.dbgBinding()
                << ", but the module has " << m_->numBindings() << " bindings";
    return;

  case Opcode::Br:
    checkEdgeArgs(i, 0);
    return;

  case Opcode::CondBr:
    if (!opTy(0)->isBool())
      report(i) << "'condbr' condition has type " << opTy(0)
                << ", expected i1";
    checkEdgeArgs(i, 0);
    checkEdgeArgs(i, 1);
    return;

  case Opcode::Switch:
    checkSwitch(i);
    return;

  case Opcode::Match:
    checkMatch(i);
    return;

  case Opcode::Ret: {
    const Type *rt = f_->returnType();
    if (f_->isNoReturn())
      report(i) << "'ret' in function " << FnName{f_}
                << ", which is declared noreturn";
    if (rt->isVoid()) {
      if (i.numOperands() != 0)
        report(i) << "'ret' with a value in function " << FnName{f_}
                  << ", which returns void";
    } else if (i.numOperands() == 0) {
      report(i) << "'ret' without a value in function " << FnName{f_}
                << ", which returns " << rt;
    } else if (opTy(0) != rt) {
      report(i) << "'ret' value has type " << opTy(0) << ", but function "
                << FnName{f_} << " returns " << rt;
    }
    return;
  }

  case Opcode::Unreachable:
  case Opcode::Panic:
    expectOperands(i, 0);
    return;

  default:
    return;
  }
}

void FunctionVerifier::checkSwitch(const Instruction &i) {
  const Type *vt = i.operand(0)->type();
  if (!vt->isInt()) {
    report(i) << "'switch' value has type " << vt
              << ", expected an integer type";
    return;
  }
  auto succs = i.successors();
  cases_.clear();
  for (unsigned k = 0; k < succs.size(); ++k) {
    const Successor &s = succs[k];
    if ((k == 0) != s.isDefault) {
      report(i) << (k == 0 ? "'switch' edge 0 must be the default edge"
                           : "'switch' has a second default edge");
      continue;
    }
    checkEdgeArgs(i, k);
    if (k == 0)
      continue;
    if (!fitsInWidth(s.caseValue, vt->bits()))
      report(i) << "'switch' case value " << s.caseValue << " does not fit in "
                << vt;
    else
      cases_.push_back(truncToWidth(s.caseValue, vt->bits()));
  }
  llvm::sort(cases_);
  for (unsigned k = 1; k < cases_.size(); ++k)
    if (cases_[k] == cases_[k - 1] && (k == 1 || cases_[k - 2] != cases_[k])) {
      // Report the value as a signed number of the switch's width (i1: 0/1).
      uint64_t u = cases_[k];
      unsigned bits = vt->bits();
      int64_t shown = bits == 1 || bits >= 64
                          ? static_cast<int64_t>(u)
                          : static_cast<int64_t>(u << (64 - bits)) >> (64 - bits);
      report(i) << "'switch' has duplicate case value " << shown;
    }
}

void FunctionVerifier::checkMatch(const Instruction &i) {
  const Type *st = i.operand(0)->type();
  if (!st->isEnum() && !st->isInt()) {
    report(i) << "'match' scrutinee has type " << st
              << ", expected an enum or an integer type";
    return;
  }
  if (st->isOpaque()) {
    report(i) << "'match' scrutinee has type " << st << ", which has no body";
    return;
  }
  auto succs = i.successors();
  for (unsigned k = 0; k < succs.size(); ++k) {
    const Successor &s = succs[k];
    if (s.isDefault) {
      if (k + 1 != succs.size())
        report(i) << "'match' default edge must be the last edge";
      checkEdgeArgs(i, k);
      continue;
    }
    if (!s.pattern) {
      report(i) << "'match' arm " << k << " has no pattern";
      continue;
    }
    if (s.numArgs != 0) {
      report(i) << "'match' arm " << k << " passes " << s.numArgs
                << (s.numArgs == 1 ? " argument" : " arguments")
                << "; an arm's target receives the pattern's bindings";
      continue;
    }
    bound_.clear();
    if (!checkPattern(i, k, s.pattern, st))
      continue;
    const Block *t = s.block;
    if (t->numArgs() != bound_.size()) {
      report(i) << "'match' arm " << k << " binds " << bound_.size()
                << (bound_.size() == 1 ? " value" : " values") << ", but block "
                << blk(t) << " has " << t->numArgs()
                << (t->numArgs() == 1 ? " parameter" : " parameters");
      continue;
    }
    for (unsigned a = 0; a < bound_.size(); ++a)
      if (t->arg(a)->type() != bound_[a])
        report(i) << "'match' arm " << k << " binds a value of type "
                  << bound_[a] << " to parameter " << a << " of block "
                  << blk(t) << ", which has type " << t->arg(a)->type();
  }
}

/// Types `p` against `t`, appending the types of its Bind positions to
/// bound_ in pre-order. Recursion depth is bounded by the nesting depth of
/// `t` (types cannot contain themselves), since descent stops on a mismatch.
bool FunctionVerifier::checkPattern(const Instruction &i, unsigned arm,
                                    const Pattern *p, const Type *t) {
  if (!p) {
    report(i) << "'match' arm " << arm << " has a null sub-pattern";
    return false;
  }
  switch (p->kind) {
  case Pattern::Wildcard:
    return true;
  case Pattern::Bind:
    bound_.push_back(t);
    return true;
  case Pattern::Int:
    if (!t->isInt()) {
      report(i) << "'match' arm " << arm << ": integer pattern " << p->intValue
                << " on a value of type " << t;
      return false;
    }
    if (!fitsInWidth(p->intValue, t->bits())) {
      report(i) << "'match' arm " << arm << ": integer pattern " << p->intValue
                << " does not fit in " << t;
      return false;
    }
    return true;
  case Pattern::Variant: {
    if (!t->isEnum() || t->isOpaque()) {
      report(i) << "'match' arm " << arm
                << ": variant pattern on a value of type " << t;
      return false;
    }
    if (p->variant >= t->variants().size()) {
      report(i) << "'match' arm " << arm << ": variant index " << p->variant
                << " is out of range for " << t << " ("
                << t->variants().size() << " variants)";
      return false;
    }
    const EnumVariant &var = t->variants()[p->variant];
    if (p->fields.size() != var.fields.size()) {
      report(i) << "'match' arm " << arm << ": pattern for variant "
                << var.name << " of " << t << " has " << p->fields.size()
                << (p->fields.size() == 1 ? " field" : " fields")
                << ", expected " << var.fields.size();
      return false;
    }
    bool ok = true;
    for (unsigned k = 0; k < var.fields.size() && ok; ++k)
      ok = checkPattern(i, arm, p->fields[k], var.fields[k]);
    return ok;
  }
  }
  report(i) << "'match' arm " << arm << " has a pattern of unknown kind";
  return false;
}

bool qmir::verifyFunction(const Function &f, std::vector<VerifierError> *errors) {
  FunctionVerifier v(errors);
  return v.run(f);
}

bool qmir::verifyModule(const Module &m, std::vector<VerifierError> *errors) {
  FunctionVerifier v(errors);
  bool ok = true;
  for (const Function &f : m.functions())
    ok &= v.run(f);
  ok &= verifyActors(m, errors);
  return ok;
}

bool qmir::verifyActors(const Module &m, std::vector<VerifierError> *errors) {
  bool ok = true;
  // The init and every method take the state pointer first.
  for (const ActorDecl &a : m.actors()) {
    auto fail = [&](const Function *f, std::string msg) {
      ok = false;
      if (errors)
        errors->push_back({f, nullptr, nullptr, "actor " + a.name.str() + ": " + msg});
    };
    if (!a.state || !a.state->isStruct() || a.state->isOpaque())
      fail(nullptr, "its state must be a struct type with a body");
    const Type *ptr = m.types().ptr();
    if (!a.init || a.init->parent() != &m)
      fail(nullptr, "its init function is missing");
    else if (a.init->type()->params().size() != 1 || a.init->type()->params()[0] != ptr ||
             !a.init->returnType()->isVoid())
      fail(a.init, "its init function must have type fn(ptr) -> void");
    for (const Function *meth : a.methods)
      if (!meth || meth->parent() != &m)
        fail(nullptr, "a method is missing");
      else if (meth->type()->params().empty() || meth->type()->params()[0] != ptr)
        fail(meth, "a method's first parameter must be the state (ptr)");
  }
  return ok;
}

void qmir::printVerifierErrors(llvm::raw_ostream &os,
                               llvm::ArrayRef<VerifierError> errors) {
  // Errors come grouped by function: name each function once.
  std::unique_ptr<SlotNames> names;
  for (const VerifierError &e : errors) {
    if (e.function && (!names || names->function() != e.function)) {
      names = std::make_unique<SlotNames>(*e.function);
    }
    os << "error: ";
    if (e.function) {
      os << "in function ";
      printFunctionName(os, *e.function);
      if (e.block) {
        os << ", block ";
        if (e.block->parent() == e.function)
          names->printBlock(os, e.block);
        else
          os << rawLabel(*e.block);
      }
      os << ": ";
    }
    os << e.message << '\n';
    if (e.inst) {
      os << "  ";
      if (e.function && e.inst->function() == e.function)
        printInstruction(os, *e.inst, *names);
      else
        printInstruction(os, *e.inst);
      os << '\n';
    }
  }
}
