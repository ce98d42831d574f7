//===- lower/Program.cpp - printing the program and the lowering state ----===//
#include "lower/Passes.h"

#include "frontend/Printers.h"

#include "llvm/Support/Format.h"

#include <algorithm>

using namespace atalla;
using namespace atalla::lower;

int64_t PTensor::numel() const {
  int64_t N = 1;
  for (int64_t S : Sizes)
    N *= S;
  return N;
}

static const char *kindName(abi::TensorKind K) {
  switch (K) {
  case abi::TensorKind::Input: return "input";
  case abi::TensorKind::Output: return "output";
  case abi::TensorKind::Constant: return "constant";
  case abi::TensorKind::Intermediate: return "temp";
  }
  return "?";
}

Coverage atalla::lower::coverageOf(const std::vector<NodeDecision> &Decisions) {
  Coverage C;
  for (const NodeDecision &D : Decisions) {
    if (D.K == NodeDecision::View) {
      ++C.Views;
      continue;
    }
    if (D.K == NodeDecision::Removed)
      continue;
    ++C.Ops;
    C.Flops += D.Flops;
    C.Bytes += D.Bytes;
    if (D.K == NodeDecision::Fallback) {
      ++C.FallbackOps;
      continue;
    }
    ++(D.K == NodeDecision::Fused ? C.FusedOps : C.AcceleratedOps);
    C.AcceleratedFlops += D.Flops;
    C.AcceleratedBytes += D.Bytes;
  }
  return C;
}

void Program::print(llvm::raw_ostream &OS) const {
  if (Precision == abi::DType::BF16)
    OS << "precision: bf16 (float32 tensors stored as bf16)\n";
  OS << "tensors:\n";
  for (size_t I = 0; I < Tensors.size(); ++I) {
    const PTensor &T = Tensors[I];
    OS << "  %" << I << " " << T.Name << " : " << frontend::scalarTypeName(T.Dtype)
       << frontend::formatShape(T.Sizes) << " strides " << frontend::formatShape(T.Strides) << " "
       << kindName(T.Kind);
    if (T.isView())
      OS << " view of %" << T.Base << " +" << T.Offset;
    else if (T.Bytes)
      OS << llvm::format(" @0x%llx (%llu bytes)", static_cast<unsigned long long>(T.DramAddr),
                         static_cast<unsigned long long>(T.Bytes));
    OS << "\n";
  }
  OS << "program (" << Instrs.size() << " instructions):\n";
  for (size_t I = 0; I < Instrs.size(); ++I) {
    const PInstr &In = Instrs[I];
    OS << "  " << I << ": ";
    if (In.Op == abi::Opcode::Kernel)
      OS << "kernel " << In.Spec.key();
    else
      OS << "fallback " << In.AtenOp << (In.Overload.empty() ? "" : "." + In.Overload);
    OS << " (";
    for (size_t K = 0; K < In.Operands.size(); ++K)
      OS << (K ? ", " : "") << (K + In.NumOutputs == In.Operands.size() ? "out %" : "%") << In.Operands[K];
    OS << ")  ; " << In.Node << "\n";
  }
}

std::string LoweringState::resolve(const std::string &Name) const {
  std::string N = Name;
  for (int Guard = 0; Guard < 1000; ++Guard) {
    auto It = Renamed.find(N);
    if (It == Renamed.end())
      return N;
    N = It->second;
  }
  return N;
}

void LoweringState::print(llvm::raw_ostream &OS) const {
  OS << "graph (" << Nodes.size() << " nodes):\n";
  for (const frontend::Node &N : Nodes) {
    OS << "  " << N.Name << " = " << N.opWithOverload() << "(";
    bool First = true;
    for (const frontend::NamedArgument &A : N.Inputs) {
      if (A.Defaulted)
        continue;
      OS << (First ? "" : ", ") << frontend::formatArgument(A.Arg);
      First = false;
    }
    OS << ")";
    auto Sh = Shapes.find(N.Name);
    if (Sh != Shapes.end())
      OS << " : " << frontend::formatShape(Sh->second);
    OS << "\n";
  }
  if (!Renamed.empty()) {
    OS << "removed:";
    for (const auto &[From, To] : Renamed)
      OS << " " << From << "->" << To;
    OS << "\n";
  }
  auto PrintMarks = [&](const char *What, const std::map<std::string, std::string> &Marks) {
    if (Marks.empty())
      return;
    OS << What << ":";
    for (const auto &[Value, Node] : Marks)
      OS << " " << Value << "<-" << Node;
    OS << "\n";
  };
  PrintMarks("fusion marks, batch norm folding (result <- batch_norm)", Fusion.BatchNormInto);
  PrintMarks("fusion marks, residual adds (result <- add)", Fusion.Residual);
  PrintMarks("fusion marks, GEMM epilogues (result <- relu/gelu)", Fusion.Epilogue);
  PrintMarks("fusion marks, elementwise chains (result <- next op)", Fusion.ChainNext);
  PrintMarks("fusion marks, channel gates (product <- 1x1 convolution)", Fusion.Gate);
  PrintMarks("fusion marks, written in place into a cat (value <- cat)", Fusion.CatSlot);
  if (!P.Tensors.empty() || !P.Instrs.empty())
    P.print(OS);
}

void Program::printMemoryPlan(llvm::raw_ostream &OS, unsigned Width) const {
  auto MiB = [](uint64_t B) { return double(B) / (1 << 20); };
  const int64_t End = int64_t(Instrs.size());
  OS << llvm::format("Memory plan: DRAM %.3f MiB = constants %.3f MiB + activation arena %.3f MiB; live-bytes lower "
                     "bound %.3f MiB (arena / bound = %.3f)\n",
                     MiB(DramBytes), MiB(ConstantBytes), MiB(ArenaBytes), MiB(LowerBoundBytes),
                     LowerBoundBytes ? double(ArenaBytes) / double(LowerBoundBytes) : 1.0);
  if (Lifetimes.empty())
    return;
  // Columns cover the instructions -1 (inputs arrive) .. End (outputs leave).
  const int64_t Span = End + 2;
  Width = std::max<unsigned>(8, std::min<unsigned>(Width, unsigned(Span)));
  auto Column = [&](int64_t I) { return unsigned((I + 1) * int64_t(Width) / Span); };
  std::vector<LiveRange> ByAddr = Lifetimes;
  std::stable_sort(ByAddr.begin(), ByAddr.end(), [&](const LiveRange &A, const LiveRange &B) {
    return Tensors[A.Tensor].DramAddr < Tensors[B.Tensor].DramAddr;
  });
  const uint64_t ArenaBase = ConstantBytes;
  OS << llvm::format("  %10s %10s %11s  %-*s  %s\n", (const char *)"offset", (const char *)"KiB",
                     (const char *)"live", int(Width), (const char *)"instructions -1 .. end", (const char *)"tensor");
  for (const LiveRange &L : ByAddr) {
    const PTensor &T = Tensors[L.Tensor];
    std::string Bar(Width, '.');
    for (unsigned C = Column(L.First); C <= Column(L.Last) && C < Width; ++C)
      Bar[C] = '#';
    std::string Live = (L.First < 0 ? std::string("in") : std::to_string(L.First)) + ".." +
                       (L.Last >= End ? std::string("out") : std::to_string(L.Last));
    OS << llvm::format("  0x%08llx %10.1f %11s  %s  %s\n", (unsigned long long)(T.DramAddr - ArenaBase),
                       double(T.Bytes) / 1024, Live.c_str(), Bar.c_str(), T.Name.c_str());
  }
}
