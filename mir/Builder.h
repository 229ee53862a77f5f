// Builder: the API frontends and passes use to create MIR. It inserts at a
// position (the end of a block, or before an instruction), stamps each new
// instruction with the current source location, and computes result types, so
// that a frontend never spells a type the IR can derive. It checks nothing a
// frontend could get wrong: run the verifier on what you built.
#pragma once

#include "mir/IR.h"

namespace qmir {

class Builder {
public:
  explicit Builder(Module &m) : m_(m) {}

  Module &module() { return m_; }
  TypeContext &types() { return m_.types(); }

  // Insertion point.
  void setInsertPoint(Block *b) { block_ = b; before_ = nullptr; }
  void setInsertPoint(Instruction *before) {
    block_ = before->parent();
    before_ = before;
  }
  Block *insertBlock() const { return block_; }
  void setLoc(LocId loc) { loc_ = loc; }
  LocId loc() const { return loc_; }

  // Constants.
  ConstInt *i64(int64_t v) { return m_.constI64(v); }
  ConstInt *i32(int64_t v) { return m_.constInt(m_.types().i32(), v); }
  ConstInt *boolean(bool b) { return m_.constBool(b); }
  ConstInt *intConst(const Type *t, int64_t v) { return m_.constInt(t, v); }
  ConstString *str(llvm::StringRef s) { return m_.constString(s); }

  // Arithmetic, comparison, casts.
  Instruction *binary(Opcode op, Value *a, Value *b);
  Instruction *add(Value *a, Value *b) { return binary(Opcode::Add, a, b); }
  Instruction *sub(Value *a, Value *b) { return binary(Opcode::Sub, a, b); }
  Instruction *mul(Value *a, Value *b) { return binary(Opcode::Mul, a, b); }
  Instruction *sdiv(Value *a, Value *b) { return binary(Opcode::SDiv, a, b); }
  Instruction *srem(Value *a, Value *b) { return binary(Opcode::SRem, a, b); }
  Instruction *icmp(ICmpPred p, Value *a, Value *b);
  Instruction *select(Value *c, Value *t, Value *f);
  Instruction *cast(Opcode op, Value *v, const Type *to);

  // Memory. (`alloc` emits an `alloca`; the C library reserves that name.)
  Instruction *alloc(const Type *t, BindingId binding = 0,
                      llvm::StringRef name = {});
  Instruction *load(const Type *t, Value *ptr);
  Instruction *store(Value *v, Value *ptr);

  // Aggregates.
  Instruction *structMake(const Type *st, llvm::ArrayRef<Value *> fields);
  Instruction *structExtract(Value *agg, unsigned field);
  Instruction *structInsert(Value *agg, unsigned field, Value *v);
  Instruction *fieldAddr(const Type *st, Value *ptr, unsigned field);
  Instruction *enumMake(const Type *en, unsigned variant,
                        llvm::ArrayRef<Value *> payload);
  Instruction *enumTag(Value *e);
  Instruction *enumPayload(Value *e, unsigned variant, unsigned field);

  // Calls and debug info.
  Instruction *call(Function *callee, llvm::ArrayRef<Value *> args);

  // Tasks. `await` suspends on the poll-form operation `op` (its last
  // parameter, the task, is implicit); `newObject`/`freeObject` are the heap
  // objects `new T` / `free p` (task frames).
  Instruction *await(Function *op, llvm::ArrayRef<Value *> args);
  Instruction *funcAddr(Function *f);
  Instruction *newObject(const Type *t);
  Instruction *freeObject(Value *p);
  Instruction *dbgValue(BindingId b, Value *v);

  // Terminators.
  Instruction *br(Block *dest, llvm::ArrayRef<Value *> args = {});
  Instruction *condBr(Value *cond, Block *t, llvm::ArrayRef<Value *> targs,
                      Block *f, llvm::ArrayRef<Value *> fargs);
  Instruction *condBr(Value *cond, Block *t, Block *f) {
    return condBr(cond, t, {}, f, {});
  }
  struct SwitchCase {
    int64_t value;
    Block *dest;
    llvm::SmallVector<Value *, 2> args;
  };
  Instruction *switchOn(Value *v, Block *defaultDest,
                        llvm::ArrayRef<Value *> defaultArgs,
                        llvm::ArrayRef<SwitchCase> cases);
  struct MatchArm {
    const Pattern *pattern;
    Block *dest; // its parameters receive pattern's bindings, in pre-order
  };
  /// `defaultDest` may be null (then the arms must cover every value).
  Instruction *match(Value *v, llvm::ArrayRef<MatchArm> arms, Block *defaultDest,
                     llvm::ArrayRef<Value *> defaultArgs = {});
  Instruction *ret(Value *v = nullptr);
  Instruction *unreachable();
  Instruction *panic(llvm::StringRef message);

  /// Inserts an instruction made with Function::createInst at the insertion
  /// point and stamps the current location.
  Instruction *insert(Instruction *inst);

private:
  Function *fn() const { return block_->parent(); }
  Instruction *make(Opcode op, const Type *t, llvm::ArrayRef<Value *> ops,
                    unsigned numSuccs = 0);

  Module &m_;
  Block *block_ = nullptr;
  Instruction *before_ = nullptr;
  LocId loc_ = 0;
};

} // namespace qmir
