//===- tests/ProcessSupport.h - run the built tools from a test -*- C++ -*-===//
//
// Runs a tool of ATALLA_BIN_DIR as a user would (no stdin), capturing exit
// code, stdout and stderr, for the suites that test command lines.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_PROCESSSUPPORT_H
#define ATALLA_TESTS_PROCESSSUPPORT_H

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace atalla::test {

struct ToolResult {
  int Rc = -1;
  std::string Out, Err;
};

inline std::string slurp(const std::string &Path) {
  std::ifstream F(Path);
  std::stringstream S;
  S << F.rdbuf();
  return S.str();
}

inline std::string binDir() {
  const char *B = std::getenv("ATALLA_BIN_DIR");
  return B ? B : "build/bin";
}

inline std::string sourceDir() {
  const char *S = std::getenv("ATALLA_SOURCE_DIR");
  return S ? S : ".";
}

/// A fresh temporary folder per test binary.
inline std::string tmpDir() {
  static std::string D = [] {
    char T[] = "/tmp/atalla-test-XXXXXX";
    return std::string(mkdtemp(T));
  }();
  return D;
}

/// Runs \p CommandLine through the shell, capturing stdout and stderr.
inline ToolResult runCommand(const std::string &CommandLine) {
  std::string Out = tmpDir() + "/stdout", Err = tmpDir() + "/stderr";
  int S = std::system((CommandLine + " >" + Out + " 2>" + Err + " </dev/null").c_str());
  ToolResult R;
  R.Rc = WIFEXITED(S) ? WEXITSTATUS(S) : 128 + WTERMSIG(S);
  R.Out = slurp(Out);
  R.Err = slurp(Err);
  return R;
}

/// Runs "<bin dir>/<CommandLine>" through the shell.
/// Runs one of the built tools. The kernel cache is off (an empty
/// ATALLA_CACHE_DIR), so every run compiles; the cache's own tests pass
/// --cache-dir.
inline ToolResult runTool(const std::string &CommandLine) {
  return runCommand("ATALLA_CACHE_DIR= " + binDir() + "/" + CommandLine);
}

inline size_t countOf(const std::string &S, const std::string &Needle) {
  size_t N = 0;
  for (size_t P = S.find(Needle); P != std::string::npos; P = S.find(Needle, P + 1))
    ++N;
  return N;
}

} // namespace atalla::test

#endif // ATALLA_TESTS_PROCESSSUPPORT_H
