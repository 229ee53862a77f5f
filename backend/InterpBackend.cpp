// The `interp` backend: the reference interpreter behind the Backend
// interface. It produces no files; it runs @main in-process (EmitKind::Run)
// with the interpreter's exit-status and panic conventions, which every other
// backend must reproduce.
#include "backend/Backend.h"

#include "mir/Interpreter.h"

using namespace qmir;

namespace {
class InterpBackend final : public Backend {
public:
  llvm::StringRef name() const override { return "interp"; }
  bool supports(EmitKind k) const override { return k == EmitKind::Run; }

protected:
  BackendResult emit(const Module &m, const BackendOptions &opts) override {
    llvm::raw_ostream &out = opts.out ? *opts.out : llvm::outs();
    llvm::raw_ostream &err = opts.err ? *opts.err : llvm::errs();
    BackendResult r;
    r.exitStatus = runMain(m, out, err);
    out.flush();
    err.flush();
    return r;
  }
};
} // namespace

void qmir::registerInterpBackend() {
  registerBackend("interp", "the reference interpreter (runs the program in-process)",
                  [] { return std::make_unique<InterpBackend>(); });
}
