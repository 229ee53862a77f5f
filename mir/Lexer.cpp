// The MIR text lexer (see Lexer.h). Hot path of the parser: a switch on the
// first character, no allocation, integers decoded in place.
#include "mir/Lexer.h"

#include "llvm/ADT/StringExtras.h"

#include <cstring>

using namespace qmir;

namespace {
/// Character classes, by table: the lexer's inner loops test one byte each.
struct CharTable {
  enum : uint8_t { IdentStart = 1, IdentChar = 2 };
  uint8_t cls[256] = {};
  constexpr CharTable() {
    for (int c = 0; c < 256; ++c) {
      bool start = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      bool digit = c >= '0' && c <= '9';
      cls[c] = (start ? IdentStart : 0) | (start || digit || c == '.' ? IdentChar : 0);
    }
  }
};
constexpr CharTable kChars;
} // namespace

static inline bool isIdentStart(char c) {
  return kChars.cls[static_cast<unsigned char>(c)] & CharTable::IdentStart;
}
static inline bool isIdentChar(char c) {
  return kChars.cls[static_cast<unsigned char>(c)] & CharTable::IdentChar;
}
static bool isDigit(char c) { return c >= '0' && c <= '9'; }

void Lexer::skipLine(const char *p) {
  if (p < cur_)
    p = cur_;
  if (p >= end_) {
    cur_ = end_;
    return;
  }
  const void *nl = std::memchr(p, '\n', end_ - p);
  cur_ = nl ? static_cast<const char *>(nl) : end_;
}

Token Lexer::makeError(Token &t, const char *pos, const char *msg) {
  t.kind = Tok::Error;
  t.error = msg;
  t.errorPos = pos;
  t.end = cur_;
  return t;
}

Token Lexer::lex() {
  Token t;
  // At the start of a range, the token is on a new line if the range starts
  // a line.
  t.newlineBefore = cur_ == start_ || (cur_ > start_ && cur_[-1] == '\n');
  // Skip whitespace and comments.
  while (cur_ < end_) {
    char c = *cur_;
    if (c == '\n') {
      t.newlineBefore = true;
      ++cur_;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++cur_;
    } else if (c == ';') {
      const void *nl = std::memchr(cur_, '\n', end_ - cur_);
      cur_ = nl ? static_cast<const char *>(nl) : end_;
    } else {
      break;
    }
  }
  t.begin = cur_;
  if (cur_ >= end_) {
    t.kind = Tok::Eof;
    t.end = cur_;
    return t;
  }
  const char *b = cur_;
  char c = *cur_++;
  auto single = [&](Tok k) {
    t.kind = k;
    t.end = cur_;
    return t;
  };
  switch (c) {
  case '(': return single(Tok::LParen);
  case ')': return single(Tok::RParen);
  case '{': return single(Tok::LBrace);
  case '}': return single(Tok::RBrace);
  case '[': return single(Tok::LBracket);
  case ']': return single(Tok::RBracket);
  case ',': return single(Tok::Comma);
  case ':': return single(Tok::Colon);
  case '=': return single(Tok::Equal);
  case '!': return single(Tok::Bang);
  case '"':
    return lexString(t, b);
  case '%': {
    const char *s = cur_;
    while (cur_ < end_ && isIdentChar(*cur_))
      ++cur_;
    t.text = llvm::StringRef(s, cur_ - s);
    if (t.text.empty())
      return makeError(t, b, "expected a value name after '%'");
    if (isDigit(s[0]) && !llvm::all_of(t.text, isDigit))
      return makeError(t, b, "invalid value name (a name is an identifier or a number)");
    t.kind = Tok::Local;
    t.end = cur_;
    return t;
  }
  case '@': {
    if (cur_ < end_ && *cur_ == '"') {
      Token s = lexString(t, cur_);
      if (s.kind == Tok::Error)
        return s;
      s.kind = Tok::Global;
      s.quoted = true;
      s.begin = b;
      return s;
    }
    const char *s = cur_;
    if (cur_ >= end_ || !isIdentStart(*cur_))
      return makeError(t, b, "expected a function name after '@'");
    while (cur_ < end_ && isIdentChar(*cur_))
      ++cur_;
    t.text = llvm::StringRef(s, cur_ - s);
    t.kind = Tok::Global;
    t.end = cur_;
    return t;
  }
  case '#': {
    const char *s = cur_;
    uint64_t v = 0;
    while (cur_ < end_ && isDigit(*cur_)) {
      unsigned d = *cur_++ - '0';
      if (v > (UINT64_MAX - d) / 10)
        t.overflow = true;
      v = v * 10 + d;
    }
    if (cur_ == s)
      return makeError(t, b, "expected a binding number after '#'");
    if (cur_ < end_ && isIdentChar(*cur_)) {
      while (cur_ < end_ && isIdentChar(*cur_))
        ++cur_;
      return makeError(t, b, "invalid binding number");
    }
    t.kind = Tok::BindRef;
    t.value = v;
    t.end = cur_;
    return t;
  }
  case '-':
    if (cur_ < end_ && *cur_ == '>')
      return ++cur_, single(Tok::Arrow);
    if (cur_ >= end_ || !isDigit(*cur_))
      return makeError(t, b, "unexpected character '-'");
    t.negative = true;
    c = *cur_++;
    [[fallthrough]];
  case '0': case '1': case '2': case '3': case '4':
  case '5': case '6': case '7': case '8': case '9': {
    uint64_t v = 0;
    if (c == '0' && cur_ < end_ && (*cur_ == 'x' || *cur_ == 'X')) {
      ++cur_;
      const char *s = cur_;
      while (cur_ < end_ && llvm::isHexDigit(*cur_)) {
        if (v >> 60)
          t.overflow = true;
        v = (v << 4) | llvm::hexDigitValue(*cur_++);
      }
      if (cur_ == s)
        return makeError(t, b, "expected hex digits after '0x'");
    } else {
      v = c - '0';
      while (cur_ < end_ && isDigit(*cur_)) {
        unsigned d = *cur_++ - '0';
        if (v > (UINT64_MAX - d) / 10)
          t.overflow = true;
        v = v * 10 + d;
      }
    }
    if (cur_ < end_ && isIdentChar(*cur_)) {
      while (cur_ < end_ && isIdentChar(*cur_))
        ++cur_;
      return makeError(t, b, "invalid integer literal");
    }
    t.kind = Tok::Int;
    t.value = v;
    t.end = cur_;
    return t;
  }
  default:
    break;
  }
  if (isIdentStart(c)) {
    while (cur_ < end_ && isIdentChar(*cur_))
      ++cur_;
    t.kind = Tok::Ident;
    t.text = llvm::StringRef(b, cur_ - b);
    t.end = cur_;
    return t;
  }
  return makeError(t, b, "unexpected character");
}

Token Lexer::lexString(Token &t, const char *quote) {
  cur_ = quote + 1;
  const char *s = cur_;
  while (true) {
    if (cur_ >= end_ || *cur_ == '\n')
      return makeError(t, quote, "unterminated string literal");
    char c = *cur_;
    if (c == '"')
      break;
    if (c == '\\') {
      t.escapes = true;
      if (cur_ + 1 >= end_)
        return makeError(t, cur_, "unterminated string literal");
      char e = cur_[1];
      if (e == 'n' || e == 't' || e == '\\' || e == '"') {
        cur_ += 2;
        continue;
      }
      if (cur_ + 2 < end_ && llvm::isHexDigit(e) && llvm::isHexDigit(cur_[2])) {
        cur_ += 3;
        continue;
      }
      const char *bad = cur_;
      // Resume after the string so one bad escape gives one error.
      while (cur_ < end_ && *cur_ != '"' && *cur_ != '\n')
        ++cur_;
      if (cur_ < end_ && *cur_ == '"')
        ++cur_;
      return makeError(t, bad, "invalid escape sequence (use \\n, \\t, \\\\, \\\" or \\xx with two hex digits)");
    }
    ++cur_;
  }
  t.text = llvm::StringRef(s, cur_ - s);
  ++cur_;
  t.kind = Tok::String;
  t.end = cur_;
  return t;
}

void qmir::decodeString(llvm::StringRef raw, llvm::SmallVectorImpl<char> &out) {
  out.clear();
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\' || i + 1 >= raw.size()) {
      out.push_back(c);
      continue;
    }
    char e = raw[i + 1];
    switch (e) {
    case 'n': out.push_back('\n'); ++i; continue;
    case 't': out.push_back('\t'); ++i; continue;
    case '\\': out.push_back('\\'); ++i; continue;
    case '"': out.push_back('"'); ++i; continue;
    default:
      if (i + 2 < raw.size() && llvm::isHexDigit(e) && llvm::isHexDigit(raw[i + 2])) {
        out.push_back(char(llvm::hexDigitValue(e) * 16 + llvm::hexDigitValue(raw[i + 2])));
        i += 2;
        continue;
      }
      out.push_back(c);
    }
  }
}
