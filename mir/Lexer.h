// The MIR text lexer. Tokens are views into the source buffer (no allocation
// per token); integers are decoded while lexing. The lexer works on a range
// [begin, end) of a buffer so the parser can lex one top-level item at a time
// and a broken item cannot run into the next one.
#pragma once

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

#include <cstdint>

namespace qmir {

enum class Tok : uint8_t {
  Eof,
  Error,    ///< a malformed token; `error` says why, at `errorPos`
  Ident,    ///< [A-Za-z_][A-Za-z0-9_.]* (keywords are identifiers)
  Local,    ///< %name or %123; `text` is the name without '%'
  Global,   ///< @name or @"name"; `text` is the name (raw, if quoted)
  BindRef,  ///< #123; `value` is the number
  Int,      ///< decimal or hex, optional '-'; `value` is the magnitude
  String,   ///< "..."; `text` is the raw contents between the quotes
  LParen, RParen, LBrace, RBrace, LBracket, RBracket,
  Comma, Colon, Equal, Arrow, Bang,
};

struct Token {
  Tok kind = Tok::Eof;
  bool newlineBefore = false; ///< a line break precedes the token
  bool negative = false;      ///< Int: written with '-'
  bool overflow = false;      ///< Int, BindRef: does not fit in 64 bits
  bool escapes = false;       ///< String, quoted Global: has '\' escapes
  bool quoted = false;        ///< Global: written @"..."
  const char *begin = nullptr;
  const char *end = nullptr;
  llvm::StringRef text;
  uint64_t value = 0;
  const char *error = nullptr;    ///< Error: the message
  const char *errorPos = nullptr; ///< Error: where it is

  llvm::SMLoc loc() const { return llvm::SMLoc::getFromPointer(begin); }
  llvm::StringRef spelling() const { return {begin, size_t(end - begin)}; }
  bool is(Tok k) const { return kind == k; }
  bool isIdent(llvm::StringRef s) const { return kind == Tok::Ident && text == s; }
};

class Lexer {
public:
  Lexer() = default;
  /// Lexes [cur, end) of the buffer that starts at `bufStart`.
  Lexer(const char *bufStart, const char *end, const char *cur)
      : start_(bufStart), cur_(cur), end_(end) {}

  Token lex();
  const char *pos() const { return cur_; }
  const char *end() const { return end_; }
  /// Continues after the next line break at or after `p` (or at the end).
  void skipLine(const char *p);

private:
  Token lexString(Token &t, const char *quote);
  Token makeError(Token &t, const char *pos, const char *msg);

  const char *start_ = nullptr;
  const char *cur_ = nullptr;
  const char *end_ = nullptr;
};

/// Decodes the escapes of a string the lexer accepted.
void decodeString(llvm::StringRef raw, llvm::SmallVectorImpl<char> &out);

} // namespace qmir
