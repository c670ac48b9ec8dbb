// conv2d and maxPool2d against PyTorch's own numbers (test/fixtures/conv.json, made by
// scripts/gen_conv_fixtures.py), against a direct-loop convolution written here (a second
// route to the same numbers), against float64 central differences, plus errors and modules.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import {
  BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, RNG, Sequential, SGD, conv2d, crossEntropy, getBackend, kernels,
  loadCheckpoint, maxPool2d, noGrad, setBackend, tensor, Tensor, zeros, type Conv2dDims, type Pool2dDims, type Size2,
} from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { buildConvnet, convnetRuns, convnetSweepRuns, run as runConvnet, summarizeSeeds, type ConvnetConfig, type SeedSummary } from '../src/experiments/convnet.js';
import { parseSeeds } from '../cli/commands/convnet.js';
import { assertClose, FLOAT32, FLOAT64, gradcheck, loadFixture, randomTensor } from './helpers.js';

interface TJ {
  shape: number[];
  data: number[];
}
interface ConvCase {
  name: string;
  dtype: 'float32' | 'float64';
  stride: Size2;
  padding: Size2;
  dilation: Size2;
  input: TJ;
  weight: TJ;
  bias: TJ | null;
  gradOutput: TJ;
  output: TJ;
  gradInput: TJ;
  gradWeight: TJ;
  gradBias: TJ | null;
}
interface PoolCase {
  name: string;
  dtype: 'float32' | 'float64';
  kernelSize: Size2;
  stride: Size2 | null;
  padding: Size2;
  dilation: Size2;
  input: TJ;
  gradOutput: TJ;
  output: TJ;
  indices: TJ;
  gradInput: TJ;
}
interface ConvnetCase {
  initialState: Record<string, TJ>;
  input: TJ;
  target: number[];
  output: TJ;
  loss: number;
  grads: Record<string, TJ>;
  buffersAfterForward: Record<string, TJ>;
  lr: number;
  evalInput: TJ;
  evalOutput: TJ;
}

const fixture = loadFixture<{ torch: string; conv2d: ConvCase[]; maxPool2d: PoolCase[]; convnet: ConvnetCase }>('conv.json');
const load = (t: TJ, dtype: 'float32' | 'float64', requiresGrad = false): Tensor => tensor(t.data, t.shape, { dtype, requiresGrad });

describe(`conv2d against PyTorch ${fixture.torch} (scripts/gen_conv_fixtures.py)`, () => {
  for (const c of fixture.conv2d) {
    test(`${c.name} (${c.dtype})`, () => {
      const tol = c.dtype === 'float32' ? FLOAT32 : FLOAT64;
      const x = load(c.input, c.dtype, true);
      const w = load(c.weight, c.dtype, true);
      const b = c.bias ? load(c.bias, c.dtype, true) : null;
      const y = conv2d(x, w, b, { stride: c.stride, padding: c.padding, dilation: c.dilation });
      assert.deepEqual(y.shape, c.output.shape);
      y.backward(load(c.gradOutput, c.dtype));
      assertClose(y.data, c.output.data, tol, 'output');
      assertClose(x.grad!.data, c.gradInput.data, tol, 'gradInput');
      assertClose(w.grad!.data, c.gradWeight.data, tol, 'gradWeight');
      if (c.gradBias) assertClose(b!.grad!.data, c.gradBias.data, tol, 'gradBias');
    });
  }
});

describe(`maxPool2d against PyTorch ${fixture.torch}`, () => {
  for (const c of fixture.maxPool2d) {
    test(`${c.name} (${c.dtype})`, () => {
      const x = load(c.input, c.dtype, true);
      const y = maxPool2d(x, c.kernelSize, c.stride, c.padding, c.dilation);
      assert.deepEqual(y.shape, c.output.shape);
      assert.deepEqual(Array.from(y.data), c.output.data, 'output (a maximum is exact)');
      y.backward(load(c.gradOutput, c.dtype));
      // Sums of one to a few upstream values: exact up to the last rounding.
      assertClose(x.grad!.data, c.gradInput.data, c.dtype === 'float32' ? FLOAT32 : FLOAT64, 'gradInput');
    });
  }
  test('the kernel returns PyTorch\'s indices (argmax in the plane, first maximum on ties)', () => {
    for (const c of fixture.maxPool2d) {
      const batched = c.input.shape.length === 4;
      const [n, ch, h, w] = batched ? c.input.shape : [1, ...c.input.shape];
      const [outH, outW] = c.output.shape.slice(-2);
      const pair = (v: Size2 | null, d: Size2): [number, number] => {
        const u = v ?? d;
        return typeof u === 'number' ? [u, u] : [u[0], u[1]];
      };
      const [kH, kW] = pair(c.kernelSize, 0);
      const [strideH, strideW] = pair(c.stride, c.kernelSize);
      const [padH, padW] = pair(c.padding, 0);
      const [dilationH, dilationW] = pair(c.dilation, 1);
      const dims: Pool2dDims = { n, c: ch, h, w, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW };
      const y = new Float64Array(c.output.data.length);
      const indices = new Int32Array(y.length);
      kernels().maxPool2dForward(Float64Array.from(c.input.data), dims, y, indices);
      assert.deepEqual(Array.from(indices), c.indices.data, c.name);
    }
  });
});

describe('a small conv net with BatchNorm2d against PyTorch', () => {
  test('train-mode forward, loss, every gradient, running statistics, one SGD step, eval-mode forward', () => {
    const f = fixture.convnet;
    const model = new Sequential(
      new Conv2d(1, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
      new Conv2d(4, 6, 3, { padding: 1 }), new BatchNorm2d(6), new ReLU(), new MaxPool2d(2),
      new Flatten(), new Linear(6 * 2 * 2, 10),
    );
    const state = Object.fromEntries(
      Object.entries(f.initialState).map(([k, t]) => [k, tensor(t.data, t.shape, { dtype: k.endsWith('num_batches_tracked') ? 'int64' : 'float32' })]),
    );
    model.loadStateDict(state); // strict: the key names are PyTorch's
    const out = model.forward(load(f.input, 'float32'));
    assertClose(out.data, f.output.data, FLOAT32, 'output');
    const loss = crossEntropy(out, f.target);
    assert.ok(Math.abs(loss.item() - f.loss) <= 1e-6 * Math.abs(f.loss), `loss ${loss.item()} vs ${f.loss}`);
    loss.backward();
    for (const [k, p] of model.namedParameters()) {
      if (k === '0.bias' || k === '4.bias') {
        // A bias right before BatchNorm is removed by the mean subtraction: its true gradient
        // is 0, and both libraries give rounding noise, far below the weight's gradient.
        const scale = Math.max(...f.grads[k.replace('bias', 'weight')].data.map(Math.abs));
        for (const g of [...p.grad!.data, ...f.grads[k].data]) assert.ok(Math.abs(g) < 1e-5 * scale, `grad ${k}: ${g} vs scale ${scale}`);
        continue;
      }
      // Gradients pass back through two BatchNorms: allow a little more than a single op.
      assertClose(p.grad!.data, f.grads[k].data, { rtol: 1e-4, atolScale: 1e-5 }, `grad ${k}`);
    }
    const sd = model.stateDict();
    for (const [k, t] of Object.entries(f.buffersAfterForward)) assertClose(sd[k].data, t.data, FLOAT32, k);
    new SGD(model.parameters(), { lr: f.lr }).step();
    model.eval();
    const evalOut = noGrad(() => model.forward(load(f.evalInput, 'float32')));
    assertClose(evalOut.data, f.evalOutput.data, { rtol: 1e-4, atolScale: 1e-5 }, 'eval output after one SGD step');
  });
});

/** The definition written the slow, obvious way: seven nested loops, no im2col. */
function directConv(x: Tensor, w: Tensor, b: Tensor | null, [sH, sW]: number[], [pH, pW]: number[], [dH, dW]: number[]): Float64Array {
  const [n, cIn, h, wd] = x.shape;
  const [cOut, , kH, kW] = w.shape;
  const outH = Math.floor((h + 2 * pH - dH * (kH - 1) - 1) / sH) + 1;
  const outW = Math.floor((wd + 2 * pW - dW * (kW - 1) - 1) / sW) + 1;
  const y = new Float64Array(n * cOut * outH * outW);
  let o = 0;
  for (let s = 0; s < n; s++) {
    for (let co = 0; co < cOut; co++) {
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          let acc = b ? b.data[co] : 0;
          for (let ci = 0; ci < cIn; ci++) {
            for (let i = 0; i < kH; i++) {
              for (let j = 0; j < kW; j++) {
                const ih = oh * sH - pH + i * dH;
                const iw = ow * sW - pW + j * dW;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                acc += w.data[((co * cIn + ci) * kH + i) * kW + j] * x.data[((s * cIn + ci) * h + ih) * wd + iw];
              }
            }
          }
          y[o++] = acc;
        }
      }
    }
  }
  return y;
}

describe('conv2d against a direct-loop convolution', () => {
  test('random shapes, strides, paddings and dilations', () => {
    const rng = new RNG(3);
    for (let trial = 0; trial < 25; trial++) {
      const r = (lo: number, hi: number): number => lo + rng.int(hi - lo + 1);
      const [kH, kW] = [r(1, 4), r(1, 4)];
      const stride = [r(1, 3), r(1, 3)];
      const dilation = [r(1, 2), r(1, 2)];
      const padding = [r(0, 2), r(0, 2)];
      const h = Math.max(1, dilation[0] * (kH - 1) + 1 - 2 * padding[0]) + r(0, 5);
      const w = Math.max(1, dilation[1] * (kW - 1) + 1 - 2 * padding[1]) + r(0, 5);
      const x = randomTensor([r(1, 3), r(1, 3), h, w], 100 + trial);
      const weight = randomTensor([r(1, 4), x.shape[1], kH, kW], 200 + trial);
      const bias = trial % 2 ? randomTensor([weight.shape[0]], 300 + trial) : null;
      const y = conv2d(x, weight, bias, { stride: stride as [number, number], padding: padding as [number, number], dilation: dilation as [number, number] });
      const label = `trial ${trial}: x ${x.shape} w ${weight.shape} stride ${stride} padding ${padding} dilation ${dilation}`;
      assertClose(y.data, directConv(x, weight, bias, stride, padding, dilation), FLOAT64, label);
    }
  });
});

describe('gradients against float64 central differences', () => {
  const x = (shape: number[], seed: number): Tensor => randomTensor(shape, seed, { requiresGrad: true });
  test('conv2d: input, weight and bias, stride 2, padding 1', () => {
    gradcheck((a, w, b) => conv2d(a, w, b, { stride: 2, padding: 1 }), [x([2, 3, 6, 5], 1), x([4, 3, 3, 3], 2), x([4], 3)]);
  });
  test('conv2d: rectangular kernel, stride (1, 2), padding (2, 1), dilation (2, 1), no bias', () => {
    gradcheck((a, w) => conv2d(a, w, null, { stride: [1, 2], padding: [2, 1], dilation: [2, 1] }), [x([2, 2, 5, 6], 4), x([3, 2, 2, 3], 5)]);
  });
  test('conv2d: unbatched input, gradient to the input only', () => {
    const w = randomTensor([2, 3, 3, 3], 6);
    gradcheck((a) => conv2d(a, w, null, { padding: 1 }), [x([3, 4, 4], 7)]);
  });
  test('maxPool2d: 2x2, and 3x3 stride 1 padding 1 (overlapping windows share inputs)', () => {
    gradcheck((a) => maxPool2d(a, 2), [x([2, 3, 6, 7], 8)]);
    gradcheck((a) => maxPool2d(a, 3, 1, 1), [x([1, 2, 5, 5], 9)]);
  });
  test('maxPool2d: rectangular, dilated, unbatched', () => {
    gradcheck((a) => maxPool2d(a, [2, 3], [2, 1], [1, 1], [2, 1]), [x([2, 6, 7], 10)]);
  });
  test('conv -> BatchNorm2d (training) -> relu -> maxPool: the chain of the experiment', () => {
    const bn = new BatchNorm2d(3, { dtype: 'float64' });
    gradcheck((a, w) => maxPool2d(bn.forward(conv2d(a, w, null, { padding: 1 })).relu(), 2), [x([3, 2, 4, 4], 11), x([3, 2, 3, 3], 12)]);
  });
});

describe('maxPool2d rules', () => {
  test('ties: the first maximum in row-major window order takes the gradient', () => {
    const a = tensor([[[[1, 2], [2, 2]]]], undefined, { requiresGrad: true });
    maxPool2d(a, 2).sum().backward();
    assert.deepEqual(Array.from(a.grad!.data), [0, 1, 0, 0]);
  });
  test('NaN propagates (PyTorch: val > max || isnan(val))', () => {
    const y = maxPool2d(tensor([[[[1, NaN], [3, 2]]]]), 2);
    assert.ok(Number.isNaN(y.item()), "Number.isNaN(y.item())");
  });
  test('padding counts as -infinity, not zero', () => {
    const y = maxPool2d(tensor([[[[-1, -2], [-3, -4]]]]), 2, 1, 1);
    assert.deepEqual(Array.from(y.data), [-1, -1, -2, -1, -1, -2, -3, -3, -4]);
  });
});

describe('kernel contract', () => {
  test('outputs are overwritten, never accumulated into; null gradients are skipped', () => {
    const dims: Conv2dDims = { n: 2, cIn: 2, h: 4, w: 4, cOut: 3, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 4, outW: 4 };
    const x = randomTensor([2, 2, 4, 4], 1).data;
    const w = randomTensor([3, 2, 3, 3], 2).data;
    const dy = randomTensor([2, 3, 4, 4], 3).data;
    const k = kernels();
    const fresh = (size: number): Float64Array => new Float64Array(size);
    const dirty = (size: number): Float64Array => new Float64Array(size).fill(123);
    const results = [fresh, dirty].map((make) => {
      const y = make(96);
      const dx = make(64);
      const dw = make(54);
      const db = make(3);
      k.conv2dForward(x, w, null, dims, y);
      k.conv2dBackward(dy, x, w, dims, dx, dw, db);
      return [y, dx, dw, db];
    });
    results[0].forEach((r, i) => assert.deepEqual(results[1][i], r));
    const dwOnly = new Float64Array(54);
    k.conv2dBackward(dy, x, w, dims, null, dwOnly, null);
    assert.deepEqual(dwOnly, results[0][2]);
  });
});

describe('errors read like PyTorch', () => {
  const x4 = randomTensor([2, 3, 5, 5], 1, { dtype: 'float32' });
  const w = randomTensor([4, 3, 3, 3], 2, { dtype: 'float32' });
  const cases: [string, () => unknown, RegExp][] = [
    ['2D input', () => conv2d(randomTensor([2, 5], 1, { dtype: 'float32' }), w), /^Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[2, 5\]$/],
    ['5D input', () => conv2d(randomTensor([1, 3, 5, 5, 1], 1, { dtype: 'float32' }), w), /but got input of size: \[1, 3, 5, 5, 1\]/],
    ['channel mismatch', () => conv2d(randomTensor([2, 4, 5, 5], 1, { dtype: 'float32' }), w),
      /^Given groups=1, weight of size \[4, 3, 3, 3\], expected input\[2, 4, 5, 5\] to have 3 channels, but got 4 channels instead$/],
    ['unbatched channel mismatch', () => conv2d(randomTensor([2, 3, 5], 1, { dtype: 'float32' }), w), /expected input\[1, 2, 3, 5\] to have 3 channels, but got 2 channels/],
    // PyTorch's words first, then a hint when the last dim would fit: Keras / TF.js (N, H, W, C) data.
    ['channels-last input', () => conv2d(randomTensor([2, 8, 8, 3], 1, { dtype: 'float32' }), w),
      /^Given groups=1, weight of size \[4, 3, 3, 3\], expected input\[2, 8, 8, 3\] to have 3 channels, but got 8 channels instead \(channels-last input\? conv2d takes \(N, C, H, W\): x\.permute\(0, 3, 1, 2\) reorders a channels-last one\)$/],
    ['unbatched channels-last input', () => conv2d(randomTensor([5, 5, 3], 1, { dtype: 'float32' }), w), /but got 5 channels instead \(channels-last input\? conv2d takes \(C, H, W\): x\.permute\(2, 0, 1\) reorders a channels-last one\)$/],
    ['bias size', () => conv2d(x4, w, randomTensor([5], 1, { dtype: 'float32' })),
      /^Given weight of size \[4, 3, 3, 3\], expected bias to be 1-dimensional with 4 elements, but got bias of size \[5\] instead$/],
    ['3D weight', () => conv2d(x4, randomTensor([4, 3, 3], 1, { dtype: 'float32' })), /Expected 4D weight .* but got weight of size: \[4, 3, 3\]/],
    ['kernel too large', () => conv2d(randomTensor([1, 3, 2, 2], 1, { dtype: 'float32' }), w),
      /^Calculated padded input size per channel: \(2 x 2\)\. Kernel size: \(3 x 3\)\. Kernel size can't be greater than actual input size$/],
    ['stride 0', () => conv2d(x4, w, null, { stride: 0 }), /^non-positive stride is not supported$/],
    ['negative padding', () => conv2d(x4, w, null, { padding: -1 }), /^negative padding is not supported$/],
    ['dilation 0', () => conv2d(x4, w, null, { dilation: [1, 0] }), /^non-positive dilation is not supported$/],
    ['fractional stride', () => conv2d(x4, w, null, { stride: 1.5 }), /stride must be an integer or a pair of integers \(got 1\.5\)/],
    ['dtype mismatch', () => conv2d(x4, randomTensor([4, 3, 3, 3], 2)), /same dtype \(got float32 and float64\)/],
    ['pool 2D input', () => maxPool2d(randomTensor([3, 5], 1), 2), /^non-empty 3D or 4D \(batch mode\) tensor expected for input, but got input of size: \[3, 5\]$/],
    ['pool kernel 0', () => maxPool2d(x4, 0), /^kernel_size should be greater than zero, but got kH: 0 kW: 0$/],
    ['pool stride -1', () => maxPool2d(x4, 2, -1), /^stride should be greater than zero, but got dH: -1 dW: -1$/],
    ['pool padding > half kernel', () => maxPool2d(x4, 2, 2, 2), /^pad should be at most half of kernel size, but got pad=2 and kernel_size=2$/],
    ['pool negative padding', () => maxPool2d(x4, 2, 2, -1), /^pad must be non-negative, but got pad: -1$/],
    ['pool output too small', () => maxPool2d(randomTensor([1, 3, 1, 1], 1), 2),
      /^Given input size: \(3x1x1\)\. Calculated output size: \(3x0x0\)\. Output size is too small$/],
    ['Conv2d zero channels', () => new Conv2d(0, 4, 3), /Conv2d: inChannels must be a positive integer \(got 0\)/],
    // F.max_pool2d's sixth and seventh arguments, nn.MaxPool2d's fifth and sixth: refused, not ignored
    // (a ceil-mode call used to get the floor-mode shape).
    ['pool ceil_mode', () => maxPool2d(randomTensor([1, 1, 5, 5], 1), 2, null, 0, 1, true), /^max_pool2d: ceil_mode=true is not supported/],
    ['pool return_indices', () => maxPool2d(x4, 2, null, 0, 1, false, true), /^max_pool2d: return_indices=true is not supported$/],
    ['MaxPool2d ceil_mode', () => new MaxPool2d(2, null, 0, 1, false, true), /^MaxPool2d: ceil_mode=true is not supported/],
  ];
  for (const [name, fn, re] of cases) test(name, () => assert.throws(fn, { message: re }));
});

describe('modules', () => {
  test('Conv2d: PyTorch default init bounds, state dict keys, seeded, no bias', () => {
    const conv = new Conv2d(8, 16, 3, { rng: new RNG(1) });
    const bound = 1 / Math.sqrt(8 * 9);
    assert.deepEqual(conv.weight.shape, [16, 8, 3, 3]);
    for (const p of [conv.weight, conv.bias!]) {
      const values = Array.from(p.data);
      assert.ok(values.every((v) => Math.abs(v) <= bound), 'inside [-1/sqrt(fanIn), 1/sqrt(fanIn)]');
    }
    // U(-b, b) over 1152 draws: the extremes come within 1% of the bound, the spread is b / sqrt(3).
    const wv = Array.from(conv.weight.data);
    assert.ok(Math.max(...wv) > 0.99 * bound && Math.min(...wv) < -0.99 * bound, 'fills the interval');
    const std = Math.sqrt(wv.reduce((s, v) => s + v * v, 0) / wv.length);
    assert.ok(Math.abs(std / (bound / Math.sqrt(3)) - 1) < 0.05, `std ${std} vs ${bound / Math.sqrt(3)}`);
    assert.deepEqual(Object.keys(conv.stateDict()), ['weight', 'bias']);
    assert.deepEqual(new Conv2d(8, 16, 3, { rng: new RNG(1) }).weight.data, conv.weight.data, 'same seed, same weights');
    assert.equal(new Conv2d(1, 2, [3, 5], { bias: false }).bias, null);
    assert.deepEqual(new Conv2d(1, 2, [3, 5], { bias: false, dtype: 'float64' }).weight.shape, [2, 1, 3, 5]);
  });
  test('Conv2d and MaxPool2d shapes: (N, 1, 28, 28) -> (N, 8, 14, 14), unbatched too', () => {
    const net = new Sequential(new Conv2d(1, 8, 3, { padding: 1, rng: new RNG(2) }), new MaxPool2d(2));
    assert.deepEqual(net.forward(randomTensor([2, 1, 28, 28], 1, { dtype: 'float32' })).shape, [2, 8, 14, 14]);
    assert.deepEqual(net.forward(randomTensor([1, 28, 28], 1, { dtype: 'float32' })).shape, [8, 14, 14]);
    assert.deepEqual(new MaxPool2d(3).stride, [3, 3], 'stride defaults to the kernel size');
    assert.deepEqual(Object.keys(net.stateDict()), ['0.weight', '0.bias']);
  });
});

describe('the conv net experiment (src/experiments/convnet.ts) on a slice of real MNIST', () => {
  const data = loadMnist({ dataset: 'mnist', limit: 600 });
  const base = { steps: 40, batchSize: 30, evalEvery: 20, evalLimit: 300, channels: [4, 8] as [number, number], lr: 0.05, momentum: 0.9 };
  test('both runs learn (well above the 10% of chance) from the same weights and batches', () => {
    const [plain, withBn] = convnetRuns(base).map((c) => runConvnet(c, data));
    for (const m of [plain, withBn]) {
      assert.equal(m.diverged, null);
      assert.deepEqual(m.curve.map((p) => p.step), [0, 20, 40]);
      // 40 steps of 30 images: both well above chance (0.1) and with a clearly lower loss than at the start (ln 10).
      assert.ok(m.final!.testAccuracy > 0.25, `${m.name}: final accuracy ${m.final!.testAccuracy}`);
      assert.ok(m.curve.at(-1)!.loss < 0.9 * m.curve[0].loss, `${m.name}: loss ${m.curve[0].loss} -> ${m.curve.at(-1)!.loss}`);
      assert.equal(m.final!.testImages, 600);
    }
  });
  test(`same seed, same curve, bit for bit (backend '${getBackend()}', and the reference kernels)`, () => {
    const config = convnetRuns(base)[1];
    const first = runConvnet(config, data);
    assert.deepEqual(runConvnet(config, data).curve, first.curve, 'bit-for-bit reproducible');
    const previous = getBackend();
    setBackend('ref');
    try {
      const ref = runConvnet(config, data);
      assert.deepEqual(runConvnet(config, data).curve, ref.curve, 'bit-for-bit reproducible on ref');
    } finally {
      setBackend(previous);
    }
  });
  test('with and without BN start from the same convolution and linear weights; BN drops the conv biases', () => {
    const plain = buildConvnet({ channels: [4, 8], bn: false, seed: 5 }).stateDict();
    const bn = buildConvnet({ channels: [4, 8], bn: true, seed: 5 }).stateDict();
    assert.deepEqual(Object.keys(plain), ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias']);
    assert.deepEqual(Object.keys(bn).filter((k) => k.endsWith('weight') || k.endsWith('bias')),
      ['0.weight', '1.weight', '1.bias', '4.weight', '5.weight', '5.bias', '9.weight', '9.bias']);
    assert.deepEqual(bn['0.weight'].data, plain['0.weight'].data);
    assert.deepEqual(bn['4.weight'].data, plain['3.weight'].data);
    assert.deepEqual(bn['9.weight'].data, plain['7.weight'].data);
  });
  test('a learning rate that blows up is recorded, not thrown', () => {
    const m = runConvnet({ ...convnetRuns({ ...base, steps: 30, lr: 1e20, momentum: 0 })[0] }, data);
    assert.ok(m.diverged, 'diverged');
    assert.equal(m.final, null);
    assert.ok(m.stepsDone < 30, "m.stepsDone < 30");
  });
});

describe('a seed sweep of the conv net (convnetSweepRuns, summarizeSeeds, `convnet --seed 0-2`)', () => {
  test('the pairs come per learning rate and seed, each pair from one seed, names saying what differs', () => {
    const configs = convnetSweepRuns({ steps: 10 }, [0.05, 0.2], [3, 4]);
    assert.deepEqual(configs.map((c) => [c.name, c.lr, c.seed, c.bn]), [
      ['without BN, lr 0.05, seed 3', 0.05, 3, false], ['with BN, lr 0.05, seed 3', 0.05, 3, true],
      ['without BN, lr 0.05, seed 4', 0.05, 4, false], ['with BN, lr 0.05, seed 4', 0.05, 4, true],
      ['without BN, lr 0.2, seed 3', 0.2, 3, false], ['with BN, lr 0.2, seed 3', 0.2, 3, true],
      ['without BN, lr 0.2, seed 4', 0.2, 4, false], ['with BN, lr 0.2, seed 4', 0.2, 4, true],
    ]);
    assert.deepEqual(convnetSweepRuns({}, [0.1], [7]).map((c) => c.name), ['without BN', 'with BN']);
    assert.throws(() => convnetSweepRuns({}, [0.1], []), /at least one learning rate and one seed \(got 1 and 0\)/);
  });
  test('the summary counts stalled and diverged runs and takes the median of the others', () => {
    const [plain, bn] = convnetSweepRuns({}, [0.2], [0]);
    const m = (config: ConvnetConfig, seed: number, acc: number | null) => ({
      name: config.name, config: { ...config, seed }, curve: [], stepsDone: 1, stepsPerSecond: 1,
      final: acc === null ? null : { testAccuracy: acc, loss: 1, testImages: 10 },
      diverged: acc === null ? { step: 1, reason: 'training loss became NaN' } : null,
    });
    const runs = [m(plain, 0, 0.9), m(bn, 0, 0.1), m(plain, 1, 0.3), m(bn, 1, 0.8), m(plain, 2, 0.7), m(bn, 2, null), m(plain, 3, 0.95), m(bn, 3, 0.6)];
    const [p, b] = summarizeSeeds(runs, 0.5);
    assert.ok(Math.abs(p.median! - 0.8) < 1e-12, `the median of four is the mean of the middle two (got ${p.median})`);
    assert.deepEqual({ ...p, median: 0.8 },
      { setting: 'without BN, lr 0.2', bn: false, lr: 0.2, seeds: [0, 1, 2, 3], stalled: 1, diverged: 0, median: 0.8, lowest: 0.3, highest: 0.95 });
    assert.deepEqual(b, { setting: 'with BN, lr 0.2', bn: true, lr: 0.2, seeds: [0, 1, 2, 3], stalled: 1, diverged: 1, median: 0.6, lowest: 0.1, highest: 0.8 });
  });
  test('--seed takes a seed, a list or a range, and says what is wrong with anything else', () => {
    assert.deepEqual(parseSeeds('3'), [3]);
    assert.deepEqual(parseSeeds('0,4,7'), [0, 4, 7]);
    assert.deepEqual(parseSeeds('0-3,9'), [0, 1, 2, 3, 9]);
    assert.throws(() => parseSeeds('1,x'), /--seed expects non-negative integers like 3, 0,4,7 or 0-9 \(got '1,x'\)/);
    assert.throws(() => parseSeeds('-1'), /--seed expects non-negative integers/);
    assert.throws(() => parseSeeds('5-2'), /the range 5-2 is empty/);
    assert.throws(() => parseSeeds('0-2,2'), /lists seed 2 twice/);
  });
  test('the command runs every seed, prints the summary and writes it to results.json', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const out = mkdtempSync(join(tmpdir(), 'convnet-seeds-'));
    try {
      const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'convnet', '--steps', '20', '--eval-every', '10',
        '--limit', '300', '--eval-limit', '100', '--channels', '2,4', '--seed', '0-2', '--out', out, '--no-progress'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.match(stdout, /Over the 3 seeds/);
      assert.match(stdout, /setting\s+seeds\s+stalled \(< 0\.5\)\s+diverged\s+median\s+lowest\s+highest/);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      assert.deepEqual(results.seeds, [0, 1, 2]);
      assert.equal(results.runs.length, 6);
      assert.deepEqual(results.runs.map((r: { settings: { seed: number } }) => r.settings.seed), [0, 0, 1, 1, 2, 2]);
      assert.deepEqual(results.summary.map((g: SeedSummary) => [g.setting, g.seeds]), [['without BN, lr 0.05', [0, 1, 2]], ['with BN, lr 0.05', [0, 1, 2]]]);
      const finals = (bn: boolean) => results.runs.filter((r: { settings: { bn: boolean } }) => r.settings.bn === bn).map((r: { final: { testAccuracy: number } }) => r.final.testAccuracy).sort((a: number, b: number) => a - b);
      assert.equal(results.summary[1].median, finals(true)[1], 'the median of three is the middle one');
      assert.ok(new Set(finals(false)).size > 1, 'different seeds, different runs');
      assert.match(readFileSync(join(out, 'accuracy.svg'), 'utf8'), /^<svg[\s\S]*<\/svg>$/);
      // Each trained model is saved for predict / export, with the input shape export needs.
      const { model, metadata } = loadCheckpoint(join(out, 'checkpoints', 'with-bn-seed-2.safetensors'));
      assert.equal(metadata['batchnorm.input_shape'], '[1,1,28,28]');
      assert.equal(model.forward(zeros(1, 1, 28, 28)).shape.join(), '1,10', 'loads in eval mode: a batch of one works');
      const predicted = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'predict', '--checkpoint', join(out, 'checkpoints', 'with-bn-seed-2.safetensors'),
        '--index', '0', '--no-picture'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.match(predicted, /mnist test image 0: predicted \d with probability [01]\.\d{4}; true label 7/, 'predict reads the conv net its input shape');
      // --limit leaves fewer test images than --eval-limit asks for: the table says how many were used.
      const few = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'convnet', '--steps', '2', '--eval-every', '2',
        '--limit', '100', '--channels', '2,4', '--out', join(out, 'few'), '--no-progress'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.match(few, /step 2 \(100 images\)\s+final \(100 images\)/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
