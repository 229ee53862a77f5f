#include "mir/Type.h"

#include <string>

#include <cassert>
#include <new>

using namespace qmir;

int Type::variantIndex(llvm::StringRef n) const {
  for (unsigned i = 0; i < variants_.size(); ++i)
    if (variants_[i].name == n)
      return static_cast<int>(i);
  return -1;
}

void Type::print(llvm::raw_ostream &os) const {
  switch (kind_) {
  case TypeKind::Void:
    os << "void";
    return;
  case TypeKind::Int:
    os << 'i' << bits_;
    return;
  case TypeKind::Ptr:
    os << "ptr";
    return;
  case TypeKind::Struct:
  case TypeKind::Enum:
    if (isNamed()) {
      os << name_;
      return;
    }
    os << '{';
    for (unsigned i = 0; i < fields_.size(); ++i) {
      if (i)
        os << ", ";
      fields_[i]->print(os);
    }
    os << '}';
    return;
  case TypeKind::Function:
    os << "fn(";
    for (unsigned i = 0; i < fields_.size(); ++i) {
      if (i)
        os << ", ";
      fields_[i]->print(os);
    }
    os << ") -> ";
    result_->print(os);
    return;
  }
}

std::string Type::str() const {
  std::string s;
  llvm::raw_string_ostream os(s);
  print(os);
  return s;
}

TypeContext::TypeContext() {
  void_ = make(TypeKind::Void);
  auto mkInt = [&](unsigned bits) {
    Type *t = make(TypeKind::Int);
    t->bits_ = bits;
    return t;
  };
  i1_ = mkInt(1);
  i8_ = mkInt(8);
  i32_ = mkInt(32);
  i64_ = mkInt(64);
  ptr_ = make(TypeKind::Ptr);
}

Type *TypeContext::make(TypeKind kind) {
  return new (arena_.Allocate<Type>()) Type(kind);
}

const Type *TypeContext::intTy(unsigned bits) const {
  switch (bits) {
  case 1: return i1_;
  case 8: return i8_;
  case 32: return i32_;
  case 64: return i64_;
  default: return nullptr;
  }
}

llvm::ArrayRef<const Type *> TypeContext::copy(llvm::ArrayRef<const Type *> types) {
  if (types.empty())
    return {};
  auto *mem = arena_.Allocate<const Type *>(types.size());
  std::copy(types.begin(), types.end(), mem);
  return {mem, types.size()};
}

llvm::StringRef TypeContext::save(llvm::StringRef s) {
  return cage::save(arena_, s);
}

const Type *TypeContext::literalStruct(llvm::ArrayRef<const Type *> fields) {
  auto it = literalStructs_.find(fields);
  if (it != literalStructs_.end())
    return it->second;
  Type *t = make(TypeKind::Struct);
  t->fields_ = copy(fields);
  literalStructs_[t->fields_] = t;
  return t;
}

const Type *TypeContext::function(llvm::ArrayRef<const Type *> params,
                                  const Type *result) {
  llvm::SmallVector<const Type *, 8> key(params.begin(), params.end());
  key.push_back(result);
  auto it = functions_.find(llvm::ArrayRef<const Type *>(key));
  if (it != functions_.end())
    return it->second;
  Type *t = make(TypeKind::Function);
  llvm::ArrayRef<const Type *> stored = copy(key);
  t->fields_ = stored.drop_back();
  t->result_ = result;
  functions_[stored] = t;
  return t;
}

const Type *TypeContext::named(llvm::StringRef name) const {
  auto it = named_.find(name);
  return it == named_.end() ? nullptr : it->second;
}

const Type *TypeContext::createNamedStruct(llvm::StringRef name) {
  if (name.empty() || named_.count(name))
    return nullptr;
  Type *t = make(TypeKind::Struct);
  t->name_ = save(name);
  t->opaque_ = true;
  named_[name] = t;
  namedOrder_.push_back(t);
  return t;
}

const Type *TypeContext::createFreshNamedStruct(llvm::StringRef name) {
  std::string candidate = name.str();
  for (unsigned n = 1; named_.count(candidate); ++n)
    candidate = name.str() + std::to_string(n);
  return createNamedStruct(candidate);
}

const Type *TypeContext::createNamedEnum(llvm::StringRef name) {
  if (name.empty() || named_.count(name))
    return nullptr;
  Type *t = make(TypeKind::Enum);
  t->name_ = save(name);
  t->opaque_ = true;
  named_[name] = t;
  namedOrder_.push_back(t);
  return t;
}

void TypeContext::setStructBody(const Type *st, llvm::ArrayRef<const Type *> fields) {
  assert(st->isStruct() && st->isOpaque() && "body set twice");
  Type *t = const_cast<Type *>(st);
  t->fields_ = copy(fields);
  t->opaque_ = false;
}

void TypeContext::setEnumBody(const Type *en, llvm::ArrayRef<EnumVariant> variants) {
  assert(en->isEnum() && en->isOpaque() && "body set twice");
  Type *t = const_cast<Type *>(en);
  auto *mem = arena_.Allocate<EnumVariant>(variants.size());
  for (unsigned i = 0; i < variants.size(); ++i)
    new (&mem[i]) EnumVariant{save(variants[i].name), copy(variants[i].fields)};
  t->variants_ = {mem, variants.size()};
  t->opaque_ = false;
}
