#!/usr/bin/env bash
# Checks that scripts/check_includes.sh fails on each kind of forbidden
# include (a check that cannot fail protects nothing). To add a case, add a
# line "path|include" to the list below.
set -u
repo=$1
fail=0
while IFS='|' read -r path inc; do
  [ -z "$path" ] && continue
  d=$(mktemp -d)
  mkdir -p "$d/src/frontend" "$d/$(dirname "$path")"
  echo "#include $inc" > "$d/$path"
  if bash "$repo/scripts/check_includes.sh" "$d" >/dev/null 2>&1; then
    echo "not detected: $path includes $inc"; fail=1
  fi
  rm -rf "$d"
done <<'CASES'
src/lower/Bad.cpp|<torch/torch.h>
src/frontend/Bad.cpp|<ATen/ATen.h>
src/runtime/Bad.cpp|<c10/core/ScalarType.h>
src/runtime/fallback/Bad.cpp|"oneapi/dnnl/dnnl.hpp"
src/codegen/Bad.cpp|<dnnl.hpp>
src/sim/Bad.cpp|"frontend/Graph.h"
src/runtime/Bad.h|"codegen/Emitter.h"
src/lower/Bad.cpp|"reference/EagerInterpreter.h"
src/runtime/Bad.cpp|"driver/Compare.h"
src/codegen/Bad.cpp|"driver/Compare.h"
src/runtime/abi/Bad.h|"llvm/ADT/StringRef.h"
src/runtime/abi/Bad.h|"sim/Device.h"
src/frontend/Bad.cpp|"lower/Program.h"
src/frontend/Bad.cpp|"llvm/IR/Module.h"
src/lower/Bad.cpp|"codegen/KernelEmitter.h"
src/lower/Bad.cpp|"sim/Machine.h"
src/target/Bad.cpp|"sim/Device.h"
src/sim/Bad.cpp|"runtime/Blob.h"
src/codegen/Bad.cpp|"runtime/Executor.h"
src/driver/Bad.cpp|<ATen/ATen.h>
reference/Bad.cpp|"lower/Pipeline.h"
reference/Bad.cpp|"driver/Compare.h"
bench/Bad.cpp|<dnnl.hpp>
tools/Bad.cpp|<torch/torch.h>
tests/Bad.cpp|"oneapi/dnnl/dnnl.hpp"
CASES
# And allowed ones pass.
while IFS='|' read -r path inc; do
  [ -z "$path" ] && continue
  d=$(mktemp -d); mkdir -p "$d/$(dirname "$path")"
  echo "#include $inc" > "$d/$path"
  bash "$repo/scripts/check_includes.sh" "$d" >/dev/null 2>&1 || { echo "false positive: $path includes $inc"; fail=1; }
  rm -rf "$d"
done <<'ALLOWED'
src/runtime/fallback/Ok.cpp|<ATen/ATen.h>
reference/Ok.cpp|<oneapi/dnnl/dnnl.hpp>
src/runtime/Ok.cpp|"sim/Device.h"
src/driver/Ok.cpp|"codegen/KernelEmitter.h"
tests/Ok.cpp|"reference/EagerInterpreter.h"
src/lower/Ok.cpp|"llvm/ADT/StringRef.h"
src/codegen/Ok.cpp|"target/Machine.h"
ALLOWED
[ $fail -eq 0 ] && echo "check_includes self-test: OK"
exit $fail
