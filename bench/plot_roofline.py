#!/usr/bin/python3
"""Draws a model's roofline on the modelled Atalla from atalla-run --report-json.

Usage: plot_roofline.py COUNTERS.json OUT.png

Each kernel call is a point: x its arithmetic intensity (FLOPs per SDMA byte
it moved), y its modelled performance (FLOPs per modelled cycle), its area
proportional to its share of the model's cycles. The roof is the machine's:
min(array peak, intensity x DRAM bytes per cycle), from the machine
description in the same file. Kernels with no FLOPs (copies, pads) cannot sit
on a roofline; the title counts them and their share of cycles. Fallback
calls are left out (they do not run on Atalla). These are model figures, not
host measurements.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    try:
        with open(argv[1]) as f:
            data = json.load(f)
        machine = data["machine"]
        rows = data["instructions"]
        total = float(data["totals"]["model_cycles"]) or 1.0
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.stderr.write("plot_roofline.py: %s: not an atalla-run --report-json file (%s)\n" % (argv[1], e))
        return 1
    peak = 2.0 * machine["array_rows"] * machine["array_cols"]
    bw = float(machine["dram_bytes_per_cycle"])
    points, movers, mover_cycles = [], 0, 0.0
    for r in rows:
        if r.get("placement") != "accelerator":
            continue
        moved = r["sdma_bytes_in"] + r["sdma_bytes_out"]
        cycles = r["model_cycles"]
        if r["flops"] <= 0 or moved <= 0 or cycles <= 0:
            movers += 1
            mover_cycles += cycles
            continue
        points.append((r["flops"] / moved, r["flops"] / cycles, cycles / total, r["op"], r["node"]))

    fig, ax = plt.subplots(figsize=(10, 6.5))
    lo = min([p[0] for p in points] + [0.01]) / 2
    hi = max([p[0] for p in points] + [peak / bw]) * 4
    xs = [lo * (hi / lo) ** (i / 200.0) for i in range(201)]
    ax.plot(xs, [min(peak, x * bw) for x in xs], color="black", linewidth=1.5,
            label="roof: %.0f flop/cycle peak, %.4g B/cycle DRAM" % (peak, bw))
    ax.axvline(peak / bw, color="grey", linestyle=":", linewidth=1)
    ops = sorted({p[3] for p in points})
    cmap = plt.get_cmap("tab10")
    for i, op in enumerate(ops):
        sel = [p for p in points if p[3] == op]
        ax.scatter([p[0] for p in sel], [p[1] for p in sel], s=[30 + 900 * p[2] for p in sel],
                   color=cmap(i % 10), alpha=0.7, edgecolors="black", linewidths=0.5, label=op)
    for p in sorted(points, key=lambda p: -p[2])[:8]:
        ax.annotate(p[4], (p[0], p[1]), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per SDMA byte)")
    ax.set_ylabel("modelled performance (FLOP per cycle)")
    ax.set_ylim(bottom=max(min([p[1] for p in points] + [1.0]) / 4, 1e-3), top=peak * 2)
    name = data.get("blob", "").split("/")[-1]
    ax.set_title("%s on %s (model): %.3g cycles = %.1f us at %.0f MHz\n"
                 "%d kernels plotted; %d data-movement kernels (%.1f%% of cycles) not shown"
                 % (name, machine.get("name", "?"), total, total / machine["clock_mhz"], machine["clock_mhz"],
                    len(points), movers, 100.0 * mover_cycles / total), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(argv[2], dpi=110)
    print("wrote %s (%d kernels on the roofline)" % (argv[2], len(points)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
