// Frozen BatchNorm: uses and keeps its running statistics in training mode, survives model.train().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchNorm1d, BatchNorm2d, crossEntropy, Linear, ReLU, RNG, Sequential, SGD, Tensor, randn, rand } from '../src/index.js';
import { freezeBatchNorm, unfreezeBatchNorm } from '../src/nn/freeze.js';

const snapshot = (t: Tensor | null) => Array.from(t!.data);

function trainedBn(rng: RNG): BatchNorm2d {
  const bn = new BatchNorm2d(3);
  bn.runningMean!.data.set([0.5, -2, 3]);
  bn.runningVar!.data.set([0.25, 4, 0.01]);
  bn.numBatchesTracked!.data[0] = 17;
  bn.weight!.data.set(randn([3], { rng }).data);
  bn.bias!.data.set(randn([3], { rng }).data);
  return bn;
}

test('a frozen BN in training mode computes exactly what eval mode computes, and keeps its statistics', () => {
  const rng = new RNG(1);
  const bn = trainedBn(rng);
  const x = randn([4, 3, 2, 2], { rng }).mul(3);
  const expected = bn.eval().forward(x);
  bn.train().freeze();
  assert.equal(bn.training, true);
  const y = bn.forward(x);
  assert.deepEqual(Array.from(y.data), Array.from(expected.data));
  assert.deepEqual(snapshot(bn.runningMean), [0.5, -2, 3]);
  assert.deepEqual(snapshot(bn.runningVar), Array.from(Float32Array.of(0.25, 4, 0.01)));
  assert.equal(bn.numBatchesTracked!.item(), 17, 'numBatchesTracked not incremented');
  // A batch of one is fine when frozen, as in eval mode (no batch statistics needed).
  assert.doesNotThrow(() => bn.forward(randn([1, 3, 1, 1], { rng })));
  // Textbook eval-mode values: y = (x - mean) / sqrt(var + eps) * gamma + beta (float32 rounding).
  // Element (n=0, c=1, h=0, w=1) sits at offset 1*4 + 1 = 5.
  const want = ((x.data[5] - -2) / Math.sqrt(4 + 1e-5)) * bn.weight!.data[1] + bn.bias!.data[1];
  assert.ok(Math.abs(y.data[5] - want) <= 1e-6 * (1 + Math.abs(want)), `${y.data[5]} vs ${want}`);
});

test('gradients through a frozen BN are the affine map\'s: dx = dy gamma / sqrt(var + eps), dgamma = sum dy xhat, dbeta = sum dy', () => {
  const rng = new RNG(2);
  const bn = new BatchNorm1d(2, { dtype: 'float64' });
  bn.runningMean!.data.set([1, -1]);
  bn.runningVar!.data.set([4, 0.5]);
  bn.weight!.data.set([1.5, -0.5]);
  bn.bias!.data.set([0.1, 0.2]);
  bn.freeze();
  const x = randn([5, 2], { rng, dtype: 'float64', requiresGrad: true });
  const dy = randn([5, 2], { rng, dtype: 'float64' });
  bn.forward(x).backward(dy);
  const inv = [1 / Math.sqrt(4 + 1e-5), 1 / Math.sqrt(0.5 + 1e-5)];
  const mean = [1, -1];
  for (let c = 0; c < 2; c++) {
    let dgamma = 0;
    let dbeta = 0;
    for (let n = 0; n < 5; n++) {
      const k = n * 2 + c;
      assert.ok(Math.abs(x.grad!.data[k] - dy.data[k] * bn.weight!.data[c] * inv[c]) < 1e-12, "Math.abs(x.grad!.data[k] - dy.data[k] * bn.weight!.data[c] * inv[c]) < 1e-12");
      dgamma += dy.data[k] * (x.data[k] - mean[c]) * inv[c];
      dbeta += dy.data[k];
    }
    assert.ok(Math.abs(bn.weight!.grad!.data[c] - dgamma) < 1e-12, "Math.abs(bn.weight!.grad!.data[c] - dgamma) < 1e-12");
    assert.ok(Math.abs(bn.bias!.grad!.data[c] - dbeta) < 1e-12, "Math.abs(bn.bias!.grad!.data[c] - dbeta) < 1e-12");
  }
});

test('fine-tuning: freezeBatchNorm(model, { affine: true }) survives model.train(); only the other layers learn', () => {
  const rng = new RNG(3);
  const model = new Sequential(new Linear(4, 6, { rng }), new BatchNorm1d(6), new ReLU(), new Linear(6, 3, { rng }), new BatchNorm1d(3));
  model.forward(randn([8, 4], { rng })); // some running statistics
  const names = freezeBatchNorm(model, { affine: true });
  assert.deepEqual(names, ['1', '4']);
  model.train(); // must not unfreeze
  const bnState = Object.fromEntries(Object.entries(model.stateDict()).filter(([k]) => /^[14]\./.test(k)).map(([k, t]) => [k, Array.from(t.data)]));
  const w0 = snapshot(model.stateDict()['0.weight']);
  const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-2 });
  for (let step = 0; step < 3; step++) {
    const loss = crossEntropy(model.forward(randn([8, 4], { rng })), [0, 1, 2, 0, 1, 2, 0, 1]);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
  for (const [k, v] of Object.entries(bnState)) assert.deepEqual(Array.from(model.stateDict()[k].data), v, `${k} unchanged`);
  assert.notDeepEqual(snapshot(model.stateDict()['0.weight']), w0, 'Linear still trains');
  assert.equal(model.stateDict()['1.weight'].grad, null);

  // Statistics only (affine false): gamma/beta learn, statistics stay.
  unfreezeBatchNorm(model);
  assert.equal(model.stateDict()['1.weight'].requiresGrad, true, 'unfreeze restores requiresGrad');
  freezeBatchNorm(model);
  const g0 = snapshot(model.stateDict()['1.weight']);
  const stats = snapshot(model.stateDict()['1.running_mean']);
  const loss = crossEntropy(model.forward(rand([8, 4], { rng })), [0, 1, 2, 0, 1, 2, 0, 1]);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  assert.notDeepEqual(snapshot(model.stateDict()['1.weight']), g0, 'gamma trains when affine is not frozen');
  assert.deepEqual(snapshot(model.stateDict()['1.running_mean']), stats);

  // Unfrozen: training mode updates the statistics again.
  unfreezeBatchNorm(model);
  model.forward(randn([8, 4], { rng }));
  assert.notDeepEqual(snapshot(model.stateDict()['1.running_mean']), stats);
  assert.equal(model.stateDict()['1.num_batches_tracked'].item(), 2);
});

test('freezing a BN without running statistics is refused', () => {
  const model = new Sequential(new Linear(2, 2), new BatchNorm1d(2, { trackRunningStats: false }));
  assert.throws(() => freezeBatchNorm(model), /freezeBatchNorm: BatchNorm1d at "1" keeps no running statistics \(trackRunningStats is false\)/);
  assert.throws(() => (model[1] as BatchNorm1d).freeze(), /cannot freeze a layer without running statistics/);
});
