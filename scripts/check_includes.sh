#!/usr/bin/env bash
# check_includes.sh - fails when a file includes across a forbidden boundary.
# The table below is ARCHITECTURE.md's "may depend on" column, folder by
# folder: a file may include the project folders its row names (by the
# include path, "frontend/Graph.h") and no other. Besides:
#   - LibTorch (torch/, ATen/, c10/) only in src/runtime/fallback/ and reference/;
#   - oneDNN (dnnl, oneapi/dnnl) only in reference/;
#   - src/runtime/abi/ includes the C++ standard library and itself only
#     (no LLVM): it is the contract a blob's consumer compiles against;
#   - src/frontend/ uses LLVM Support and ADT only (no IR, CodeGen, Target,
#     ExecutionEngine, Passes, MC), zlib through its own zip reader (no zip.h).
# Every folder of the project is scanned: src/, reference/, tools/, bench/,
# tests/. tests/check_includes_selftest.sh proves each rule can fail.
# Usage: check_includes.sh [repo root]
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

# Folder (longest prefix wins) -> the project folders it may include.
# "*" is every project folder. support/ is the error helper every layer
# but the abi may use.
declare -A Allowed=(
  [src/runtime/abi]="runtime/abi"
  [src/frontend]="frontend runtime/abi support"
  [src/target]="target support"
  [src/lower]="lower frontend runtime/abi target support"
  [src/codegen]="codegen lower frontend runtime/abi target support"
  [src/sim]="sim runtime/abi target support"
  [src/runtime]="runtime runtime/abi sim target support"
  [src/runtime/fallback]="runtime/fallback runtime runtime/abi sim target support"
  [src/driver]="driver frontend lower codegen runtime runtime/abi runtime/fallback sim target support"
  [src/support]="support"
  [reference]="reference frontend runtime/abi runtime/fallback support"
  [tools]="*"
  [bench]="*"
  [tests]="*"
)
# The project folders an include path can name, longest first.
Folders="runtime/abi runtime/fallback frontend lower codegen runtime sim target driver support reference tools"

folder_of() { # file -> its row of the table ("" if none)
  local f=$1 best="" k
  for k in "${!Allowed[@]}"; do
    case "$f" in "$k"/*) [ ${#k} -gt ${#best} ] && best=$k ;; esac
  done
  echo "$best"
}
project_folder() { # include path -> the project folder it names ("" if none)
  local inc=$1 d
  for d in $Folders; do
    case "$inc" in "$d"/*) echo "$d"; return ;; esac
  done
  echo ""
}

out=$(mktemp)
files=$(find src reference tools bench tests -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.def' -o -name '*.inc' \) \
          2>/dev/null | sort)
for f in $files; do
  row=$(folder_of "$f")
  case "$f" in src/runtime/fallback/*|reference/*) ;; *)
    grep -nE '^\s*#\s*include\s*[<"](torch/|ATen/|c10/)' "$f" | while IFS= read -r l; do
      echo "check_includes: $f:${l%%:*}: LibTorch outside src/runtime/fallback/ and reference/"; done ;;
  esac
  case "$f" in reference/*) ;; *)
    grep -nE '^\s*#\s*include\s*[<"](dnnl|oneapi/dnnl)' "$f" | while IFS= read -r l; do
      echo "check_includes: $f:${l%%:*}: oneDNN outside reference/"; done ;;
  esac
  case "$f" in src/runtime/abi/*)
    grep -nE '^\s*#\s*include\s*[<"]llvm/' "$f" | while IFS= read -r l; do
      echo "check_includes: $f:${l%%:*}: the abi includes LLVM (standard library only)"; done ;;
  esac
  case "$f" in src/frontend/*)
    grep -nE '^\s*#\s*include\s*[<"](zip\.h|llvm/(IR|CodeGen|Target|ExecutionEngine|Passes|MC)/)' "$f" |
      while IFS= read -r l; do echo "check_includes: $f:${l%%:*}: the frontend beyond LLVM Support"; done ;;
  esac
  [ -z "$row" ] && continue
  allowed=${Allowed[$row]}
  [ "$allowed" = "*" ] && continue
  grep -nE '^\s*#\s*include\s*"[^"]+"' "$f" | while IFS= read -r l; do
    inc=$(echo "$l" | sed -E 's/^[0-9]+:\s*#\s*include\s*"([^"]+)".*/\1/')
    d=$(project_folder "$inc")
    [ -z "$d" ] && continue
    case " $allowed " in *" $d "*) ;; *)
      echo "check_includes: $f:${l%%:*}: $row/ may not include $d/ (\"$inc\"; it may include: $allowed)" ;;
    esac
  done
done > "$out" 2>&1
status=0
if [ -s "$out" ]; then cat "$out"; status=1; fi
rm -f "$out"
[ $status -eq 0 ] && echo "check_includes: OK ($(echo "$files" | grep -c .) files under src/, reference/, tools/, bench/, tests/)"
exit $status
