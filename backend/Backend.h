// The backend interface: a backend turns a verified MIR module into an
// artifact (LLVM IR text, assembly, an object file, an executable) or runs it
// in-process. Backends register under a name; tools pick one by name
// (`qzc --backend=llvm`) and never depend on a particular implementation.
// Every backend must give every program the same observable behaviour as the
// reference interpreter (`interp`): stdout, stderr panic lines, exit status.
// See docs/backends.md.
#pragma once

#include "mir/IR.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace qmir {

/// What a backend is asked to produce.
enum class EmitKind {
  LLVMIR,     ///< textual LLVM IR (.ll)
  Assembly,   ///< target assembly (.s)
  Object,     ///< a relocatable object file (.o)
  Executable, ///< a linked executable
  Run,        ///< run @main now and report its exit status
};

/// "llvm", "asm", "obj", "exe", "run".
llvm::StringRef emitKindName(EmitKind k);

struct BackendOptions {
  EmitKind emit = EmitKind::Executable;
  /// 0, 1 or 2. qmir's own pipeline has already run (the driver's job); a
  /// backend applies its own optimizations for the level on top.
  unsigned optLevel = 0;
  /// Target triple; empty means the host.
  std::string targetTriple;
  /// Emit debug information (DWARF line tables and variables).
  bool debugInfo = false;
  /// Where the artifact goes. For LLVMIR and Assembly, empty or "-" means
  /// `out`; Object and Executable need a path.
  std::string outputPath;
  /// Run: the program's stdout (the interpreter writes here; a native run
  /// inherits the process's stdout, flushed first). Text artifacts go here
  /// when outputPath is empty. Null means llvm::outs().
  llvm::raw_ostream *out = nullptr;
  /// Run: the program's stderr (panic lines). Null means llvm::errs().
  llvm::raw_ostream *err = nullptr;
  /// Executable: the runtime library to link; empty means the default (the
  /// QMIR_RUNTIME_LIBRARY environment variable, else the one of this build).
  std::string runtimeLibrary;
};

struct BackendResult {
  enum Status {
    Ok,            ///< the artifact was produced (or the program ran)
    Error,         ///< the input cannot be compiled by this backend (a user error)
    InternalError, ///< a qmir bug (e.g. LLVM rejected the IR we generated)
  } status = Ok;
  /// Run: the program's exit status.
  int exitStatus = 0;
  /// Error / InternalError: what went wrong (may span lines).
  std::string message;

  bool ok() const { return status == Ok; }
  static BackendResult error(std::string msg) { return {Error, 0, std::move(msg)}; }
  static BackendResult internal(std::string msg) {
    return {InternalError, 0, std::move(msg)};
  }
};

class Backend {
public:
  virtual ~Backend();
  virtual llvm::StringRef name() const = 0;
  /// Whether this backend can produce `k` at all.
  virtual bool supports(EmitKind k) const = 0;

  /// Verifies `m` (a module that does not verify is rejected with Error and
  /// the verifier's messages: bad MIR never reaches a code generator), checks
  /// that `opts.emit` is supported, then calls emit().
  BackendResult compile(const Module &m, const BackendOptions &opts);

protected:
  /// Produces the artifact; `m` has been verified.
  virtual BackendResult emit(const Module &m, const BackendOptions &opts) = 0;
};

using BackendFactory = std::function<std::unique_ptr<Backend>()>;

/// Adds a backend to the registry. Returns false if the name is taken.
bool registerBackend(llvm::StringRef name, llvm::StringRef description,
                     BackendFactory factory);
/// A new instance of the backend called `name`, or null.
std::unique_ptr<Backend> createBackend(llvm::StringRef name);

struct BackendInfo {
  std::string name;
  std::string description;
};
/// Registered backends, sorted by name.
std::vector<BackendInfo> registeredBackends();

/// Registers `interp` (this library). Idempotent.
void registerInterpBackend();

} // namespace qmir
