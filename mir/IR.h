// The MIR object model: modules, functions, blocks, instructions and values.
//
// Design (see docs/mir.md for the full rationale):
// - SSA with *block arguments*, not phis. A terminator passes values to its
//   successor's parameters (`br loop(%i.next)`). We chose block arguments because
//   they make the arity check against predecessors local to each edge, they let a
//   `match` arm receive its payload bindings as parameters, and a pass that splits
//   or redirects an edge edits one operand list instead of every phi in the target.
// - Every IR object lives in its function's (or module's) bump allocator and
//   carries a dense id, so analyses index plain vectors by id. Erased objects are
//   unlinked and never reused; their memory returns when the function dies.
// - Those allocators draw from the IR cage (mir/Cage.h), so the references
//   between IR objects are stored as 32-bit CPtrs; the API still hands out
//   plain pointers.
// - Instructions sit in an intrusive list inside their block; blocks in an
//   intrusive list inside their function.
// - Every operand is a `Use` linked into the used value's use list, so
//   replaceAllUsesWith walks exactly the uses. Operands of an instruction are
//   allocated together with it.
#pragma once

#include "mir/Cage.h"
#include "mir/Type.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/ilist_node.h"
#include "llvm/ADT/iterator_range.h"
#include "llvm/ADT/simple_ilist.h"
#include "llvm/Support/Allocator.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qmir {

class Block;
class Function;
class Instruction;
class Module;
class Value;

//===----------------------------------------------------------------------===//
// Source locations and bindings
//===----------------------------------------------------------------------===//

/// A place in a source file. `file` indexes Module::sourceFiles(); line and
/// column count from 1. Instructions store a LocId (an index into the module's
/// location table; 0 means "no location") to stay small.
struct SourceLoc {
  uint32_t file = 0;
  uint32_t line = 0;
  uint32_t col = 0;
  bool operator==(const SourceLoc &o) const {
    return file == o.file && line == o.line && col == o.col;
  }
};
using LocId = uint32_t;

/// A source variable: what a frontend's symbol table knew about it. Identity is
/// the BindingId (its index in Module::bindings(), starting at 1), never the
/// spelling: a macro's gensym `tmp` and a user's `tmp` are two bindings.
struct Binding {
  llvm::StringRef name;
  uint32_t scope = 0;  ///< lexical scope id chosen by the frontend
  uint32_t gensym = 0; ///< 0: written by the user; n > 0: macro expansion n
  bool isGensym() const { return gensym != 0; }
};
using BindingId = uint32_t;

//===----------------------------------------------------------------------===//
// Values and uses
//===----------------------------------------------------------------------===//

enum class ValueKind : uint8_t {
  Argument,    ///< a function parameter
  BlockArg,    ///< a block parameter
  ConstInt,    ///< an integer constant of type i1/i8/i32/i64
  ConstString, ///< a string literal (type ptr, read-only)
  Undef,       ///< an unspecified value of any non-void type
  Instruction, ///< an instruction's result (void instructions are values too)
};

/// One operand slot: links a user instruction to the value it reads.
class Use {
public:
  Value *get() const { return val_; }
  Instruction *user() const { return user_; }
  /// Points the operand at `v`, moving it between use lists.
  void set(Value *v);
  Use *nextUse() const { return next_; }
  unsigned operandNo() const;

private:
  friend class Value;
  friend class Instruction;
  friend class Function;
  void addToList(Value *v);
  void removeFromList();

  CPtr<Value> val_;
  CPtr<Use> next_;
  CPtr<CPtr<Use>> prev_; // the reference that points at this use
  CPtr<Instruction> user_;
};

class Value {
public:
  friend class Builder;
  Value(const Value &) = delete;
  Value &operator=(const Value &) = delete;

  ValueKind valueKind() const { return vkind_; }
  const Type *type() const { return type_; }
  /// Dense id: unique within the function for arguments, block arguments and
  /// instructions; within the module for constants.
  uint32_t id() const { return id_; }

  bool isConstant() const {
    return vkind_ == ValueKind::ConstInt || vkind_ == ValueKind::ConstString ||
           vkind_ == ValueKind::Undef;
  }

  bool hasUses() const { return firstUse_ != nullptr; }
  bool hasOneUse() const { return firstUse_ && !firstUse_->nextUse(); }
  unsigned numUses() const;

  class use_iterator {
  public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Use;
    using difference_type = std::ptrdiff_t;
    using pointer = Use *;
    using reference = Use &;
    explicit use_iterator(Use *u = nullptr) : u_(u) {}
    Use &operator*() const { return *u_; }
    Use *operator->() const { return u_; }
    use_iterator &operator++() { u_ = u_->nextUse(); return *this; }
    use_iterator operator++(int) { auto t = *this; ++*this; return t; }
    bool operator==(const use_iterator &o) const { return u_ == o.u_; }
    bool operator!=(const use_iterator &o) const { return u_ != o.u_; }
  private:
    Use *u_;
  };
  /// Uses of this value. Do not modify the list while iterating; to rewrite
  /// uses, collect them first or use replaceAllUsesWith.
  llvm::iterator_range<use_iterator> uses() const {
    return {use_iterator(firstUse_), use_iterator(nullptr)};
  }

  /// Makes every use of this value use `v` instead. O(number of uses).
  void replaceAllUsesWith(Value *v);

  /// The value's name as written in the text, without '%' (may be empty).
  /// Names are cosmetic; identity is the object.
  llvm::StringRef name() const { return cage::recordText(name_.get()); }
  /// A name saved in the IR (Function::save, Module::save) is used in place,
  /// so it must live as long as this value: save it in this value's function
  /// or the module. Others (literals, temporaries) are copied once into the
  /// cage and kept for the life of the process.
  void setName(llvm::StringRef n);

  /// Source binding this value carries as debug information (0: none). Set on
  /// allocas that hold a source variable, on arguments, and on block arguments
  /// that mem2reg created for a variable.
  /// Instructions other than `alloca` and `dbg` have no room for one:
  /// setBinding(0) on them does nothing, any other id is a fatal error.
  inline BindingId binding() const;
  void setBinding(BindingId b);

protected:
  Value(ValueKind k, const Type *t, uint32_t id) : vkind_(k), id_(id), type_(t) {}
  ~Value() = default;

private:
  friend class Use;
  ValueKind vkind_;
  // Instruction: the opcode, and in the top bit whether it has room for a
  // source location (Instruction::kLocSlot); lives here to pack tightly.
  uint8_t opcode_ = 0;
  uint16_t ops16_ = 0; // Instruction: the operand count (see numOperands)
  uint32_t id_;
  CPtr<const Type> type_;
  CPtr<Use> firstUse_;
  CPtr<const char> name_; // a string record (mir/Cage.h)
  friend class Instruction;
};

class Argument final : public Value {
public:
  Function *parent() const { return parent_; }
  unsigned index() const { return index_; }

private:
  friend class Function;
  Argument(const Type *t, uint32_t id, Function *f, unsigned idx)
      : Value(ValueKind::Argument, t, id), parent_(f), index_(idx) {}
  friend class Value;
  CPtr<Function> parent_;
  unsigned index_;
  BindingId binding_ = 0;
};

class BlockArg final : public Value {
public:
  Block *parent() const { return parent_; }
  unsigned index() const { return index_; }

private:
  friend class Block;
  BlockArg(const Type *t, uint32_t id, Block *b, unsigned idx)
      : Value(ValueKind::BlockArg, t, id), parent_(b), index_(idx) {}
  friend class Value;
  CPtr<Block> parent_;
  unsigned index_;
  BindingId binding_ = 0;
};

/// Integer constant. i1 constants hold 0 or 1; wider ones are stored
/// sign-extended from their width to 64 bits. `zext()` gives the bit pattern
/// zero-extended from the width.
class ConstInt final : public Value {
public:
  int64_t sext() const { return value_; }
  /// The value as a boolean / the canonical int64 used by the interpreter.
  int64_t value() const { return value_; }
  uint64_t zext() const;

private:
  friend class Module;
  ConstInt(const Type *t, uint32_t id, int64_t v)
      : Value(ValueKind::ConstInt, t, id), value_(v) {}
  int64_t value_;
};

class ConstString final : public Value {
public:
  llvm::StringRef text() const { return text_; }

private:
  friend class Module;
  ConstString(const Type *t, uint32_t id, llvm::StringRef s)
      : Value(ValueKind::ConstString, t, id), text_(s) {}
  llvm::StringRef text_;
};

class UndefValue final : public Value {
private:
  friend class Module;
  UndefValue(const Type *t, uint32_t id) : Value(ValueKind::Undef, t, id) {}
};

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

#define QMIR_OPCODES(X)                                                        \
  /* integer arithmetic (wrapping) and bitwise */                              \
  X(Add, "add") X(Sub, "sub") X(Mul, "mul")                                    \
  X(SDiv, "sdiv") X(SRem, "srem") X(UDiv, "udiv") X(URem, "urem")              \
  X(And, "and") X(Or, "or") X(Xor, "xor")                                      \
  X(Shl, "shl") X(LShr, "lshr") X(AShr, "ashr")                                \
  X(ICmp, "icmp") X(Select, "select")                                          \
  X(ZExt, "zext") X(SExt, "sext") X(Trunc, "trunc")                            \
  /* memory */                                                                 \
  X(Alloca, "alloca") X(Load, "load") X(Store, "store")                        \
  /* structs */                                                                \
  X(StructMake, "struct.make") X(StructExtract, "struct.extract")              \
  X(StructInsert, "struct.insert") X(FieldAddr, "struct.addr")                 \
  /* enums (tagged unions) */                                                  \
  X(EnumMake, "enum.make") X(EnumTag, "enum.tag")                              \
  X(EnumPayload, "enum.payload")                                               \
  /* calls and debug info */                                                   \
  X(Call, "call") X(DbgValue, "dbg")                                           \
  /* tasks: suspension points, function addresses, heap frames */             \
  X(Await, "await") X(FuncAddr, "func.addr")                                   \
  X(HeapNew, "new") X(HeapFree, "free")                                        \
  /* terminators */                                                            \
  X(Br, "br") X(CondBr, "condbr") X(Switch, "switch") X(Match, "match")        \
  X(Ret, "ret") X(Unreachable, "unreachable") X(Panic, "panic")

enum class Opcode : uint8_t {
#define QMIR_X(name, text) name,
  QMIR_OPCODES(QMIR_X)
#undef QMIR_X
};

llvm::StringRef opcodeName(Opcode op);
inline bool isTerminator(Opcode op) {
  return static_cast<unsigned>(op) >= static_cast<unsigned>(Opcode::Br);
}
bool isBinaryOp(Opcode op); // Add .. AShr
bool isCast(Opcode op);     // ZExt, SExt, Trunc

enum class ICmpPred : uint8_t { EQ, NE, SLT, SLE, SGT, SGE, ULT, ULE, UGT, UGE };
llvm::StringRef predName(ICmpPred p);

/// A pattern of the high-level `match`. Patterns are immutable and live in the
/// module's arena. `Bind` positions receive the matched value; the bound values
/// are passed, in pre-order, as the arguments of the arm's target block.
struct Pattern {
  enum Kind : uint8_t { Wildcard, Bind, Int, Variant } kind = Wildcard;
  uint32_t variant = 0;                   ///< Variant: index in the enum
  int64_t intValue = 0;                   ///< Int: the literal (i1: 0 or 1)
  llvm::ArrayRef<const Pattern *> fields; ///< Variant: one per payload field
  llvm::StringRef bindName;               ///< Bind: cosmetic name
  /// Number of Bind nodes in this pattern (the arm target's arity).
  unsigned numBindings() const;
  /// True if the pattern matches every value of type `t`.
  bool irrefutable(const Type *t) const;
};

/// One outgoing edge of a terminator: the target, the operand range holding the
/// values passed to the target's parameters, and (for `switch`) the case value or
/// (for `match`) the arm's pattern. The default edge of a switch or match has
/// `isDefault` set.
struct Successor {
  int64_t caseValue = 0;
  CPtr<Block> block;
  uint32_t firstArg = 0; // index into the instruction's operands
  uint32_t numArgs : 31 = 0;
  bool isDefault : 1 = false;
  CPtr<const Pattern> pattern;
};

/// The links of an instruction in its block's list (and of the list's
/// sentinel, which is not an instruction).
class InstNode {
  friend class InstList;
  template <typename, bool> friend class InstIterator;
  CPtr<InstNode> prev_;
  CPtr<InstNode> next_;
};

template <typename InstT, bool Reverse = false> class InstIterator;

class Instruction final : public Value, public InstNode {
public:
  Opcode opcode() const { return static_cast<Opcode>(opcode_ & ~kLocSlot); }
  llvm::StringRef opcodeName() const { return qmir::opcodeName(opcode()); }
  bool isTerminator() const { return qmir::isTerminator(opcode()); }
  Block *parent() const { return parent_; }
  Function *function() const;

  // Operands.
  unsigned numOperands() const {
    if (hasEdges())
      return static_cast<uint32_t>(edgeHeader(succs()) >> 32);
    return ops16_ != kManyOperands ? ops16_ : trailing()[numAuxWords()];
  }
  Value *operand(unsigned i) const { return operandBase()[i].get(); }
  void setOperand(unsigned i, Value *v) { operandBase()[i].set(v); }
  Use &operandUse(unsigned i) { return operandBase()[i]; }
  llvm::ArrayRef<Use> operandUses() const {
    return {operandBase(), numOperands()};
  }
  /// Number of leading operands that are not successor arguments.
  unsigned numMainOperands() const;

  // Per-opcode attributes.
  ICmpPred predicate() const { return static_cast<ICmpPred>(fieldIndex()); }
  /// struct.extract / struct.insert / struct.addr, enum.payload: the field
  /// index (icmp: the predicate, which generic cloning code copies as the
  /// field index); 0 for the other opcodes.
  unsigned fieldIndex() const {
    int w = fieldWord(opcode());
    return w < 0 ? 0 : trailing()[w];
  }
  /// enum.make, enum.payload: the variant index; 0 for the other opcodes.
  unsigned variantIndex() const {
    return hasVariant(opcode()) ? trailing()[0] : 0;
  }
  /// alloca, new: the allocated type. struct.*, enum.*: the aggregate type.
  const Type *auxType() const {
    return static_cast<const Type *>(cage::decompress(auxRefWord()));
  }
  /// call, await, func.addr: the callee (await: the poll-form operation;
  /// func.addr: the function whose address is taken).
  Function *callee() const {
    return static_cast<Function *>(cage::decompress(auxRefWord()));
  }
  /// True for the opcodes whose union member is the callee.
  bool hasCallee() const {
    return opcode() == Opcode::Call || opcode() == Opcode::Await ||
           opcode() == Opcode::FuncAddr;
  }
  /// panic: the message.
  llvm::StringRef message() const {
    if (opcode() != Opcode::Panic)
      return {};
    return cage::recordText(
        static_cast<const char *>(cage::decompress(auxRefWord())));
  }
  /// dbg / alloca: the binding (also Value::binding()).
  BindingId dbgBinding() const { return binding(); }
  /// The opcodes that carry a source binding (in the auxiliary word).
  bool carriesBinding() const {
    return opcode() == Opcode::Alloca || opcode() == Opcode::DbgValue;
  }

  void setPredicate(ICmpPred p) {
    if (opcode() != Opcode::ICmp)
      misuse("setPredicate");
    trailing()[0] = static_cast<uint32_t>(p);
  }
  void setFieldIndex(unsigned i) {
    int w = fieldWord(opcode());
    if (w < 0) {
      if (i != 0)
        misuse("setFieldIndex");
      return;
    }
    trailing()[w] = i;
  }
  // The auxiliary words are shared between opcodes, and most opcodes have
  // none (see hasAuxWords): setting one on an opcode that keeps something
  // else there, or has no room, is a fatal error rather than a silent
  // overwrite. (Setting 0 or null where there is no room does nothing:
  // generic cloning code copies every attribute.)
  void setVariantIndex(unsigned v) {
    if (!hasVariant(opcode())) {
      if (v != 0)
        misuse("setVariantIndex");
      return;
    }
    trailing()[0] = v;
  }
  void setAuxType(const Type *t) { setAuxRef(t, "setAuxType"); }
  void setCallee(Function *f) { setAuxRef(f, "setCallee"); }
  /// panic: a message saved in the function (Function::save) is used in
  /// place; any other is copied once into the cage.
  void setMessage(llvm::StringRef msg);

  // Terminator edges.
  llvm::MutableArrayRef<Successor> successors() {
    return {succs(), numSuccessors()};
  }
  llvm::ArrayRef<Successor> successors() const {
    return {succs(), numSuccessors()};
  }
  unsigned numSuccessors() const {
    Successor *s = succs();
    return s ? static_cast<uint32_t>(edgeHeader(s)) : 0;
  }
  Block *successor(unsigned i) const { return succs()[i].block; }
  void setSuccessorBlock(unsigned i, Block *b) { succs()[i].block = b; }
  llvm::SmallVector<Value *, 4> successorArgs(unsigned i) const;
  /// Replaces the arguments passed along edge i (reallocates operands).
  void setSuccessorArgs(unsigned i, llvm::ArrayRef<Value *> args);

  /// The source location (0: none).
  LocId loc() const { return hasLocSlot() ? trailing()[locWord()] : 0; }
  /// Instructions created while their module records locations (the
  /// default; see Module::setRecordsLocations) have room for one. On any
  /// other, setLoc(0) does nothing and another location is a fatal error.
  void setLoc(LocId l) {
    if (hasLocSlot())
      trailing()[locWord()] = l;
    else if (l != 0)
      noRoomForLoc();
  }

  /// True if removing the instruction (when its result is unused) could change
  /// what the program does: stores, calls, terminators, panics, and arithmetic
  /// that may panic (sdiv/srem/udiv/urem by a non-constant or zero divisor).
  bool hasSideEffects() const;
  bool mayReadMemory() const;
  bool mayWriteMemory() const;

  /// Unlinks from the block and drops all operand uses. The result must have
  /// no uses left.
  void eraseFromParent();
  /// Unlinks from the block, keeping operands (to re-insert elsewhere).
  void removeFromParent();
  void insertBefore(Instruction *pos);
  void insertAfter(Instruction *pos);
  void moveBefore(Instruction *pos);
  /// This instruction's position in its block's list.
  InstIterator<Instruction> getIterator();
  InstIterator<const Instruction> getIterator() const;
  /// Drops every operand use (sets them to null).
  void dropAllReferences();

private:
  friend class Block;
  friend class Builder;
  friend class Function;
  friend class Use;
  friend class Value;
  Instruction(Opcode op, const Type *t, uint32_t id)
      : Value(ValueKind::Instruction, t, id) {
    opcode_ = static_cast<uint8_t>(op);
  }
  [[noreturn]] void misuse(const char *setter) const;
  [[noreturn]] void noRoomForLoc() const;
  void setAuxRef(const void *p, const char *setter) {
    if (hasEdges() || !hasAuxWords()) {
      if (p || hasEdges())
        misuse(setter);
      return;
    }
    trailing()[1] = cage::compress(p);
  }
  /// The opcodes whose auxiliary reference is the successor array.
  static bool hasEdges(Opcode op) {
    return static_cast<unsigned>(op) - static_cast<unsigned>(Opcode::Br) <=
           static_cast<unsigned>(Opcode::Match) -
               static_cast<unsigned>(Opcode::Br);
  }
  bool hasEdges() const { return hasEdges(opcode()); }
  /// How many auxiliary words instructions of opcode `op` have after them.
  /// Most instructions (the arithmetic, loads and stores) have none:
  ///   word 0: alloca, dbg: the binding; enum.make, enum.payload: the
  ///           variant index; icmp: the predicate; struct.extract,
  ///           struct.insert, struct.addr: the field index;
  ///   word 1: a reference whose target depends on the opcode: br, condbr,
  ///           switch and match: the successor array; panic: the message
  ///           (a string record); call, await, func.addr: the callee; the
  ///           rest: the auxiliary type;
  ///   word 2: enum.payload: the field index.
  /// An instruction without edges and with kManyOperands or more operands
  /// has one more word, the operand count.
  static unsigned numAuxWords(Opcode op);
  unsigned numAuxWords() const { return numAuxWords(opcode()); }
  bool hasAuxWords() const { return numAuxWords() >= 2; }
  /// The aux word holding the field index (or the predicate), or -1.
  static int fieldWord(Opcode op) {
    switch (op) {
    case Opcode::ICmp:
    case Opcode::StructExtract:
    case Opcode::StructInsert:
    case Opcode::FieldAddr:
      return 0;
    case Opcode::EnumPayload:
      return 2;
    default:
      return -1;
    }
  }
  static bool hasVariant(Opcode op) {
    return op == Opcode::EnumMake || op == Opcode::EnumPayload;
  }
  static constexpr unsigned kManyOperands = 0xffff;
  static constexpr uint8_t kLocSlot = 0x80;
  bool hasLocSlot() const { return opcode_ & kLocSlot; }
  void setHasLocSlot() { opcode_ |= kLocSlot; }
  /// The word after the auxiliary ones (and the operand count, if it has
  /// one) that holds the location.
  unsigned locWord() const {
    return numAuxWords() + (!hasEdges() && ops16_ == kManyOperands ? 1 : 0);
  }
  void setOps16(uint16_t n) { ops16_ = n; }
  uint32_t *trailing() const {
    return reinterpret_cast<uint32_t *>(const_cast<Instruction *>(this) + 1);
  }
  uint32_t auxRefWord() const { return hasAuxWords() ? trailing()[1] : 0; }
  /// The successor array. The 8 bytes before it hold the number of
  /// successors (low half) and of operands (high half), which follow it.
  Successor *succs() const {
    return hasEdges() ? static_cast<Successor *>(cage::decompress(trailing()[1]))
                      : nullptr;
  }
  static uint64_t edgeHeader(const Successor *s) {
    return reinterpret_cast<const uint64_t *>(s)[-1];
  }
  /// The operands: right before the instruction, or, for the opcodes with
  /// edges (whose operand count changes with setSuccessorArgs), after the
  /// successor array.
  Use *operandBase() const {
    if (hasEdges()) {
      Successor *s = succs();
      return reinterpret_cast<Use *>(s + static_cast<uint32_t>(edgeHeader(s)));
    }
    return reinterpret_cast<Use *>(const_cast<Instruction *>(this)) -
           numOperands();
  }

  CPtr<Block> parent_;
  // Followed, for the opcodes that have them, by the auxiliary words
  // (hasAuxWords); preceded by the operands unless the opcode has edges.
};

inline unsigned Instruction::numAuxWords(Opcode op) {
  switch (op) {
  case Opcode::ICmp:
    return 1;
  case Opcode::EnumPayload:
    return 3;
  case Opcode::Load:
  case Opcode::Store:
  case Opcode::HeapFree:
  case Opcode::Ret:
  case Opcode::Unreachable:
    return 0;
  default:
    // Add .. Trunc: arithmetic, select and casts.
    return static_cast<unsigned>(op) <= static_cast<unsigned>(Opcode::Trunc)
               ? 0
               : 2;
  }
}

/// A position in a block's instruction list. A reverse iterator points at
/// the instruction it yields (unlike std::reverse_iterator), so erasing the
/// current instruction while walking backwards with make_early_inc_range is
/// safe, as it is forwards.
template <typename InstT, bool Reverse> class InstIterator {
public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = Instruction;
  using difference_type = std::ptrdiff_t;
  using pointer = InstT *;
  using reference = InstT &;
  InstIterator() = default;
  explicit InstIterator(const InstNode *n) : n_(const_cast<InstNode *>(n)) {}
  template <typename O, typename = std::enable_if_t<std::is_const_v<InstT> ||
                                                    !std::is_const_v<O>>>
  InstIterator(const InstIterator<O, Reverse> &o) : n_(o.node()) {}
  InstT &operator*() const { return *static_cast<InstT *>(n_); }
  InstT *operator->() const { return static_cast<InstT *>(n_); }
  InstIterator &operator++() {
    n_ = Reverse ? n_->prev_.get() : n_->next_.get();
    return *this;
  }
  InstIterator operator++(int) { auto t = *this; ++*this; return t; }
  InstIterator &operator--() {
    n_ = Reverse ? n_->next_.get() : n_->prev_.get();
    return *this;
  }
  InstIterator operator--(int) { auto t = *this; --*this; return t; }
  bool operator==(const InstIterator &o) const { return n_ == o.n_; }
  bool operator!=(const InstIterator &o) const { return n_ != o.n_; }
  InstNode *node() const { return n_; }

private:
  InstNode *n_ = nullptr;
};

inline InstIterator<Instruction> Instruction::getIterator() {
  return InstIterator<Instruction>(this);
}
inline InstIterator<const Instruction> Instruction::getIterator() const {
  return InstIterator<const Instruction>(this);
}

inline BindingId Value::binding() const {
  switch (vkind_) {
  case ValueKind::Argument:
    return static_cast<const Argument *>(this)->binding_;
  case ValueKind::BlockArg:
    return static_cast<const BlockArg *>(this)->binding_;
  case ValueKind::Instruction: {
    auto *i = static_cast<const Instruction *>(this);
    return i->carriesBinding() ? i->trailing()[0] : 0;
  }
  default:
    return 0;
  }
}

/// A block's instructions: a circular doubly linked list through InstNode,
/// with the sentinel inside the list (so it, too, lives in the cage).
class InstList {
public:
  using iterator = InstIterator<Instruction>;
  using const_iterator = InstIterator<const Instruction>;
  using reverse_iterator = InstIterator<Instruction, true>;
  using const_reverse_iterator = InstIterator<const Instruction, true>;

  InstList() { sentinel_.prev_ = sentinel_.next_ = &sentinel_; }
  InstList(const InstList &) = delete;
  InstList &operator=(const InstList &) = delete;

  iterator begin() { return iterator(sentinel_.next_); }
  iterator end() { return iterator(&sentinel_); }
  const_iterator begin() const { return const_iterator(sentinel_.next_); }
  const_iterator end() const { return const_iterator(&sentinel_); }
  reverse_iterator rbegin() { return reverse_iterator(sentinel_.prev_); }
  reverse_iterator rend() { return reverse_iterator(&sentinel_); }
  const_reverse_iterator rbegin() const {
    return const_reverse_iterator(sentinel_.prev_);
  }
  const_reverse_iterator rend() const {
    return const_reverse_iterator(&sentinel_);
  }

  bool empty() const { return sentinel_.next_.get() == &sentinel_; }
  /// O(n), like simple_ilist.
  size_t size() const { return std::distance(begin(), end()); }
  Instruction &front() { return *begin(); }
  Instruction &back() { return *std::prev(end()); }
  const Instruction &front() const { return *begin(); }
  const Instruction &back() const { return *std::prev(end()); }

  void push_back(Instruction &i) { insert(end(), i); }
  iterator insert(iterator pos, Instruction &i) {
    InstNode *n = &i, *at = pos.node(), *before = at->prev_;
    n->prev_ = before;
    n->next_ = at;
    before->next_ = n;
    at->prev_ = n;
    return iterator(n);
  }
  void remove(Instruction &i) {
    InstNode *n = &i;
    InstNode *before = n->prev_, *after = n->next_;
    before->next_ = after;
    after->prev_ = before;
    n->prev_ = n->next_ = nullptr;
  }

private:
  InstNode sentinel_;
};

//===----------------------------------------------------------------------===//
// Blocks and functions
//===----------------------------------------------------------------------===//

class Block final : public llvm::ilist_node<Block> {
public:
  Function *parent() const { return parent_; }
  uint32_t id() const { return id_; }
  llvm::StringRef name() const { return cage::recordText(name_.get()); }
  /// Like Value::setName.
  void setName(llvm::StringRef n);

  llvm::ArrayRef<BlockArg *> args() const {
    ArgList *l = args_;
    return l ? llvm::ArrayRef<BlockArg *>(l->slots(), l->count)
             : llvm::ArrayRef<BlockArg *>();
  }
  unsigned numArgs() const { return args_ ? args_->count : 0; }
  BlockArg *arg(unsigned i) const { return args().data()[i]; }
  BlockArg *addArg(const Type *t, llvm::StringRef name = {});
  /// Removes parameter i (it must have no uses) and renumbers the rest.
  /// The caller updates the predecessors' edges.
  void eraseArg(unsigned i);

  using InstList = qmir::InstList;
  InstList &insts() { return insts_; }
  const InstList &insts() const { return insts_; }
  bool empty() const { return insts_.empty(); }
  Instruction &front() { return insts_.front(); }
  Instruction &back() { return insts_.back(); }
  /// The last instruction if it is a terminator, else nullptr.
  Instruction *terminator() const;

  llvm::SmallVector<Block *, 2> successors() const;
  /// Predecessors in function order, one entry per edge (a block that branches
  /// here twice appears twice). O(edges of the function); cache via an analysis
  /// when you need them for every block.
  llvm::SmallVector<Block *, 4> predecessors() const;

  void append(Instruction *inst);
  void insertBefore(Instruction *inst, Instruction *pos);
  /// Unlinks the block from its function; its instructions drop their operands.
  void eraseFromParent();

private:
  friend class Function;
  friend class Instruction;
  Block(Function *f, uint32_t id) : parent_(f), id_(id) {}
  CPtr<Function> parent_;
  uint32_t id_;
  CPtr<const char> name_; // a string record (mir/Cage.h)
  // In the function's arena; a full array is copied to one twice the size.
  // The parameters, with their count and capacity in front (most blocks
  // have none, and pay 4 bytes for it); in the function's arena, and a full
  // list is copied to one twice the size.
  struct ArgList {
    uint32_t count, capacity;
    BlockArg **slots() { return reinterpret_cast<BlockArg **>(this + 1); }
  };
  CPtr<ArgList> args_;
  InstList insts_;
};

class Function final : public llvm::ilist_node<Function> {
public:
  Module *parent() const { return parent_; }
  llvm::StringRef name() const { return name_; }
  const Type *type() const { return type_; } // a function type
  const Type *returnType() const { return type_->result(); }
  llvm::ArrayRef<Argument *> args() const { return args_; }
  Argument *arg(unsigned i) const { return args_[i]; }

  /// A declaration has no body: an external or runtime function.
  bool isDeclaration() const { return blocks_.empty(); }
  /// Declared `noreturn`: calls to it end their path (e.g. runtime panics).
  bool isNoReturn() const { return noReturn_; }
  void setNoReturn(bool b) { noReturn_ = b; }

  using BlockList = llvm::simple_ilist<Block>;
  BlockList &blocks() { return blocks_; }
  const BlockList &blocks() const { return blocks_; }
  Block *entry() { return blocks_.empty() ? nullptr : &blocks_.front(); }
  const Block *entry() const { return blocks_.empty() ? nullptr : &blocks_.front(); }

  /// Creates a block; appended at the end unless `before` is given.
  Block *createBlock(llvm::StringRef name = {}, Block *before = nullptr);

  /// Creates an unlinked instruction (used by Builder and by passes).
  Instruction *createInst(Opcode op, const Type *resultTy,
                          llvm::ArrayRef<Value *> operands,
                          unsigned numSuccessors = 0);

  /// Upper bounds of the dense ids, for sizing per-id tables.
  uint32_t numValueIds() const { return nextValueId_; }
  uint32_t numBlockIds() const { return nextBlockId_; }
  /// Number of instructions currently in the body.
  size_t instructionCount() const;
  /// Frees the body and everything it allocated, leaving a declaration with
  /// the same name, type and arguments (the same Argument objects, which
  /// live in the module's arena). Nothing may point into the body any more;
  /// every instruction
  /// must be in a block (the uses of those are unlinked from the values they
  /// read, constants included). mir-opt's streaming mode calls it once a
  /// function has been optimized and printed.
  void dropBody();

  IRArena &arena() { return arena_; }
  llvm::StringRef save(llvm::StringRef s);

private:
  friend class Module;
  friend class Block;
  friend class Instruction;
  Function(Module *m, llvm::StringRef name, const Type *fnTy);
  /// Unlinks the operands of every instruction in the body from the use
  /// lists they are in (constants are shared by the whole module).
  void dropAllReferences();
  /// Gives `inst` (an opcode with edges) a new successor array, with room
  /// for `numOperands` operands after it; returns the operands.
  Use *allocateEdges(Instruction *inst, unsigned numSuccessors,
                     size_t numOperands);
  ~Function();
  uint32_t takeValueId() { return nextValueId_++; }

  Module *parent_;
  llvm::StringRef name_;
  const Type *type_;
  bool noReturn_ = false;
  llvm::SmallVector<Argument *, 4> args_;
  BlockList blocks_;
  uint32_t nextValueId_ = 0;
  uint32_t nextBlockId_ = 0;
  IRArena arena_;
};

/// A translation unit: types, constants, bindings, locations and functions.
/// An actor: the struct holding its fields, the function that gives them
/// their declared initial values (`@A.init(%state: ptr)`), and its methods
/// (`@A.m(%state: ptr, args...)`). Callers reach it through declared stubs
/// named after the methods (`@A.m.send`, `@A.m.call`) and `@A.new`, which
/// the actor pass (passes/ActorLower.cpp) defines.
struct ActorDecl {
  llvm::StringRef name;
  const Type *state = nullptr;
  Function *init = nullptr;
  llvm::SmallVector<Function *, 4> methods;
};

class Module {
public:
  Module();
  ~Module();
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;

  TypeContext &types() { return types_; }
  const TypeContext &types() const { return types_; }

  // Functions, in definition order.
  using FunctionList = llvm::simple_ilist<Function>;
  FunctionList &functions() { return functions_; }
  const FunctionList &functions() const { return functions_; }
  Function *function(llvm::StringRef name) const;
  /// Creates a function (a declaration until it gets blocks). Returns nullptr if
  /// the name is taken.
  Function *createFunction(llvm::StringRef name, const Type *fnTy);
  /// The function named `name`, or a new declaration of type `fnTy` if there
  /// is none: how lowerings and passes reach runtime functions.
  Function *getOrDeclareFunction(llvm::StringRef name, const Type *fnTy);
  /// Removes a function that nothing calls any more (with its body, if it
  /// has one).
  void eraseFunction(Function *f);

  // Constants, uniqued per module.
  ConstInt *constInt(const Type *intTy, int64_t v); // truncates to the width
  ConstInt *constBool(bool b) { return constInt(types_.i1(), b); }
  ConstInt *constI64(int64_t v) { return constInt(types_.i64(), v); }
  ConstString *constString(llvm::StringRef s);
  UndefValue *undef(const Type *t);

  // Bindings: id 0 is "none"; real ones start at 1.
  BindingId addBinding(llvm::StringRef name, uint32_t scope, uint32_t gensym);
  const Binding &binding(BindingId id) const { return bindings_[id]; }
  size_t numBindings() const { return bindings_.size() - 1; }

  // Source files and locations.
  uint32_t addSourceFile(llvm::StringRef path);
  llvm::ArrayRef<std::string> sourceFiles() const { return files_; }
  /// Whether instructions created from now on have room for a source
  /// location (4 bytes each): true unless turned off, and again from the
  /// first addLoc on. The MIR parser turns it off for text without any
  /// location; setLoc with a location on an instruction made while it was
  /// off is a fatal error.
  void setRecordsLocations(bool b) { recordsLocations_ = b; }
  bool recordsLocations() const { return recordsLocations_; }
  /// Records a location; never returns 0. A repeat of the previous location
  /// gets the same id (other repeats may get new ids: compare SourceLocs, not
  /// ids).
  LocId addLoc(SourceLoc loc);
  const SourceLoc &loc(LocId id) const { return locs_[id]; }
  size_t numLocs() const { return locs_.size() - 1; }

  /// Arena for patterns and other module-lifetime data.
  IRArena &arena() { return arena_; }
  llvm::StringRef save(llvm::StringRef s);
  /// Actors, in declaration order.
  std::vector<ActorDecl> &actors() { return actors_; }
  const std::vector<ActorDecl> &actors() const { return actors_; }

  const Pattern *makeWildcard();
  const Pattern *makeBind(llvm::StringRef name);
  const Pattern *makeIntPattern(int64_t v);
  const Pattern *makeVariantPattern(uint32_t variant,
                                    llvm::ArrayRef<const Pattern *> fields);

private:
  TypeContext types_;
  IRArena arena_{IRArena::OwnRunsOnly}; // lives as long as the module
  FunctionList functions_;
  llvm::StringMap<Function *> functionsByName_;
  llvm::DenseMap<std::pair<const Type *, int64_t>, ConstInt *> ints_;
  llvm::StringMap<ConstString *> strings_;
  llvm::DenseMap<const Type *, UndefValue *> undefs_;
  uint32_t nextConstId_ = 0;
  std::vector<Binding> bindings_;
  std::vector<ActorDecl> actors_;
  std::vector<std::string> files_;
  std::vector<SourceLoc> locs_;
  LocId lastLoc_ = 0;
  bool recordsLocations_ = true;
};

// Casting helpers in the LLVM style.
template <typename T> bool isa(const Value *v);
template <> inline bool isa<Instruction>(const Value *v) {
  return v->valueKind() == ValueKind::Instruction;
}
template <> inline bool isa<Argument>(const Value *v) {
  return v->valueKind() == ValueKind::Argument;
}
template <> inline bool isa<BlockArg>(const Value *v) {
  return v->valueKind() == ValueKind::BlockArg;
}
template <> inline bool isa<ConstInt>(const Value *v) {
  return v->valueKind() == ValueKind::ConstInt;
}
template <> inline bool isa<ConstString>(const Value *v) {
  return v->valueKind() == ValueKind::ConstString;
}
template <> inline bool isa<UndefValue>(const Value *v) {
  return v->valueKind() == ValueKind::Undef;
}
template <typename T> T *dyn_cast(Value *v) {
  return v && isa<T>(v) ? static_cast<T *>(v) : nullptr;
}
template <typename T> const T *dyn_cast(const Value *v) {
  return v && isa<T>(v) ? static_cast<const T *>(v) : nullptr;
}
template <typename T> T *cast(Value *v) { return static_cast<T *>(v); }
template <typename T> const T *cast(const Value *v) {
  return static_cast<const T *>(v);
}

} // namespace qmir
