"""PyTorch BatchNorm timings for bench/kernels.ts (run with /usr/bin/python3, torch on the CPU).

Usage: python3 bench/torch_bn.py THREADS '[[64,256],[32,64,56,56]]' [REPS]
Prints JSON: {"torch": version, "threads": T, "results": {"<shape>|<mode>": [median_ms, min_ms]}}.
Modes: train (F.batch_norm training=True: statistics + normalise, output allocated as
PyTorch does), infer (running statistics), backward (native_batch_norm_backward through
autograd: y.backward(dy, retain_graph=True)). Medians over REPS runs after warm-up.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def median_ms(fn, reps, budget_s=3.0):
    """As bench/kernels.ts: warm-up of 3 calls and 0.3 s, batches of 20 for calls under 0.2 ms."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first > 2.0:
        return [first * 1e3, first * 1e3]
    calls = 1
    while calls < 3 or (time.perf_counter() - t0 < 0.3 and first < 0.3):
        fn()
        calls += 1
    warm = (time.perf_counter() - t0) / calls
    batch = 20 if warm < 0.2e-3 else 1
    times = []
    start = time.perf_counter()
    while len(times) < reps and (len(times) < 5 or time.perf_counter() - start < budget_s):
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - t) / batch * 1e3)
    times.sort()
    return [times[len(times) // 2], times[0]]


def main():
    threads = int(sys.argv[1])
    shapes = json.loads(sys.argv[2])
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    results = {}
    for shape in shapes:
        c = shape[1]
        x = torch.randn(*shape)
        w = torch.rand(c) + 0.5
        b = torch.randn(c)
        rm = torch.zeros(c)
        rv = torch.ones(c)
        key = ",".join(map(str, shape))
        results[key + "|train"] = median_ms(lambda: F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5), reps)
        results[key + "|infer"] = median_ms(lambda: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5), reps)
        xg = x.clone().requires_grad_(True)
        wg = w.clone().requires_grad_(True)
        bg = b.clone().requires_grad_(True)
        y = F.batch_norm(xg, rm.clone(), rv.clone(), wg, bg, training=True, momentum=0.1, eps=1e-5)
        dy = torch.randn(*shape)

        def backward():
            xg.grad = None
            wg.grad = None
            bg.grad = None
            y.backward(dy, retain_graph=True)

        results[key + "|backward"] = median_ms(backward, reps)
    print(json.dumps({"torch": torch.__version__, "threads": threads, "results": results}))


if __name__ == "__main__":
    main()
