// The MIR text printer (see Printer.h). The one subtle part is naming: every
// value and block gets a name that is unique within its function, so that the
// text re-parses to the same structure however a pass named things.
#include "mir/Printer.h"

#include "llvm/ADT/StringExtras.h"

using namespace qmir;
using llvm::raw_ostream;
using llvm::StringRef;

bool qmir::isIdentifier(StringRef s) {
  if (s.empty() || !(llvm::isAlpha(s[0]) || s[0] == '_'))
    return false;
  for (char c : s.drop_front())
    if (!(llvm::isAlnum(c) || c == '_' || c == '.'))
      return false;
  return true;
}

static bool isDigits(StringRef s) {
  return !s.empty() && llvm::all_of(s, [](char c) { return llvm::isDigit(c); });
}

void qmir::printQuoted(raw_ostream &os, StringRef s) {
  os << '"';
  for (unsigned char c : s) {
    switch (c) {
    case '\n': os << "\\n"; break;
    case '\t': os << "\\t"; break;
    case '\\': os << "\\\\"; break;
    case '"': os << "\\\""; break;
    default:
      if (c < 0x20 || c >= 0x7f)
        os << '\\' << llvm::hexdigit(c >> 4, true) << llvm::hexdigit(c & 15, true);
      else
        os << c;
    }
  }
  os << '"';
}

void qmir::printType(raw_ostream &os, const Type *t) {
  if (!t) {
    os << "<null type>";
    return;
  }
  switch (t->kind()) {
  case TypeKind::Struct:
  case TypeKind::Enum:
    if (t->isNamed()) {
      os << t->name();
      return;
    }
    os << '{';
    for (unsigned i = 0; i < t->fields().size(); ++i) {
      if (i)
        os << ", ";
      printType(os, t->fields()[i]);
    }
    os << '}';
    return;
  case TypeKind::Function:
    os << "fn(";
    for (unsigned i = 0; i < t->params().size(); ++i) {
      if (i)
        os << ", ";
      printType(os, t->params()[i]);
    }
    os << ") -> ";
    printType(os, t->result());
    return;
  default:
    t->print(os);
  }
}

static void printFunctionName(raw_ostream &os, StringRef name) {
  os << '@';
  if (isIdentifier(name))
    os << name;
  else
    printQuoted(os, name);
}

/// An integer of type `t` as the parser reads it back: i1 as true/false.
static void printIntOf(raw_ostream &os, int64_t v, const Type *t) {
  if (t && t->isBool())
    os << (v ? "true" : "false");
  else
    os << v;
}

//===----------------------------------------------------------------------===//
// Naming
//===----------------------------------------------------------------------===//

namespace {
/// Hands out names unique within one namespace (the values, or the blocks, of
/// a function). A name already taken gets the first free `.N` suffix.
class Uniquer {
public:
  explicit Uniquer(llvm::BumpPtrAllocator &a) : arena_(a) {}
  StringRef unique(StringRef base) {
    auto [it, inserted] = used_.try_emplace(base, 1u);
    if (inserted)
      return base;
    unsigned &next = it->second;
    std::string cand;
    do {
      cand = (base + "." + llvm::Twine(next++)).str();
    } while (used_.count(cand));
    StringRef saved = save(cand);
    used_.try_emplace(saved, 1u);
    return saved;
  }
  StringRef save(StringRef s) {
    char *mem = arena_.Allocate<char>(s.size());
    std::copy(s.begin(), s.end(), mem);
    return {mem, s.size()};
  }

private:
  llvm::BumpPtrAllocator &arena_;
  llvm::StringMap<unsigned> used_;
};
} // namespace

/// A name that is a valid identifier: invalid characters become '_', and a
/// leading digit gets a '_' in front.
static StringRef sanitize(StringRef name, Uniquer &u) {
  if (isIdentifier(name))
    return name;
  std::string s;
  if (llvm::isDigit(name[0]))
    s += '_';
  for (char c : name)
    s += (llvm::isAlnum(c) || c == '_' || c == '.') ? c : '_';
  return u.save(s);
}

SlotNames::SlotNames(const Function &f) : f_(&f) {
  valueNames_.resize(f.numValueIds());
  valueNums_.resize(f.numValueIds());
  blockNames_.resize(f.numBlockIds());
  Uniquer values(arena_), blocks(arena_);
  uint32_t nextNum = 0;
  // All-digit names are the numbering scheme itself (the parser does not keep
  // them), so such values are numbered like unnamed ones; that way numbers
  // never collide with names.
  auto name = [&](const Value *v) {
    if (v->id() >= valueNames_.size())
      return;
    StringRef n = v->name();
    if (n.empty() || isDigits(n))
      valueNums_[v->id()] = nextNum++;
    else
      valueNames_[v->id()] = values.unique(sanitize(n, values));
  };
  for (const Argument *a : f.args())
    name(a);
  uint32_t nextBlock = 0;
  for (const Block &b : f.blocks()) {
    StringRef n = b.name();
    // `bbN` is how unnamed blocks print, so it is renumbered like them.
    bool numbered = n.empty() || (n.starts_with("bb") && isDigits(n.drop_front(2)));
    if (b.id() < blockNames_.size()) {
      if (numbered)
        blockNames_[b.id()] =
            blocks.unique(blocks.save(("bb" + llvm::Twine(nextBlock++)).str()));
      else
        blockNames_[b.id()] = blocks.unique(sanitize(n, blocks));
    }
    for (const BlockArg *a : b.args())
      name(a);
    for (const Instruction &i : b.insts())
      if (i.type() && !i.type()->isVoid())
        name(&i);
  }
}

bool SlotNames::owns(const Value *v) const {
  switch (v->valueKind()) {
  case ValueKind::Argument:
    return cast<Argument>(v)->parent() == f_;
  case ValueKind::BlockArg:
    return cast<BlockArg>(v)->parent() && cast<BlockArg>(v)->parent()->parent() == f_;
  case ValueKind::Instruction:
    return cast<Instruction>(v)->function() == f_;
  default:
    return false;
  }
}

void SlotNames::printValue(raw_ostream &os, const Value *v) const {
  if (!v) {
    os << "<null>";
    return;
  }
  switch (v->valueKind()) {
  case ValueKind::ConstInt:
    printIntOf(os, cast<ConstInt>(v)->value(), v->type());
    return;
  case ValueKind::ConstString:
    printQuoted(os, cast<ConstString>(v)->text());
    return;
  case ValueKind::Undef:
    os << "undef";
    return;
  default:
    break;
  }
  if (!owns(v) || v->id() >= valueNames_.size()) {
    // A bug in the IR (a value of another function, or an instruction that was
    // removed but is still used): say so instead of printing a wrong name.
    bool detached = isa<Instruction>(v) && !cast<Instruction>(v)->function();
    os << (detached ? "%<detached:" : "%<foreign:");
    if (!v->name().empty())
      os << v->name();
    else
      os << '#' << v->id();
    os << '>';
    return;
  }
  if (!valueNames_[v->id()].empty())
    os << '%' << valueNames_[v->id()];
  else
    os << '%' << valueNums_[v->id()];
}

void SlotNames::printBlock(raw_ostream &os, const Block *b) const {
  if (!b) {
    os << "<null block>";
    return;
  }
  if (b->parent() != f_ || b->id() >= blockNames_.size() ||
      blockNames_[b->id()].empty()) {
    os << "<foreign block:" << b->name() << '>';
    return;
  }
  os << blockNames_[b->id()];
}

std::string SlotNames::valueName(const Value *v) const {
  std::string s;
  llvm::raw_string_ostream os(s);
  printValue(os, v);
  return s;
}

std::string SlotNames::blockName(const Block *b) const {
  std::string s;
  llvm::raw_string_ostream os(s);
  printBlock(os, b);
  return s;
}

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

namespace {
class InstPrinter {
public:
  InstPrinter(raw_ostream &os, const SlotNames &n) : os(os), n(n) {}

  void value(const Value *v) { n.printValue(os, v); }
  void type(const Type *t) { printType(os, t); }
  /// `@name` of a call's, await's or func.addr's function.
  void callee(const Instruction &i) {
    if (i.callee())
      printFunctionName(os, i.callee()->name());
    else
      os << "@<null>";
  }
  void operand(const Instruction &i, unsigned k) {
    value(k < i.numOperands() ? i.operand(k) : nullptr);
  }
  const Type *operandType(const Instruction &i, unsigned k) {
    if (k < i.numOperands() && i.operand(k))
      return i.operand(k)->type();
    return nullptr;
  }
  void edge(const Instruction &i, const Successor &s) {
    n.printBlock(os, s.block);
    if (!s.numArgs)
      return;
    os << '(';
    for (unsigned k = 0; k < s.numArgs; ++k) {
      if (k)
        os << ", ";
      operand(i, s.firstArg + k);
    }
    os << ')';
  }
  void pattern(const Pattern *p, const Type *t, const Block *target,
               unsigned &bindIdx) {
    if (!p) {
      os << "<null pattern>";
      return;
    }
    switch (p->kind) {
    case Pattern::Wildcard:
      os << '_';
      return;
    case Pattern::Bind:
      // The bound value is the target's parameter, so print its name.
      if (target && bindIdx < target->numArgs())
        value(target->arg(bindIdx));
      else
        os << '%' << (isIdentifier(p->bindName) ? p->bindName : StringRef("_"));
      ++bindIdx;
      return;
    case Pattern::Int:
      printIntOf(os, p->intValue, t);
      return;
    case Pattern::Variant: {
      const EnumVariant *v = nullptr;
      if (t && t->isEnum() && p->variant < t->variants().size())
        v = &t->variants()[p->variant];
      if (v)
        os << v->name;
      else
        os << "<bad variant " << p->variant << '>';
      if (p->fields.empty())
        return;
      os << '(';
      for (unsigned k = 0; k < p->fields.size(); ++k) {
        if (k)
          os << ", ";
        const Type *ft = v && k < v->fields.size() ? v->fields[k] : nullptr;
        pattern(p->fields[k], ft, target, bindIdx);
      }
      os << ')';
      return;
    }
    }
  }
  void print(const Instruction &i);

  raw_ostream &os;
  const SlotNames &n;
};
} // namespace

void InstPrinter::print(const Instruction &i) {
  if (i.type() && !i.type()->isVoid()) {
    value(&i);
    os << " = ";
  }
  Opcode op = i.opcode();
  os << i.opcodeName();
  if (isBinaryOp(op)) {
    os << ' ';
    type(i.type());
    os << ' ';
    operand(i, 0);
    os << ", ";
    operand(i, 1);
    return;
  }
  if (isCast(op)) {
    os << ' ';
    type(operandType(i, 0));
    os << ' ';
    operand(i, 0);
    os << " to ";
    type(i.type());
    return;
  }
  switch (op) {
  case Opcode::ICmp:
    os << ' ' << predName(i.predicate()) << ' ';
    type(operandType(i, 0));
    os << ' ';
    operand(i, 0);
    os << ", ";
    operand(i, 1);
    return;
  case Opcode::Select:
    os << ' ';
    operand(i, 0);
    os << ", ";
    type(i.type());
    os << ' ';
    operand(i, 1);
    os << ", ";
    operand(i, 2);
    return;
  case Opcode::Alloca:
    os << ' ';
    type(i.auxType());
    if (i.binding())
      os << ", bind #" << i.binding();
    return;
  case Opcode::Load:
    os << ' ';
    type(i.type());
    os << ", ";
    operand(i, 0);
    return;
  case Opcode::Store:
    os << ' ';
    type(operandType(i, 0));
    os << ' ';
    operand(i, 0);
    os << ", ";
    operand(i, 1);
    return;
  case Opcode::StructMake:
    os << ' ';
    type(i.auxType());
    os << " (";
    for (unsigned k = 0; k < i.numOperands(); ++k) {
      if (k)
        os << ", ";
      operand(i, k);
    }
    os << ')';
    return;
  case Opcode::StructExtract:
  case Opcode::FieldAddr:
    os << ' ';
    type(i.auxType());
    os << ' ';
    operand(i, 0);
    os << ", " << i.fieldIndex();
    return;
  case Opcode::StructInsert:
    os << ' ';
    type(i.auxType());
    os << ' ';
    operand(i, 0);
    os << ", " << i.fieldIndex() << ", ";
    operand(i, 1);
    return;
  case Opcode::EnumMake:
  case Opcode::EnumPayload: {
    const Type *e = i.auxType();
    os << ' ';
    type(e);
    os << ' ';
    if (op == Opcode::EnumPayload) {
      operand(i, 0);
      os << ", ";
    }
    if (e && e->isEnum() && i.variantIndex() < e->variants().size())
      os << e->variants()[i.variantIndex()].name;
    else
      os << "<bad variant " << i.variantIndex() << '>';
    if (op == Opcode::EnumPayload) {
      os << ", " << i.fieldIndex();
      return;
    }
    if (i.numOperands()) {
      os << '(';
      for (unsigned k = 0; k < i.numOperands(); ++k) {
        if (k)
          os << ", ";
        operand(i, k);
      }
      os << ')';
    }
    return;
  }
  case Opcode::EnumTag:
    os << ' ';
    type(i.auxType());
    os << ' ';
    operand(i, 0);
    return;
  case Opcode::FuncAddr:
    os << ' ';
    callee(i);
    return;
  case Opcode::HeapNew:
    os << ' ';
    type(i.auxType());
    return;
  case Opcode::HeapFree:
    os << ' ';
    operand(i, 0);
    return;
  case Opcode::Call:
  case Opcode::Await:
    os << ' ';
    callee(i);
    os << '(';
    for (unsigned k = 0; k < i.numOperands(); ++k) {
      if (k)
        os << ", ";
      operand(i, k);
    }
    os << ')';
    return;
  case Opcode::DbgValue: {
    os << " #" << i.dbgBinding() << ", ";
    // The operand's type is not implied by `dbg`, so constants other than
    // i64, i1 and strings carry it (`dbg #2, i32 7`, `dbg #3, ptr undef`).
    const Value *v = i.numOperands() ? i.operand(0) : nullptr;
    if (v && (isa<UndefValue>(v) ||
              (isa<ConstInt>(v) && !v->type()->isInt(64) && !v->type()->isBool()))) {
      type(v->type());
      os << ' ';
    }
    value(v);
    return;
  }
  case Opcode::Br:
    os << ' ';
    if (i.numSuccessors())
      edge(i, i.successors()[0]);
    else
      os << "<no successor>";
    return;
  case Opcode::CondBr:
    os << ' ';
    operand(i, 0);
    for (const Successor &s : i.successors()) {
      os << ", ";
      edge(i, s);
    }
    return;
  case Opcode::Switch: {
    const Type *t = operandType(i, 0);
    os << ' ';
    type(t);
    os << ' ';
    operand(i, 0);
    os << ", default ";
    const Successor *def = nullptr;
    for (const Successor &s : i.successors())
      if (s.isDefault && !def)
        def = &s;
    if (def)
      edge(i, *def);
    else
      os << "<none>";
    os << ", [";
    bool first = true;
    for (const Successor &s : i.successors()) {
      if (&s == def)
        continue;
      if (!first)
        os << ", ";
      first = false;
      printIntOf(os, s.caseValue, t);
      os << " -> ";
      edge(i, s);
    }
    os << ']';
    return;
  }
  case Opcode::Match: {
    const Type *t = operandType(i, 0);
    os << ' ';
    type(t);
    os << ' ';
    operand(i, 0);
    os << ", [";
    bool first = true;
    const Successor *def = nullptr;
    for (const Successor &s : i.successors()) {
      if (s.isDefault) {
        def = &s;
        continue;
      }
      if (!first)
        os << ", ";
      first = false;
      unsigned bindIdx = 0;
      pattern(s.pattern, t, s.block, bindIdx);
      os << " -> ";
      edge(i, s);
    }
    os << ']';
    if (def) {
      os << ", default ";
      edge(i, *def);
    }
    return;
  }
  case Opcode::Ret:
    if (i.numOperands()) {
      os << ' ';
      operand(i, 0);
    }
    return;
  case Opcode::Unreachable:
    return;
  case Opcode::Panic:
    os << ' ';
    printQuoted(os, i.message());
    return;
  default:
    // Every opcode is handled above; print the operands so nothing is lost
    // should a new opcode be added without printer support.
    for (unsigned k = 0; k < i.numOperands(); ++k) {
      os << (k ? ", " : " ");
      operand(i, k);
    }
    return;
  }
}

static void printLoc(raw_ostream &os, const Instruction &i) {
  const Function *f = i.function();
  if (!i.loc() || !f || i.loc() > f->parent()->numLocs())
    return;
  const SourceLoc &l = f->parent()->loc(i.loc());
  os << " !";
  if (l.file)
    os << l.file << ':';
  os << l.line << ':' << l.col;
}

void qmir::printInstruction(raw_ostream &os, const Instruction &inst,
                            const SlotNames &names, const PrintOptions &opts) {
  InstPrinter p(os, names);
  p.print(inst);
  if (opts.printLocs)
    printLoc(os, inst);
}

void qmir::printInstruction(raw_ostream &os, const Instruction &inst,
                            const PrintOptions &opts) {
  if (const Function *f = inst.function()) {
    SlotNames names(*f);
    printInstruction(os, inst, names, opts);
    return;
  }
  // A detached instruction: no function to name values in, so every
  // non-constant operand prints as detached or foreign.
  SlotNames none;
  printInstruction(os, inst, none, opts);
}

//===----------------------------------------------------------------------===//
// Functions and modules
//===----------------------------------------------------------------------===//

static void printParam(raw_ostream &os, const SlotNames &n, const Value *v) {
  n.printValue(os, v);
  os << ": ";
  printType(os, v->type());
  if (v->binding())
    os << " #" << v->binding();
}

void qmir::printFunction(raw_ostream &os, const Function &f,
                         const PrintOptions &opts) {
  const Type *ft = f.type();
  if (f.isDeclaration()) {
    os << "declare fn ";
    printFunctionName(os, f.name());
    os << '(';
    for (unsigned k = 0; k < f.args().size(); ++k) {
      if (k)
        os << ", ";
      printType(os, f.arg(k)->type());
    }
    os << ") -> ";
    printType(os, ft ? ft->result() : nullptr);
    if (f.isNoReturn())
      os << " noreturn";
    os << '\n';
    return;
  }
  SlotNames names(f);
  os << "fn ";
  printFunctionName(os, f.name());
  os << '(';
  for (unsigned k = 0; k < f.args().size(); ++k) {
    if (k)
      os << ", ";
    printParam(os, names, f.arg(k));
  }
  os << ") -> ";
  printType(os, ft ? ft->result() : nullptr);
  if (f.isNoReturn())
    os << " noreturn";
  os << " {\n";
  InstPrinter p(os, names);
  for (const Block &b : f.blocks()) {
    names.printBlock(os, &b);
    if (b.numArgs()) {
      os << '(';
      for (unsigned k = 0; k < b.numArgs(); ++k) {
        if (k)
          os << ", ";
        printParam(os, names, b.arg(k));
      }
      os << ')';
    }
    os << ":\n";
    for (const Instruction &i : b.insts()) {
      os << "  ";
      p.print(i);
      if (opts.printLocs)
        printLoc(os, i);
      os << '\n';
    }
  }
  os << "}\n";
}

void qmir::printModule(raw_ostream &os, const Module &m,
                       const PrintOptions &opts, PrintedBodyLookup printedBody) {
  auto printed = [&](const Function &f) -> std::optional<StringRef> {
    return printedBody ? printedBody(f) : std::nullopt;
  };
  bool needBlank = false;
  auto section = [&] {
    if (needBlank)
      os << '\n';
    needBlank = true;
  };
  if (!m.sourceFiles().empty() || m.numBindings()) {
    section();
    for (const std::string &f : m.sourceFiles()) {
      os << "source ";
      printQuoted(os, f);
      os << '\n';
    }
    for (BindingId b = 1; b <= m.numBindings(); ++b) {
      const Binding &r = m.binding(b);
      os << "bind #" << b << ' ';
      printQuoted(os, r.name);
      os << " scope " << r.scope;
      if (r.gensym)
        os << " gensym " << r.gensym;
      os << '\n';
    }
  }
  if (!m.types().namedTypes().empty()) {
    section();
    for (const Type *t : m.types().namedTypes()) {
      os << "type " << t->name() << " = ";
      if (t->isEnum()) {
        os << "enum {";
        for (unsigned k = 0; k < t->variants().size(); ++k) {
          const EnumVariant &v = t->variants()[k];
          os << (k ? ", " : " ") << v.name;
          if (!v.fields.empty()) {
            os << '(';
            for (unsigned j = 0; j < v.fields.size(); ++j) {
              if (j)
                os << ", ";
              printType(os, v.fields[j]);
            }
            os << ')';
          }
        }
        os << (t->variants().empty() ? "}" : " }");
      } else {
        os << '{';
        for (unsigned k = 0; k < t->fields().size(); ++k) {
          if (k)
            os << ", ";
          printType(os, t->fields()[k]);
        }
        os << '}';
      }
      os << '\n';
    }
  }
  if (!m.actors().empty()) {
    section();
    for (const ActorDecl &a : m.actors()) {
      os << "actor " << a.name << " state ";
      printType(os, a.state);
      os << " init ";
      if (a.init)
        printFunctionName(os, a.init->name());
      else
        os << "@<null>";
      os << " methods(";
      for (unsigned k = 0; k < a.methods.size(); ++k) {
        if (k)
          os << ", ";
        printFunctionName(os, a.methods[k]->name());
      }
      os << ")\n";
    }
  }
  bool anyDecl = false;
  for (const Function &f : m.functions())
    if (f.isDeclaration() && !printed(f)) {
      if (!anyDecl)
        section();
      anyDecl = true;
      printFunction(os, f, opts);
    }
  for (const Function &f : m.functions()) {
    if (std::optional<StringRef> text = printed(f)) {
      section();
      os << *text;
    } else if (!f.isDeclaration()) {
      section();
      printFunction(os, f, opts);
    }
  }
}

std::string qmir::moduleToString(const Module &m, const PrintOptions &opts) {
  std::string s;
  llvm::raw_string_ostream os(s);
  printModule(os, m, opts);
  return s;
}

std::string qmir::functionToString(const Function &f, const PrintOptions &opts) {
  std::string s;
  llvm::raw_string_ostream os(s);
  printFunction(os, f, opts);
  return s;
}
