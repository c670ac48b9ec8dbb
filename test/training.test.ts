// Whole networks against PyTorch (test/fixtures/training.json, scripts/gen_fixtures.py):
// Linear, BatchNorm1d before and after the activation, Sigmoid/ReLU/Tanh, cross-entropy and
// MSE, SGD (momentum, dampening, Nesterov, weight decay) and Adam, parameter groups (no weight
// decay on BN, own lr) and a learning-rate change between steps, four steps, then eval.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Adam, BatchNorm1d, crossEntropy, Linear, mseLoss, Optimizer, ReLU, RNG, Sequential, SGD, Sigmoid, Tanh, tensor,
  randn, type Parameter, type StateDict,
} from '../src/index.js';
import { assertClose, loadFixture } from './helpers.js';

type Arr = { shape: number[]; data: number[] };
/** Parameter groups: 'bn' = the BatchNorm layers' weight and bias, 'rest' = the others; each with its overrides. */
type GroupSpec = { params: 'bn' | 'rest'; lr?: number; weightDecay?: number; betas?: [number, number] };
interface Case {
  name: string;
  optimizer: ({ type: 'SGD'; lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }
    | { type: 'Adam'; lr: number; betas: [number, number]; eps: number; weightDecay: number })
    & { groups?: GroupSpec[]; lrDecay?: { atStep: number; factor: number } };
  loss: 'cross_entropy' | 'mse';
  tanhHead: boolean;
  /** False for the Adam cases: see make_model in scripts/gen_fixtures.py and the bias test below. */
  biasBeforeBn: boolean;
  initialState: Record<string, Arr>;
  steps: { input: Arr; target: Arr; loss: number }[];
  finalState: Record<string, Arr>;
  /** PyTorch's optimizer.state_dict() flattened: state.<i>.<name> arrays, param_groups.<g>.<key> values. */
  optimizerState: Record<string, Arr | number | boolean | number[]>;
  evalInput: Arr;
  evalOutput: Arr;
}

const fixture = loadFixture<{ torch: string; cases: Case[] }>('training.json');
const toStateDict = (s: Record<string, Arr>): StateDict =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, tensor(v.data, v.shape, { dtype: k.endsWith('num_batches_tracked') ? 'int64' : 'float32' })]));

/** The flattened PyTorch optimizer state as tensors, as Optimizer.stateDict() writes them (true/false as 1/0, indices int64). */
const toOptimizerState = (s: Case['optimizerState']): StateDict => Object.fromEntries(Object.entries(s).map(([k, v]) => [k,
  typeof v === 'object' && !Array.isArray(v) ? tensor(v.data, v.shape, { dtype: k.endsWith('.step') ? 'float64' : 'float32' })
    : Array.isArray(v) ? tensor(v, [v.length], { dtype: k.endsWith('.params') ? 'int64' : 'float64' })
      : tensor([Number(v)], [], { dtype: 'float64' })]));

function model(tanhHead: boolean, biasBeforeBn = true): Sequential {
  const layers = [new Linear(6, 8, { bias: biasBeforeBn }), new BatchNorm1d(8), new Sigmoid(), new Linear(8, 8, { bias: biasBeforeBn }), new ReLU(), new BatchNorm1d(8), new Linear(8, 3)];
  return new Sequential(...layers, ...(tanhHead ? [new Tanh()] : []));
}

// Four optimizer steps compound float32 rounding differences (PyTorch sums in another order),
// so states are compared at 1e-4 relative (1e-5 of the array's scale absolute); losses at 1e-5.
const STATE_TOL = { rtol: 1e-4, atolScale: 1e-5 };

describe(`training against PyTorch ${fixture.torch}`, () => {
  for (const c of fixture.cases) {
    test(c.name, () => {
      const net = model(c.tanhHead, c.biasBeforeBn);
      net.loadStateDict(toStateDict(c.initialState));
      const o = c.optimizer;
      const picked = (which: 'bn' | 'rest') => net.layers().filter((m) => (m instanceof BatchNorm1d) === (which === 'bn')).flatMap((m) => m.parameters());
      const params = o.groups ? o.groups.map(({ params: which, ...overrides }) => ({ params: picked(which), ...overrides })) : net.parameters();
      const opt: Optimizer<{ lr: number }> = o.type === 'SGD'
        ? new SGD(params, { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov })
        : new Adam(params, { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay });
      c.steps.forEach((s, i) => {
        if (o.lrDecay && i === o.lrDecay.atStep) for (const g of opt.paramGroups) g.lr *= o.lrDecay.factor;
        net.train();
        opt.zeroGrad();
        const out = net.forward(tensor(s.input.data, s.input.shape));
        const loss = c.loss === 'mse' ? mseLoss(out, tensor(s.target.data, s.target.shape)) : crossEntropy(out, s.target.data);
        assertClose([loss.item()], [s.loss], { rtol: 1e-5, atolScale: 0 }, `step ${i} loss`);
        loss.backward();
        opt.step();
      });
      // The optimizer's state and param_groups as PyTorch's, but for PyTorch's flags of what this library does not have.
      const torchOpt = toOptimizerState(c.optimizerState);
      const saved = opt.stateDict();
      assert.deepEqual(Object.keys(saved).sort(), Object.keys(torchOpt).filter((k) => !/\.(maximize|amsgrad|capturable|differentiable|fused)$/.test(k)).sort());
      // The biases right before BatchNorm (1, and 5 through ReLU) have a zero gradient but for rounding
      // (see the test below): the noise in their momentum buffers is held to 1e-5 of the layer weight's buffer.
      const noisy = c.biasBeforeBn ? ['state.1.', 'state.5.'] : [];
      const maxAbs = (a: ArrayLike<number>) => Math.max(1e-30, ...Array.from(a, Math.abs));
      for (const [k, t] of Object.entries(saved)) {
        const atolScale = noisy.some((p) => k.startsWith(p))
          ? 1e-5 * maxAbs(saved[k.replace(/^state\.(\d+)/, (_, i) => `state.${Number(i) - 1}`)].data) / maxAbs(torchOpt[k].data)
          : STATE_TOL.atolScale;
        assertClose(t.data, torchOpt[k].data, { rtol: STATE_TOL.rtol, atolScale }, k);
      }
      // PyTorch's state loads into an optimizer made with other hyperparameters, which then has PyTorch's.
      const other = o.type === 'SGD' ? new SGD(params, { lr: 1 }) : new Adam(params, { lr: 1 });
      other.loadStateDict(torchOpt);
      assert.deepEqual(other.paramGroups.map(({ params: _, ...h }) => h), opt.paramGroups.map(({ params: _, ...h }) => h));
      const state = net.stateDict();
      assert.deepEqual(Object.keys(state), Object.keys(c.finalState));
      for (const [k, v] of Object.entries(c.finalState)) assertClose(state[k].data, v.data, STATE_TOL, k);
      net.eval();
      assertClose(net.forward(tensor(c.evalInput.data, c.evalInput.shape)).data, c.evalOutput.data, STATE_TOL, 'eval output');
    });
  }
});

test('the gradient of a bias right before BatchNorm is zero up to rounding (the mean subtraction cancels it)', () => {
  const c = fixture.cases[0];
  const net = model(false);
  net.loadStateDict(toStateDict(c.initialState));
  const s = c.steps[0];
  crossEntropy(net.forward(tensor(s.input.data, s.input.shape)), s.target.data).backward();
  const biasGrad = (net[0] as Linear).bias!.grad!.data;
  const weightGrad = (net[0] as Linear).weight.grad!.data;
  const typical = Math.max(...Array.from(weightGrad, Math.abs));
  for (const g of biasGrad) assert.ok(Math.abs(g) < 1e-6 * typical, `bias gradient ${g} vs weight gradients ~${typical}`);
});

test('an MLP with BatchNorm trained by the public API: the loss goes down', () => {
  const rng = new RNG(3);
  const net = new Sequential(new Linear(10, 32, { rng }), new BatchNorm1d(32), new Sigmoid(), new Linear(32, 32, { rng }), new BatchNorm1d(32), new Sigmoid(), new Linear(32, 4, { rng }));
  const opt = new SGD(net.parameters(), { lr: 0.5, momentum: 0.9 });
  const x = randn([64, 10], { rng });
  const labels = Array.from({ length: 64 }, (_, i) => (x.data[i * 10] > 0 ? 2 : 0) + (x.data[i * 10 + 1] > 0 ? 1 : 0));
  const losses: number[] = [];
  for (let i = 0; i < 60; i++) {
    opt.zeroGrad();
    const loss = crossEntropy(net.forward(x), labels);
    losses.push(loss.item());
    loss.backward();
    opt.step();
  }
  assert.ok(losses[59] < 0.25 * losses[0], `loss ${losses[0]} -> ${losses[59]}`);
});

test('optimizer hyper-parameters are checked', () => {
  const p = new Linear(2, 2).parameters();
  assert.throws(() => new SGD(p, { lr: -1 }), /Invalid learning rate value: -1/);
  assert.throws(() => new SGD(p, { lr: 0.1, nesterov: true }), /Nesterov momentum requires a momentum and zero dampening/);
  assert.throws(() => new Adam(p, { betas: [1, 0.9] }), /Invalid beta parameter at index 0: 1/);
  assert.throws(() => new SGD([], { lr: 0.1 }), /empty parameter list/);
  assert.throws(() => new SGD(undefined as unknown as Parameter[], { lr: 0.1 }), /^TypeError: SGD: params argument given to the optimizer should be an iterable of Tensors, but got undefined$/);
  assert.throws(() => new Adam([[1, 2]] as unknown as Parameter[]), /^TypeError: Adam: optimizer can only optimize Tensors, but one of the params is Array$/);
  assert.throws(() => new SGD(p, { lr: 0.1 }).loadStateDict(undefined as unknown as StateDict), /^TypeError: Expected state_dict to be dict-like, got undefined\.$/);
});

test('parameter groups: checked when made and before every step (a schedule may have set a bad lr)', () => {
  const [w, b] = new Linear(2, 2).parameters();
  assert.throws(() => new SGD([{ params: [w] }, { params: [w, b] }], { lr: 0.1 }), /^Error: SGD: some parameters appear in more than one parameter group$/);
  assert.throws(() => new SGD([{ params: [w] }, { params: [b], momentum: -1 }], { lr: 0.1 }), /^RangeError: SGD \(parameter group 1\): Invalid momentum value: -1$/);
  assert.throws(() => new SGD([{ params: [w] }], {} as never), /^TypeError: SGD: parameter group didn't specify a value of required optimization parameter lr$/);
  assert.throws(() => new Adam([{ params: [w], betas: [0.9, 1] }]), /^RangeError: Adam: Invalid beta parameter at index 1: 1$/);
  assert.throws(() => new Adam([{ params: 3 as never }]), /^TypeError: Adam: params should be an iterable of Tensors, but got number$/);
  const opt = new SGD([{ params: [w], lr: 0.5 }, { params: [b] }], { lr: 0.1, momentum: 0.9 });
  assert.deepEqual(opt.paramGroups.map((g) => [g.lr, g.momentum, g.params.length]), [[0.5, 0.9, 1], [0.1, 0.9, 1]]);
  assert.deepEqual(opt.params, [w, b], 'params lists every group in order (the state indices)');
  opt.paramGroups[1].lr = NaN;
  w.sum().backward(); // group 0 has a gradient: a check made group by group would update it first
  const before = Array.from(w.data);
  assert.throws(() => opt.step(), /^RangeError: SGD \(parameter group 1\): Invalid learning rate value: NaN$/);
  assert.deepEqual(Array.from(w.data), before, 'nothing updated');
});
