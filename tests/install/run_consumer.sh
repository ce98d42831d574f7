#!/bin/bash
# Installs the build tree into a fresh prefix, builds tests/install/consumer
# against it with find_package(AtallaGen), and checks that the consumer's
# output for the bundled example equals what the installed atalla-run writes.
# Usage: run_consumer.sh BUILD_DIR SOURCE_DIR [CXX_FLAGS [LINKER_FLAGS]]
# (the flags the installed libraries were built with, e.g. the sanitizers of
# make test-sanitize, which a program linking them must use too)
set -euo pipefail
BUILD=$1 SRC=$2 CXXFLAGS_IN=${3:-} LDFLAGS_IN=${4:-}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cmake --install "$BUILD" --prefix "$W/prefix" > "$W/install.log"
for T in atalla-gen atalla-run atalla-inspect; do
  test -x "$W/prefix/bin/$T" || { echo "not installed: bin/$T"; exit 1; }
done
test -f "$W/prefix/include/atalla-gen/runtime/Executor.h" || { echo "headers not installed"; exit 1; }
test -f "$W/prefix/lib/cmake/AtallaGen/AtallaGenConfig.cmake" || { echo "package config not installed"; exit 1; }
"$W/prefix/bin/atalla-run" --version | grep -q "blob format version" || { echo "atalla-run --version"; exit 1; }
# The consumer's configure and build, with only the install prefix to go on.
cmake -S "$SRC/tests/install/consumer" -B "$W/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$W/prefix" -DCMAKE_CXX_FLAGS="$CXXFLAGS_IN" -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS_IN" \
  > "$W/configure.log" || { cat "$W/configure.log"; exit 1; }
cmake --build "$W/build" -j2 > "$W/build.log" || { cat "$W/build.log"; exit 1; }
"$W/prefix/bin/atalla-gen" --quiet "$SRC/examples/seed_accel_demo.pt2" -o "$W/demo.atb"
"$W/prefix/bin/atalla-run" "$W/demo.atb" --output-dir "$W/ref" > /dev/null
"$W/build/atalla-consumer" "$W/demo.atb" "$W/out0.bin"
cmp "$W/ref/out0.bin" "$W/out0.bin"
# A bad blob: one line, exit 1.
head -c 100 "$W/demo.atb" > "$W/bad.atb"
if "$W/build/atalla-consumer" "$W/bad.atb" "$W/x.bin" 2> "$W/err"; then echo "bad blob accepted"; exit 1; fi
test "$(wc -l < "$W/err")" -eq 1 || { cat "$W/err"; exit 1; }
echo "install + find_package(AtallaGen) consumer: OK"
