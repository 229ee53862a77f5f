// The `llvm` backend driver: target machine, LLVM's optimization pipeline,
// emission of IR/assembly/objects, and linking with the native runtime.
#include "backend/LLVMBackend.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

#include <cstdlib>
#include <mutex>
#include <optional>

using namespace qmir;

#ifndef QMIR_RUNTIME_LIBRARY_BUILD
#define QMIR_RUNTIME_LIBRARY_BUILD ""
#endif
#ifndef QMIR_RUNTIME_LIBRARY_INSTALL
#define QMIR_RUNTIME_LIBRARY_INSTALL ""
#endif
#ifndef QMIR_LINKER_DRIVER
#define QMIR_LINKER_DRIVER "c++"
#endif

namespace {

void initTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
}

/// Runs a program, capturing its stderr; returns its exit status (-1 if it
/// could not be run) and appends its stderr to `errText`.
int runCapturingStderr(llvm::StringRef prog, llvm::ArrayRef<llvm::StringRef> args,
                       std::string &errText) {
  llvm::SmallString<128> errPath;
  if (llvm::sys::fs::createTemporaryFile("qmir-link", "err", errPath)) {
    errText += "cannot create a temporary file";
    return -1;
  }
  llvm::FileRemover remover(errPath);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, std::nullopt,
                                                llvm::StringRef(errPath)};
  std::string execErr;
  int rc = llvm::sys::ExecuteAndWait(prog, args, std::nullopt, redirects, 0, 0, &execErr);
  if (auto buf = llvm::MemoryBuffer::getFile(errPath))
    errText += (*buf)->getBuffer().str();
  if (!execErr.empty())
    errText += execErr;
  return rc;
}

class LLVMBackend final : public Backend {
public:
  llvm::StringRef name() const override { return "llvm"; }
  bool supports(EmitKind) const override { return true; }

protected:
  BackendResult emit(const Module &m, const BackendOptions &opts) override;

private:
  BackendResult link(llvm::StringRef object, llvm::StringRef output,
                     const BackendOptions &opts);
};

BackendResult LLVMBackend::link(llvm::StringRef object, llvm::StringRef output,
                                const BackendOptions &opts) {
  std::string runtime = opts.runtimeLibrary;
  if (runtime.empty())
    if (const char *env = std::getenv("QMIR_RUNTIME_LIBRARY"))
      runtime = env;
  if (runtime.empty()) {
    for (const char *cand : {QMIR_RUNTIME_LIBRARY_BUILD, QMIR_RUNTIME_LIBRARY_INSTALL})
      if (*cand && llvm::sys::fs::exists(cand)) {
        runtime = cand;
        break;
      }
  }
  if (runtime.empty() || !llvm::sys::fs::exists(runtime))
    return BackendResult::error(
        "cannot find the qmir runtime library (libqmir_runtime.a)" +
        (runtime.empty() ? std::string() : " at '" + runtime + "'") +
        "; build the qmir_runtime target or set QMIR_RUNTIME_LIBRARY");

  std::string driver = QMIR_LINKER_DRIVER;
  if (const char *env = std::getenv("QMIR_LINKER"))
    driver = env;
  std::string driverPath = driver;
  if (!llvm::sys::path::is_absolute(driver) || !llvm::sys::fs::can_execute(driver)) {
    auto found = llvm::sys::findProgramByName(llvm::sys::path::filename(driver));
    if (!found) {
      found = llvm::sys::findProgramByName("c++");
      if (!found)
        return BackendResult::error("cannot find a C++ compiler driver to link with ('" +
                                    driver + "' or c++); set QMIR_LINKER");
    }
    driverPath = *found;
  }
  llvm::SmallVector<llvm::StringRef, 8> args = {driverPath, object, runtime,
                                                "-pthread", "-o", output};
  std::string errText;
  int rc = runCapturingStderr(driverPath, args, errText);
  if (rc != 0)
    return BackendResult::error("linking failed (" + driverPath + " exited with " +
                                std::to_string(rc) + "):\n" + errText);
  return {};
}

BackendResult LLVMBackend::emit(const Module &m, const BackendOptions &opts) {
  std::string task = findUncompilableTaskCode(m);
  if (!task.empty())
    return BackendResult::error(task);
  bool needsMain = opts.emit == EmitKind::Executable || opts.emit == EmitKind::Run;
  if (needsMain && !isTaskProgram(m)) {
    const Function *mf = m.function("main");
    if (!mf || mf->isDeclaration())
      return BackendResult::error(
          mf ? "@main is only declared"
          : m.function("main.task")
              ? "@main.task needs the struct type main.frame (made by coro-split) to be "
                "the entry of an executable"
              : "no @main function: an executable needs one");
  }
  if ((opts.emit == EmitKind::Object || opts.emit == EmitKind::Executable) &&
      (opts.outputPath.empty() || opts.outputPath == "-"))
    return BackendResult::error("an object file or executable needs an output path (-o)");

  initTargets();
  std::string triple = opts.targetTriple.empty() ? llvm::sys::getDefaultTargetTriple()
                                                 : opts.targetTriple;
  std::string targetErr;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, targetErr);
  if (!target)
    return BackendResult::error("unknown target '" + triple + "': " + targetErr);
  llvm::TargetOptions to;
  llvm::CodeGenOptLevel cgLevel = opts.optLevel == 0   ? llvm::CodeGenOptLevel::None
                                  : opts.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                                       : llvm::CodeGenOptLevel::Default;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, "", "", to, llvm::Reloc::PIC_, std::nullopt, cgLevel));
  if (!tm)
    return BackendResult::error("cannot create a target machine for '" + triple + "'");

  llvm::LLVMContext ctx;
  LLVMCodegenOptions co;
  co.debugInfo = opts.debugInfo;
  co.optLevel = opts.optLevel;
  co.emitCMain = true;
  std::string err;
  bool internal = false;
  std::unique_ptr<llvm::Module> lm =
      translateToLLVM(m, ctx, tm->createDataLayout(), triple, co, err, internal);
  if (!lm)
    return internal ? BackendResult::internal(err) : BackendResult::error(err);

  if (opts.optLevel > 0) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    llvm::PassBuilder pb(tm.get(), pto);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(
        opts.optLevel == 1 ? llvm::OptimizationLevel::O1 : llvm::OptimizationLevel::O2);
    mpm.run(*lm, mam);
  }

  llvm::raw_ostream &out = opts.out ? *opts.out : llvm::outs();
  auto writeText = [&](llvm::StringRef text) -> BackendResult {
    if (opts.outputPath.empty() || opts.outputPath == "-") {
      out << text;
      out.flush();
      return {};
    }
    std::error_code ec;
    llvm::raw_fd_ostream os(opts.outputPath, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return BackendResult::error("cannot write '" + opts.outputPath + "': " + ec.message());
    os << text;
    return {};
  };

  if (opts.emit == EmitKind::LLVMIR) {
    std::string text;
    llvm::raw_string_ostream os(text);
    lm->print(os, nullptr);
    return writeText(text);
  }

  llvm::SmallVector<char, 0> buffer;
  {
    llvm::raw_svector_ostream os(buffer);
    llvm::legacy::PassManager pm;
    auto kind = opts.emit == EmitKind::Assembly ? llvm::CodeGenFileType::AssemblyFile
                                                : llvm::CodeGenFileType::ObjectFile;
    if (tm->addPassesToEmitFile(pm, os, nullptr, kind))
      return BackendResult::error("the target '" + triple + "' cannot emit this file type");
    pm.run(*lm);
  }
  llvm::StringRef bytes(buffer.data(), buffer.size());
  if (opts.emit == EmitKind::Assembly)
    return writeText(bytes);
  if (opts.emit == EmitKind::Object) {
    std::error_code ec;
    llvm::raw_fd_ostream os(opts.outputPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return BackendResult::error("cannot write '" + opts.outputPath + "': " + ec.message());
    os << bytes;
    return {};
  }

  // Executable or Run: the object goes to a temporary file, removed afterwards.
  int fd;
  llvm::SmallString<128> objPath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("qmir", "o", fd, objPath))
    return BackendResult::error("cannot create a temporary object file: " + ec.message());
  llvm::FileRemover objRemover(objPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << bytes;
    os.close();
    if (os.has_error())
      return BackendResult::error("cannot write the temporary object file '" +
                                  objPath.str().str() + "'");
  }
  if (opts.emit == EmitKind::Executable)
    return link(objPath, opts.outputPath, opts);

  // Run: link to a temporary executable, run it with this process's stdio.
  llvm::SmallString<128> exePath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("qmir-run", "exe", exePath))
    return BackendResult::error("cannot create a temporary executable: " + ec.message());
  llvm::FileRemover exeRemover(exePath);
  BackendResult lr = link(objPath, exePath, opts);
  if (!lr.ok())
    return lr;
  llvm::outs().flush();
  llvm::errs().flush();
  std::string execErr;
  llvm::StringRef argv[] = {exePath};
  int rc = llvm::sys::ExecuteAndWait(exePath, argv, std::nullopt, {}, 0, 0, &execErr);
  // ExecuteAndWait reports the exit statuses 126 and 127 as -1 plus a
  // message; a program may well exit with them.
  if (rc == -1 && execErr.find("could not be executed") != std::string::npos)
    rc = 126;
  else if (rc == -1 && execErr.find("No such file or directory") != std::string::npos)
    rc = 127;
  if (rc == -1)
    return BackendResult::error("cannot run the compiled program: " + execErr);
  BackendResult r;
  // -2: killed by a signal (ExecuteAndWait does not say which); report it
  // like a shell would report SIGABRT/SIGILL-style deaths.
  r.exitStatus = rc < 0 ? 134 : rc;
  return r;
}

} // namespace

void qmir::registerLLVMBackend() {
  registerBackend("llvm",
                  "native code through LLVM " LLVM_VERSION_STRING
                  " (LLVM IR, assembly, objects, executables)",
                  [] { return std::make_unique<LLVMBackend>(); });
}
