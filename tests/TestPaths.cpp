//===- tests/TestPaths.cpp - the folders CMake configured for the tests --===//
//
// The configure-time paths (fixtures, committed torch 2.x archives, the
// source tree) live in this one file, compiled once into atalla_test_paths,
// rather than as -D flags on every test file: those flags differ from clone
// to clone and would make every test file a ccache miss in a fresh clone.
// ctest passes the same folders through the environment, which wins.
//
//===----------------------------------------------------------------------===//
#include "TestSupport.h"

const char *atalla::test::builtFixturesDir() { return ATALLA_FIXTURES_DIR; }
const char *atalla::test::builtTorch2Dir() { return ATALLA_TORCH2_DATA_DIR; }
const char *atalla::test::builtSourceDir() { return ATALLA_SOURCE_DIR; }
