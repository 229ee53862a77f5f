#include "mir/Builder.h"

#include <cassert>

using namespace qmir;

Instruction *Builder::insert(Instruction *inst) {
  assert(block_ && "no insertion point");
  if (!inst->loc())
    inst->setLoc(loc_);
  if (before_)
    block_->insertBefore(inst, before_);
  else
    block_->append(inst);
  return inst;
}

Instruction *Builder::make(Opcode op, const Type *t, llvm::ArrayRef<Value *> ops,
                           unsigned numSuccs) {
  return insert(fn()->createInst(op, t, ops, numSuccs));
}

// Result types are derived from the operands where the IR allows it. When an
// operand does not have the shape the opcode needs (a frontend bug), the result
// gets type void and the verifier reports the instruction.
static const Type *fieldType(const Type *agg, unsigned i, const Type *fallback) {
  if (agg && agg->isStruct() && i < agg->fields().size())
    return agg->fields()[i];
  return fallback;
}

Instruction *Builder::binary(Opcode op, Value *a, Value *b) {
  assert(isBinaryOp(op));
  return make(op, a->type(), {a, b});
}

Instruction *Builder::icmp(ICmpPred p, Value *a, Value *b) {
  Instruction *i = make(Opcode::ICmp, types().i1(), {a, b});
  i->setPredicate(p);
  return i;
}

Instruction *Builder::select(Value *c, Value *t, Value *f) {
  return make(Opcode::Select, t->type(), {c, t, f});
}

Instruction *Builder::cast(Opcode op, Value *v, const Type *to) {
  assert(isCast(op));
  return make(op, to, {v});
}

Instruction *Builder::alloc(const Type *t, BindingId binding, llvm::StringRef name) {
  Instruction *i = make(Opcode::Alloca, types().ptr(), {});
  i->setAuxType(t);
  i->setBinding(binding);
  if (!name.empty())
    i->setName(fn()->save(name));
  else if (binding)
    i->setName(m_.binding(binding).name);
  return i;
}

Instruction *Builder::load(const Type *t, Value *ptr) {
  return make(Opcode::Load, t, {ptr});
}

Instruction *Builder::store(Value *v, Value *ptr) {
  return make(Opcode::Store, types().voidTy(), {v, ptr});
}

Instruction *Builder::structMake(const Type *st, llvm::ArrayRef<Value *> fields) {
  Instruction *i = make(Opcode::StructMake, st, fields);
  i->setAuxType(st);
  return i;
}

Instruction *Builder::structExtract(Value *agg, unsigned field) {
  Instruction *i = make(Opcode::StructExtract,
                        fieldType(agg->type(), field, types().voidTy()), {agg});
  i->setAuxType(agg->type());
  i->setFieldIndex(field);
  return i;
}

Instruction *Builder::structInsert(Value *agg, unsigned field, Value *v) {
  Instruction *i = make(Opcode::StructInsert, agg->type(), {agg, v});
  i->setAuxType(agg->type());
  i->setFieldIndex(field);
  return i;
}

Instruction *Builder::fieldAddr(const Type *st, Value *ptr, unsigned field) {
  Instruction *i = make(Opcode::FieldAddr, types().ptr(), {ptr});
  i->setAuxType(st);
  i->setFieldIndex(field);
  return i;
}

Instruction *Builder::enumMake(const Type *en, unsigned variant,
                               llvm::ArrayRef<Value *> payload) {
  Instruction *i = make(Opcode::EnumMake, en, payload);
  i->setAuxType(en);
  i->setVariantIndex(variant);
  return i;
}

Instruction *Builder::enumTag(Value *e) {
  Instruction *i = make(Opcode::EnumTag, types().i32(), {e});
  i->setAuxType(e->type());
  return i;
}

Instruction *Builder::enumPayload(Value *e, unsigned variant, unsigned field) {
  const Type *t = types().voidTy();
  const Type *en = e->type();
  if (en->isEnum() && variant < en->variants().size() &&
      field < en->variants()[variant].fields.size())
    t = en->variants()[variant].fields[field];
  Instruction *i = make(Opcode::EnumPayload, t, {e});
  i->setAuxType(en);
  i->setVariantIndex(variant);
  i->setFieldIndex(field);
  return i;
}

Instruction *Builder::call(Function *callee, llvm::ArrayRef<Value *> args) {
  Instruction *i = make(Opcode::Call, callee->returnType(), args);
  i->setCallee(callee);
  return i;
}

Instruction *Builder::await(Function *op, llvm::ArrayRef<Value *> args) {
  Instruction *i = make(Opcode::Await, types().i64(), args);
  i->setCallee(op);
  return i;
}

Instruction *Builder::funcAddr(Function *f) {
  Instruction *i = make(Opcode::FuncAddr, types().ptr(), {});
  i->setCallee(f);
  return i;
}

Instruction *Builder::newObject(const Type *t) {
  Instruction *i = make(Opcode::HeapNew, types().ptr(), {});
  i->setAuxType(t);
  return i;
}

Instruction *Builder::freeObject(Value *p) {
  return make(Opcode::HeapFree, types().voidTy(), {p});
}

Instruction *Builder::dbgValue(BindingId b, Value *v) {
  Instruction *i = make(Opcode::DbgValue, types().voidTy(), {v});
  i->setBinding(b);
  return i;
}

// Terminators: the operand array is [main operands..., edge 0 args..., edge 1
// args...]; each Successor records its slice.
namespace {
struct EdgeSpec {
  Block *dest;
  llvm::ArrayRef<Value *> args;
};
} // namespace

static Instruction *makeTerminator(Builder &b, Function *f, Opcode op,
                                   llvm::ArrayRef<Value *> main,
                                   llvm::ArrayRef<EdgeSpec> edges) {
  llvm::SmallVector<Value *, 8> ops(main.begin(), main.end());
  for (const EdgeSpec &e : edges)
    ops.append(e.args.begin(), e.args.end());
  Instruction *i =
      f->createInst(op, b.types().voidTy(), ops, static_cast<unsigned>(edges.size()));
  unsigned next = main.size();
  for (unsigned k = 0; k < edges.size(); ++k) {
    Successor &s = i->successors()[k];
    s.block = edges[k].dest;
    s.firstArg = next;
    s.numArgs = edges[k].args.size();
    next += s.numArgs;
  }
  return b.insert(i);
}

Instruction *Builder::br(Block *dest, llvm::ArrayRef<Value *> args) {
  return makeTerminator(*this, fn(), Opcode::Br, {}, {EdgeSpec{dest, args}});
}

Instruction *Builder::condBr(Value *cond, Block *t, llvm::ArrayRef<Value *> targs,
                             Block *f, llvm::ArrayRef<Value *> fargs) {
  return makeTerminator(*this, fn(), Opcode::CondBr, {cond},
                        {EdgeSpec{t, targs}, EdgeSpec{f, fargs}});
}

Instruction *Builder::switchOn(Value *v, Block *defaultDest,
                               llvm::ArrayRef<Value *> defaultArgs,
                               llvm::ArrayRef<SwitchCase> cases) {
  llvm::SmallVector<EdgeSpec, 8> edges;
  edges.push_back({defaultDest, defaultArgs});
  for (const SwitchCase &c : cases)
    edges.push_back({c.dest, c.args});
  Instruction *i = makeTerminator(*this, fn(), Opcode::Switch, {v}, edges);
  i->successors()[0].isDefault = true;
  for (unsigned k = 0; k < cases.size(); ++k)
    i->successors()[k + 1].caseValue = cases[k].value;
  return i;
}

Instruction *Builder::match(Value *v, llvm::ArrayRef<MatchArm> arms,
                            Block *defaultDest, llvm::ArrayRef<Value *> defaultArgs) {
  llvm::SmallVector<EdgeSpec, 8> edges;
  for (const MatchArm &a : arms)
    edges.push_back({a.dest, {}});
  if (defaultDest)
    edges.push_back({defaultDest, defaultArgs});
  Instruction *i = makeTerminator(*this, fn(), Opcode::Match, {v}, edges);
  for (unsigned k = 0; k < arms.size(); ++k)
    i->successors()[k].pattern = arms[k].pattern;
  if (defaultDest)
    i->successors()[arms.size()].isDefault = true;
  return i;
}

Instruction *Builder::ret(Value *v) {
  if (v)
    return make(Opcode::Ret, types().voidTy(), {v});
  return make(Opcode::Ret, types().voidTy(), {});
}

Instruction *Builder::unreachable() {
  return make(Opcode::Unreachable, types().voidTy(), {});
}

Instruction *Builder::panic(llvm::StringRef message) {
  Instruction *i = make(Opcode::Panic, types().voidTy(), {});
  i->setMessage(fn()->save(message));
  return i;
}
