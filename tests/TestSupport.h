//===- tests/TestSupport.h - helpers shared by the test suites --*- C++ -*-===//
//
// Where the fixtures are (environment first, then the CMake default), raw
// .bin readers, and ASSERT/EXPECT macros for llvm::Error and llvm::Expected
// (Debian does not ship LLVM's TestingSupport library).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_TESTSUPPORT_H
#define ATALLA_TESTS_TESTSUPPORT_H

#include "llvm/Support/Error.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace atalla::test {

/// The folders CMake configured (tests/TestPaths.cpp).
const char *builtFixturesDir();
const char *builtTorch2Dir();
const char *builtSourceDir();

inline bool isDir(const std::string &P) {
  struct stat St;
  return stat(P.c_str(), &St) == 0 && S_ISDIR(St.st_mode);
}

/// The shared fixtures folder: $ATALLA_FIXTURES, else the CMake option
/// ATALLA_FIXTURES_DIR (builtFixturesDir()). Empty if neither exists.
inline std::string fixturesDir() {
  if (const char *E = std::getenv("ATALLA_FIXTURES"); E && isDir(E))
    return E;
  if (isDir(builtFixturesDir()))
    return builtFixturesDir();
  return "";
}

/// Real torch 2.x archives committed with the project (tests/data/torch2).
inline std::string torch2Dir() {
  if (const char *E = std::getenv("ATALLA_TORCH2_DATA"); E && isDir(E))
    return E;
  return builtTorch2Dir();
}

#define ATALLA_REQUIRE_FIXTURES(Dir)                                                              \
  std::string Dir = ::atalla::test::fixturesDir();                                                \
  if (Dir.empty())                                                                                \
    GTEST_SKIP() << "shared fixtures not found: set ATALLA_FIXTURES or configure with "            \
                    "-DATALLA_FIXTURES_DIR=<path to shared/fixtures>";

inline std::vector<uint8_t> readFileBytes(const std::string &Path) {
  std::ifstream F(Path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(F), {});
}

inline std::string errorText(llvm::Error E) { return llvm::toString(std::move(E)); }

} // namespace atalla::test

#define ASSERT_NO_ERROR(Expr)                                                                     \
  do {                                                                                            \
    if (llvm::Error E_ = (Expr))                                                                  \
      FAIL() << #Expr << ": " << llvm::toString(std::move(E_));                                   \
  } while (0)

/// Unwraps an llvm::Expected into Var or fails the test with the message.
#define ASSERT_EXPECTED(Var, Expr)                                                                \
  auto Var##OrErr = (Expr);                                                                       \
  if (!Var##OrErr)                                                                                \
    FAIL() << #Expr << ": " << llvm::toString(Var##OrErr.takeError());                            \
  auto &Var = *Var##OrErr

/// Expects an error whose message contains Needle.
#define EXPECT_ERROR_CONTAINS(Expr, Needle)                                                       \
  do {                                                                                            \
    auto R_ = (Expr);                                                                             \
    if (R_) {                                                                                     \
      ADD_FAILURE() << #Expr << " succeeded, expected an error containing '" << (Needle) << "'";  \
    } else {                                                                                      \
      std::string M_ = llvm::toString(R_.takeError());                                            \
      EXPECT_NE(M_.find(Needle), std::string::npos) << "error was: " << M_;                       \
    }                                                                                             \
  } while (0)

#endif // ATALLA_TESTS_TESTSUPPORT_H
