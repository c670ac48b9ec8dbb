// updateBn (PyTorch's torch.optim.swa_utils.update_bn): running statistics recomputed as the
// plain average over the given batches, checked against the batch statistics computed here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchNorm1d, batchNorm, Linear, noGrad, ReLU, RNG, Sequential, Tensor, randn, updateBn } from '../src/index.js';
import { assertClose, FLOAT32 } from './helpers.js';

/** Per-column mean and unbiased variance of an (N, C) tensor, in float64. */
function columnStats(t: Tensor): { mean: number[]; varUnbiased: number[] } {
  const [n, c] = t.shape;
  const mean = new Array<number>(c).fill(0);
  const v = new Array<number>(c).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) mean[j] += t.data[i * c + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) v[j] += (t.data[i * c + j] - mean[j]) ** 2 / (n - 1);
  return { mean, varUnbiased: v };
}

function net(rng: RNG) {
  return new Sequential(new Linear(4, 3, { rng }), new BatchNorm1d(3), new ReLU(), new Linear(3, 2, { rng }), new BatchNorm1d(2, { momentum: 0.3 }));
}

test('every BatchNorm ends with the average of its batch means and unbiased batch variances over the batches', () => {
  const rng = new RNG(3);
  const model = net(rng);
  const [lin1, bn1, , lin2, bn2] = model.layers() as [Linear, BatchNorm1d, ReLU, Linear, BatchNorm1d];
  for (let i = 0; i < 3; i++) model.forward(randn(8, 4, { rng }).mul(2)); // some stale statistics
  model.eval();
  const batches = [5, 9, 6].map((n) => randn(n, 4, { rng }).mul(3).add(1));
  // The expected values: the batch statistics at each BN's input (earlier BNs normalise with batch statistics in training mode).
  const sums = { m1: [0, 0, 0], v1: [0, 0, 0], m2: [0, 0], v2: [0, 0] };
  noGrad(() => {
    for (const x of batches) {
      const z1 = lin1.forward(x);
      const s1 = columnStats(z1);
      const h = batchNorm(z1, { weight: bn1.weight, bias: bn1.bias, training: true }).relu();
      const s2 = columnStats(lin2.forward(h));
      s1.mean.forEach((v, j) => { sums.m1[j] += v / 3; sums.v1[j] += s1.varUnbiased[j] / 3; });
      s2.mean.forEach((v, j) => { sums.m2[j] += v / 3; sums.v2[j] += s2.varUnbiased[j] / 3; });
    }
  });
  assert.equal(updateBn(batches, model), 3);
  assertClose(bn1.runningMean!.data, sums.m1, FLOAT32, 'bn1 running mean');
  assertClose(bn1.runningVar!.data, sums.v1, FLOAT32, 'bn1 running var');
  assertClose(bn2.runningMean!.data, sums.m2, FLOAT32, 'bn2 running mean');
  assertClose(bn2.runningVar!.data, sums.v2, FLOAT32, 'bn2 running var');
  assert.equal(bn1.numBatchesTracked!.item(), 3);
  assert.deepEqual([bn1.momentum, bn2.momentum], [0.1, 0.3], 'momenta put back');
  assert.ok(model.modules().every((m) => !m.training), 'eval mode put back');
  assert.ok(model.parameters().every((p) => p.grad === null), 'no gradients');
});

test('[input, labels] batches, frozen layers left alone, mixed modes put back', () => {
  const rng = new RNG(4);
  const model = net(rng);
  const bn2 = model[4] as BatchNorm1d;
  bn2.freeze();
  bn2.runningMean!.data.set([5, 6]);
  model[1].eval();
  assert.equal(updateBn([[randn(6, 4, { rng }), [0, 1, 0, 1, 0, 1]], [randn(4, 4, { rng }), [1, 1, 0, 0]]] as [Tensor, number[]][], model), 2);
  assert.deepEqual(Array.from(bn2.runningMean!.data), [5, 6]);
  assert.equal((model[1] as BatchNorm1d).numBatchesTracked!.item(), 2);
  assert.deepEqual(model.modules().map((m) => m.training), [true, true, false, true, true, true]);
});

test('an empty iterable or a failing batch changes nothing and says why', () => {
  const rng = new RNG(5);
  const model = net(rng);
  model.forward(randn(8, 4, { rng }));
  const before = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
  const unchanged = () => {
    for (const [k, t] of Object.entries(model.stateDict())) assert.deepEqual(Array.from(t.data), before[k], k);
    assert.deepEqual([(model[1] as BatchNorm1d).momentum, (model[4] as BatchNorm1d).momentum], [0.1, 0.3]);
  };
  assert.throws(() => updateBn([], model), /^RangeError: updateBn: batches is empty: no statistics to compute \(the running statistics are unchanged\)$/);
  unchanged();
  assert.throws(() => updateBn([randn(4, 4, { rng }), randn(1, 4, { rng })], model), /Expected more than 1 value per channel when training, got input size \[1, 3\]/);
  unchanged();
  assert.throws(() => updateBn([[1, 2]] as never, model), /^TypeError: updateBn: batch 0 should be a Tensor or an array starting with one, but got Array$/);
  unchanged();
  assert.throws(() => updateBn(undefined as never, model), /^TypeError: updateBn: batches should be an iterable of Tensors \(or \[input, \.\.\.\] arrays\), but got undefined$/);
  assert.equal(updateBn([randn(3, 4, { rng })], new Sequential(new Linear(4, 2))), 0, 'no BatchNorm: nothing to do');
});

test('a momentum set between steps is checked at the next forward (bn.momentum = null is allowed, as in PyTorch)', () => {
  const bn = new BatchNorm1d(2);
  bn.momentum = null;
  bn.forward(randn(4, 2, { rng: new RNG(1) }));
  bn.momentum = 2;
  assert.throws(() => bn.forward(randn(4, 2, { rng: new RNG(1) })), /^RangeError: BatchNorm1d: momentum must be in \[0, 1\] or null \(got 2\)$/);
  assert.equal(bn.numBatchesTracked!.item(), 1, 'the refused batch is not counted');
});
