// Maranget's usefulness algorithm over Quartz core patterns.
//
// A match is exhaustive iff the all-wildcards row is not useful with respect to
// its (unguarded) arms; when it is useful the algorithm builds a witness, one
// value no arm matches, which is what the diagnostic names. Constructors are:
// the two booleans, the variants of Option and user enums (finite signatures),
// and integer literals (an infinite signature: only a wildcard covers Int).
// Every other type (String, Vec, actors, ...) can only be matched by wildcards
// and bindings, so it behaves like an infinite signature with no literals.
#include "frontend/Exhaustiveness.h"

#include "llvm/ADT/SmallVector.h"

#include <vector>

using namespace qmir;
using namespace qmir::ast;

namespace {

/// A pattern cell. nullptr stands for a wildcard the algorithm introduced
/// (when specializing a wildcard row by a constructor of arity > 0).
using Cell = const Pattern *;
using Row = llvm::SmallVector<Cell, 4>;
using Matrix = std::vector<Row>;
using Types = llvm::SmallVector<const Ty *, 4>;
using Witness = std::vector<std::string>;

bool isWild(Cell p) {
  if (!p)
    return true;
  switch (p->kind) {
  case Pattern::Wildcard:
  case Pattern::Binding:
    return true;
  case Pattern::Variant:
    return p->variantIndex < 0; // rejected by the checker: no follow-on errors
  default:
    return false;
  }
}

/// The constructor a non-wildcard, non-or pattern starts with. For booleans and
/// variants it is an index into the finite signature; for integers the value.
int64_t ctorOf(Cell p) {
  return p->kind == Pattern::Variant ? p->variantIndex : p->intValue;
}

/// How many constructors the type has, or -1 if its signature is infinite.
int64_t signatureSize(const Ty *t) {
  switch (t->kind) {
  case Ty::Bool:
    return 2;
  case Ty::Option:
    return 2;
  case Ty::Enum:
    return static_cast<const EnumDecl *>(t->decl)->variants.size();
  default:
    return -1;
  }
}

/// The field types of constructor `c` of `t` (empty for booleans and ints).
llvm::ArrayRef<const Ty *> fieldsOf(const Ty *t, int64_t c, Types &storage) {
  storage.clear();
  if (t->kind == Ty::Option) {
    if (c == 1)
      storage.push_back(t->elem);
    return storage;
  }
  if (t->kind == Ty::Enum) {
    auto *d = static_cast<const EnumDecl *>(t->decl);
    return d->variants[c].fields;
  }
  return storage;
}

std::string ctorName(const Ty *t, int64_t c) {
  switch (t->kind) {
  case Ty::Bool:
    return c ? "true" : "false";
  case Ty::Option:
    return c ? "Some" : "None";
  case Ty::Enum:
    return static_cast<const EnumDecl *>(t->decl)->variants[c].name.spelling.str();
  default:
    return std::to_string(c);
  }
}

/// Builds `C(a1, ..., an)` from the first `arity` entries of `w`, replacing them.
Witness rebuild(const Ty *t, int64_t c, size_t arity, Witness w) {
  std::string s = ctorName(t, c);
  if (arity > 0) {
    s += '(';
    for (size_t i = 0; i < arity; ++i) {
      if (i)
        s += ", ";
      s += w[i];
    }
    s += ')';
  }
  Witness out;
  out.push_back(std::move(s));
  out.insert(out.end(), w.begin() + arity, w.end());
  return out;
}

/// Replaces every row whose first cell is an or-pattern by one row per
/// alternative (recursively), so the other functions only see simple heads.
Matrix expandOrs(const Matrix &m) {
  Matrix out;
  std::vector<Row> work(m.rbegin(), m.rend());
  while (!work.empty()) {
    Row r = std::move(work.back());
    work.pop_back();
    if (!r.empty() && r[0] && r[0]->kind == Pattern::Or) {
      auto alts = r[0]->subpatterns;
      for (size_t i = alts.size(); i-- > 0;) {
        Row nr = r;
        nr[0] = alts[i];
        work.push_back(std::move(nr));
      }
      continue;
    }
    out.push_back(std::move(r));
  }
  return out;
}

/// The rows of `m` that match constructor `c` (of `arity` fields), with the
/// head replaced by its fields.
Matrix specialize(const Matrix &m, int64_t c, size_t arity) {
  Matrix out;
  for (const Row &r : m) {
    Row nr;
    if (isWild(r[0])) {
      nr.append(arity, nullptr);
    } else if (ctorOf(r[0]) == c) {
      auto subs = r[0]->subpatterns;
      for (size_t i = 0; i < arity; ++i)
        nr.push_back(i < subs.size() ? subs[i] : nullptr);
    } else {
      continue;
    }
    nr.append(r.begin() + 1, r.end());
    out.push_back(std::move(nr));
  }
  return out;
}

/// The rows of `m` whose head is a wildcard, without the head.
Matrix defaultMatrix(const Matrix &m) {
  Matrix out;
  for (const Row &r : m)
    if (isWild(r[0]))
      out.emplace_back(r.begin() + 1, r.end());
  return out;
}

/// Steps left before the search gives up (adversarial or-patterns and wide
/// variants can make usefulness exponential; a compiler must not hang).
struct Budget {
  uint64_t left = 2'000'000;
  bool exhausted = false;
};

/// If `q` is useful with respect to `p` (some value matches q and no row of p),
/// returns such a value, one pattern string per column.
std::optional<Witness> useful(const Matrix &pIn, const Row &q, const Types &tys, Budget &b) {
  if (b.exhausted || b.left == 0) {
    b.exhausted = true;
    return std::nullopt;
  }
  --b.left;
  if (q.empty()) {
    if (pIn.empty())
      return Witness{};
    return std::nullopt;
  }
  Matrix p = expandOrs(pIn);
  const Ty *t = tys[0];
  Types restTys(tys.begin() + 1, tys.end());
  Cell q0 = q[0];

  if (q0 && q0->kind == Pattern::Or) {
    for (Cell alt : q0->subpatterns) {
      Row nq = q;
      nq[0] = alt;
      if (auto w = useful(p, nq, tys, b))
        return w;
    }
    return std::nullopt;
  }

  auto tryCtor = [&](int64_t c, Cell head) -> std::optional<Witness> {
    Types storage;
    llvm::ArrayRef<const Ty *> fields = fieldsOf(t, c, storage);
    Types ntys(fields.begin(), fields.end());
    ntys.append(restTys.begin(), restTys.end());
    Row nq;
    for (size_t i = 0; i < fields.size(); ++i)
      nq.push_back(head && i < head->subpatterns.size() ? head->subpatterns[i] : nullptr);
    nq.append(q.begin() + 1, q.end());
    auto w = useful(specialize(p, c, fields.size()), nq, ntys, b);
    if (!w)
      return std::nullopt;
    return rebuild(t, c, fields.size(), std::move(*w));
  };

  if (!isWild(q0))
    return tryCtor(ctorOf(q0), q0);

  // q starts with a wildcard: look at the constructors the rows use.
  int64_t size = signatureSize(t);
  llvm::SmallVector<bool, 8> seen(size > 0 ? size : 0, false);
  int64_t numSeen = 0;
  bool anyCtor = false;
  for (const Row &r : p) {
    if (isWild(r[0]))
      continue;
    anyCtor = true;
    int64_t c = ctorOf(r[0]);
    if (size >= 0 && c >= 0 && c < size && !seen[c]) {
      seen[c] = true;
      ++numSeen;
    }
  }
  if (size >= 0 && numSeen == size) {
    for (int64_t c = 0; c < size; ++c)
      if (auto w = tryCtor(c, nullptr))
        return w;
    return std::nullopt;
  }
  Row nq(q.begin() + 1, q.end());
  auto w = useful(defaultMatrix(p), nq, restTys, b);
  if (!w)
    return std::nullopt;
  std::string head = "_";
  if (size >= 0 && anyCtor) {
    // Name the first constructor no row mentions, with open fields.
    for (int64_t c = 0; c < size; ++c) {
      if (seen[c])
        continue;
      Types storage;
      size_t arity = fieldsOf(t, c, storage).size();
      Witness open(arity, "_");
      head = rebuild(t, c, arity, std::move(open))[0];
      break;
    }
  }
  Witness out;
  out.push_back(std::move(head));
  out.insert(out.end(), w->begin(), w->end());
  return out;
}

} // namespace

std::optional<std::string> qmir::frontend::findUncovered(const Ty *subject,
                                                         llvm::ArrayRef<const Pattern *> rows,
                                                         bool *tooComplex) {
  Matrix m;
  for (const Pattern *p : rows)
    m.push_back(Row{p});
  Budget b;
  auto w = useful(m, Row{nullptr}, Types{subject}, b);
  if (tooComplex)
    *tooComplex = b.exhausted;
  if (!w || b.exhausted)
    return std::nullopt;
  return (*w)[0];
}

bool qmir::frontend::isUseful(const Ty *subject, llvm::ArrayRef<const Pattern *> previous,
                              const Pattern *p) {
  Matrix m;
  for (const Pattern *r : previous)
    m.push_back(Row{r});
  Budget b;
  // Past the budget, call the arm reachable: no false "unreachable" claims.
  auto w = useful(m, Row{p}, Types{subject}, b);
  return w.has_value() || b.exhausted;
}
