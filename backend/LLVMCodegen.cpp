// MIR -> LLVM IR. One MIR function becomes one LLVM function:
// - MIR blocks become basic blocks (only those reachable from the entry, in
//   reverse post-order so that every definition is emitted before its uses);
//   block parameters become phis; an edge that passes arguments from a
//   terminator with several edges to the same target gets its own small block
//   so that every phi has one incoming value per predecessor.
// - An LLVM prologue block holds every alloca (so LLVM's mem2reg/SROA see
//   them) and branches to the MIR entry; the MIR `alloca` itself becomes a
//   zeroing store where it stands, because MIR allocas are zero-initialised
//   each time they execute.
// - Structs are LLVM structs; an enum is {i32 tag, [N x iA] payload} where A
//   is the largest alignment of any variant's fields and N*A covers the
//   largest variant; a variant's fields are laid out as the LLVM struct of its
//   field types over the payload bytes (opaque-pointer GEPs, no bitcasts).
//   When every field of a variant has the payload's element type (the common
//   Option<Int> case) enum.make/enum.payload use insertvalue/extractvalue.
// - Division checks are explicit: divisor 0 calls qz_panic_at("division by
//   zero", FILE, LINE, COL); MIN sdiv -1 is MIN and MIN srem -1 is 0 by a
//   select around an LLVM sdiv whose divisor is never -1. Shift amounts are
//   masked to the width. `undef` is zero, as in the interpreter.
// - `panic` and the runtime's panics become calls to the noreturn qz_panic_at
//   / qz_panic_bounds_at with the instruction's source location, so the
//   message matches the interpreter's "panic: MSG at FILE:LINE:COL".
// - `match` (when match-lower has not run) is compiled arm by arm: each arm's
//   pattern becomes a chain of tag/literal tests combined with a logical and
//   (select, so that a payload read under a failed tag test cannot poison the
//   result), first match wins; LLVM's SimplifyCFG turns the chains into
//   switches.
#include "backend/LLVMBackend.h"

#include "mir/Printer.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/BinaryFormat/Dwarf.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DIBuilder.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace qmir;

namespace {

/// Runtime functions of the native runtime (runtime/qz_runtime.h), with the
/// MIR signature that has their C ABI (int64_t: i64, bool: i1, pointers: ptr).
/// A call, await or func.addr of a declaration with one of these names must
/// use this signature.
struct KnownRuntimeFn {
  const char *name;
  const char *signature;
};
const KnownRuntimeFn kKnownRuntime[] = {
    {"qz_print_i64", "fn(i64) -> void"},      {"qz_println_i64", "fn(i64) -> void"},
    {"qz_print_bool", "fn(i1) -> void"},      {"qz_println_bool", "fn(i1) -> void"},
    {"qz_print_str", "fn(ptr) -> void"},      {"qz_println_str", "fn(ptr) -> void"},
    {"qz_panic_str", "fn(ptr) -> void"},      {"qz_panic_bounds", "fn(i64, i64) -> void"},
    {"qz_vec_new", "fn() -> ptr"},            {"qz_vec_len", "fn(ptr) -> i64"},
    {"qz_vec_push", "fn(ptr, i64) -> void"},  {"qz_vec_pop", "fn(ptr) -> i64"},
    {"qz_vec_get", "fn(ptr, i64) -> i64"},    {"qz_vec_set", "fn(ptr, i64, i64) -> void"},
    {"qz_vec_free", "fn(ptr) -> void"},       {"qz_flush", "fn() -> void"},
    // Tasks (what coro-split generates calls to; docs/runtime.md).
    {"qz_main", "fn(ptr, ptr) -> void"},
    {"qz_spawn", "fn(ptr, ptr) -> ptr"},
    {"qz_spawn_named", "fn(ptr, ptr, ptr) -> ptr"},
    {"qz_task_set_result", "fn(ptr, i64) -> void"},
    {"qz_task_wake", "fn(ptr) -> void"},
    {"qz_task_retain", "fn(ptr) -> void"},
    {"qz_task_release", "fn(ptr) -> void"},
    {"qz_current_task", "fn() -> ptr"},
    {"qz_runtime_workers", "fn() -> i64"},
    {"qz_yield_poll", "fn(ptr) -> i64"},
    {"qz_usleep_poll", "fn(i64, ptr) -> i64"},
    {"qz_usleep", "fn(i64) -> void"},
    {"qz_io_wait_poll", "fn(i64, i64, ptr) -> i64"},
    {"qz_io_forget", "fn(i64) -> void"},
    // Channels of Int.
    {"qz_chan_new", "fn(i64) -> ptr"},
    {"qz_chan_free", "fn(ptr) -> void"},
    {"qz_chan_close", "fn(ptr) -> void"},
    {"qz_chan_len", "fn(ptr) -> i64"},
    {"qz_chan_send_poll", "fn(ptr, i64, ptr) -> i64"},
    {"qz_chan_recv_poll", "fn(ptr, ptr, ptr) -> i64"},
    {"qz_chan_send", "fn(ptr, i64) -> void"},
    {"qz_chan_recv", "fn(ptr, ptr) -> i1"},
    {"qz_chan_try_recv", "fn(ptr, ptr) -> i1"},
    {"qz_chan_try_send", "fn(ptr, i64) -> i1"},
    // Actors (what actor-lower and coro-split generate calls to).
    {"qz_actor_create", "fn(ptr, ptr) -> ptr"},
    {"qz_actor_state", "fn(ptr) -> ptr"},
    {"qz_actor_start", "fn(ptr, ptr, ptr, ptr) -> ptr"},
    {"qz_actor_panicked", "fn(ptr) -> i64"},
    {"qz_actor_run_mode", "fn(ptr) -> i64"},
    {"qz_actor_has_failed", "fn(ptr) -> i1"},
    {"qz_actor_take_failed", "fn(ptr) -> ptr"},
    {"qz_actor_set_current", "fn(ptr, ptr, ptr) -> void"},
    {"qz_actor_clear_current", "fn(ptr) -> void"},
    {"qz_actor_current_method", "fn(ptr) -> ptr"},
    {"qz_actor_send", "fn(ptr, ptr) -> i1"},
    {"qz_actor_send_poll", "fn(ptr, ptr, ptr) -> i64"},
    {"qz_actor_recv_poll", "fn(ptr, ptr, ptr) -> i64"},
    {"qz_actor_stop_poll", "fn(ptr, ptr) -> i64"},
    {"qz_actor_finished", "fn(ptr) -> void"},
    {"qz_actor_link", "fn(ptr, ptr) -> void"},
    {"qz_actor_status", "fn(ptr) -> i64"},
};

/// Runtime functions that never return, whatever their MIR declaration says.
bool isNoReturnRuntime(llvm::StringRef n) { return n == "qz_main"; }

constexpr llvm::StringLiteral kSpawnPrefix = "qz.spawn.";

/// An actor's constructor or message stub as the lowering declares it (`A.new`,
/// `A.m.send`, `A.m.call`): actor-lower gives them bodies, so a body-less one
/// called here means that pass did not run.
bool isUnloweredActorStub(const Function &f) {
  if (!f.isDeclaration())
    return false;
  llvm::StringRef n = f.name();
  if (n.starts_with("qz_"))
    return false;
  llvm::SmallVector<llvm::StringRef, 4> parts;
  n.split(parts, '.');
  if (parts.size() == 2 && parts[1] == "new" && !parts[0].empty())
    return true;
  return parts.size() == 3 && (parts[2] == "send" || parts[2] == "call") &&
         !parts[0].empty() && !parts[1].empty();
}

/// The program's entry when it is a task program (after coro-split):
/// `fn @main.task(ptr, ptr) -> i64` with the struct type `main.frame`.
struct TaskEntry {
  const Function *poll = nullptr;
  const Type *frame = nullptr;
};
TaskEntry findTaskEntry(const Module &m) {
  TaskEntry e;
  const Function *f = m.function("main.task");
  const Type *fr = m.types().named("main.frame");
  if (f && !f->isDeclaration() && fr && fr->isStruct() && !fr->isOpaque()) {
    e.poll = f;
    e.frame = fr;
  }
  return e;
}

std::string awaitError(const Function &f) {
  return "@" + f.name().str() +
         ": 'await' must be lowered by the coro-split pass before code generation";
}

class Codegen {
public:
  Codegen(const Module &m, llvm::LLVMContext &ctx, const llvm::DataLayout &dl,
          llvm::StringRef triple, const LLVMCodegenOptions &opts)
      : M(m), C(ctx), DL(dl), opts(opts), B(ctx) {
    L = std::make_unique<llvm::Module>(
        m.sourceFiles().empty() ? "qmir" : m.sourceFiles()[0], ctx);
    L->setDataLayout(dl);
    L->setTargetTriple(triple);
  }

  std::unique_ptr<llvm::Module> run(std::string &error, bool &internal);

private:
  struct EnumLayout {
    llvm::StructType *ty = nullptr;
    llvm::Type *elem = nullptr;
    std::vector<llvm::StructType *> variantTy;
    std::vector<bool> direct; // fields map 1:1 onto payload elements
  };

  // Types.
  llvm::Type *ty(const Type *t);
  const EnumLayout &enumLayout(const Type *t);
  llvm::FunctionType *fnTy(const Type *t);

  // Values.
  llvm::Value *val(const Value *v);
  llvm::Constant *str(llvm::StringRef s);
  llvm::Constant *fileStr(LocId loc);

  // Functions.
  bool declareFunctions();
  llvm::Function *defineVecAccessor(llvm::StringRef name);
  bool emitFunction(const Function &f);
  bool emitInst(const Instruction &I);
  bool emitTerminator(const Instruction &I);
  void emitPanicCall(llvm::StringRef msgOrEmpty, llvm::Value *msg, LocId loc);
  llvm::AllocaInst *entryAlloca(llvm::Type *t, const llvm::Twine &name = "");
  llvm::BasicBlock *edge(const Instruction &I, unsigned k, bool direct,
                         llvm::ArrayRef<llvm::Value *> argsOverride = {},
                         bool useOverride = false);
  void addIncoming(const Block *target, llvm::ArrayRef<llvm::Value *> args,
                   llvm::BasicBlock *from);
  llvm::Value *emitDivRem(const Instruction &I, llvm::Value *a, llvm::Value *b);
  llvm::Value *matchPattern(const Pattern *p, llvm::Value *v, const Type *t,
                            llvm::SmallVectorImpl<llvm::Value *> &binds);
  llvm::Value *enumPayloadField(llvm::Value *e, const Type *et, unsigned variant,
                                unsigned field);
  bool emitCMain();
  bool emitTaskCMain(llvm::Function *cmain);
  llvm::Value *emitCalloc(llvm::Type *t, LocId loc);
  bool fail(const llvm::Twine &msg) {
    if (error_.empty())
      error_ = msg.str();
    return false;
  }

  // Debug info.
  void setDebugLoc(LocId loc);
  llvm::DIFile *diFile(uint32_t file);
  llvm::DIType *diType(const Type *t);
  llvm::DILocalVariable *diVar(BindingId b, const Type *t, LocId loc, unsigned argNo);

  const Module &M;
  llvm::LLVMContext &C;
  const llvm::DataLayout &DL;
  LLVMCodegenOptions opts;
  std::unique_ptr<llvm::Module> L;
  llvm::IRBuilder<> B;
  std::string error_;

  llvm::DenseMap<const Type *, llvm::Type *> types_;
  llvm::DenseMap<const Type *, EnumLayout> enums_;
  llvm::DenseMap<const Function *, llvm::Function *> fns_;
  llvm::StringMap<llvm::Constant *> strings_;
  llvm::FunctionCallee panicAt_, panicBoundsAt_, flush_, calloc_, free_, qzMain_;
  TaskEntry taskEntry_;
  llvm::MDNode *tbaaData_ = nullptr, *tbaaLen_ = nullptr, *tbaaCap_ = nullptr,
               *tbaaElem_ = nullptr;

  // Per function.
  const Function *curF_ = nullptr;
  llvm::Function *curLF_ = nullptr;
  llvm::Instruction *allocaPt_ = nullptr;
  llvm::DenseMap<const Value *, llvm::Value *> vals_;
  llvm::DenseMap<const Block *, llvm::BasicBlock *> bbs_;
  llvm::DenseMap<const Block *, llvm::SmallVector<llvm::PHINode *, 2>> phis_;

  // Debug info state.
  std::unique_ptr<llvm::DIBuilder> DIB;
  llvm::DICompileUnit *CU = nullptr;
  llvm::DenseMap<uint32_t, llvm::DIFile *> diFiles_;
  llvm::DenseMap<const Type *, llvm::DIType *> diTypes_;
  llvm::DISubprogram *SP = nullptr;
  uint32_t spFile_ = 0;
  llvm::DenseMap<BindingId, llvm::DILocalVariable *> diVars_;
  struct PendingDbg {
    llvm::Value *v;
    llvm::DILocalVariable *var;
    const llvm::DILocation *loc;
    llvm::BasicBlock *bb;
    llvm::Instruction *after; // null: the top of bb
  };
  std::vector<PendingDbg> pendingDbg_;
};

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

llvm::Type *Codegen::ty(const Type *t) {
  auto it = types_.find(t);
  if (it != types_.end())
    return it->second;
  llvm::Type *r = nullptr;
  switch (t->kind()) {
  case TypeKind::Void:
    r = llvm::Type::getVoidTy(C);
    break;
  case TypeKind::Int:
    r = llvm::IntegerType::get(C, t->bits());
    break;
  case TypeKind::Ptr:
  case TypeKind::Function:
    r = llvm::PointerType::getUnqual(C);
    break;
  case TypeKind::Struct: {
    llvm::SmallVector<llvm::Type *, 8> fields;
    for (const Type *f : t->fields())
      fields.push_back(ty(f));
    if (t->isNamed())
      r = llvm::StructType::create(C, fields, t->name());
    else
      r = llvm::StructType::get(C, fields);
    break;
  }
  case TypeKind::Enum:
    r = enumLayout(t).ty;
    break;
  }
  types_[t] = r;
  return r;
}

const Codegen::EnumLayout &Codegen::enumLayout(const Type *t) {
  auto it = enums_.find(t);
  if (it != enums_.end())
    return it->second;
  EnumLayout lay;
  uint64_t size = 0, align = 1;
  for (const EnumVariant &v : t->variants()) {
    llvm::SmallVector<llvm::Type *, 4> fields;
    for (const Type *f : v.fields)
      fields.push_back(ty(f));
    llvm::StructType *vt = llvm::StructType::get(C, fields);
    lay.variantTy.push_back(vt);
    size = std::max<uint64_t>(size, DL.getTypeAllocSize(vt));
    align = std::max<uint64_t>(align, DL.getABITypeAlign(vt).value());
  }
  align = std::min<uint64_t>(align, 8);
  lay.elem = llvm::IntegerType::get(C, unsigned(align * 8));
  uint64_t n = (size + align - 1) / align;
  llvm::Type *i32 = llvm::Type::getInt32Ty(C);
  lay.ty = llvm::StructType::create(C, {i32, llvm::ArrayType::get(lay.elem, n)},
                                    t->isNamed() ? t->name() : "enum");
  for (llvm::StructType *vt : lay.variantTy) {
    bool direct = true;
    for (llvm::Type *f : vt->elements())
      direct &= f == lay.elem;
    lay.direct.push_back(direct);
  }
  return enums_[t] = std::move(lay);
}

llvm::FunctionType *Codegen::fnTy(const Type *t) {
  llvm::SmallVector<llvm::Type *, 8> params;
  for (const Type *p : t->params())
    params.push_back(ty(p));
  return llvm::FunctionType::get(ty(t->result()), params, false);
}

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

llvm::Constant *Codegen::str(llvm::StringRef s) {
  auto it = strings_.find(s);
  if (it != strings_.end())
    return it->second;
  llvm::Constant *init = llvm::ConstantDataArray::getString(C, s, true);
  auto *gv = new llvm::GlobalVariable(*L, init->getType(), true,
                                      llvm::GlobalValue::PrivateLinkage, init, ".str");
  gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  gv->setAlignment(llvm::Align(1));
  strings_[s] = gv;
  return gv;
}

llvm::Constant *Codegen::fileStr(LocId loc) {
  const SourceLoc &l = M.loc(loc);
  if (l.file < M.sourceFiles().size())
    return str(M.sourceFiles()[l.file]);
  return str("<unknown>");
}

llvm::Value *Codegen::val(const Value *v) {
  switch (v->valueKind()) {
  case ValueKind::ConstInt:
    return llvm::ConstantInt::get(ty(v->type()),
                                  static_cast<uint64_t>(cast<ConstInt>(v)->sext()), true);
  case ValueKind::ConstString:
    return str(cast<ConstString>(v)->text());
  case ValueKind::Undef:
    // The interpreter reads undef as zero; so do we, so that both agree.
    return llvm::Constant::getNullValue(ty(v->type()));
  default: {
    auto it = vals_.find(v);
    if (it == vals_.end())
      return nullptr;
    return it->second;
  }
  }
}

//===----------------------------------------------------------------------===//
// Debug info
//===----------------------------------------------------------------------===//

llvm::DIFile *Codegen::diFile(uint32_t file) {
  auto it = diFiles_.find(file);
  if (it != diFiles_.end())
    return it->second;
  std::string path = file < M.sourceFiles().size() ? M.sourceFiles()[file] : "<unknown>";
  llvm::SmallString<256> dir;
  llvm::sys::fs::current_path(dir);
  llvm::DIFile *f = DIB->createFile(path, dir);
  return diFiles_[file] = f;
}

llvm::DIType *Codegen::diType(const Type *t) {
  auto it = diTypes_.find(t);
  if (it != diTypes_.end())
    return it->second;
  llvm::DIType *r = nullptr;
  switch (t->kind()) {
  case TypeKind::Void:
    r = nullptr;
    break;
  case TypeKind::Int:
    if (t->bits() == 1)
      r = DIB->createBasicType("Bool", 8, llvm::dwarf::DW_ATE_boolean);
    else
      r = DIB->createBasicType(t->bits() == 64 ? "Int" : "i" + std::to_string(t->bits()),
                               t->bits(), llvm::dwarf::DW_ATE_signed);
    break;
  case TypeKind::Ptr:
  case TypeKind::Function:
    r = DIB->createPointerType(nullptr, DL.getPointerSizeInBits(), 0, std::nullopt, "ptr");
    break;
  case TypeKind::Struct:
  case TypeKind::Enum: {
    auto *st = llvm::cast<llvm::StructType>(ty(t));
    const llvm::StructLayout *sl = DL.getStructLayout(st);
    llvm::DIFile *file = diFile(0);
    std::string name = t->isNamed() ? t->name().str() : t->str();
    llvm::SmallVector<llvm::Metadata *, 8> members;
    auto *comp = DIB->createStructType(CU, name, file, 0, sl->getSizeInBits(),
                                       uint32_t(DL.getABITypeAlign(st).value() * 8),
                                       llvm::DINode::FlagZero, nullptr,
                                       DIB->getOrCreateArray({}));
    diTypes_[t] = comp;
    if (t->isStruct()) {
      for (unsigned k = 0; k < t->fields().size(); ++k) {
        llvm::DIType *ft = diType(t->fields()[k]);
        llvm::Type *lt = st->getElementType(k);
        members.push_back(DIB->createMemberType(
            comp, "f" + std::to_string(k), file, 0, DL.getTypeSizeInBits(lt),
            uint32_t(DL.getABITypeAlign(lt).value() * 8),
            sl->getElementOffsetInBits(k), llvm::DINode::FlagZero, ft));
      }
    } else {
      llvm::DIType *tag = diType(M.types().i32());
      members.push_back(DIB->createMemberType(comp, "tag", file, 0, 32, 32, 0,
                                              llvm::DINode::FlagZero, tag));
      llvm::Type *arr = st->getElementType(1);
      uint64_t n = llvm::cast<llvm::ArrayType>(arr)->getNumElements();
      unsigned eb = enumLayout(t).elem->getIntegerBitWidth();
      llvm::DIType *elemT = DIB->createBasicType("u" + std::to_string(eb), eb,
                                                 llvm::dwarf::DW_ATE_unsigned);
      llvm::DIType *arrT = DIB->createArrayType(
          n * eb, eb, elemT, DIB->getOrCreateArray({DIB->getOrCreateSubrange(0, n)}));
      members.push_back(DIB->createMemberType(comp, "payload", file, 0, n * eb, eb,
                                              sl->getElementOffsetInBits(1),
                                              llvm::DINode::FlagZero, arrT));
    }
    DIB->replaceArrays(comp, DIB->getOrCreateArray(members));
    return comp;
  }
  }
  diTypes_[t] = r;
  return r;
}

llvm::DILocalVariable *Codegen::diVar(BindingId b, const Type *t, LocId loc,
                                      unsigned argNo) {
  auto it = diVars_.find(b);
  if (it != diVars_.end())
    return it->second;
  const Binding &bind = M.binding(b);
  // The frontend's copy of a parameter (an alloca with the parameter's
  // binding) is shown as that parameter.
  if (!argNo)
    for (unsigned i = 0; i < curF_->args().size(); ++i)
      if (curF_->arg(i)->binding() == b)
        argNo = i + 1;
  unsigned line = loc ? M.loc(loc).line : SP->getLine();
  llvm::DIFile *file = loc ? diFile(M.loc(loc).file) : SP->getFile();
  llvm::DILocalVariable *v =
      argNo ? DIB->createParameterVariable(SP, bind.name, argNo, file, line, diType(t), true)
            : DIB->createAutoVariable(SP, bind.name, file, line, diType(t), true);
  return diVars_[b] = v;
}

void Codegen::setDebugLoc(LocId loc) {
  if (!DIB)
    return;
  if (!loc) {
    B.SetCurrentDebugLocation(llvm::DILocation::get(C, 0, 0, SP));
    return;
  }
  const SourceLoc &l = M.loc(loc);
  llvm::DIScope *scope = SP;
  if (l.file != spFile_)
    scope = DIB->createLexicalBlockFile(SP, diFile(l.file));
  B.SetCurrentDebugLocation(llvm::DILocation::get(C, l.line, l.col, scope));
}

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

bool Codegen::declareFunctions() {
  llvm::Type *ptrT = llvm::PointerType::getUnqual(C);
  llvm::Type *i64 = llvm::Type::getInt64Ty(C);
  llvm::Type *voidT = llvm::Type::getVoidTy(C);
  auto rtDecl = [&](llvm::StringRef name, llvm::FunctionType *ft, bool noreturn) {
    llvm::FunctionCallee fc = L->getOrInsertFunction(name, ft);
    if (auto *f = llvm::dyn_cast<llvm::Function>(fc.getCallee())) {
      f->setDoesNotThrow();
      if (noreturn) {
        f->setDoesNotReturn();
        f->addFnAttr(llvm::Attribute::Cold);
      }
    }
    return fc;
  };
  panicAt_ = rtDecl("qz_panic_at", llvm::FunctionType::get(voidT, {ptrT, ptrT, i64, i64}, false),
                    true);
  panicBoundsAt_ = rtDecl("qz_panic_bounds_at",
                          llvm::FunctionType::get(voidT, {i64, i64, ptrT, i64, i64}, false),
                          true);
  flush_ = rtDecl("qz_flush", llvm::FunctionType::get(voidT, {}, false), false);

  // Declarations that are called or whose address is taken, and whether the
  // heap (new/free) is used.
  llvm::SmallPtrSet<const Function *, 32> used;
  bool usesNew = false, usesFree = false;
  for (const Function &g : M.functions())
    for (const Block &b : g.blocks())
      for (const Instruction &I : b.insts()) {
        if (I.hasCallee() && I.callee())
          used.insert(I.callee());
        usesNew |= I.opcode() == Opcode::HeapNew;
        usesFree |= I.opcode() == Opcode::HeapFree;
      }
  taskEntry_ = opts.emitCMain ? findTaskEntry(M) : TaskEntry();
  // The runtime's allocator for `new` and `free` (qz_alloc / qz_free, with
  // per-thread free lists: frames and messages are often freed on another
  // thread), and qz_main for the entry of a task program: declared before any
  // definition so that they keep their C names. The allocation attributes
  // tell LLVM what they are, so that it may drop an object nobody uses, as
  // it would with calloc and free.
  if (usesNew || taskEntry_.poll) {
    calloc_ = rtDecl("qz_alloc", llvm::FunctionType::get(ptrT, {i64}, false), false);
    if (auto *f = llvm::dyn_cast<llvm::Function>(calloc_.getCallee())) {
      f->addFnAttr(llvm::Attribute::get(
          C, llvm::Attribute::AllocKind,
          uint64_t(llvm::AllocFnKind::Alloc | llvm::AllocFnKind::Zeroed)));
      f->addFnAttr(llvm::Attribute::getWithAllocSizeArgs(C, 0, std::nullopt));
      f->addFnAttr("alloc-family", "qz_alloc");
      f->addRetAttr(llvm::Attribute::NoAlias);
      f->addRetAttr(llvm::Attribute::NonNull);
      f->addRetAttr(llvm::Attribute::getWithAlignment(C, llvm::Align(16)));
    }
  }
  if (usesFree) {
    free_ = rtDecl("qz_free", llvm::FunctionType::get(voidT, {ptrT}, false), false);
    if (auto *f = llvm::dyn_cast<llvm::Function>(free_.getCallee())) {
      f->addFnAttr(llvm::Attribute::get(C, llvm::Attribute::AllocKind,
                                        uint64_t(llvm::AllocFnKind::Free)));
      f->addFnAttr("alloc-family", "qz_alloc");
      f->addParamAttr(0, llvm::Attribute::AllocatedPointer);
    }
  }
  if (taskEntry_.poll) {
    qzMain_ = rtDecl("qz_main", llvm::FunctionType::get(voidT, {ptrT, ptrT}, false), false);
    if (auto *f = llvm::dyn_cast<llvm::Function>(qzMain_.getCallee()))
      f->setDoesNotReturn();
  }

  // Runtime functions first (they keep their C names), then definitions
  // (LLVM renames a definition whose name a runtime function already has).
  for (const Function &f : M.functions()) {
    if (!f.isDeclaration())
      continue;
    if (!used.count(&f))
      continue;
    for (const KnownRuntimeFn &k : kKnownRuntime)
      if (f.name() == k.name && f.type()->str() != k.signature)
        return fail("runtime function @" + f.name() + " is declared as " +
                    f.type()->str() + "; the native runtime has " + k.signature);
    llvm::FunctionType *ft = fnTy(f.type());
    if (llvm::Function *inl = defineVecAccessor(f.name())) {
      fns_[&f] = inl;
      continue;
    }
    if (llvm::Function *existing = L->getFunction(f.name())) {
      if (existing->getFunctionType() != ft)
        return fail("runtime function @" + f.name() +
                    " is declared with a signature the native runtime does not have");
      fns_[&f] = existing;
      continue;
    }
    auto *lf = llvm::Function::Create(ft, llvm::GlobalValue::ExternalLinkage, f.name(), *L);
    lf->setDoesNotThrow();
    if (f.isNoReturn()) {
      lf->setDoesNotReturn();
      lf->addFnAttr(llvm::Attribute::Cold);
    } else if (isNoReturnRuntime(f.name())) {
      lf->setDoesNotReturn(); // but not cold: qz_main runs the program
    }
    // C ABI: `bool` arguments and results are zero-extended, narrow ints
    // sign-extended.
    for (unsigned i = 0; i < ft->getNumParams(); ++i) {
      if (ft->getParamType(i)->isIntegerTy(1))
        lf->addParamAttr(i, llvm::Attribute::ZExt);
      else if (ft->getParamType(i)->isIntegerTy(8) || ft->getParamType(i)->isIntegerTy(32))
        lf->addParamAttr(i, llvm::Attribute::SExt);
    }
    if (ft->getReturnType()->isIntegerTy(1))
      lf->addRetAttr(llvm::Attribute::ZExt);
    fns_[&f] = lf;
  }
  for (const Function &f : M.functions()) {
    if (f.isDeclaration())
      continue;
    std::string name = f.name() == "main" ? "qz.main" : f.name().str();
    auto *lf = llvm::Function::Create(fnTy(f.type()), llvm::GlobalValue::InternalLinkage,
                                      name, *L);
    lf->setDoesNotThrow();
    if (f.isNoReturn())
      lf->setDoesNotReturn();
    if (opts.debugInfo || opts.optLevel == 0)
      lf->addFnAttr("frame-pointer", "all");
    for (unsigned i = 0; i < f.args().size(); ++i)
      if (!f.arg(i)->name().empty())
        lf->getArg(i)->setName(f.arg(i)->name());
    fns_[&f] = lf;
  }
  return true;
}

// Vec<Int> element access is the inner loop of most Vec code, so the
// accessors are generated inline instead of being called in the runtime. They
// rely on the runtime's layout of a vector, `struct qz_vec { int64_t *data;
// int64_t len; int64_t cap; }` (runtime/basics.cpp); push takes the fast path
// when there is room and calls the runtime's qz_vec_push to grow. Every
// program that uses a Vec (tests/programs/vec_ops.qz, sieve, index_oob) checks
// the two agree.
llvm::Function *Codegen::defineVecAccessor(llvm::StringRef name) {
  enum { Len, Get, Set, Push } kind;
  if (name == "qz_vec_len")
    kind = Len;
  else if (name == "qz_vec_get")
    kind = Get;
  else if (name == "qz_vec_set")
    kind = Set;
  else if (name == "qz_vec_push")
    kind = Push;
  else
    return nullptr;
  llvm::Type *ptrT = llvm::PointerType::getUnqual(C);
  llvm::Type *i64 = llvm::Type::getInt64Ty(C);
  llvm::Type *voidT = llvm::Type::getVoidTy(C);
  llvm::FunctionType *ft =
      kind == Len   ? llvm::FunctionType::get(i64, {ptrT}, false)
      : kind == Get ? llvm::FunctionType::get(i64, {ptrT, i64}, false)
      : kind == Set ? llvm::FunctionType::get(voidT, {ptrT, i64, i64}, false)
                    : llvm::FunctionType::get(voidT, {ptrT, i64}, false);
  auto *f = llvm::Function::Create(ft, llvm::GlobalValue::InternalLinkage,
                                   name + ".inline", *L);
  f->setDoesNotThrow();
  f->addFnAttr(llvm::Attribute::AlwaysInline);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(C, "entry", f));
  llvm::StructType *vecT = llvm::StructType::get(C, {ptrT, i64, i64});
  llvm::Value *v = f->getArg(0);
  // Type-based alias info: an element store never changes a vector's header
  // (data, len, cap), so loops keep the header in registers. Nothing else in
  // generated code carries TBAA tags, so nothing else is affected.
  if (!tbaaElem_) {
    llvm::MDBuilder mdb(C);
    llvm::MDNode *root = mdb.createTBAARoot("qmir Vec<Int>");
    auto tag = [&](const char *name) {
      llvm::MDNode *t = mdb.createTBAAScalarTypeNode(name, root);
      return mdb.createTBAAStructTagNode(t, t, 0);
    };
    tbaaData_ = tag("qz_vec.data");
    tbaaLen_ = tag("qz_vec.len");
    tbaaCap_ = tag("qz_vec.cap");
    tbaaElem_ = tag("qz_vec element");
  }
  auto tagged = [](llvm::Instruction *i, llvm::MDNode *t) {
    i->setMetadata(llvm::LLVMContext::MD_tbaa, t);
    return i;
  };
  auto loadData = [&] {
    return tagged(b.CreateLoad(ptrT, b.CreateStructGEP(vecT, v, 0), "data"), tbaaData_);
  };
  switch (kind) {
  case Len:
    b.CreateRet(tagged(b.CreateLoad(i64, b.CreateStructGEP(vecT, v, 1), "len"), tbaaLen_));
    break;
  case Get: {
    llvm::Value *data = loadData();
    b.CreateRet(tagged(b.CreateLoad(i64, b.CreateInBoundsGEP(i64, data, f->getArg(1))),
                       tbaaElem_));
    break;
  }
  case Set: {
    llvm::Value *data = loadData();
    tagged(b.CreateStore(f->getArg(2), b.CreateInBoundsGEP(i64, data, f->getArg(1))),
           tbaaElem_);
    b.CreateRetVoid();
    break;
  }
  case Push: {
    llvm::FunctionCallee grow = L->getOrInsertFunction("qz_vec_push", ft);
    if (auto *g = llvm::dyn_cast<llvm::Function>(grow.getCallee()))
      g->setDoesNotThrow();
    llvm::Value *lenP = b.CreateStructGEP(vecT, v, 1);
    llvm::Value *len = tagged(b.CreateLoad(i64, lenP, "len"), tbaaLen_);
    llvm::Value *cap =
        tagged(b.CreateLoad(i64, b.CreateStructGEP(vecT, v, 2), "cap"), tbaaCap_);
    auto *fast = llvm::BasicBlock::Create(C, "fast", f);
    auto *slow = llvm::BasicBlock::Create(C, "slow", f);
    b.CreateCondBr(b.CreateICmpSLT(len, cap), fast, slow);
    b.SetInsertPoint(fast);
    llvm::Value *data = loadData();
    tagged(b.CreateStore(f->getArg(1), b.CreateInBoundsGEP(i64, data, len)), tbaaElem_);
    tagged(b.CreateStore(b.CreateAdd(len, b.getInt64(1)), lenP), tbaaLen_);
    b.CreateRetVoid();
    b.SetInsertPoint(slow);
    b.CreateCall(grow, {v, f->getArg(1)});
    b.CreateRetVoid();
    break;
  }
  }
  return f;
}

llvm::AllocaInst *Codegen::entryAlloca(llvm::Type *t, const llvm::Twine &name) {
  auto *a = new llvm::AllocaInst(t, DL.getAllocaAddrSpace(), nullptr,
                                 DL.getPrefTypeAlign(t), name, allocaPt_);
  return a;
}

void Codegen::addIncoming(const Block *target, llvm::ArrayRef<llvm::Value *> args,
                          llvm::BasicBlock *from) {
  auto &phis = phis_[target];
  for (unsigned i = 0; i < phis.size() && i < args.size(); ++i)
    phis[i]->addIncoming(args[i], from);
}

llvm::BasicBlock *Codegen::edge(const Instruction &I, unsigned k, bool direct,
                                llvm::ArrayRef<llvm::Value *> argsOverride,
                                bool useOverride) {
  const Successor &s = I.successors()[k];
  llvm::BasicBlock *target = bbs_.lookup(s.block);
  if (s.block->numArgs() == 0)
    return target;
  llvm::SmallVector<llvm::Value *, 4> args;
  if (useOverride) {
    args.assign(argsOverride.begin(), argsOverride.end());
  } else {
    for (Value *a : I.successorArgs(k))
      args.push_back(val(a));
  }
  if (direct) {
    addIncoming(s.block, args, B.GetInsertBlock());
    return target;
  }
  auto *tramp = llvm::BasicBlock::Create(C, "edge", curLF_);
  llvm::IRBuilderBase::InsertPointGuard guard(B);
  B.SetInsertPoint(tramp);
  B.CreateBr(target);
  addIncoming(s.block, args, tramp);
  return tramp;
}

void Codegen::emitPanicCall(llvm::StringRef msgText, llvm::Value *msg, LocId loc) {
  if (!msg)
    msg = str(msgText);
  llvm::Value *file, *line, *col;
  llvm::Type *i64 = llvm::Type::getInt64Ty(C);
  if (loc) {
    file = fileStr(loc);
    line = llvm::ConstantInt::get(i64, M.loc(loc).line);
    col = llvm::ConstantInt::get(i64, M.loc(loc).col);
  } else {
    file = llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(C));
    line = col = llvm::ConstantInt::get(i64, 0);
  }
  auto *call = B.CreateCall(panicAt_, {msg, file, line, col});
  call->setDoesNotReturn();
  B.CreateUnreachable();
}

llvm::Value *Codegen::emitDivRem(const Instruction &I, llvm::Value *a, llvm::Value *b) {
  Opcode op = I.opcode();
  auto *cb = llvm::dyn_cast<llvm::ConstantInt>(b);
  // Divisor zero: panic (unless it is a non-zero constant).
  if (!cb || cb->isZero()) {
    llvm::Value *isZero = B.CreateICmpEQ(b, llvm::Constant::getNullValue(b->getType()));
    auto *panicBB = llvm::BasicBlock::Create(C, "div.zero", curLF_);
    auto *okBB = llvm::BasicBlock::Create(C, "div.ok", curLF_);
    B.CreateCondBr(isZero, panicBB, okBB);
    B.SetInsertPoint(panicBB);
    emitPanicCall("division by zero", nullptr, I.loc());
    B.SetInsertPoint(okBB);
  }
  switch (op) {
  case Opcode::UDiv:
    return B.CreateUDiv(a, b);
  case Opcode::URem:
    return B.CreateURem(a, b);
  default:
    break;
  }
  bool isDiv = op == Opcode::SDiv;
  if (cb && !cb->isZero() && !cb->isMinusOne())
    return isDiv ? B.CreateSDiv(a, b) : B.CreateSRem(a, b);
  // b == -1: a sdiv -1 = 0 - a (wrapping: MIN stays MIN); a srem -1 = 0.
  llvm::Value *isM1 = B.CreateICmpEQ(b, llvm::Constant::getAllOnesValue(b->getType()));
  llvm::Value *safeB = B.CreateSelect(isM1, llvm::ConstantInt::get(b->getType(), 1), b);
  llvm::Value *r = isDiv ? B.CreateSDiv(a, safeB) : B.CreateSRem(a, safeB);
  llvm::Value *m1 = isDiv ? B.CreateNeg(a) : llvm::Constant::getNullValue(a->getType());
  return B.CreateSelect(isM1, m1, r);
}

llvm::Value *Codegen::enumPayloadField(llvm::Value *e, const Type *et, unsigned variant,
                                       unsigned field) {
  const EnumLayout &lay = enumLayout(et);
  if (lay.direct[variant])
    return B.CreateExtractValue(e, {1u, field});
  llvm::AllocaInst *tmp = entryAlloca(lay.ty, "enum.tmp");
  B.CreateStore(e, tmp);
  llvm::Value *payload = B.CreateStructGEP(lay.ty, tmp, 1);
  llvm::Value *fp = B.CreateStructGEP(lay.variantTy[variant], payload, field);
  return B.CreateLoad(lay.variantTy[variant]->getElementType(field), fp);
}

llvm::Value *Codegen::matchPattern(const Pattern *p, llvm::Value *v, const Type *t,
                                   llvm::SmallVectorImpl<llvm::Value *> &binds) {
  switch (p->kind) {
  case Pattern::Wildcard:
    return nullptr; // always matches
  case Pattern::Bind:
    binds.push_back(v);
    return nullptr;
  case Pattern::Int:
    return B.CreateICmpEQ(v, llvm::ConstantInt::get(v->getType(),
                                                    static_cast<uint64_t>(p->intValue), true));
  case Pattern::Variant: {
    llvm::Value *cond = B.CreateICmpEQ(B.CreateExtractValue(v, 0),
                                       B.getInt32(p->variant));
    const EnumVariant &var = t->variants()[p->variant];
    for (unsigned k = 0; k < p->fields.size(); ++k) {
      const Pattern *sub = p->fields[k];
      if (sub->kind == Pattern::Wildcard)
        continue;
      llvm::Value *fv = enumPayloadField(v, t, p->variant, k);
      llvm::Value *c = matchPattern(sub, fv, var.fields[k], binds);
      if (c)
        cond = B.CreateLogicalAnd(cond, c);
    }
    return cond;
  }
  }
  return nullptr;
}

bool Codegen::emitInst(const Instruction &I) {
  setDebugLoc(I.loc());
  llvm::Value *r = nullptr;
  auto op = [&](unsigned i) { return val(I.operand(i)); };
  for (unsigned i = 0; i < I.numMainOperands(); ++i)
    if (!op(i))
      return fail("internal: operand " + llvm::Twine(i) + " of '" + I.opcodeName() +
                  "' in @" + curF_->name() + " is not available (use before definition)");
  switch (I.opcode()) {
  case Opcode::Add:
    r = B.CreateAdd(op(0), op(1));
    break;
  case Opcode::Sub:
    r = B.CreateSub(op(0), op(1));
    break;
  case Opcode::Mul:
    r = B.CreateMul(op(0), op(1));
    break;
  case Opcode::And:
    r = B.CreateAnd(op(0), op(1));
    break;
  case Opcode::Or:
    r = B.CreateOr(op(0), op(1));
    break;
  case Opcode::Xor:
    r = B.CreateXor(op(0), op(1));
    break;
  case Opcode::Shl:
  case Opcode::LShr:
  case Opcode::AShr: {
    llvm::Value *a = op(0);
    unsigned w = a->getType()->getIntegerBitWidth();
    llvm::Value *amt = B.CreateAnd(op(1), llvm::ConstantInt::get(a->getType(), w - 1));
    r = I.opcode() == Opcode::Shl    ? B.CreateShl(a, amt)
        : I.opcode() == Opcode::LShr ? B.CreateLShr(a, amt)
                                     : B.CreateAShr(a, amt);
    break;
  }
  case Opcode::SDiv:
  case Opcode::SRem:
  case Opcode::UDiv:
  case Opcode::URem:
    r = emitDivRem(I, op(0), op(1));
    break;
  case Opcode::ICmp: {
    static const llvm::CmpInst::Predicate preds[] = {
        llvm::CmpInst::ICMP_EQ,  llvm::CmpInst::ICMP_NE,  llvm::CmpInst::ICMP_SLT,
        llvm::CmpInst::ICMP_SLE, llvm::CmpInst::ICMP_SGT, llvm::CmpInst::ICMP_SGE,
        llvm::CmpInst::ICMP_ULT, llvm::CmpInst::ICMP_ULE, llvm::CmpInst::ICMP_UGT,
        llvm::CmpInst::ICMP_UGE};
    r = B.CreateICmp(preds[static_cast<unsigned>(I.predicate())], op(0), op(1));
    break;
  }
  case Opcode::Select:
    r = B.CreateSelect(op(0), op(1), op(2));
    break;
  case Opcode::ZExt:
    r = B.CreateZExtOrTrunc(op(0), ty(I.type()));
    break;
  case Opcode::SExt:
    r = B.CreateSExtOrTrunc(op(0), ty(I.type()));
    break;
  case Opcode::Trunc:
    r = B.CreateTrunc(op(0), ty(I.type()));
    break;
  case Opcode::Alloca: {
    llvm::Type *t = ty(I.auxType());
    llvm::AllocaInst *a = entryAlloca(t, I.name());
    B.CreateStore(llvm::Constant::getNullValue(t), a);
    if (DIB && I.binding()) {
      llvm::DILocalVariable *var = diVar(I.binding(), I.auxType(), I.loc(), 0);
      const llvm::DebugLoc &dl = B.getCurrentDebugLocation();
      DIB->insertDeclare(a, var, DIB->createExpression(), dl.get(), allocaPt_);
    }
    r = a;
    break;
  }
  case Opcode::Load:
    r = B.CreateLoad(ty(I.type()), op(0));
    break;
  case Opcode::Store:
    B.CreateStore(op(0), op(1));
    break;
  case Opcode::StructMake: {
    llvm::Type *st = ty(I.auxType());
    r = llvm::PoisonValue::get(st);
    for (unsigned k = 0; k < I.numOperands(); ++k)
      r = B.CreateInsertValue(r, op(k), {k});
    if (I.numOperands() == 0)
      r = llvm::Constant::getNullValue(st);
    break;
  }
  case Opcode::StructExtract:
    r = B.CreateExtractValue(op(0), {I.fieldIndex()});
    break;
  case Opcode::StructInsert:
    r = B.CreateInsertValue(op(0), op(1), {I.fieldIndex()});
    break;
  case Opcode::FieldAddr:
    r = B.CreateStructGEP(ty(I.auxType()), op(0), I.fieldIndex());
    break;
  case Opcode::EnumMake: {
    const EnumLayout &lay = enumLayout(I.auxType());
    unsigned v = I.variantIndex();
    if (lay.direct[v]) {
      llvm::Value *e = llvm::Constant::getNullValue(lay.ty);
      e = B.CreateInsertValue(e, B.getInt32(v), {0u});
      for (unsigned k = 0; k < I.numOperands(); ++k)
        e = B.CreateInsertValue(e, op(k), {1u, k});
      r = e;
    } else {
      llvm::AllocaInst *tmp = entryAlloca(lay.ty, "enum.tmp");
      B.CreateStore(llvm::Constant::getNullValue(lay.ty), tmp);
      B.CreateStore(B.getInt32(v), B.CreateStructGEP(lay.ty, tmp, 0));
      llvm::Value *payload = B.CreateStructGEP(lay.ty, tmp, 1);
      for (unsigned k = 0; k < I.numOperands(); ++k)
        B.CreateStore(op(k), B.CreateStructGEP(lay.variantTy[v], payload, k));
      r = B.CreateLoad(lay.ty, tmp);
    }
    break;
  }
  case Opcode::EnumTag:
    r = B.CreateExtractValue(op(0), {0u});
    break;
  case Opcode::EnumPayload:
    r = enumPayloadField(op(0), I.auxType(), I.variantIndex(), I.fieldIndex());
    break;
  case Opcode::Call: {
    const Function *callee = I.callee();
    llvm::SmallVector<llvm::Value *, 8> args;
    for (unsigned k = 0; k < I.numOperands(); ++k)
      args.push_back(op(k));
    if (callee->isDeclaration() && I.loc()) {
      // Runtime panics carry the call's location, like the interpreter's.
      if (callee->name() == "qz_panic_str" && args.size() == 1) {
        auto *c = B.CreateCall(panicAt_, {args[0], fileStr(I.loc()),
                                          B.getInt64(M.loc(I.loc()).line),
                                          B.getInt64(M.loc(I.loc()).col)});
        c->setDoesNotReturn();
        break;
      }
      if (callee->name() == "qz_panic_bounds" && args.size() == 2) {
        auto *c = B.CreateCall(panicBoundsAt_, {args[0], args[1], fileStr(I.loc()),
                                                B.getInt64(M.loc(I.loc()).line),
                                                B.getInt64(M.loc(I.loc()).col)});
        c->setDoesNotReturn();
        break;
      }
    }
    llvm::Function *lf = fns_.lookup(callee);
    if (!lf)
      return fail("internal: no LLVM function for @" + callee->name());
    llvm::CallInst *c = B.CreateCall(lf, args);
    c->setAttributes(lf->getAttributes());
    r = c;
    break;
  }
  case Opcode::FuncAddr: {
    llvm::Function *lf = fns_.lookup(I.callee());
    if (!lf)
      return fail("internal: no LLVM function for @" + I.callee()->name());
    r = lf;
    break;
  }
  case Opcode::HeapNew:
    r = emitCalloc(ty(I.auxType()), I.loc());
    break;
  case Opcode::HeapFree:
    B.CreateCall(free_, {op(0)});
    break;
  case Opcode::Await:
    return fail(awaitError(*curF_));
  case Opcode::DbgValue: {
    if (DIB && I.binding()) {
      llvm::Value *v = op(0);
      llvm::DILocalVariable *var = diVar(I.binding(), I.operand(0)->type(), I.loc(), 0);
      llvm::BasicBlock *bb = B.GetInsertBlock();
      pendingDbg_.push_back({v, var, B.getCurrentDebugLocation().get(), bb,
                             bb->empty() ? nullptr : &bb->back()});
    }
    break;
  }
  default:
    return emitTerminator(I);
  }
  if (r && !I.type()->isVoid()) {
    if (!I.name().empty() && !r->hasName() && !llvm::isa<llvm::Constant>(r))
      r->setName(I.name());
    vals_[&I] = r;
  }
  return true;
}

bool Codegen::emitTerminator(const Instruction &I) {
  auto op = [&](unsigned i) { return val(I.operand(i)); };
  switch (I.opcode()) {
  case Opcode::Br:
    B.CreateBr(edge(I, 0, true));
    return true;
  case Opcode::CondBr: {
    bool same = I.successor(0) == I.successor(1);
    llvm::Value *c = op(0);
    llvm::BasicBlock *t = edge(I, 0, !same);
    llvm::BasicBlock *f = edge(I, 1, !same);
    B.CreateCondBr(c, t, f);
    return true;
  }
  case Opcode::Switch: {
    llvm::Value *v = op(0);
    auto count = [&](const Block *b) {
      unsigned n = 0;
      for (const Successor &s : I.successors())
        n += s.block == b;
      return n;
    };
    unsigned defIdx = 0;
    for (unsigned k = 0; k < I.numSuccessors(); ++k)
      if (I.successors()[k].isDefault)
        defIdx = k;
    llvm::BasicBlock *def = edge(I, defIdx, count(I.successor(defIdx)) == 1);
    llvm::SwitchInst *sw = B.CreateSwitch(v, def, I.numSuccessors());
    llvm::SmallPtrSet<llvm::ConstantInt *, 16> seen;
    for (unsigned k = 0; k < I.numSuccessors(); ++k) {
      const Successor &s = I.successors()[k];
      if (s.isDefault)
        continue;
      auto *cv = llvm::cast<llvm::ConstantInt>(
          llvm::ConstantInt::get(v->getType(), static_cast<uint64_t>(s.caseValue), true));
      if (!seen.insert(cv).second)
        continue; // the first case with a value wins
      llvm::IRBuilderBase::InsertPointGuard guard(B);
      B.SetInsertPoint(sw);
      // A trampoline or a direct edge; phi incomings come from the switch block.
      llvm::BasicBlock *dest = edge(I, k, count(s.block) == 1);
      sw->addCase(cv, dest);
    }
    return true;
  }
  case Opcode::Match: {
    llvm::Value *v = op(0);
    const Type *t = I.operand(0)->type();
    int defIdx = -1;
    for (unsigned k = 0; k < I.numSuccessors(); ++k) {
      const Successor &s = I.successors()[k];
      if (s.isDefault) {
        defIdx = int(k);
        continue;
      }
      llvm::SmallVector<llvm::Value *, 4> binds;
      llvm::Value *cond = matchPattern(s.pattern, v, t, binds);
      if (!cond) {
        // Irrefutable: the remaining arms are never tried.
        B.CreateBr(edge(I, k, true, binds, true));
        return true;
      }
      auto *next = llvm::BasicBlock::Create(C, "match.next", curLF_);
      llvm::BasicBlock *hit = edge(I, k, false, binds, true);
      B.CreateCondBr(cond, hit, next);
      B.SetInsertPoint(next);
    }
    if (defIdx >= 0) {
      B.CreateBr(edge(I, unsigned(defIdx), true));
    } else if (opts.optLevel == 0) {
      B.CreateIntrinsic(llvm::Intrinsic::trap, {}, {});
      B.CreateUnreachable();
    } else {
      B.CreateUnreachable();
    }
    return true;
  }
  case Opcode::Ret:
    if (I.numOperands() == 0 || curF_->returnType()->isVoid())
      B.CreateRetVoid();
    else
      B.CreateRet(op(0));
    return true;
  case Opcode::Unreachable:
    // Executing it is a bug; trap like the interpreter does (it is normally
    // only in blocks that are never reached).
    B.CreateIntrinsic(llvm::Intrinsic::trap, {}, {});
    B.CreateUnreachable();
    return true;
  case Opcode::Panic:
    emitPanicCall(I.message(), nullptr, I.loc());
    return true;
  default:
    return fail("internal: unknown opcode '" + I.opcodeName() + "'");
  }
}

bool Codegen::emitFunction(const Function &f) {
  curF_ = &f;
  curLF_ = fns_.lookup(&f);
  vals_.clear();
  bbs_.clear();
  phis_.clear();
  diVars_.clear();
  SP = nullptr;

  if (f.entry()->numArgs() != 0)
    return fail("@" + f.name() + ": the entry block has parameters");

  // Debug info: one subprogram per function, at its first located instruction.
  if (DIB) {
    LocId first = 0;
    for (const Block &b : f.blocks()) {
      for (const Instruction &I : b.insts())
        if (I.loc()) {
          first = I.loc();
          break;
        }
      if (first)
        break;
    }
    spFile_ = first ? M.loc(first).file : 0;
    llvm::DIFile *file = diFile(spFile_);
    unsigned line = first ? M.loc(first).line : 0;
    llvm::SmallVector<llvm::Metadata *, 8> sig;
    sig.push_back(diType(f.returnType()));
    for (const Type *p : f.type()->params())
      sig.push_back(diType(p));
    auto *st = DIB->createSubroutineType(DIB->getOrCreateTypeArray(sig));
    SP = DIB->createFunction(file, f.name(), curLF_->getName(), file, line, st, line,
                             llvm::DINode::FlagPrototyped,
                             llvm::DISubprogram::SPFlagDefinition |
                                 llvm::DISubprogram::SPFlagLocalToUnit);
    curLF_->setSubprogram(SP);
  }

  for (unsigned i = 0; i < f.args().size(); ++i)
    vals_[f.arg(i)] = curLF_->getArg(i);

  // Reachable blocks in reverse post-order.
  std::vector<const Block *> rpo;
  {
    llvm::SmallPtrSet<const Block *, 32> visited;
    std::vector<std::pair<const Block *, unsigned>> stack;
    std::vector<const Block *> post;
    stack.push_back({f.entry(), 0});
    visited.insert(f.entry());
    while (!stack.empty()) {
      auto &[b, idx] = stack.back();
      auto succs = b->successors();
      if (idx < succs.size()) {
        const Block *s = succs[idx++];
        if (visited.insert(s).second)
          stack.push_back({s, 0});
        continue;
      }
      post.push_back(b);
      stack.pop_back();
    }
    rpo.assign(post.rbegin(), post.rend());
  }

  B.SetCurrentDebugLocation(llvm::DebugLoc()); // phis carry no location
  auto *prologue = llvm::BasicBlock::Create(C, "prologue", curLF_);
  for (const Block *b : rpo) {
    auto *bb = llvm::BasicBlock::Create(C, b->name().empty() ? "bb" : b->name(), curLF_);
    bbs_[b] = bb;
    B.SetInsertPoint(bb);
    auto &phis = phis_[b];
    for (BlockArg *a : b->args()) {
      llvm::PHINode *phi = B.CreatePHI(ty(a->type()), 2, a->name());
      phis.push_back(phi);
      vals_[a] = phi;
    }
  }
  B.SetInsertPoint(prologue);
  setDebugLoc(0);
  allocaPt_ = B.CreateBr(bbs_[f.entry()]);

  // Parameters carrying a binding that no alloca holds (after mem2reg).
  if (DIB) {
    llvm::SmallDenseSet<BindingId, 8> allocaBinds;
    for (const Block &b : f.blocks())
      for (const Instruction &I : b.insts())
        if (I.opcode() == Opcode::Alloca && I.binding())
          allocaBinds.insert(I.binding());
    for (unsigned i = 0; i < f.args().size(); ++i) {
      BindingId bid = f.arg(i)->binding();
      if (!bid || allocaBinds.count(bid))
        continue;
      llvm::DILocalVariable *var = diVar(bid, f.arg(i)->type(), 0, i + 1);
      DIB->insertDbgValueIntrinsic(curLF_->getArg(i), var, DIB->createExpression(),
                                   llvm::DILocation::get(C, SP->getLine(), 0, SP),
                                   allocaPt_);
    }
  }

  for (const Block *b : rpo) {
    B.SetInsertPoint(bbs_[b]);
    if (DIB) {
      for (BlockArg *a : b->args())
        if (a->binding()) {
          llvm::DILocalVariable *var = diVar(a->binding(), a->type(), 0, 0);
          pendingDbg_.push_back({vals_[a], var,
                                 llvm::DILocation::get(C, SP->getLine(), 0, SP),
                                 bbs_[b], nullptr});
        }
    }
    for (const Instruction &I : b->insts()) {
      if (!emitInst(I))
        return false;
      if (I.isTerminator())
        break;
    }
  }
  // dbg.value records go in once the blocks are complete (a record cannot
  // trail an unterminated block): after the instruction that preceded the
  // MIR `dbg`, or at the top of the block (after its phis).
  for (const PendingDbg &d : pendingDbg_) {
    llvm::Instruction *before =
        d.after ? d.after->getNextNode() : &*d.bb->getFirstNonPHIIt();
    if (before && llvm::isa<llvm::PHINode>(before))
      before = &*d.bb->getFirstNonPHIIt();
    if (!before)
      continue;
    DIB->insertDbgValueIntrinsic(d.v, d.var, DIB->createExpression(), d.loc, before);
  }
  pendingDbg_.clear();
  return true;
}

llvm::Value *Codegen::emitCalloc(llvm::Type *t, LocId loc) {
  // The runtime's allocator for generated code (qz_alloc: zeroed, never
  // null; out of memory is a panic there). A zero-sized type still gets its
  // own object.
  (void)loc;
  uint64_t size = std::max<uint64_t>(DL.getTypeAllocSize(t), 1);
  return B.CreateCall(calloc_, {llvm::ConstantInt::get(llvm::Type::getInt64Ty(C), size)});
}

bool Codegen::emitTaskCMain(llvm::Function *cmain) {
  const Function *poll = taskEntry_.poll;
  const Type *pt = poll->type();
  if (pt->params().size() != 2 || !pt->params()[0]->isPtr() || !pt->params()[1]->isPtr() ||
      !pt->result()->isInt(64))
    return fail("@main.task is " + pt->str() +
                "; the entry of a task program is fn(ptr, ptr) -> i64 (frame, task)");
  llvm::Function *lpoll = fns_.lookup(poll);
  auto *bb = llvm::BasicBlock::Create(C, "entry", cmain);
  B.SetInsertPoint(bb);
  B.SetCurrentDebugLocation(llvm::DebugLoc());
  llvm::DILocation *dl = nullptr;
  if (DIB) {
    llvm::DISubprogram *sp = lpoll->getSubprogram();
    auto *st = DIB->createSubroutineType(DIB->getOrCreateTypeArray({}));
    auto *msp = DIB->createFunction(sp->getFile(), "main", "main", sp->getFile(),
                                    sp->getLine(), st, sp->getLine(),
                                    llvm::DINode::FlagArtificial,
                                    llvm::DISubprogram::SPFlagDefinition);
    cmain->setSubprogram(msp);
    dl = llvm::DILocation::get(C, sp->getLine(), 0, msp);
    B.SetCurrentDebugLocation(dl);
  }
  // The root task's frame: a zeroed main.frame (state 0: not started).
  llvm::Value *frame = emitCalloc(ty(taskEntry_.frame), 0);
  frame->setName("main.frame");
  // qz_main runs @main.task as the root task and exits with its result.
  llvm::CallInst *run = B.CreateCall(qzMain_, {lpoll, frame});
  run->setDoesNotReturn();
  B.CreateUnreachable();
  return true;
}

bool Codegen::emitCMain() {
  if (taskEntry_.poll) {
    llvm::Type *i32 = llvm::Type::getInt32Ty(C);
    auto *cmain = llvm::Function::Create(llvm::FunctionType::get(i32, {}, false),
                                         llvm::GlobalValue::ExternalLinkage, "main", *L);
    if (cmain->getName() != "main")
      return fail("a function called 'main' already exists in the LLVM module");
    cmain->setDoesNotThrow();
    return emitTaskCMain(cmain);
  }
  const Function *mainFn = M.function("main");
  if (!mainFn || mainFn->isDeclaration())
    return true; // nothing to wrap; the driver reports a missing main
  if (!mainFn->args().empty())
    return fail("@main takes parameters; a native executable's @main takes none");
  llvm::Type *i32 = llvm::Type::getInt32Ty(C);
  auto *cmain = llvm::Function::Create(llvm::FunctionType::get(i32, {}, false),
                                       llvm::GlobalValue::ExternalLinkage, "main", *L);
  if (cmain->getName() != "main")
    return fail("a function called 'main' already exists in the LLVM module");
  cmain->setDoesNotThrow();
  auto *bb = llvm::BasicBlock::Create(C, "entry", cmain);
  B.SetInsertPoint(bb);
  B.SetCurrentDebugLocation(llvm::DebugLoc());
  llvm::Function *qm = fns_.lookup(mainFn);
  llvm::CallInst *call = B.CreateCall(qm, {});
  if (DIB) {
    // Calls to inlinable functions with debug info need a location.
    llvm::DISubprogram *sp = qm->getSubprogram();
    auto *st = DIB->createSubroutineType(DIB->getOrCreateTypeArray({}));
    auto *msp = DIB->createFunction(sp->getFile(), "main", "main", sp->getFile(),
                                    sp->getLine(), st, sp->getLine(),
                                    llvm::DINode::FlagArtificial,
                                    llvm::DISubprogram::SPFlagDefinition);
    cmain->setSubprogram(msp);
    call->setDebugLoc(llvm::DILocation::get(C, sp->getLine(), 0, msp));
  }
  llvm::Value *status = B.getInt32(0);
  llvm::Type *rt = call->getType();
  if (rt->isIntegerTy())
    status = rt->isIntegerTy(1) ? B.CreateZExt(call, i32) : B.CreateSExtOrTrunc(call, i32);
  llvm::CallInst *fl = B.CreateCall(flush_, {});
  if (DIB)
    fl->setDebugLoc(call->getDebugLoc());
  // A process status is taken modulo 256, like the interpreter's.
  status = B.CreateAnd(status, B.getInt32(0xff));
  B.CreateRet(status);
  return true;
}

std::unique_ptr<llvm::Module> Codegen::run(std::string &error, bool &internal) {
  internal = false;
  error = findUncompilableTaskCode(M);
  if (!error.empty())
    return nullptr;
  if (opts.debugInfo) {
    DIB = std::make_unique<llvm::DIBuilder>(*L);
    L->addModuleFlag(llvm::Module::Warning, "Debug Info Version",
                     llvm::DEBUG_METADATA_VERSION);
    L->addModuleFlag(llvm::Module::Warning, "Dwarf Version", 5);
    CU = DIB->createCompileUnit(llvm::dwarf::DW_LANG_C, diFile(0), "qmir",
                                opts.optLevel > 0, "", 0);
  }
  if (!declareFunctions()) {
    error = error_;
    return nullptr;
  }
  for (const Function &f : M.functions()) {
    if (f.isDeclaration())
      continue;
    if (!emitFunction(f)) {
      error = error_;
      internal = llvm::StringRef(error_).starts_with("internal:");
      return nullptr;
    }
  }
  if (opts.emitCMain && !emitCMain()) {
    error = error_;
    return nullptr;
  }
  if (DIB)
    DIB->finalize();

  // An LLVM verifier failure is a qmir bug: report it with the MIR function.
  for (const Function &f : M.functions()) {
    llvm::Function *lf = fns_.lookup(&f);
    if (!lf || f.isDeclaration())
      continue;
    std::string msg;
    llvm::raw_string_ostream os(msg);
    if (llvm::verifyFunction(*lf, &os)) {
      std::string text;
      llvm::raw_string_ostream ts(text);
      ts << "LLVM rejected the IR generated for @" << f.name()
         << " (this is a qmir bug; please report it):\n"
         << msg << "\nthe MIR function:\n";
      PrintOptions po;
      po.printLocs = true;
      printFunction(ts, f, po);
      ts << "\nthe LLVM function:\n";
      lf->print(ts);
      error = text;
      internal = true;
      return nullptr;
    }
  }
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (llvm::verifyModule(*L, &os)) {
    error = "LLVM rejected the generated module (this is a qmir bug; please report "
            "it):\n" + msg;
    internal = true;
    return nullptr;
  }
  return std::move(L);
}

} // namespace

std::string qmir::findUncompilableTaskCode(const Module &m) {
  for (const Function &f : m.functions())
    for (const Block &b : f.blocks())
      for (const Instruction &I : b.insts()) {
        if (I.opcode() == Opcode::Await)
          return awaitError(f);
        if (!I.hasCallee() || !I.callee() || !I.callee()->isDeclaration())
          continue;
        const Function &callee = *I.callee();
        std::string where = "@" + f.name().str() + ": ";
        if (callee.name().starts_with(kSpawnPrefix))
          return where + "@" + callee.name().str() +
                 " has no body: spawning a task needs the coro-split pass, which "
                 "defines it (a frame for @" +
                 callee.name().drop_front(kSpawnPrefix.size()).str() +
                 " and a call of qz_spawn_named)";
        if (callee.name().starts_with("qz.spawn_actor."))
          return where + "@" + callee.name().str() +
                 " has no body: starting an actor's loop needs the coro-split pass, "
                 "which defines it (a call of qz_actor_start)";
        if (isUnloweredActorStub(callee))
          return where + "@" + callee.name().str() +
                 " has no body: actor constructors and message stubs are generated by "
                 "the actor-lower pass (run it, or any -O level, before code generation)";
      }
  return {};
}

bool qmir::isTaskProgram(const Module &m) { return findTaskEntry(m).poll != nullptr; }

std::unique_ptr<llvm::Module>
qmir::translateToLLVM(const Module &m, llvm::LLVMContext &ctx, const llvm::DataLayout &dl,
                      llvm::StringRef triple, const LLVMCodegenOptions &opts,
                      std::string &error, bool &internal) {
  Codegen cg(m, ctx, dl, triple, opts);
  return cg.run(error, internal);
}
