#!/usr/bin/env python3
"""Generate PyTorch golden values for conv2d, max_pool2d and a small conv net.

Writes test/fixtures/conv.json (atomically: temp file in the same directory + os.replace):

  conv2d     F.conv2d cases (stride, padding, dilation, rectangular kernels, unbatched input,
             with and without bias, float32 and float64): input, weight, bias, an upstream
             gradient gradOutput, the output and the gradients of input, weight and bias.
  maxPool2d  F.max_pool2d cases (ties on integer-valued inputs, overlapping windows, padding
             with all-negative inputs, rectangular/dilated windows, unbatched input): input,
             gradOutput, output, indices (return_indices=True) and gradInput.
  convnet    nn.Sequential(Conv2d, BatchNorm2d, ReLU, MaxPool2d, Conv2d, BatchNorm2d, ReLU,
             MaxPool2d, Flatten, Linear) in float32: its initial state_dict, a training-mode
             forward on a batch with cross-entropy loss, every parameter's gradient, the
             running statistics after that step, then one SGD step (lr 0.1) and an eval-mode
             forward on a second batch.

Tensors are {"shape": [...], "data": [flat row-major list]} written from .double().tolist(),
so float32 values are reproduced exactly.

Usage (from the repository root, with an interpreter that has torch, e.g. Debian's
python3-torch):

    /usr/bin/python3 scripts/gen_conv_fixtures.py
"""

import json
import os

import torch

from fixturelib import tensor_json, write_atomic
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "conv.json")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def write_json_atomic(path, obj):
    write_atomic(path, json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n")


def conv_case(name, x_shape, w_shape, bias=True, stride=1, padding=0, dilation=1, dtype="float64"):
    dt = DTYPES[dtype]
    x = torch.randn(*x_shape, dtype=dt, requires_grad=True)
    w = (torch.randn(*w_shape, dtype=dt) * 0.5).requires_grad_()
    b = torch.randn(w_shape[0], dtype=dt, requires_grad=True) if bias else None
    y = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    gy = torch.randn_like(y)
    y.backward(gy)
    return {
        "name": name, "dtype": dtype, "stride": stride, "padding": padding, "dilation": dilation,
        "input": tensor_json(x), "weight": tensor_json(w), "bias": tensor_json(b) if bias else None,
        "gradOutput": tensor_json(gy), "output": tensor_json(y),
        "gradInput": tensor_json(x.grad), "gradWeight": tensor_json(w.grad), "gradBias": tensor_json(b.grad) if bias else None,
    }


def pool_case(name, x, kernel_size, stride=None, padding=0, dilation=1):
    x = x.clone().requires_grad_()
    y, idx = F.max_pool2d(x, kernel_size, stride, padding, dilation, return_indices=True)
    gy = torch.randn_like(y)
    y.backward(gy)
    return {
        "name": name, "dtype": str(x.dtype).replace("torch.", ""),
        "kernelSize": kernel_size, "stride": stride, "padding": padding, "dilation": dilation,
        "input": tensor_json(x), "gradOutput": tensor_json(gy), "output": tensor_json(y), "indices": tensor_json(idx), "gradInput": tensor_json(x.grad),
    }


def convnet_case():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(6 * 2 * 2, 10),
    )
    # Non-trivial BN affine parameters, so gamma and beta are exercised.
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    initial = {k: tensor_json(v) for k, v in model.state_dict().items()}
    x = torch.rand(6, 1, 8, 8)
    target = torch.randint(0, 10, (6,))
    model.train()
    out = model(x)
    loss = F.cross_entropy(out, target)
    loss.backward()
    grads = {k: tensor_json(p.grad) for k, p in model.named_parameters()}
    after_forward = {k: tensor_json(v) for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    model.eval()
    x2 = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        out_eval = model(x2)
    return {
        "initialState": initial, "input": tensor_json(x), "target": target.tolist(), "output": tensor_json(out),
        "loss": loss.item(), "grads": grads, "buffersAfterForward": after_forward,
        "lr": 0.1, "evalInput": tensor_json(x2), "evalOutput": tensor_json(out_eval),
    }


def main():
    torch.manual_seed(20150211)  # the BN paper's arXiv date
    conv = [
        conv_case("basic", [2, 3, 5, 5], [4, 3, 3, 3]),
        conv_case("padding 1", [2, 3, 6, 6], [4, 3, 3, 3], padding=1),
        conv_case("stride 2, padding 1", [2, 2, 7, 7], [3, 2, 3, 3], stride=2, padding=1),
        conv_case("rectangular, stride (2,1), padding (1,2), dilation (2,1), no bias",
                  [1, 2, 5, 8], [3, 2, 2, 3], bias=False, stride=[2, 1], padding=[1, 2], dilation=[2, 1]),
        conv_case("unbatched input", [3, 6, 6], [2, 3, 3, 3], padding=1),
        conv_case("stride larger than kernel (unused inputs)", [2, 2, 9, 9], [2, 2, 2, 2], stride=3),
        conv_case("1x1 kernel, float32", [3, 4, 3, 3], [5, 4, 1, 1], dtype="float32"),
        conv_case("MNIST-like 3x3 padding 1, float32", [2, 1, 7, 7], [4, 1, 3, 3], padding=1, dtype="float32"),
        conv_case("second layer, float32", [2, 4, 5, 5], [3, 4, 3, 3], padding=1, dtype="float32"),
    ]
    ints = lambda *s: torch.randint(0, 3, s).double()  # few distinct values: many ties
    pool = [
        pool_case("2x2, float32", torch.randn(2, 3, 6, 6), 2),
        pool_case("2x2 with ties", ints(2, 2, 6, 6), 2),
        pool_case("3x3 stride 1 (overlapping) with ties", ints(1, 2, 5, 5), 3, 1),
        pool_case("3x3 stride 2 padding 1, all negative", -torch.rand(1, 2, 5, 5, dtype=torch.float64) - 1, 3, 2, 1),
        pool_case("rectangular (2,3), stride (2,1), padding (1,1), dilation (2,1)",
                  torch.randn(1, 1, 7, 8, dtype=torch.float64), [2, 3], [2, 1], [1, 1], [2, 1]),
        pool_case("unbatched", torch.randn(2, 4, 4, dtype=torch.float64), 2),
        pool_case("odd sizes floor", torch.randn(1, 1, 5, 7, dtype=torch.float64), 2),
    ]
    write_json_atomic(OUT, {
        "generator": "scripts/gen_conv_fixtures.py", "torch": torch.__version__,
        "conv2d": conv, "maxPool2d": pool, "convnet": convnet_case(),
    })
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
