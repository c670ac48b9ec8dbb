// Whole networks against PyTorch (test/fixtures/training.json, scripts/gen_fixtures.py):
// Linear, BatchNorm1d before and after the activation, Sigmoid/ReLU/Tanh, cross-entropy and
// MSE, SGD (momentum, dampening, Nesterov, weight decay) and Adam, four steps, then eval.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Adam, BatchNorm1d, crossEntropy, Linear, mseLoss, Optimizer, ReLU, RNG, Sequential, SGD, Sigmoid, Tanh, tensor,
  randn, type Parameter, type StateDict,
} from '../src/index.js';
import { assertClose, loadFixture } from './helpers.js';

type Arr = { shape: number[]; data: number[] };
interface Case {
  name: string;
  optimizer: { type: 'SGD'; lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }
    | { type: 'Adam'; lr: number; betas: [number, number]; eps: number; weightDecay: number };
  loss: 'cross_entropy' | 'mse';
  tanhHead: boolean;
  /** False for the Adam cases: see make_model in scripts/gen_fixtures.py and the bias test below. */
  biasBeforeBn: boolean;
  initialState: Record<string, Arr>;
  steps: { input: Arr; target: Arr; loss: number }[];
  finalState: Record<string, Arr>;
  evalInput: Arr;
  evalOutput: Arr;
}

const fixture = loadFixture<{ torch: string; cases: Case[] }>('training.json');
const toStateDict = (s: Record<string, Arr>): StateDict =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, tensor(v.data, v.shape, { dtype: k.endsWith('num_batches_tracked') ? 'int64' : 'float32' })]));

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
      const opt: Optimizer = o.type === 'SGD'
        ? new SGD(net.parameters(), { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov })
        : new Adam(net.parameters(), { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay });
      c.steps.forEach((s, i) => {
        net.train();
        opt.zeroGrad();
        const out = net.forward(tensor(s.input.data, s.input.shape));
        const loss = c.loss === 'mse' ? mseLoss(out, tensor(s.target.data, s.target.shape)) : crossEntropy(out, s.target.data);
        assertClose([loss.item()], [s.loss], { rtol: 1e-5, atolScale: 0 }, `step ${i} loss`);
        loss.backward();
        opt.step();
      });
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
