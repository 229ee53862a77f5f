// The backend registry and the shared part of Backend::compile.
#include "backend/Backend.h"

#include "mir/Verifier.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <map>
#include <mutex>

using namespace qmir;

Backend::~Backend() = default;

llvm::StringRef qmir::emitKindName(EmitKind k) {
  switch (k) {
  case EmitKind::LLVMIR:
    return "llvm";
  case EmitKind::Assembly:
    return "asm";
  case EmitKind::Object:
    return "obj";
  case EmitKind::Executable:
    return "exe";
  case EmitKind::Run:
    return "run";
  }
  return "?";
}

BackendResult Backend::compile(const Module &m, const BackendOptions &opts) {
  if (!supports(opts.emit))
    return BackendResult::error("backend '" + name().str() + "' cannot produce '" +
                                emitKindName(opts.emit).str() + "' output");
  if (opts.optLevel > 2)
    return BackendResult::error("optimization level must be 0, 1 or 2");
  std::vector<VerifierError> errors;
  if (!verifyModule(m, &errors)) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "the module does not verify; backend '" << name()
       << "' refuses it:\n";
    printVerifierErrors(os, errors);
    return BackendResult::error(std::move(text));
  }
  return emit(m, opts);
}

namespace {
struct Entry {
  std::string description;
  BackendFactory factory;
};
struct Registry {
  std::mutex mu;
  std::map<std::string, Entry, std::less<>> backends;
};
Registry &registry() {
  static Registry r;
  return r;
}
} // namespace

bool qmir::registerBackend(llvm::StringRef name, llvm::StringRef description,
                           BackendFactory factory) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.backends
      .emplace(name.str(), Entry{description.str(), std::move(factory)})
      .second;
}

std::unique_ptr<Backend> qmir::createBackend(llvm::StringRef name) {
  Registry &r = registry();
  BackendFactory f;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.backends.find(name);
    if (it == r.backends.end())
      return nullptr;
    f = it->second.factory;
  }
  return f();
}

std::vector<BackendInfo> qmir::registeredBackends() {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<BackendInfo> out;
  for (auto &[name, e] : r.backends)
    out.push_back({name, e.description});
  return out;
}
