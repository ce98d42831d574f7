#!/usr/bin/env bash
# check_includes.sh - fails when a file includes across a forbidden boundary
# (ARCHITECTURE.md, "The pipeline, one direction"):
#   - LibTorch (torch/, ATen/, c10/) only in src/runtime/fallback/ and reference/;
#   - oneDNN (dnnl, oneapi/dnnl) only in reference/;
#   - src/runtime/ and src/sim/ never include the compiler (frontend, lower, codegen);
#   - src/ never includes reference/ (the oracle is for tests, bench and tools);
#   - only src/driver/ itself includes driver/ within src/ (the driver sits
#     above the libraries: tools, bench and tests use it).
# Usage: check_includes.sh [repo root]
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
status=0
report() { echo "check_includes: $1: $2"; status=1; }

while IFS= read -r f; do
  case "$f" in src/runtime/fallback/*) ;; *)
    grep -nE '^\s*#\s*include\s*[<"](torch/|ATen/|c10/)' "$f" | while IFS= read -r l; do
      echo "check_includes: $f:${l%%:*}: LibTorch outside src/runtime/fallback/"; done ;;
  esac
  grep -nE '^\s*#\s*include\s*[<"](dnnl|oneapi/dnnl)' "$f" | while IFS= read -r l; do
    echo "check_includes: $f:${l%%:*}: oneDNN outside reference/"; done
  grep -nE '^\s*#\s*include\s*[<"]reference/' "$f" | while IFS= read -r l; do
    echo "check_includes: $f:${l%%:*}: src/ includes reference/"; done
  case "$f" in src/driver/*) ;; *)
    grep -nE '^\s*#\s*include\s*[<"]driver/' "$f" | while IFS= read -r l; do
      echo "check_includes: $f:${l%%:*}: a library below the driver includes driver/"; done ;;
  esac
  case "$f" in src/runtime/*|src/sim/*)
    grep -nE '^\s*#\s*include\s*[<"](frontend|lower|codegen)/' "$f" | while IFS= read -r l; do
      echo "check_includes: $f:${l%%:*}: runtime/sim include the compiler"; done ;;
  esac
done < <(find src -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.def' -o -name '*.inc' \) | sort) > /tmp/check_includes.$$ 2>&1
if [ -s /tmp/check_includes.$$ ]; then cat /tmp/check_includes.$$; status=1; fi
rm -f /tmp/check_includes.$$
# The frontend may use LLVM Support, nlohmann_json and zlib only.
if grep -rnE '^\s*#\s*include\s*[<"](zip\.h|llvm/(IR|CodeGen|Target|ExecutionEngine|Passes|MC)/)' src/frontend >/tmp/ci_fe.$$ 2>/dev/null; then
  sed 's/^/check_includes: frontend beyond its dependencies: /' /tmp/ci_fe.$$; status=1
fi
rm -f /tmp/ci_fe.$$
[ $status -eq 0 ] && echo "check_includes: OK ($(find src -type f | wc -l) files under src/)"
exit $status
