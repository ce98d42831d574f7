#!/usr/bin/env python3
"""torchscript_anchor.py - what a CPU user would run instead, for every zoo model.

For each model of tests/data/zoo, rebuilds the very same torch 1.13 module
tools/make_zoo.py wrote (same seeds, so the same weights: checked against the
committed out0.bin bit for bit) and times, single threaded, on the committed
input:
  eager_ms        the module in eager mode (torch.no_grad)
  torchscript_ms  torch.jit.freeze(torch.jit.trace(module)) then
                  torch.jit.optimize_for_inference (oneDNN convolutions,
                  folded batch norm: the stronger CPU anchor)
Writes JSON {"context": {...}, "models": {name: {...}}} to OUT (default
stdout). atalla-bench-models reads it (ATALLA_TORCHSCRIPT_TIMES=OUT) and puts
the columns beside the device's times in its summary; `make bench` runs both.

    /usr/bin/python3 bench/torchscript_anchor.py [-o OUT] [--min-time S] [model ...]

Exit status: 0, 1 when torch is missing or a model does not reproduce its
committed output, 2 for bad arguments.
"""
import argparse
import json
import os
import platform
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))


def timed(fn, min_time):
    """Seconds per call: warm up, then repeat for at least min_time, best of 3 rounds."""
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_time / 3:
                break
        best = min(best, dt / n)
    return best


def main():
    ap = argparse.ArgumentParser(description="Time the zoo's models under torch 1.13 eager and TorchScript "
                                             "freeze + optimize_for_inference, one thread.")
    ap.add_argument("models", nargs="*", help="zoo models (default: every one in MANIFEST.json)")
    ap.add_argument("-o", "--output", help="JSON output file (default: stdout)")
    ap.add_argument("--zoo", default=os.path.join(ROOT, "tests", "data", "zoo"), help="the zoo folder")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds of timing per model and side")
    a = ap.parse_args()
    try:
        import torch
        import torchvision as tv
        import make_zoo
    except ImportError as e:
        sys.stderr.write("torchscript_anchor.py: error: needs python3-torch and python3-torchvision: %s\n" % e)
        return 1
    with open(os.path.join(a.zoo, "MANIFEST.json")) as f:
        manifest = json.load(f)
    names = a.models or sorted(manifest)
    for n in names:
        if n not in make_zoo.MODELS or n not in manifest:
            sys.stderr.write("torchscript_anchor.py: error: no zoo model '%s'\n" % n)
            return 2
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")  # the tracer's notes on Python control flow
    out = {"context": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                       "mkldnn": torch.backends.mkldnn.is_available(), "machine": platform.processor() or
                       platform.machine()}, "models": {}}
    for name in names:
        torch.manual_seed(0)
        model, args, _ = make_zoo.MODELS[name](torch, tv)
        model = make_zoo.realistic(torch, model, args)
        with open(os.path.join(a.zoo, name + ".in0.bin"), "rb") as f:
            x = torch.frombuffer(bytearray(f.read()), dtype=args[0].dtype).reshape(args[0].shape)
        with open(os.path.join(a.zoo, name + ".out0.bin"), "rb") as f:
            want = f.read()
        with torch.no_grad():
            got = model(x)
            if make_zoo.tensor_bytes(torch, got) != want:
                sys.stderr.write("torchscript_anchor.py: %s: the rebuilt module does not reproduce the committed "
                                 "out0.bin (rerun tools/make_zoo.py)\n" % name)
                return 1
            eager = timed(lambda: model(x), a.min_time)
            ts = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, (x,)).eval()))
            ts_out = ts(x)
            err = float((ts_out.double() - got.double()).abs().max() / got.double().abs().max())
            script = timed(lambda: ts(x), a.min_time)
        out["models"][name] = {"eager_ms": eager * 1e3, "torchscript_ms": script * 1e3,
                               "torchscript_normalised_err": err}
        sys.stderr.write("%-20s eager %8.3f ms   torchscript %8.3f ms\n" % (name, eager * 1e3, script * 1e3))
    text = json.dumps(out, indent=1, sort_keys=True) + "\n"
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
