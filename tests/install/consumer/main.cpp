//===- tests/install/consumer/main.cpp - a program using installed AtallaGen ===//
//
// atalla-consumer model.atb OUT.bin: runs a blob on the simulated device
// with its embedded sample inputs, through nothing but the installed
// headers and AtallaGen::runtime, writes output 0's bytes to OUT.bin and
// prints the modelled cycles. Exit 1 with one line on any error.
//
//===----------------------------------------------------------------------===//
#include "runtime/Blob.h"
#include "runtime/Executor.h"
#include "runtime/Profile.h"
#include "sim/Machine.h"

#include "llvm/Support/raw_ostream.h"

#include <fstream>

using namespace atalla;

static int fail(llvm::Error E) {
  llvm::errs() << "atalla-consumer: error: " << llvm::toString(std::move(E)) << "\n";
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    llvm::errs() << "usage: atalla-consumer model.atb OUT.bin\n";
    return 2;
  }
  auto B = runtime::Blob::readFile(argv[1]);
  if (!B)
    return fail(B.takeError());
  sim::MachineDesc Machine; // atalla-rtl
  auto X = runtime::Executor::create(*B, sim::deviceConfig(Machine), /*Fallback=*/nullptr);
  if (!X)
    return fail(X.takeError());
  std::vector<runtime::HostTensor> In;
  for (uint32_t I = 0; I < B->inputs().size(); ++I) {
    const abi::TensorRecord &R = B->tensors()[B->inputs()[I]];
    runtime::HostTensor H;
    H.DType = R.DType;
    H.Sizes.assign(R.Sizes, R.Sizes + R.Rank);
    llvm::ArrayRef<uint8_t> S = B->sampleInput(I);
    H.Bytes.assign(S.begin(), S.end());
    In.push_back(std::move(H));
  }
  runtime::Profile Prof(*B, Machine);
  (*X)->setTrace([&](const runtime::TraceEvent &E) { Prof.add(E); });
  auto Out = (*X)->run(In);
  if (!Out)
    return fail(Out.takeError());
  if (Out->empty()) {
    llvm::errs() << "atalla-consumer: error: the blob has no outputs\n";
    return 1;
  }
  std::ofstream F(argv[2], std::ios::binary);
  F.write(reinterpret_cast<const char *>((*Out)[0].Bytes.data()), std::streamsize((*Out)[0].Bytes.size()));
  if (!F) {
    llvm::errs() << "atalla-consumer: error: " << argv[2] << ": cannot write\n";
    return 1;
  }
  llvm::outs() << "ran " << B->instructions().size() << " instructions: " << Prof.totals().Cycles
               << " modelled cycles on " << Machine.Name << "\n";
  return 0;
}
