// Parser for Quartz core: builds the qmir AST (lowering/AST.h) from a buffer.
//
// Recursive descent with one token of lookahead, following the precedence
// table of language.md. It reports every syntax error it can, recovering at
// statement and declaration boundaries, and bounds its own recursion so that no
// input (deep nesting, huge lines, random bytes) can crash or hang it.
#pragma once

#include "frontend/Diagnostics.h"
#include "lowering/AST.h"

namespace qmir::frontend {

/// Nesting beyond this (parentheses, blocks, prefix operators, patterns,
/// types) is reported as "nesting too deep" and ends the parse; it keeps the
/// parser and every later recursive walk of the tree far from the stack limit.
constexpr unsigned kMaxNestingDepth = 256;
/// The parser stops after this many errors.
constexpr unsigned kMaxParseErrors = 50;

/// Parses the whole buffer; reports every syntax error it can (with recovery
/// at statement / declaration boundaries), returns the module (possibly
/// partial; check diags.errorCount()). Never returns null.
ast::Module *parseQuartz(ast::AstContext &ctx, DiagEngine &diags);

} // namespace qmir::frontend
