// AstContext: the arena and the uniqued semantic types of the qmir AST.
#include "lowering/AST.h"

using namespace qmir::ast;

llvm::StringRef AstContext::save(llvm::StringRef s) {
  if (s.empty())
    return {};
  char *mem = arena_.Allocate<char>(s.size());
  std::copy(s.begin(), s.end(), mem);
  return {mem, s.size()};
}

const Ty *AstContext::intern(Ty::Kind k, const Ty *elem, const Decl *decl) {
  auto &slot = tys_[{static_cast<int>(k), elem, decl}];
  if (!slot)
    slot = make<Ty>(Ty{k, elem, decl});
  return slot;
}

const Ty *AstContext::intTy() { return intern(Ty::Int, nullptr, nullptr); }
const Ty *AstContext::boolTy() { return intern(Ty::Bool, nullptr, nullptr); }
const Ty *AstContext::voidTy() { return intern(Ty::Void, nullptr, nullptr); }
const Ty *AstContext::stringTy() { return intern(Ty::String, nullptr, nullptr); }
const Ty *AstContext::neverTy() { return intern(Ty::Never, nullptr, nullptr); }
const Ty *AstContext::errorTy() { return intern(Ty::Error, nullptr, nullptr); }
const Ty *AstContext::vecTy() { return intern(Ty::Vec, nullptr, nullptr); }
const Ty *AstContext::channelTy() { return intern(Ty::Channel, nullptr, nullptr); }
const Ty *AstContext::optionTy(const Ty *elem) { return intern(Ty::Option, elem, nullptr); }

const Ty *AstContext::declTy(const Decl *d) {
  switch (d->kind) {
  case Decl::Kind::Enum: return intern(Ty::Enum, nullptr, d);
  case Decl::Kind::Struct: return intern(Ty::Struct, nullptr, d);
  case Decl::Kind::Actor: return intern(Ty::Actor, nullptr, d);
  default: return errorTy();
  }
}

const EnumDecl *AstContext::optionDecl(const Ty *elem) {
  auto &slot = optionDecls_[elem];
  if (slot)
    return slot;
  auto *d = make<EnumDecl>();
  d->kind = Decl::Kind::Enum;
  d->name = Symbol{"Option", 0};
  d->builtinOption = true;
  EnumDecl::Variant none{};
  none.name = Symbol{"None", 0};
  EnumDecl::Variant some{};
  some.name = Symbol{"Some", 0};
  some.fields = copy(llvm::ArrayRef<const Ty *>(elem));
  EnumDecl::Variant vs[] = {none, some};
  d->variants = copy(llvm::ArrayRef<EnumDecl::Variant>(vs));
  slot = d;
  return d;
}

std::string Ty::str() const {
  switch (kind) {
  case Int: return "Int";
  case Bool: return "Bool";
  case Void: return "Void";
  case String: return "String";
  case Never: return "Never";
  case Option: return "Option<" + elem->str() + ">";
  case Vec: return "Vec<Int>";
  case Channel: return "Channel<Int>";
  case Enum:
  case Struct:
  case Actor: return decl->name.spelling.str();
  case Error: return "<error>";
  }
  return "<?>";
}
