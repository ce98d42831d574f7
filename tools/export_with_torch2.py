#!/usr/bin/env python3
"""export_with_torch2.py - write real torch.export archives for atalla-gen's tests.

Run on a machine with PyTorch >= 2.1 (LibTorch 1.13 here has no torch.export):

    python3 tools/export_with_torch2.py OUTDIR

For every model below it writes, into OUTDIR:
  <name>.pt2          torch.export.save(torch.export.export(model, args, ...))
  <name>.in<i>.bin    the user inputs in forward-argument order, raw little-endian
  <name>.out<i>.bin   eager PyTorch's outputs on those inputs (the reference)
and MANIFEST.json, which records, per model, what torch itself says about the
exported program (ops in graph order, input/output specs, shapes, dtypes,
range constraints, output sums), so the C++ frontend can be held against
torch's own reading rather than against ours.

Inputs are closed-form (exact binary fractions), so C++ code can build the very
same tensors without PyTorch: see demo_values().
"""
import json
import math
import os
import sys
import traceback

import torch
import torch.nn as nn


def demo_values(n, mul, mod, off, div):
    """v[i] = ((i * mul) % mod - off) / div, exact in float32 for these constants."""
    return torch.tensor([((i * mul) % mod - off) / div for i in range(n)], dtype=torch.float32)


def demo_x(shape):
    n = math.prod(shape)
    return demo_values(n, 37, 29, 14, 8.0).reshape(shape)


def demo_w(shape):
    n = math.prod(shape)
    return demo_values(n, 53, 31, 15, 16.0).reshape(shape)


class TestModel(nn.Module):  # the seed's my_accel_backend_prototype.py
    def forward(self, x, w):
        h = torch.relu(x)
        y = torch.matmul(h, w)
        z = torch.softmax(y, dim=-1)
        return z


class SimpleModule(nn.Module):  # export_basics.py, example 1
    def forward(self, x, y):
        return torch.relu(x @ y.T)


class MLPParams(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        h = self.act(self.fc1(x))
        return torch.log_softmax(self.fc2(h), dim=-1)


class ConvBN(nn.Module):  # buffers (running stats, num_batches_tracked), eval-mode BN
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        h = self.pool(torch.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(h, 1))


class DynamicMLP(nn.Module):  # symbolic batch dimension with a range constraint
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 8)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class MultiOut(nn.Module):  # several outputs, a lifted constant, a non-persistent buffer
    def __init__(self):
        super().__init__()
        self.register_buffer("scale", torch.full((4,), 0.5), persistent=False)

    def forward(self, a, b):
        s = a + b
        p = a * b * self.scale
        c = torch.tensor([1.0, -2.0, 3.0, -4.0])
        return s - c, torch.sin(p), s.sum(dim=-1)


class TiedLinear(nn.Module):  # one parameter under two names (aliasing in the weights config)
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(8, 8, bias=False)
        self.dec = nn.Linear(8, 8, bias=False)
        self.dec.weight = self.enc.weight

    def forward(self, x):
        return self.dec(torch.tanh(self.enc(x)))


class TransformerBlock(nn.Module):
    def __init__(self, d_model=64, n_heads=4, d_ff=256):
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.ln1 = nn.LayerNorm(d_model)
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_ff)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(d_ff, d_model)

    def forward(self, x):
        B, T, C = x.shape
        h = self.ln1(x)
        q = self.q_proj(h).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        attn = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(attn, v)
        ctx = ctx.transpose(1, 2).reshape(B, T, C)
        x = x + self.out_proj(ctx)
        h = self.ln2(x)
        x = x + self.fc2(self.act(self.fc1(h)))
        return x


class CondModel(nn.Module):  # control flow: a higher-order op with subgraphs (as_graph)
    def forward(self, x):
        def true_fn(x):
            return torch.relu(x) * 2.0

        def false_fn(x):
            return torch.tanh(x) - 1.0

        return torch.cond(x.sum() > 0, true_fn, false_fn, (x,))


class TrainBN(nn.Module):  # training-mode BatchNorm: buffer mutations in the signature
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x):
        return self.bn(x)


class SplitMax(nn.Module):  # multi-output ops (split -> getitem, max.dim), cat, stack
    def forward(self, x):
        a, b = torch.split(x, [2, 3], dim=1)
        values, indices = torch.max(x, dim=1)
        c = torch.cat([b, a], dim=1)
        return torch.stack([c.sum(1), values], dim=0), indices


class IndexOps(nn.Module):  # embedding, slice, select, expand, masked_fill, where, int64 input
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 6)

    def forward(self, ids, x):
        e = self.emb(ids)
        s = e[:, 1:3, :]
        t = s.select(2, 0).unsqueeze(-1).expand(-1, -1, 4)
        m = torch.where(x > 0, x, torch.zeros_like(x))
        return t + m.masked_fill(m > 0.5, 0.5)


class Attention(nn.Module):  # scaled_dot_product_attention (not in LibTorch 1.13)
    def forward(self, q, k, v):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v)


class ConvUp(nn.Module):  # conv_transpose2d, avg/adaptive pools, upsampling, bf16 cast
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 2, 2, stride=2)
        self.pool = nn.AvgPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        y = self.up(x)
        z = nn.functional.interpolate(self.pool(y), scale_factor=2.0, mode="nearest")
        return (z + self.gap(y)).to(torch.bfloat16).float()


class Views(nn.Module):  # buffers that are views of one storage: strides and storage offsets
    def __init__(self):
        super().__init__()
        base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8.0
        self.register_buffer("base", base)
        self.register_buffer("tview", base.t())
        self.register_buffer("tail", base[1:, 2:])

    def forward(self, x):
        return x @ self.tview + self.tail.sum() + self.base[0, 0]


class KwInputs(nn.Module):  # keyword inputs and nested tuple inputs, dict outputs
    def forward(self, pair, *, scale):
        a, b = pair
        return {"sum": (a + b) * scale, "diff": a - b}


def init_params(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.copy_(torch.rand(p.shape, generator=g) * 0.5 - 0.25)
        for name, b in sorted(model.named_buffers()):
            if b.dtype.is_floating_point and "var" in name:
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
            elif b.dtype.is_floating_point and "mean" in name:
                b.copy_(torch.rand(b.shape, generator=g) - 0.5)
    return model


def cases():
    B = torch.export.Dim("batch", min=1, max=64)
    yield "torch_seed_accel_demo", TestModel(), (demo_x([4, 8]), demo_w([8, 16])), None, False
    yield "torch_seed_accel_demo_core", TestModel(), (demo_x([4, 8]), demo_w([8, 16])), None, True
    yield "torch_export_basics_1", SimpleModule(), (demo_x([128, 64]), demo_w([128, 64])), None, False
    yield "torch_mlp_params", init_params(MLPParams(), 1), (demo_x([16, 64]),), None, False
    yield "torch_conv_bn", init_params(ConvBN(), 2).eval(), (demo_x([2, 3, 8, 8]),), None, False
    yield "torch_dynamic_mlp", init_params(DynamicMLP(), 3), (demo_x([6, 16]),), {"x": {0: B}}, False
    yield "torch_multi_out", MultiOut(), (demo_x([3, 4]), demo_w([3, 4])), None, False
    yield "torch_tied_linear", init_params(TiedLinear(), 4), (demo_x([2, 8]),), None, False
    yield "torch_transformer_block", init_params(TransformerBlock(), 5).eval(), (demo_x([1, 16, 64]),), None, False
    yield "torch_cond", CondModel(), (demo_x([3, 4]),), None, False
    yield "torch_train_bn", init_params(TrainBN(), 6).train(), (demo_x([5, 4]),), None, False
    yield "torch_split_max", SplitMax(), (demo_x([3, 5]),), None, False
    yield "torch_index_ops", init_params(IndexOps(), 7), (torch.tensor([[1, 3, 5, 7], [2, 4, 6, 8]]), demo_w([2, 2, 4])), None, False
    yield "torch_attention", Attention(), (demo_x([1, 2, 8, 4]), demo_w([1, 2, 8, 4]), demo_x([1, 2, 8, 4]) * 0.5), None, False
    yield "torch_conv_up", init_params(ConvUp(), 8), (demo_x([1, 4, 4, 4]),), None, False
    yield "torch_views", Views(), (demo_x([3, 6]),), None, False
    yield "torch_kw_inputs", KwInputs(), ((demo_x([2, 3]), demo_w([2, 3])), {"scale": demo_w([2, 3])}), None, False


def target_name(t):
    """The target as torch's serializer names it in model.json."""
    if isinstance(t, torch._ops.OpOverload):
        return "torch.ops." + str(t)
    if isinstance(t, torch._ops.HigherOrderOperator):
        return "torch.ops.higher_order." + t.__name__
    return f"{t.__module__}.{t.__name__}"


def spec_json(spec):
    arg = spec.arg
    d = {"kind": spec.kind.name, "target": spec.target}
    d["name"] = getattr(arg, "name", None)
    if spec.kind.name == "USER_INPUT" and d["name"] is None:
        d["name"] = str(arg)
    if hasattr(spec, "persistent"):
        d["persistent"] = spec.persistent
    return d


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    manifest = {"torch_version": torch.__version__, "models": {}}
    for name, model, args, dyn, core in cases():
        try:
            kwargs = {}
            if args and isinstance(args[-1], dict):
                args, kwargs = args[:-1], args[-1]
            if name != "torch_train_bn":
                model.eval()
            ep = torch.export.export(model, args, kwargs=kwargs, dynamic_shapes=dyn)
            if core:
                ep = ep.run_decompositions()
            torch.export.save(ep, os.path.join(out, name + ".pt2"))
            with torch.no_grad():
                res = model(*args, **kwargs)
            # Outputs and inputs flattened in pytree order, as the graph has them.
            res = tuple(torch.utils._pytree.tree_leaves(res))
            flat_in = torch.utils._pytree.tree_leaves((args, kwargs))
            for i, a in enumerate(flat_in):
                (a.float() if a.dtype == torch.bfloat16 else a).contiguous().numpy().tofile(os.path.join(out, f"{name}.in{i}.bin"))
            for i, r in enumerate(res):
                (r.float() if r.dtype == torch.bfloat16 else r).contiguous().numpy().tofile(os.path.join(out, f"{name}.out{i}.bin"))
            sig = ep.graph_signature
            ph = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
            ops = [target_name(n.target) for n in ep.graph.nodes if n.op == "call_function"]
            entry = {
                "ops": ops,
                "num_call_function": len(ops),
                "input_specs": [spec_json(s) for s in sig.input_specs],
                "output_specs": [spec_json(s) for s in sig.output_specs],
                "placeholders": {
                    k: {"shape": [str(d) for d in v.meta["val"].shape], "dtype": str(v.meta["val"].dtype)}
                    for k, v in ph.items() if "val" in v.meta and hasattr(v.meta["val"], "shape")},
                "inputs": [{"shape": list(a.shape), "dtype": str(a.dtype)} for a in flat_in],
                "outputs": [{"shape": list(r.shape), "dtype": str(r.dtype),
                             "sum": float(r.double().sum())} for r in res],
                "range_constraints": {str(k): [str(v.lower), str(v.upper)]
                                      for k, v in ep.range_constraints.items()},
                "state_dict": {k: list(v.shape) for k, v in ep.state_dict.items()},
                "constants": {k: list(v.shape) for k, v in ep.constants.items()
                              if hasattr(v, "shape")},
                "run_decompositions": core,
            }
            manifest["models"][name] = entry
            print("wrote", name, len(ops), "ops", flush=True)
        except Exception:
            print("FAILED", name, flush=True)
            traceback.print_exc()
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
