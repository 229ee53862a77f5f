#include "mir/IR.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/ErrorHandling.h"

#include <cassert>
#include <new>
#include <type_traits>

using namespace qmir;

// IR memory per instruction is a benchmarked target (bench/RESULTS.md, "IR
// memory"): these keep the two objects every instruction pays for from
// growing unnoticed.
static_assert(sizeof(Instruction) <= 32, "Instruction grew");
static_assert(sizeof(Block) <= 40, "Block grew");
static_assert(sizeof(Use) <= 16, "Use grew");
static_assert(sizeof(Successor) <= 24, "Successor grew");
static_assert(sizeof(Argument) <= 32 && sizeof(BlockArg) <= 32,
              "Argument or BlockArg grew");
// The operands sit right before an instruction, and its auxiliary words
// right after it: all three must share one alignment.
static_assert(alignof(Instruction) == alignof(Use) &&
                  sizeof(Instruction) % alignof(Use) == 0,
              "instruction layout");
// Instruction::hasEdges is a range check.
static_assert(static_cast<unsigned>(Opcode::Match) ==
                  static_cast<unsigned>(Opcode::Br) + 3,
              "the opcodes with edges are Br .. Match");
static_assert(static_cast<unsigned>(Opcode::Trunc) ==
                  static_cast<unsigned>(Opcode::Add) + 17 &&
                  static_cast<unsigned>(Opcode::Add) == 0,
              "numAuxWords: Add .. Trunc come first");

//===----------------------------------------------------------------------===//
// Opcodes
//===----------------------------------------------------------------------===//

llvm::StringRef qmir::opcodeName(Opcode op) {
  switch (op) {
#define QMIR_X(name, text)                                                     \
  case Opcode::name:                                                           \
    return text;
    QMIR_OPCODES(QMIR_X)
#undef QMIR_X
  }
  return "<bad opcode>";
}

// isTerminator (IR.h) relies on the terminators coming last.
static_assert(static_cast<unsigned>(Opcode::Panic) ==
                  static_cast<unsigned>(Opcode::Br) + 6,
              "terminators are Br .. Panic, at the end of QMIR_OPCODES");
#define QMIR_X(name, text) +1
static_assert(static_cast<unsigned>(Opcode::Panic) + 1 == 0 QMIR_OPCODES(QMIR_X),
              "Panic is the last opcode");
#undef QMIR_X

bool qmir::isBinaryOp(Opcode op) {
  return static_cast<unsigned>(op) >= static_cast<unsigned>(Opcode::Add) &&
         static_cast<unsigned>(op) <= static_cast<unsigned>(Opcode::AShr);
}

bool qmir::isCast(Opcode op) {
  return op == Opcode::ZExt || op == Opcode::SExt || op == Opcode::Trunc;
}

llvm::StringRef qmir::predName(ICmpPred p) {
  static const char *names[] = {"eq",  "ne",  "slt", "sle", "sgt",
                                "sge", "ult", "ule", "ugt", "uge"};
  return names[static_cast<unsigned>(p)];
}

//===----------------------------------------------------------------------===//
// Uses and values
//===----------------------------------------------------------------------===//

void Use::addToList(Value *v) {
  val_ = v;
  if (!v)
    return;
  next_ = v->firstUse_;
  if (next_)
    next_->prev_ = &next_;
  prev_ = &v->firstUse_;
  v->firstUse_ = this;
}

void Use::removeFromList() {
  if (!val_)
    return;
  *prev_ = next_;
  if (next_)
    next_->prev_ = prev_;
  val_ = nullptr;
  next_ = nullptr;
  prev_ = nullptr;
}

void Use::set(Value *v) {
  if (v == val_)
    return;
  removeFromList();
  addToList(v);
}

unsigned Use::operandNo() const {
  return static_cast<unsigned>(this - user_->operandBase());
}

// A name saved in the IR is a string record (Cage.h) and is referred to in
// place; any other is copied once.
void Value::setName(llvm::StringRef n) { name_ = cage::record(n); }

void Block::setName(llvm::StringRef n) { name_ = cage::record(n); }

void Value::setBinding(BindingId b) {
  switch (vkind_) {
  case ValueKind::Argument:
    static_cast<Argument *>(this)->binding_ = b;
    return;
  case ValueKind::BlockArg:
    static_cast<BlockArg *>(this)->binding_ = b;
    return;
  case ValueKind::Instruction:
    if (auto *i = static_cast<Instruction *>(this); i->carriesBinding()) {
      i->trailing()[0] = b;
      return;
    }
    break;
  default:
    break;
  }
  if (b != 0)
    llvm::report_fatal_error(
        "setBinding: only arguments, block arguments, alloca and dbg carry a "
        "source binding");
}

void Instruction::noRoomForLoc() const {
  llvm::report_fatal_error(
      llvm::Twine("setLoc on '") + opcodeName() +
      "', which was created without room for a location: its module did not "
      "record locations then (Module::setRecordsLocations)");
}

void Instruction::misuse(const char *setter) const {
  llvm::report_fatal_error(llvm::Twine(setter) + " on '" + opcodeName() +
                           "', which keeps something else in that field");
}

void Instruction::setMessage(llvm::StringRef msg) {
  if (opcode() != Opcode::Panic)
    misuse("setMessage");
  trailing()[1] = cage::compress(cage::record(msg));
}

unsigned Value::numUses() const {
  unsigned n = 0;
  for (Use *u = firstUse_; u; u = u->nextUse())
    ++n;
  return n;
}

void Value::replaceAllUsesWith(Value *v) {
  assert(v != this && "replacing a value with itself");
  while (firstUse_)
    firstUse_->set(v);
}

uint64_t ConstInt::zext() const {
  unsigned bits = type()->bits();
  if (bits >= 64)
    return static_cast<uint64_t>(value_);
  return static_cast<uint64_t>(value_) & ((uint64_t(1) << bits) - 1);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

unsigned Pattern::numBindings() const {
  switch (kind) {
  case Bind:
    return 1;
  case Variant: {
    unsigned n = 0;
    for (const Pattern *f : fields)
      n += f->numBindings();
    return n;
  }
  default:
    return 0;
  }
}

bool Pattern::irrefutable(const Type *t) const {
  switch (kind) {
  case Wildcard:
  case Bind:
    return true;
  case Int:
    return false;
  case Variant: {
    if (!t->isEnum() || t->variants().size() != 1 || variant != 0)
      return false;
    auto ftys = t->variants()[0].fields;
    if (ftys.size() != fields.size())
      return false;
    for (unsigned i = 0; i < fields.size(); ++i)
      if (!fields[i]->irrefutable(ftys[i]))
        return false;
    return true;
  }
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

Function *Instruction::function() const {
  return parent_ ? parent_->parent() : nullptr;
}

unsigned Instruction::numMainOperands() const {
  Successor *s = succs();
  if (!s)
    return numOperands();
  // The verifier asks for every instruction: decode the edge header once.
  // With no edge, every operand is a main one.
  uint64_t header = edgeHeader(s);
  return static_cast<uint32_t>(header) ? s[0].firstArg
                                       : static_cast<uint32_t>(header >> 32);
}

llvm::SmallVector<Value *, 4> Instruction::successorArgs(unsigned i) const {
  llvm::SmallVector<Value *, 4> out;
  const Successor &s = succs()[i];
  for (unsigned k = 0; k < s.numArgs; ++k)
    out.push_back(operand(s.firstArg + k));
  return out;
}

void Instruction::setSuccessorArgs(unsigned which, llvm::ArrayRef<Value *> args) {
  // Rebuild the operand array: main operands, then each edge's arguments.
  llvm::SmallVector<Value *, 8> vals;
  unsigned main = numMainOperands();
  for (unsigned k = 0; k < main; ++k)
    vals.push_back(operand(k));
  Successor *succ = succs();
  for (unsigned s = 0, n = numSuccessors(); s < n; ++s) {
    unsigned first = vals.size();
    if (s == which) {
      vals.append(args.begin(), args.end());
    } else {
      for (unsigned k = 0; k < succ[s].numArgs; ++k)
        vals.push_back(operand(succ[s].firstArg + k));
    }
    succ[s].firstArg = first;
    succ[s].numArgs = vals.size() - first;
  }
  dropAllReferences();
  Function *f = function();
  assert(f && "setSuccessorArgs on an instruction that is not in a block");
  // A new edge array with the operands after it; the old one stays in the
  // arena until the function dies.
  Use *uses = f->allocateEdges(this, numSuccessors(), vals.size());
  for (unsigned k = 0; k < vals.size(); ++k) {
    new (&uses[k]) Use();
    uses[k].user_ = this;
    uses[k].addToList(vals[k]);
  }
}

bool Instruction::hasSideEffects() const {
  switch (opcode()) {
  case Opcode::Store:
  case Opcode::Call:
  case Opcode::Await:
  case Opcode::HeapFree:
    return true;
  case Opcode::SDiv:
  case Opcode::SRem:
  case Opcode::UDiv:
  case Opcode::URem: {
    // A division panics when the divisor is zero, so it may only be removed
    // when the divisor is a known non-zero constant.
    auto *c = dyn_cast<ConstInt>(operand(1));
    return !c || c->value() == 0;
  }
  default:
    return isTerminator();
  }
}

bool Instruction::mayReadMemory() const {
  return opcode() == Opcode::Load || opcode() == Opcode::Call ||
         opcode() == Opcode::Await;
}

bool Instruction::mayWriteMemory() const {
  return opcode() == Opcode::Store || opcode() == Opcode::Call ||
         opcode() == Opcode::Await || opcode() == Opcode::HeapFree;
}

void Instruction::dropAllReferences() {
  Use *ops = operandBase();
  for (unsigned i = 0, n = numOperands(); i < n; ++i)
    ops[i].removeFromList();
}

void Instruction::eraseFromParent() {
  assert(!hasUses() && "erasing an instruction that still has uses");
  dropAllReferences();
  if (parent_)
    parent_->insts_.remove(*this);
  parent_ = nullptr;
}

void Instruction::removeFromParent() {
  if (parent_)
    parent_->insts_.remove(*this);
  parent_ = nullptr;
}

void Instruction::insertBefore(Instruction *pos) {
  assert(!parent_ && "instruction is already in a block");
  parent_ = pos->parent_;
  parent_->insts_.insert(pos->getIterator(), *this);
}

void Instruction::insertAfter(Instruction *pos) {
  assert(!parent_ && "instruction is already in a block");
  parent_ = pos->parent_;
  parent_->insts_.insert(std::next(pos->getIterator()), *this);
}

void Instruction::moveBefore(Instruction *pos) {
  removeFromParent();
  insertBefore(pos);
}

//===----------------------------------------------------------------------===//
// Blocks
//===----------------------------------------------------------------------===//

BlockArg *Block::addArg(const Type *t, llvm::StringRef name) {
  Function *f = parent_;
  unsigned n = numArgs();
  auto *a = new (f->arena_.Allocate<BlockArg>())
      BlockArg(t, f->takeValueId(), this, n);
  if (!name.empty())
    a->setName(f->save(name));
  ArgList *l = args_;
  if (!l || l->count == l->capacity) {
    uint32_t cap = l ? 2 * l->capacity : 2;
    auto *grown = static_cast<ArgList *>(
        f->arena_.Allocate(sizeof(ArgList) + cap * sizeof(BlockArg *),
                           llvm::Align(alignof(BlockArg *))));
    grown->count = n;
    grown->capacity = cap;
    if (l)
      std::copy(l->slots(), l->slots() + n, grown->slots());
    args_ = grown; // the old list stays in the arena until the function dies
    l = grown;
  }
  l->slots()[l->count++] = a;
  return a;
}

void Block::eraseArg(unsigned i) {
  ArgList *l = args_;
  BlockArg **args = l->slots();
  assert(!args[i]->hasUses() && "erasing a block argument that has uses");
  std::copy(args + i + 1, args + l->count, args + i);
  --l->count;
  for (unsigned k = i; k < l->count; ++k)
    args[k]->index_ = k;
}

Instruction *Block::terminator() const {
  if (insts_.empty())
    return nullptr;
  const Instruction &last = insts_.back();
  return last.isTerminator() ? const_cast<Instruction *>(&last) : nullptr;
}

llvm::SmallVector<Block *, 2> Block::successors() const {
  llvm::SmallVector<Block *, 2> out;
  if (Instruction *t = terminator())
    for (const Successor &s : t->successors())
      out.push_back(s.block);
  return out;
}

llvm::SmallVector<Block *, 4> Block::predecessors() const {
  llvm::SmallVector<Block *, 4> out;
  for (Block &b : parent_->blocks())
    if (Instruction *t = b.terminator())
      for (const Successor &s : t->successors())
        if (s.block == this)
          out.push_back(&b);
  return out;
}

void Block::append(Instruction *inst) {
  assert(!inst->parent_ && "instruction is already in a block");
  inst->parent_ = this;
  insts_.push_back(*inst);
}

void Block::insertBefore(Instruction *inst, Instruction *pos) {
  assert(!inst->parent_ && "instruction is already in a block");
  inst->parent_ = this;
  insts_.insert(pos->getIterator(), *inst);
}

void Block::eraseFromParent() {
  for (Instruction &i : insts_)
    i.dropAllReferences();
  while (!insts_.empty()) {
    Instruction &i = insts_.front();
    insts_.remove(i);
    i.parent_ = nullptr;
  }
  parent_->blocks_.remove(*this);
}

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

Function::Function(Module *m, llvm::StringRef name, const Type *fnTy)
    : parent_(m), type_(fnTy) {
  // The name and the arguments live as long as the function, in the
  // module's arena: the function's own arena is for its body. (So it takes
  // no memory before the body begins, and the parser, which declares every
  // function before it reads the bodies, can pack one body after another.)
  name_ = m->save(name);
  for (unsigned i = 0; i < fnTy->params().size(); ++i)
    args_.push_back(new (m->arena().Allocate<Argument>())
                        Argument(fnTy->params()[i], takeValueId(), this, i));
}

// Blocks, like every IR object, die with their arena without a destructor
// call (the function kept a list of them, 8 bytes a block, only to run
// destructors that do nothing).
static_assert(std::is_trivially_destructible_v<Block> &&
                  std::is_trivially_destructible_v<Instruction> &&
                  std::is_trivially_destructible_v<BlockArg> &&
                  std::is_trivially_destructible_v<Argument>,
              "IR objects are freed with their arena, without destructors");

Function::~Function() = default;

llvm::StringRef Function::save(llvm::StringRef s) {
  return cage::save(arena_, s);
}

Block *Function::createBlock(llvm::StringRef name, Block *before) {
  auto *b = new (arena_.Allocate<Block>()) Block(this, nextBlockId_++);
  if (!name.empty())
    b->setName(save(name));
  if (before)
    blocks_.insert(before->getIterator(), *b);
  else
    blocks_.push_back(*b);
  return b;
}

Use *Function::allocateEdges(Instruction *inst, unsigned numSuccessors,
                             size_t numOperands) {
  // [count: 8 bytes][Successor x count][Use x numOperands]. An existing
  // array's successors are carried over.
  Successor *old = inst->succs();
  auto *mem = static_cast<char *>(
      arena_.Allocate(sizeof(uint64_t) + numSuccessors * sizeof(Successor) +
                          numOperands * sizeof(Use),
                      llvm::Align(alignof(Successor))));
  if (numOperands > UINT32_MAX)
    llvm::report_fatal_error("an instruction with more than 2^32 operands");
  *reinterpret_cast<uint64_t *>(mem) =
      numSuccessors | (uint64_t(numOperands) << 32);
  auto *s = reinterpret_cast<Successor *>(mem + sizeof(uint64_t));
  for (unsigned k = 0; k < numSuccessors; ++k) {
    new (&s[k]) Successor();
    if (old)
      s[k] = old[k];
    else
      s[k].firstArg = static_cast<uint32_t>(numOperands);
  }
  inst->trailing()[1] = cage::compress(s);
  return reinterpret_cast<Use *>(s + numSuccessors);
}

Instruction *Function::createInst(Opcode op, const Type *resultTy,
                                  llvm::ArrayRef<Value *> operands,
                                  unsigned numSuccessors) {
  // Only these opcodes keep a successor array (in the auxiliary word that
  // holds the callee, the type or the message of the others), so an edge on
  // any other opcode cannot be represented: refuse it where it is made.
  bool edges = Instruction::hasEdges(op);
  if (numSuccessors && !edges)
    llvm::report_fatal_error(llvm::Twine("createInst: '") + opcodeName(op) +
                             "' cannot have successor edges");
  // [operands][instruction][auxiliary words], each part only if the opcode
  // has it (an opcode with edges keeps its operands with the edges).
  // The operand count is in the instruction's 16-bit field, or in the edge
  // array, or in a word after the auxiliary ones.
  unsigned auxWords = Instruction::numAuxWords(op);
  bool manyOperands =
      !edges && operands.size() >= Instruction::kManyOperands;
  if (!edges && operands.size() > UINT32_MAX)
    llvm::report_fatal_error("an instruction with more than 2^32 operands");
  bool locSlot = parent_->recordsLocations();
  unsigned words = auxWords + (manyOperands ? 1 : 0) + (locSlot ? 1 : 0);
  size_t inlineUses = edges ? 0 : operands.size();
  auto *mem = static_cast<char *>(arena_.Allocate(
      inlineUses * sizeof(Use) + sizeof(Instruction) + words * sizeof(uint32_t),
      llvm::Align(alignof(Instruction))));
  auto *inst = new (mem + inlineUses * sizeof(Use))
      Instruction(op, resultTy, takeValueId());
  for (unsigned w = 0; w < auxWords; ++w)
    inst->trailing()[w] = 0;
  if (manyOperands) {
    inst->setOps16(Instruction::kManyOperands);
    inst->trailing()[auxWords] = static_cast<uint32_t>(operands.size());
  } else if (!edges) {
    inst->setOps16(static_cast<uint16_t>(operands.size()));
  }
  if (locSlot) {
    inst->setHasLocSlot();
    inst->trailing()[inst->locWord()] = 0;
  }
  Use *uses = edges ? allocateEdges(inst, numSuccessors, operands.size())
                    : reinterpret_cast<Use *>(mem);
  for (unsigned k = 0; k < operands.size(); ++k) {
    new (&uses[k]) Use();
    uses[k].user_ = inst;
    uses[k].addToList(operands[k]);
  }
  return inst;
}

void Function::dropAllReferences() {
  for (Block &b : blocks_)
    for (Instruction &i : b.insts())
      i.dropAllReferences();
}

void Function::dropBody() {
  dropAllReferences();
  blocks_.clear();
  // The arguments stay (they are in the module's arena); a name given to
  // one may be in this function's arena, which is about to be freed.
  for (Argument *a : args_)
    if (!a->name().empty())
      a->setName(parent_->save(a->name()));
  arena_.Reset();
  nextValueId_ = static_cast<uint32_t>(args_.size());
  nextBlockId_ = 0;
}

size_t Function::instructionCount() const {
  size_t n = 0;
  for (const Block &b : blocks_)
    n += b.insts().size();
  return n;
}

//===----------------------------------------------------------------------===//
// Modules
//===----------------------------------------------------------------------===//

Module::Module() {
  bindings_.push_back(Binding{});
  locs_.push_back(SourceLoc{});
}

Module::~Module() {
  while (!functions_.empty()) {
    Function &f = functions_.front();
    functions_.remove(f);
    f.~Function();
  }
}

llvm::StringRef Module::save(llvm::StringRef s) { return types_.save(s); }

Function *Module::function(llvm::StringRef name) const {
  auto it = functionsByName_.find(name);
  return it == functionsByName_.end() ? nullptr : it->second;
}

Function *Module::createFunction(llvm::StringRef name, const Type *fnTy) {
  assert(fnTy && fnTy->isFunction());
  if (functionsByName_.count(name))
    return nullptr;
  // In the module's arena, so that calls can refer to it through a CPtr.
  auto *f = new (arena_.Allocate<Function>()) Function(this, name, fnTy);
  functions_.push_back(*f);
  functionsByName_[name] = f;
  return f;
}

Function *Module::getOrDeclareFunction(llvm::StringRef name, const Type *fnTy) {
  if (Function *f = function(name))
    return f;
  return createFunction(name, fnTy);
}

void Module::eraseFunction(Function *f) {
  functionsByName_.erase(f->name());
  functions_.remove(*f);
  // Its instructions' operands sit in the use lists of the module's
  // constants; unlink them before the arena holding them is recycled.
  f->dropAllReferences();
  f->~Function(); // its memory stays in the module's arena
}

ConstInt *Module::constInt(const Type *intTy, int64_t v) {
  assert(intTy->isInt());
  unsigned bits = intTy->bits();
  if (bits == 1)
    v &= 1;
  else if (bits < 64)
    v = static_cast<int64_t>(static_cast<uint64_t>(v) << (64 - bits)) >> (64 - bits);
  auto &slot = ints_[{intTy, v}];
  if (!slot)
    slot = new (arena_.Allocate<ConstInt>()) ConstInt(intTy, nextConstId_++, v);
  return slot;
}

ConstString *Module::constString(llvm::StringRef s) {
  auto &slot = strings_[s];
  if (!slot)
    slot = new (arena_.Allocate<ConstString>())
        ConstString(types_.ptr(), nextConstId_++, save(s));
  return slot;
}

UndefValue *Module::undef(const Type *t) {
  auto &slot = undefs_[t];
  if (!slot)
    slot = new (arena_.Allocate<UndefValue>()) UndefValue(t, nextConstId_++);
  return slot;
}

BindingId Module::addBinding(llvm::StringRef name, uint32_t scope, uint32_t gensym) {
  bindings_.push_back(Binding{save(name), scope, gensym});
  return bindings_.size() - 1;
}

uint32_t Module::addSourceFile(llvm::StringRef path) {
  for (unsigned i = 0; i < files_.size(); ++i)
    if (files_[i] == path)
      return i;
  files_.push_back(path.str());
  return files_.size() - 1;
}

LocId Module::addLoc(SourceLoc loc) {
  // A module that has a location records them from now on: instructions
  // built after this have room for one (setRecordsLocations).
  recordsLocations_ = true;
  // Frontends stamp runs of instructions with the same location, so only a
  // repeat of the previous location is shared; a full uniquing table cost
  // more (a hash lookup per instruction) than the 12 bytes it would save.
  if (lastLoc_ && locs_[lastLoc_] == loc)
    return lastLoc_;
  locs_.push_back(loc);
  lastLoc_ = static_cast<LocId>(locs_.size() - 1);
  return lastLoc_;
}

const Pattern *Module::makeWildcard() {
  return new (arena_.Allocate<Pattern>()) Pattern();
}

const Pattern *Module::makeBind(llvm::StringRef name) {
  auto *p = new (arena_.Allocate<Pattern>()) Pattern();
  p->kind = Pattern::Bind;
  p->bindName = save(name);
  return p;
}

const Pattern *Module::makeIntPattern(int64_t v) {
  auto *p = new (arena_.Allocate<Pattern>()) Pattern();
  p->kind = Pattern::Int;
  p->intValue = v;
  return p;
}

const Pattern *Module::makeVariantPattern(uint32_t variant,
                                          llvm::ArrayRef<const Pattern *> fields) {
  auto *p = new (arena_.Allocate<Pattern>()) Pattern();
  p->kind = Pattern::Variant;
  p->variant = variant;
  if (!fields.empty()) {
    auto *mem = arena_.Allocate<const Pattern *>(fields.size());
    std::copy(fields.begin(), fields.end(), mem);
    p->fields = {mem, fields.size()};
  }
  return p;
}
