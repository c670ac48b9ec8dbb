// BatchNorm against PyTorch's own numbers (test/fixtures/batchnorm.json, made by
// scripts/gen_fixtures.py), against a BatchNorm composed from primitive ops, against float64
// finite differences, and against the properties the layer must have.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchNorm1d, BatchNorm2d, BatchNorm3d, batchNorm, kerasBatchNorm, loadKerasBatchNorm, noGrad, tensor, Tensor, type DType } from '../src/index.js';
import { resetWarnings } from '../src/describe.js';
import { fixture, replay } from './bnFixture.js';
import { assertClose, FLOAT32, FLOAT64, gradcheck, randomTensor } from './helpers.js';

describe(`BatchNorm against PyTorch ${fixture.torch} (scripts/gen_fixtures.py)`, () => {
  for (const c of fixture.cases) {
    test(`${c.name} in ${c.dtype}`, () => replay(c, c.dtype, c.dtype === 'float32' ? FLOAT32 : FLOAT64));
    if (c.dtype === 'float64' && c.inputsExactInFloat32) {
      // The same float32-exact inputs through the float32 path, against the exact (float64)
      // answer: where PyTorch's own float32 path is off by up to 1% (large offset), ours is not.
      test(`${c.name} in float32 against the float64 reference`, () => replay(c, 'float32', FLOAT32));
    }
  }
  test('covers every rank, every option and the hard cases', () => {
    const names = fixture.cases.map((c) => c.name);
    for (const m of ['BatchNorm1d', 'BatchNorm2d', 'BatchNorm3d']) assert.ok(fixture.cases.some((c) => c.module === m), m);
    for (const n of ['large_offset', 'constant_channel', 'batch_of_two', 'variance_near_eps', 'bn2d_momentum_none', 'bn2d_no_affine', 'bn2d_no_running_stats']) {
      assert.ok(names.includes(n), n);
    }
  });
});

/** BatchNorm built from primitive ops (mean, sub, mul, sqrt, div): the second route to the same numbers. */
function composedBatchNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const mean = x.mean(axes, true);
  const centered = x.sub(mean);
  const variance = centered.mul(centered).mean(axes, true);
  const xHat = centered.div(variance.add(eps).sqrt());
  return xHat.mul(weight.reshape(...bshape)).add(bias.reshape(...bshape));
}

describe('fused BatchNorm kernel agrees with a BatchNorm composed from primitive ops', () => {
  for (const shape of [[8, 3], [4, 3, 7], [3, 4, 5, 6], [2, 3, 2, 3, 4]]) {
    test(`shape [${shape}]: output and gradients`, () => {
      const c = shape[1];
      const mk = () => ({
        x: randomTensor(shape, 1, { mean: 2, std: 3, requiresGrad: true }),
        w: randomTensor([c], 2, { mean: 1, std: 0.3, requiresGrad: true }),
        b: randomTensor([c], 3, { requiresGrad: true }),
      });
      const g = randomTensor(shape, 4);
      const fused = mk();
      const composed = mk();
      const yf = batchNorm(fused.x, { weight: fused.w, bias: fused.b, training: true, eps: 1e-5 });
      const yc = composedBatchNorm(composed.x, composed.w, composed.b, 1e-5);
      yf.backward(g);
      yc.backward(g);
      const tol = { rtol: 1e-9, atolScale: 1e-9 };
      assertClose(yf.data, yc.data, tol, 'output');
      assertClose(fused.x.grad!.data, composed.x.grad!.data, tol, 'dx');
      assertClose(fused.w.grad!.data, composed.w.grad!.data, tol, 'dweight');
      assertClose(fused.b.grad!.data, composed.b.grad!.data, tol, 'dbias');
    });
  }
});

describe('BatchNorm gradients against float64 central differences', () => {
  const shape = [4, 3, 2, 3];
  const x = randomTensor(shape, 11, { mean: 1, std: 2, requiresGrad: true });
  const w = randomTensor([3], 12, { mean: 1, std: 0.5, requiresGrad: true });
  const b = randomTensor([3], 13, { requiresGrad: true });
  test('training mode (batch statistics): dx, dweight, dbias', () => {
    gradcheck((xi, wi, bi) => batchNorm(xi, { weight: wi, bias: bi, training: true }), [x, w, b]);
  });
  test('evaluation mode (running statistics are constants)', () => {
    const rm = randomTensor([3], 14);
    const rv = randomTensor([3], 15, { mean: 2, std: 0.1 });
    gradcheck((xi, wi, bi) => batchNorm(xi, { weight: wi, bias: bi, runningMean: rm, runningVar: rv, training: false }), [x, w, b]);
  });
  test('without affine parameters', () => {
    gradcheck((xi) => batchNorm(xi, { training: true }), [x]);
  });
  test('through the module, training and eval', () => {
    const bn = new BatchNorm2d(3, { dtype: 'float64' });
    bn.weight!.data.set([0.5, 1.5, 2]);
    gradcheck((xi) => bn.forward(xi), [x]);
    bn.eval();
    gradcheck((xi) => bn.forward(xi), [x]);
  });
});

describe('BatchNorm properties', () => {
  test('training output has per-channel mean beta and standard deviation gamma; dx sums to 0', () => {
    const bn = new BatchNorm2d(3);
    bn.weight!.data.set([0.5, 2, 3]);
    bn.bias!.data.set([-1, 0, 4]);
    const x = randomTensor([8, 3, 4, 4], 21, { mean: 5, std: 4, dtype: 'float32', requiresGrad: true });
    const y = bn.forward(x);
    y.backward(randomTensor([8, 3, 4, 4], 22, { dtype: 'float32' }));
    const m = 8 * 16;
    for (let c = 0; c < 3; c++) {
      const vals: number[] = [];
      const grads: number[] = [];
      for (let n = 0; n < 8; n++) for (let s = 0; s < 16; s++) {
        vals.push(y.data[(n * 3 + c) * 16 + s]);
        grads.push(x.grad!.data[(n * 3 + c) * 16 + s]);
      }
      const mean = vals.reduce((a, b) => a + b) / m;
      const std = Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / m);
      assert.ok(Math.abs(mean - bn.bias!.data[c]) < 1e-5, `channel ${c} mean ${mean}`);
      // var(y) = gamma^2 * var / (var + eps): std is gamma up to the eps term.
      assert.ok(Math.abs(std - bn.weight!.data[c]) < 1e-4 * bn.weight!.data[c], `channel ${c} std ${std}`);
      assert.ok(Math.abs(grads.reduce((a, b) => a + b)) < 1e-4, `channel ${c} sum dx`);
    }
  });

  test('a constant channel gives beta exactly, never NaN, and its gradient is finite', () => {
    const bn = new BatchNorm1d(2);
    bn.bias!.data.set([0.25, -0.75]);
    const x = tensor([[3, 1], [3, 2], [3, 7], [3, -4]], undefined, { requiresGrad: true });
    const y = bn.forward(x);
    y.sum().backward();
    for (let n = 0; n < 4; n++) assert.equal(y.data[n * 2], bn.bias!.data[0]);
    assert.ok(x.grad!.data.every(Number.isFinite), "x.grad!.data.every(Number.isFinite)");
    assert.equal(bn.runningVar!.data[0], Math.fround(0.9)); // (1 - 0.1) * 1 + 0.1 * 0, in float32
  });

  test('1e4 + 1e-2 * noise in float32 matches the float64 answer (E[x^2] - E[x]^2 would not)', () => {
    const x64 = randomTensor([64, 2, 8], 31, { mean: 1e4, std: 1e-2 });
    const x32 = tensor(x64.data, x64.shape); // float32-rounded inputs ...
    const exact = tensor(x32.data, x32.shape, { dtype: 'float64' }); // ... and their exact float64 copy
    const y32 = batchNorm(x32, { training: true });
    const y64 = batchNorm(exact, { training: true });
    assertClose(y32.data, y64.data, FLOAT32, 'normalised output');
    // The textbook shortcut in float32 arithmetic loses every digit here:
    const f = Math.fround;
    let s = 0;
    let sq = 0;
    for (let i = 0; i < 8; i++) for (let n = 0; n < 64; n++) {
      const v = x32.data[n * 16 + i];
      s = f(s + v);
      sq = f(sq + f(v * v));
    }
    const naiveVar = f(f(sq / 512) - f(f(s / 512) * f(s / 512)));
    assert.ok(Math.abs(naiveVar - 1e-4) > 1e-3, `the naive float32 variance ${naiveVar} should be far off (true ~1e-4)`);
  });

  test('batch of two: every output is +-1 per channel (up to eps)', () => {
    const bn = new BatchNorm1d(3);
    const y = bn.forward(tensor([[1, 5, -2], [3, 4, 8]]));
    for (const v of y.data) assert.ok(Math.abs(Math.abs(v) - 1) < 1e-4, `${v}`);
  });

  test('eval mode uses running statistics: a sample gives the same answer alone or in any batch', () => {
    const bn = new BatchNorm1d(3);
    for (let i = 0; i < 5; i++) bn.forward(randomTensor([16, 3], 40 + i, { mean: 3, std: 2, dtype: 'float32' }));
    bn.eval();
    const batch = randomTensor([6, 3], 50, { dtype: 'float32' });
    const yBatch = bn.forward(batch);
    const yOne = bn.forward(tensor(batch.data.slice(6, 9), [1, 3]));
    assert.deepEqual(Array.from(yOne.data), Array.from(yBatch.data.slice(6, 9)));
    const rm = bn.runningMean!.data;
    const rv = bn.runningVar!.data;
    for (let c = 0; c < 3; c++) {
      const expected = (batch.data[6 + c] - rm[c]) / Math.sqrt(rv[c] + 1e-5);
      assert.ok(Math.abs(yOne.data[c] - expected) < 1e-5, "Math.abs(yOne.data[c] - expected) < 1e-5");
    }
  });

  test('running statistics follow the exponential moving average in closed form (biased for normalising, unbiased for running_var)', () => {
    const bn = new BatchNorm1d(4, { momentum: 0.1 });
    const x = tensor([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]);
    noGrad(() => { for (let k = 0; k < 10; k++) bn.forward(x); });
    const decay = 0.9 ** 10;
    assertClose(bn.runningMean!.data, [5, 6, 7, 8].map((m) => (1 - decay) * m), FLOAT32, 'running mean');
    assertClose(bn.runningVar!.data, [16, 16, 16, 16].map((v) => decay + (1 - decay) * v), FLOAT32, 'running var');
    assert.equal(bn.numBatchesTracked!.item(), 10);
  });

  test('momentum null is the cumulative average of the batch statistics', () => {
    const bn = new BatchNorm1d(1, { momentum: null });
    const batches = [[1, 3], [10, 20, 30], [-4, 4]];
    for (const b of batches) bn.forward(tensor(b.map((v) => [v])));
    const means = batches.map((b) => b.reduce((a, v) => a + v) / b.length);
    const vars = batches.map((b, i) => b.reduce((a, v) => a + (v - means[i]) ** 2, 0) / (b.length - 1));
    assertClose(bn.runningMean!.data, [means.reduce((a, v) => a + v) / 3], FLOAT32, 'mean');
    assertClose(bn.runningVar!.data, [vars.reduce((a, v) => a + v) / 3], FLOAT32, 'var');
  });

  test('trackRunningStats false: batch statistics in eval too, no running buffers in the state dict', () => {
    const bn = new BatchNorm2d(2, { trackRunningStats: false });
    const x = randomTensor([3, 2, 2, 2], 60, { mean: 4, dtype: 'float32' });
    const yTrain = bn.forward(x);
    bn.eval();
    assert.deepEqual(Array.from(bn.forward(x).data), Array.from(yTrain.data));
    assert.deepEqual(Object.keys(bn.stateDict()), ['weight', 'bias']);
    assert.deepEqual(Object.keys(new BatchNorm2d(2, { affine: false }).stateDict()), ['running_mean', 'running_var', 'num_batches_tracked']);
  });

  test('float64 modules keep float64 parameters and buffers, num_batches_tracked is int64', () => {
    const bn = new BatchNorm3d(2, { dtype: 'float64' });
    const dtypes = Object.fromEntries(Object.entries(bn.stateDict()).map(([k, v]) => [k, v.dtype as DType]));
    assert.deepEqual(dtypes, { weight: 'float64', bias: 'float64', running_mean: 'float64', running_var: 'float64', num_batches_tracked: 'int64' });
  });
});

/** Moves dim 1 to the end ((N, C, *) -> (N, *, C)) or back, by index arithmetic (not the library's ops). */
function moveChannels(data: ArrayLike<number>, shape: number[], toLast: boolean): number[] {
  const [n, c] = toLast ? [shape[0], shape[1]] : [shape[0], shape[shape.length - 1]];
  const s = data.length / (n * c);
  const out = new Array<number>(data.length);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let k = 0; k < s; k++) {
        const first = (i * c + ch) * s + k;
        const last = (i * s + k) * c + ch;
        if (toLast) out[last] = data[first];
        else out[first] = data[last];
      }
    }
  }
  return out;
}

describe('channelsLast: (N, *, C) inputs (Keras / TF.js layout) give the channels-first answer, transposed', () => {
  const cases = [
    { Cls: BatchNorm1d, first: [6, 3, 5] },
    { Cls: BatchNorm2d, first: [3, 4, 5, 6] },
    { Cls: BatchNorm3d, first: [2, 3, 2, 3, 4] },
  ];
  for (const { Cls, first } of cases) {
    test(`${Cls.name} ${JSON.stringify(first)}: outputs, running statistics and gradients in training, then eval`, () => {
      const last = [first[0], ...first.slice(2), first[1]];
      const c = first[1];
      const make = (channelsLast: boolean) => {
        const bn = new Cls(c, { channelsLast, dtype: 'float64', momentum: 0.3 });
        bn.weight!.data.set(Array.from({ length: c }, (_, i) => 0.5 + i));
        bn.bias!.data.set(Array.from({ length: c }, (_, i) => i - 1));
        return bn;
      };
      const ref = make(false);
      const cl = make(true);
      for (let step = 0; step < 2; step++) {
        const xFirst = randomTensor(first, 70 + step, { mean: 3, std: 2, dtype: 'float64', requiresGrad: true });
        const xLast = tensor(moveChannels(xFirst.data, first, true), last, { dtype: 'float64', requiresGrad: true });
        const gFirst = randomTensor(first, 80 + step, { dtype: 'float64' });
        const gLast = tensor(moveChannels(gFirst.data, first, true), last, { dtype: 'float64' });
        const yFirst = ref.forward(xFirst);
        const yLast = cl.forward(xLast);
        assertClose(moveChannels(yLast.data, last, false), yFirst.data, FLOAT64, 'output');
        yFirst.mul(gFirst).sum().backward();
        yLast.mul(gLast).sum().backward();
        assertClose(moveChannels(xLast.grad!.data, last, false), xFirst.grad!.data, FLOAT64, 'dx');
        assertClose(cl.weight!.grad!.data, ref.weight!.grad!.data, FLOAT64, 'dweight');
        assertClose(cl.bias!.grad!.data, ref.bias!.grad!.data, FLOAT64, 'dbias');
        cl.zeroGrad();
        ref.zeroGrad();
      }
      assertClose(cl.runningMean!.data, ref.runningMean!.data, FLOAT64, 'running mean');
      assertClose(cl.runningVar!.data, ref.runningVar!.data, FLOAT64, 'running var');
      assert.equal(cl.numBatchesTracked!.item(), 2);
      const x = randomTensor(first, 90, { dtype: 'float64' });
      const yEval = cl.eval().forward(tensor(moveChannels(x.data, first, true), last, { dtype: 'float64' }));
      assertClose(moveChannels(yEval.data, last, false), ref.eval().forward(x).data, FLOAT64, 'eval output');
    });
  }
  test('float32 on the default backend, the channel count check and toString', () => {
    const bn = new BatchNorm2d(3, { channelsLast: true });
    const y = bn.forward(randomTensor([4, 5, 5, 3], 3, { mean: 1e4, std: 1e-2, dtype: 'float32' }));
    for (let ch = 0; ch < 3; ch++) {
      let m = 0;
      for (let i = ch; i < y.size; i += 3) m += y.data[i] / (y.size / 3);
      assert.ok(Math.abs(m) < 1e-4, `channel ${ch} mean ${m}: stable statistics on the channels-last kernel too`);
    }
    assert.throws(() => bn.forward(randomTensor([2, 3, 4, 4], 1, { dtype: 'float32' })),
      /BatchNorm2d\(3\): expected input with 3 channels in the last dim \(channelsLast\) \(got 4 channels, input shape \[2, 3, 4, 4\]\)/);
    assert.match(String(bn), /channelsLast=true/);
  });
});

describe('BatchNorm bad input', () => {
  test('an input of another dtype than the layer is refused, with or without affine parameters (PyTorch refuses mixed dtypes)', () => {
    for (const affine of [true, false]) {
      const bn = new BatchNorm1d(3, { affine });
      // Without affine parameters only the running statistics (float32) meet the float64 input:
      // they were averaged into float32 silently before.
      assert.throws(() => bn.forward(randomTensor([4, 3], 1)), /^TypeError: batch_norm: expected all tensors to have the same dtype \(got float64 and float32\)$/);
      assert.deepEqual(Array.from(bn.runningMean!.data), [0, 0, 0]);
    }
  });
  test('wrong rank, in PyTorch words', () => {
    assert.throws(() => new BatchNorm2d(3).forward(randomTensor([2, 3, 4], 1, { dtype: 'float32' })), /expected 4D input \(got 3D input\)/);
    assert.throws(() => new BatchNorm1d(3).forward(randomTensor([2, 3, 4, 5], 1, { dtype: 'float32' })), /expected 2D or 3D input \(got 4D input\)/);
    assert.throws(() => new BatchNorm3d(3).forward(randomTensor([2, 3, 4, 5], 1, { dtype: 'float32' })), /expected 5D input \(got 4D input\)/);
     // The layer's name, and the variant (and kerasBatchNorm's dims) that takes such an input.
    assert.throws(() => new BatchNorm1d(2).forward(randomTensor([2, 3, 3, 2], 1, { dtype: 'float32' })),
      /^RangeError: BatchNorm1d\(2\): expected 2D or 3D input \(got 4D input\); a 4D input takes BatchNorm2d \(from kerasBatchNorm: pass \{ dims: 2 \}\)$/);
    assert.throws(() => new BatchNorm2d(2).forward(randomTensor([2, 2, 3, 3, 3], 1, { dtype: 'float32' })), /BatchNorm2d\(2\): expected 4D input \(got 5D input\); a 5D input takes BatchNorm3d \(from kerasBatchNorm: pass \{ dims: 3 \}\)/);
    assert.throws(() => new BatchNorm2d(2).forward(randomTensor([2], 1, { dtype: 'float32' })), /^RangeError: BatchNorm2d\(2\): expected 4D input \(got 1D input\)$/);
  });
  test('an input that is not a tensor (a nested array, undefined) is named, module and function alike', () => {
    assert.throws(() => new BatchNorm1d(2).forward([[1, 2], [3, 4]] as unknown as Tensor), /^TypeError: batch_norm\(\): argument 'input' \(position 1\) must be Tensor, not Array$/);
    assert.throws(() => new BatchNorm2d(2).forward(undefined as unknown as Tensor), /batch_norm\(\): argument 'input' \(position 1\) must be Tensor, not undefined/);
    const x = randomTensor([4, 2], 1, { dtype: 'float32' });
    assert.throws(() => batchNorm(x, { weight: [1, 1] as unknown as Tensor, training: true }), /batch_norm\(\): argument 'weight' \(position 4\) must be Tensor, not Array/);
    assert.throws(() => batchNorm(x, { runningMean: new Float32Array(2) as unknown as Tensor }), /batch_norm\(\): argument 'running_mean' \(position 2\) must be Tensor, not Float32Array/);
  });
  test('wrong channel count names both', () => {
    assert.throws(() => new BatchNorm2d(4).forward(randomTensor([2, 3, 4, 5], 1, { dtype: 'float32' })), /expected input with 4 channels in dim 1 \(got 3 channels, input shape \[2, 3, 4, 5\]\)$/);
    // When the other layout fits, a hint after PyTorch's words (Keras / TF.js data is channels last).
    assert.throws(() => new BatchNorm2d(3).forward(randomTensor([2, 5, 5, 3], 1, { dtype: 'float32' })),
      /^RangeError: BatchNorm2d\(3\): expected input with 3 channels in dim 1 \(got 5 channels, input shape \[2, 5, 5, 3\]\) \(channels-last input\? BatchNorm2d\(3, \{ channelsLast: true \}\) takes \(N, H, W, C\)\)$/);
    assert.throws(() => new BatchNorm1d(3).forward(randomTensor([2, 5, 3], 1, { dtype: 'float32' })), /\(channels-last input\? BatchNorm1d\(3, \{ channelsLast: true \}\) takes \(N, L, C\)\)$/);
    assert.throws(() => new BatchNorm3d(3, { channelsLast: true }).forward(randomTensor([2, 3, 2, 2, 2], 1, { dtype: 'float32' })),
      /in the last dim \(channelsLast\) \(got 2 channels, input shape \[2, 3, 2, 2, 2\]\) \(channels-first input\? BatchNorm3d\(3\) without channelsLast takes \(N, C, D, H, W\)\)$/);
  });
  test('one value per channel in training mode, and the batch is not counted', () => {
    const bn = new BatchNorm1d(3);
    assert.throws(() => bn.forward(tensor([[1, 2, 3]])), /Expected more than 1 value per channel when training, got input size \[1, 3\]/);
    assert.equal(bn.numBatchesTracked!.item(), 0);
    assert.deepEqual(Array.from(bn.runningMean!.data), [0, 0, 0]);
    const untracked = new BatchNorm1d(3, { trackRunningStats: false }).eval();
    assert.throws(() => untracked.forward(tensor([[1, 2, 3]])), /Expected more than 1 value per channel/);
    // (N, C, L) with N = 1 and L > 1 has several values per channel: fine.
    assert.doesNotThrow(() => bn.forward(tensor([[[1, 2], [3, 4], [5, 6]]])));
  });
  test('an empty batch in training mode, as PyTorch 1.13: empty output, running statistics untouched, the batch counted, zero weight and bias gradients', () => {
    const bn = new BatchNorm1d(3);
    bn.forward(randomTensor([5, 3], 2, { dtype: 'float32' }));
    const before = [Array.from(bn.runningMean!.data), Array.from(bn.runningVar!.data)];
    const x = tensor([], [0, 3], { requiresGrad: true });
    const y = bn.forward(x);
    assert.deepEqual(y.shape, [0, 3]);
    assert.deepEqual([Array.from(bn.runningMean!.data), Array.from(bn.runningVar!.data)], before);
    assert.equal(bn.numBatchesTracked!.item(), 2);
    y.sum().backward();
    assert.deepEqual(x.grad!.shape, [0, 3]);
    assert.deepEqual(Array.from(bn.weight!.grad!.data), [0, 0, 0]);
    assert.deepEqual(Array.from(bn.bias!.grad!.data), [0, 0, 0]);
    const planes = new BatchNorm2d(2);
    assert.deepEqual(planes.forward(tensor([], [2, 2, 0, 4])).shape, [2, 2, 0, 4]);
    assert.deepEqual(Array.from(planes.runningVar!.data), [1, 1]);
  });
  test('invalid options', () => {
    assert.throws(() => new BatchNorm1d(0), /numFeatures must be a positive integer \(got 0\)/);
    assert.throws(() => new BatchNorm1d(3, { momentum: 1.5 }), /momentum must be in \[0, 1\] or null \(got 1.5\)/);
    assert.throws(() => new BatchNorm1d(3, { eps: 0 }), /eps must be positive \(got 0\)/);
  });
  test('functional form: parameter sizes and missing running stats in eval', () => {
    const x = randomTensor([4, 3], 1, { dtype: 'float32' });
    assert.throws(() => batchNorm(x, { weight: tensor([1, 1]), training: true }), /weight should contain 3 elements not 2/);
    assert.throws(() => batchNorm(x, { training: false }), /running_mean and running_var must be defined in evaluation mode/);
  });
});

describe('momentum convention warnings (once per process per kind)', () => {
  /** The warnings `make` emits (process.emitWarning delivers them on the next tick). */
  async function warningsOf(make: () => void): Promise<{ code?: string; message: string }[]> {
    const got: { code?: string; message: string }[] = [];
    const listener = (w: Error & { code?: string }) => got.push({ code: w.code, message: w.message });
    process.on('warning', listener);
    try {
      make();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    return got.filter((w) => w.code?.startsWith('BATCHNORM'));
  }
  const w = [[1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1]];
  const x = randomTensor([4, 3], 1, { dtype: 'float32' });

  test('the usual values do not warn: PyTorch 0.1, 0.5, null; Keras 0.99 and 0.9 through kerasBatchNorm', async () => {
    resetWarnings();
    assert.deepEqual(await warningsOf(() => {
      new BatchNorm1d(3).forward(x);
      new BatchNorm1d(3, { momentum: 0.5 }).forward(x);
      new BatchNorm1d(3, { momentum: null }).forward(x);
      kerasBatchNorm(w, { momentum: 0.99 }).forward(x);
      kerasBatchNorm(w, { momentum: 0.9 }).forward(x);
      kerasBatchNorm(w).forward(x);
    }), []);
  });
  test('Keras\'s 0.99 typed into a BatchNorm warns once, in the constructor or when set between steps', async () => {
    resetWarnings();
    const first = await warningsOf(() => {
      new BatchNorm1d(3, { momentum: 0.99 });
      new BatchNorm2d(3, { momentum: 0.9 });
    });
    assert.equal(first.length, 1);
    assert.equal(first[0].code, 'BATCHNORM_MOMENTUM');
    assert.match(first[0].message, /BatchNorm1d: momentum 0\.99 is the weight of the NEW batch in the running statistics here \(PyTorch's convention, default 0\.1\).*their momentum=0\.99 is momentum 0\.01 here/);
    resetWarnings();
    const bn = new BatchNorm1d(3);
    bn.momentum = 0.99;
    const set = await warningsOf(() => bn.forward(x));
    assert.deepEqual(set.map((v) => v.code), ['BATCHNORM_MOMENTUM']);
  });
  test('PyTorch\'s 0.1 typed into kerasBatchNorm warns once, in Keras\'s terms only', async () => {
    resetWarnings();
    const got = await warningsOf(() => {
      kerasBatchNorm(w, { momentum: 0.1 }).forward(x); // 0.9 here: no PyTorch-side warning as well
      kerasBatchNorm(w, { momentum: 0.2 });
    });
    assert.deepEqual(got.map((v) => v.code), ['BATCHNORM_KERAS_MOMENTUM']);
    assert.match(got[0].message, /Keras momentum 0\.1 is the weight of the OLD moving average \(Keras's convention, default 0\.99\), so it becomes momentum 0\.9 here.*PyTorch's momentum=0\.1 is Keras momentum 0\.9/);
    // A layer built by hand with 0.9 is warned about on its own.
    const load = await warningsOf(() => loadKerasBatchNorm(new BatchNorm1d(3, { momentum: 0.9, eps: 1e-3 }), w, { momentum: 0.1 }));
    assert.deepEqual(load.map((v) => v.code), ['BATCHNORM_MOMENTUM']);
  });
  test('without process.emitWarning (a browser), console.warn', async () => {
    resetWarnings();
    const emit = process.emitWarning;
    const warn = console.warn;
    const logged: unknown[] = [];
    try {
      (process as { emitWarning?: unknown }).emitWarning = undefined;
      console.warn = (...args: unknown[]) => logged.push(args.join(' '));
      new BatchNorm1d(3, { momentum: 0.9 });
    } finally {
      process.emitWarning = emit;
      console.warn = warn;
    }
    assert.equal(logged.length, 1);
    assert.match(String(logged[0]), /^BATCHNORM_MOMENTUM: BatchNorm1d: momentum 0\.9 is the weight of the NEW batch/);
  });
});
