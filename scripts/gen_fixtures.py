#!/usr/bin/env python3
"""Generate golden test fixtures for the "batchnorm" TypeScript library with PyTorch.

Writes four JSON files (atomically: temp file in the same directory + os.replace):

  test/fixtures/batchnorm.json
      BatchNorm1d/2d/3d cases. Each case builds one PyTorch module with the given
      options, sets random weight/bias (when affine), then runs a sequence of
      train/eval steps. Per step it records the input, the upstream gradient
      (gradOutput), the forward output, gradInput, gradWeight/gradBias and the
      module's running statistics *after* the step. Parameters are never updated
      between steps; only the running statistics evolve.

  test/fixtures/training.json
      A small Sequential network (Linear / BatchNorm1d / Sigmoid / ReLU / Linear,
      optionally a Tanh head) trained for 4 steps by PyTorch with various
      SGD/Adam configurations. Records the initial and final state_dict, the
      per-step inputs, targets and losses (loss before the optimizer step), and
      the eval-mode output on a fresh batch after training.

  test/fixtures/losses.json
      F.cross_entropy with label smoothing and with class-probability targets, every
      reduction: the loss and the gradient with respect to the logits.

  test/fixtures/printing.json
      str(tensor) for tensors of every print mode, with their values, shape and dtype.

All numeric arrays are flat, row-major lists written from `.double().tolist()`,
so float32 values are reproduced exactly. Shapes are given separately.

Usage (from the repository root; needs an interpreter that has torch, e.g. the
Debian package python3-torch):

    /usr/bin/python3 scripts/gen_fixtures.py

The output is deterministic for a given torch build (fixed seeds, 1 thread).
"""

import json
import math
import os
import sys

import torch

from fixturelib import flat, tensor_json, write_atomic
import torch.nn as nn

torch.set_num_threads(1)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIXTURE_DIR = os.path.join(ROOT, "test", "fixtures")

DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def opt_flat(t):
    return None if t is None else flat(t)


def write_json_atomic(path, obj):
    """Write {"torch": ..., "cases": [...]} with one compact case per line."""
    head = {k: v for k, v in obj.items() if k != "cases"}
    parts = []
    for k, v in head.items():
        parts.append(json.dumps(k) + ":" + json.dumps(v, allow_nan=False))
    cases = ",\n".join(
        json.dumps(c, separators=(",", ":"), allow_nan=False) for c in obj["cases"]
    )
    write_atomic(path, "{" + ",".join(parts) + ',"cases":[\n' + cases + "\n]}\n")


# ---------------------------------------------------------------------------
# batchnorm.json
# ---------------------------------------------------------------------------

MODULES = {
    "BatchNorm1d": nn.BatchNorm1d,
    "BatchNorm2d": nn.BatchNorm2d,
    "BatchNorm3d": nn.BatchNorm3d,
}


def channel_input(shape, gen_dtype, ch_mean, ch_std):
    """Random normal input with a per-channel mean and std (channel dim = 1)."""
    c = shape[1]
    bshape = [1, c] + [1] * (len(shape) - 2)
    z = torch.randn(*shape, dtype=torch.float64)
    x = z * ch_std.view(bshape) + ch_mean.view(bshape)
    return x.to(gen_dtype)


def random_channel_stats(c):
    mean = torch.empty(c, dtype=torch.float64).uniform_(-3.0, 3.0)
    std = torch.empty(c, dtype=torch.float64).uniform_(0.5, 3.0)
    return mean, std


def default_inputs(shape, gen_dtype):
    """Factory: fresh per-channel-shifted normals for every step."""
    mean, std = random_channel_stats(shape[1])

    def make(step_idx, mode):
        return channel_input(shape, gen_dtype, mean, std)

    return make


def large_offset_inputs(shape):
    def make(step_idx, mode):
        x = 1e4 + 1e-2 * torch.randn(*shape, dtype=torch.float64)
        return x.float()  # exactly representable in float32

    return make


def constant_channel_inputs(shape, const_channel, value):
    mean, std = random_channel_stats(shape[1])

    def make(step_idx, mode):
        x = channel_input(shape, torch.float64, mean, std)
        x[:, const_channel] = value
        return x.float()

    return make


def small_std_inputs(shape, std_value):
    c = shape[1]
    mean = torch.empty(c, dtype=torch.float64).uniform_(-1.0, 1.0)
    std = torch.full((c,), std_value, dtype=torch.float64)

    def make(step_idx, mode):
        return channel_input(shape, torch.float32, mean, std)

    return make


def varying_batch_inputs(shapes, gen_dtype):
    mean, std = random_channel_stats(shapes[0][1])

    def make(step_idx, mode):
        return channel_input(shapes[step_idx], gen_dtype, mean, std)

    return make


def run_bn_case(name, module, num_features, shape, dtype="float32", eps=1e-5,
                momentum=0.1, affine=True, track=True,
                modes=("train",) * 3 + ("eval",) * 2, make_input=None,
                gen_dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    run_dtype = DTYPES[dtype]
    m = MODULES[module](num_features, eps=eps, momentum=momentum, affine=affine,
                        track_running_stats=track).to(run_dtype)

    weight = bias = None
    if affine:
        with torch.no_grad():
            w = torch.empty(num_features, dtype=torch.float64).uniform_(0.5, 2.0)
            b = torch.empty(num_features, dtype=torch.float64).uniform_(-1.0, 1.0)
            w = w.to(gen_dtype)
            b = b.to(gen_dtype)
            m.weight.copy_(w)
            m.bias.copy_(b)
        weight = flat(m.weight)
        bias = flat(m.bias)

    if make_input is None:
        make_input = default_inputs(shape, gen_dtype)

    steps = []
    for i, mode in enumerate(modes):
        if mode == "train":
            m.train()
        else:
            m.eval()
        x = make_input(i, mode).to(run_dtype).requires_grad_(True)
        g = torch.randn(*x.shape, dtype=torch.float64).to(gen_dtype).to(run_dtype)
        out = m(x)
        out.backward(g)
        step = {
            "mode": mode,
            "input": tensor_json(x),
            "gradOutput": tensor_json(g),
            "output": flat(out),
            "gradInput": flat(x.grad),
            "gradWeight": opt_flat(m.weight.grad) if affine else None,
            "gradBias": opt_flat(m.bias.grad) if affine else None,
            "runningMean": opt_flat(m.running_mean),
            "runningVar": opt_flat(m.running_var),
            "numBatchesTracked": (int(m.num_batches_tracked.item())
                                  if m.num_batches_tracked is not None else None),
        }
        steps.append(step)
        m.zero_grad(set_to_none=True)

    return {
        "name": name,
        "module": module,
        "numFeatures": num_features,
        "options": {"eps": eps, "momentum": momentum, "affine": affine,
                    "trackRunningStats": track},
        "dtype": dtype,
        # True when inputs, parameters and gradOutput are exactly representable in float32,
        # so a float32 implementation can be run on them and compared with this reference.
        "inputsExactInFloat32": gen_dtype == torch.float32,
        "weight": weight,
        "bias": bias,
        "steps": steps,
    }


def batchnorm_cases():
    cases = []
    seed = [1000]

    def add(name, module, c, shape, **kw):
        seed[0] += 1
        cases.append(run_bn_case(name, module, c, shape, seed=seed[0], **kw))

    # 1. basic shapes, default options
    add("bn1d_2d_input_default", "BatchNorm1d", 5, (8, 5))
    add("bn1d_3d_input_default", "BatchNorm1d", 3, (4, 3, 7))
    add("bn2d_default", "BatchNorm2d", 3, (4, 3, 5, 6))
    add("bn3d_default", "BatchNorm3d", 3, (2, 3, 3, 4, 5))

    # 2. options (BatchNorm2d, (4,3,5,6))
    s2d = (4, 3, 5, 6)
    add("bn2d_no_affine", "BatchNorm2d", 3, s2d, affine=False)
    add("bn2d_no_running_stats", "BatchNorm2d", 3, s2d, track=False)
    add("bn2d_momentum_none", "BatchNorm2d", 3, s2d, momentum=None)
    add("bn2d_momentum_0.3", "BatchNorm2d", 3, s2d, momentum=0.3)
    add("bn2d_eps_1e-3", "BatchNorm2d", 3, s2d, eps=1e-3)
    add("bn2d_no_affine_no_running_stats", "BatchNorm2d", 3, s2d,
        affine=False, track=False)

    # 3. hard cases
    seed[0] += 1
    cases.append(run_bn_case(
        "large_offset", "BatchNorm2d", 3, s2d, dtype="float64",
        modes=("train", "train", "eval"),
        make_input=large_offset_inputs(s2d), gen_dtype=torch.float32,
        seed=seed[0]))
    # PyTorch's own float32 path loses digits on these (x * alpha + beta cancels, and dx of
    # a batch of two is almost all cancellation), so the reference is computed in float64 from
    # float32-exact inputs: the library's float32 path is checked against the exact answer.
    add("constant_channel", "BatchNorm2d", 3, s2d, dtype="float64",
        make_input=constant_channel_inputs(s2d, 1, 2.5))
    add("batch_of_two", "BatchNorm1d", 4, (2, 4), dtype="float64")
    add("variance_near_eps", "BatchNorm1d", 4, (16, 4), dtype="float64",
        make_input=small_std_inputs((16, 4), 3e-3))

    # extra cases
    # cumulative moving average with a different batch size in each train step:
    # the CMA is an unweighted average over batches (not over samples).
    shapes = [(4, 3, 6), (7, 3, 6), (2, 3, 6), (5, 3, 6), (3, 3, 6)]
    add("momentum_none_varying_batch", "BatchNorm1d", 3, shapes[0],
        momentum=None, make_input=varying_batch_inputs(shapes, torch.float32))
    # eval before any training uses the initial running stats (mean 0, var 1)
    add("eval_before_train", "BatchNorm2d", 3, s2d,
        modes=("eval", "train", "train", "eval", "train", "eval"))
    # a genuine float64 case (inputs not float32-representable)
    add("bn1d_float64", "BatchNorm1d", 3, (4, 3, 7), dtype="float64",
        gen_dtype=torch.float64)
    return cases


# ---------------------------------------------------------------------------
# training.json
# ---------------------------------------------------------------------------

def make_model(tanh_head, bias_before_bn=True):
    # bias_before_bn=False for the Adam cases: the gradient of a bias right before BatchNorm is
    # exactly 0 (the mean subtraction cancels it), so what autograd computes for it is rounding
    # noise, and Adam, dividing by the gradient's own RMS, turns that noise into steps of size
    # lr in either framework: the values would not be comparable. The same holds for the bias
    # of Linear 3 on any unit whose ReLU is active for the whole batch (ReLU is then the
    # identity and BatchNorm 5 cancels the bias).
    layers = [nn.Linear(6, 8, bias=bias_before_bn), nn.BatchNorm1d(8), nn.Sigmoid(),
              nn.Linear(8, 8, bias=bias_before_bn), nn.ReLU(), nn.BatchNorm1d(8),
              nn.Linear(8, 3)]
    if tanh_head:
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def state_json(model):
    return {k: tensor_json(v) for k, v in model.state_dict().items()}


def optimizer_state_json(opt):
    """PyTorch's optimizer state_dict() flattened as batchnorm's Optimizer.stateDict() names it:
    state.<i>.<name> tensors, param_groups.<g>.<key> values as JSON. None is left out (foreach's
    default; SGD without momentum keeps momentum_buffer None, batchnorm keeps no state)."""
    sd = opt.state_dict()
    out = {}
    for i, s in sd["state"].items():
        for k, v in s.items():
            if v is not None:
                out[f"state.{i}.{k}"] = tensor_json(v if torch.is_tensor(v) else torch.tensor(v))
    for g, group in enumerate(sd["param_groups"]):
        for k, v in group.items():
            if v is not None:
                out[f"param_groups.{g}.{k}"] = list(v) if isinstance(v, tuple) else v
    return out


def run_training_case(name, opt_cfg, loss_name, seed, n_steps=4, batch=10):
    torch.manual_seed(seed)
    tanh_head = loss_name == "mse"
    bias_before_bn = opt_cfg["type"] != "Adam"
    model = make_model(tanh_head, bias_before_bn).float()
    initial = state_json(model)

    # Parameter groups (optional): "bn" = the BatchNorm layers' weight and bias, "rest" = the
    # others, each group with its own overrides (the common "no weight decay on BN" recipe).
    names = {"lr": "lr", "momentum": "momentum", "weightDecay": "weight_decay",
             "eps": "eps", "betas": "betas", "dampening": "dampening"}
    if "groups" in opt_cfg:
        def picked(which):
            return [p for m in model for p in m.parameters(recurse=False)
                    if isinstance(m, nn.BatchNorm1d) == (which == "bn")]
        params = [dict({"params": picked(g["params"])},
                       **{names[k]: (tuple(v) if k == "betas" else v)
                          for k, v in g.items() if k != "params"})
                  for g in opt_cfg["groups"]]
    else:
        params = model.parameters()

    if opt_cfg["type"] == "SGD":
        opt = torch.optim.SGD(params, lr=opt_cfg["lr"],
                              momentum=opt_cfg["momentum"],
                              dampening=opt_cfg["dampening"],
                              weight_decay=opt_cfg["weightDecay"],
                              nesterov=opt_cfg["nesterov"])
    elif opt_cfg["type"] == "Adam":
        opt = torch.optim.Adam(params, lr=opt_cfg["lr"],
                               betas=tuple(opt_cfg["betas"]), eps=opt_cfg["eps"],
                               weight_decay=opt_cfg["weightDecay"])
    else:
        raise ValueError(opt_cfg["type"])

    loss_fn = nn.MSELoss() if loss_name == "mse" else nn.CrossEntropyLoss()

    steps = []
    for step in range(n_steps):
        # a learning-rate schedule: every group's lr scaled after a given step
        decay = opt_cfg.get("lrDecay")
        if decay and step == decay["atStep"]:
            for g in opt.param_groups:
                g["lr"] *= decay["factor"]
        x = torch.randn(batch, 6)
        if loss_name == "mse":
            y = torch.empty(batch, 3).uniform_(-1.0, 1.0)
        else:
            y = torch.randint(0, 3, (batch,))
        model.train()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        steps.append({"input": tensor_json(x), "target": tensor_json(y),
                      "loss": float(loss.item())})

    final = state_json(model)
    x_eval = torch.randn(5, 6)
    model.eval()
    with torch.no_grad():
        y_eval = model(x_eval)

    return {
        "name": name,
        "optimizer": opt_cfg,
        "loss": loss_name,
        "tanhHead": tanh_head,
        "biasBeforeBn": bias_before_bn,
        "initialState": initial,
        "steps": steps,
        "finalState": final,
        "optimizerState": optimizer_state_json(opt),
        "evalInput": tensor_json(x_eval),
        "evalOutput": tensor_json(y_eval),
    }


def sgd(lr, momentum=0, dampening=0, weight_decay=0, nesterov=False):
    return {"type": "SGD", "lr": lr, "momentum": momentum, "dampening": dampening,
            "weightDecay": weight_decay, "nesterov": nesterov}


def adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
    return {"type": "Adam", "lr": lr, "betas": list(betas), "eps": eps,
            "weightDecay": weight_decay}


def training_cases():
    specs = [
        ("sgd_plain", sgd(0.1), "cross_entropy"),
        ("sgd_momentum", sgd(0.1, momentum=0.9), "cross_entropy"),
        ("sgd_nesterov_wd", sgd(0.05, momentum=0.9, weight_decay=1e-3,
                                nesterov=True), "cross_entropy"),
        ("sgd_dampening", sgd(0.1, momentum=0.5, dampening=0.1), "cross_entropy"),
        ("adam", adam(0.01), "cross_entropy"),
        ("adam_wd", adam(0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2),
         "cross_entropy"),
        ("mse_sgd", sgd(0.1, momentum=0.9), "mse"),
        ("sgd_groups_no_bn_decay_schedule",
         dict(sgd(0.1, momentum=0.9, weight_decay=1e-2),
              groups=[{"params": "rest"}, {"params": "bn", "weightDecay": 0, "lr": 0.3}],
              lrDecay={"atStep": 2, "factor": 0.5}), "cross_entropy"),
        ("adam_groups",
         dict(adam(0.01, weight_decay=1e-3),
              groups=[{"params": "bn", "weightDecay": 0, "betas": [0.8, 0.9]},
                      {"params": "rest", "lr": 0.02}]), "cross_entropy"),
    ]
    return [run_training_case(name, cfg, loss, seed=2000 + i)
            for i, (name, cfg, loss) in enumerate(specs)]


# ---------------------------------------------------------------------------
# cross-entropy: label smoothing, class-probability targets
# ---------------------------------------------------------------------------

def loss_cases():
    """F.cross_entropy on float32 logits (N=6, C=5) against class indices and against class
    probabilities, with and without label smoothing, every reduction; then with class weights
    and ignore_index (-100, a class, a value outside [0, C)). Records the loss and the
    gradient of sum(loss * w) with respect to the logits (w: a fixed random weight per output)."""
    g = torch.Generator().manual_seed(3000)
    n, c = 6, 5
    logits = (torch.randn(n, c, generator=g) * 3).float()
    indices = torch.randint(0, c, (n,), generator=g)
    probs = torch.softmax(torch.randn(n, c, generator=g) * 2, dim=1).float()
    cases = []
    for target_kind, target in (("indices", indices), ("probabilities", probs)):
        for smoothing in (0.0, 0.1, 0.35):
            for reduction in ("mean", "sum", "none"):
                x = logits.clone().requires_grad_(True)
                loss = torch.nn.functional.cross_entropy(x, target, reduction=reduction, label_smoothing=smoothing)
                w = torch.randn(loss.shape, generator=g).float()
                (loss * w).sum().backward()
                cases.append({
                    "name": "%s_ls%g_%s" % (target_kind, smoothing, reduction),
                    "logits": tensor_json(logits),
                    "target": {"kind": target_kind,
                               **({"data": indices.tolist()} if target_kind == "indices" else tensor_json(probs))},
                    "labelSmoothing": smoothing,
                    "reduction": reduction,
                    "loss": tensor_json(loss.detach()),
                    "gradWeight": tensor_json(w),
                    "gradLogits": tensor_json(x.grad),
                })
    # Class weights and ignore_index (their own generator: the cases above stay as they were).
    g = torch.Generator().manual_seed(3001)
    weight = (torch.rand(c, generator=g) * 2 + 0.2).float()
    ignored = indices.clone()
    ignored[1] = -100
    ignored[4] = -100
    custom = indices.clone()
    custom[2] = 7  # ignore_index=7: outside [0, C), allowed as PyTorch allows it
    for name, target, w, ignore_index in (
            ("indices_weight", indices, weight, -100),
            ("indices_ignore-100", ignored, None, -100),
            ("indices_weight_ignore-100", ignored, weight, -100),
            ("indices_weight_ignore2", indices, weight, int(indices[0])),
            ("indices_weight_ignore7", custom, weight, 7),
            ("probabilities_weight", probs, weight, -100)):
        for smoothing in (0.0, 0.2):
            for reduction in ("mean", "sum", "none"):
                x = logits.clone().requires_grad_(True)
                loss = torch.nn.functional.cross_entropy(x, target, weight=w, ignore_index=ignore_index,
                                                         reduction=reduction, label_smoothing=smoothing)
                gw = torch.randn(loss.shape, generator=g).float()
                (loss * gw).sum().backward()
                kind = "probabilities" if target is probs else "indices"
                cases.append({
                    "name": "%s_ls%g_%s" % (name, smoothing, reduction),
                    "logits": tensor_json(logits),
                    "target": {"kind": kind,
                               **({"data": target.tolist()} if kind == "indices" else tensor_json(probs))},
                    "weight": None if w is None else tensor_json(w),
                    "ignoreIndex": ignore_index,
                    "labelSmoothing": smoothing,
                    "reduction": reduction,
                    "loss": tensor_json(loss.detach()),
                    "gradWeight": tensor_json(gw),
                    "gradLogits": tensor_json(x.grad),
                })
    return cases


# ---------------------------------------------------------------------------

def printing_cases():
    """str(tensor) with PyTorch's default print options: fixed, integer and scientific modes,
    nan/inf, wrapping at 80 columns, summarised dims beyond 1000 elements, 0-d and empty
    tensors, float64 and int64 dtypes, requires_grad and grad_fn."""
    g = torch.Generator().manual_seed(4000)
    made = [
        ("fixed_2d", torch.tensor([[0.1, 2.0], [3.0, -4.0]])),
        ("integers", torch.tensor([1.0, 2.0, 3.0])),
        ("zeros", torch.zeros(2, 2)),
        ("scalar", torch.tensor(3.5)),
        ("small_span_sci", torch.tensor([1e-5, 1.0])),
        ("large_sci", torch.tensor([1e9, 1.0])),
        ("tiny_sci", torch.tensor([1e-5, 2e-5])),
        ("ratio_sci", torch.tensor([100000.0, 1.5])),
        ("nan_inf", torch.tensor([float("nan"), 1.5, float("inf"), -float("inf")])),
        ("negative", torch.tensor([-1.5, 2.25])),
        ("wrapped", torch.arange(30.0) / 7),
        ("blocks_3d", torch.arange(24.0).reshape(2, 3, 4)),
        ("summarised_sci", torch.arange(2000.0).reshape(20, 100)),
        ("summarised_3d", (torch.arange(2400.0) % 5).reshape(2, 3, 400)),
        ("randn", torch.randn(4, 5, generator=g)),
        ("randn_long", torch.randn(1500, generator=g)),
        ("int64", torch.tensor([[1, -20], [300, 4]])),
        ("float64", torch.tensor([1.5, -2.0], dtype=torch.float64)),
        ("requires_grad", torch.tensor([1.5], requires_grad=True)),
        ("empty", torch.tensor([])),
        ("empty_2d", torch.zeros(0, 3)),
    ]
    leaf = torch.tensor([1.0, 2.0], requires_grad=True)
    made.append(("grad_fn", leaf * 2))
    cases = []
    for name, t in made:
        cases.append({
            "name": name,
            # JSON has no NaN or infinities: those are written as the strings "nan", "inf", "-inf".
            "data": [v if math.isfinite(v) else repr(v) for v in t.detach().double().flatten().tolist()],
            "shape": list(t.shape),
            "dtype": {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64"}[t.dtype],
            "requiresGrad": t.requires_grad and t.grad_fn is None,
            "gradFn": type(t.grad_fn).__name__ if t.grad_fn is not None else None,
            "str": str(t),
        })
    return cases


# ---------------------------------------------------------------------------

def main():
    bn = {"torch": torch.__version__, "cases": batchnorm_cases()}
    tr = {"torch": torch.__version__, "cases": training_cases()}
    bn_path = os.path.join(FIXTURE_DIR, "batchnorm.json")
    tr_path = os.path.join(FIXTURE_DIR, "training.json")
    ls = {"torch": torch.__version__, "cases": loss_cases()}
    ls_path = os.path.join(FIXTURE_DIR, "losses.json")
    write_json_atomic(bn_path, bn)
    write_json_atomic(tr_path, tr)
    write_json_atomic(ls_path, ls)
    pr = {"torch": torch.__version__, "cases": printing_cases()}
    pr_path = os.path.join(FIXTURE_DIR, "printing.json")
    write_json_atomic(pr_path, pr)
    for p, obj in ((bn_path, bn), (tr_path, tr), (ls_path, ls), (pr_path, pr)):
        print("wrote %s (%d cases, %d bytes)" % (
            os.path.relpath(p, ROOT), len(obj["cases"]), os.path.getsize(p)))


if __name__ == "__main__":
    sys.exit(main())
