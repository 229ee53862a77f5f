// Lexer for Quartz core: turns the buffer into tokens on demand.
//
// Tokens are plain values pointing into the buffer (no allocation per token),
// carrying their byte range and the line/column of their first byte so the
// parser never has to search for positions. Newlines are tokens because they
// end statements; the parser decides where they are insignificant.
#pragma once

#include "frontend/Diagnostics.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace qmir::frontend {

enum class Tok : uint8_t {
  Eof,
  Newline,
  Ident,     ///< `foo`, `Point`, `_`
  MacroName, ///< `$unwrap`
  IntLit,    ///< `42`, `1_000`, `0xff` (value decoded by the parser)
  StringLit, ///< `"..."` including the quotes
  // Keywords.
  KwDef, KwEnd, KwVar, KwIf, KwElsif, KwElse, KwUnless, KwWhile, KwBreak,
  KwContinue, KwReturn, KwMatch, KwDo, KwActor, KwEnum, KwStruct, KwAnd, KwOr,
  KwNot, KwSpawn, KwTrue, KwFalse,
  // Punctuation.
  LParen, RParen, LBracket, RBracket, LBrace, RBrace, Comma, Colon, ColonColon,
  Semi, Dot, FatArrow, Assign, PlusAssign, MinusAssign, StarAssign, Plus, Minus,
  Star, Slash, Percent, EqEq, NotEq, Lt, Le, Gt, Ge, Bang, AmpAmp, PipePipe,
  Pipe,
};

/// How a token kind is spelled in diagnostics ("'end'", "identifier", ...).
const char *tokSpelling(Tok k);

struct Token {
  Tok kind = Tok::Eof;
  uint32_t begin = 0, end = 0;
  uint32_t line = 1, col = 1;
  ast::SrcRange range() const { return {begin, end, line, col}; }
};

class Lexer {
public:
  /// Lexes `diags`' buffer, reporting bad characters and strings to it.
  explicit Lexer(DiagEngine &diags);
  /// The next token; Eof forever at the end. Never fails: bad input is
  /// reported and skipped.
  Token lex();
  llvm::StringRef text(const Token &t) const {
    return src_.substr(t.begin, t.end - t.begin);
  }
  llvm::StringRef source() const { return src_; }

private:
  Token make(Tok k, uint32_t begin) const;
  void lexString(Token &t);

  DiagEngine &diags_;
  llvm::StringRef src_;
  uint32_t pos_ = 0;
  uint32_t line_ = 1;
  uint32_t lineStart_ = 0;
  bool lastWasNewline_ = true; ///< collapse blank lines into one Newline
};

} // namespace qmir::frontend
