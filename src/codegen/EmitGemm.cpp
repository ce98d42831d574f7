//===- codegen/EmitGemm.cpp - batched C = A @ B (+ bias) -------------------===//
//
// A BLIS-style schedule specialised to the static shape. Per batch, C is
// computed in TM x TN tiles held in the scratchpad, K in blocks of TK; the
// block sizes are chosen at compile time to minimise SDMA traffic within the
// scratchpad budget (A is loaded once per M block when K fits one block, B
// once per batch when it fits whole). Packing is the SDMA: A lands as
// [tm][tk] or [tk][tm] and is read in place; B is laid out as NR-wide panels
// ([tk][NR] each: rows staged through a small buffer then copied, or
// transposed / gathered from a raw tile), or, for C with few rows, read in
// place from its row-major tile. The microkernel keeps an MR x NR block of C
// in 12 <8 x float> registers across the k loop (broadcast a(m,k), two B
// vector loads, fmuladd), fully unrolled over rows and vectors; the M and N
// remainders get their own variants (short row groups cover several panels
// so they still keep 12 accumulators). All trip counts are constants. Bias
// seeds the C tile (by SDMA, stride 0 for a broadcast row); fp32
// accumulation, k increasing. A fused relu clamps the finished C tile in
// scratchpad before its store.
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"

#include "llvm/IR/Intrinsics.h"

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen::detail;

namespace {

/// Lanes of one accumulator vector (AVX2: 8 floats in a ymm register).
constexpr int64_t VW = 8;
/// Microkernel: MR rows x NR columns of C in MR * NR / VW = 12 vector
/// registers, plus two B vectors and one broadcast A value: 15 of AVX2's 16.
constexpr int64_t MR = 6, NR = 2 * VW;
/// Largest K block: a B micro-panel (KC x NR) stays in L1.
constexpr int64_t KCMax = 256;
/// Largest M block: the A block (MC x KC) stays in L2.
constexpr int64_t MCMax = 384;
/// Accumulator vectors a microkernel keeps (short row groups take more panels).
constexpr int64_t MaxAcc = 12;
/// Up to this many rows of C, B is read in place from its row-major SDMA tile
/// (little reuse: packing into panels would cost more than it saves).
constexpr int64_t DirectBMaxM = 16;
/// Floats of the staging buffer B rows are copied through (32 KiB).
constexpr int64_t StageFloats = 8192;
/// Floats of B per block in that case (128 KiB: stays in L2).
constexpr int64_t DirectBBlock = 32768;

int64_t ceilDiv(int64_t A, int64_t B) { return (A + B - 1) / B; }
int64_t roundUp(int64_t A, int64_t B) { return ceilDiv(A, B) * B; }

} // namespace

Error atalla::codegen::detail::emitGemm(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  const size_t NumOps = Spec.HasBias ? 4 : 3;
  if (Spec.Operands.size() != NumOps)
    return specError(Spec, "expected " + Twine(NumOps) + " operands, got " +
                               Twine(Spec.Operands.size()));
  const abi::OperandSpec &A = Spec.Operands[0], &Bm = Spec.Operands[1], &C = Spec.output();
  const size_t Rank = C.Sizes.size();
  if (Rank < 2)
    return specError(Spec, "gemm operands need rank >= 2");
  for (const abi::OperandSpec &O : Spec.Operands)
    if (O.Sizes.size() != Rank)
      return specError(Spec, "gemm operands must have the output's rank");
  const int64_t M = C.Sizes[Rank - 2], N = C.Sizes[Rank - 1], K = A.Sizes[Rank - 1];
  if (A.Sizes[Rank - 2] != M || Bm.Sizes[Rank - 2] != K || Bm.Sizes[Rank - 1] != N)
    return specError(Spec, "gemm shapes do not agree: A [.., " + Twine(A.Sizes[Rank - 2]) + ", " +
                               Twine(K) + "], B [.., " + Twine(Bm.Sizes[Rank - 2]) + ", " +
                               Twine(Bm.Sizes[Rank - 1]) + "], C [.., " + Twine(M) + ", " +
                               Twine(N) + "]");
  for (size_t I = 0; I < NumOps; ++I) {
    const abi::OperandSpec &O = Spec.Operands[I];
    for (size_t D = 0; D + 2 < Rank; ++D)
      if (O.Sizes[D] != C.Sizes[D])
        return specError(Spec, "operand " + Twine(I) + " is not in the output's batch shape");
    if (Spec.HasBias && I == 2 && (O.Sizes[Rank - 2] != M || O.Sizes[Rank - 1] != N))
      return specError(Spec, "the bias is not [.., M, N]");
  }
  if (C.numel() == 0) {
    KB.finish();
    return Error::success();
  }

  IRBuilder<> &B = KB.B;
  const int64_t SAm = A.Strides[Rank - 2], SAk = A.Strides[Rank - 1];
  const int64_t SBk = Bm.Strides[Rank - 2], SBn = Bm.Strides[Rank - 1];

  // How each operand tile is packed.
  enum class Pack { Rows, Cols, Gather };
  const Pack APack = (SAk == 1 || K == 1)   ? Pack::Rows  // [tm][tk]
                     : (SAm == 1 || M == 1) ? Pack::Cols  // [tk][tm]
                                            : Pack::Gather; // [tm][tk], per row
  const Pack BPack = (SBn == 1 || N == 1)   ? Pack::Rows  // whole rows, staged into panels
                     : (SBk == 1 || K == 1) ? Pack::Cols  // [tn][tk] -> panels
                                            : Pack::Gather; // [tk][tn], per row -> panels

  // Cache blocking, from the static shape. K blocks are balanced (so usually
  // all equal). TM x TN is chosen to minimise the SDMA traffic (A is reloaded
  // per N block unless K fits one block, B per M block unless it is resident)
  // within the scratchpad budget, with a small charge per tile.
  const int64_t BFactor = BPack == Pack::Rows ? 1 : 2;
  auto candidates = [](int64_t Dim, int64_t Step, int64_t Max) {
    std::vector<int64_t> Out;
    for (int64_t Blocks = 1; Blocks <= ceilDiv(Dim, Step); ++Blocks) {
      int64_t T = Blocks == 1 ? Dim : roundUp(ceilDiv(Dim, Blocks), Step);
      if (T <= Max && (Out.empty() || Out.back() != T))
        Out.push_back(T);
      if (T <= Step)
        break;
    }
    if (Out.empty())
      Out.push_back(std::min(Dim, Step));
    return Out;
  };
  const bool DirectB = BPack == Pack::Rows && M <= DirectBMaxM;
  const int64_t KP = std::max<int64_t>(K, 1); // K = 0: C is the bias, or zeros
  int64_t TK = 0, TM = 0, TN = 0;
  {
    // Cost in floats moved: A and B blocks (B's narrow panel rows cost
    // more per byte), C tile reloads per extra K block, and a charge per tile.
    double Best = 0;
    // Less what rounding each buffer to ScratchpadAlign can add.
    const int64_t Floats = int64_t(KB.Budget - 5 * ScratchpadAlign) / 4;
    // With B read in place (few rows of C), each B element is used by few
    // FMAs: keep its block small enough to stay in L2 between the SDMA copy
    // and the compute, and let the K blocks shrink to allow that.
    std::vector<int64_t> KCs = {KCMax, KCMax * 3 / 4, KCMax / 2};
    if (DirectB)
      KCs = {KCMax, KCMax / 2, KCMax / 4, KCMax / 8, KCMax / 16};
    for (int64_t KCm : KCs) {
      const int64_t NKB = ceilDiv(KP, KCm), CK = ceilDiv(KP, NKB);
      const bool OneK = NKB == 1;
      for (int64_t CN : candidates(N, NR, N))
        for (int64_t CM : candidates(M, MR, MCMax)) {
          if (CK * CN * BFactor + CM * CK + CM * CN + std::max(StageFloats, CN) > Floats)
            continue;
          if (DirectB && CK * CN > DirectBBlock && CK > KCMax / 16)
            continue;
          const int64_t NMB = ceilDiv(M, CM), NNB = ceilDiv(N, CN);
          double Cost = double(OneK ? M * K : NNB * M * K) +
                        double(OneK && NNB == 1 ? K * N : NMB * K * N) * BFactor * 1.5 +
                        double(NMB * NNB) * 4096 + double(NKB - 1) * double(M * N) * 0.5;
          if (TM == 0 || Cost < Best) {
            Best = Cost;
            TK = CK;
            TM = CM;
            TN = CN;
          }
        }
    }
    if (TM == 0) { // not reached for fp32 with KC <= 256
      TK = std::min(KP, KCMax);
      TM = std::min(M, MR);
      TN = std::min(N, NR);
    }
  }
  const bool OneKBlock = TK == K;
  const bool BResident = OneKBlock && TN == N;

  // One scratchpad grant carved into the buffers (one alloc/free per call
  // instead of four or five: it shows on small shapes).
  const int64_t StageRows = std::max<int64_t>(1, std::min(TK, StageFloats / TN));
  const bool Staged = BPack == Pack::Rows && !DirectB;
  uint64_t GrantBytes = 0;
  auto carve = [&](int64_t Floats) {
    uint64_t Off = GrantBytes;
    GrantBytes += (uint64_t(Floats) * 4 + ScratchpadAlign - 1) / ScratchpadAlign * ScratchpadAlign;
    return Off;
  };
  const uint64_t AOff = carve(TM * TK), BOff = carve(TK * TN);
  const uint64_t RawOff = BPack != Pack::Rows ? carve(TK * TN) : 0;
  const uint64_t StageOff = Staged ? carve(StageRows * TN) : 0;
  const uint64_t AccOff = carve(TM * TN);
  Value *Grant = KB.alloc(GrantBytes, "gemm.buffers");
  Type *B8 = Type::getInt8Ty(KB.Ctx);
  auto part = [&](uint64_t Off) { return KB.B.CreateConstInBoundsGEP1_64(B8, Grant, Off); };
  Value *ABuf = part(AOff), *BBuf = part(BOff), *Acc = part(AccOff);
  Value *BRaw = BPack != Pack::Rows ? part(RawOff) : nullptr;
  Value *BStage = Staged ? part(StageOff) : nullptr;
  int64_t SBiasM = 0, SBiasN = 0;
  if (Spec.HasBias) {
    SBiasM = Spec.Operands[2].Strides[Rank - 2];
    SBiasN = Spec.Operands[2].Strides[Rank - 1];
  }

  std::vector<Value *> Addr;
  for (unsigned I = 0; I < NumOps; ++I)
    Addr.push_back(KB.operandAddr(I));
  std::vector<int64_t> BatchSizes(C.Sizes.begin(), C.Sizes.end() - 2);
  std::vector<std::vector<int64_t>> BatchStrides;
  int64_t Batch = 1;
  for (int64_t S : BatchSizes)
    Batch *= S;
  for (const abi::OperandSpec &O : Spec.Operands)
    BatchStrides.emplace_back(O.Strides.begin(), O.Strides.end() - 2);

  auto c64 = [&](int64_t V) { return KB.i64(uint64_t(V)); };
  auto bytes = [&](Value *Elems) { return B.CreateShl(Elems, 2); };
  auto at = [&](unsigned Op, Value *Elems) { return B.CreateAdd(Addr[Op], bytes(Elems)); };
  auto mul = [&](Value *X, int64_t S) { return B.CreateMul(X, c64(S)); };
  auto add = [&](Value *X, int64_t S) { return B.CreateAdd(X, c64(S)); };
  auto vecTy = [&](int64_t L) -> Type * { return FixedVectorType::get(KB.F32, unsigned(L)); };
  // Lane groups of a row of width Wd: full vectors, then one shorter vector.
  auto chunks = [&](int64_t Wd) {
    std::vector<std::pair<int64_t, int64_t>> Out; // (offset, lanes)
    for (int64_t O = 0; O < Wd; O += VW)
      Out.push_back({O, std::min<int64_t>(VW, Wd - O)});
    return Out;
  };
  auto loadVec = [&](Value *Buf, Value *Index, int64_t L) -> Value * {
    if (L == 1)
      return KB.loadF32(Buf, Index);
    return B.CreateAlignedLoad(vecTy(L), KB.elementPtr(Buf, Index), Align(4));
  };
  auto storeVec = [&](Value *V, Value *Buf, Value *Index, int64_t L = 0) {
    if (L == 1)
      KB.storeF32(V, Buf, Index);
    else
      B.CreateAlignedStore(V, KB.elementPtr(Buf, Index), Align(4));
  };

  KB.forLoop(Batch, "batch", [&](Value *Bi) {
    std::vector<Value *> Base = stridedOffsets(B, Bi, BatchSizes, BatchStrides);

    // A block (m0.., k0..) into ABuf; a(m, k) = ABuf[m * ARS + k * ACS].
    auto loadA = [&](Value *M0, int64_t MN, Value *K0, int64_t KN) {
      Value *ASrc = at(0, B.CreateAdd(Base[0], B.CreateAdd(mul(M0, SAm), mul(K0, SAk))));
      switch (APack) {
      case Pack::Rows:
        KB.sdmaLoad(ABuf, ASrc, c64(MN), c64(KN * 4), c64(SAm * 4));
        break;
      case Pack::Cols:
        KB.sdmaLoad(ABuf, ASrc, c64(KN), c64(MN * 4), c64(SAk * 4));
        break;
      case Pack::Gather:
        KB.forLoop(MN, "agather", [&](Value *Mi) {
          KB.sdmaLoad(KB.elementPtr(ABuf, mul(Mi, KN)), B.CreateAdd(ASrc, mul(Mi, SAm * 4)),
                      c64(KN), c64(4), c64(SAk * 4));
        });
        break;
      }
    };
    // B block (k0.., n0..) into BBuf as NR-wide panels: panel p (width w,
    // NR except the last) at p * NR * KN, b(k, p * NR + j) at + k * w + j.
    auto loadB = [&](Value *N0, int64_t NN, Value *K0, int64_t KN) {
      Value *BSrc = at(1, B.CreateAdd(Base[1], B.CreateAdd(mul(K0, SBk), mul(N0, SBn))));
      const int64_t FullP = NN / NR, RemN = NN % NR;
      if (DirectB) {
        KB.sdmaLoad(BBuf, BSrc, c64(KN), c64(NN * 4), c64(SBk * 4));
        return;
      }
      if (BPack == Pack::Rows) {
        // Whole rows by SDMA into a small staging buffer (one long copy per
        // chunk instead of one 64-byte row per panel row), then vector copies
        // into the panels while the chunk is still in L1.
        const int64_t R = std::min(StageRows, KN), FullC = KN / R, RemC = KN % R;
        auto chunk = [&](Value *K0c, int64_t Rows) {
          KB.sdmaLoad(BStage, B.CreateAdd(BSrc, mul(K0c, SBk * 4)), c64(Rows), c64(NN * 4),
                      c64(SBk * 4));
          auto copy = [&](Value *P, int64_t Wd) {
            Value *Dst = KB.elementPtr(BBuf, B.CreateAdd(mul(P, NR * KN), mul(K0c, Wd)));
            Value *Src = KB.elementPtr(BStage, mul(P, NR));
            KB.forLoop(Rows, "bstage.r", [&](Value *Ri) {
              for (int64_t Off = 0; Off < Wd; Off += VW) {
                int64_t L = std::min<int64_t>(VW, Wd - Off);
                storeVec(loadVec(Src, add(mul(Ri, NN), Off), L), Dst, add(mul(Ri, Wd), Off), L);
              }
            });
          };
          KB.forLoop(FullP, "bstage.p", [&](Value *P) { copy(P, NR); });
          if (RemN)
            copy(c64(FullP), RemN);
        };
        KB.forLoop(FullC, "bstage", [&](Value *Ci) { chunk(mul(Ci, R), R); });
        if (RemC)
          chunk(c64(FullC * R), RemC);
        return;
      }
      // raw(k, n) = BRaw[k * RK + n * RN]
      int64_t RK, RN;
      if (BPack == Pack::Cols) {
        KB.sdmaLoad(BRaw, BSrc, c64(NN), c64(KN * 4), c64(SBn * 4));
        RK = 1;
        RN = KN;
      } else {
        KB.forLoop(KN, "bgather", [&](Value *Ki) {
          KB.sdmaLoad(KB.elementPtr(BRaw, mul(Ki, NN)), B.CreateAdd(BSrc, mul(Ki, SBk * 4)),
                      c64(NN), c64(4), c64(SBn * 4));
        });
        RK = NN;
        RN = 1;
      }
      auto repack = [&](Value *P, int64_t Wd) {
        Value *Dst = KB.elementPtr(BBuf, mul(P, NR * KN));
        Value *NBase = mul(P, NR);
        KB.forLoop(
            KB.i64(0), KB.i64(Wd), "brepack.j",
            [&](Value *J) {
              Value *Src = KB.elementPtr(BRaw, mul(B.CreateAdd(NBase, J), RN));
              KB.forLoop(KN, "brepack.k", [&](Value *Ki) {
                KB.storeF32(KB.loadF32(Src, mul(Ki, RK)), Dst, B.CreateAdd(mul(Ki, Wd), J));
              });
            },
            /*Parallel=*/false, /*Rolled=*/true);
      };
      KB.forLoop(FullP, "brepack", [&](Value *P) { repack(P, NR); });
      if (RemN)
        repack(c64(FullP), RemN);
    };

    // The register-blocked update of the C tile (MN x NN, in Acc, row
    // stride NN) by one K block: R rows from M0 times NP panels from P (each
    // of width Wd), all accumulators in vector registers across the k loop.
    // Panel p starts at BBuf[p * PanelStep] with rows RowStep apart.
    auto micro = [&](Value *M0, int64_t R, Value *P, int64_t NP, int64_t Wd, int64_t MN,
                     int64_t NN, int64_t KN, bool Zero) {
      const int64_t ARS = APack == Pack::Cols ? 1 : KN, ACS = APack == Pack::Cols ? MN : 1;
      const int64_t PanelStep = DirectB ? NR : NR * KN, RowStep = DirectB ? NN : Wd;
      std::vector<std::pair<int64_t, int64_t>> Ch; // (column offset in the tile, lanes)
      for (int64_t Pi = 0; Pi < NP; ++Pi)
        for (auto [Off, L] : chunks(Wd))
          Ch.push_back({Pi * NR + Off, L});
      Value *N0 = mul(P, NR);
      Value *Panel = KB.elementPtr(BBuf, mul(P, PanelStep));
      std::vector<std::vector<AllocaInst *>> Slots(R);
      std::vector<Value *> CRow(R), ARow(R);
      for (int64_t Ri = 0; Ri < R; ++Ri) {
        Value *Mi = add(M0, Ri);
        CRow[Ri] = KB.elementPtr(Acc, B.CreateAdd(mul(Mi, NN), N0));
        ARow[Ri] = KB.elementPtr(ABuf, mul(Mi, ARS));
        for (auto [Off, L] : Ch) {
          AllocaInst *S = KB.slot(L == 1 ? KB.F32 : vecTy(L), "acc");
          Value *Init = Zero ? Constant::getNullValue(S->getAllocatedType())
                             : loadVec(CRow[Ri], c64(Off), L);
          B.CreateStore(Init, S);
          Slots[Ri].push_back(S);
        }
      }
      KB.forLoop(KN, "k", [&](Value *Ki) {
        std::vector<Value *> Bv;
        Value *BRow = KB.elementPtr(Panel, mul(Ki, RowStep));
        for (auto [Off, L] : Ch) {
          int64_t Pi = Off / NR;
          Bv.push_back(loadVec(BRow, c64(Pi * PanelStep + Off % NR), L));
        }
        for (int64_t Ri = 0; Ri < R; ++Ri) {
          Value *Av = KB.loadF32(ARow[Ri], mul(Ki, ACS));
          for (size_t CI = 0; CI < Ch.size(); ++CI) {
            int64_t L = Ch[CI].second;
            Type *Ty = L == 1 ? KB.F32 : vecTy(L);
            Value *Splat = L == 1 ? Av : B.CreateVectorSplat(unsigned(L), Av);
            Value *Old = B.CreateLoad(Ty, Slots[Ri][CI]);
            B.CreateStore(B.CreateIntrinsic(Intrinsic::fmuladd, {Ty}, {Splat, Bv[CI], Old}),
                          Slots[Ri][CI]);
          }
        }
      });
      for (int64_t Ri = 0; Ri < R; ++Ri)
        for (size_t CI = 0; CI < Ch.size(); ++CI) {
          int64_t L = Ch[CI].second;
          Value *V = B.CreateLoad(L == 1 ? KB.F32 : vecTy(L), Slots[Ri][CI]);
          if (L == 1)
            KB.storeF32(V, CRow[Ri], c64(Ch[CI].first));
          else
            storeVec(V, CRow[Ri], c64(Ch[CI].first));
        }
    };
    auto compute = [&](int64_t MN, int64_t NN, int64_t KN, bool Zero) {
      const int64_t FullM = MN / MR, RemM = MN % MR, FullP = NN / NR, RemN = NN % NR;
      // Full row groups: one panel at a time, the panel stays in L1 while
      // the row groups stream past.
      if (FullM) {
        KB.forLoop(FullP, "nr", [&](Value *P) {
          KB.forLoop(FullM, "mr", [&](Value *G) {
            micro(mul(G, MR), MR, P, 1, NR, MN, NN, KN, Zero);
          });
        });
        if (RemN)
          KB.forLoop(FullM, "mr.e", [&](Value *G) {
            micro(mul(G, MR), MR, c64(FullP), 1, RemN, MN, NN, KN, Zero);
          });
      }
      // Leftover rows: as many panels at once as keep MaxAcc accumulators.
      if (RemM) {
        Value *M0 = c64(FullM * MR);
        const int64_t NP = std::max<int64_t>(1, MaxAcc / (RemM * (NR / VW)));
        const int64_t Groups = FullP / NP, Left = FullP % NP;
        KB.forLoop(Groups, "nr.g", [&](Value *G) {
          micro(M0, RemM, mul(G, NP), NP, NR, MN, NN, KN, Zero);
        });
        if (Left)
          micro(M0, RemM, c64(Groups * NP), Left, NR, MN, NN, KN, Zero);
        if (RemN)
          micro(M0, RemM, c64(FullP), 1, RemN, MN, NN, KN, Zero);
      }
    };

    // One C tile (m0.., n0..) of MN x NN: bias (or zero), all K blocks, store.
    auto tile = [&](Value *M0, int64_t MN, Value *N0, int64_t NN) {
      if (Spec.HasBias) {
        Value *BiasSrc =
            at(2, B.CreateAdd(Base[2], B.CreateAdd(mul(M0, SBiasM), mul(N0, SBiasN))));
        if (SBiasN == 1 || NN == 1) {
          KB.sdmaLoad(Acc, BiasSrc, c64(MN), c64(NN * 4), c64(SBiasM * 4));
        } else {
          KB.forLoop(MN, "biasgather", [&](Value *Mi) {
            KB.sdmaLoad(KB.elementPtr(Acc, mul(Mi, NN)), B.CreateAdd(BiasSrc, mul(Mi, SBiasM * 4)),
                        c64(NN), c64(4), c64(SBiasN * 4));
          });
        }
      }
      auto kblock = [&](Value *K0, int64_t KN, bool First) {
        if (!OneKBlock)
          loadA(M0, MN, K0, KN);
        if (!BResident)
          loadB(N0, NN, K0, KN);
        compute(MN, NN, KN, First && !Spec.HasBias);
      };
      const int64_t FullK = K / TK, RemK = K % TK;
      if (K == 0 && !Spec.HasBias)
        KB.forLoop(MN * NN, "zero", [&](Value *I) { KB.storeF32(KB.f32(0), Acc, I); });
      if (K > 0)
        kblock(c64(0), TK, true);
      if (FullK > 1)
        KB.forLoop(c64(1), c64(FullK), "kblk", [&](Value *KBi) { kblock(mul(KBi, TK), TK, false); });
      if (RemK)
        kblock(c64(FullK * TK), RemK, false);
      if (Spec.Post != abi::Epilogue::None) // the fused epilogue, on the tile in scratchpad
        KB.forLoop(
            KB.i64(0), KB.i64(MN * NN), "epilogue",
            [&](Value *I) { KB.storeF32(emitEpilogue(B, Spec.Post, KB.loadF32(Acc, I)), Acc, I); },
            /*Parallel=*/true);
      const unsigned COp = unsigned(NumOps - 1);
      const int64_t SCm = C.Strides[Rank - 2], SCn = C.Strides[Rank - 1];
      Value *CDst = at(COp, B.CreateAdd(Base[COp], B.CreateAdd(mul(M0, SCm), mul(N0, SCn))));
      KB.sdmaStore(CDst, Acc, c64(MN), c64(NN * 4), c64(N * 4));
    };
    auto rowBlock = [&](Value *M0, int64_t MN) {
      if (OneKBlock)
        loadA(M0, MN, c64(0), K);
      const int64_t FullN = N / TN, RemN = N % TN;
      KB.forLoop(FullN, "nblk", [&](Value *NB) { tile(M0, MN, mul(NB, TN), TN); });
      if (RemN)
        tile(M0, MN, c64(FullN * TN), RemN);
    };

    if (BResident)
      loadB(c64(0), N, c64(0), K);
    const int64_t FullM = M / TM, RemM = M % TM;
    KB.forLoop(FullM, "mblk", [&](Value *MB) { rowBlock(mul(MB, TM), TM); });
    if (RemM)
      rowBlock(c64(FullM * TM), RemM);
  });
  KB.finish();
  return Error::success();
}
