// The pass-debugging instrumentations of mir-opt (see DebugInstrumentation.h):
// a Myers line diff, per-application snapshots feeding --dump-changed,
// --dump-dir, --dump-html, --dump-dot, --time-passes and --stats, bisection,
// and crash/invalid-IR reproducers.
#include "passes/DebugInstrumentation.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <set>

using namespace llvm;

namespace qmir {

//===----------------------------------------------------------------------===//
// Line diff
//===----------------------------------------------------------------------===//

std::vector<StringRef> splitLines(StringRef text) {
  std::vector<StringRef> lines;
  while (!text.empty()) {
    auto [line, rest] = text.split('\n');
    lines.push_back(line);
    text = rest;
  }
  return lines;
}

// Beyond this many edits the trace of Myers' algorithm (quadratic in the
// number of edits) gets too big; the rest of the text is then shown as
// replaced wholesale, which is still a correct diff, just not a minimal one.
static constexpr int kMaxEdits = 4000;

std::vector<DiffLine> diffLines(ArrayRef<StringRef> a, ArrayRef<StringRef> b) {
  std::vector<DiffLine> out;
  // A pass usually changes a few lines in the middle of a function: peeling
  // the common prefix and suffix first keeps the quadratic part small.
  size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre])
    ++pre;
  size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre &&
         a[a.size() - 1 - suf] == b[b.size() - 1 - suf])
    ++suf;
  for (size_t i = 0; i < pre; ++i)
    out.push_back({DiffLine::Same, a[i], unsigned(i + 1), unsigned(i + 1)});

  ArrayRef<StringRef> A = a.slice(pre, a.size() - pre - suf);
  ArrayRef<StringRef> B = b.slice(pre, b.size() - pre - suf);
  const int N = A.size(), M = B.size();
  // Edit script of the middle part, built backwards.
  std::vector<DiffLine> mid;
  auto same = [&](int x, int y) {
    mid.push_back({DiffLine::Same, A[x], unsigned(pre + x + 1), unsigned(pre + y + 1)});
  };
  auto removed = [&](int x) {
    mid.push_back({DiffLine::Removed, A[x], unsigned(pre + x + 1), 0});
  };
  auto added = [&](int y) {
    mid.push_back({DiffLine::Added, B[y], 0, unsigned(pre + y + 1)});
  };

  const int max = N + M;
  const int offset = max + 1;
  std::vector<int> V(2 * max + 3, 0);
  // trace[d] holds V[-d-1 .. d+1] as it was before round d.
  std::vector<std::vector<int>> trace;
  int D = -1;
  for (int d = 0; d <= max && d <= kMaxEdits; ++d) {
    trace.emplace_back(V.begin() + offset - d - 1, V.begin() + offset + d + 2);
    for (int k = -d; k <= d; k += 2) {
      int x = (k == -d || (k != d && V[offset + k - 1] < V[offset + k + 1]))
                  ? V[offset + k + 1]
                  : V[offset + k - 1] + 1;
      int y = x - k;
      while (x < N && y < M && A[x] == B[y])
        ++x, ++y;
      V[offset + k] = x;
      if (x >= N && y >= M) {
        D = d;
        break;
      }
    }
    if (D >= 0)
      break;
  }

  if (D < 0) {
    for (int y = M - 1; y >= 0; --y)
      added(y);
    for (int x = N - 1; x >= 0; --x)
      removed(x);
  } else {
    int x = N, y = M;
    for (int d = D; d > 0; --d) {
      const std::vector<int> &t = trace[d];
      auto at = [&](int k) { return t[k + d + 1]; };
      int k = x - y;
      int prevK = (k == -d || (k != d && at(k - 1) < at(k + 1))) ? k + 1 : k - 1;
      int prevX = at(prevK);
      int prevY = prevX - prevK;
      // The snake after the edit, then the edit itself.
      int startX = prevK == k + 1 ? prevX : prevX + 1;
      while (x > startX) {
        --x, --y;
        same(x, y);
      }
      if (prevK == k + 1)
        added(prevY);
      else
        removed(prevX);
      x = prevX;
      y = prevY;
    }
    while (x > 0 && y > 0) {
      --x, --y;
      same(x, y);
    }
  }
  out.insert(out.end(), mid.rbegin(), mid.rend());
  for (size_t i = 0; i < suf; ++i) {
    size_t ai = a.size() - suf + i, bi = b.size() - suf + i;
    out.push_back({DiffLine::Same, a[ai], unsigned(ai + 1), unsigned(bi + 1)});
  }
  return out;
}

void printUnifiedDiff(raw_ostream &os, ArrayRef<DiffLine> diff, StringRef fromLabel,
                      StringRef toLabel, unsigned context, ColorMode color) {
  WithColor(os, raw_ostream::SAVEDCOLOR, /*Bold=*/true, false, color).get()
      << "--- " << fromLabel;
  os << '\n';
  WithColor(os, raw_ostream::SAVEDCOLOR, /*Bold=*/true, false, color).get()
      << "+++ " << toLabel;
  os << '\n';
  const size_t n = diff.size();
  size_t i = 0;
  // Lines of each text before entry i, for the hunk headers.
  unsigned oldBefore = 0, newBefore = 0;
  auto advance = [&](size_t from, size_t to) {
    for (size_t j = from; j < to; ++j) {
      oldBefore += diff[j].kind != DiffLine::Added;
      newBefore += diff[j].kind != DiffLine::Removed;
    }
  };
  while (true) {
    size_t change = i;
    while (change < n && diff[change].kind == DiffLine::Same)
      ++change;
    if (change == n)
      return;
    size_t start = change >= i + context ? change - context : i;
    // Extend the hunk while the next change is close enough that the two
    // contexts would touch.
    size_t end = change;
    while (true) {
      while (end < n && diff[end].kind != DiffLine::Same)
        ++end;
      size_t next = end;
      while (next < n && diff[next].kind == DiffLine::Same)
        ++next;
      if (next < n && next - end <= 2 * context) {
        end = next;
        continue;
      }
      end = std::min(n, end + context);
      break;
    }
    advance(i, start);
    unsigned oldCount = 0, newCount = 0;
    for (size_t j = start; j < end; ++j) {
      oldCount += diff[j].kind != DiffLine::Added;
      newCount += diff[j].kind != DiffLine::Removed;
    }
    // diff -u numbers an empty range by the line before it.
    unsigned oldStart = oldBefore + (oldCount ? 1 : 0);
    unsigned newStart = newBefore + (newCount ? 1 : 0);
    WithColor(os, raw_ostream::CYAN, false, false, color).get()
        << "@@ -" << oldStart << ',' << oldCount << " +" << newStart << ','
        << newCount << " @@";
    os << '\n';
    for (size_t j = start; j < end; ++j) {
      switch (diff[j].kind) {
      case DiffLine::Same:
        os << ' ' << diff[j].text << '\n';
        break;
      case DiffLine::Removed:
        WithColor(os, raw_ostream::RED, false, false, color).get() << '-' << diff[j].text;
        os << '\n';
        break;
      case DiffLine::Added:
        WithColor(os, raw_ostream::GREEN, false, false, color).get() << '+' << diff[j].text;
        os << '\n';
        break;
      }
    }
    advance(start, end);
    i = end;
  }
}

std::pair<unsigned, unsigned> countChangedInstructions(ArrayRef<DiffLine> diff) {
  unsigned removed = 0, added = 0;
  for (const DiffLine &l : diff)
    if (l.text.starts_with(" ")) {
      removed += l.kind == DiffLine::Removed;
      added += l.kind == DiffLine::Added;
    }
  return {removed, added};
}

//===----------------------------------------------------------------------===//
// FunctionFilter
//===----------------------------------------------------------------------===//

static bool isGlob(StringRef s) { return s.find_first_of("*?[{\\") != StringRef::npos; }

Error FunctionFilter::add(StringRef pattern) {
  Entry e;
  if (pattern.starts_with("@"))
    pattern = pattern.drop_front();
  e.text = pattern.str();
  if (isGlob(pattern)) {
    Expected<GlobPattern> g = GlobPattern::create(pattern);
    if (!g)
      return createStringError(inconvertibleErrorCode(),
                               "bad function pattern '" + pattern + "': " +
                                   toString(g.takeError()));
    e.glob.emplace(std::move(*g));
  }
  patterns_.push_back(std::move(e));
  return Error::success();
}

bool FunctionFilter::matches(StringRef name) const {
  if (patterns_.empty())
    return true;
  for (const Entry &e : patterns_)
    if (e.glob ? e.glob->match(name) : e.text == name)
      return true;
  return false;
}

std::vector<std::string> FunctionFilter::unmatched(ArrayRef<StringRef> names) const {
  std::vector<std::string> out;
  for (const Entry &e : patterns_)
    if (std::none_of(names.begin(), names.end(), [&](StringRef n) {
          return e.glob ? e.glob->match(n) : e.text == n;
        }))
      out.push_back(e.text);
  return out;
}

//===----------------------------------------------------------------------===//
// DOT and HTML
//===----------------------------------------------------------------------===//

/// The printed blocks of a printed function: for each block (in order) the
/// range [begin, end) of its lines, the label line included.
static std::vector<std::pair<size_t, size_t>> blockLines(ArrayRef<StringRef> lines) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    if (lines[i].empty() || lines[i].starts_with(" "))
      continue;
    if (!out.empty())
      out.back().second = i;
    out.push_back({i, i + 1});
  }
  if (!out.empty())
    out.back().second = lines.size() - 1; // up to the closing brace
  return out;
}

static void printDotEscaped(raw_ostream &os, StringRef s) {
  for (char c : s) {
    if (c == '"' || c == '\\')
      os << '\\';
    os << c;
  }
}

void printFunctionDot(raw_ostream &os, const Function &f, const PrintOptions &opts) {
  std::string text = functionToString(f, opts);
  std::vector<StringRef> lines = splitLines(text);
  std::vector<std::pair<size_t, size_t>> ranges = blockLines(lines);
  os << "digraph \"";
  printDotEscaped(os, "@" + f.name().str());
  os << "\" {\n  label=\"";
  printDotEscaped(os, "@" + f.name().str());
  os << "\";\n  labelloc=t;\n"
     << "  node [shape=box, fontname=\"monospace\", fontsize=10];\n";
  DenseMap<const Block *, unsigned> ids;
  unsigned n = 0;
  for (const Block &b : f.blocks())
    ids[&b] = n++;
  n = 0;
  for (const Block &b : f.blocks()) {
    (void)b;
    os << "  b" << n << " [label=\"";
    if (n < ranges.size())
      for (size_t l = ranges[n].first; l < ranges[n].second; ++l) {
        // \l left-justifies each line, so the instructions line up.
        printDotEscaped(os, lines[l]);
        os << "\\l";
      }
    os << "\"];\n";
    ++n;
  }
  for (const Block &b : f.blocks()) {
    const Instruction *t = b.terminator();
    if (!t)
      continue;
    for (unsigned s = 0; s < t->numSuccessors(); ++s) {
      const Block *to = t->successor(s);
      if (!to || !ids.count(to))
        continue;
      os << "  b" << ids[&b] << " -> b" << ids[to];
      if (t->opcode() == Opcode::CondBr)
        os << " [label=\"" << (s == 0 ? 'T' : 'F') << "\"]";
      os << ";\n";
    }
  }
  os << "}\n";
}

static void printHTMLEscaped(raw_ostream &os, StringRef s) {
  for (char c : s) {
    switch (c) {
    case '<': os << "&lt;"; break;
    case '>': os << "&gt;"; break;
    case '&': os << "&amp;"; break;
    case '"': os << "&quot;"; break;
    default: os << c;
    }
  }
}

static bool isIdentStart(char c) { return isAlpha(c) || c == '_'; }
static bool isIdentChar(char c) { return isAlnum(c) || c == '_' || c == '.'; }

/// One line of MIR with values and block labels wrapped in clickable spans.
/// Block names are recognised as identifiers that label a block of the same
/// column, outside strings and not after '@' or '%'.
static void printHTMLLine(raw_ostream &os, StringRef line, const std::set<std::string> &labels) {
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == '"') { // a string literal: copy through the closing quote
      size_t j = i + 1;
      while (j < line.size() && line[j] != '"')
        j += line[j] == '\\' ? 2 : 1;
      j = std::min(line.size(), j + 1);
      printHTMLEscaped(os, line.slice(i, j));
      i = j;
      continue;
    }
    if (c == ';') { // a comment runs to the end of the line
      printHTMLEscaped(os, line.substr(i));
      return;
    }
    if (c == '%' && i + 1 < line.size() && isIdentChar(line[i + 1])) {
      size_t j = i + 1;
      while (j < line.size() && isIdentChar(line[j]))
        ++j;
      // A trailing '.' belongs to the surrounding text, not the name.
      StringRef v = line.slice(i, j);
      os << "<span class=\"v\" data-v=\"";
      printHTMLEscaped(os, v);
      os << "\">";
      printHTMLEscaped(os, v);
      os << "</span>";
      i = j;
      continue;
    }
    if (isIdentStart(c) && (i == 0 || (line[i - 1] != '@' && line[i - 1] != '#' &&
                                       !isIdentChar(line[i - 1])))) {
      size_t j = i;
      while (j < line.size() && isIdentChar(line[j]))
        ++j;
      StringRef w = line.slice(i, j);
      if (labels.count(w.str())) {
        os << "<span class=\"b\" data-b=\"";
        printHTMLEscaped(os, w);
        os << "\">";
        printHTMLEscaped(os, w);
        os << "</span>";
      } else {
        printHTMLEscaped(os, w);
      }
      i = j;
      continue;
    }
    printHTMLEscaped(os, line.substr(i, 1));
    ++i;
  }
}

static const char *kHTMLStyle = R"css(
body { font-family: sans-serif; margin: 8px; background: #fafafa; }
h1 { font-size: 18px; margin: 4px 0; }
p.help { font-size: 12px; color: #555; margin: 2px 0 8px 0; }
#columns { display: flex; align-items: flex-start; gap: 6px; overflow-x: auto; }
.column { border: 1px solid #bbb; background: white; flex: none; max-width: 60em; }
.column > h2 { font-size: 12px; margin: 0; padding: 4px 6px; background: #e4e4ee;
  cursor: pointer; white-space: nowrap; }
.column.unchanged > h2 { background: #eee; color: #777; }
.column.folded > pre { display: none; }
.column.folded > h2 { writing-mode: vertical-rl; }
pre { margin: 0; padding: 4px 6px; font-size: 12px; line-height: 1.35; }
.line.changed { background: #fff3b0; }
.removed { font-size: 11px; color: #a00; padding: 0 6px; }
.v, .b { cursor: pointer; border-radius: 2px; }
.v:hover, .b:hover { outline: 1px solid #88a; }
.sel0 { background: #ffb3b3; } .sel1 { background: #b3d9ff; }
.sel2 { background: #b3ffb8; } .sel3 { background: #e6b3ff; }
)css";

// Clicking a value or a block highlights it in every column (four colours in
// turn, so that several can be followed at once; a second click clears it).
// Clicking a column's title folds it. The script sets data-columns on <body>
// so that a headless browser's DOM dump shows that it ran.
static const char *kHTMLScript = R"js(
(function () {
  var next = 0;
  function all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  document.addEventListener('click', function (e) {
    var t = e.target.closest('[data-v],[data-b]');
    if (t) {
      var key = t.hasAttribute('data-v') ? 'data-v' : 'data-b';
      var sel = '[' + key + '="' + CSS.escape(t.getAttribute(key)) + '"]';
      var old = t.getAttribute('data-sel');
      all(sel).forEach(function (x) {
        if (old !== null) { x.classList.remove('sel' + old); x.removeAttribute('data-sel'); }
        else { x.classList.add('sel' + next); x.setAttribute('data-sel', next); }
      });
      if (old === null) next = (next + 1) % 4;
      return;
    }
    var h = e.target.closest('.column > h2');
    if (h) h.parentElement.classList.toggle('folded');
  });
  document.body.setAttribute('data-columns', all('.column').length);
})();
)js";

void printFunctionHTML(raw_ostream &os, StringRef fnName, ArrayRef<HTMLColumn> columns) {
  os << "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>@";
  printHTMLEscaped(os, fnName);
  os << " - mir-opt passes</title>\n<style>" << kHTMLStyle << "</style>\n</head>\n<body>\n<h1>@";
  printHTMLEscaped(os, fnName);
  os << "</h1>\n<p class=\"help\">The function after each pass application, left to "
        "right. Highlighted lines are the ones the pass changed. Click a value or a "
        "block to highlight it in every column; click a column's title to fold or "
        "unfold it (passes that changed nothing start folded).</p>\n"
        "<div id=\"columns\">\n";
  std::vector<StringRef> prev;
  for (size_t c = 0; c < columns.size(); ++c) {
    const HTMLColumn &col = columns[c];
    std::vector<StringRef> lines = splitLines(col.text);
    std::vector<DiffLine> diff;
    if (c > 0)
      diff = diffLines(prev, lines);
    std::vector<bool> changed(lines.size(), false);
    unsigned removed = 0;
    for (const DiffLine &d : diff) {
      if (d.kind == DiffLine::Added)
        changed[d.newLine - 1] = true;
      removed += d.kind == DiffLine::Removed;
    }
    std::set<std::string> labels;
    for (StringRef l : lines)
      if (!l.empty() && isIdentStart(l[0]) && !l.starts_with("fn ") &&
          !l.starts_with("declare ")) {
        size_t j = 0;
        while (j < l.size() && isIdentChar(l[j]))
          ++j;
        if (j < l.size() && (l[j] == ':' || l[j] == '('))
          labels.insert(l.take_front(j).str());
      }
    bool unchanged = c > 0 && !col.changed;
    os << "<div class=\"column" << (unchanged ? " unchanged folded" : "")
       << "\" data-index=\"" << c << "\">\n<h2 title=\"";
    printHTMLEscaped(os, col.title);
    os << "\">";
    printHTMLEscaped(os, col.title);
    if (unchanged)
      os << " (no change)";
    os << "</h2>\n";
    if (removed)
      os << "<div class=\"removed\">" << removed << " line" << (removed == 1 ? "" : "s")
         << " removed</div>\n";
    os << "<pre>";
    for (size_t l = 0; l < lines.size(); ++l) {
      os << "<span class=\"line" << (changed[l] ? " changed" : "") << "\">";
      printHTMLLine(os, lines[l], labels);
      os << "</span>\n";
    }
    os << "</pre>\n</div>\n";
    prev = std::move(lines);
  }
  os << "</div>\n<script>" << kHTMLScript << "</script>\n</body>\n</html>\n";
}

//===----------------------------------------------------------------------===//
// DebugInstrumentation
//===----------------------------------------------------------------------===//

struct DebugInstrumentation::Page {
  std::string unit, function;
  std::vector<HTMLColumn> columns;
};

struct DebugInstrumentation::PassTotals {
  std::string name;
  double seconds = 0;
  unsigned runs = 0, changed = 0;
  uint64_t instsRemoved = 0, instsAdded = 0;
  int64_t blockDelta = 0;
};

class DebugInstrumentation::StopClock : public PassInstrumentation {
public:
  explicit StopClock(std::chrono::steady_clock::time_point &stop) : stop_(stop) {}
  bool afterPass(const PassRunInfo &, const PreservedAnalyses &) override {
    stop_ = std::chrono::steady_clock::now();
    return true;
  }

private:
  std::chrono::steady_clock::time_point &stop_;
};

DebugInstrumentation::DebugInstrumentation(raw_ostream &dumps, DebugDumpOptions opts)
    : os_(dumps), opts_(std::move(opts)),
      stopClock_(std::make_unique<StopClock>(stop_)) {}

DebugInstrumentation::~DebugInstrumentation() = default;

bool DebugInstrumentation::wantsFunction(StringRef name) const {
  return opts_.functions.matches(name);
}

bool DebugInstrumentation::needsSnapshots() const {
  return opts_.dumpChanged || !opts_.dumpDir.empty() || !opts_.htmlFile.empty() ||
         opts_.timePasses || opts_.stats;
}

/// A function name made safe for a file name.
static std::string fileSafe(StringRef s) {
  std::string out;
  for (char c : s)
    out += (isAlnum(c) || c == '_' || c == '.' || c == '-') ? c : '_';
  return out.empty() ? "_" : out;
}

std::string DebugInstrumentation::fileStem(unsigned number, StringRef pass,
                                           StringRef fn) const {
  std::string s;
  raw_string_ostream os(s);
  if (!unit_.empty())
    os << unit_ << '.';
  os << format("%03u", number) << '-' << fileSafe(pass) << '-' << fileSafe(fn);
  return s;
}

void DebugInstrumentation::writeFile(const std::string &path, StringRef text) {
  std::error_code ec;
  raw_fd_ostream f(path, ec, sys::fs::OF_Text);
  if (!ec) {
    f << text;
    f.close();
    ec = f.error();
  }
  if (ec) {
    if (ok_)
      WithColor::error(os_, "mir-opt") << "cannot write '" << path << "': " << ec.message()
                                       << '\n';
    ok_ = false;
    f.clear_error();
  }
}

void DebugInstrumentation::writeDot(const Function &f, const std::string &path) {
  std::string s;
  raw_string_ostream os(s);
  printFunctionDot(os, f, opts_.print);
  writeFile(path, s);
}

DebugInstrumentation::Page &DebugInstrumentation::page(StringRef fn) {
  for (auto &p : pages_)
    if (p->unit == unit_ && p->function == fn)
      return *p;
  pages_.push_back(std::make_unique<Page>());
  pages_.back()->unit = unit_;
  pages_.back()->function = fn.str();
  return *pages_.back();
}

DebugInstrumentation::PassTotals &DebugInstrumentation::totals(StringRef pass) {
  PassTotals *&t = totalsByName_[pass];
  if (!t) {
    totals_.push_back(std::make_unique<PassTotals>());
    t = totals_.back().get();
    t->name = pass.str();
  }
  return *t;
}

void DebugInstrumentation::countModule(const Module &m, bool after) {
  uint64_t fns = 0, blocks = 0, insts = 0;
  for (const Function &f : m.functions()) {
    if (f.isDeclaration())
      continue;
    ++fns;
    blocks += std::distance(f.blocks().begin(), f.blocks().end());
    insts += f.instructionCount();
  }
  (after ? fnsAfter_ : fnsBefore_) += fns;
  (after ? blocksAfter_ : blocksBefore_) += blocks;
  (after ? instsAfter_ : instsBefore_) += insts;
}

void DebugInstrumentation::beginModule(Module &m, StringRef unit) {
  unit_ = unit.str();
  countModule(m, /*after=*/false);
  if (!opts_.dumpDir.empty() || !opts_.htmlFile.empty() ||
      (!opts_.dotDir.empty() && opts_.dotEachPass)) {
    std::string moduleText = opts_.moduleScope ? moduleToString(m, opts_.print) : "";
    for (const Function &f : m.functions()) {
      if (f.isDeclaration() || !wantsFunction(f.name()))
        continue;
      std::string text = functionToString(f, opts_.print);
      if (!opts_.dumpDir.empty())
        writeFile(opts_.dumpDir + "/" + fileStem(0, "input", f.name()) + ".mir",
                  opts_.moduleScope ? moduleText : text);
      if (!opts_.htmlFile.empty())
        page(f.name()).columns.push_back({"input", text, true});
      if (!opts_.dotDir.empty() && opts_.dotEachPass)
        writeDot(f, opts_.dotDir + "/" + fileStem(0, "input", f.name()) + ".dot");
    }
  }
}

void DebugInstrumentation::endModule(Module &m) {
  countModule(m, /*after=*/true);
  // Without --dump-dot-each-pass, --dump-dot shows the CFG the pipeline
  // produced.
  if (!opts_.dotDir.empty() && !opts_.dotEachPass)
    for (const Function &f : m.functions())
      if (!f.isDeclaration() && wantsFunction(f.name()))
        writeDot(f, opts_.dotDir + "/" + (unit_.empty() ? "" : unit_ + ".") +
                        fileSafe(f.name()) + ".dot");
}

void DebugInstrumentation::beforePass(const PassRunInfo &info) {
  before_.clear();
  moduleBefore_.clear();
  if (needsSnapshots()) {
    if (info.function) {
      // --time-passes and --stats count every function; dumps only the
      // wanted ones, but the snapshot is the same.
      if (wantsFunction(info.function->name()) || opts_.timePasses || opts_.stats)
        before_[info.function->name().str()] = functionToString(*info.function, opts_.print);
    } else {
      for (const Function &f : info.module.functions())
        if (!f.isDeclaration())
          before_[f.name().str()] = functionToString(f, opts_.print);
    }
    if (opts_.moduleScope && (opts_.dumpChanged || !opts_.dumpDir.empty()))
      moduleBefore_ = moduleToString(info.module, opts_.print);
  }
  // Last thing before the pass runs: start the clock.
  start_ = std::chrono::steady_clock::now();
}

bool DebugInstrumentation::afterPass(const PassRunInfo &info, const PreservedAnalyses &) {
  double seconds = std::chrono::duration<double>(stop_ - start_).count();
  if (stop_ < start_) // StopClock not registered: time up to here
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();

  // The functions this application touched, with their text before and after
  // ("" for a function that did not exist).
  struct Touched {
    std::string name, before, after;
    const Function *f = nullptr;
  };
  std::vector<Touched> touched;
  if (info.function) {
    auto it = before_.find(info.function->name().str());
    touched.push_back({info.function->name().str(),
                       it == before_.end() ? "" : it->second, "", info.function});
  } else {
    std::set<std::string> seen;
    for (const Function &f : info.module.functions()) {
      if (f.isDeclaration())
        continue;
      auto it = before_.find(f.name().str());
      touched.push_back({f.name().str(), it == before_.end() ? "" : it->second, "", &f});
      seen.insert(f.name().str());
    }
    for (auto &[name, text] : before_) // functions the pass deleted
      if (!seen.count(name))
        touched.push_back({name, text, "", nullptr});
  }
  // Only functions with a snapshot (or all, after a module pass) are
  // compared; the others are neither dumped nor counted.
  if (needsSnapshots())
    for (Touched &t : touched)
      if (t.f && (!info.function || before_.count(t.name)))
        t.after = functionToString(*t.f, opts_.print);

  bool anyChanged = false;
  unsigned removedInsts = 0, addedInsts = 0;
  for (Touched &t : touched) {
    if (t.before == t.after)
      continue;
    anyChanged = true;
    std::vector<StringRef> a = splitLines(t.before), b = splitLines(t.after);
    auto [r, ad] = countChangedInstructions(diffLines(a, b));
    removedInsts += r;
    addedInsts += ad;
  }

  if (opts_.timePasses || opts_.stats) {
    PassTotals &pt = totals(info.passName());
    pt.seconds += seconds;
    ++pt.runs;
    pt.changed += anyChanged;
    pt.instsRemoved += removedInsts;
    pt.instsAdded += addedInsts;
    int64_t blocksBefore = 0, blocksAfter = 0;
    for (Touched &t : touched) {
      for (StringRef l : splitLines(t.before))
        blocksBefore += !l.empty() && !l.starts_with(" ") && !l.starts_with("fn ") && l != "}";
      for (StringRef l : splitLines(t.after))
        blocksAfter += !l.empty() && !l.starts_with(" ") && !l.starts_with("fn ") && l != "}";
    }
    pt.blockDelta += blocksAfter - blocksBefore;
  }

  std::string where = info.function ? "@" + info.function->name().str() : "[module]";
  std::string moduleAfter;
  if (opts_.moduleScope && (opts_.dumpChanged || !opts_.dumpDir.empty()))
    moduleAfter = moduleToString(info.module, opts_.print);

  bool touchesWanted = false;
  for (Touched &t : touched)
    touchesWanted |= wantsFunction(t.name);

  if (opts_.dumpChanged && touchesWanted) {
    auto header = [&](StringRef what) {
      WithColor(os_, raw_ostream::SAVEDCOLOR, /*Bold=*/true, false, opts_.color).get()
          << "*** IR Dump After " << info.passName() << " on " << what << " ***";
      os_ << '\n';
    };
    if (opts_.moduleScope) {
      if (moduleBefore_ != moduleAfter) {
        header(where);
        std::vector<StringRef> a = splitLines(moduleBefore_), b = splitLines(moduleAfter);
        printUnifiedDiff(os_, diffLines(a, b), "before " + info.passName().str(),
                         "after " + info.passName().str(), 3, opts_.color);
      }
    } else {
      for (Touched &t : touched) {
        if (t.before == t.after || !wantsFunction(t.name))
          continue;
        header("@" + t.name + (t.after.empty() ? " (deleted)"
                               : t.before.empty() ? " (new)"
                                                  : ""));
        std::vector<StringRef> a = splitLines(t.before), b = splitLines(t.after);
        printUnifiedDiff(os_, diffLines(a, b), "@" + t.name + " before " + info.passName().str(),
                         "@" + t.name + " after " + info.passName().str(), 3, opts_.color);
      }
    }
    os_.flush();
  }

  if (!opts_.dumpDir.empty()) {
    if (opts_.moduleScope) {
      if (touchesWanted)
        writeFile(opts_.dumpDir + "/" +
                      fileStem(info.index + 1, info.passName(),
                               info.function ? info.function->name() : "module") +
                      ".mir",
                  moduleAfter);
    } else {
      for (Touched &t : touched)
        if (wantsFunction(t.name) && t.f)
          writeFile(opts_.dumpDir + "/" + fileStem(info.index + 1, info.passName(), t.name) +
                        ".mir",
                    t.after);
    }
  }

  if (!opts_.htmlFile.empty())
    for (Touched &t : touched)
      if (wantsFunction(t.name)) {
        std::string title = "#" + std::to_string(info.index) + " " + info.passName().str();
        page(t.name).columns.push_back(
            {title, t.f ? t.after : "; (the pass deleted this function)\n", t.before != t.after});
      }

  if (!opts_.dotDir.empty() && opts_.dotEachPass)
    for (Touched &t : touched)
      if (t.f && wantsFunction(t.name))
        writeDot(*t.f, opts_.dotDir + "/" + fileStem(info.index + 1, info.passName(), t.name) +
                           ".dot");
  return true;
}

bool DebugInstrumentation::finish(raw_ostream &reports) {
  if (!opts_.htmlFile.empty()) {
    // One page per function: the given file when there is one function,
    // else NAME.FUNCTION.html next to it.
    for (auto &p : pages_) {
      std::string path = opts_.htmlFile;
      if (pages_.size() > 1) {
        StringRef ext = sys::path::extension(opts_.htmlFile);
        std::string stem = StringRef(opts_.htmlFile).drop_back(ext.size()).str();
        path = stem + "." + (p->unit.empty() ? "" : p->unit + ".") + fileSafe(p->function) +
               (ext.empty() ? ".html" : ext.str());
      }
      std::string s;
      raw_string_ostream os(s);
      printFunctionHTML(os, p->function, p->columns);
      writeFile(path, s);
    }
  }

  if (opts_.timePasses) {
    double total = 0;
    size_t width = 4;
    for (auto &t : totals_) {
      total += t->seconds;
      width = std::max(width, t->name.size());
    }
    reports << "===" << std::string(73, '-') << "===\n"
            << "                        ... Pass execution timing report ...\n"
            << "===" << std::string(73, '-') << "===\n"
            << "  Total Execution Time: " << format("%.4f", total) << " seconds (wall)\n\n"
            << "   ---Wall Time---    Runs  Changed  -Insts  +Insts  Name\n";
    for (auto &t : totals_)
      reports << format("  %8.4f (%5.1f%%)", t->seconds,
                        total > 0 ? 100.0 * t->seconds / total : 0.0)
              << format("  %6u  %7u  %6llu  %6llu  ", t->runs, t->changed,
                        (unsigned long long)t->instsRemoved,
                        (unsigned long long)t->instsAdded)
              << t->name << '\n';
    reports << format("  %8.4f (100.0%%)", total) << "  Total\n\n";
  }

  if (opts_.stats) {
    struct Stat {
      uint64_t value;
      std::string group, desc;
    };
    std::vector<Stat> stats;
    for (auto &t : totals_) {
      stats.push_back({t->runs, t->name, "Number of pass applications"});
      stats.push_back({t->changed, t->name, "Number of applications that changed the IR"});
      stats.push_back({t->instsRemoved, t->name, "Number of instructions removed"});
      stats.push_back({t->instsAdded, t->name, "Number of instructions added"});
      if (t->blockDelta < 0)
        stats.push_back({uint64_t(-t->blockDelta), t->name, "Number of blocks removed (net)"});
      else if (t->blockDelta > 0)
        stats.push_back({uint64_t(t->blockDelta), t->name, "Number of blocks added (net)"});
    }
    stats.push_back({fnsBefore_, "module", "Number of functions with a body before"});
    stats.push_back({fnsAfter_, "module", "Number of functions with a body after"});
    stats.push_back({blocksBefore_, "module", "Number of blocks before"});
    stats.push_back({blocksAfter_, "module", "Number of blocks after"});
    stats.push_back({instsBefore_, "module", "Number of instructions before"});
    stats.push_back({instsAfter_, "module", "Number of instructions after"});
    size_t vw = 1, gw = 1;
    for (Stat &s : stats) {
      vw = std::max(vw, std::to_string(s.value).size());
      gw = std::max(gw, s.group.size());
    }
    reports << "===" << std::string(73, '-') << "===\n"
            << "                          ... Statistics Collected ...\n"
            << "===" << std::string(73, '-') << "===\n\n";
    for (Stat &s : stats)
      reports << right_justify(std::to_string(s.value), vw) << ' ' << left_justify(s.group, gw)
              << " - " << s.desc << '\n';
    reports << '\n';
  }
  reports.flush();
  return ok_;
}

//===----------------------------------------------------------------------===//
// Bisection
//===----------------------------------------------------------------------===//

bool BisectInstrumentation::shouldRun(const PassRunInfo &info) {
  bool run = limit_ < 0 || int64_t(info.index) < limit_;
  os_ << "BISECT: " << (run ? "running" : "NOT running") << " pass (" << info.index << ") "
      << info.passName() << " on ";
  if (info.function)
    os_ << '@' << info.function->name();
  else
    os_ << "[module]";
  os_ << '\n';
  os_.flush();
  return run;
}

//===----------------------------------------------------------------------===//
// Crash reproducers
//===----------------------------------------------------------------------===//

/// The pretty-stack-trace line printed if mir-opt crashes inside a pass; it
/// also writes the reproducer, since nothing runs after a crash.
class CrashReproducer::Entry : public PrettyStackTraceEntry {
public:
  explicit Entry(const CrashReproducer &r) : r_(r) {}
  void print(raw_ostream &os) const override {
    os << "Running pass '" << r_.lastPass_ << "' on " << r_.lastFunction_
       << " (pass application #" << r_.lastIndex_ << ")\n";
    r_.writeReproducer("crashed", os);
  }

private:
  const CrashReproducer &r_;
};

CrashReproducer::CrashReproducer(const PassManager &pm, std::string path, std::string toolName)
    : pm_(pm), path_(std::move(path)), tool_(std::move(toolName)) {}

CrashReproducer::~CrashReproducer() = default;

void CrashReproducer::beginModule(llvm::StringRef inputText) {
  input_ = inputText;
  haveLast_ = false;
}

void CrashReproducer::beforePass(const PassRunInfo &info) {
  haveLast_ = true;
  lastPass_ = info.passName().str();
  lastFunction_ = info.function ? "@" + info.function->name().str() : "[module]";
  lastIndex_ = info.index;
  lastPosition_ = info.position;
  entry_ = std::make_unique<Entry>(*this);
}

bool CrashReproducer::afterPass(const PassRunInfo &, const PreservedAnalyses &) {
  entry_.reset();
  return true;
}

std::string CrashReproducer::pipelineUpTo(unsigned position) const {
  std::string s;
  raw_string_ostream os(s);
  for (unsigned i = 0; i <= position && i < pm_.size(); ++i) {
    if (i)
      os << ',';
    os << pm_.pass(i).name();
    std::string opts;
    raw_string_ostream o(opts);
    pm_.pass(i).printOptions(o);
    if (!opts.empty())
      os << '<' << opts << '>';
  }
  return s;
}

std::string CrashReproducer::writeReproducer(StringRef what, raw_ostream &errs,
                                             bool wholePipeline) const {
  std::string pipeline =
      pipelineUpTo(wholePipeline || !haveLast_ ? unsigned(pm_.size()) - 1 : lastPosition_);
  std::string path = path_;
  if (path.empty()) {
    SmallString<128> tmp;
    sys::path::system_temp_directory(/*ErasedOnReboot=*/true, tmp);
    sys::path::append(tmp, "mir-opt-reproducer-%%%%%%.mir");
    SmallString<128> unique;
    sys::fs::createUniquePath(tmp, unique, /*MakeAbsolute=*/false);
    path = unique.str().str();
  }
  std::error_code ec;
  raw_fd_ostream f(path, ec, sys::fs::OF_Text);
  if (ec) {
    errs << tool_ << ": error: cannot write the reproducer '" << path << "': " << ec.message()
         << '\n';
    return "";
  }
  f << "; Reproducer written by " << tool_ << ": ";
  if (haveLast_ && !wholePipeline)
    f << "pass '" << lastPass_ << "' " << what << " on " << lastFunction_
      << " (pass application #" << lastIndex_ << ").\n";
  else
    f << "the pipeline " << what << ".\n";
  f << "; This is the module before the pipeline; the RUN line runs the pipeline up to\n"
    << "; that pass.\n"
    << "; RUN: " << tool_ << " --verify-each -p '" << pipeline << "' %s\n\n"
    << input_;
  f.close();
  errs << tool_ << ": note: reproducer written to " << path << "\n"
       << tool_ << ": note: reproduce with: " << tool_ << " --verify-each -p '" << pipeline
       << "' " << path << '\n';
  errs.flush();
  return path;
}

} // namespace qmir
