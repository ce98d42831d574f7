#!/usr/bin/env python3
"""make_zoo.py - the model zoo of tests/data/zoo, built with Debian's torch 1.13.

Debian 12's python3-torch (1.13) and python3-torchvision (0.14) have no
torch.export, but they build the real architectures, and
functorch.functionalize + make_fx trace them to a functional ATen graph at the
level torch.export 2.1-2.4 records (CompositeImplicit ops decomposed, no
mutation). This script turns that graph into the export IR of those releases
(eval-mode native_batch_norm -> _native_batch_norm_legit_no_training, no
detach, _reshape_alias -> view, parameters and buffers as placeholders named
p_<fqn> / b_<fqn>), writes it as an "atalla-fx" interchange file (JSON graph +
raw weights), and has the project's own writer (build/bin/atalla-import-fx)
serialise it as a .pt2 archive.

    apt-get install python3-torch python3-torchvision
    cmake --build build --target atalla-import-fx
    /usr/bin/python3 tools/make_zoo.py tests/data/zoo            # every model
    /usr/bin/python3 tools/make_zoo.py tests/data/zoo resnet18   # one
    /usr/bin/python3 tools/make_zoo.py --list

For every model it writes, into OUTDIR:
  <name>.pt2        the archive (the project's writer, torch 2.12 container)
  <name>.in0.bin    the input, raw little-endian
  <name>.out0.bin   torch 1.13 eager's output on it (the reference)
and MANIFEST.json: per model, what it is, parameter count, the ops in graph
order as torch traced them, input/output shapes and output sums.

Weights are random but realistic: batch-norm statistics are calibrated on
random batches (so activations stay O(1) through deep nets) and the head is
scaled so logits are O(1); everything is seeded, so a rerun writes the same
files. Archives are kept small (reduced widths where torchvision allows,
a quarter-width resnet18 from torchvision's own BasicBlock).

Exit status: 0 when every model was written, 1 when one failed (one line on
stderr naming it), 2 for bad arguments.
"""
import argparse
import json
import math
import operator
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail_usage(msg):
    sys.stderr.write("make_zoo.py: error: %s\n" % msg)
    sys.exit(2)


def need_torch():
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
        from functorch import make_fx, functionalize  # noqa: F401
    except ImportError as e:
        sys.stderr.write("make_zoo.py: error: needs python3-torch and python3-torchvision "
                         "(Debian 12: torch 1.13, torchvision 0.14) for %s: %s\n" % (sys.executable, e))
        sys.exit(1)


# --------------------------------------------------------------------------
# The models. Each builder returns (module, example inputs, description).

def build_resnet18(torch, tv):
    """torchvision's resnet18 topology (BasicBlock, [2,2,2,2]) at a quarter width."""
    from torchvision.models.resnet import BasicBlock, conv1x1
    nn = torch.nn

    class ResNet18Quarter(nn.Module):
        def __init__(self, widths=(16, 32, 64, 128), num_classes=10):
            super().__init__()
            self.inplanes = widths[0]
            self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = self._layer(widths[0], 1)
            self.layer2 = self._layer(widths[1], 2)
            self.layer3 = self._layer(widths[2], 2)
            self.layer4 = self._layer(widths[3], 2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(widths[3], num_classes)

        def _layer(self, planes, stride):
            down = None
            if stride != 1 or self.inplanes != planes:
                down = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
            blocks = [BasicBlock(self.inplanes, planes, stride, down), BasicBlock(planes, planes)]
            self.inplanes = planes
            return nn.Sequential(*blocks)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet18Quarter(), [image(torch, 1, 64)], \
        "torchvision resnet18 topology (BasicBlock x [2,2,2,2]), widths 16-128, 10 classes, 1x3x64x64"


def build_mobilenet_v2(torch, tv):
    return tv.models.mobilenet_v2(width_mult=0.35, num_classes=10), [image(torch, 1, 64)], \
        "torchvision mobilenet_v2(width_mult=0.35), 10 classes, 1x3x64x64"


def build_mobilenet_v3_small(torch, tv):
    return tv.models.mobilenet_v3_small(width_mult=0.5, num_classes=10), [image(torch, 1, 64)], \
        "torchvision mobilenet_v3_small(width_mult=0.5), 10 classes, 1x3x64x64"


def build_efficientnet_b0(torch, tv):
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
    setting, last = _efficientnet_conf("efficientnet_b0", width_mult=0.25, depth_mult=0.5)
    return EfficientNet(setting, dropout=0.2, num_classes=10, last_channel=last), [image(torch, 1, 64)], \
        "torchvision EfficientNet, b0 stages at width_mult=0.25 depth_mult=0.5, 10 classes, 1x3x64x64"


def build_squeezenet1_1(torch, tv):
    return tv.models.squeezenet1_1(num_classes=10), [image(torch, 1, 64)], \
        "torchvision squeezenet1_1, 10 classes, 1x3x64x64"


def build_shufflenet_v2(torch, tv):
    return tv.models.shufflenet_v2_x0_5(num_classes=10), [image(torch, 1, 64)], \
        "torchvision shufflenet_v2_x0_5, 10 classes, 1x3x64x64"


def build_densenet(torch, tv):
    return tv.models.DenseNet(growth_rate=12, block_config=(3, 3, 3, 3), num_init_features=24,
                              num_classes=10), [image(torch, 1, 64)], \
        "torchvision DenseNet(growth_rate=12, block_config=(3,3,3,3), num_init_features=24), 1x3x64x64"


def build_vit(torch, tv):
    return tv.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                       hidden_dim=64, mlp_dim=128, num_classes=10), [image(torch, 1, 32)], \
        "torchvision VisionTransformer, 32x32 image, 8x8 patches, 2 layers, 4 heads, d=64"


def build_bert_encoder(torch, tv):
    nn = torch.nn

    class BertEncoder(nn.Module):
        """Two nn.TransformerEncoderLayer (post-norm, GELU), BERT style, on embeddings."""

        def __init__(self, d=64, heads=4, ff=128, layers=2):
            super().__init__()
            self.layers = nn.ModuleList(
                nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation="gelu", batch_first=True)
                for _ in range(layers))
            self.norm = nn.LayerNorm(d)

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return self.norm(x)

    return BertEncoder(), [torch.randn(1, 32, 64)], \
        "2 x nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, gelu), 1x32x64"


def build_gpt2(torch, tv):
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self, d, heads, ctx):
            super().__init__()
            self.heads = heads
            self.ln_1 = nn.LayerNorm(d)
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)
            self.ln_2 = nn.LayerNorm(d)
            self.c_fc = nn.Linear(d, 4 * d)
            self.mlp_proj = nn.Linear(4 * d, d)
            self.register_buffer("bias", torch.tril(torch.ones(ctx, ctx, dtype=torch.bool)).view(1, 1, ctx, ctx))

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
            q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)
            k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
            v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // self.heads))
            att = att.masked_fill(~self.bias[:, :, :T, :T], float("-inf"))
            y = F.softmax(att, dim=-1) @ v
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            x = x + self.c_proj(y)
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

    class GPT2(nn.Module):
        def __init__(self, vocab=256, ctx=32, d=64, heads=4, layers=2):
            super().__init__()
            self.wte = nn.Embedding(vocab, d)
            self.wpe = nn.Embedding(ctx, d)
            self.h = nn.ModuleList(Block(d, heads, ctx) for _ in range(layers))
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab, bias=False)

        def forward(self, idx):
            pos = torch.arange(0, idx.shape[1], dtype=torch.long, device=idx.device)
            x = self.wte(idx) + self.wpe(pos)
            for block in self.h:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    g = torch.Generator().manual_seed(7)
    return GPT2(), [torch.randint(0, 256, (1, 32), generator=g)], \
        "GPT-2-style decoder: 2 blocks, causal attention (masked_fill -inf), d=64, 4 heads, vocab 256, 32 tokens"


MODELS = {
    "resnet18": build_resnet18,
    "mobilenet_v2": build_mobilenet_v2,
    "mobilenet_v3_small": build_mobilenet_v3_small,
    "efficientnet_b0": build_efficientnet_b0,
    "squeezenet1_1": build_squeezenet1_1,
    "shufflenet_v2": build_shufflenet_v2,
    "densenet": build_densenet,
    "vit": build_vit,
    "bert_encoder": build_bert_encoder,
    "gpt2": build_gpt2,
}


def image(torch, n, hw):
    g = torch.Generator().manual_seed(hw * 31 + n)
    return torch.randn(n, 3, hw, hw, generator=g)


# --------------------------------------------------------------------------
# Realistic weights.

def realistic(torch, model, args):
    """Calibrates batch-norm statistics on random batches and scales the head
    so that outputs are O(1): the weights are random, not at their init."""
    nn = torch.nn
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for fqn, p in model.named_parameters():
            if not p.any():  # zero-initialised (ViT's head and class token): random instead
                p.normal_(0.0, 0.02 if p.dim() >= 2 else 0.1)
        for m in model.modules():
            if isinstance(m, (nn.LayerNorm,)) and m.elementwise_affine:
                m.weight.uniform_(0.7, 1.3)
                m.bias.normal_(0.0, 0.1)
        if bns:
            for m in bns:
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
                m.weight.uniform_(0.7, 1.3)
                m.bias.normal_(0.0, 0.1)
            model.train()
            x = args[0]
            for _ in range(4):
                model(torch.randn(4, *x.shape[1:]))
            for m in bns:
                m.momentum = 0.1
        model.eval()
        # Scale the head (the last Linear, or the last conv of squeezenet) so the
        # output's standard deviation is about 1.
        heads = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        out = model(*args)
        std = float(out.float().std())
        if heads and std > 0 and math.isfinite(std):
            heads[-1].weight.mul_(1.0 / std)
            if heads[-1].bias is not None:
                heads[-1].bias.mul_(1.0 / std)
    model.eval()
    return model


# --------------------------------------------------------------------------
# Tracing and the export IR.

def trace(torch, model, args):
    """make_fx of the functionalized module. Parameters and buffers appear as
    get_attr nodes; the returned map names each one by its FQN (matched by
    storage), so they become placeholders as torch.export lifts them."""
    from functorch import make_fx, functionalize
    # Grad mode on and parameters requiring grad: nn.MultiheadAttention's and
    # nn.TransformerEncoderLayer's fused inference paths stay off, as under
    # torch.export, and the graph shows their ATen ops.
    gm = make_fx(functionalize(model))(*args)
    owners = {}
    for fqn, p in model.named_parameters():
        owners.setdefault((p.data_ptr(), tuple(p.shape), p.dtype), ("parameter", fqn))
    for fqn, b in model.named_buffers():
        owners.setdefault((b.data_ptr(), tuple(b.shape), b.dtype), ("buffer", fqn))
    attrs = {}
    for n in gm.graph.nodes:
        if n.op == "get_attr":
            t = getattr(gm, n.target)
            attrs[n.name] = owners.get((t.data_ptr(), tuple(t.shape), t.dtype), ("constant", n.target))
    return gm, attrs


def run_values(torch, gm, flat_inputs):
    """Every node's value on the example inputs (shapes, strides, dtypes)."""
    values = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n):
            r = super().run_node(n)
            values[n.name] = r
            return r

    with torch.no_grad():
        out = Recorder(gm).run(*flat_inputs)
    return values, out


def dtype_name(torch, dt):
    return str(dt).replace("torch.", "")


def meta(torch, t):
    return {"dtype": dtype_name(torch, t.dtype), "sizes": list(t.shape), "strides": list(t.stride())}


def encode(torch, v, names):
    """One argument value in the interchange's tagged form."""
    fx = torch.fx
    if isinstance(v, fx.Node):
        return {"tensor": names(v)}
    if v is None:
        return {"none": True}
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, int):
        return {"int": v}
    if isinstance(v, float):
        return {"float": v if math.isfinite(v) else ("NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))}
    if isinstance(v, str):
        return {"string": v}
    if isinstance(v, torch.dtype):
        return {"scalar_type": dtype_name(torch, v)}
    if isinstance(v, torch.memory_format):
        return {"memory_format": str(v).replace("torch.", "")}
    if isinstance(v, torch.layout):
        return {"layout": str(v).replace("torch.", "")}
    if isinstance(v, torch.device):
        return {"device": str(v)}
    if isinstance(v, (list, tuple)):
        if any(isinstance(e, fx.Node) for e in v):
            if any(e is None for e in v):
                return {"optional_tensors": [None if e is None else names(e) for e in v]}
            return {"tensors": [names(e) for e in v]}
        if all(isinstance(e, bool) for e in v) and v:
            return {"bools": list(v)}
        if all(isinstance(e, int) and not isinstance(e, bool) for e in v):
            return {"ints": list(v)}
        if all(isinstance(e, (int, float)) for e in v):
            return {"floats": [float(e) for e in v]}
    raise ValueError("argument value %r of type %s has no interchange form" % (v, type(v).__name__))


def export_ir(torch, gm, model, attrs, values, user_names, args):
    """The traced graph in torch.export 2.1-2.4's IR, as interchange JSON.
    Placeholders as torch.export lifts them: every parameter, then every
    buffer (p_<fqn>, b_<fqn>), then tensor constants, then the user inputs."""
    aten = torch.ops.aten
    rename = {}
    inputs = []  # (interchange entry, tensor)
    for fqn, p in model.named_parameters():
        inputs.append(({"name": "p_" + fqn.replace(".", "_"), "kind": "parameter", "target": fqn}, p.detach()))
    for fqn, b in model.named_buffers():
        inputs.append(({"name": "b_" + fqn.replace(".", "_"), "kind": "buffer", "target": fqn}, b))
    by_target = {(e["kind"], e["target"]): e["name"] for e, _ in inputs}
    for n in gm.graph.nodes:
        if n.op == "get_attr":
            kind, target = attrs[n.name]
            if (kind, target) not in by_target:
                name = "c_" + target.lstrip("_")
                inputs.append(({"name": name, "kind": "constant", "target": target}, getattr(gm, n.target)))
                by_target[(kind, target)] = name
            rename[n.name] = by_target[(kind, target)]
    user = [n for n in gm.graph.nodes if n.op == "placeholder"]
    for n, name, x in zip(user, user_names, args):
        rename[n.name] = name
        inputs.append(({"name": name, "kind": "user_input"}, x))

    alias = {}  # detach and friends: the value they return is their input

    def resolve(n):
        while n.name in alias:
            n = alias[n.name]
        return n

    def name_of(n):
        n = resolve(n)
        return rename.get(n.name, n.name)

    # Multi-output nodes: their getitem users name the outputs.
    getitems = {}
    for n in gm.graph.nodes:
        if n.op == "call_function" and n.target is operator.getitem:
            getitems.setdefault(n.args[0].name, {})[n.args[1]] = n.name

    nodes, used_names = [], set(rename.values()) | {n.name for n in gm.graph.nodes}
    value_meta = {e["name"]: meta(torch, t) for e, t in inputs}
    counter = [0]

    def fresh():
        while True:
            counter[0] += 1
            c = "getitem_%d" % (1000 + counter[0])
            if c not in used_names:
                used_names.add(c)
                return c

    def renamed(base):  # a node whose op we rewrote is named after its new op, as torch.export would
        k = 0
        while True:
            c = base if k == 0 else "%s_%d" % (base, k)
            if c not in used_names:
                used_names.add(c)
                return c
            k += 1

    for n in gm.graph.nodes:
        if n.op != "call_function" or n.target is operator.getitem:
            continue
        t = n.target
        if t in (aten.detach.default, aten.alias.default, aten.lift_fresh_copy.default):
            alias[n.name] = n.args[0]
            continue
        schema = t._schema
        args = list(n.args)
        kwargs = dict(n.kwargs)
        target = "torch.ops.%s" % str(t).replace("aten.", "aten.", 1)
        val = values[n.name]
        if t is aten.native_batch_norm.default:
            if args[5]:
                raise ValueError("%s: batch norm in training mode" % n.name)
            target = "torch.ops.aten._native_batch_norm_legit_no_training.default"
            rename[n.name] = renamed("_native_batch_norm_legit_no_training")
            argnames = ["input", "weight", "bias", "running_mean", "running_var", "momentum", "eps"]
            args = args[:5] + args[6:8]
            kw = {}
        elif t is aten._reshape_alias.default:
            target = "torch.ops.aten.view.default"
            rename[n.name] = renamed("view")
            argnames = ["self", "size"]
            args = args[:2]
            kw = {}
        else:
            argnames = [a.name for a in schema.arguments]
            kw = kwargs
        enc_inputs = []
        for i, a in enumerate(args):
            enc_inputs.append({"name": argnames[i], "arg": encode(torch, a, name_of), "kind": "positional"})
        for k, a in kw.items():
            enc_inputs.append({"name": k, "arg": encode(torch, a, name_of), "kind": "keyword"})
        own = rename.get(n.name, n.name)
        if isinstance(val, torch.Tensor):
            outputs = [{"tensor": own}]
            value_meta[own] = meta(torch, val)
        elif isinstance(val, (tuple, list)) and all(isinstance(v, torch.Tensor) for v in val):
            names = []
            for i, v in enumerate(val):
                nm = getitems.get(n.name, {}).get(i) or fresh()
                names.append(nm)
                value_meta[nm] = meta(torch, v)
            if str(schema.returns[0].type).startswith("List"):
                outputs = [{"tensors": names}]
            else:
                outputs = [{"tensor": nm} for nm in names]
        else:
            raise ValueError("%s: result of type %s" % (n.name, type(val).__name__))
        nodes.append({"name": own, "target": target, "inputs": enc_inputs, "outputs": outputs,
                      "ops": str(t)})

    out_node = [n for n in gm.graph.nodes if n.op == "output"][0]
    result = out_node.args[0]
    flat = result if isinstance(result, (list, tuple)) else [result]
    outputs = [name_of(o) for o in flat]

    # Dead code (the functionalized batch norm's empty() buffers, unused getitems' producers).
    live = set(outputs)
    keep = []
    for nd in reversed(nodes):
        produced = set()
        for o in nd["outputs"]:
            produced |= set(o.get("tensors", [])) | ({o["tensor"]} if "tensor" in o else set())
        if produced & live:
            keep.append(nd)
            for i in nd["inputs"]:
                collect_tensors(i["arg"], live)
    keep.reverse()
    return inputs, keep, outputs, value_meta


def collect_tensors(arg, into):
    if "tensor" in arg:
        into.add(arg["tensor"])
    for k in ("tensors", "optional_tensors"):
        for t in arg.get(k, []):
            if t is not None:
                into.add(t)


def tensor_bytes(torch, t):
    t = t.detach().contiguous()
    if t.dtype == torch.bool:
        return bytes(t.to(torch.uint8).numpy().tobytes())
    return bytes(t.numpy().tobytes())


def write_model(torch, tv, name, outdir, importer):
    torch.manual_seed(0)
    model, args, what = MODELS[name](torch, tv)
    model = realistic(torch, model, args)
    for p in model.parameters():
        p.requires_grad_(True)
    with torch.no_grad():
        eager = model(*args)
    gm, attrs = trace(torch, model, args)
    values, traced_out = run_values(torch, gm, list(args))
    traced_out = traced_out if isinstance(traced_out, torch.Tensor) else traced_out[0]
    if not torch.equal(traced_out, eager):
        diff = float((traced_out.float() - eager.float()).abs().max())
        if diff > 1e-4 * max(1.0, float(eager.abs().max())):
            raise ValueError("the traced graph disagrees with eager by %g" % diff)
    user_names = ["x"] if name != "gpt2" else ["idx"]
    inputs, nodes, outputs, value_meta = export_ir(torch, gm, model, attrs, values, user_names, args)

    # Placeholders' payloads, 64-byte aligned in one file.
    blob = bytearray()
    tensors = {}
    for e, v in inputs:
        key = e.get("target", "input:" + e["name"])
        data = tensor_bytes(torch, v)
        while len(blob) % 64:
            blob.append(0)
        tensors[key] = {"dtype": dtype_name(torch, v.dtype), "sizes": list(v.shape), "offset": len(blob),
                        "nbytes": len(data)}
        blob += data
    inputs = [e for e, _ in inputs]
    fx = {"format": "atalla-fx", "version": 1, "producer": "tools/make_zoo.py, torch %s, functorch make_fx"
          % torch.__version__, "model": name, "placeholders": inputs, "values": value_meta,
          "tensors": tensors, "nodes": [{k: v for k, v in nd.items() if k != "ops"} for nd in nodes],
          "outputs": outputs}
    with tempfile.TemporaryDirectory() as tmp:
        jpath, wpath = os.path.join(tmp, name + ".fx.json"), os.path.join(tmp, name + ".fx.bin")
        with open(jpath, "w") as f:
            json.dump(fx, f, indent=1, allow_nan=False)
        with open(wpath, "wb") as f:
            f.write(blob)
        r = subprocess.run([importer, jpath, "-o", os.path.join(outdir, name + ".pt2")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise ValueError(r.stderr.strip())
    with open(os.path.join(outdir, name + ".in0.bin"), "wb") as f:
        f.write(tensor_bytes(torch, args[0]))
    with open(os.path.join(outdir, name + ".out0.bin"), "wb") as f:
        f.write(tensor_bytes(torch, eager))
    # torch's own bf16 eager run (weights and input in bf16) against the f32
    # one: how far bf16 arithmetic moves this model's output, depth and all.
    import copy
    with torch.no_grad():
        mb = copy.deepcopy(model).to(torch.bfloat16)
        xb = [a.to(torch.bfloat16) if a.is_floating_point() else a for a in args]
        bf = mb(*xb).double()
    ref = eager.double()
    bf16_err = float((bf - ref).abs().max() / ref.abs().max())
    return {
        "what": what,
        "bf16_eager_normalised_err": bf16_err,
        "torch": torch.__version__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "ops": [nd["ops"] for nd in nodes],
        "inputs": [{"name": user_names[0], "dtype": dtype_name(torch, args[0].dtype), "shape": list(args[0].shape)}],
        "outputs": [{"dtype": dtype_name(torch, eager.dtype), "shape": list(eager.shape),
                     "sum": float(eager.double().sum()), "abs_max": float(eager.double().abs().max())}],
    }


def main():
    ap = argparse.ArgumentParser(description="Write the model zoo (tests/data/zoo) with torch 1.13.")
    ap.add_argument("outdir", nargs="?", help="output folder")
    ap.add_argument("models", nargs="*", help="models to write (default: all)")
    ap.add_argument("--list", action="store_true", help="list the models and exit")
    ap.add_argument("--importer", default=os.path.join(ROOT, "build", "bin", "atalla-import-fx"),
                    help="the project's atalla-import-fx (default: build/bin/atalla-import-fx)")
    a = ap.parse_args()
    if a.list:
        for n in MODELS:
            print(n)
        return 0
    if not a.outdir:
        fail_usage("an output folder is required (or --list)")
    for m in a.models:
        if m not in MODELS:
            fail_usage("no zoo model '%s' (--list names them)" % m)
    if not os.access(a.importer, os.X_OK):
        fail_usage("%s not found: build it first (cmake --build build --target atalla-import-fx)" % a.importer)
    need_torch()
    import torch
    import torchvision as tv
    torch.set_num_threads(1)
    os.makedirs(a.outdir, exist_ok=True)
    manifest_path = os.path.join(a.outdir, "MANIFEST.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    failed = 0
    for name in a.models or list(MODELS):
        try:
            manifest[name] = write_model(torch, tv, name, a.outdir, a.importer)
            print("wrote %s" % os.path.join(a.outdir, name + ".pt2"))
        except Exception as e:  # one line per failed model
            sys.stderr.write("make_zoo.py: %s: %s\n" % (name, str(e).splitlines()[0] if str(e) else type(e).__name__))
            failed += 1
    with open(manifest_path, "w") as f:
        json.dump(dict(sorted(manifest.items())), f, indent=1, sort_keys=True)
        f.write("\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
