// foldBatchNorm: the folded model computes what the original computes in evaluation mode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, RNG, Sequential, Sigmoid, Tensor, randn, rand,
} from '../src/index.js';
import { Identity } from '../src/nn/identity.js';
import { cloneModel, foldBatchNorm } from '../src/nn/fold.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { Module } from '../src/nn/module.js';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchNorm } from '../src/nn/batchnorm.js';

/** Random, non-trivial BN state: gamma, beta, running mean far from 0 and variance from 1e-3 to 10. */
function randomizeBn(bn: BatchNorm, rng: RNG): void {
  const c = bn.numFeatures;
  bn.runningMean!.data.set(randn([c], { rng }).mul(3).data);
  bn.runningVar!.data.set(rand([c], { rng, low: 0.001, high: 10 }).data);
  bn.weight?.data.set(randn([c], { rng }).data);
  bn.bias?.data.set(randn([c], { rng }).data);
}

/** |folded - original| <= 2e-6 * (1 + |original|): float32 rounding of the folded weights. */
function assertClose(a: Tensor, b: Tensor, what: string): number {
  let worst = 0;
  for (let i = 0; i < b.size; i++) {
    const err = Math.abs(a.data[i] - b.data[i]) / (1 + Math.abs(b.data[i]));
    assert.ok(err <= 2e-6, `${what}[${i}]: folded ${a.data[i]} vs original ${b.data[i]} (relative error ${err})`);
    worst = Math.max(worst, err);
  }
  return worst;
}

function mlp(rng: RNG): Sequential {
  return new Sequential(
    new Linear(10, 16, { rng }), new BatchNorm1d(16), new ReLU(),
    new Linear(16, 8, { rng, bias: false }), new BatchNorm1d(8, { affine: false, eps: 1e-3 }), new Sigmoid(),
    new BatchNorm1d(8), // not after a Linear: stays
    new Linear(8, 3, { rng }),
  );
}

function convNet(rng: RNG): Sequential {
  return new Sequential(
    new Conv2d(3, 6, 3, { padding: 1, rng }), new BatchNorm2d(6), new ReLU(), new MaxPool2d(2),
    new Sequential(new Conv2d(6, 4, [3, 1], { stride: [1, 2], rng, bias: false }), new BatchNorm2d(4)),
    new Flatten(), new Linear(16, 5, { rng }), new BatchNorm1d(5),
  );
}

for (const [name, make, inputShape] of [['MLP', mlp, [7, 10]], ['conv net', convNet, [4, 3, 8, 8]]] as const) {
  test(`${name}: folded outputs equal the original's in eval mode, within float32 rounding`, () => {
    const rng = new RNG(11);
    const model = make(rng);
    for (const m of model.modules()) if ('runningVar' in m) randomizeBn(m as BatchNorm, rng);
    model.eval();
    const before = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
    const folded = foldBatchNorm(model);
    const x = randn([...inputShape], { rng }).mul(2).add(1);
    assertClose(folded.forward(x), model.forward(x), name);
    // The original is untouched; folded BN layers became Identity and keys of other layers stay.
    for (const [k, t] of Object.entries(model.stateDict())) assert.deepEqual(Array.from(t.data), before[k], `${k} untouched`);
    const bnLeft = folded.modules().filter((m) => 'runningVar' in m).length;
    assert.equal(bnLeft, name === 'MLP' ? 1 : 0, 'only the BN after a Sigmoid is left');
    assert.ok(folded.modules().some((m) => m instanceof Identity), "folded.modules().some((m) => m instanceof Identity)");
    for (const k of Object.keys(folded.stateDict())) assert.ok(k in model.stateDict() || k.endsWith('.bias'), `new key ${k}`);
  });
}

test('a channels-last BatchNorm1d after a Linear on (N, L, F) folds exactly; a channels-last one after a Conv2d (it normalises the width) stays', () => {
  const rng = new RNG(12);
  const mlp = new Sequential(new Linear(6, 4, { rng }), new BatchNorm1d(4, { channelsLast: true }), new ReLU());
  const conv = new Sequential(new Conv2d(5, 2, 1, { rng }), new BatchNorm2d(4, { channelsLast: true }));
  for (const [model, x, foldable] of [[mlp, randn([3, 5, 6], { rng }), true], [conv, randn([3, 5, 4, 4], { rng }), false]] as const) {
    for (const m of model.modules()) if ('runningVar' in m) randomizeBn(m as BatchNorm, rng);
    model.eval();
    const folded = foldBatchNorm(model);
    assert.equal(folded[1] instanceof Identity, foldable);
    assertClose(folded.forward(x), model.forward(x), foldable ? 'Linear + channels-last BN1d on (N, L, F)' : 'Conv2d + channels-last BN2d');
  }
});

test('fold on a float64 model agrees to 1e-12 (the formula, free of float32 rounding)', () => {
  const rng = new RNG(5);
  const model = new Sequential(new Linear(6, 5, { rng, dtype: 'float64' }), new BatchNorm1d(5, { dtype: 'float64' }));
  randomizeBn(model[1] as BatchNorm, rng);
  model.eval();
  const folded = foldBatchNorm(model);
  assert.equal((folded[0] as Linear).weight.dtype, 'float64');
  const x = randn([9, 6], { rng, dtype: 'float64' });
  const a = folded.forward(x).data;
  const b = model.forward(x).data;
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-12 * (1 + Math.abs(b[i])), `${a[i]} vs ${b[i]}`);
});

test('fold by hand: W\' = W gamma / sqrt(var + eps), b\' = (b - mean) gamma / sqrt(var + eps) + beta', () => {
  const fc = new Linear(1, 1);
  fc.weight.data[0] = 2;
  fc.bias!.data[0] = 1;
  const bn = new BatchNorm1d(1, { eps: 0.5, dtype: 'float32' });
  bn.runningMean!.data[0] = 3;
  bn.runningVar!.data[0] = 3.5; // sqrt(3.5 + 0.5) = 2
  bn.weight!.data[0] = 4;
  bn.bias!.data[0] = -1;
  const f = foldBatchNorm(new Sequential(fc, bn).eval());
  assert.equal((f[0] as Linear).weight.data[0], 2 * 4 / 2); // 4
  assert.equal((f[0] as Linear).bias!.data[0], (1 - 3) * 4 / 2 - 1); // -5
});

test('refuses a model in training mode, naming the layer', () => {
  const model = mlp(new RNG(1));
  assert.throws(() => foldBatchNorm(model), /foldBatchNorm: BatchNorm1d at "1" is in training mode, where it normalises with batch statistics that no folded weight can reproduce; call model\.eval\(\) first/);
  // A frozen BN uses its running statistics in training mode too, so it can be folded.
  for (const m of model.modules()) if ('freeze' in m) (m as BatchNorm).freeze();
  assert.doesNotThrow(() => foldBatchNorm(model));
});

test('a subclass of a known layer, or a custom Module, is refused by foldBatchNorm, cloneModel and saveCheckpoint, not rebuilt as the base class', () => {
  class ScaledLinear extends Linear {
    override forward(x: Tensor): Tensor {
      return super.forward(x).mul(10);
    }
  }
  class Net extends Module {
    fc = new Linear(4, 3);
    bn = new BatchNorm1d(3);
    forward(x: Tensor): Tensor {
      return this.bn.forward(this.fc.forward(x));
    }
  }
  const scaled = new Sequential(new ScaledLinear(4, 3), new ReLU(), new Linear(3, 2), new BatchNorm1d(2)).eval();
  const dir = mkdtempSync(join(tmpdir(), 'bn-fold-'));
  try {
    for (const [fn, call] of [['foldBatchNorm', foldBatchNorm], ['cloneModel', cloneModel], ['saveCheckpoint', (m: Module) => saveCheckpoint(join(dir, 'm.safetensors'), m)]] as const) {
      assert.throws(() => call(scaled), new RegExp(`^TypeError: ${fn}: cannot describe model\\.0 \\(ScaledLinear\\), a subclass of Linear: its own code would be lost \\(unless in eval mode it computes as Linear: declare static savesAs = Linear\\); supported: Sequential, Linear`));
      assert.throws(() => call(new Net().eval()), new RegExp(`^TypeError: ${fn}: cannot describe model \\(Net\\); supported:`));
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
