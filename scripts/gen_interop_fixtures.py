#!/usr/bin/env python3
"""Generate the interop fixtures of the "batchnorm" TypeScript library with PyTorch.

Usage (from the repository root; needs torch, e.g. Debian's python3-torch):

    npx tsx scripts/gen_ts_interop.ts                 # our side: writes ts_{mlp,conv}.safetensors
    /usr/bin/python3 scripts/gen_interop_fixtures.py  # PyTorch's side: everything else

The `safetensors` Python package is not needed: the format is small, and this script writes and
reads it by hand, following the reference implementation (https://github.com/huggingface/safetensors):
8-byte little-endian header length, a JSON header padded with spaces to a multiple of 8, then the
data. Like `safetensors.torch.save_file`, tensors are laid out by dtype size (largest first), then
by name.

Writes into test/fixtures/interop/ (atomically: temp file + os.replace):

  dtypes.safetensors, dtypes.json
      One tensor of each dtype the TypeScript side reads (F64, F32, F16, BF16, I64, I32), with
      metadata, and the expected values (as float64 lists) in the JSON.
  plain.safetensors
      The F64/F32/I64 tensors of dtypes.safetensors alone: our writer must reproduce it byte for byte.

  pt_{mlp,conv}.safetensors
      PyTorch -> here. An MLP (Linear, BatchNorm1d, ReLU, Tanh) and a conv net (Conv2d, BatchNorm2d
      with momentum=None, ReLU, MaxPool2d, Flatten, Linear, BatchNorm1d, Sigmoid) trained 3 SGD steps
      by PyTorch, saved with PyTorch's state_dict keys (num_batches_tracked as I64) and the
      architecture in our checkpoint metadata ("batchnorm.architecture", see src/io/checkpoint.ts).

  ts_{mlp,conv}.safetensors (read, not written)
      Here -> PyTorch. Written by scripts/gen_ts_interop.ts; this script rebuilds the torch model
      from the architecture metadata and loads the tensors with load_state_dict(strict=True).

  {pt,ts}_{mlp,conv}.json
      For each of the four files, what PyTorch computes with those weights: the eval-mode output on
      a batch, then the train-mode output, loss (cross-entropy) and the whole state after one more
      training step (forward in train mode, backward, SGD lr=0.1 without momentum): parameters
      and running statistics.
"""

import json
import os
import struct
import sys

import torch

from fixturelib import flat, write_atomic

torch.set_num_threads(1)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "interop")

DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32",
}
DTYPES = {v: k for k, v in DTYPE_NAMES.items()}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: go through its int16 bits
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def serialize(tensors, metadata=None):
    """Bytes of a safetensors file holding `tensors` (name -> torch.Tensor)."""
    order = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, t in order:
        b = tensor_bytes(t)
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def deserialize(data):
    """(tensors, metadata) from safetensors bytes, with the reference implementation's checks."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors, cursor = {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, end = e["data_offsets"]
        assert b == cursor, f"{name}: offsets do not tile the data"
        cursor = end
        dt = DTYPES[e["dtype"]]
        raw = bytearray(body[b:end])
        t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        tensors[name] = t.reshape(e["shape"]).clone()
    assert cursor == len(body), "trailing bytes"
    return tensors, metadata


def gen_dtypes():
    g = torch.Generator().manual_seed(5)
    base = torch.randn(2, 3, generator=g, dtype=torch.float64) * 3
    tensors = {
        "f64": base.clone(),
        "f32": base.float(),
        "f16": base.half(),
        "bf16": base.bfloat16(),
        "i64": torch.tensor([[0, -1, 2**40], [7, -(2**52), 3]], dtype=torch.int64),
        "i32": torch.tensor([-(2**31), 2**31 - 1, 0, 5], dtype=torch.int32),
        # Edge cases of the half-precision decoders: -0, largest finite, smallest subnormal/normal.
        "f16_edge": torch.tensor([0.0, -0.0, 65504.0, 2.0**-24, 2.0**-14, -1.5], dtype=torch.float16),
        "bf16_edge": torch.tensor([-0.0, 3.0e38, 2.0**-133, 2.0**-126, 1.0 + 2.0**-7], dtype=torch.bfloat16),
        "scalar": torch.tensor(12, dtype=torch.int64),  # like num_batches_tracked: shape []
        "empty": torch.zeros(0, 4),
    }
    meta = {"format": "pt", "note": "written by scripts/gen_interop_fixtures.py"}
    write_atomic(os.path.join(OUT, "dtypes.safetensors"), serialize(tensors, meta))
    expected = {name: {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data": flat(t)} for name, t in tensors.items()}
    write_atomic(os.path.join(OUT, "dtypes.json"), json.dumps({"metadata": meta, "tensors": expected}, indent=1) + "\n")
    # Only the dtypes the TypeScript side writes: it must reproduce this file byte for byte.
    plain = {k: tensors[k] for k in ("f64", "f32", "i64", "scalar", "empty")}
    write_atomic(os.path.join(OUT, "plain.safetensors"), serialize(plain, meta))


# ---------------------------------------------------------------------------
# PyTorch round trip
# ---------------------------------------------------------------------------

ARCH_KEY = "batchnorm.architecture"


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def describe(m):
    """Our architecture JSON (src/io/checkpoint.ts, LayerSpec) of a torch module."""
    if isinstance(m, torch.nn.Sequential):
        return {"type": "Sequential", "layers": [describe(c) for c in m]}
    if isinstance(m, torch.nn.Linear):
        return {"type": "Linear", "inFeatures": m.in_features, "outFeatures": m.out_features, "bias": m.bias is not None}
    if isinstance(m, torch.nn.Conv2d):
        assert m.groups == 1 and m.padding_mode == "zeros"
        return {"type": "Conv2d", "inChannels": m.in_channels, "outChannels": m.out_channels,
                "kernelSize": pair(m.kernel_size), "stride": pair(m.stride), "padding": pair(m.padding),
                "dilation": pair(m.dilation), "bias": m.bias is not None}
    if isinstance(m, torch.nn.MaxPool2d):
        assert not m.ceil_mode
        return {"type": "MaxPool2d", "kernelSize": pair(m.kernel_size), "stride": pair(m.stride),
                "padding": pair(m.padding), "dilation": pair(m.dilation)}
    if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
        return {"type": type(m).__name__, "numFeatures": m.num_features, "eps": m.eps, "momentum": m.momentum,
                "affine": m.affine, "trackRunningStats": m.track_running_stats}
    if isinstance(m, (torch.nn.ReLU, torch.nn.Sigmoid, torch.nn.Tanh)):
        return {"type": type(m).__name__}
    if isinstance(m, torch.nn.Flatten):
        return {"type": "Flatten", "startDim": m.start_dim, "endDim": m.end_dim}
    raise TypeError(f"cannot describe {type(m).__name__}")


def build(spec):
    """A torch module from our architecture JSON."""
    t = spec["type"]
    nn = torch.nn
    if t == "Sequential":
        return nn.Sequential(*[build(s) for s in spec["layers"]])
    if t == "Linear":
        return nn.Linear(spec["inFeatures"], spec["outFeatures"], bias=spec["bias"])
    if t == "Conv2d":
        return nn.Conv2d(spec["inChannels"], spec["outChannels"], tuple(spec["kernelSize"]), stride=tuple(spec["stride"]),
                         padding=tuple(spec["padding"]), dilation=tuple(spec["dilation"]), bias=spec["bias"])
    if t == "MaxPool2d":
        return nn.MaxPool2d(tuple(spec["kernelSize"]), tuple(spec["stride"]), tuple(spec["padding"]), tuple(spec["dilation"]))
    if t in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"):
        return getattr(nn, t)(spec["numFeatures"], eps=spec["eps"], momentum=spec["momentum"], affine=spec["affine"],
                              track_running_stats=spec["trackRunningStats"])
    if t in ("ReLU", "Sigmoid", "Tanh"):
        return getattr(nn, t)()
    if t == "Flatten":
        return nn.Flatten(spec["startDim"], spec["endDim"])
    raise TypeError(f"unknown layer type {t}")


def pt_models():
    nn = torch.nn
    return {
        "mlp": (nn.Sequential(
            nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(),
            nn.Linear(8, 4), nn.BatchNorm1d(4, momentum=0.3, eps=1e-3), nn.Tanh(),
            nn.Linear(4, 3)), [6]),
        "conv": (nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4, momentum=None), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(36, 5), nn.BatchNorm1d(5), nn.Sigmoid(), nn.Linear(5, 3)), [2, 6, 6]),
    }


def state_json(model):
    return {k: {"dtype": DTYPE_NAMES[v.dtype], "shape": list(v.shape), "data": flat(v)} for k, v in model.state_dict().items()}


def expected_values(model, input_shape, seed):
    """What PyTorch computes with `model`: eval output, then one training step."""
    g = torch.Generator().manual_seed(seed)
    x_eval = torch.randn(5, *input_shape, generator=g) * 2 + 0.5
    x_train = torch.randn(6, *input_shape, generator=g) * 2 + 0.5
    target = torch.randint(0, 3, (6,), generator=g)
    model.eval()
    with torch.no_grad():
        out_eval = model(x_eval)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    out_train = model(x_train)
    loss = torch.nn.functional.cross_entropy(out_train, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return {
        "inputShape": input_shape,
        "xEval": flat(x_eval), "outEval": flat(out_eval),
        "xTrain": flat(x_train), "target": target.tolist(), "outTrain": flat(out_train), "loss": loss.item(),
        "lr": 0.1, "stateAfter": state_json(model),
    }


def gen_round_trip():
    torch.manual_seed(0)
    for i, (name, (model, input_shape)) in enumerate(pt_models().items()):
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):
            x = torch.randn(8, *input_shape) * 2 + 0.5
            target = torch.randint(0, 3, (8,))
            loss = torch.nn.functional.cross_entropy(model(x), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
        meta = {"format": "pt", ARCH_KEY: json.dumps({"version": 1, "model": describe(model)}, separators=(",", ":")),
                "note": "written by scripts/gen_interop_fixtures.py (PyTorch) after 3 SGD steps"}
        data = serialize(model.state_dict(), meta)
        write_atomic(os.path.join(OUT, f"pt_{name}.safetensors"), data)
        # From the bytes, exactly as the TypeScript side will see them.
        tensors, meta = deserialize(data)
        fresh = build(json.loads(meta[ARCH_KEY])["model"])
        fresh.load_state_dict(tensors, strict=True)
        write_atomic(os.path.join(OUT, f"pt_{name}.json"), json.dumps(expected_values(fresh, input_shape, 100 + i)) + "\n")

    for i, name in enumerate(["mlp", "conv"]):
        path = os.path.join(OUT, f"ts_{name}.safetensors")
        if not os.path.exists(path):
            print(f"missing {os.path.relpath(path, ROOT)}: run `npx tsx scripts/gen_ts_interop.ts` first", file=sys.stderr)
            return 1
        with open(path, "rb") as f:
            tensors, meta = deserialize(f.read())
        spec = json.loads(meta[ARCH_KEY])
        model = build(spec["model"])
        # strict: our keys must be exactly PyTorch's, with PyTorch's shapes and dtypes.
        model.load_state_dict(tensors, strict=True)
        for k, v in model.state_dict().items():
            assert tensors[k].dtype == v.dtype, f"{name}: {k} is {tensors[k].dtype}, PyTorch has {v.dtype}"
        input_shape = [6] if name == "mlp" else [2, 6, 6]
        write_atomic(os.path.join(OUT, f"ts_{name}.json"), json.dumps(expected_values(model, input_shape, 200 + i)) + "\n")
    return 0


def main():
    gen_dtypes()
    if gen_round_trip():
        return 1
    print(f"wrote fixtures to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
