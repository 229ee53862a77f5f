// The pass manager, the analysis cache's invalidation, pass options and the
// textual pipeline parser. Pipeline errors carry the column and a caret line
// because pipelines are typed by hand on command lines and in RUN lines.
#include "passes/PassManager.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <string>

using namespace llvm;

namespace qmir {

//===----------------------------------------------------------------------===//
// PreservedAnalyses, keys, base classes
//===----------------------------------------------------------------------===//

void PreservedAnalyses::intersect(const PreservedAnalyses &o) {
  if (o.all_)
    return;
  if (all_) {
    *this = o;
    return;
  }
  SmallVector<const AnalysisKey *, 4> drop;
  for (const AnalysisKey *k : preserved_)
    if (!o.preserved_.count(k))
      drop.push_back(k);
  for (const AnalysisKey *k : drop)
    preserved_.erase(k);
}

const AnalysisKey *CFGAnalyses::key() {
  static const AnalysisKey k{"cfg-analyses"};
  return &k;
}

Pass::~Pass() = default;
PassInstrumentation::~PassInstrumentation() = default;

//===----------------------------------------------------------------------===//
// AnalysisManager
//===----------------------------------------------------------------------===//

AnalysisManager::~AnalysisManager() = default;

void AnalysisManager::invalidate(const Function &f, const PreservedAnalyses &pa) {
  if (pa.areAllPreserved())
    return;
  auto keys = keysOf_.find(&f);
  if (keys == keysOf_.end())
    return;
  llvm::erase_if(keys->second, [&](const AnalysisKey *a) {
    auto it = cache_.find(Key(&f, a));
    if (it == cache_.end())
      return true;
    if (!it->second->invalidatedBy(pa))
      return false;
    cache_.erase(it);
    return true;
  });
  if (keys->second.empty())
    keysOf_.erase(keys);
}

void AnalysisManager::invalidateAll(const PreservedAnalyses &pa) {
  if (pa.areAllPreserved())
    return;
  SmallVector<Key, 8> drop;
  for (auto &e : cache_)
    if (e.second->invalidatedBy(pa))
      drop.push_back(e.first);
  for (const Key &k : drop)
    cache_.erase(k);
  keysOf_.clear();
  for (auto &e : cache_)
    keysOf_[e.first.first].push_back(e.first.second);
}

//===----------------------------------------------------------------------===//
// PassOptions
//===----------------------------------------------------------------------===//

void PassOptions::add(StringRef key, std::optional<StringRef> value,
                      unsigned column) {
  Entry e;
  e.key = key.str();
  e.hasValue = value.has_value();
  if (value)
    e.value = value->str();
  e.column = column;
  entries_.push_back(std::move(e));
}

PassOptions::Entry *PassOptions::find(StringRef key) {
  for (Entry &e : entries_)
    if (e.key == key)
      return &e;
  return nullptr;
}

bool PassOptions::has(StringRef key) const {
  for (const Entry &e : entries_)
    if (e.key == key)
      return true;
  return false;
}

int64_t PassOptions::takeInt(StringRef key, int64_t def) {
  Entry *e = find(key);
  if (!e)
    return def;
  e->consumed = true;
  int64_t v;
  if (!e->hasValue || StringRef(e->value).getAsInteger(10, v)) {
    if (!bad_)
      bad_ = Problem{"option '" + e->key + "' expects an integer, got '" +
                         e->value + "'",
                     e->column};
    return def;
  }
  return v;
}

bool PassOptions::takeBool(StringRef key, bool def) {
  Entry *e = find(key);
  if (!e)
    return def;
  e->consumed = true;
  if (!e->hasValue || e->value == "true")
    return true;
  if (e->value == "false")
    return false;
  if (!bad_)
    bad_ = Problem{"option '" + e->key + "' expects true or false, got '" +
                       e->value + "'",
                   e->column};
  return def;
}

std::string PassOptions::takeString(StringRef key, StringRef def) {
  Entry *e = find(key);
  if (!e)
    return def.str();
  e->consumed = true;
  if (!e->hasValue && !bad_)
    bad_ = Problem{"option '" + e->key + "' expects a value", e->column};
  return e->value;
}

std::optional<PassOptions::Problem>
PassOptions::problem(StringRef passName) const {
  if (bad_)
    return Problem{bad_->message + " (pass '" + passName.str() + "')",
                   bad_->column};
  for (const Entry &e : entries_)
    if (!e.consumed)
      return Problem{"unknown option '" + e.key + "' for pass '" +
                         passName.str() + "'",
                     e.column};
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// PassManager
//===----------------------------------------------------------------------===//

bool PassManager::apply(const PassRunInfo &info,
                        llvm::function_ref<PreservedAnalyses()> body) {
  for (PassInstrumentation *pi : instr_)
    if (!pi->shouldRun(info)) {
      for (PassInstrumentation *q : instr_)
        q->passSkipped(info);
      return true;
    }
  for (PassInstrumentation *pi : instr_)
    pi->beforePass(info);
  PreservedAnalyses pa = body();
  bool keepGoing = true;
  // Every hook sees the application even when an earlier one wants to stop,
  // so that e.g. a dump still shows the IR the verifier rejected.
  for (PassInstrumentation *pi : instr_)
    keepGoing &= pi->afterPass(info, pa);
  return keepGoing;
}

bool PassManager::runFunctionPass(FunctionPass &fp, Function &f, AnalysisManager &am,
                                  unsigned index, unsigned pos) {
  PassRunInfo info{fp, *f.parent(), &f, index, pos};
  return apply(info, [&] {
    PreservedAnalyses pa = fp.run(f, am);
    am.invalidate(f, pa);
    return pa;
  });
}

bool PassManager::run(Module &m, AnalysisManager &am) {
  unsigned index = 0;

  // A function pass only reads and writes its own function, so a run of
  // consecutive function passes gives the same IR whether it goes pass by
  // pass over all functions or function by function through all passes. The
  // second order is much faster on large modules (each function stays in the
  // cache for the whole run instead of being fetched from memory once per
  // pass), but hooks that print, verify or count applications observe the
  // order, so it is used only when every hook is order-blind (such as the
  // crash reproducer, which just remembers the application in flight).
  // Application indices
  // stay those of the pass-by-pass order either way, so a crash message's
  // "application #N" still matches --bisect-limit.
  const bool functionMajor = llvm::none_of(
      instr_, [](const PassInstrumentation *pi) { return pi->observesOrder(); });

  for (unsigned pos = 0; pos < passes_.size(); ++pos) {
    Pass &p = *passes_[pos];
    if (p.kind() == Pass::Kind::Module) {
      auto &mp = static_cast<ModulePass &>(p);
      PassRunInfo info{p, m, nullptr, index++, pos};
      if (!apply(info, [&] {
            PreservedAnalyses pa = mp.run(m, am);
            am.invalidateAll(pa);
            return pa;
          }))
        return false;
      continue;
    }
    if (!functionMajor) {
      auto &fp = static_cast<FunctionPass &>(p);
      for (Function &f : m.functions())
        if (!f.isDeclaration() && !runFunctionPass(fp, f, am, index++, pos))
          return false;
      continue;
    }
    // [pos, end): the run of function passes starting here.
    unsigned end = pos + 1;
    while (end < passes_.size() && passes_[end]->kind() == Pass::Kind::Function)
      ++end;
    unsigned numBodies = 0;
    for (const Function &f : m.functions())
      numBodies += !f.isDeclaration();
    // Function passes neither add nor erase functions, so numbering the
    // bodies once keeps the pass-by-pass indices.
    unsigned k = 0;
    for (Function &f : m.functions()) {
      if (f.isDeclaration())
        continue;
      for (unsigned q = pos; q < end; ++q)
        if (!runFunctionPass(static_cast<FunctionPass &>(*passes_[q]), f, am,
                             index + (q - pos) * numBodies + k, q))
          return false;
      ++k;
    }
    index += (end - pos) * numBodies;
    pos = end - 1;
  }
  return true;
}

bool PassManager::run(Module &m) {
  AnalysisManager am;
  return run(m, am);
}

bool PassManager::onlyFunctionPasses() const {
  return llvm::all_of(passes_, [](const std::unique_ptr<Pass> &p) {
    return p->kind() == Pass::Kind::Function;
  });
}

bool PassManager::runOnFunction(Function &f, AnalysisManager &am, unsigned bodyIndex,
                                unsigned numBodies) {
  assert(onlyFunctionPasses() && "runOnFunction needs a pipeline of function passes");
  // Application numbers are those of run()'s pass-by-pass order.
  for (unsigned pos = 0; pos < passes_.size(); ++pos)
    if (!runFunctionPass(static_cast<FunctionPass &>(*passes_[pos]), f, am,
                         pos * numBodies + bodyIndex, pos))
      return false;
  return true;
}

void PassManager::printPipeline(raw_ostream &os) const {
  for (size_t i = 0; i < passes_.size(); ++i) {
    if (i)
      os << ',';
    os << passes_[i]->name();
    std::string opts;
    raw_string_ostream s(opts);
    passes_[i]->printOptions(s);
    if (!opts.empty())
      os << '<' << opts << '>';
  }
}

//===----------------------------------------------------------------------===//
// Pipeline parser
//===----------------------------------------------------------------------===//

namespace {

class PipelineParser {
public:
  PipelineParser(StringRef text, const PassRegistry &reg)
      : text_(text), reg_(reg) {}

  Error parse(std::vector<std::unique_ptr<Pass>> &out) {
    skipBlanks();
    if (pos_ == text_.size())
      return Error::success(); // an empty pipeline runs nothing
    unsigned passNo = 1;
    while (true) {
      if (Error e = parsePass(out, passNo++))
        return e;
      skipBlanks();
      if (pos_ == text_.size())
        return Error::success();
      if (text_[pos_] != ',')
        return error(pos_, "expected ',' or the end of the pipeline, found '" +
                               std::string(1, text_[pos_]) + "'");
      ++pos_;
      skipBlanks();
      if (pos_ == text_.size())
        return error(pos_, "expected a pass name after ','");
    }
  }

private:
  static bool isNameChar(char c) {
    return isAlnum(c) || c == '_' || c == '.' || c == '-';
  }
  void skipBlanks() {
    while (pos_ < text_.size() && isSpace(text_[pos_]))
      ++pos_;
  }
  StringRef lexName() {
    size_t start = pos_;
    while (pos_ < text_.size() && isNameChar(text_[pos_]))
      ++pos_;
    return text_.slice(start, pos_);
  }

  Error error(size_t at, const Twine &msg) {
    std::string s;
    raw_string_ostream os(s);
    os << msg << " at column " << at + 1 << " of the pipeline\n  " << text_
       << "\n  " << std::string(at, ' ') << '^';
    return createStringError(inconvertibleErrorCode(), s);
  }

  std::string suggestion(StringRef name) {
    std::string best;
    unsigned bestDist = 3; // suggest only near misses
    for (const PassInfo *pi : reg_.passes()) {
      unsigned d = StringRef(pi->name).edit_distance(name, true, bestDist);
      if (d < bestDist) {
        bestDist = d;
        best = pi->name;
      }
    }
    return best.empty() ? "" : " (did you mean '" + best + "'?)";
  }

  Error parsePass(std::vector<std::unique_ptr<Pass>> &out, unsigned passNo) {
    size_t nameAt = pos_;
    StringRef name = lexName();
    if (name.empty())
      return error(nameAt, "expected a pass name, found '" +
                               std::string(1, text_[nameAt]) + "'");
    const PassInfo *info = reg_.lookup(name);
    if (!info)
      return error(nameAt, "unknown pass '" + name + "' (pass #" +
                               Twine(passNo) + ") in pipeline" +
                               suggestion(name));
    PassOptions opts;
    skipBlanks();
    if (pos_ < text_.size() && text_[pos_] == '<') {
      size_t open = pos_++;
      if (Error e = parseOptions(opts, name, open))
        return e;
    }
    std::unique_ptr<Pass> p = info->factory(opts);
    if (auto problem = opts.problem(name))
      return error(problem->column ? problem->column - 1 : nameAt,
                   problem->message);
    out.push_back(std::move(p));
    return Error::success();
  }

  Error parseOptions(PassOptions &opts, StringRef passName, size_t open) {
    while (true) {
      skipBlanks();
      if (pos_ == text_.size())
        return error(open, "missing '>' to close the options of pass '" +
                               passName + "'");
      size_t keyAt = pos_;
      StringRef key = lexName();
      if (key.empty())
        return error(keyAt, "expected an option name for pass '" + passName +
                                "', found '" + std::string(1, text_[keyAt]) +
                                "'");
      if (opts.has(key))
        return error(keyAt, "option '" + key + "' given twice for pass '" +
                                passName + "'");
      skipBlanks();
      std::optional<StringRef> value;
      if (pos_ < text_.size() && text_[pos_] == '=') {
        size_t start = ++pos_;
        while (pos_ < text_.size() && text_[pos_] != ';' && text_[pos_] != '>' &&
               text_[pos_] != ',')
          ++pos_;
        value = text_.slice(start, pos_).trim();
      }
      opts.add(key, value, keyAt + 1);
      if (pos_ == text_.size())
        return error(open, "missing '>' to close the options of pass '" +
                               passName + "'");
      char c = text_[pos_++];
      if (c == '>')
        return Error::success();
      if (c != ';')
        return error(pos_ - 1, "expected ';' or '>' after option '" + key +
                                   "' of pass '" + passName + "'");
    }
  }

  StringRef text_;
  const PassRegistry &reg_;
  size_t pos_ = 0;
};

} // namespace

Error parsePassPipeline(PassManager &pm, StringRef text,
                        const PassRegistry &registry) {
  std::vector<std::unique_ptr<Pass>> passes;
  if (Error e = PipelineParser(text, registry).parse(passes))
    return e;
  for (auto &p : passes)
    pm.addPass(std::move(p));
  return Error::success();
}

} // namespace qmir
