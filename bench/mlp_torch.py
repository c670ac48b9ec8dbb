#!/usr/bin/env python3
"""Training speed of the lab's MNIST network in PyTorch, for comparison with bench/mlp.ts.

784-100-100-100-10 sigmoid MLP, without BN and with BatchNorm1d before each sigmoid, batch 60,
cross-entropy, plain SGD (lr 0.5): forward, backward and update per step. Random inputs of
MNIST's shape (speed does not depend on the pixel values). Prints the median steps/s of 5
repeats for 1 and 2 threads.

    /usr/bin/python3 bench/mlp_torch.py [--steps 300]
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def mlp(bn: bool) -> nn.Sequential:
    layers = []
    width = 784
    for _ in range(3):
        layers.append(nn.Linear(width, 100))
        if bn:
            layers.append(nn.BatchNorm1d(100))
        layers.append(nn.Sigmoid())
        width = 100
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def steps_per_second(bn: bool, steps: int) -> float:
    torch.manual_seed(0)
    model = mlp(bn)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x = torch.rand(60, 784)
    y = torch.randint(0, 10, (60,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(20):  # warm-up
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for bn in (False, True):
            runs = [steps_per_second(bn, args.steps) for _ in range(args.repeats)]
            r = {"framework": f"pytorch {torch.__version__}", "threads": threads, "bn": bn, "steps_per_s": round(statistics.median(runs), 1)}
            results.append(r)
            print(f"pytorch {torch.__version__}  threads {threads}  {'with BN   ' if bn else 'without BN'}  {r['steps_per_s']:8.1f} steps/s (median of {args.repeats})")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
