// MIR types. Every type is uniqued in a TypeContext and compared by pointer:
// two `i64`s, two literal structs with the same fields, or two references to the
// named enum `Option.i64` are the same `const Type *`. Types are immutable once
// built, except that a named struct or enum is created first and given its body
// later, so that the text parser can resolve forward references.
#pragma once

#include "mir/Cage.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Allocator.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <vector>

namespace qmir {

enum class TypeKind : uint8_t { Void, Int, Ptr, Struct, Enum, Function };

class Type;

/// One alternative of a tagged union: a name and zero or more payload fields.
struct EnumVariant {
  llvm::StringRef name;
  llvm::ArrayRef<const Type *> fields;
};

class Type {
public:
  TypeKind kind() const { return kind_; }
  bool isVoid() const { return kind_ == TypeKind::Void; }
  bool isInt() const { return kind_ == TypeKind::Int; }
  bool isInt(unsigned bits) const { return kind_ == TypeKind::Int && bits_ == bits; }
  bool isBool() const { return isInt(1); }
  bool isPtr() const { return kind_ == TypeKind::Ptr; }
  bool isStruct() const { return kind_ == TypeKind::Struct; }
  bool isEnum() const { return kind_ == TypeKind::Enum; }
  bool isFunction() const { return kind_ == TypeKind::Function; }
  /// Structs and enums: values made of parts.
  bool isAggregate() const { return isStruct() || isEnum(); }

  /// Integer width in bits (1, 8, 32 or 64).
  unsigned bits() const { return bits_; }

  /// Named structs and enums have a name; literal structs do not.
  bool isNamed() const { return !name_.empty(); }
  llvm::StringRef name() const { return name_; }
  /// A named struct or enum whose body has not been set yet.
  bool isOpaque() const { return opaque_; }

  /// Struct fields, or function parameter types.
  llvm::ArrayRef<const Type *> fields() const { return fields_; }
  llvm::ArrayRef<const Type *> params() const { return fields_; }
  const Type *result() const { return result_; }

  llvm::ArrayRef<EnumVariant> variants() const { return variants_; }
  /// Index of the variant called `name`, or -1.
  int variantIndex(llvm::StringRef name) const;

  void print(llvm::raw_ostream &os) const;
  std::string str() const;

private:
  friend class TypeContext;
  Type(TypeKind kind) : kind_(kind) {}

  TypeKind kind_;
  bool opaque_ = false;
  unsigned bits_ = 0;
  llvm::StringRef name_;
  llvm::ArrayRef<const Type *> fields_;
  const Type *result_ = nullptr;
  llvm::ArrayRef<EnumVariant> variants_;
};

inline llvm::raw_ostream &operator<<(llvm::raw_ostream &os, const Type &t) {
  t.print(os);
  return os;
}

/// Owns and uniques every type of a module.
class TypeContext {
public:
  TypeContext();
  TypeContext(const TypeContext &) = delete;
  TypeContext &operator=(const TypeContext &) = delete;

  const Type *voidTy() const { return void_; }
  const Type *i1() const { return i1_; }
  const Type *i8() const { return i8_; }
  const Type *i32() const { return i32_; }
  const Type *i64() const { return i64_; }
  const Type *ptr() const { return ptr_; }
  /// `bits` must be 1, 8, 32 or 64.
  const Type *intTy(unsigned bits) const;

  const Type *literalStruct(llvm::ArrayRef<const Type *> fields);
  const Type *function(llvm::ArrayRef<const Type *> params, const Type *result);

  /// Looks up a named struct or enum.
  const Type *named(llvm::StringRef name) const;
  /// Creates an opaque named struct; returns nullptr if the name is taken.
  const Type *createNamedStruct(llvm::StringRef name);
  /// Creates an opaque named struct called `name`, or `name1`, `name2`, ...
  /// if that is taken (types a pass generates).
  const Type *createFreshNamedStruct(llvm::StringRef name);
  /// Creates an opaque named enum; returns nullptr if the name is taken.
  const Type *createNamedEnum(llvm::StringRef name);
  /// Gives an opaque named struct its fields (once).
  void setStructBody(const Type *st, llvm::ArrayRef<const Type *> fields);
  /// Gives an opaque named enum its variants (once). Names and field arrays are
  /// copied into the context.
  void setEnumBody(const Type *en, llvm::ArrayRef<EnumVariant> variants);
  /// Named types in creation order (the printer emits them in this order).
  llvm::ArrayRef<const Type *> namedTypes() const { return namedOrder_; }

  /// Copies a string into the context's arena.
  llvm::StringRef save(llvm::StringRef s);

private:
  Type *make(TypeKind kind);
  llvm::ArrayRef<const Type *> copy(llvm::ArrayRef<const Type *> types);

  IRArena arena_{IRArena::OwnRunsOnly}; // lives as long as the module
  const Type *void_, *i1_, *i8_, *i32_, *i64_, *ptr_;
  llvm::StringMap<const Type *> named_;
  std::vector<const Type *> namedOrder_;
  // Keyed by arena copies of the field list (for functions: the parameters
  // followed by the result).
  llvm::DenseMap<llvm::ArrayRef<const Type *>, const Type *> literalStructs_;
  llvm::DenseMap<llvm::ArrayRef<const Type *>, const Type *> functions_;
};

} // namespace qmir
