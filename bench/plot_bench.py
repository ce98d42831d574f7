#!/usr/bin/python3
"""Draws atalla-bench's Google Benchmark JSON as a PNG chart.

Usage: plot_bench.py BENCH.json OUT.png

Top panel: throughput per case (GFLOP/s for gemm/bgemm, GB/s for softmax and
memcpy), generated kernel (atalla) beside oneDNN. Bottom panel: the time
ratio atalla / oneDNN per case (< 1: the generated kernel is faster), with the
per-suite geometric means in the legend. Cases pair by name:
<family>/<impl>/<dims>; atalla_bf16 pairs with onednn_bf16, or, where oneDNN
has no bf16 primitive (it needs avx512_core), with the fp32 onednn case.
"""
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

TIME_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        name = b["name"]
        parts = name.split("/")
        t = b["real_time"] * TIME_NS.get(b.get("time_unit", "ns"), 1.0)
        rate = b.get("GFLOP/s", b.get("GB/s"))
        # Repetitions (atalla-bench runs five by default): the fastest, as
        # the bench's own summary takes them.
        if name not in runs or t < runs[name]["time_ns"]:
            runs[name] = {"parts": parts, "time_ns": t, "rate": rate}
    return data.get("context", {}), runs


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    context, runs = load(argv[1])
    cases = []  # (label, family, atalla, onednn)
    for name, r in runs.items():
        p = r["parts"]
        if len(p) < 3 or p[1] not in ("atalla", "atalla_bf16"):
            continue
        bf16 = p[1] == "atalla_bf16"
        family = p[0] + ("_bf16" if bf16 else "")
        partner = "/".join([p[0], "onednn_bf16" if bf16 else "onednn"] + p[2:])
        label = "/".join([family] + p[2:])
        if bf16 and partner not in runs:
            # oneDNN has no bf16 primitive on this CPU: against its fp32 case
            partner = "/".join([p[0], "onednn"] + p[2:])
            label += " (vs fp32)"
        if partner in runs:
            cases.append((label, family, r, runs[partner]))
    memcpy = [r for n, r in runs.items() if n.startswith("memcpy/")]
    if not cases:
        print("plot_bench: no atalla/onednn pairs in " + argv[1], file=sys.stderr)
        return 1

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(10, 0.6 * len(cases) + 3), 9),
                                      gridspec_kw={"height_ratios": [3, 2]})
    xs = range(len(cases))
    w = 0.4
    top.bar([x - w / 2 for x in xs], [c[2]["rate"] or 0 for c in cases], w, label="atalla",
            color="tab:orange")
    top.bar([x + w / 2 for x in xs], [c[3]["rate"] or 0 for c in cases], w, label="oneDNN",
            color="tab:blue")
    for m in memcpy:
        top.axhline(m["rate"], color="gray", linestyle=":",
                    label="memcpy %.1f GB/s" % m["rate"])
    top.set_yscale("log")
    top.set_ylabel("GFLOP/s (gemm) / GB/s (softmax)")
    top.set_xticks(list(xs))
    top.set_xticklabels([c[0] for c in cases], rotation=60, ha="right", fontsize=8)
    top.legend()
    top.set_title("atalla-bench: generated kernels (simulated device, host time) vs oneDNN "
                  + context.get("onednn_version", "") + ", 1 thread")

    ratios = [c[2]["time_ns"] / c[3]["time_ns"] for c in cases]
    def suite(fam):  # bgemm is in the GEMM suite
        base = "softmax" if fam.startswith("softmax") else "gemm"
        return base + ("_bf16" if fam.endswith("_bf16") else "")
    colors = ["tab:green" if r <= 1 else "tab:red" for r in ratios]
    bottom.bar(list(xs), ratios, 0.6, color=colors)
    bottom.axhline(1.0, color="black", linewidth=0.8)
    bottom.set_yscale("log")
    bottom.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.1f"))
    bottom.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%.1f"))
    for x, r in zip(xs, ratios):
        bottom.annotate("%.2f" % r, (x, r), ha="center", va="bottom", fontsize=7)
    for s in sorted({suite(c[1]) for c in cases}):
        rs = [r for r, c in zip(ratios, cases) if suite(c[1]) == s]
        g = math.exp(sum(math.log(r) for r in rs) / len(rs))
        bottom.plot([], [], " ", label="geomean %s: %.3f (%d cases)" % (s, g, len(rs)))
    bottom.set_ylabel("time ratio atalla / oneDNN")
    bottom.set_xticks(list(xs))
    bottom.set_xticklabels([c[0] for c in cases], rotation=60, ha="right", fontsize=8)
    bottom.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(argv[2], dpi=120)
    print("plot_bench: wrote " + argv[2], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
