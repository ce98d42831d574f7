#!/usr/bin/env python3
"""export_model.py - export PyTorch models to .pt2 archives for atalla-gen.

Needs PyTorch >= 2.1 (torch.export). atalla-gen itself does not: run this
where PyTorch is installed, then compile and check the archive anywhere:

    python3 tools/export_model.py --demo all -o examples/
    python3 tools/export_model.py mypkg.models:Net --shape x=1x3x32x32 -o net.pt2
    python3 tools/export_model.py mypkg.models:Net --shape x=8x16 --dtype x=int64 \\
        --init '{"width": 64}' --dynamic x:0 -o net.pt2

    atalla-gen --shapes static net.pt2 -o net.atb
    atalla-run net.atb --input net.in0.bin --check net.pt2

For every model it writes, beside the archive <name>.pt2:
  <name>.in<i>.bin   the example inputs, raw little-endian, forward-argument order
  <name>.out<i>.bin  eager PyTorch's outputs on them (the reference)
  <name>.json        what torch says about the export: torch version, ops,
                     input and output shapes and dtypes, output sums
Models are put in eval mode. Float inputs are closed-form exact binary
fractions (demo_values), integer inputs are 0..7 patterns, so runs are
reproducible without a seed. The test EndToEndTest.ExamplesCompileAndMatchEager
compiles and checks every archive in examples/ against eager, on these inputs.

Exit status: 0 when every model exported, 1 when one failed (each failure
is one line on stderr naming the model), 2 for bad arguments.
"""
import argparse
import importlib
import json
import math
import os
import sys

DEMOS = {
    # name: (what, builder of (module, example args)) - the seed's demo models.
    "seed_accel_demo": "softmax(matmul(relu(x), w), -1), x [4,8], w [8,16] (my_accel_backend_prototype.py)",
    "seed_export_basics_1": "relu(x @ y.T), x, y [128,64] (export_basics.py 1)",
    "seed_export_basics_2": "softmax(matmul(relu(x), w), -1), x [32,128], w [128,64] (export_basics.py 2)",
    "seed_export_basics_3": "sin(x) + cos(x), x [100] (export_basics.py 3)",
    "seed_linear_relu": "Linear(64, 32) + relu, x [8,64] (explore_fx_graph.py)",
    "seed_mlp": "relu(x @ w1) @ w2, x [16,64], w1 [64,128], w2 [128,10]",
    "seed_attention": "softmax(q @ k^T, -1) @ v, q, k, v [16,32]",
    "seed_elementwise": "(a + b) * c - a, a, b, c [64,64]",
    "seed_tiny_transformer": "one pre-norm transformer block, d_model 64, 4 heads, x [1,16,64]",
}


def fail_usage(msg):
    sys.stderr.write("export_model.py: error: %s\n" % msg)
    sys.exit(2)


def need_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.stderr.write("export_model.py: error: needs PyTorch >= 2.1 (torch.export); "
                         "it is not installed for %s\n" % sys.executable)
        sys.exit(1)
    import torch
    major, minor = (int(p) for p in torch.__version__.split("+")[0].split(".")[:2])
    if (major, minor) < (2, 1) or not hasattr(torch, "export"):
        sys.stderr.write("export_model.py: error: needs PyTorch >= 2.1, found %s\n" % torch.__version__)
        sys.exit(1)
    return torch


def demo_values(torch, n, mul, mod, off, div):
    """v[i] = ((i * mul) % mod - off) / div: exact in float32 (tools/DemoModels.h builds the same)."""
    return torch.tensor([((i * mul) % mod - off) / div for i in range(n)], dtype=torch.float32)


def example_input(torch, shape, dtype, index):
    n = math.prod(shape)
    if dtype.is_floating_point:
        mul, mod, off, div = [(37, 29, 14, 8.0), (53, 31, 15, 16.0)][index % 2]
        return demo_values(torch, n, mul, mod, off, div).reshape(shape).to(dtype)
    if dtype == torch.bool:
        return (torch.arange(n) % 3 == 0).reshape(shape)
    return (torch.arange(n) % 8).reshape(shape).to(dtype)


def build_demo(torch, name):
    nn = torch.nn
    x = lambda s, i=0: example_input(torch, s, torch.float32, i)  # noqa: E731

    class Fn(nn.Module):
        def __init__(self, fn, **params):
            super().__init__()
            for k, v in params.items():
                setattr(self, k, nn.Parameter(v))
            self.fn = fn

        def forward(self, *args):
            return self.fn(self, *args)

    def init(model, seed):
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for _, p in sorted(model.named_parameters()):
                p.copy_(torch.rand(p.shape, generator=g) * 0.5 - 0.25)
        return model

    if name == "seed_accel_demo":
        return Fn(lambda m, a, w: torch.softmax(torch.matmul(torch.relu(a), w), -1)), (x([4, 8]), x([8, 16], 1))
    if name == "seed_export_basics_1":
        return Fn(lambda m, a, b: torch.relu(a @ b.T)), (x([128, 64]), x([128, 64], 1))
    if name == "seed_export_basics_2":
        return Fn(lambda m, a, w: torch.softmax(torch.matmul(torch.relu(a), w), -1)), (x([32, 128]), x([128, 64], 1))
    if name == "seed_export_basics_3":
        return Fn(lambda m, a: torch.sin(a) + torch.cos(a)), (x([100]),)
    if name == "seed_linear_relu":
        lin = init(nn.Linear(64, 32), 1)
        return nn.Sequential(lin, nn.ReLU()), (x([8, 64]),)
    if name == "seed_mlp":
        m = init(Fn(lambda m, a: torch.relu(a @ m.w1) @ m.w2, w1=torch.zeros(64, 128), w2=torch.zeros(128, 10)), 2)
        return m, (x([16, 64]),)
    if name == "seed_attention":
        return (Fn(lambda m, q, k, v: torch.softmax(q @ k.transpose(-2, -1), -1) @ v),
                (x([16, 32]), x([16, 32], 1), x([16, 32]) * 0.5))
    if name == "seed_elementwise":
        return Fn(lambda m, a, b, c: (a + b) * c - a), (x([64, 64]), x([64, 64], 1), x([64, 64]) * 0.25)
    if name == "seed_tiny_transformer":
        # Written out (not nn.TransformerEncoderLayer, whose eval fast path
        # exports as one fused native op).
        from export_with_torch2 import TransformerBlock
        return init(TransformerBlock(), 3), (x([1, 16, 64]),)
    raise KeyError(name)


def parse_shapes(specs, what):
    out = {}
    for s in specs:
        name, eq, dims = s.partition("=")
        if not eq or not name:
            fail_usage("%s %s: expected name=AxBxC" % (what, s))
        try:
            shape = [int(d) for d in dims.split("x")] if dims else []
        except ValueError:
            fail_usage("%s %s: '%s' is not a list of dimensions like 2x3x4" % (what, s, dims))
        if any(d < 0 for d in shape):
            fail_usage("%s %s: negative dimension" % (what, s))
        out[name] = shape
    return out


def load_class(spec):
    mod, colon, cls = spec.partition(":")
    if not colon or not mod or not cls:
        fail_usage("%s: expected module:Class (e.g. mypkg.models:Net)" % spec)
    sys.path.insert(0, os.getcwd())
    try:
        return getattr(importlib.import_module(mod), cls)
    except (ImportError, AttributeError) as e:
        sys.stderr.write("export_model.py: error: %s: cannot load: %s\n" % (spec, e))
        sys.exit(1)


def export_one(torch, name, model, args, out_dir, dynamic=None):
    """Exports, saves and writes the sidecar files; returns the archive path."""
    model.eval()
    ep = torch.export.export(model, tuple(args), dynamic_shapes=dynamic)
    path = os.path.join(out_dir, name + ".pt2")
    torch.export.save(ep, path)
    with torch.no_grad():
        res = model(*args)
    res = tuple(torch.utils._pytree.tree_leaves(res))
    for i, a in enumerate(args):
        a.contiguous().numpy().tofile(os.path.join(out_dir, "%s.in%d.bin" % (name, i)))
    for i, r in enumerate(res):
        r.contiguous().numpy().tofile(os.path.join(out_dir, "%s.out%d.bin" % (name, i)))
    ops = [str(n.target) for n in ep.graph.nodes if n.op == "call_function"]
    info = {
        "torch_version": torch.__version__,
        "ops": ops,
        "inputs": [{"shape": list(a.shape), "dtype": str(a.dtype)} for a in args],
        "outputs": [{"shape": list(r.shape), "dtype": str(r.dtype), "sum": float(r.double().sum())} for r in res],
    }
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
    return path


def main(argv):
    p = argparse.ArgumentParser(prog="export_model.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("model", nargs="?", help="module:Class of an nn.Module to export (constructed with --init)")
    p.add_argument("--demo", action="append", default=[], metavar="NAME",
                   help="export a seed demo model (repeatable; 'all' for every one; --list names them)")
    p.add_argument("--list", action="store_true", help="list the demo models and exit")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=AxB",
                   help="example input shape, once per forward argument, in order")
    p.add_argument("--dtype", action="append", default=[], metavar="NAME=DTYPE",
                   help="example input dtype (float32 unless given: float32, int64, int32, uint8, bool)")
    p.add_argument("--init", default="{}", metavar="JSON", help="keyword arguments for the class's constructor")
    p.add_argument("--dynamic", action="append", default=[], metavar="NAME:DIM",
                   help="mark a dimension of an input dynamic (torch.export.Dim); atalla-gen specialises it")
    p.add_argument("-o", "--output", default=".",
                   help="the .pt2 to write for a module:Class, or the folder for --demo (default .)")
    a = p.parse_args(argv)

    if a.list:
        for k, v in DEMOS.items():
            print("%-24s %s" % (k, v))
        return 0
    if not a.model and not a.demo:
        fail_usage("give a module:Class or --demo NAME (see --help)")
    if a.model and a.demo:
        fail_usage("give a module:Class or --demo, not both")
    demos = list(DEMOS) if "all" in a.demo else a.demo
    for d in demos:
        if d not in DEMOS:
            fail_usage("no demo model '%s' (--list names them)" % d)
    shapes = parse_shapes(a.shape, "--shape")
    dtypes = {}
    for s in a.dtype:
        name, eq, dt = s.partition("=")
        if not eq or dt not in ("float32", "int64", "int32", "uint8", "bool"):
            fail_usage("--dtype %s: expected name=float32|int64|int32|uint8|bool" % s)
        if name not in shapes:
            fail_usage("--dtype %s: no --shape for input '%s'" % (s, name))
        dtypes[name] = dt
    try:
        init_kwargs = json.loads(a.init)
        if not isinstance(init_kwargs, dict):
            raise ValueError("not an object")
    except ValueError as e:
        fail_usage("--init: not a JSON object: %s" % e)
    if a.model and not shapes:
        fail_usage("a module:Class needs --shape for each forward argument")
    if a.model and (":" not in a.model or not all(a.model.partition(":")[::2])):
        fail_usage("%s: expected module:Class (e.g. mypkg.models:Net)" % a.model)

    torch = need_torch()
    failed = 0
    if demos:
        os.makedirs(a.output, exist_ok=True)
        for d in demos:
            try:
                model, args = build_demo(torch, d)
                path = export_one(torch, d, model, args, a.output)
                print("wrote %s (%s)" % (path, DEMOS[d]))
            except Exception as e:  # noqa: BLE001 - one line per failed model, then go on
                sys.stderr.write("export_model.py: error: demo %s: %s: %s\n" % (d, type(e).__name__, e))
                failed += 1
        return 1 if failed else 0

    cls = load_class(a.model)
    try:
        model = cls(**init_kwargs)
    except Exception as e:  # noqa: BLE001
        sys.stderr.write("export_model.py: error: %s(**%s): %s\n" % (a.model, a.init, e))
        return 1
    args = [example_input(torch, shape, getattr(torch, dtypes.get(n, "float32")), i)
            for i, (n, shape) in enumerate(shapes.items())]
    dynamic = None
    if a.dynamic:
        dynamic = {n: {} for n in shapes}
        for s in a.dynamic:
            n, colon, dim = s.partition(":")
            if not colon or n not in shapes or not dim.isdigit() or int(dim) >= len(shapes[n]):
                fail_usage("--dynamic %s: expected NAME:DIM of a --shape input" % s)
            dynamic[n][int(dim)] = torch.export.Dim("%s_%s" % (n, dim))
        dynamic = tuple(dynamic[n] or None for n in shapes)
    out = a.output if a.output.endswith(".pt2") else os.path.join(a.output, cls.__name__ + ".pt2")
    out_dir = os.path.dirname(out) or "."
    os.makedirs(out_dir, exist_ok=True)
    name = os.path.basename(out)[:-4]
    try:
        path = export_one(torch, name, model, args, out_dir, dynamic)
    except Exception as e:  # noqa: BLE001
        sys.stderr.write("export_model.py: error: %s: %s: %s\n" % (a.model, type(e).__name__, e))
        return 1
    print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
