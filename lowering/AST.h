// The AST a frontend hands to qmir: qmir's front door for expression languages.
//
// A frontend (the Quartz core reference frontend in frontend/, or any other)
// builds this tree, resolves names and checks types (filling the `resolved*` and
// `type` fields), and calls lowerToMIR (lowering/Lower.h). Design points:
// - Every node has a source range (SrcRange) so every MIR instruction lowered
//   from it gets a location.
// - Names are Symbols: a spelling plus a hygiene mark. Marks are 0 for names
//   the user wrote and a fresh number per macro expansion for names a macro
//   introduced. Resolution matches spelling *and* mark, so a macro's `tmp`
//   never captures or is captured by a user's `tmp`. After resolution every name
//   use points at its declaration node (a VarDecl, Param, FuncDecl, ...): that
//   object, not the spelling, is the binding's identity, and it becomes one MIR
//   `bind` record.
// - Nodes live in an AstContext arena and are trivially destructible: children
//   are ArrayRefs into the arena. Build lists in a SmallVector and `copy()` them.
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Allocator.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qmir::ast {

/// A half-open byte range [begin, end) in the file, with the line and column
/// (from 1) of `begin`.
struct SrcRange {
  uint32_t begin = 0, end = 0;
  uint32_t line = 0, col = 0;
};

/// A name as written: spelling plus hygiene mark (0: user-written).
struct Symbol {
  llvm::StringRef spelling;
  uint32_t mark = 0;
  bool operator==(const Symbol &o) const {
    return spelling == o.spelling && mark == o.mark;
  }
};

struct Decl;
struct EnumDecl;
struct StructDecl;
struct ActorDecl;
struct FuncDecl;

//===----------------------------------------------------------------------===//
// Semantic types (filled in by the checker), uniqued in AstContext.
//===----------------------------------------------------------------------===//

struct Ty {
  enum Kind : uint8_t {
    Int, Bool, Void, String,
    Never,   ///< the type of `return`, `panic(...)`, `break`: fits anywhere
    Option,  ///< elem: the payload type
    Vec,     ///< Vec<Int>
    Channel, ///< Channel<Int>
    Enum, Struct, Actor, ///< decl: the declaration
    Error,   ///< after a reported error: suppresses follow-on errors
  } kind;
  const Ty *elem = nullptr;
  const Decl *decl = nullptr;
  std::string str() const; ///< "Int", "Option<Int>", "Shape", ...
};

//===----------------------------------------------------------------------===//
// Syntactic types
//===----------------------------------------------------------------------===//

/// `Int`, `Option<Shape>`, `Vec<Int>`, a user type name.
struct TypeExpr {
  SrcRange range;
  llvm::StringRef name;
  llvm::ArrayRef<const TypeExpr *> args;
};

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

struct VarDecl;

struct Pattern {
  enum Kind : uint8_t { Wildcard, Binding, Int, Bool, Variant, Or } kind;
  SrcRange range;
  int64_t intValue = 0;  ///< Int; Bool (0/1)
  VarDecl *binding = nullptr; ///< Binding: the variable it declares
  /// Variant: optional enum qualifier (`Shape::Rect(...)`; empty if bare) and
  /// the variant's name.
  llvm::StringRef enumName;
  Symbol variantName;
  llvm::ArrayRef<Pattern *> subpatterns; ///< Variant fields; Or alternatives
  // Filled by the checker:
  const Ty *type = nullptr;           ///< the type this pattern matches
  int variantIndex = -1;              ///< Variant: index in the enum
};

/// Starts loading a pattern's subpatterns and the variable it binds (see
/// prefetchOperands(const Expr *)).
inline void prefetchOperands(const Pattern *p) {
  if (p->binding)
    __builtin_prefetch(p->binding);
  for (const Pattern *sub : p->subpatterns)
    __builtin_prefetch(sub);
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

struct Stmt;
struct MatchArm;

struct alignas(64) Expr {
  enum Kind : uint8_t {
    IntLit, BoolLit, StringLit,
    Name,       ///< a variable or field of the enclosing actor: `x`
    Unary,      ///< op: Neg (`-e`), Not (`!e` / `not e`)
    Binary,     ///< arithmetic, comparison, and/or (short-circuit)
    Call,       ///< `f(a, b)`: a function, a builtin, or an actor constructor
    MethodCall, ///< `recv.name(args)`: builtins on Vec/Option/Channel, actor methods
    Field,      ///< `e.name`
    Index,      ///< `v[i]`
    EnumCtor,   ///< `Option::Some(e)`, `Some(e)`, `None`, `Shape::Empty`
    StructLit,  ///< `Point { x: 1, y: 2 }`
    Match,      ///< `match e ... end`
    Do,         ///< `do stmts... expr end`: value of the last expression
    MacroCall,  ///< `$unwrap(e)`, `e!`, `$try(e)`, `$assert(c)`: before expansion
    Spawn,      ///< `spawn f(a, b)`: args = the call
  } kind;

  enum Op : uint8_t {
    None, Add, Sub, Mul, Div, Rem, Eq, Ne, Lt, Le, Gt, Ge, And, Or, Neg, Not,
  };

  // Layout: a program has hundreds of thousands of Exprs, far more than the
  // caches hold, so each pass over the tree waits for memory on nearly every
  // node. The node is aligned to a 64-byte cache line; the first line holds
  // what walkers read of the most common kinds (names, literals, operators),
  // the second what calls, constructors and macros add, the rest is rarer.
  Op op = None;
  bool postfix = false;       ///< MacroCall written as `e!`
  bool isStatement = false;   ///< Match used as a statement (arms may be stmts)
  int index = -1;             ///< EnumCtor: variant; Field: field index;
                              ///< StructLit: unused (filled by the checker)
  SrcRange range;
  Expr *lhs = nullptr;        ///< Unary operand; Binary left; MethodCall/Field
                              ///< receiver; Index base; Match subject; Spawn call
  Expr *rhs = nullptr;        ///< Binary right; Index index; Do: final value (or null)
  const Ty *type = nullptr;   ///< filled by the checker
  const Decl *resolved = nullptr; ///< filled by the checker. Name:
                                  ///< VarDecl/Param/actor field;
                                  ///< Call: FuncDecl/ActorDecl (null: builtin);
                                  ///< MethodCall: FuncDecl of an actor method;
                                  ///< StructLit/EnumCtor/Field: the type decl
  int64_t intValue = 0;       ///< IntLit; BoolLit (0/1)

  llvm::ArrayRef<Expr *> args; ///< Call/MethodCall/EnumCtor/MacroCall args;
                              ///< StructLit field values (parallel to fieldNames)
  /// MacroCall: the expansion (the checker and lowering use it instead).
  Expr *expansion = nullptr;
  Symbol name;                ///< Name, Call (callee), MethodCall/Field (member),
                              ///< EnumCtor (variant), StructLit (struct),
                              ///< MacroCall (macro, e.g. "$unwrap")
  SrcRange nameRange;         ///< where `name` is written

  llvm::StringRef text;       ///< StringLit (unescaped); MacroCall: the source
                              ///< text of the argument (for $assert)
  llvm::StringRef qualifier;  ///< EnumCtor: `Option` in `Option::Some`, or empty
  llvm::ArrayRef<Symbol> fieldNames;       ///< StructLit
  llvm::ArrayRef<SrcRange> fieldRanges;    ///< StructLit
  llvm::ArrayRef<MatchArm *> arms;         ///< Match
  llvm::ArrayRef<Stmt *> stmts;            ///< Do
  /// StructLit: for each field of the struct in declaration order, the index
  /// into `args` that initialises it (filled by the checker).
  llvm::ArrayRef<int> fieldOrder;
};

/// Starts loading an expression's operands (lhs, rhs, args) into the cache.
/// A program's tree is far larger than the caches, so a pass over it misses on
/// nearly every node; walkers call this on entering a node so that the misses
/// on its operands overlap instead of coming one after the other.
inline void prefetchOperands(const Expr *e) {
  if (e->lhs)
    __builtin_prefetch(e->lhs);
  if (e->rhs)
    __builtin_prefetch(e->rhs);
  // `args` is on the node's second cache line: only read it where it is used.
  if (e->kind == Expr::Call || e->kind == Expr::MethodCall ||
      e->kind == Expr::EnumCtor || e->kind == Expr::StructLit ||
      e->kind == Expr::MacroCall)
    for (const Expr *a : e->args)
      __builtin_prefetch(a);
}

struct MatchArm {
  SrcRange range;
  Pattern *pattern = nullptr;
  Expr *guard = nullptr; ///< `if cond`, or null
  Expr *body = nullptr;  ///< an expression, or...
  Stmt *stmt = nullptr;  ///< ...a simple statement when the match is a statement
};

/// Starts loading a Match's arms (see prefetchOperands).
inline void prefetchArms(const Expr *e) {
  for (const MatchArm *a : e->arms)
    __builtin_prefetch(a);
}

/// Starts loading what an arm's checking and lowering read first. Only
/// reads `a` itself, so call it on an arm prefetched a while ago.
inline void prefetchOperands(const MatchArm *a) {
  if (a->pattern)
    __builtin_prefetch(a->pattern);
  if (a->guard)
    __builtin_prefetch(a->guard);
  if (a->body)
    __builtin_prefetch(a->body);
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

struct Stmt {
  enum Kind : uint8_t {
    VarDef,      ///< `var x = e`, `var x: T = e`: decl
    Assign,   ///< `target = e`, `target += e` (op = Add/Sub/Mul)
    ExprStmt, ///< an expression evaluated for effect
    If,       ///< conds[i] -> blocks[i]; elseBody (maybe empty)
    While,    ///< conds[0] -> body
    Break, Continue,
    Return,   ///< value may be null
  } kind;
  SrcRange range;
  VarDecl *decl = nullptr;          ///< VarDef
  Expr *target = nullptr;           ///< Assign: Name, Field or Index
  Expr::Op op = Expr::None;         ///< Assign: None for `=`, else the compound op
  Expr *value = nullptr;            ///< Assign/ExprStmt/Return
  llvm::ArrayRef<Expr *> conds;     ///< If (one per if/elsif), While (one)
  /// If bodies (one per cond); While: blocks[0] is the body.
  llvm::ArrayRef<llvm::ArrayRef<Stmt *>> blocks;
  llvm::ArrayRef<Stmt *> elseBody;  ///< If
  bool hasElse = false;
};

/// Starts loading the nodes a statement's lowering or checking reads first
/// (see prefetchOperands). Only reads `s` itself, so call it on a statement
/// that was prefetched a while ago.
inline void prefetchOperands(const Stmt *s) {
  if (s->decl)
    __builtin_prefetch(s->decl);
  if (s->target)
    __builtin_prefetch(s->target);
  if (s->value)
    __builtin_prefetch(s->value);
  for (const Expr *c : s->conds)
    __builtin_prefetch(c);
}

/// Calls `visit(s)` on each statement of a block in order, having started
/// the cache misses on all the statements at once and on each statement's
/// operands one statement ahead. Walkers over a whole program use it: the tree
/// is far larger than the caches, and without it the misses come one after
/// the other.
template <typename Fn>
void forEachStmtPrefetched(llvm::ArrayRef<Stmt *> stmts, Fn &&visit) {
  for (const Stmt *s : stmts)
    __builtin_prefetch(s);
  for (size_t i = 0; i < stmts.size(); ++i) {
    if (i + 1 < stmts.size())
      prefetchOperands(stmts[i + 1]);
    visit(stmts[i]);
  }
}

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

struct Decl {
  enum class Kind : uint8_t { Var, Param, Func, Enum, Struct, Actor } kind;
  SrcRange range;
  Symbol name;
  SrcRange nameRange;
};

/// A local variable, a pattern binding, or an actor field.
struct VarDecl : Decl {
  const TypeExpr *typeExpr = nullptr; ///< optional annotation
  Expr *init = nullptr;               ///< `var x = init`; actor field initial value
  uint32_t scope = 0;                 ///< lexical scope id (set by the parser/checker)
  bool isActorField = false;
  const Ty *type = nullptr;           ///< filled by the checker
};

struct Param : Decl {
  const TypeExpr *typeExpr = nullptr;
  const Ty *type = nullptr;
};

struct FuncDecl : Decl {
  llvm::ArrayRef<Param *> params;
  const TypeExpr *resultExpr = nullptr; ///< null: Void
  llvm::ArrayRef<Stmt *> body;
  const ActorDecl *actor = nullptr;     ///< set for actor methods
  const Ty *resultType = nullptr;       ///< filled by the checker
};

struct EnumDecl : Decl {
  struct Variant {
    Symbol name;
    SrcRange range;
    llvm::ArrayRef<const TypeExpr *> fieldExprs;
    llvm::ArrayRef<const Ty *> fields; ///< filled by the checker
  };
  llvm::ArrayRef<Variant> variants;
  bool builtinOption = false; ///< the implicit `Option<T>` (one per T)
};

struct StructDecl : Decl {
  struct Field {
    Symbol name;
    SrcRange range;
    const TypeExpr *typeExpr = nullptr;
    const Ty *type = nullptr; ///< filled by the checker
  };
  llvm::ArrayRef<Field> fields;
};

struct ActorDecl : Decl {
  llvm::ArrayRef<VarDecl *> fields;
  llvm::ArrayRef<FuncDecl *> methods;
};

/// One source file's declarations.
struct Module {
  llvm::StringRef fileName;
  llvm::StringRef source; ///< the whole text (for $assert messages, diagnostics)
  llvm::ArrayRef<Decl *> decls;
  /// How many `$unwrap` / `e!` / `$try` macro calls the parser made (each
  /// expansion takes one fresh scope id: expandCheckAndLowerModule in
  /// frontend/Pipeline.h numbers the checker's scopes from it).
  uint32_t scopedMacroCalls = 0;
};

//===----------------------------------------------------------------------===//
// The arena
//===----------------------------------------------------------------------===//

class AstContext {
public:
  AstContext() = default;
  AstContext(const AstContext &) = delete;
  AstContext &operator=(const AstContext &) = delete;

  template <typename T, typename... Args> T *make(Args &&...args) {
    static_assert(std::is_trivially_destructible_v<T>,
                  "AST nodes must be trivially destructible");
    return new (arena_.Allocate<T>()) T{std::forward<Args>(args)...};
  }
  template <typename T> llvm::ArrayRef<T> copy(llvm::ArrayRef<T> items) {
    if (items.empty())
      return {};
    T *mem = arena_.Allocate<T>(items.size());
    std::uninitialized_copy(items.begin(), items.end(), mem);
    return {mem, items.size()};
  }
  llvm::StringRef save(llvm::StringRef s);

  /// A fresh hygiene mark for one macro expansion (never 0).
  uint32_t freshMark() { return ++lastMark_; }
  /// A fresh lexical scope id (never 0).
  uint32_t freshScope() { return ++lastScope_; }
  /// The last scope id handed out; setLastScope() moves it (for a driver
  /// that interleaves phases but must number scopes as if it did not).
  uint32_t lastScope() const { return lastScope_; }
  void setLastScope(uint32_t s) { lastScope_ = s; }

  // Semantic types, uniqued.
  const Ty *intTy();
  const Ty *boolTy();
  const Ty *voidTy();
  const Ty *stringTy();
  const Ty *neverTy();
  const Ty *errorTy();
  const Ty *vecTy();
  const Ty *channelTy();
  const Ty *optionTy(const Ty *elem);
  const Ty *declTy(const Decl *d); ///< Enum, Struct or Actor type of a decl
  /// The implicit `enum Option<elem> { None, Some(elem) }` declaration.
  const EnumDecl *optionDecl(const Ty *elem);

private:
  const Ty *intern(Ty::Kind k, const Ty *elem, const Decl *decl);
  llvm::BumpPtrAllocator arena_;
  uint32_t lastMark_ = 0;
  uint32_t lastScope_ = 0;
  std::map<std::tuple<int, const Ty *, const Decl *>, const Ty *> tys_;
  std::map<const Ty *, const EnumDecl *> optionDecls_;
};

/// Prints the tree in an S-expression-like form (for `qzc --emit=ast` and tests).
/// Names print as `spelling` for user names and `spelling#mark` for macro names.
void dump(llvm::raw_ostream &os, const Module &m);

} // namespace qmir::ast
