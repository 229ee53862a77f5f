// The MIR text parser (see Parser.h): a hand-written recursive descent over
// the tokens of Lexer.h, in three passes so that everything may be used before
// it is defined:
//   1. skim: split the buffer into top-level items and create every named type
//      (opaque), so types can refer to each other in any order;
//   2. items: parse sources, bindings, type bodies, declarations and function
//      headers (creating every Function, so calls can be checked);
//   3. bodies: parse each function body. Values and blocks used before their
//      definition are recorded as fixups and resolved at the end of the body;
//      so are the arguments of edges, whose constants take their type from the
//      target block's parameters.
// Each item is lexed with a lexer limited to the item's range, so an error
// never makes the parser run into the next item; inside bodies it recovers at
// the next line.
#include "mir/Parser.h"

#include "mir/Lexer.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cstring>

using namespace qmir;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

llvm::SMLoc MIRSourceMap::lookup(const void *p) const {
  auto it = locs.find(p);
  return it == locs.end() ? SMLoc() : it->second;
}

namespace {

constexpr unsigned kMaxErrors = 20;
constexpr unsigned kMaxNesting = 256;

enum class ItemKind : uint8_t { Source, Bind, Type, Declare, Actor, Fn, Junk };

struct Item {
  Item(ItemKind k, const char *b) : kind(k), begin(b) {}
  ItemKind kind;
  const char *begin;
  const char *end = nullptr;
  const Type *named = nullptr;     // Type: the type pass 1 created
  Function *fn = nullptr;          // Fn: created in pass 2
  const char *bodyBegin = nullptr; // Fn: just after the body's '{'
  SMLoc bodyLoc;
  unsigned firstParam = 0;         // Fn: into Parser::params_
};

struct ParamName {
  StringRef name;
  SMLoc loc;
};

/// An operand as written, before it is turned into a Value (which for a
/// constant needs the type the position implies).
struct Operand {
  enum Kind : uint8_t { Val, Int, True, False, Str, Undef } kind = Val;
  bool negative = false, overflow = false, escapes = false;
  uint64_t mag = 0;
  StringRef text; // Val: name; Str: raw contents
  SMLoc loc;
};

struct ValueFixup {
  Instruction *inst;
  unsigned operand;
  StringRef name;
  SMLoc loc;
};

struct EdgeFixup {
  Instruction *inst;
  unsigned succ;
  StringRef label;
  SMLoc loc;
  unsigned firstOp, numOps; // into Parser::edgeOps_
};

struct BlockInfo {
  Block *block = nullptr;
  SMLoc firstUse;
  bool defined = false;
};

static StringRef shown(StringRef s) {
  // Keep messages readable when the offending token is a 10 MB identifier.
  return s.size() > 64 ? s.take_front(64) : s;
}

static bool isDigits(StringRef s) {
  return !s.empty() && llvm::all_of(s, [](char c) { return llvm::isDigit(c); });
}

static bool isReservedTypeName(StringRef s) {
  return s == "void" || s == "i1" || s == "i8" || s == "i32" || s == "i64" ||
         s == "ptr" || s == "fn" || s == "enum" || s == "true" ||
         s == "false" || s == "undef" || s == "_";
}

/// Sign-extends (or for i1, masks) `v` from `bits`, the canonical form the
/// IR stores integers in.
static int64_t normalize(int64_t v, unsigned bits) {
  if (bits == 1)
    return v & 1;
  if (bits < 64)
    return static_cast<int64_t>(static_cast<uint64_t>(v) << (64 - bits)) >>
           (64 - bits);
  return v;
}

static bool lookupOpcode(StringRef s, Opcode &op) {
  static const llvm::StringMap<Opcode> table = [] {
    llvm::StringMap<Opcode> t;
#define QMIR_X(name, text) t[text] = Opcode::name;
    QMIR_OPCODES(QMIR_X)
#undef QMIR_X
    return t;
  }();
  auto it = table.find(s);
  if (it == table.end())
    return false;
  op = it->second;
  return true;
}

static bool lookupPred(StringRef s, ICmpPred &p) {
  static const char *names[] = {"eq",  "ne",  "slt", "sle", "sgt",
                                "sge", "ult", "ule", "ugt", "uge"};
  for (unsigned i = 0; i < 10; ++i)
    if (s == names[i]) {
      p = static_cast<ICmpPred>(i);
      return true;
    }
  return false;
}

class Parser {
public:
  Parser(llvm::SourceMgr &sm, unsigned bufferId, llvm::raw_ostream &errs,
         MIRSourceMap *map, FunctionBodyCallback onFunctionBody)
      : sm_(sm), errs_(errs), map_(map), onFunctionBody_(onFunctionBody),
        mod_(std::make_unique<Module>()),
        m_(*mod_) {
    const llvm::MemoryBuffer *buf = sm.getMemoryBuffer(bufferId);
    bufStart_ = buf->getBufferStart();
    bufEnd_ = buf->getBufferEnd();
    // Text without a single '!' has no `!LINE:COL` location: its
    // instructions need no room for one (4 bytes each).
    m_.setRecordsLocations(
        std::memchr(bufStart_, '!', bufEnd_ - bufStart_) != nullptr);
  }

  std::unique_ptr<Module> run();

private:
  // Diagnostics. error() always returns true, so `return error(...)` reads as
  // "fail with this message".
  bool error(SMLoc loc, const Twine &msg);
  bool error(const Token &t, const Twine &msg) { return error(t.loc(), msg); }
  bool lexError(const Token &t);
  void printDiagnostics();
  /// "expected X" at the current token (reporting a lexer error instead if
  /// the current token is malformed).
  bool expected(const Twine &what);

  // Tokens.
  void next() { tok_ = lex_.lex(); }
  bool consume(Tok k) {
    if (!tok_.is(k))
      return false;
    next();
    return true;
  }
  bool expect(Tok k, const char *what) {
    if (consume(k))
      return false;
    return expected(what);
  }
  bool expectIdent(StringRef kw) {
    if (tok_.isIdent(kw)) {
      next();
      return false;
    }
    return expected(Twine("'") + kw + "'");
  }
  Tok peekKind() {
    Lexer save = lex_;
    Tok k = lex_.lex().kind;
    lex_ = save;
    return k;
  }
  void startLexer(const char *begin, const char *end) {
    lex_ = Lexer(bufStart_, end, begin);
    next();
  }

  // Pass 1.
  void skim();
  // Pass 2.
  bool parseItem(Item &it);
  bool parseSource();
  bool parseBinding();
  bool parseTypeDef(Item &it);
  bool parseDeclare();
  bool parseActor(Item &it);
  bool parseFnHeader(Item &it);
  void checkTypeCycles();
  // Pass 3.
  void parseBody(Item &it);
  bool parseLabel();
  bool parseInstruction();
  bool parseLoc(Instruction *inst);

  // Pieces.
  const Type *parseType(unsigned depth = 0);
  bool parseTypeList(llvm::SmallVectorImpl<const Type *> &out, bool allowVoid);
  bool parseInt(uint64_t max, uint64_t &out, const char *what);
  bool parseBindingRef(BindingId &out);
  bool parseStringTok(llvm::SmallVectorImpl<char> &out);
  bool parseGlobalName(llvm::SmallVectorImpl<char> &out, SMLoc &loc);
  /// `@name` of a function declared anywhere in the module; true after an
  /// error (none is reported for a function whose own declaration failed).
  bool parseFunctionRef(Function *&out, SMLoc &loc);
  bool isOperandStart() const;
  bool parseOperand(Operand &op);
  bool parseOperandList(llvm::SmallVectorImpl<Operand> &ops);
  /// Turns an operand into a value of type `ty`. A value not defined yet gives
  /// nullptr with `forward` set (the caller records a fixup).
  bool resolve(const Operand &op, const Type *ty, Value *&out, bool &forward);
  bool makeConstant(const Operand &op, const Type *ty, Value *&out);
  bool checkIntRange(const Operand &op, const Type *ty, int64_t &out);
  /// Creates the instruction, resolving `ops` against `tys`, and appends it.
  Instruction *emit(Opcode opc, const Type *resultTy,
                    llvm::ArrayRef<Operand> ops,
                    llvm::ArrayRef<const Type *> tys, unsigned numEdgeArgs = 0,
                    unsigned numSuccs = 0);
  struct EdgeRef {
    StringRef label;
    SMLoc loc;
    unsigned firstOp = 0, numOps = 0;
  };
  bool parseEdge(EdgeRef &e);
  /// Points successor `k` of `inst` at its block and queues the argument
  /// check. `argIndex` is the successor's first operand.
  void bindEdge(Instruction *inst, unsigned k, const EdgeRef &e,
                unsigned &argIndex);
  Block *blockRef(StringRef name, SMLoc loc);
  const Pattern *parsePattern(const Type *t, unsigned depth);
  void defineValue(StringRef name, Value *v, SMLoc loc);
  void resolveFixups();

  llvm::SourceMgr &sm_;
  llvm::raw_ostream &errs_;
  MIRSourceMap *map_;
  FunctionBodyCallback onFunctionBody_;
  std::unique_ptr<Module> mod_;
  Module &m_;
  const char *bufStart_, *bufEnd_;
  Lexer lex_;
  Token tok_;
  unsigned numErrors_ = 0;
  bool stopped_ = false;
  struct Diag {
    SMLoc loc;
    std::string message;
    size_t seq; ///< order of reporting, for ties at one location
  };
  std::vector<Diag> diags_;

  std::vector<Item> items_;
  std::vector<ParamName> params_;
  struct HeaderBinding {
    Value *v;
    uint64_t id;
    SMLoc loc;
  };
  std::vector<HeaderBinding> headerBindings_;
  std::vector<std::pair<const Type *, SMLoc>> typeDefs_;
  llvm::StringSet<> poisonedFunctions_;

  // Per function body.
  Function *F_ = nullptr;
  Block *cur_ = nullptr;
  // Keys point into the source buffer, which outlives parsing: no copies.
  llvm::DenseMap<StringRef, Value *> values_;
  llvm::StringSet<> poisonedValues_;
  llvm::StringMap<BlockInfo> blocks_;
  llvm::StringSet<> poisonedBlocks_;
  std::vector<ValueFixup> valueFixups_;
  std::vector<EdgeFixup> edgeFixups_;
  std::vector<Operand> edgeOps_;
  llvm::SmallString<64> scratch_;
};

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

bool Parser::error(SMLoc loc, const Twine &msg) {
  if (stopped_)
    return true;
  diags_.push_back({loc, msg.str(), diags_.size()});
  if (++numErrors_ >= kMaxErrors)
    stopped_ = true;
  return true;
}

void Parser::printDiagnostics() {
  // Passes 2 and 3 visit the text in different orders; report in text order.
  std::sort(diags_.begin(), diags_.end(), [](const Diag &a, const Diag &b) {
    if (a.loc.getPointer() != b.loc.getPointer())
      return a.loc.getPointer() < b.loc.getPointer();
    return a.seq < b.seq;
  });
  for (const Diag &d : diags_) {
    llvm::SMDiagnostic diag =
        sm_.GetMessage(d.loc, llvm::SourceMgr::DK_Error, d.message);
    StringRef line = diag.getLineContents();
    if (line.size() <= 512) {
      diag.print(nullptr, errs_);
      continue;
    }
    // Do not echo a huge line: show a window around the column.
    size_t col = diag.getColumnNo();
    size_t from = col > 60 ? col - 60 : 0;
    errs_ << diag.getFilename() << ':' << diag.getLineNo() << ':' << col + 1
          << ": error: " << d.message << '\n';
    errs_ << (from ? "..." : "") << line.substr(from, 120)
          << (from + 120 < line.size() ? "..." : "") << '\n';
    errs_.indent(col - from + (from ? 3 : 0)) << "^\n";
  }
  if (stopped_)
    errs_ << "error: too many errors, stopping now\n";
}

bool Parser::lexError(const Token &t) {
  SMLoc loc = SMLoc::getFromPointer(t.errorPos);
  if (StringRef(t.error) == "unexpected character") {
    unsigned char c = static_cast<unsigned char>(*t.errorPos);
    if (c >= 0x20 && c < 0x7f)
      return error(loc, Twine("unexpected character '") + Twine(char(c)) + "'");
    return error(loc, Twine("unexpected byte 0x") +
                          Twine(llvm::hexdigit(c >> 4, true)) +
                          Twine(llvm::hexdigit(c & 15, true)));
  }
  return error(loc, t.error);
}

bool Parser::expected(const Twine &what) {
  if (tok_.is(Tok::Error))
    return lexError(tok_);
  if (tok_.is(Tok::Eof))
    return error(tok_, Twine("expected ") + what + ", found end of input");
  return error(tok_, Twine("expected ") + what + ", found '" +
                         shown(tok_.spelling()) + "'");
}

//===----------------------------------------------------------------------===//
// Pass 1: split into items; create named types
//===----------------------------------------------------------------------===//

/// Skips a type without knowing the named types (for finding a function's
/// body). Returns false if the tokens do not look like a type.
static bool skimType(Lexer &L, Token &t, unsigned depth) {
  if (depth > kMaxNesting)
    return false;
  if (t.isIdent("fn")) {
    t = L.lex();
    if (!t.is(Tok::LParen))
      return false;
    t = L.lex();
    while (!t.is(Tok::RParen)) {
      if (!skimType(L, t, depth + 1))
        return false;
      if (t.is(Tok::Comma))
        t = L.lex();
      else if (!t.is(Tok::RParen))
        return false;
    }
    t = L.lex();
    if (!t.is(Tok::Arrow))
      return false;
    t = L.lex();
    return skimType(L, t, depth + 1);
  }
  if (t.is(Tok::Ident)) {
    t = L.lex();
    return true;
  }
  if (t.is(Tok::LBrace)) {
    t = L.lex();
    while (!t.is(Tok::RBrace)) {
      if (!skimType(L, t, depth + 1))
        return false;
      if (t.is(Tok::Comma))
        t = L.lex();
      else if (!t.is(Tok::RBrace))
        return false;
    }
    t = L.lex();
    return true;
  }
  return false;
}

/// Finds the end of a function body that starts just after its '{': returns
/// the matching '}', or the `fn` of a `fn @` that starts the next function
/// (the '}' is missing), or `end`. Scans characters rather than tokens, since
/// it runs over every body once before the real parse.
static const char *skimBody(const char *p, const char *end) {
  unsigned braces = 1;
  while (p < end) {
    char c = *p;
    switch (c) {
    case '{':
      ++braces;
      ++p;
      break;
    case '}':
      if (--braces == 0)
        return p;
      ++p;
      break;
    case ';': {
      const void *nl = std::memchr(p, '\n', end - p);
      p = nl ? static_cast<const char *>(nl) : end;
      break;
    }
    case '"':
      // Strings cannot span lines; an unterminated one ends at the newline.
      for (++p; p < end && *p != '"' && *p != '\n'; ++p)
        if (*p == '\\' && p + 1 < end && p[1] != '\n')
          ++p;
      if (p < end && *p == '"')
        ++p;
      break;
    case 'f': {
      bool wordStart = true;
      if (p > end - 2)
        return end;
      // `fn` as a whole word, then optional blanks, then '@'.
      char prev = p[-1];
      wordStart = !(llvm::isAlnum(prev) || prev == '_' || prev == '.' ||
                    prev == '%' || prev == '@' || prev == '#');
      if (wordStart && p[1] == 'n') {
        const char *q = p + 2;
        while (q < end && (*q == ' ' || *q == '\t'))
          ++q;
        if (q < end && *q == '@')
          return p;
      }
      ++p;
      break;
    }
    default:
      if (llvm::isAlnum(c) || c == '_' || c == '.' || c == '%' || c == '@') {
        // Skip the rest of a word so `fn` inside one is not seen.
        ++p;
        while (p < end && (llvm::isAlnum(*p) || *p == '_' || *p == '.'))
          ++p;
      } else {
        ++p;
      }
    }
  }
  return end;
}

void Parser::skim() {
  Lexer L(bufStart_, bufEnd_, bufStart_);
  Token t = L.lex();
  int open = -1; // index of the item that is still collecting tokens
  unsigned depth = 0;
  auto close = [&](const char *end) {
    if (open >= 0)
      items_[open].end = end;
    open = -1;
  };
  while (!t.is(Tok::Eof)) {
    // Does `t` start an item? Keywords count at nesting depth 0 or at the
    // start of a line, and only followed by what the item needs next.
    ItemKind kind = ItemKind::Junk;
    bool starts = false;
    if (t.is(Tok::Ident)) {
      Lexer la = L;
      Token n = la.lex();
      if (t.text == "fn" && n.is(Tok::Global)) {
        kind = ItemKind::Fn;
        starts = true;
      } else if (depth == 0 || t.newlineBefore) {
        if (t.text == "source" && n.is(Tok::String))
          kind = ItemKind::Source, starts = true;
        else if (t.text == "bind" && n.is(Tok::BindRef))
          kind = ItemKind::Bind, starts = true;
        else if (t.text == "type" && n.is(Tok::Ident) && la.lex().is(Tok::Equal))
          kind = ItemKind::Type, starts = true;
        else if (t.text == "declare" && n.isIdent("fn"))
          kind = ItemKind::Declare, starts = true;
        else if (t.text == "actor" && n.is(Tok::Ident))
          kind = ItemKind::Actor, starts = true;
      }
    }
    if (!starts) {
      if (open < 0) {
        items_.emplace_back(ItemKind::Junk, t.begin);
        open = items_.size() - 1;
        depth = 0;
      }
      if (t.is(Tok::LParen) || t.is(Tok::LBrace) || t.is(Tok::LBracket))
        ++depth;
      else if ((t.is(Tok::RParen) || t.is(Tok::RBrace) || t.is(Tok::RBracket)) &&
               depth)
        --depth;
      t = L.lex();
      continue;
    }
    close(t.begin);
    items_.emplace_back(kind, t.begin);
    open = items_.size() - 1;
    depth = 0;
    if (kind == ItemKind::Type) {
      Lexer la = L;
      Token name = la.lex();
      la.lex(); // '='
      Token body = la.lex();
      if (!isReservedTypeName(name.text) && !m_.types().named(name.text)) {
        if (body.isIdent("enum"))
          items_.back().named = m_.types().createNamedEnum(name.text);
        else if (body.is(Tok::LBrace))
          items_.back().named = m_.types().createNamedStruct(name.text);
      }
    }
    if (kind == ItemKind::Declare)
      t = L.lex(); // its `fn @` does not start a function
    if (kind != ItemKind::Fn) {
      t = L.lex();
      continue;
    }
    // A function: find its body by skipping the header, then the body by
    // counting braces. A `fn @` inside ends it (a missing '}').
    t = L.lex(); // @name
    t = L.lex();
    bool ok = t.is(Tok::LParen);
    if (ok) {
      unsigned parens = 0;
      do {
        if (t.is(Tok::LParen))
          ++parens;
        else if (t.is(Tok::RParen))
          --parens;
        else if (t.is(Tok::Eof) || (t.isIdent("fn") && L.pos() < bufEnd_ &&
                                     Lexer(L).lex().is(Tok::Global)))
          break;
        t = L.lex();
      } while (parens);
      ok = !parens && t.is(Tok::Arrow);
    }
    if (ok) {
      t = L.lex();
      ok = skimType(L, t, 0);
    }
    if (ok && t.isIdent("noreturn"))
      t = L.lex();
    if (!ok || !t.is(Tok::LBrace))
      continue; // pass 2 reports the broken header
    const char *stop = skimBody(t.end, bufEnd_);
    if (stop < bufEnd_ && *stop == '}')
      close(++stop);
    L = Lexer(bufStart_, bufEnd_, stop);
    t = L.lex();
  }
  close(bufEnd_);
}

//===----------------------------------------------------------------------===//
// Pass 2: top-level items
//===----------------------------------------------------------------------===//

bool Parser::parseItem(Item &it) {
  startLexer(it.begin, it.end);
  bool failed = false;
  switch (it.kind) {
  case ItemKind::Source:
    failed = parseSource();
    break;
  case ItemKind::Bind:
    failed = parseBinding();
    break;
  case ItemKind::Type:
    failed = parseTypeDef(it);
    break;
  case ItemKind::Declare:
    failed = parseDeclare();
    break;
  case ItemKind::Actor:
    return false; // after every function is declared: parseActor
  case ItemKind::Fn:
    return parseFnHeader(it);
  case ItemKind::Junk:
    if (tok_.is(Tok::Error))
      return lexError(tok_);
    return error(tok_, "expected a top-level item ('source', 'bind', 'type', "
                       "'declare', 'actor' or 'fn')");
  }
  if (!failed && !tok_.is(Tok::Eof)) {
    if (tok_.newlineBefore && !tok_.is(Tok::Error))
      return error(tok_, "expected a top-level item ('source', 'bind', 'type', "
                         "'declare', 'actor' or 'fn')");
    return expected("end of line");
  }
  return failed;
}

bool Parser::parseStringTok(llvm::SmallVectorImpl<char> &out) {
  if (!tok_.is(Tok::String))
    return expected("a string");
  if (tok_.escapes)
    decodeString(tok_.text, out);
  else
    out.assign(tok_.text.begin(), tok_.text.end());
  next();
  return false;
}

bool Parser::parseInt(uint64_t max, uint64_t &out, const char *what) {
  if (!tok_.is(Tok::Int) || tok_.negative)
    return expected(what);
  if (tok_.overflow || tok_.value > max)
    return error(tok_, "integer literal out of range");
  out = tok_.value;
  next();
  return false;
}

bool Parser::parseSource() {
  next(); // source
  llvm::SmallString<64> path;
  SMLoc loc = tok_.loc();
  if (parseStringTok(path))
    return true;
  size_t before = m_.sourceFiles().size();
  if (m_.addSourceFile(path) < before)
    return error(loc, Twine("duplicate source file '") + shown(path) + "'");
  return false;
}

bool Parser::parseBinding() {
  next(); // bind
  Token num = tok_;
  next();
  uint64_t expect = m_.numBindings() + 1;
  if (num.overflow || num.value != expect)
    return error(num, Twine("expected binding #") + Twine(expect) +
                          " (bindings are numbered in order from #1)");
  llvm::SmallString<32> name;
  uint64_t scope = 0, gensym = 0;
  if (parseStringTok(name) || expectIdent("scope") ||
      parseInt(UINT32_MAX, scope, "a scope number"))
    return true;
  if (tok_.isIdent("gensym")) {
    next();
    if (parseInt(UINT32_MAX, gensym, "a gensym number"))
      return true;
  }
  m_.addBinding(name, static_cast<uint32_t>(scope), static_cast<uint32_t>(gensym));
  return false;
}

const Type *Parser::parseType(unsigned depth) {
  if (depth > kMaxNesting) {
    error(tok_, "nesting too deep");
    return nullptr;
  }
  TypeContext &tc = m_.types();
  if (tok_.is(Tok::LBrace)) {
    next();
    llvm::SmallVector<const Type *, 8> fields;
    if (!consume(Tok::RBrace)) {
      while (true) {
        SMLoc loc = tok_.loc();
        const Type *f = parseType(depth + 1);
        if (!f)
          return nullptr;
        if (f->isVoid()) {
          error(loc, "a struct field cannot have type void");
          return nullptr;
        }
        fields.push_back(f);
        if (consume(Tok::RBrace))
          break;
        if (expect(Tok::Comma, "',' or '}'"))
          return nullptr;
      }
    }
    return tc.literalStruct(fields);
  }
  if (!tok_.is(Tok::Ident)) {
    expected("a type");
    return nullptr;
  }
  StringRef s = tok_.text;
  const Type *t = nullptr;
  if (s == "i64")
    t = tc.i64();
  else if (s == "i1")
    t = tc.i1();
  else if (s == "ptr")
    t = tc.ptr();
  else if (s == "i32")
    t = tc.i32();
  else if (s == "i8")
    t = tc.i8();
  else if (s == "void")
    t = tc.voidTy();
  if (t) {
    next();
    return t;
  }
  if (s == "fn") {
    next();
    if (expect(Tok::LParen, "'('"))
      return nullptr;
    llvm::SmallVector<const Type *, 8> params;
    if (!consume(Tok::RParen)) {
      while (true) {
        SMLoc loc = tok_.loc();
        const Type *p = parseType(depth + 1);
        if (!p)
          return nullptr;
        if (p->isVoid()) {
          error(loc, "a parameter cannot have type void");
          return nullptr;
        }
        params.push_back(p);
        if (consume(Tok::RParen))
          break;
        if (expect(Tok::Comma, "',' or ')'"))
          return nullptr;
      }
    }
    if (expect(Tok::Arrow, "'->'"))
      return nullptr;
    const Type *r = parseType(depth + 1);
    if (!r)
      return nullptr;
    return tc.function(params, r);
  }
  t = tc.named(s);
  if (!t) {
    error(tok_, Twine("unknown type '") + shown(s) + "'");
    return nullptr;
  }
  next();
  return t;
}

bool Parser::parseTypeList(llvm::SmallVectorImpl<const Type *> &out,
                           bool allowVoid) {
  if (expect(Tok::LParen, "'('"))
    return true;
  if (consume(Tok::RParen))
    return false;
  while (true) {
    SMLoc loc = tok_.loc();
    const Type *t = parseType();
    if (!t)
      return true;
    if (t->isVoid() && !allowVoid)
      return error(loc, "a parameter cannot have type void");
    out.push_back(t);
    if (consume(Tok::RParen))
      return false;
    if (expect(Tok::Comma, "',' or ')'"))
      return true;
  }
}

bool Parser::parseTypeDef(Item &it) {
  next(); // type
  Token name = tok_;
  next();
  if (isReservedTypeName(name.text))
    return error(name, Twine("'") + name.text + "' is a reserved name");
  if (!it.named) {
    if (m_.types().named(name.text))
      return error(name, Twine("redefinition of type '") + shown(name.text) + "'");
  }
  next(); // '='
  if (tok_.isIdent("enum")) {
    next();
    if (!it.named || !it.named->isEnum())
      return expected("a type body");
    if (expect(Tok::LBrace, "'{'"))
      return true;
    llvm::SmallVector<EnumVariant, 8> variants;
    llvm::SmallVector<llvm::SmallVector<const Type *, 4>, 8> fields;
    llvm::StringSet<> seen;
    if (!consume(Tok::RBrace)) {
      while (true) {
        if (!tok_.is(Tok::Ident))
          return expected("a variant name");
        if (!seen.insert(tok_.text).second)
          return error(tok_, Twine("duplicate variant '") + shown(tok_.text) + "'");
        variants.push_back(EnumVariant{tok_.text, {}});
        fields.emplace_back();
        next();
        if (tok_.is(Tok::LParen)) {
          if (parseTypeList(fields.back(), false))
            return true;
          if (fields.back().empty())
            return error(tok_, "a variant with no payload is written without '()'");
        }
        if (consume(Tok::RBrace))
          break;
        if (expect(Tok::Comma, "',' or '}'"))
          return true;
      }
    }
    for (unsigned i = 0; i < variants.size(); ++i)
      variants[i].fields = fields[i];
    m_.types().setEnumBody(it.named, variants);
    typeDefs_.push_back({it.named, name.loc()});
    return false;
  }
  if (!it.named || !it.named->isStruct() || !tok_.is(Tok::LBrace))
    return expected("'{' or 'enum'");
  const Type *lit = parseType();
  if (!lit)
    return true;
  m_.types().setStructBody(it.named, lit->fields());
  typeDefs_.push_back({it.named, name.loc()});
  return false;
}

bool Parser::parseFunctionRef(Function *&out, SMLoc &loc) {
  llvm::SmallString<32> name;
  if (parseGlobalName(name, loc))
    return true;
  out = m_.function(name);
  if (out)
    return false;
  if (poisonedFunctions_.count(name))
    return true;
  return error(loc, Twine("use of undefined function '@") + shown(name) + "'");
}

bool Parser::parseGlobalName(llvm::SmallVectorImpl<char> &out, SMLoc &loc) {
  if (!tok_.is(Tok::Global))
    return expected("a function name");
  loc = tok_.loc();
  if (tok_.escapes)
    decodeString(tok_.text, out);
  else
    out.assign(tok_.text.begin(), tok_.text.end());
  if (out.empty())
    return error(tok_, "a function name cannot be empty");
  next();
  return false;
}

/// `actor NAME state TYPE init @F methods(@M, ...)`, parsed once every
/// function is declared, so it may name functions defined after it.
bool Parser::parseActor(Item &it) {
  startLexer(it.begin, it.end);
  next(); // actor
  ActorDecl a;
  a.name = m_.save(tok_.text);
  SMLoc nameLoc = tok_.loc();
  next();
  for (const ActorDecl &other : m_.actors())
    if (other.name == a.name)
      return error(nameLoc, Twine("redefinition of actor '") + shown(a.name) + "'");
  if (expectIdent("state"))
    return true;
  SMLoc stateLoc = tok_.loc();
  a.state = parseType();
  if (!a.state)
    return true;
  if (!a.state->isStruct())
    return error(stateLoc, "an actor's state must be a struct type");
  auto function = [&](Function *&out) {
    SMLoc loc;
    return parseFunctionRef(out, loc);
  };
  if (expectIdent("init") || function(a.init) || expectIdent("methods") ||
      expect(Tok::LParen, "'('"))
    return true;
  if (!consume(Tok::RParen)) {
    while (true) {
      Function *m = nullptr;
      if (function(m))
        return true;
      a.methods.push_back(m);
      if (consume(Tok::RParen))
        break;
      if (expect(Tok::Comma, "',' or ')'"))
        return true;
    }
  }
  if (!tok_.is(Tok::Eof))
    return expected("end of line");
  m_.actors().push_back(std::move(a));
  return false;
}

bool Parser::parseDeclare() {
  next(); // declare
  next(); // fn
  llvm::SmallString<32> name;
  SMLoc loc;
  llvm::SmallVector<const Type *, 8> params;
  if (parseGlobalName(name, loc))
    return true;
  if (parseTypeList(params, false) || expect(Tok::Arrow, "'->'")) {
    poisonedFunctions_.insert(name);
    return true;
  }
  const Type *ret = parseType();
  if (!ret) {
    poisonedFunctions_.insert(name);
    return true;
  }
  bool noReturn = false;
  if (tok_.isIdent("noreturn")) {
    noReturn = true;
    next();
  }
  Function *f = m_.createFunction(name, m_.types().function(params, ret));
  if (!f)
    return error(loc, Twine("redefinition of function '@") + shown(name) + "'");
  f->setNoReturn(noReturn);
  if (map_)
    map_->locs[f] = loc;
  return false;
}

bool Parser::parseFnHeader(Item &it) {
  next(); // fn
  llvm::SmallString<32> name;
  SMLoc loc;
  if (parseGlobalName(name, loc))
    return true;
  it.firstParam = params_.size();
  llvm::SmallVector<const Type *, 8> types;
  llvm::SmallVector<uint64_t, 8> bindings;
  llvm::SmallVector<SMLoc, 8> bindingLocs;
  auto fail = [&] {
    poisonedFunctions_.insert(name);
    params_.resize(it.firstParam);
    return true;
  };
  if (expect(Tok::LParen, "'('"))
    return fail();
  if (!consume(Tok::RParen)) {
    while (true) {
      if (!tok_.is(Tok::Local))
        return expected("a parameter ('%name: type')"), fail();
      params_.push_back(ParamName{tok_.text, tok_.loc()});
      next();
      if (expect(Tok::Colon, "':'"))
        return fail();
      SMLoc tloc = tok_.loc();
      const Type *t = parseType();
      if (!t)
        return fail();
      if (t->isVoid())
        return error(tloc, "a parameter cannot have type void"), fail();
      types.push_back(t);
      bindings.push_back(0);
      bindingLocs.push_back(tok_.loc());
      if (tok_.is(Tok::BindRef)) {
        if (tok_.overflow)
          return error(tok_, "binding number out of range"), fail();
        bindings.back() = tok_.value;
        next();
      }
      if (consume(Tok::RParen))
        break;
      if (expect(Tok::Comma, "',' or ')'"))
        return fail();
    }
  }
  if (expect(Tok::Arrow, "'->'"))
    return fail();
  const Type *ret = parseType();
  if (!ret)
    return fail();
  bool noReturn = false;
  if (tok_.isIdent("noreturn")) {
    noReturn = true;
    next();
  }
  if (!tok_.is(Tok::LBrace))
    return expected("'{'"), fail();
  Function *f = m_.createFunction(name, m_.types().function(types, ret));
  if (!f) {
    params_.resize(it.firstParam);
    return error(loc, Twine("redefinition of function '@") + shown(name) + "'");
  }
  f->setNoReturn(noReturn);
  for (unsigned i = 0; i < types.size(); ++i) {
    StringRef pn = params_[it.firstParam + i].name;
    if (!isDigits(pn))
      f->arg(i)->setName(m_.save(pn)); // outlives the body (dropBody)
    if (bindings[i])
      headerBindings_.push_back({f->arg(i), bindings[i], bindingLocs[i]});
  }
  if (map_)
    map_->locs[f] = loc;
  it.fn = f;
  it.bodyLoc = tok_.loc();
  it.bodyBegin = tok_.end;
  return false;
}

void Parser::checkTypeCycles() {
  // Iterative DFS over "contains a value of" edges (struct fields, enum
  // payloads; not function types): a chain of 100,000 types must not
  // overflow the stack.
  llvm::DenseMap<const Type *, uint8_t> color; // 1: on the stack, 2: done
  auto children = [](const Type *t) {
    llvm::SmallVector<const Type *, 8> out;
    if (t->isStruct())
      out.append(t->fields().begin(), t->fields().end());
    else if (t->isEnum())
      for (const EnumVariant &v : t->variants())
        out.append(v.fields.begin(), v.fields.end());
    return out;
  };
  for (auto &[root, loc] : typeDefs_) {
    if (color.lookup(root))
      continue;
    struct Frame {
      const Type *t;
      llvm::SmallVector<const Type *, 8> kids;
      unsigned next = 0;
    };
    std::vector<Frame> stack;
    stack.push_back({root, children(root)});
    color[root] = 1;
    bool reported = false;
    while (!stack.empty()) {
      Frame &fr = stack.back();
      if (fr.next == fr.kids.size()) {
        color[fr.t] = 2;
        stack.pop_back();
        continue;
      }
      const Type *k = fr.kids[fr.next++];
      uint8_t c = color.lookup(k);
      if (c == 1) {
        if (!reported && k->isNamed()) {
          SMLoc where = loc;
          for (auto &[t, l] : typeDefs_)
            if (t == k)
              where = l;
          error(where, Twine("type '") + shown(k->name()) +
                           "' contains itself (use a ptr to refer to it)");
          reported = true;
        }
        continue;
      }
      if (c == 2)
        continue;
      color[k] = 1;
      stack.push_back({k, children(k)});
    }
  }
}

//===----------------------------------------------------------------------===//
// Pass 3: function bodies
//===----------------------------------------------------------------------===//

void Parser::defineValue(StringRef name, Value *v, SMLoc loc) {
  auto [it, inserted] = values_.try_emplace(name, v);
  if (!inserted) {
    error(loc, Twine("redefinition of value '%") + shown(name) + "'");
    return;
  }
  if (!isDigits(name))
    v->setName(F_->save(name));
}

Block *Parser::blockRef(StringRef name, SMLoc loc) {
  BlockInfo &bi = blocks_[name];
  if (!bi.block) {
    bi.block = F_->createBlock(name);
    bi.firstUse = loc;
  }
  return bi.block;
}

void Parser::parseBody(Item &it) {
  F_ = it.fn;
  cur_ = nullptr;
  values_.clear();
  poisonedValues_.clear();
  blocks_.clear();
  poisonedBlocks_.clear();
  valueFixups_.clear();
  edgeFixups_.clear();
  edgeOps_.clear();
  for (unsigned i = 0; i < F_->args().size(); ++i) {
    const ParamName &p = params_[it.firstParam + i];
    defineValue(p.name, F_->arg(i), p.loc);
  }
  startLexer(it.bodyBegin, it.end);
  unsigned errorsBefore = numErrors_;
  while (!stopped_) {
    if (tok_.is(Tok::RBrace)) {
      next();
      if (!tok_.is(Tok::Eof))
        expected("a top-level item");
      break;
    }
    if (tok_.is(Tok::Eof)) {
      error(tok_, "expected '}' at the end of the body of '@" +
                      Twine(shown(F_->name())) + "'");
      break;
    }
    const char *stmt = tok_.begin;
    bool failed;
    if (tok_.is(Tok::Ident) &&
        (peekKind() == Tok::Colon || peekKind() == Tok::LParen))
      failed = parseLabel();
    else if (!cur_)
      failed = tok_.is(Tok::Error) ? lexError(tok_)
                                   : error(tok_, "expected a block label");
    else
      failed = parseInstruction();
    if (failed) {
      // Continue at the next line, unless the error was found at the first
      // token of a line (then that line is the next statement).
      if (!(tok_.begin > stmt && tok_.newlineBefore) && !tok_.is(Tok::Eof)) {
        lex_.skipLine(tok_.begin);
        next();
      }
    }
  }
  if (stopped_)
    return;
  if (F_->blocks().empty() && numErrors_ == errorsBefore)
    error(it.bodyLoc, "a function body needs at least one block");
  resolveFixups();
  // The body is complete: the next function's objects may share its last
  // page.
  F_->arena().trim();
}

bool Parser::parseLabel() {
  StringRef name = tok_.text;
  SMLoc loc = tok_.loc();
  next();
  BlockInfo &bi = blocks_[name];
  if (bi.defined) {
    error(loc, Twine("redefinition of block '") + shown(name) + "'");
    poisonedBlocks_.insert(name);
    return true;
  }
  // Define the block before its parameters, so that even a broken label
  // keeps the following instructions out of the previous block.
  if (bi.block) {
    F_->blocks().remove(*bi.block);
    F_->blocks().push_back(*bi.block);
  } else {
    bi.block = F_->createBlock(name);
  }
  bi.defined = true;
  Block *b = bi.block;
  cur_ = b;
  if (map_)
    map_->locs[b] = loc;
  if (consume(Tok::LParen)) {
    while (true) {
      if (!tok_.is(Tok::Local)) {
        poisonedBlocks_.insert(name);
        return expected("a parameter ('%name: type')");
      }
      StringRef pn = tok_.text;
      SMLoc ploc = tok_.loc();
      next();
      const Type *t = nullptr;
      if (expect(Tok::Colon, "':'") || !(t = parseType())) {
        poisonedValues_.insert(pn);
        poisonedBlocks_.insert(name);
        return true;
      }
      BlockArg *a = b->addArg(t);
      defineValue(pn, a, ploc);
      if (tok_.is(Tok::BindRef)) {
        if (tok_.overflow || tok_.value == 0 || tok_.value > m_.numBindings()) {
          poisonedBlocks_.insert(name);
          return error(tok_, Twine("use of undefined binding '") +
                                 shown(tok_.spelling()) + "'");
        }
        a->setBinding(static_cast<BindingId>(tok_.value));
        next();
      }
      if (consume(Tok::RParen))
        break;
      if (expect(Tok::Comma, "',' or ')'")) {
        poisonedBlocks_.insert(name);
        return true;
      }
    }
  }
  if (expect(Tok::Colon, "':'")) {
    poisonedBlocks_.insert(name);
    return true;
  }
  return false;
}

bool Parser::isOperandStart() const {
  switch (tok_.kind) {
  case Tok::Local:
  case Tok::Int:
  case Tok::String:
    return true;
  case Tok::Ident:
    return tok_.text == "true" || tok_.text == "false" || tok_.text == "undef";
  default:
    return false;
  }
}

bool Parser::parseOperand(Operand &op) {
  op = Operand();
  op.loc = tok_.loc();
  switch (tok_.kind) {
  case Tok::Local:
    op.kind = Operand::Val;
    op.text = tok_.text;
    break;
  case Tok::Int:
    op.kind = Operand::Int;
    op.mag = tok_.value;
    op.negative = tok_.negative;
    op.overflow = tok_.overflow;
    break;
  case Tok::String:
    op.kind = Operand::Str;
    op.text = tok_.text;
    op.escapes = tok_.escapes;
    break;
  case Tok::Ident:
    if (tok_.text == "true")
      op.kind = Operand::True;
    else if (tok_.text == "false")
      op.kind = Operand::False;
    else if (tok_.text == "undef")
      op.kind = Operand::Undef;
    else
      return expected("an operand");
    break;
  default:
    return expected("an operand");
  }
  next();
  return false;
}

bool Parser::parseOperandList(llvm::SmallVectorImpl<Operand> &ops) {
  if (expect(Tok::LParen, "'('"))
    return true;
  if (consume(Tok::RParen))
    return false;
  while (true) {
    ops.emplace_back();
    if (parseOperand(ops.back()))
      return true;
    if (consume(Tok::RParen))
      return false;
    if (expect(Tok::Comma, "',' or ')'"))
      return true;
  }
}

bool Parser::checkIntRange(const Operand &op, const Type *ty, int64_t &out) {
  unsigned bits = ty->bits();
  bool ok;
  if (op.overflow)
    ok = false;
  else if (op.negative)
    ok = bits == 1 ? op.mag == 0 : op.mag <= (uint64_t(1) << (bits - 1));
  else
    ok = bits == 64 || op.mag <= (uint64_t(1) << bits) - 1;
  if (!ok) {
    if (op.overflow)
      return error(op.loc, "integer literal out of range");
    std::string ts;
    llvm::raw_string_ostream(ts) << *ty;
    return error(op.loc, Twine("integer literal out of range for ") + ts);
  }
  out = op.negative ? static_cast<int64_t>(0 - op.mag) : static_cast<int64_t>(op.mag);
  return false;
}

bool Parser::makeConstant(const Operand &op, const Type *ty, Value *&out) {
  auto typeStr = [&] {
    std::string s;
    llvm::raw_string_ostream os(s);
    if (ty)
      os << *ty;
    return s;
  };
  switch (op.kind) {
  case Operand::Int: {
    if (!ty->isInt())
      return error(op.loc, "integer literal cannot have type " + typeStr());
    int64_t v;
    if (checkIntRange(op, ty, v))
      return true;
    out = m_.constInt(ty, v);
    return false;
  }
  case Operand::True:
  case Operand::False:
    if (!ty->isBool())
      return error(op.loc, Twine("'") + (op.kind == Operand::True ? "true" : "false") +
                               "' cannot have type " + typeStr());
    out = m_.constBool(op.kind == Operand::True);
    return false;
  case Operand::Str:
    if (!ty->isPtr())
      return error(op.loc, "string literal cannot have type " + typeStr());
    if (op.escapes) {
      decodeString(op.text, scratch_);
      out = m_.constString(scratch_);
    } else {
      out = m_.constString(op.text);
    }
    return false;
  case Operand::Undef:
    if (ty->isVoid())
      return error(op.loc, "undef cannot have type void");
    out = m_.undef(ty);
    return false;
  case Operand::Val:
    break;
  }
  return true;
}

bool Parser::resolve(const Operand &op, const Type *ty, Value *&out,
                     bool &forward) {
  forward = false;
  out = nullptr;
  if (op.kind != Operand::Val)
    return makeConstant(op, ty, out);
  auto it = values_.find(op.text);
  if (it != values_.end()) {
    out = it->second;
    return false;
  }
  forward = true;
  return false;
}

Instruction *Parser::emit(Opcode opc, const Type *resultTy,
                          llvm::ArrayRef<Operand> ops,
                          llvm::ArrayRef<const Type *> tys,
                          unsigned numEdgeArgs, unsigned numSuccs) {
  llvm::SmallVector<Value *, 8> vals;
  llvm::SmallVector<unsigned, 4> fwd;
  for (unsigned i = 0; i < ops.size(); ++i) {
    Value *v;
    bool forward;
    if (resolve(ops[i], tys[i], v, forward))
      return nullptr;
    if (forward)
      fwd.push_back(i);
    vals.push_back(v);
  }
  vals.append(numEdgeArgs, nullptr);
  Instruction *inst = F_->createInst(opc, resultTy, vals, numSuccs);
  cur_->append(inst);
  for (unsigned i : fwd)
    valueFixups_.push_back({inst, i, ops[i].text, ops[i].loc});
  return inst;
}

bool Parser::parseEdge(EdgeRef &e) {
  if (!tok_.is(Tok::Ident))
    return expected("a block label");
  e.label = tok_.text;
  e.loc = tok_.loc();
  next();
  e.firstOp = edgeOps_.size();
  e.numOps = 0;
  if (!tok_.is(Tok::LParen))
    return false;
  next();
  if (consume(Tok::RParen))
    return false;
  while (true) {
    edgeOps_.emplace_back();
    if (parseOperand(edgeOps_.back()))
      return true;
    ++e.numOps;
    if (consume(Tok::RParen))
      return false;
    if (expect(Tok::Comma, "',' or ')'"))
      return true;
  }
}

void Parser::bindEdge(Instruction *inst, unsigned k, const EdgeRef &e,
                      unsigned &argIndex) {
  Successor &s = inst->successors()[k];
  s.block = blockRef(e.label, e.loc);
  s.firstArg = argIndex;
  s.numArgs = e.numOps;
  argIndex += e.numOps;
  edgeFixups_.push_back({inst, k, e.label, e.loc, e.firstOp, e.numOps});
}

const Pattern *Parser::parsePattern(const Type *t, unsigned depth) {
  if (depth > kMaxNesting) {
    error(tok_, "nesting too deep");
    return nullptr;
  }
  std::string ts;
  llvm::raw_string_ostream(ts) << *t;
  if (tok_.is(Tok::Local)) {
    const Pattern *p = m_.makeBind(tok_.text);
    next();
    return p;
  }
  if (tok_.isIdent("_")) {
    next();
    return m_.makeWildcard();
  }
  if (tok_.is(Tok::Int) || (!t->isEnum() && (tok_.isIdent("true") ||
                                              tok_.isIdent("false")))) {
    if (!t->isInt()) {
      error(tok_, "an integer pattern cannot match type " + ts);
      return nullptr;
    }
    int64_t v;
    if (tok_.is(Tok::Int)) {
      Operand op;
      op.kind = Operand::Int;
      op.mag = tok_.value;
      op.negative = tok_.negative;
      op.overflow = tok_.overflow;
      op.loc = tok_.loc();
      if (checkIntRange(op, t, v))
        return nullptr;
    } else {
      if (!t->isBool()) {
        error(tok_, "'" + tok_.text + "' cannot have type " + ts);
        return nullptr;
      }
      v = tok_.text == "true";
    }
    next();
    return m_.makeIntPattern(normalize(v, t->bits()));
  }
  if (!tok_.is(Tok::Ident)) {
    expected("a pattern");
    return nullptr;
  }
  if (!t->isEnum()) {
    error(tok_, "a variant pattern cannot match type " + ts);
    return nullptr;
  }
  int idx = t->variantIndex(tok_.text);
  if (idx < 0) {
    error(tok_, Twine("enum ") + ts + " has no variant '" + shown(tok_.text) + "'");
    return nullptr;
  }
  const EnumVariant &var = t->variants()[idx];
  SMLoc vloc = tok_.loc();
  next();
  llvm::SmallVector<const Pattern *, 4> fields;
  if (consume(Tok::LParen)) {
    while (true) {
      if (fields.size() >= var.fields.size()) {
        error(tok_, Twine("variant '") + var.name + "' has " +
                        Twine(var.fields.size()) + " payload field(s)");
        return nullptr;
      }
      const Pattern *p = parsePattern(var.fields[fields.size()], depth + 1);
      if (!p)
        return nullptr;
      fields.push_back(p);
      if (consume(Tok::RParen))
        break;
      if (expect(Tok::Comma, "',' or ')'"))
        return nullptr;
    }
  }
  if (fields.size() != var.fields.size()) {
    error(vloc, Twine("variant '") + var.name + "' has " +
                    Twine(var.fields.size()) + " payload field(s), the pattern gives " +
                    Twine(fields.size()));
    return nullptr;
  }
  return m_.makeVariantPattern(idx, fields);
}

bool Parser::parseLoc(Instruction *inst) {
  next(); // '!'
  uint64_t a = 0, b = 0, c = 0;
  SMLoc fileLoc = tok_.loc();
  if (parseInt(UINT32_MAX, a, "a line number") || expect(Tok::Colon, "':'") ||
      parseInt(UINT32_MAX, b, "a column number"))
    return true;
  SourceLoc loc{0, uint32_t(a), uint32_t(b)};
  if (tok_.is(Tok::Colon)) {
    next();
    if (parseInt(UINT32_MAX, c, "a column number"))
      return true;
    if (a >= m_.sourceFiles().size())
      return error(fileLoc, Twine("source file ") + Twine(a) +
                                " is not declared (there are " +
                                Twine(m_.sourceFiles().size()) + " 'source' lines)");
    loc = SourceLoc{uint32_t(a), uint32_t(b), uint32_t(c)};
  }
  if (inst)
    inst->setLoc(m_.addLoc(loc));
  return false;
}

/// A field index `K` of struct `st`.
static bool fieldIndexOk(const Type *st, uint64_t k) {
  return k < st->fields().size() && k <= 0xffff;
}

bool Parser::parseBindingRef(BindingId &out) {
  if (!tok_.is(Tok::BindRef))
    return expected("a binding ('#N')");
  if (tok_.overflow || tok_.value == 0 || tok_.value > m_.numBindings())
    return error(tok_, Twine("use of undefined binding '") +
                           shown(tok_.spelling()) + "'");
  out = static_cast<BindingId>(tok_.value);
  next();
  return false;
}

bool Parser::parseInstruction() {
  SMLoc instLoc = tok_.loc();
  StringRef resName;
  SMLoc resLoc;
  bool hasResult = false;
  if (tok_.is(Tok::Local)) {
    hasResult = true;
    resName = tok_.text;
    resLoc = tok_.loc();
    next();
    if (expect(Tok::Equal, "'='")) {
      poisonedValues_.insert(resName);
      return true;
    }
  }
  auto fail = [&] {
    if (hasResult)
      poisonedValues_.insert(resName);
    return true;
  };
  if (!tok_.is(Tok::Ident))
    return expected("an instruction"), fail();
  Opcode opc;
  if (!lookupOpcode(tok_.text, opc))
    return error(tok_, Twine("unknown instruction '") + shown(tok_.text) + "'"),
           fail();
  Token opTok = tok_;
  next();
  TypeContext &tc = m_.types();
  Instruction *inst = nullptr;
  llvm::SmallVector<Operand, 4> ops;
  auto operand = [&]() {
    ops.emplace_back();
    return parseOperand(ops.back());
  };
  auto typeStr = [](const Type *t) {
    std::string s;
    llvm::raw_string_ostream(s) << *t;
    return s;
  };
  /// Parses a type that must be a struct (or enum).
  auto aggType = [&](bool wantEnum) -> const Type * {
    SMLoc loc = tok_.loc();
    const Type *t = parseType();
    if (!t)
      return nullptr;
    if (wantEnum ? !t->isEnum() : !t->isStruct()) {
      error(loc, Twine(opTok.text) + " needs " + (wantEnum ? "an enum" : "a struct") +
                     " type, not " + typeStr(t));
      return nullptr;
    }
    return t;
  };
  /// A field index literal for struct `st`.
  auto fieldIndex = [&](const Type *st, unsigned &out) {
    SMLoc loc = tok_.loc();
    uint64_t k;
    if (parseInt(UINT64_MAX, k, "a field index"))
      return true;
    if (!fieldIndexOk(st, k))
      return error(loc, Twine("field index ") + Twine(k) + " out of range for " +
                            typeStr(st) + " (" + Twine(st->fields().size()) +
                            " fields)");
    out = static_cast<unsigned>(k);
    return false;
  };
  /// A variant name of enum `en`.
  auto variantName = [&](const Type *en, unsigned &out) {
    if (!tok_.is(Tok::Ident))
      return expected("a variant name");
    int idx = en->variantIndex(tok_.text);
    if (idx < 0)
      return error(tok_, Twine("enum ") + typeStr(en) + " has no variant '" +
                             shown(tok_.text) + "'");
    out = static_cast<unsigned>(idx);
    next();
    return false;
  };

  if (isBinaryOp(opc)) {
    const Type *t = parseType();
    if (!t || operand() || expect(Tok::Comma, "','") || operand())
      return fail();
    inst = emit(opc, t, ops, {t, t});
  } else if (isCast(opc)) {
    const Type *from = parseType();
    if (!from || operand() || expectIdent("to"))
      return fail();
    const Type *to = parseType();
    if (!to)
      return fail();
    inst = emit(opc, to, ops, {from});
  } else {
    switch (opc) {
    case Opcode::ICmp: {
      ICmpPred p;
      if (!tok_.is(Tok::Ident) || !lookupPred(tok_.text, p))
        return expected("a predicate (eq ne slt sle sgt sge ult ule ugt uge)"),
               fail();
      next();
      const Type *t = parseType();
      if (!t || operand() || expect(Tok::Comma, "','") || operand())
        return fail();
      inst = emit(opc, tc.i1(), ops, {t, t});
      if (inst)
        inst->setPredicate(p);
      break;
    }
    case Opcode::Select: {
      if (operand() || expect(Tok::Comma, "','"))
        return fail();
      const Type *t = parseType();
      if (!t || operand() || expect(Tok::Comma, "','") || operand())
        return fail();
      inst = emit(opc, t, ops, {tc.i1(), t, t});
      break;
    }
    case Opcode::Alloca: {
      const Type *t = parseType();
      if (!t)
        return fail();
      BindingId b = 0;
      if (consume(Tok::Comma)) {
        if (expectIdent("bind") || parseBindingRef(b))
          return fail();
      }
      inst = emit(opc, tc.ptr(), {}, {});
      inst->setAuxType(t);
      inst->setBinding(b);
      break;
    }
    case Opcode::Load: {
      const Type *t = parseType();
      if (!t || expect(Tok::Comma, "','") || operand())
        return fail();
      inst = emit(opc, t, ops, {tc.ptr()});
      break;
    }
    case Opcode::Store: {
      const Type *t = parseType();
      if (!t || operand() || expect(Tok::Comma, "','") || operand())
        return fail();
      inst = emit(opc, tc.voidTy(), ops, {t, tc.ptr()});
      break;
    }
    case Opcode::StructMake: {
      const Type *st = aggType(false);
      SMLoc loc = tok_.loc();
      if (!st || parseOperandList(ops))
        return fail();
      if (ops.size() != st->fields().size())
        return error(loc, Twine("struct.make of ") + typeStr(st) + " needs " +
                              Twine(st->fields().size()) + " field value(s), got " +
                              Twine(ops.size())),
               fail();
      inst = emit(opc, st, ops, st->fields());
      if (inst)
        inst->setAuxType(st);
      break;
    }
    case Opcode::StructExtract:
    case Opcode::FieldAddr: {
      const Type *st = aggType(false);
      unsigned k;
      if (!st || operand() || expect(Tok::Comma, "','") || fieldIndex(st, k))
        return fail();
      bool extract = opc == Opcode::StructExtract;
      inst = emit(opc, extract ? st->fields()[k] : tc.ptr(), ops,
                  {extract ? st : tc.ptr()});
      if (inst) {
        inst->setAuxType(st);
        inst->setFieldIndex(k);
      }
      break;
    }
    case Opcode::StructInsert: {
      const Type *st = aggType(false);
      unsigned k;
      if (!st || operand() || expect(Tok::Comma, "','") || fieldIndex(st, k) ||
          expect(Tok::Comma, "','") || operand())
        return fail();
      inst = emit(opc, st, ops, {st, st->fields()[k]});
      if (inst) {
        inst->setAuxType(st);
        inst->setFieldIndex(k);
      }
      break;
    }
    case Opcode::EnumMake: {
      const Type *en = aggType(true);
      unsigned v;
      SMLoc loc = tok_.loc();
      if (!en || variantName(en, v))
        return fail();
      auto ftys = en->variants()[v].fields;
      if (tok_.is(Tok::LParen) && parseOperandList(ops))
        return fail();
      if (ops.size() != ftys.size())
        return error(loc, Twine("variant '") + en->variants()[v].name + "' has " +
                              Twine(ftys.size()) + " payload field(s), got " +
                              Twine(ops.size())),
               fail();
      inst = emit(opc, en, ops, ftys);
      if (inst) {
        inst->setAuxType(en);
        inst->setVariantIndex(v);
      }
      break;
    }
    case Opcode::EnumTag: {
      const Type *en = aggType(true);
      if (!en || operand())
        return fail();
      inst = emit(opc, tc.i32(), ops, {en});
      if (inst)
        inst->setAuxType(en);
      break;
    }
    case Opcode::EnumPayload: {
      const Type *en = aggType(true);
      unsigned v;
      if (!en || operand() || expect(Tok::Comma, "','") || variantName(en, v) ||
          expect(Tok::Comma, "','"))
        return fail();
      auto ftys = en->variants()[v].fields;
      SMLoc loc = tok_.loc();
      uint64_t k;
      if (parseInt(UINT64_MAX, k, "a field index"))
        return fail();
      if (k >= ftys.size())
        return error(loc, Twine("field index ") + Twine(k) + " out of range for variant '" +
                              en->variants()[v].name + "' (" + Twine(ftys.size()) +
                              " payload fields)"),
               fail();
      inst = emit(opc, ftys[k], ops, {en});
      if (inst) {
        inst->setAuxType(en);
        inst->setVariantIndex(v);
        inst->setFieldIndex(static_cast<unsigned>(k));
      }
      break;
    }
    case Opcode::FuncAddr: {
      Function *target;
      SMLoc loc;
      if (parseFunctionRef(target, loc))
        return fail();
      inst = emit(opc, tc.ptr(), {}, {});
      if (inst)
        inst->setCallee(target);
      break;
    }
    case Opcode::HeapNew: {
      const Type *t = parseType();
      if (!t)
        return fail();
      inst = emit(opc, tc.ptr(), {}, {});
      if (inst)
        inst->setAuxType(t);
      break;
    }
    case Opcode::HeapFree: {
      if (operand())
        return fail();
      inst = emit(opc, tc.voidTy(), ops, {tc.ptr()});
      break;
    }
    case Opcode::Call:
    case Opcode::Await: {
      Function *callee;
      SMLoc loc;
      if (parseFunctionRef(callee, loc))
        return fail();
      StringRef name = callee->name();
      SMLoc argLoc = tok_.loc();
      if (parseOperandList(ops))
        return fail();
      auto ptys = callee->type()->params();
      if (opc == Opcode::Await) {
        // `await @op(a, b)` calls the poll-form operation @op(a, b, self):
        // the task pointer is implicit, and the result is the poll status.
        if (ptys.empty() || !ptys.back()->isPtr() || !callee->returnType()->isInt(64))
          return error(loc, Twine("'await' needs a poll-form operation (its last "
                                  "parameter the task, ptr; its result i64), and '@") +
                                shown(name) + "' is not one"),
                 fail();
        ptys = ptys.drop_back();
      }
      if (ops.size() != ptys.size())
        return error(argLoc, Twine("'@") + shown(name) + "' takes " +
                                 Twine(ptys.size()) + " argument(s), got " +
                                 Twine(ops.size())),
               fail();
      inst = emit(opc, callee->returnType(), ops, ptys);
      if (inst)
        inst->setCallee(callee);
      break;
    }
    case Opcode::DbgValue: {
      BindingId b;
      if (parseBindingRef(b) || expect(Tok::Comma, "','"))
        return fail();
      // The operand's type is implied for values, i64/i1 literals and
      // strings; other constants spell it (`dbg #2, i32 7`).
      const Type *t = nullptr;
      if ((tok_.is(Tok::Ident) && !isOperandStart()) || tok_.is(Tok::LBrace)) {
        if (!(t = parseType()))
          return fail();
      }
      if (operand())
        return fail();
      const Operand &o = ops.back();
      if (!t) {
        if (o.kind == Operand::Int)
          t = tc.i64();
        else if (o.kind == Operand::True || o.kind == Operand::False)
          t = tc.i1();
        else if (o.kind == Operand::Str)
          t = tc.ptr();
        else if (o.kind == Operand::Undef)
          return error(o.loc, "'undef' in dbg needs a type ('dbg #N, i64 undef')"),
                 fail();
      }
      inst = emit(opc, tc.voidTy(), ops, {t});
      if (inst)
        inst->setBinding(b);
      break;
    }
    case Opcode::Br: {
      EdgeRef e;
      if (parseEdge(e))
        return fail();
      inst = emit(opc, tc.voidTy(), {}, {}, e.numOps, 1);
      unsigned arg = 0;
      bindEdge(inst, 0, e, arg);
      break;
    }
    case Opcode::CondBr: {
      EdgeRef t, f;
      if (operand() || expect(Tok::Comma, "','") || parseEdge(t) ||
          expect(Tok::Comma, "','") || parseEdge(f))
        return fail();
      inst = emit(opc, tc.voidTy(), ops, {tc.i1()}, t.numOps + f.numOps, 2);
      if (!inst)
        return fail();
      unsigned arg = 1;
      bindEdge(inst, 0, t, arg);
      bindEdge(inst, 1, f, arg);
      break;
    }
    case Opcode::Switch: {
      const Type *t = parseType();
      EdgeRef def;
      if (!t || operand() || expect(Tok::Comma, "','") || expectIdent("default") ||
          parseEdge(def) || expect(Tok::Comma, "','") ||
          expect(Tok::LBracket, "'['"))
        return fail();
      llvm::SmallVector<EdgeRef, 8> cases;
      llvm::SmallVector<int64_t, 8> keys;
      if (!consume(Tok::RBracket)) {
        while (true) {
          int64_t k;
          if (tok_.is(Tok::Int) && t->isInt()) {
            Operand o;
            o.kind = Operand::Int;
            o.mag = tok_.value;
            o.negative = tok_.negative;
            o.overflow = tok_.overflow;
            o.loc = tok_.loc();
            if (checkIntRange(o, t, k))
              return fail();
          } else if ((tok_.isIdent("true") || tok_.isIdent("false")) && t->isBool()) {
            k = tok_.text == "true";
          } else if (!t->isInt()) {
            return error(tok_, "switch needs an integer type, not " + typeStr(t)),
                   fail();
          } else {
            return expected("a case value"), fail();
          }
          next();
          keys.push_back(normalize(k, t->bits()));
          cases.emplace_back();
          if (expect(Tok::Arrow, "'->'") || parseEdge(cases.back()))
            return fail();
          if (consume(Tok::RBracket))
            break;
          if (expect(Tok::Comma, "',' or ']'"))
            return fail();
        }
      }
      unsigned numArgs = def.numOps;
      for (const EdgeRef &c : cases)
        numArgs += c.numOps;
      inst = emit(opc, tc.voidTy(), ops, {t}, numArgs, cases.size() + 1);
      if (!inst)
        return fail();
      unsigned arg = 1;
      bindEdge(inst, 0, def, arg);
      inst->successors()[0].isDefault = true;
      for (unsigned i = 0; i < cases.size(); ++i) {
        bindEdge(inst, i + 1, cases[i], arg);
        inst->successors()[i + 1].caseValue = keys[i];
      }
      break;
    }
    case Opcode::Match: {
      const Type *t = parseType();
      if (!t || operand() || expect(Tok::Comma, "','") ||
          expect(Tok::LBracket, "'['"))
        return fail();
      llvm::SmallVector<EdgeRef, 8> arms;
      llvm::SmallVector<const Pattern *, 8> pats;
      if (!consume(Tok::RBracket)) {
        while (true) {
          const Pattern *p = parsePattern(t, 0);
          if (!p)
            return fail();
          pats.push_back(p);
          arms.emplace_back();
          if (expect(Tok::Arrow, "'->'") || parseEdge(arms.back()))
            return fail();
          if (consume(Tok::RBracket))
            break;
          if (expect(Tok::Comma, "',' or ']'"))
            return fail();
        }
      }
      EdgeRef def;
      bool hasDefault = false;
      if (consume(Tok::Comma)) {
        if (expectIdent("default") || parseEdge(def))
          return fail();
        hasDefault = true;
      }
      unsigned numArgs = hasDefault ? def.numOps : 0;
      for (const EdgeRef &a : arms)
        numArgs += a.numOps;
      inst = emit(opc, tc.voidTy(), ops, {t}, numArgs,
                  arms.size() + (hasDefault ? 1 : 0));
      if (!inst)
        return fail();
      unsigned arg = 1;
      for (unsigned i = 0; i < arms.size(); ++i) {
        bindEdge(inst, i, arms[i], arg);
        inst->successors()[i].pattern = pats[i];
      }
      if (hasDefault) {
        bindEdge(inst, arms.size(), def, arg);
        inst->successors()[arms.size()].isDefault = true;
      }
      break;
    }
    case Opcode::Ret:
      // `ret` takes an operand only on its own line: the next line may
      // start with a value.
      if (isOperandStart() && !tok_.newlineBefore) {
        if (operand())
          return fail();
        inst = emit(opc, tc.voidTy(), ops, {F_->returnType()});
      } else {
        inst = emit(opc, tc.voidTy(), {}, {});
      }
      break;
    case Opcode::Unreachable:
      inst = emit(opc, tc.voidTy(), {}, {});
      break;
    case Opcode::Panic: {
      llvm::SmallString<64> msg;
      if (parseStringTok(msg))
        return fail();
      inst = emit(opc, tc.voidTy(), {}, {});
      inst->setMessage(F_->save(msg));
      break;
    }
    default:
      return error(opTok, "unhandled instruction"), fail();
    }
  }
  if (!inst)
    return fail();
  if (map_)
    map_->locs[inst] = instLoc;
  if (tok_.is(Tok::Bang) && parseLoc(inst))
    return fail();
  if (!tok_.newlineBefore && !tok_.is(Tok::Eof) && !tok_.is(Tok::RBrace))
    return expected("end of line"), fail();
  if (hasResult) {
    if (inst->type()->isVoid())
      return error(resLoc, Twine("'") + opTok.text +
                               "' does not produce a value to name"),
             fail();
    defineValue(resName, inst, resLoc);
  }
  return false;
}

void Parser::resolveFixups() {
  for (const ValueFixup &fx : valueFixups_) {
    auto it = values_.find(fx.name);
    if (it != values_.end())
      fx.inst->setOperand(fx.operand, it->second);
    else if (!poisonedValues_.count(fx.name))
      error(fx.loc, Twine("use of undefined value '%") + shown(fx.name) + "'");
  }
  for (const EdgeFixup &fx : edgeFixups_) {
    if (stopped_)
      return;
    const BlockInfo &bi = blocks_[fx.label];
    if (!bi.defined) {
      if (!poisonedBlocks_.count(fx.label) && bi.firstUse == fx.loc)
        error(fx.loc, Twine("use of undefined block '") + shown(fx.label) + "'");
      continue;
    }
    if (poisonedBlocks_.count(fx.label))
      continue;
    Block *target = bi.block;
    const Successor &s = fx.inst->successors()[fx.succ];
    if (s.pattern) {
      if (fx.numOps) {
        error(fx.loc, "a match arm passes its pattern's bindings, not arguments");
        continue;
      }
      unsigned binds = s.pattern->numBindings();
      if (binds != target->numArgs())
        error(fx.loc, Twine("block '") + shown(fx.label) + "' has " +
                          Twine(target->numArgs()) +
                          " parameter(s) but the pattern binds " + Twine(binds) +
                          " value(s)");
      continue;
    }
    if (fx.numOps != target->numArgs()) {
      error(fx.loc, Twine("block '") + shown(fx.label) + "' takes " +
                        Twine(target->numArgs()) + " argument(s), got " +
                        Twine(fx.numOps));
      continue;
    }
    for (unsigned k = 0; k < fx.numOps; ++k) {
      const Operand &op = edgeOps_[fx.firstOp + k];
      Value *v = nullptr;
      if (op.kind == Operand::Val) {
        auto it = values_.find(op.text);
        if (it == values_.end()) {
          if (!poisonedValues_.count(op.text))
            error(op.loc, Twine("use of undefined value '%") + shown(op.text) + "'");
          continue;
        }
        v = it->second;
      } else if (makeConstant(op, target->arg(k)->type(), v)) {
        continue;
      }
      fx.inst->setOperand(s.firstArg + k, v);
    }
  }
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

std::unique_ptr<Module> Parser::run() {
  skim();
  for (Item &it : items_) {
    if (stopped_)
      break;
    parseItem(it);
  }
  for (const HeaderBinding &hb : headerBindings_) {
    if (hb.id == 0 || hb.id > m_.numBindings())
      error(hb.loc, Twine("use of undefined binding '#") + Twine(hb.id) + "'");
    else
      hb.v->setBinding(static_cast<BindingId>(hb.id));
  }
  if (!stopped_)
    checkTypeCycles();
  for (Item &it : items_)
    if (!stopped_ && it.kind == ItemKind::Actor)
      parseActor(it);
  unsigned numBodies = 0, bodyIndex = 0;
  for (const Item &it : items_)
    numBodies += it.kind == ItemKind::Fn && it.fn;
  for (Item &it : items_) {
    if (stopped_)
      break;
    if (it.kind == ItemKind::Fn && it.fn) {
      parseBody(it);
      // Only while the module is sound so far: a body may be optimized in
      // the callback, and passes may assume, e.g., that no type contains
      // itself.
      if (onFunctionBody_ && numErrors_ == 0)
        onFunctionBody_(*it.fn, bodyIndex, numBodies);
      ++bodyIndex;
    }
  }
  if (numErrors_) {
    printDiagnostics();
    return nullptr;
  }
  return std::move(mod_);
}

} // namespace

std::unique_ptr<Module>
qmir::parseMIR(llvm::SourceMgr &sm, unsigned bufferId, llvm::raw_ostream &errs,
               MIRSourceMap *map, FunctionBodyCallback onFunctionBody) {
  Parser p(sm, bufferId, errs, map, onFunctionBody);
  return p.run();
}

std::unique_ptr<Module> qmir::parseMIRString(llvm::StringRef text,
                                             llvm::raw_ostream &errs,
                                             llvm::StringRef name) {
  llvm::SourceMgr sm;
  unsigned id = sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, name), llvm::SMLoc());
  return parseMIR(sm, id, errs);
}
