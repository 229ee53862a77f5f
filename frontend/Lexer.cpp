// Lexer for Quartz core. Hand-written and allocation-free: it scans the buffer
// once, keeping the current line so every token knows its line and column.
#include "frontend/Lexer.h"

#include "llvm/ADT/StringSwitch.h"

using namespace qmir;
using namespace qmir::frontend;

const char *qmir::frontend::tokSpelling(Tok k) {
  switch (k) {
  case Tok::Eof: return "end of file";
  case Tok::Newline: return "newline";
  case Tok::Ident: return "identifier";
  case Tok::MacroName: return "macro name";
  case Tok::IntLit: return "integer literal";
  case Tok::StringLit: return "string literal";
  case Tok::KwDef: return "'def'";
  case Tok::KwEnd: return "'end'";
  case Tok::KwVar: return "'var'";
  case Tok::KwIf: return "'if'";
  case Tok::KwElsif: return "'elsif'";
  case Tok::KwElse: return "'else'";
  case Tok::KwUnless: return "'unless'";
  case Tok::KwWhile: return "'while'";
  case Tok::KwBreak: return "'break'";
  case Tok::KwContinue: return "'continue'";
  case Tok::KwReturn: return "'return'";
  case Tok::KwMatch: return "'match'";
  case Tok::KwDo: return "'do'";
  case Tok::KwActor: return "'actor'";
  case Tok::KwEnum: return "'enum'";
  case Tok::KwStruct: return "'struct'";
  case Tok::KwAnd: return "'and'";
  case Tok::KwOr: return "'or'";
  case Tok::KwNot: return "'not'";
  case Tok::KwSpawn: return "'spawn'";
  case Tok::KwTrue: return "'true'";
  case Tok::KwFalse: return "'false'";
  case Tok::LParen: return "'('";
  case Tok::RParen: return "')'";
  case Tok::LBracket: return "'['";
  case Tok::RBracket: return "']'";
  case Tok::LBrace: return "'{'";
  case Tok::RBrace: return "'}'";
  case Tok::Comma: return "','";
  case Tok::Colon: return "':'";
  case Tok::ColonColon: return "'::'";
  case Tok::Semi: return "';'";
  case Tok::Dot: return "'.'";
  case Tok::FatArrow: return "'=>'";
  case Tok::Assign: return "'='";
  case Tok::PlusAssign: return "'+='";
  case Tok::MinusAssign: return "'-='";
  case Tok::StarAssign: return "'*='";
  case Tok::Plus: return "'+'";
  case Tok::Minus: return "'-'";
  case Tok::Star: return "'*'";
  case Tok::Slash: return "'/'";
  case Tok::Percent: return "'%'";
  case Tok::EqEq: return "'=='";
  case Tok::NotEq: return "'!='";
  case Tok::Lt: return "'<'";
  case Tok::Le: return "'<='";
  case Tok::Gt: return "'>'";
  case Tok::Ge: return "'>='";
  case Tok::Bang: return "'!'";
  case Tok::AmpAmp: return "'&&'";
  case Tok::PipePipe: return "'||'";
  case Tok::Pipe: return "'|'";
  }
  return "token";
}

Lexer::Lexer(DiagEngine &diags) : diags_(diags), src_(diags.buffer()) {}

Token Lexer::make(Tok k, uint32_t begin) const {
  Token t;
  t.kind = k;
  t.begin = begin;
  t.end = pos_;
  t.line = line_;
  t.col = begin - lineStart_ + 1;
  return t;
}

static bool isIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool isIdentChar(char c) {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}

static Tok keywordOrIdent(llvm::StringRef s) {
  return llvm::StringSwitch<Tok>(s)
      .Case("def", Tok::KwDef)
      .Case("end", Tok::KwEnd)
      .Case("var", Tok::KwVar)
      .Case("if", Tok::KwIf)
      .Case("elsif", Tok::KwElsif)
      .Case("else", Tok::KwElse)
      .Case("unless", Tok::KwUnless)
      .Case("while", Tok::KwWhile)
      .Case("break", Tok::KwBreak)
      .Case("continue", Tok::KwContinue)
      .Case("return", Tok::KwReturn)
      .Case("match", Tok::KwMatch)
      .Case("do", Tok::KwDo)
      .Case("actor", Tok::KwActor)
      .Case("enum", Tok::KwEnum)
      .Case("struct", Tok::KwStruct)
      .Case("and", Tok::KwAnd)
      .Case("or", Tok::KwOr)
      .Case("not", Tok::KwNot)
      .Case("spawn", Tok::KwSpawn)
      .Case("true", Tok::KwTrue)
      .Case("false", Tok::KwFalse)
      .Default(Tok::Ident);
}

void Lexer::lexString(Token &t) {
  // pos_ is just past the opening quote. A string ends at the closing quote;
  // a newline or the end of the buffer first means it is unterminated (strings
  // never span lines, so the error points close to the mistake).
  uint32_t n = src_.size();
  while (pos_ < n) {
    char c = src_[pos_];
    if (c == '"') {
      ++pos_;
      t.end = pos_;
      return;
    }
    if (c == '\n' || c == '\r')
      break;
    if (c == '\\') {
      if (pos_ + 1 >= n || src_[pos_ + 1] == '\n')
        break;
      char e = src_[pos_ + 1];
      if (e != 'n' && e != 't' && e != '"' && e != '\\' && e != 'r' &&
          e != '0')
        diags_.error({pos_, pos_ + 2, line_, pos_ - lineStart_ + 1},
                     "unknown escape sequence in string literal");
      pos_ += 2;
      continue;
    }
    ++pos_;
  }
  t.end = pos_;
  diags_.error(t.range(), "unterminated string literal");
}

Token Lexer::lex() {
  uint32_t n = src_.size();
  for (;;) {
    if (pos_ >= n) {
      pos_ = n;
      return make(Tok::Eof, n);
    }
    char c = src_[pos_];
    uint32_t begin = pos_;
    switch (c) {
    case ' ':
    case '\t':
    case '\r':
      ++pos_;
      continue;
    case '#':
      while (pos_ < n && src_[pos_] != '\n')
        ++pos_;
      continue;
    case '\n': {
      Token t = make(Tok::Newline, begin);
      t.end = ++pos_;
      ++line_;
      lineStart_ = pos_;
      if (lastWasNewline_)
        continue;
      lastWasNewline_ = true;
      return t;
    }
    default:
      break;
    }
    lastWasNewline_ = false;
    ++pos_;
    auto next = [&](char want) {
      if (pos_ < n && src_[pos_] == want) {
        ++pos_;
        return true;
      }
      return false;
    };
    if (isIdentStart(c)) {
      while (pos_ < n && isIdentChar(src_[pos_]))
        ++pos_;
      Token t = make(Tok::Ident, begin);
      t.kind = keywordOrIdent(src_.substr(begin, pos_ - begin));
      return t;
    }
    if (c >= '0' && c <= '9') {
      // Greedy, so `12ab` is one (invalid) literal rather than two tokens.
      while (pos_ < n && isIdentChar(src_[pos_]))
        ++pos_;
      return make(Tok::IntLit, begin);
    }
    switch (c) {
    case '$':
      if (pos_ < n && isIdentStart(src_[pos_])) {
        while (pos_ < n && isIdentChar(src_[pos_]))
          ++pos_;
        return make(Tok::MacroName, begin);
      }
      break;
    case '"': {
      Token t = make(Tok::StringLit, begin);
      lexString(t);
      return t;
    }
    case '(': return make(Tok::LParen, begin);
    case ')': return make(Tok::RParen, begin);
    case '[': return make(Tok::LBracket, begin);
    case ']': return make(Tok::RBracket, begin);
    case '{': return make(Tok::LBrace, begin);
    case '}': return make(Tok::RBrace, begin);
    case ',': return make(Tok::Comma, begin);
    case ';': return make(Tok::Semi, begin);
    case '.': return make(Tok::Dot, begin);
    case ':':
      return make(next(':') ? Tok::ColonColon : Tok::Colon, begin);
    case '=':
      if (next('>'))
        return make(Tok::FatArrow, begin);
      return make(next('=') ? Tok::EqEq : Tok::Assign, begin);
    case '+': return make(next('=') ? Tok::PlusAssign : Tok::Plus, begin);
    case '-': return make(next('=') ? Tok::MinusAssign : Tok::Minus, begin);
    case '*': return make(next('=') ? Tok::StarAssign : Tok::Star, begin);
    case '/': return make(Tok::Slash, begin);
    case '%': return make(Tok::Percent, begin);
    case '!': return make(next('=') ? Tok::NotEq : Tok::Bang, begin);
    case '<': return make(next('=') ? Tok::Le : Tok::Lt, begin);
    case '>': return make(next('=') ? Tok::Ge : Tok::Gt, begin);
    case '&':
      if (next('&'))
        return make(Tok::AmpAmp, begin);
      break;
    case '|': return make(next('|') ? Tok::PipePipe : Tok::Pipe, begin);
    default:
      break;
    }
    // Anything else is reported and skipped; printable characters are quoted,
    // others (random bytes, UTF-8) shown in hex so the message stays readable.
    Token bad = make(Tok::Eof, begin);
    unsigned char uc = static_cast<unsigned char>(c);
    if (uc >= 0x20 && uc < 0x7f)
      diags_.error(bad.range(), llvm::Twine("unexpected character '") +
                                    llvm::Twine(c) + "'");
    else
      diags_.error(bad.range(), "unexpected character 0x" +
                                    llvm::Twine::utohexstr(uc));
    if (diags_.limitReached()) {
      pos_ = n; // nothing useful can follow; end the token stream
      return make(Tok::Eof, n);
    }
  }
}
