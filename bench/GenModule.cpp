// Benchmark module generator (see GenModule.h). One pass of pseudo-random
// decisions drives an emitter that spells each instruction in MIR or LLVM IR,
// so both outputs describe the same program instruction for instruction.
//
// The program is well defined in both languages: loops run a constant number of
// times, divisors and shift amounts are positive constants below the width, and
// the call graph is acyclic with bounded work per call (only "leaf" functions,
// whose index is a multiple of 8, are called from function bodies, leaves call
// nothing, and no call sits inside a loop). That keeps @main's run time bounded
// and lets `lli` check the result of qmir's interpreter.
#include <algorithm>
#include "GenModule.h"

#include <string_view>
#include <vector>

namespace qmir::bench {

namespace {

// splitmix64: fast, deterministic across platforms, good enough for choices.
class Rng {
public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [lo, hi].
  unsigned range(unsigned lo, unsigned hi) {
    return lo + static_cast<unsigned>(next() % (hi - lo + 1));
  }
  bool chance(unsigned percent) { return next() % 100 < percent; }

private:
  uint64_t s_;
};

class Generator {
public:
  explicit Generator(const GenOptions &o) : o_(o), rng_(o.seed) {}

  GenResult run() {
    GenResult r;
    out_.reserve(o_.instructions * (o_.format == GenFormat::MIR ? 28 : 36));
    header();
    while (count_ < o_.instructions || numFunctions_ == 0)
      function(numFunctions_);
    mainFunction();
    r.instructions = count_;
    r.functions = numFunctions_ + 1;
    r.text = std::move(out_);
    return r;
  }

private:
  bool mir() const { return o_.format == GenFormat::MIR; }

  //===--- text helpers ---------------------------------------------------===//
  void put(std::string_view s) { out_.append(s); }
  void num(uint64_t v) { out_.append(std::to_string(v)); }
  void snum(int64_t v) { out_.append(std::to_string(v)); }
  // prefix + number; spelled out because g++ 12 -O3 warns (-Wrestrict, a
  // false positive) on `"x" + std::to_string(n)`.
  static std::string named(std::string_view prefix, uint64_t n) {
    std::string s(prefix);
    s += std::to_string(n);
    return s;
  }
  std::string tmp() { return named("%t", nextTmp_++); }
  std::string label() { return named("L", nextLabel_++); }
  static std::string fnName(unsigned k) { return named("f", k); }

  // Ends an instruction: MIR may carry a source location.
  void end() {
    ++count_;
    if (mir() && o_.locations) {
      put(" !");
      num(line_);
      put(":");
      // Not drawn from rng_: locations must not change the program.
      num(1 + count_ % 40);
    }
    put("\n");
  }

  //===--- one emitter per instruction kind --------------------------------===//
  void emitAlloca(const std::string &p, unsigned binding) {
    put("  ");
    put(p);
    put(" = alloca i64");
    if (mir() && binding) { // binding 0: a temporary, not a source variable
      put(", bind #");
      num(binding);
    }
    end();
  }
  std::string load(const std::string &p) {
    std::string d = tmp();
    put("  ");
    put(d);
    put(mir() ? " = load i64, " : " = load i64, ptr ");
    put(p);
    end();
    return d;
  }
  void store(const std::string &v, const std::string &p) {
    put("  store i64 ");
    put(v);
    put(mir() ? ", " : ", ptr ");
    put(p);
    end();
  }
  std::string binop(std::string_view op, const std::string &a,
                    const std::string &b) {
    std::string d = tmp();
    put("  ");
    put(d);
    put(" = ");
    put(op);
    put(" i64 ");
    put(a);
    put(", ");
    put(b);
    end();
    return d;
  }
  std::string icmp(std::string_view pred, const std::string &a,
                   const std::string &b) {
    std::string d = tmp();
    put("  ");
    put(d);
    put(" = icmp ");
    put(pred);
    put(" i64 ");
    put(a);
    put(", ");
    put(b);
    end();
    return d;
  }
  void condbr(const std::string &c, const std::string &t, const std::string &f) {
    if (mir()) {
      put("  condbr ");
      put(c);
      put(", ");
      put(t);
      put(", ");
      put(f);
    } else {
      put("  br i1 ");
      put(c);
      put(", label %");
      put(t);
      put(", label %");
      put(f);
    }
    end();
  }
  void br(const std::string &l) {
    put(mir() ? "  br " : "  br label %");
    put(l);
    end();
  }
  void startBlock(const std::string &l) {
    put(l);
    put(":\n");
  }
  std::string call(const std::string &callee, const std::string &a,
                   const std::string &b) {
    std::string d = tmp();
    put("  ");
    put(d);
    if (mir()) {
      put(" = call @");
      put(callee);
      put("(");
      put(a);
      put(", ");
      put(b);
      put(")");
    } else {
      put(" = call i64 @");
      put(callee);
      put("(i64 ");
      put(a);
      put(", i64 ");
      put(b);
      put(")");
    }
    end();
    return d;
  }
  void ret(const std::string &v) {
    put(mir() ? "  ret " : "  ret i64 ");
    put(v);
    end();
  }

  //===--- module structure -----------------------------------------------===//
  void header() {
    if (mir()) {
      put("; Generated by qmir-gen-module: a frontend-style benchmark module.\n");
      put("source \"bench.qz\"\n\n");
    } else {
      put("; Generated by qmir-gen-module --format=ll: the LLVM IR twin of the\n"
          "; frontend-style MIR benchmark module.\n\n");
    }
  }

  std::string constant() { return std::to_string(rng_.range(1, 1000)); }
  const std::string &local() { return locals_[rng_.range(0, locals_.size() - 1)]; }

  // An operand: a local's current value or, sometimes, a constant.
  std::string operand() {
    return rng_.chance(30) ? constant() : load(local());
  }

  // A few operations on locals, ending in a store; includes constant
  // subexpressions (`add i64 3, 4`) and identities that a folder removes.
  void arithmetic(const std::string *extra = nullptr) {
    static constexpr std::string_view ops[] = {"add", "sub", "mul", "xor",
                                               "and", "or"};
    std::string v = load(local());
    unsigned n = rng_.range(1, 4);
    for (unsigned k = 0; k < n; ++k) {
      switch (rng_.range(0, 7)) {
      case 0: { // foldable constant expression
        std::string_view op = ops[rng_.range(0, 2)];
        std::string lhs = constant();
        std::string c = binop(op, lhs, constant());
        v = binop("add", v, c);
        break;
      }
      case 1: // identity
      {
        bool isMul = rng_.chance(50);
        v = binop(isMul ? "mul" : "add", v, isMul ? "1" : "0");
      }
        break;
      case 2:
      {
        std::string_view op = rng_.chance(50) ? "sdiv" : "srem";
        v = binop(op, v, std::to_string(rng_.range(3, 17)));
      }
        break;
      case 3:
      {
        static constexpr std::string_view shifts[] = {"shl", "ashr", "lshr"};
        std::string_view op = shifts[rng_.range(0, 2)];
        v = binop(op, v, std::to_string(rng_.range(1, 13)));
      }
        break;
      case 4:
        if (extra) {
          v = binop("add", v, *extra);
          break;
        }
        [[fallthrough]];
      default: {
        std::string_view op = ops[rng_.range(0, 5)];
        v = binop(op, v, operand());
      }
        break;
      }
    }
    store(v, local());
    ++line_;
  }

  void loop() {
    std::string hdr = label(), body = label(), exit = label();
    store("0", "%i");
    br(hdr);
    startBlock(hdr);
    std::string i = load("%i");
    std::string c = icmp("slt", i, std::to_string(rng_.range(2, 6)));
    condbr(c, body, exit);
    startBlock(body);
    unsigned n = rng_.range(1, 3);
    for (unsigned k = 0; k < n; ++k)
      arithmetic(&i);
    std::string i1 = binop("add", i, "1");
    store(i1, "%i");
    br(hdr);
    startBlock(exit);
    ++line_;
  }

  void ifElse() {
    static constexpr std::string_view preds[] = {"slt", "sgt", "eq", "ne",
                                                 "ule", "sge"};
    std::string then = label(), els = label(), join = label();
    std::string a = load(local());
    std::string_view pred = preds[rng_.range(0, 5)];
    std::string c = icmp(pred, a, operand());
    condbr(c, then, els);
    startBlock(then);
    arithmetic();
    br(join);
    startBlock(els);
    arithmetic();
    br(join);
    startBlock(join);
    ++line_;
  }

  void callLeaf(unsigned self) {
    unsigned callee = 8 * rng_.range(0, (self - 1) / 8);
    std::string a = operand(), b = operand();
    std::string r = call(fnName(callee), a, b);
    store(r, local());
    ++line_;
  }

  void function(unsigned k) {
    const unsigned target =
        k >= 1 && k <= o_.largeFunctions
            ? static_cast<unsigned>(std::max<uint64_t>(450, o_.instructions / 25))
            : rng_.range(150, 450);
    const uint64_t start = count_;
    const bool leaf = k % 8 == 0;
    const unsigned numLocals = rng_.range(3, 8);
    nextTmp_ = 0;
    nextLabel_ = 0;
    line_ = 1;
    locals_.clear();
    for (unsigned j = 0; j < numLocals; ++j)
      locals_.push_back(named("%x", j));

    // Bindings for the locals (and the loop counter), as a frontend records
    // its variables.
    const unsigned firstBinding = nextBinding_;
    if (mir()) {
      for (unsigned j = 0; j <= numLocals; ++j) {
        put("bind #");
        num(nextBinding_++);
        if (j < numLocals) {
          put(" \"x");
          num(j);
          put("\"");
        } else {
          put(" \"i\"");
        }
        put(" scope ");
        num(k + 1);
        put("\n");
      }
      put("fn @");
      put(fnName(k));
      put("(%a: i64, %b: i64) -> i64 {\nentry:\n");
    } else {
      put("define i64 @");
      put(fnName(k));
      put("(i64 %a, i64 %b) {\nentry:\n");
    }
    for (unsigned j = 0; j < numLocals; ++j)
      emitAlloca(locals_[j], firstBinding + j);
    emitAlloca("%i", firstBinding + numLocals);
    store("%a", locals_[0]);
    store("%b", locals_[1]);
    for (unsigned j = 2; j < numLocals; ++j)
      store(constant(), locals_[j]);

    while (count_ - start + 6 < target) {
      unsigned pick = rng_.range(0, 99);
      if (pick < 50)
        arithmetic();
      else if (pick < 70)
        loop();
      else if (pick < 85)
        ifElse();
      else if (!leaf && k > 0)
        callLeaf(k);
      else
        arithmetic();
    }
    std::string r0 = load(locals_[0]);
    std::string r = binop("add", r0, load(locals_[1]));
    ret(r);
    put("}\n\n");
    ++numFunctions_;
  }

  // @main: a loop that calls 8 functions spread over the module and mixes
  // their results; returns the sum modulo 64 (an exit status both qmir's
  // interpreter and lli report the same way).
  void mainFunction() {
    nextTmp_ = 0;
    nextLabel_ = 0;
    const unsigned n = numFunctions_;
    if (mir())
      put("fn @main() -> i64 {\nentry:\n");
    else
      put("define i32 @main() {\nentry:\n");
    emitAlloca("%acc", 0);
    emitAlloca("%i", 0);
    store("0", "%acc");
    store("0", "%i");
    std::string hdr = label(), body = label(), done = label();
    br(hdr);
    startBlock(hdr);
    std::string i = load("%i");
    std::string c = icmp("slt", i, std::to_string(o_.mainIterations));
    condbr(c, body, done);
    startBlock(body);
    for (unsigned s = 0; s < 8; ++s) {
      unsigned callee = static_cast<unsigned>(uint64_t(n - 1) * (s + 1) / 9);
      std::string acc = load("%acc");
      std::string r = call(fnName(callee), i, acc);
      std::string mixed = binop("xor", binop("mul", acc, "31"), r);
      store(mixed, "%acc");
    }
    store(binop("add", i, "1"), "%i");
    br(hdr);
    startBlock(done);
    std::string v = binop("and", load("%acc"), "63");
    if (mir()) {
      ret(v);
    } else {
      std::string t = tmp();
      put("  " + t + " = trunc i64 " + v + " to i32");
      end();
      put("  ret i32 " + t);
      end();
    }
    put("}\n");
  }

  const GenOptions &o_;
  Rng rng_;
  std::string out_;
  uint64_t count_ = 0;
  unsigned numFunctions_ = 0;
  unsigned nextTmp_ = 0, nextLabel_ = 0, nextBinding_ = 1;
  unsigned line_ = 1;
  std::vector<std::string> locals_;
};

} // namespace

GenResult generateModule(const GenOptions &opts) {
  return Generator(opts).run();
}

} // namespace qmir::bench
