// Parser for Quartz core: recursive descent over the token stream of Lexer,
// building the AST of lowering/AST.h in the AstContext arena.
//
// Newlines end statements except inside (), [] and {} and after a binary
// operator, a comma or `=`: the parser tracks this with skipNL_, which blocks
// (`do`, `match`) switch back off so a match can sit inside a call's
// parentheses. Error recovery: the first error in a statement puts the parser
// in "panic" mode (later errors suppressed), and the statement loop skips to
// the next newline / `;` / `end`. A statement with an error is dropped, so the
// AST never holds a null where a node is required. Every loop checks that it
// made progress, and all recursion is bounded (kMaxNestingDepth).
#include "frontend/Parser.h"
#include "frontend/Lexer.h"

#include "llvm/ADT/SmallVector.h"

#include <cctype>
#include <string>

using namespace qmir;
using namespace qmir::ast;
using namespace qmir::frontend;
using llvm::ArrayRef;
using llvm::SmallVector;
using llvm::StringRef;

namespace {

/// Nesting cost of one level of recursion; one link of an operator or postfix
/// chain (`a + b + c`, `x!!`) costs 1, since it also deepens the tree.
constexpr unsigned kRecCost = 16;
constexpr unsigned kMaxNest = kMaxNestingDepth * kRecCost;

bool isUpper(StringRef s) { return !s.empty() && s[0] >= 'A' && s[0] <= 'Z'; }

class Parser {
public:
  Parser(AstContext &ctx, DiagEngine &diags)
      : ctx_(ctx), diags_(diags), lex_(diags), src_(diags.buffer()) {
    tok_ = lex_.lex();
    if (diags_.limitReached())
      goFatal();
  }
  Module *parseModule();

private:
  friend class NestGuard;
  friend class ChainGuard;

  //===--- Tokens --------------------------------------------------------===//
  void advance() {
    prevEnd_ = tok_.end;
    if (fatal_) {
      tok_.kind = Tok::Eof;
      return;
    }
    unsigned errorsBefore = diags_.errorCount();
    do
      tok_ = lex_.lex();
    while (skipNL_ && tok_.kind == Tok::Newline);
    // The lexer reported a bad character or string: treat it like a syntax
    // error of the statement, so it does not cascade into "expected ...".
    if (diags_.errorCount() != errorsBefore)
      panicking_ = true;
    if (diags_.errorCount() >= kMaxParseErrors || diags_.limitReached())
      goFatal();
  }
  bool is(Tok k) const { return tok_.kind == k; }
  bool accept(Tok k) {
    if (!is(k))
      return false;
    advance();
    return true;
  }
  bool expect(Tok k, const char *what) {
    if (accept(k))
      return true;
    errorExpected(what);
    return false;
  }
  void skipNewlines() {
    while (is(Tok::Newline))
      advance();
  }
  void skipSeparators() {
    while (is(Tok::Newline) || is(Tok::Semi))
      advance();
  }
  StringRef text(const Token &t) const { return lex_.text(t); }
  bool isDeclKeyword() const {
    return is(Tok::KwDef) || is(Tok::KwEnum) || is(Tok::KwStruct) ||
           is(Tok::KwActor);
  }
  /// Tokens that close a block: its own `end`/`elsif`/`else`, and the start of
  /// a declaration (a forgotten `end` then costs one error, not hundreds).
  bool isBlockEnd() const {
    return is(Tok::Eof) || is(Tok::KwEnd) || is(Tok::KwElsif) ||
           is(Tok::KwElse) || isDeclKeyword();
  }
  bool atStatementEnd() const {
    return is(Tok::Newline) || is(Tok::Semi) || isBlockEnd() ||
           is(Tok::KwIf) || is(Tok::KwUnless);
  }

  SrcRange from(const SrcRange &start) const {
    return {start.begin, std::max(prevEnd_, start.begin), start.line,
            start.col};
  }
  static SrcRange join(const SrcRange &a, const SrcRange &b) {
    return {a.begin, std::max(a.end, b.end), a.line, a.col};
  }

  //===--- Errors --------------------------------------------------------===//
  void goFatal() {
    fatal_ = true;
    tok_.kind = Tok::Eof;
  }
  void error(SrcRange r, const llvm::Twine &msg) {
    if (fatal_ || panicking_)
      return;
    panicking_ = true;
    diags_.error(r, msg);
    if (diags_.errorCount() >= kMaxParseErrors)
      goFatal();
  }
  std::string describe(const Token &t) const {
    if (t.kind == Tok::Ident || t.kind == Tok::IntLit ||
        t.kind == Tok::MacroName) {
      StringRef s = text(t);
      if (s.size() > 32)
        return ("'" + s.take_front(32) + "...'").str();
      return ("'" + s + "'").str();
    }
    return tokSpelling(t.kind);
  }
  void errorExpected(const llvm::Twine &what) {
    error(tok_.range(), "expected " + what + ", found " + describe(tok_));
  }
  /// Skips the rest of a broken statement: up to and including the next
  /// newline or `;`, or up to a block-closing keyword.
  void sync() {
    skipNL_ = false;
    while (!is(Tok::Newline) && !is(Tok::Semi) && !is(Tok::Eof) &&
           !is(Tok::KwEnd) && !is(Tok::KwElsif) && !is(Tok::KwElse))
      advance();
    if (is(Tok::Newline) || is(Tok::Semi))
      advance();
    panicking_ = false;
  }
  bool enter(unsigned cost) {
    nest_ += cost;
    if (nest_ <= kMaxNest)
      return true;
    if (!fatal_)
      diags_.error(tok_.range(), "nesting too deep (more than " +
                                     llvm::Twine(kMaxNestingDepth) +
                                     " levels)");
    goFatal();
    return false;
  }
  /// Requires the `end` closing the construct that began at `start`.
  bool expectEnd(const Token &start) {
    if (accept(Tok::KwEnd))
      return true;
    error(tok_.range(), llvm::Twine("expected 'end' to close ") +
                            tokSpelling(start.kind) + " on line " +
                            llvm::Twine(start.line) + ", found " +
                            describe(tok_));
    return false;
  }

  //===--- Node helpers --------------------------------------------------===//
  Expr *newExpr(Expr::Kind k, SrcRange r) {
    Expr *e = ctx_.make<Expr>();
    e->kind = k;
    e->range = r;
    return e;
  }
  Stmt *newStmt(Stmt::Kind k, SrcRange r) {
    Stmt *s = ctx_.make<Stmt>();
    s->kind = k;
    s->range = r;
    return s;
  }
  Expr *binary(Expr::Op op, Expr *l, Expr *r) {
    Expr *e = newExpr(Expr::Binary, join(l->range, r->range));
    e->op = op;
    e->lhs = l;
    e->rhs = r;
    return e;
  }
  Expr *notOf(Expr *c) {
    Expr *e = newExpr(Expr::Unary, c->range);
    e->op = Expr::Not;
    e->lhs = c;
    return e;
  }
  VarDecl *newVar(const Token &name, uint32_t scope) {
    VarDecl *d = ctx_.make<VarDecl>();
    d->kind = Decl::Kind::Var;
    d->name = Symbol{text(name), 0};
    d->nameRange = name.range();
    d->range = name.range();
    d->scope = scope;
    return d;
  }

  /// The body of an enum, struct or actor up to its `end`: `member()` parses
  /// one member at the current token; after an error the parser resyncs,
  /// and every round consumes a token, so a broken body cannot loop.
  template <typename AtEnd, typename F> void parseMembers(AtEnd &&atEnd, F &&member) {
    for (;;) {
      skipSeparators();
      if (atEnd())
        break;
      uint32_t before = tok_.begin;
      member();
      if (panicking_)
        sync();
      if (tok_.begin == before && !is(Tok::KwEnd) && !is(Tok::Eof))
        advance();
    }
  }
  /// A member of a declaration body ends its line.
  void expectMemberEnd(const char *what) {
    if (!is(Tok::Newline) && !is(Tok::Semi) && !is(Tok::KwEnd))
      errorExpected(what);
  }
  bool atDeclBodyEnd() const {
    return isBlockEnd() && !is(Tok::KwElse) && !is(Tok::KwElsif);
  }

  /// Parses `OPEN item (, item)* ,? CLOSE` with newlines insignificant inside;
  /// tok_ is at OPEN. False after an error.
  template <typename F> bool parseList(Tok close, const char *closeName, F &&item) {
    bool saved = skipNL_;
    skipNL_ = true;
    advance();
    while (!is(close)) {
      uint32_t before = tok_.begin;
      if (!item()) {
        skipNL_ = saved;
        return false;
      }
      if (!accept(Tok::Comma))
        break;
      if (tok_.begin == before && !is(close)) { // no progress: give up
        skipNL_ = saved;
        errorExpected(closeName);
        return false;
      }
    }
    // Restore first so the token after CLOSE is read in the outer mode.
    skipNL_ = saved;
    if (!is(close)) {
      errorExpected(closeName);
      return false;
    }
    advance();
    return true;
  }
  bool parseArgs(SmallVector<Expr *, 4> &out) {
    return parseList(Tok::RParen, "')'", [&] {
      Expr *a = parseExpr();
      if (a)
        out.push_back(a);
      return a != nullptr;
    });
  }

  //===--- Grammar -------------------------------------------------------===//
  Decl *parseFunc(ActorDecl *actor);
  /// Reads the name after `def`/`enum`/`struct`/`actor` into `d`; reports
  /// "expected WHAT" and returns false when there is none.
  bool parseDeclName(Decl *d, llvm::StringRef what);
  Decl *parseEnum();
  Decl *parseStruct();
  Decl *parseActor();
  const TypeExpr *parseType();
  bool endOfHeader();

  ArrayRef<Stmt *> parseBlock();
  Stmt *parseStatement();
  Stmt *parseSimpleStatement();
  Stmt *parseModifiers(Stmt *s);
  Stmt *parseIf();
  Stmt *parseWhile();
  Expr *parseCondition();
  void endStatement();

  Expr *parseExpr();
  Expr *parseOr();
  Expr *parseAnd();
  Expr *parseNot();
  Expr *parseCmp();
  Expr *parseAdd();
  Expr *parseMul();
  Expr *parseUnary();
  Expr *parsePostfixOps(Expr *e);
  Expr *parsePrimary();
  Expr *parseIdentExpr();
  Expr *parseIntLit(const Token &t, bool negate, SrcRange range);
  Expr *parseStringLit();
  Expr *parseMatch(bool isStatement);
  MatchArm *parseArm(bool isStatement);
  Expr *parseDo();
  Pattern *parsePattern();
  Pattern *parsePatternPrimary();

  AstContext &ctx_;
  DiagEngine &diags_;
  uint32_t scopedMacroCalls_ = 0; ///< Module::scopedMacroCalls
  Lexer lex_;
  StringRef src_;
  Token tok_;
  uint32_t prevEnd_ = 0;
  bool skipNL_ = false;
  bool panicking_ = false;
  bool fatal_ = false;
  unsigned nest_ = 0;
  SmallVector<uint32_t, 32> scopes_;
};

/// Bounds recursion: holds `cost` of nesting for its lifetime.
class NestGuard {
public:
  NestGuard(Parser &p, unsigned cost = kRecCost) : p_(p), cost_(cost) {
    ok = p.enter(cost);
  }
  ~NestGuard() { p_.nest_ -= cost_; }
  bool ok;

private:
  Parser &p_;
  unsigned cost_;
};

/// Bounds the length of left-nested operator and postfix chains.
class ChainGuard {
public:
  explicit ChainGuard(Parser &p) : p_(p) {}
  ~ChainGuard() { p_.nest_ -= added_; }
  bool step() {
    ++added_;
    return p_.enter(1);
  }

private:
  Parser &p_;
  unsigned added_ = 0;
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

Module *Parser::parseModule() {
  Module *m = ctx_.make<Module>();
  m->fileName = diags_.bufferName();
  m->source = src_;
  SmallVector<Decl *, 32> decls;
  for (;;) {
    skipSeparators();
    if (is(Tok::Eof))
      break;
    Decl *d = nullptr;
    switch (tok_.kind) {
    case Tok::KwDef: d = parseFunc(nullptr); break;
    case Tok::KwEnum: d = parseEnum(); break;
    case Tok::KwStruct: d = parseStruct(); break;
    case Tok::KwActor: d = parseActor(); break;
    default:
      errorExpected("a declaration ('def', 'enum', 'struct' or 'actor')");
      // Resynchronise at the next declaration keyword.
      advance();
      while (!is(Tok::Eof) && !isDeclKeyword())
        advance();
      break;
    }
    if (d)
      decls.push_back(d);
    panicking_ = false;
    skipNL_ = false;
  }
  m->decls = ctx_.copy(ArrayRef<Decl *>(decls));
  m->scopedMacroCalls = scopedMacroCalls_;
  return m;
}

/// After a declaration header: the rest of the line must be empty.
bool Parser::endOfHeader() {
  if (!panicking_ && !is(Tok::Newline) && !is(Tok::Semi) && !is(Tok::Eof))
    errorExpected("newline");
  bool ok = !panicking_;
  sync();
  return ok;
}

Decl *Parser::parseFunc(ActorDecl *actor) {
  Token start = tok_;
  advance(); // def
  FuncDecl *f = ctx_.make<FuncDecl>();
  f->kind = Decl::Kind::Func;
  f->actor = actor;
  bool named = parseDeclName(f, "function name");
  SmallVector<Param *, 8> params;
  if (!panicking_) {
    if (!is(Tok::LParen)) {
      errorExpected("'('");
    } else {
      parseList(Tok::RParen, "')'", [&] {
        if (!is(Tok::Ident)) {
          errorExpected("parameter name");
          return false;
        }
        Param *p = ctx_.make<Param>();
        p->kind = Decl::Kind::Param;
        p->name = Symbol{text(tok_), 0};
        p->nameRange = tok_.range();
        Token pstart = tok_;
        advance();
        if (!expect(Tok::Colon, "':' and the parameter's type"))
          return false;
        p->typeExpr = parseType();
        if (!p->typeExpr)
          return false;
        p->range = from(pstart.range());
        params.push_back(p);
        return true;
      });
    }
  }
  if (!panicking_ && accept(Tok::Colon))
    f->resultExpr = parseType();
  endOfHeader();
  f->params = ctx_.copy(ArrayRef<Param *>(params));
  f->body = parseBlock();
  expectEnd(start);
  f->range = from(start.range());
  return named ? f : nullptr;
}

const TypeExpr *Parser::parseType() {
  NestGuard g(*this);
  if (!g.ok)
    return nullptr;
  if (!is(Tok::Ident)) {
    errorExpected("a type");
    return nullptr;
  }
  Token start = tok_;
  TypeExpr *t = ctx_.make<TypeExpr>();
  t->name = text(tok_);
  advance();
  if (is(Tok::Lt)) {
    SmallVector<const TypeExpr *, 2> args;
    advance();
    for (;;) {
      const TypeExpr *a = parseType();
      if (!a)
        return nullptr;
      args.push_back(a);
      if (!accept(Tok::Comma))
        break;
    }
    if (!expect(Tok::Gt, "'>'"))
      return nullptr;
    t->args = ctx_.copy(ArrayRef<const TypeExpr *>(args));
  }
  t->range = from(start.range());
  return t;
}

bool Parser::parseDeclName(Decl *d, llvm::StringRef what) {
  if (!is(Tok::Ident)) {
    errorExpected(what);
    return false;
  }
  d->name = Symbol{text(tok_), 0};
  d->nameRange = tok_.range();
  advance();
  return true;
}

Decl *Parser::parseEnum() {
  Token start = tok_;
  advance();
  EnumDecl *e = ctx_.make<EnumDecl>();
  e->kind = Decl::Kind::Enum;
  bool named = parseDeclName(e, "enum name");
  endOfHeader();
  SmallVector<EnumDecl::Variant, 8> variants;
  parseMembers([&] { return atDeclBodyEnd(); }, [&] {
    if (!is(Tok::Ident)) {
      errorExpected("variant name or 'end'");
      return;
    }
    EnumDecl::Variant v{};
    Token vstart = tok_;
    v.name = Symbol{text(tok_), 0};
    advance();
    SmallVector<const TypeExpr *, 4> fields;
    bool ok = true;
    if (is(Tok::LParen))
      ok = parseList(Tok::RParen, "')'", [&] {
        const TypeExpr *t = parseType();
        if (t)
          fields.push_back(t);
        return t != nullptr;
      });
    v.range = from(vstart.range());
    v.fieldExprs = ctx_.copy(ArrayRef<const TypeExpr *>(fields));
    if (ok)
      variants.push_back(v);
    if (!panicking_)
      expectMemberEnd("newline after variant");
  });
  expectEnd(start);
  e->variants = ctx_.copy(ArrayRef<EnumDecl::Variant>(variants));
  e->range = from(start.range());
  return named ? e : nullptr;
}

Decl *Parser::parseStruct() {
  Token start = tok_;
  advance();
  StructDecl *s = ctx_.make<StructDecl>();
  s->kind = Decl::Kind::Struct;
  bool named = parseDeclName(s, "struct name");
  endOfHeader();
  SmallVector<StructDecl::Field, 8> fields;
  parseMembers([&] { return atDeclBodyEnd(); }, [&] {
    if (!is(Tok::Ident)) {
      errorExpected("field name or 'end'");
      return;
    }
    StructDecl::Field f{};
    Token fstart = tok_;
    f.name = Symbol{text(tok_), 0};
    advance();
    if (!expect(Tok::Colon, "':' and the field's type"))
      return;
    f.typeExpr = parseType();
    f.range = from(fstart.range());
    if (f.typeExpr) {
      fields.push_back(f);
      expectMemberEnd("newline after field");
    }
  });
  expectEnd(start);
  s->fields = ctx_.copy(ArrayRef<StructDecl::Field>(fields));
  s->range = from(start.range());
  return named ? s : nullptr;
}

Decl *Parser::parseActor() {
  Token start = tok_;
  advance();
  ActorDecl *a = ctx_.make<ActorDecl>();
  a->kind = Decl::Kind::Actor;
  bool named = parseDeclName(a, "actor name");
  endOfHeader();
  scopes_.push_back(ctx_.freshScope());
  SmallVector<VarDecl *, 8> fields;
  SmallVector<FuncDecl *, 8> methods;
  parseMembers(
      [&] {
        return is(Tok::Eof) || is(Tok::KwEnd) || is(Tok::KwEnum) || is(Tok::KwStruct) ||
               is(Tok::KwActor);
      },
      [&] {
        if (is(Tok::KwDef)) {
          if (Decl *m = parseFunc(a))
            methods.push_back(static_cast<FuncDecl *>(m));
        } else if (is(Tok::KwVar)) {
          if (Stmt *s = parseSimpleStatement()) {
            s->decl->isActorField = true;
            fields.push_back(s->decl);
            expectMemberEnd("newline after field");
          }
        } else {
          errorExpected("'var', 'def' or 'end' in actor");
        }
      });
  scopes_.pop_back();
  expectEnd(start);
  a->fields = ctx_.copy(ArrayRef<VarDecl *>(fields));
  a->methods = ctx_.copy(ArrayRef<FuncDecl *>(methods));
  a->range = from(start.range());
  return named ? a : nullptr;
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

ArrayRef<Stmt *> Parser::parseBlock() {
  NestGuard g(*this);
  if (!g.ok)
    return {};
  scopes_.push_back(ctx_.freshScope());
  SmallVector<Stmt *, 16> stmts;
  for (;;) {
    skipSeparators();
    if (isBlockEnd())
      break;
    uint32_t before = tok_.begin;
    Stmt *s = parseStatement();
    if (s)
      stmts.push_back(s);
    if (panicking_)
      sync();
    if (tok_.begin == before && !isBlockEnd())
      advance(); // cannot happen by construction; guarantees termination
  }
  scopes_.pop_back();
  return ctx_.copy(ArrayRef<Stmt *>(stmts));
}

void Parser::endStatement() {
  if (panicking_)
    return;
  if (is(Tok::Newline) || is(Tok::Semi))
    advance();
  else if (!isBlockEnd())
    errorExpected("newline or ';' after statement");
}

Stmt *Parser::parseStatement() {
  Stmt *s = nullptr;
  switch (tok_.kind) {
  case Tok::KwIf:
  case Tok::KwUnless:
    return parseIf();
  case Tok::KwWhile:
    return parseWhile();
  case Tok::KwMatch: {
    Expr *m = parseMatch(/*isStatement=*/true);
    if (m) {
      s = newStmt(Stmt::ExprStmt, m->range);
      s->value = m;
    }
    break;
  }
  default:
    s = parseSimpleStatement();
    if (s)
      s = parseModifiers(s);
    break;
  }
  endStatement();
  return panicking_ ? nullptr : s;
}

Stmt *Parser::parseModifiers(Stmt *s) {
  if (!is(Tok::KwIf) && !is(Tok::KwUnless))
    return s;
  bool unless = is(Tok::KwUnless);
  advance();
  Expr *c = parseExpr();
  if (!c)
    return nullptr;
  Stmt *i = newStmt(Stmt::If, join(s->range, c->range));
  Expr *cond = unless ? notOf(c) : c;
  i->conds = ctx_.copy(ArrayRef<Expr *>(cond));
  ArrayRef<Stmt *> body = ctx_.copy(ArrayRef<Stmt *>(s));
  i->blocks = ctx_.copy(ArrayRef<ArrayRef<Stmt *>>(body));
  return i;
}

Stmt *Parser::parseSimpleStatement() {
  Token start = tok_;
  switch (tok_.kind) {
  case Tok::KwVar: {
    advance();
    if (!is(Tok::Ident)) {
      errorExpected("variable name");
      return nullptr;
    }
    VarDecl *d = newVar(tok_, scopes_.empty() ? 0 : scopes_.back());
    advance();
    if (accept(Tok::Colon)) {
      d->typeExpr = parseType();
      if (!d->typeExpr)
        return nullptr;
    }
    if (!expect(Tok::Assign, "'=' and an initial value"))
      return nullptr;
    skipNewlines();
    d->init = parseExpr();
    if (!d->init)
      return nullptr;
    Stmt *s = newStmt(Stmt::VarDef, from(start.range()));
    d->range = s->range;
    s->decl = d;
    return s;
  }
  case Tok::KwReturn: {
    advance();
    Expr *v = nullptr;
    if (!atStatementEnd()) {
      v = parseExpr();
      if (!v)
        return nullptr;
    }
    Stmt *s = newStmt(Stmt::Return, from(start.range()));
    s->value = v;
    return s;
  }
  case Tok::KwBreak:
  case Tok::KwContinue:
    advance();
    return newStmt(start.kind == Tok::KwBreak ? Stmt::Break : Stmt::Continue,
                   start.range());
  default:
    break;
  }
  Expr *e = parseExpr();
  if (!e)
    return nullptr;
  Expr::Op op;
  switch (tok_.kind) {
  case Tok::Assign: op = Expr::None; break;
  case Tok::PlusAssign: op = Expr::Add; break;
  case Tok::MinusAssign: op = Expr::Sub; break;
  case Tok::StarAssign: op = Expr::Mul; break;
  default: {
    Stmt *s = newStmt(Stmt::ExprStmt, e->range);
    s->value = e;
    return s;
  }
  }
  if (e->kind != Expr::Name && e->kind != Expr::Field &&
      e->kind != Expr::Index) {
    error(e->range, "invalid assignment target: expected a variable, a "
                    "field or an index");
    return nullptr;
  }
  advance();
  skipNewlines();
  Expr *v = parseExpr();
  if (!v)
    return nullptr;
  Stmt *s = newStmt(Stmt::Assign, from(start.range()));
  s->target = e;
  s->op = op;
  s->value = v;
  return s;
}

Expr *Parser::parseCondition() {
  Expr *c = parseExpr();
  if (c && !is(Tok::Newline) && !is(Tok::Semi)) {
    errorExpected("newline after condition");
    c = nullptr;
  }
  sync(); // consumes the newline, or skips the broken rest of the line
  return c;
}

Stmt *Parser::parseIf() {
  Token start = tok_;
  bool unless = is(Tok::KwUnless);
  bool ok = true;
  advance();
  SmallVector<Expr *, 2> conds;
  SmallVector<ArrayRef<Stmt *>, 2> blocks;
  Expr *c = parseCondition();
  ok &= c != nullptr;
  if (c)
    conds.push_back(unless ? notOf(c) : c);
  blocks.push_back(parseBlock());
  while (is(Tok::KwElsif)) {
    advance();
    c = parseCondition();
    ok &= c != nullptr;
    if (c)
      conds.push_back(c);
    blocks.push_back(parseBlock());
  }
  Stmt *s = newStmt(Stmt::If, start.range());
  if (is(Tok::KwElse)) {
    advance();
    s->hasElse = true;
    s->elseBody = parseBlock();
  }
  ok &= expectEnd(start);
  if (!ok)
    return nullptr;
  s->range = from(start.range());
  s->conds = ctx_.copy(ArrayRef<Expr *>(conds));
  s->blocks = ctx_.copy(ArrayRef<ArrayRef<Stmt *>>(blocks));
  return s;
}

Stmt *Parser::parseWhile() {
  Token start = tok_;
  advance();
  Expr *c = parseCondition();
  ArrayRef<Stmt *> body = parseBlock();
  bool ok = expectEnd(start);
  if (!ok || !c)
    return nullptr;
  Stmt *s = newStmt(Stmt::While, from(start.range()));
  s->conds = ctx_.copy(ArrayRef<Expr *>(c));
  s->blocks = ctx_.copy(ArrayRef<ArrayRef<Stmt *>>(body));
  return s;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

Expr *Parser::parseExpr() {
  NestGuard g(*this);
  if (!g.ok)
    return nullptr;
  return parseOr();
}

Expr *Parser::parseOr() {
  Expr *lhs = parseAnd();
  ChainGuard chain(*this);
  while (lhs && (is(Tok::KwOr) || is(Tok::PipePipe))) {
    if (!chain.step())
      return nullptr;
    advance();
    skipNewlines();
    Expr *rhs = parseAnd();
    if (!rhs)
      return nullptr;
    lhs = binary(Expr::Or, lhs, rhs);
  }
  return lhs;
}

Expr *Parser::parseAnd() {
  Expr *lhs = parseNot();
  ChainGuard chain(*this);
  while (lhs && (is(Tok::KwAnd) || is(Tok::AmpAmp))) {
    if (!chain.step())
      return nullptr;
    advance();
    skipNewlines();
    Expr *rhs = parseNot();
    if (!rhs)
      return nullptr;
    lhs = binary(Expr::And, lhs, rhs);
  }
  return lhs;
}

Expr *Parser::parseNot() {
  if (!is(Tok::KwNot))
    return parseCmp();
  NestGuard g(*this);
  if (!g.ok)
    return nullptr;
  Token start = tok_;
  advance();
  Expr *operand = parseNot();
  if (!operand)
    return nullptr;
  Expr *e = newExpr(Expr::Unary, from(start.range()));
  e->op = Expr::Not;
  e->lhs = operand;
  return e;
}

static Expr::Op comparisonOp(Tok k) {
  switch (k) {
  case Tok::EqEq: return Expr::Eq;
  case Tok::NotEq: return Expr::Ne;
  case Tok::Lt: return Expr::Lt;
  case Tok::Le: return Expr::Le;
  case Tok::Gt: return Expr::Gt;
  case Tok::Ge: return Expr::Ge;
  default: return Expr::None;
  }
}

Expr *Parser::parseCmp() {
  Expr *lhs = parseAdd();
  if (!lhs)
    return nullptr;
  Expr::Op op = comparisonOp(tok_.kind);
  if (op == Expr::None)
    return lhs;
  advance();
  skipNewlines();
  Expr *rhs = parseAdd();
  if (!rhs)
    return nullptr;
  if (comparisonOp(tok_.kind) != Expr::None) {
    error(tok_.range(), "comparison operators cannot be chained; use 'and' "
                        "to combine comparisons");
    return nullptr;
  }
  return binary(op, lhs, rhs);
}

Expr *Parser::parseAdd() {
  Expr *lhs = parseMul();
  ChainGuard chain(*this);
  while (lhs && (is(Tok::Plus) || is(Tok::Minus))) {
    if (!chain.step())
      return nullptr;
    Expr::Op op = is(Tok::Plus) ? Expr::Add : Expr::Sub;
    advance();
    skipNewlines();
    Expr *rhs = parseMul();
    if (!rhs)
      return nullptr;
    lhs = binary(op, lhs, rhs);
  }
  return lhs;
}

Expr *Parser::parseMul() {
  Expr *lhs = parseUnary();
  ChainGuard chain(*this);
  while (lhs && (is(Tok::Star) || is(Tok::Slash) || is(Tok::Percent))) {
    if (!chain.step())
      return nullptr;
    Expr::Op op = is(Tok::Star)    ? Expr::Mul
                  : is(Tok::Slash) ? Expr::Div
                                   : Expr::Rem;
    advance();
    skipNewlines();
    Expr *rhs = parseUnary();
    if (!rhs)
      return nullptr;
    lhs = binary(op, lhs, rhs);
  }
  return lhs;
}

Expr *Parser::parseUnary() {
  if (!is(Tok::Minus) && !is(Tok::Bang))
    return parsePostfixOps(parsePrimary());
  NestGuard g(*this);
  if (!g.ok)
    return nullptr;
  Token start = tok_;
  advance();
  if (start.kind == Tok::Minus && is(Tok::IntLit)) {
    // Folded so that -9223372036854775808 is a valid literal.
    Token lit = tok_;
    advance();
    return parsePostfixOps(parseIntLit(lit, true, from(start.range())));
  }
  Expr *operand = parseUnary();
  if (!operand)
    return nullptr;
  Expr *e = newExpr(Expr::Unary, from(start.range()));
  e->op = start.kind == Tok::Minus ? Expr::Neg : Expr::Not;
  e->lhs = operand;
  return e;
}

Expr *Parser::parsePostfixOps(Expr *e) {
  ChainGuard chain(*this);
  while (e) {
    switch (tok_.kind) {
    case Tok::Dot: {
      if (!chain.step())
        return nullptr;
      advance();
      if (!is(Tok::Ident)) {
        errorExpected("field or method name after '.'");
        return nullptr;
      }
      Token name = tok_;
      advance();
      Expr *r;
      if (is(Tok::LParen)) {
        SmallVector<Expr *, 4> args;
        if (!parseArgs(args))
          return nullptr;
        r = newExpr(Expr::MethodCall, from(e->range));
        r->args = ctx_.copy(ArrayRef<Expr *>(args));
      } else {
        r = newExpr(Expr::Field, from(e->range));
      }
      r->name = Symbol{text(name), 0};
      r->nameRange = name.range();
      r->lhs = e;
      e = r;
      break;
    }
    case Tok::LBracket: {
      if (!chain.step())
        return nullptr;
      bool saved = skipNL_;
      skipNL_ = true;
      advance();
      Expr *idx = parseExpr();
      skipNL_ = saved;
      if (!idx)
        return nullptr;
      if (!expect(Tok::RBracket, "']'"))
        return nullptr;
      Expr *r = newExpr(Expr::Index, from(e->range));
      r->lhs = e;
      r->rhs = idx;
      e = r;
      break;
    }
    case Tok::Bang: {
      if (!chain.step())
        return nullptr;
      Token bang = tok_;
      advance();
      Expr *r = newExpr(Expr::MacroCall, from(e->range));
      r->name = Symbol{"$unwrap", 0};
      ++scopedMacroCalls_;
      r->nameRange = bang.range();
      r->postfix = true;
      r->args = ctx_.copy(ArrayRef<Expr *>(e));
      r->text = src_.slice(e->range.begin, e->range.end);
      e = r;
      break;
    }
    default:
      return e;
    }
  }
  return e;
}

Expr *Parser::parseIntLit(const Token &t, bool negate, SrcRange range) {
  StringRef s = text(t);
  unsigned base = 10;
  size_t i = 0;
  if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    i = 2;
  }
  uint64_t v = 0;
  bool overflow = false, digits = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_')
      continue;
    unsigned d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else {
      error(t.range(), "invalid digit '" + llvm::Twine(c) +
                           "' in integer literal");
      return nullptr;
    }
    digits = true;
    if (v > (UINT64_MAX - d) / base)
      overflow = true;
    else
      v = v * base + d;
  }
  if (!digits) {
    error(t.range(), "integer literal has no digits");
    return nullptr;
  }
  uint64_t limit = negate ? (uint64_t(1) << 63) : (uint64_t(1) << 63) - 1;
  if (overflow || v > limit) {
    error(t.range(), "integer literal out of range");
    return nullptr;
  }
  Expr *e = newExpr(Expr::IntLit, range);
  e->intValue = negate ? static_cast<int64_t>(~v + 1) : static_cast<int64_t>(v);
  return e;
}

Expr *Parser::parseStringLit() {
  Token t = tok_;
  advance();
  StringRef raw = text(t);
  StringRef body = raw.drop_front();
  if (body.size() && body.back() == '"')
    body = body.drop_back(); // (an unterminated literal has no closing quote)
  Expr *e = newExpr(Expr::StringLit, t.range());
  if (body.find('\\') == StringRef::npos) {
    e->text = body;
    return e;
  }
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 == body.size()) {
      out += c;
      continue;
    }
    switch (body[++i]) {
    case 'n': out += '\n'; break;
    case 't': out += '\t'; break;
    case 'r': out += '\r'; break;
    case '0': out += '\0'; break;
    case '"': out += '"'; break;
    case '\\': out += '\\'; break;
    default: out += body[i]; break; // reported by the lexer
    }
  }
  e->text = ctx_.save(out);
  return e;
}

Expr *Parser::parsePrimary() {
  Token start = tok_;
  switch (tok_.kind) {
  case Tok::IntLit:
    advance();
    return parseIntLit(start, false, start.range());
  case Tok::StringLit:
    return parseStringLit();
  case Tok::KwTrue:
  case Tok::KwFalse: {
    advance();
    Expr *e = newExpr(Expr::BoolLit, start.range());
    e->intValue = start.kind == Tok::KwTrue;
    return e;
  }
  case Tok::LParen: {
    bool saved = skipNL_;
    skipNL_ = true;
    advance();
    Expr *e = parseExpr();
    skipNL_ = saved;
    if (!e)
      return nullptr;
    if (!expect(Tok::RParen, "')'"))
      return nullptr;
    return e;
  }
  case Tok::Ident:
    return parseIdentExpr();
  case Tok::MacroName: {
    advance();
    if (!is(Tok::LParen)) {
      errorExpected("'(' after macro name");
      return nullptr;
    }
    SmallVector<Expr *, 4> args;
    if (!parseArgs(args))
      return nullptr;
    Expr *e = newExpr(Expr::MacroCall, from(start.range()));
    e->name = Symbol{text(start), 0};
    if (e->name.spelling == "$unwrap" || e->name.spelling == "$try")
      ++scopedMacroCalls_;
    e->nameRange = start.range();
    e->args = ctx_.copy(ArrayRef<Expr *>(args));
    if (!args.empty())
      e->text = src_.slice(args[0]->range.begin, args[0]->range.end);
    return e;
  }
  case Tok::KwMatch:
    return parseMatch(false);
  case Tok::KwDo:
    return parseDo();
  case Tok::KwSpawn: {
    NestGuard g(*this);
    if (!g.ok)
      return nullptr;
    advance();
    Expr *call = parsePostfixOps(parsePrimary());
    if (!call)
      return nullptr;
    if (call->kind != Expr::Call && call->kind != Expr::MethodCall) {
      error(call->range, "expected a function or method call after 'spawn'");
      return nullptr;
    }
    Expr *e = newExpr(Expr::Spawn, from(start.range()));
    e->lhs = call;
    e->args = ctx_.copy(ArrayRef<Expr *>(call));
    return e;
  }
  default:
    errorExpected("an expression");
    return nullptr;
  }
}

Expr *Parser::parseIdentExpr() {
  Token nameTok = tok_;
  StringRef name = text(nameTok);
  advance();
  if (is(Tok::ColonColon)) {
    advance();
    if (!is(Tok::Ident)) {
      errorExpected("variant name after '::'");
      return nullptr;
    }
    Token variant = tok_;
    advance();
    SmallVector<Expr *, 4> args;
    if (is(Tok::LParen) && !parseArgs(args))
      return nullptr;
    Expr *e = newExpr(Expr::EnumCtor, from(nameTok.range()));
    e->qualifier = name;
    e->name = Symbol{text(variant), 0};
    e->nameRange = variant.range();
    e->args = ctx_.copy(ArrayRef<Expr *>(args));
    return e;
  }
  bool optionCtor = name == "Some" || name == "None";
  if (is(Tok::LParen)) {
    SmallVector<Expr *, 4> args;
    if (!parseArgs(args))
      return nullptr;
    Expr *e = newExpr(optionCtor ? Expr::EnumCtor : Expr::Call,
                      from(nameTok.range()));
    e->name = Symbol{name, 0};
    e->nameRange = nameTok.range();
    e->args = ctx_.copy(ArrayRef<Expr *>(args));
    return e;
  }
  if (isUpper(name) && is(Tok::LBrace)) {
    SmallVector<Expr *, 4> values;
    SmallVector<Symbol, 4> names;
    SmallVector<SrcRange, 4> ranges;
    bool ok = parseList(Tok::RBrace, "'}'", [&] {
      if (!is(Tok::Ident)) {
        errorExpected("field name");
        return false;
      }
      names.push_back(Symbol{text(tok_), 0});
      ranges.push_back(tok_.range());
      advance();
      if (!expect(Tok::Colon, "':' after field name"))
        return false;
      Expr *v = parseExpr();
      if (v)
        values.push_back(v);
      return v != nullptr;
    });
    if (!ok)
      return nullptr;
    Expr *e = newExpr(Expr::StructLit, from(nameTok.range()));
    e->name = Symbol{name, 0};
    e->nameRange = nameTok.range();
    e->args = ctx_.copy(ArrayRef<Expr *>(values));
    e->fieldNames = ctx_.copy(ArrayRef<Symbol>(names));
    e->fieldRanges = ctx_.copy(ArrayRef<SrcRange>(ranges));
    return e;
  }
  Expr *e = newExpr(optionCtor ? Expr::EnumCtor : Expr::Name, nameTok.range());
  e->name = Symbol{name, 0};
  e->nameRange = nameTok.range();
  return e;
}

Expr *Parser::parseMatch(bool isStatement) {
  Token start = tok_;
  bool saved = skipNL_;
  skipNL_ = false; // arms are separated by newlines, even inside ( )
  advance();
  Expr *subject = parseExpr();
  bool ok = subject != nullptr;
  if (subject && !is(Tok::Newline) && !is(Tok::Semi)) {
    errorExpected("newline after the match subject");
    ok = false;
  }
  sync();
  SmallVector<MatchArm *, 8> arms;
  for (;;) {
    skipSeparators();
    if (isBlockEnd())
      break;
    uint32_t before = tok_.begin;
    MatchArm *arm = parseArm(isStatement);
    if (arm && !panicking_ && !is(Tok::Newline) && !is(Tok::Semi) &&
        !is(Tok::KwEnd))
      errorExpected("newline after match arm");
    if (panicking_) {
      ok = false;
      sync();
    } else if (arm) {
      arms.push_back(arm);
    }
    if (tok_.begin == before && !isBlockEnd())
      advance();
  }
  skipNL_ = saved;
  ok &= expectEnd(start);
  if (!ok)
    return nullptr;
  Expr *m = newExpr(Expr::Match, from(start.range()));
  m->lhs = subject;
  m->arms = ctx_.copy(ArrayRef<MatchArm *>(arms));
  m->isStatement = isStatement;
  return m;
}

MatchArm *Parser::parseArm(bool isStatement) {
  Token start = tok_;
  scopes_.push_back(ctx_.freshScope());
  struct Pop {
    SmallVector<uint32_t, 32> &s;
    ~Pop() { s.pop_back(); }
  } pop{scopes_};
  Pattern *p = parsePattern();
  if (!p)
    return nullptr;
  MatchArm *arm = ctx_.make<MatchArm>();
  arm->pattern = p;
  if (accept(Tok::KwIf)) {
    arm->guard = parseExpr();
    if (!arm->guard)
      return nullptr;
  }
  if (!expect(Tok::FatArrow, "'=>'"))
    return nullptr;
  skipNewlines();
  if (isStatement) {
    Stmt *s = parseSimpleStatement();
    if (s)
      s = parseModifiers(s);
    if (!s)
      return nullptr;
    if (s->kind == Stmt::ExprStmt)
      arm->body = s->value;
    else
      arm->stmt = s;
  } else {
    arm->body = parseExpr();
    if (!arm->body)
      return nullptr;
  }
  arm->range = from(start.range());
  return arm;
}

Expr *Parser::parseDo() {
  Token start = tok_;
  bool saved = skipNL_;
  skipNL_ = false;
  advance();
  ArrayRef<Stmt *> stmts = parseBlock();
  skipNL_ = saved;
  if (!expectEnd(start))
    return nullptr;
  Expr *d = newExpr(Expr::Do, from(start.range()));
  if (!stmts.empty() && stmts.back()->kind == Stmt::ExprStmt) {
    d->rhs = stmts.back()->value;
    stmts = stmts.drop_back();
  }
  d->stmts = stmts;
  return d;
}

Pattern *Parser::parsePattern() {
  NestGuard g(*this);
  if (!g.ok)
    return nullptr;
  Pattern *first = parsePatternPrimary();
  if (!first || !is(Tok::Pipe))
    return first;
  SmallVector<Pattern *, 4> alts{first};
  while (accept(Tok::Pipe)) {
    skipNewlines();
    Pattern *p = parsePatternPrimary();
    if (!p)
      return nullptr;
    alts.push_back(p);
  }
  Pattern *o = ctx_.make<Pattern>();
  o->kind = Pattern::Or;
  o->range = from(first->range);
  o->subpatterns = ctx_.copy(ArrayRef<Pattern *>(alts));
  return o;
}

Pattern *Parser::parsePatternPrimary() {
  Token start = tok_;
  Pattern *p = ctx_.make<Pattern>();
  p->range = start.range();
  switch (tok_.kind) {
  case Tok::KwTrue:
  case Tok::KwFalse:
    advance();
    p->kind = Pattern::Bool;
    p->intValue = start.kind == Tok::KwTrue;
    return p;
  case Tok::IntLit:
  case Tok::Minus: {
    bool neg = accept(Tok::Minus);
    if (!is(Tok::IntLit)) {
      errorExpected("an integer literal");
      return nullptr;
    }
    Token lit = tok_;
    advance();
    Expr *e = parseIntLit(lit, neg, lit.range());
    if (!e)
      return nullptr;
    p->kind = Pattern::Int;
    p->intValue = e->intValue;
    p->range = from(start.range());
    return p;
  }
  case Tok::Ident:
    break;
  default:
    errorExpected("a pattern");
    return nullptr;
  }
  StringRef name = text(start);
  advance();
  if (name == "_") {
    p->kind = Pattern::Wildcard;
    return p;
  }
  if (!isUpper(name)) {
    p->kind = Pattern::Binding;
    p->binding = newVar(start, scopes_.empty() ? 0 : scopes_.back());
    return p;
  }
  p->kind = Pattern::Variant;
  p->variantName = Symbol{name, 0};
  if (accept(Tok::ColonColon)) {
    if (!is(Tok::Ident)) {
      errorExpected("variant name after '::'");
      return nullptr;
    }
    p->enumName = name;
    p->variantName = Symbol{text(tok_), 0};
    advance();
  }
  if (is(Tok::LParen)) {
    SmallVector<Pattern *, 4> subs;
    bool ok = parseList(Tok::RParen, "')'", [&] {
      Pattern *s = parsePattern();
      if (s)
        subs.push_back(s);
      return s != nullptr;
    });
    if (!ok)
      return nullptr;
    p->subpatterns = ctx_.copy(ArrayRef<Pattern *>(subs));
  }
  p->range = from(start.range());
  return p;
}

} // namespace

ast::Module *qmir::frontend::parseQuartz(AstContext &ctx, DiagEngine &diags) {
  Parser p(ctx, diags);
  return p.parseModule();
}
