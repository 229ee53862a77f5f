#!/usr/bin/env bash
# Install test: `cmake --install` a qmir build tree into a fresh prefix, then
# configure, build and run examples/consumer against that prefix only. This is
# what an out-of-tree user does, so it catches headers that were not installed,
# targets that were not exported and a config that cannot find LLVM.
#
# usage: check-install.sh BUILD_DIR SOURCE_DIR [CMAKE]
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR [CMAKE]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
cmake=${3:-cmake}

work=$(mktemp -d "${TMPDIR:-/tmp}/qmir-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

echo "== installing $build_dir into $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" >"$work/install.log" \
  || { cat "$work/install.log"; echo "check-install: cmake --install failed" >&2; exit 1; }

# The package must be complete: headers under include/qmir and the CMake
# package files (their libdir depends on GNUInstallDirs, so search for them).
for f in include/qmir/mir/IR.h include/qmir/mir/Builder.h; do
  if [[ ! -f $prefix/$f ]]; then
    echo "check-install: $f was not installed" >&2
    exit 1
  fi
done
for f in qmirConfig.cmake qmirConfigVersion.cmake qmirTargets.cmake; do
  if [[ -z $(find "$prefix" -path '*/cmake/qmir/*' -name "$f") ]]; then
    echo "check-install: $f was not installed" >&2
    exit 1
  fi
done

# Use the same compiler as the build so the C++ ABI matches the libraries.
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
generator=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$build_dir/CMakeCache.txt")

echo "== configuring examples/consumer against $prefix"
"$cmake" -S "$source_dir/examples/consumer" -B "$work/consumer" \
  ${generator:+-G "$generator"} ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
echo "== building"
"$cmake" --build "$work/consumer" -j 1
echo "== running"
"$work/consumer/consumer"

# The AST-path example: a frontend that builds qmir's AST and lowers it.
echo "== configuring examples/ast-frontend against $prefix"
"$cmake" -S "$source_dir/examples/ast-frontend" -B "$work/ast-frontend" \
  ${generator:+-G "$generator"} ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
"$cmake" --build "$work/ast-frontend" -j 1
"$work/ast-frontend/ast-frontend-example" >/dev/null

# The native path: Builder -> LLVM backend -> executable linked with the
# installed runtime.
echo "== configuring examples/native-frontend against $prefix"
"$cmake" -S "$source_dir/examples/native-frontend" -B "$work/native-frontend" \
  ${generator:+-G "$generator"} ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
"$cmake" --build "$work/native-frontend" -j 1
"$work/native-frontend/native-frontend-example" "$work/collatz" >/dev/null
out=$("$work/collatz") || true
case "$out" in
  111*) ;;
  *) echo "check-install: the natively compiled example printed '$out', expected 111" >&2; exit 1 ;;
esac
echo "== install test passed"
