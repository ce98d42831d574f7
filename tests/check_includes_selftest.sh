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
CASES
# And an allowed one passes.
d=$(mktemp -d); mkdir -p "$d/src/runtime/fallback"
echo '#include <ATen/ATen.h>' > "$d/src/runtime/fallback/Ok.cpp"
bash "$repo/scripts/check_includes.sh" "$d" >/dev/null 2>&1 || { echo "false positive on src/runtime/fallback"; fail=1; }
rm -rf "$d"
[ $fail -eq 0 ] && echo "check_includes self-test: OK"
exit $fail
