#!/usr/bin/env python3
"""Generate the interop fixtures of the "batchnorm" TypeScript library with PyTorch.

Usage (from the repository root; needs torch, e.g. Debian's python3-torch):

    /usr/bin/python3 scripts/gen_interop_fixtures.py            # write the fixtures
    /usr/bin/python3 scripts/gen_interop_fixtures.py --check    # check the files our side wrote

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
"""

import json
import os
import struct
import sys
import tempfile

import torch

torch.set_num_threads(1)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "interop")

DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32",
}
DTYPES = {v: k for k, v in DTYPE_NAMES.items()}


def write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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


def flat(t):
    return t.detach().double().reshape(-1).tolist()


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


def main():
    gen_dtypes()
    print(f"wrote fixtures to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
