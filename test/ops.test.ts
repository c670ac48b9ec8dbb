// Every op with a backward, checked against float64 central differences; textbook values;
// and the errors bad input gets.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  BatchNorm1d, CrossEntropyLoss, Linear, MSELoss, RNG, randn, Sequential, SGD,
  add, crossEntropy, div, exp, flatten, linear, log, logSoftmax, matmul, mean, mseLoss, mul, neg, nllLoss, noGrad,
  permute, pow, relu, reshape, sigmoid, sqrt, sub, sum, tanh, tensor, transpose, type Tensor,
} from '../src/index.js';
import { assertClose, FLOAT32, gradcheck, randomTensor } from './helpers.js';

const r = (shape: number[], seed: number, opts: { mean?: number; std?: number } = {}) =>
  randomTensor(shape, seed, { ...opts, requiresGrad: true });

describe('gradients against float64 central differences', () => {
  test('add, sub, mul, div with broadcasting', () => {
    const a = r([3, 4], 1);
    const b = r([4], 2);
    const c = r([3, 1], 3, { mean: 3 });
    gradcheck((x, y) => add(x, y), [a, b]);
    gradcheck((x, y) => sub(x, y), [a, c]);
    gradcheck((x, y) => mul(x, y), [a, b]);
    gradcheck((x, y) => div(x, y), [a, c]);
    gradcheck((x) => mul(x, 2.5).add(1), [a]);
    gradcheck((x, y) => mul(x, y), [r([2, 1, 3], 4), r([4, 1], 5)]);
  });
  test('neg, pow, sqrt, exp, log', () => {
    const a = r([2, 5], 6);
    const p = r([2, 5], 7, { mean: 3, std: 0.5 });
    gradcheck((x) => neg(x), [a]);
    gradcheck((x) => pow(x, 3), [a]);
    gradcheck((x) => sqrt(x), [p]);
    gradcheck((x) => exp(x), [a]);
    gradcheck((x) => log(x), [p]);
    // PyTorch 1.13: x = [0, 1], x.pow(0) has gradient [0, 0] (not 0 * 0^-1 = NaN at 0);
    // x.pow(0.5) gives [inf, 0.5] and x.pow(-1) gives [-inf, -1].
    for (const [e, g] of [[0, [0, 0]], [0.5, [Infinity, 0.5]], [-1, [-Infinity, -1]]] as const) {
      const x = tensor([0, 1], { requiresGrad: true });
      pow(x, e).sum().backward();
      assert.deepEqual(Array.from(x.grad!.data), g, `pow ${e}`);
    }
  });
  test('sigmoid, relu, tanh', () => {
    const a = r([4, 5], 8, { std: 2 });
    gradcheck((x) => sigmoid(x), [a]);
    gradcheck((x) => relu(x), [a]); // no element within h of the kink at 0 for this seed
    gradcheck((x) => tanh(x), [a]);
  });
  test('matmul and linear (with and without bias, batched leading dims)', () => {
    gradcheck((x, y) => matmul(x, y), [r([3, 4], 9), r([4, 2], 10)]);
    gradcheck((x, w, b) => linear(x, w, b), [r([5, 4], 11), r([3, 4], 12), r([3], 13)]);
    gradcheck((x, w) => linear(x, w), [r([2, 3, 4], 14), r([6, 4], 15)]);
  });
  test('sum and mean over dims, keepdim, all', () => {
    const a = r([2, 3, 4], 16);
    gradcheck((x) => sum(x), [a]);
    gradcheck((x) => sum(x, 1), [a]);
    gradcheck((x) => mean(x, [0, 2], true), [a]);
    gradcheck((x) => mean(x, -1), [a]);
  });
  test('reshape, flatten, transpose', () => {
    const a = r([2, 3, 4], 17);
    gradcheck((x) => reshape(x, [4, -1]).mul(r([4, 6], 18)), [a]);
    gradcheck((x) => flatten(x, 1).mul(r([2, 12], 19)), [a]);
    gradcheck((x) => transpose(x, 0, 2).mul(r([4, 3, 2], 20)), [a]);
  });
  test('permute: every order of 3 dims, negative dims, 4-D', () => {
    const a = r([2, 3, 4], 17);
    for (const dims of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0], [-1, 0, -2]]) {
      gradcheck((x) => permute(x, dims).mul(r(dims.map((d) => a.shape[(d + 3) % 3]), 21)), [a]);
    }
    gradcheck((x) => x.permute(3, 2, 0, 1).mul(r([5, 4, 2, 3], 22)), [r([2, 3, 4, 5], 23)]);
  });
  test('logSoftmax on either dim, nllLoss, crossEntropy (all reductions), mseLoss', () => {
    const logits = r([5, 4], 21, { std: 3 });
    gradcheck((x) => logSoftmax(x, 1), [logits]);
    gradcheck((x) => logSoftmax(x, 0), [logits]);
    const target = [0, 3, 1, 1, 2];
    gradcheck((x) => nllLoss(logSoftmax(x, 1), target, 'sum'), [logits]);
    for (const red of ['mean', 'sum', 'none'] as const) gradcheck((x) => crossEntropy(x, target, red), [logits]);
    // Label smoothing; class probabilities (the target's gradient too: it is an input like any other).
    for (const red of ['mean', 'sum', 'none'] as const) gradcheck((x) => crossEntropy(x, target, { reduction: red, labelSmoothing: 0.2 }), [logits]);
    const probs = r([5, 4], 25, { mean: 0.3, std: 0.1 });
    gradcheck((x, t) => crossEntropy(x, t, { labelSmoothing: 0.3 }), [logits, probs]);
    gradcheck((x, y) => mseLoss(x, y), [r([3, 2], 22), r([3, 2], 23)]);
  });
  test('a tensor used twice accumulates both gradients', () => {
    const a = r([3], 24);
    gradcheck((x) => mul(x, x).add(x), [a]);
  });
});

describe('values from outside the code', () => {
  test('sigmoid(0) = 1/2, tanh(atanh(0.5)) = 0.5, relu', () => {
    assertClose(sigmoid(tensor([0, Math.log(3)], undefined, { dtype: 'float64' })).data, [0.5, 0.75], { rtol: 1e-15, atolScale: 0 }, 'sigmoid');
    assertClose(tanh(tensor([Math.atanh(0.5)], undefined, { dtype: 'float64' })).data, [0.5], { rtol: 1e-15, atolScale: 0 }, 'tanh');
    assert.deepEqual(Array.from(relu(tensor([-2, 0, 3])).data), [0, 0, 3]);
    assert.ok(sigmoid(tensor([-1000, 1000])).data.every(Number.isFinite), "sigmoid(tensor([-1000, 1000])).data.every(Number.isFinite)");
  });
  test('log_softmax([1, 2, 3]) and cross-entropy of uniform logits = log(C)', () => {
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    assertClose(logSoftmax(tensor([[1, 2, 3]], undefined, { dtype: 'float64' }), 1).data, [1 - lse, 2 - lse, 3 - lse], { rtol: 1e-14, atolScale: 0 }, 'log_softmax');
    assertClose(crossEntropy(tensor([[0, 0, 0, 0], [5, 5, 5, 5]]), [2, 0]).data, [Math.log(4)], { rtol: 1e-6, atolScale: 0 }, 'CE');
    // Large logits do not overflow.
    assert.ok(Number.isFinite(crossEntropy(tensor([[1000, 0]]), [1]).item()), "Number.isFinite(crossEntropy(tensor([[1000, 0]]), [1]).item())");
  });
  test('permute: PyTorch 1.13\'s values; the inverse permutation gives x back; a swap is transpose', () => {
    const x = tensor(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
    // torch.arange(24.).reshape(2, 3, 4).permute(2, 0, 1).flatten().tolist(), and .permute(1, -1, 0)
    const y = x.permute(2, 0, 1);
    assert.deepEqual(y.shape, [4, 2, 3]);
    assert.deepEqual(Array.from(y.data), [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23]);
    assert.deepEqual(x.permute([1, -1, 0]).shape, [3, 4, 2]);
    assert.deepEqual(Array.from(x.permute([1, -1, 0]).data), [0, 12, 1, 13, 2, 14, 3, 15, 4, 16, 5, 17, 6, 18, 7, 19, 8, 20, 9, 21, 10, 22, 11, 23]);
    const z = randomTensor([2, 3, 4, 5], 30);
    const perm = [2, 0, 3, 1];
    const inverse = perm.map((_, i) => perm.indexOf(i));
    assert.deepEqual(Array.from(z.permute(perm).permute(inverse).data), Array.from(z.data));
    assert.deepEqual(z.permute(perm).permute(inverse).shape, z.shape);
    assert.deepEqual(Array.from(z.permute(0, 3, 2, 1).data), Array.from(z.transpose(1, 3).data));
  });
  test('matmul of a known pair', () => {
    const y = matmul(tensor([[1, 2], [3, 4]]), tensor([[5, 6], [7, 8]]));
    assert.deepEqual(Array.from(y.data), [19, 22, 43, 50]);
  });
  test('noGrad records nothing and restores the state after throwing', () => {
    const a = r([2], 25);
    const y = noGrad(() => a.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.throws(() => noGrad(() => { throw new Error('boom'); }), /boom/);
    assert.equal(a.mul(2).requiresGrad, true);
  });
});

describe('bad input gets a clear error', () => {
  test('broadcasting mismatch, in PyTorch words', () => {
    assert.throws(() => add(tensor([1, 2, 3]), tensor([1, 2])), /The size of tensor a \(3\) must match the size of tensor b \(2\) at non-singleton dimension 0/);
  });
  test('matmul and linear shape mismatch', () => {
    assert.throws(() => matmul(tensor([[1, 2, 3]]), tensor([[1, 2]])), /mat1 and mat2 shapes cannot be multiplied \(1x3 and 1x2\)/);
    assert.throws(() => linear(tensor([[1, 2, 3]]), tensor([[1, 2]])), /mat1 and mat2 shapes cannot be multiplied \(1x3 and 2x1\)/);
  });
  test('permute: wrong number of dims, repeated dim, out of range, in PyTorch 1.13\'s words; transpose with a list points to permute', () => {
    const x = tensor(new Float32Array(24), [2, 3, 4]);
    // torch 1.13 prints 'permute(sparse_coo): ...' for dense tensors too; the rest is its wording.
    assert.throws(() => x.permute(0, 1), /permute\(\): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i\.e\. input\.dim\(\) = 3 is not equal to len\(dims\) = 2/);
    assert.throws(() => x.permute(0, 0, 1), /permute\(\): duplicate dims are not allowed\./);
    assert.throws(() => x.permute(0, 1, 3), /Dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)/);
    assert.throws(() => x.transpose([2, 0, 1] as never, undefined as never), /transpose\(dim0, dim1\) swaps two dims \(got \[2,0,1\]\); for a permutation \(TF\.js's transpose\(x, perm\)\) use permute\(x, \[2,0,1\]\)/);
  });
  test('reshape to an impossible shape', () => {
    assert.throws(() => reshape(tensor([1, 2, 3]), [2, 2]), /shape '\[2, 2\]' is invalid for input of size 3/);
    assert.throws(() => tensor([1, 2, 3], [2, 2]), /shape '\[2, 2\]' is invalid for input of size 3/);
  });
  test('backward: gradient of the wrong shape, implicit gradient of a non-scalar, no graph', () => {
    const a = r([3], 26);
    const y = a.mul(2);
    assert.throws(() => y.backward(tensor([1, 2])), /Mismatch in shape: grad_output\[0\] has a shape of \[2\] and output\[0\] has a shape of \[3\]/);
    assert.throws(() => y.backward(), /grad can be implicitly created only for scalar outputs/);
    assert.throws(() => tensor([1]).backward(), /does not require grad/);
  });
  test('mixed dtypes, out-of-range targets, dims out of range', () => {
    assert.throws(() => add(tensor([1]), tensor([1], undefined, { dtype: 'float64' })), /^TypeError: add: expected all tensors to have the same dtype \(got float32 and float64\)$/);
    // Errors name the op the caller called, not its node on the tape (SumBackward, ...).
    const counts = tensor([1, 2], { dtype: 'int64' });
    assert.throws(() => sum(counts), /^TypeError: sum: expected a floating point tensor \(got dtype int64\)$/);
    assert.throws(() => counts.exp(), /^TypeError: exp: expected a floating point tensor/);
    assert.throws(() => counts.sigmoid(), /^TypeError: sigmoid: expected a floating point tensor/);
    assert.throws(() => crossEntropy(tensor([[1, 2]]), [2]), /Target 2 is out of bounds/);
    assert.throws(() => crossEntropy(tensor([[1, 2], [3, 4]]), [1, 0.5]), /^TypeError: target 1 is 0\.5: expected class indices \(integers in \[0, 2\)\); class probabilities go in a float tensor of shape \(N, C\)$/);
    assert.throws(() => nllLoss(tensor([[1, 2]]), [NaN]), /target 0 is NaN: expected class indices/);
    assert.throws(() => crossEntropy(tensor([[1, 2]]), [0, 1]), /Expected input batch_size \(1\) to match target batch_size \(2\)/);
    // torch.arange(6.).reshape(2, 3).sum([]) -> tensor(15.), mean([]) -> tensor(2.5000): [] is every dim
    const x23 = tensor([[0, 1, 2], [3, 4, 5]]);
    assert.deepEqual([sum(x23, []).item(), x23.mean([]).item(), x23.sum([], true).shape], [15, 2.5, [1, 1]]);
    assert.throws(() => sum(tensor([[1, 2]]), 2), /Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/);
    assert.throws(() => mseLoss(tensor([1, 2]), tensor([1])), /same shape \(got \[2\] and \[1\]\)/);
  });
  test('ragged nested arrays', () => {
    assert.throws(() => tensor([[1, 2], [3]]), /expected sequence of length 2 at dim 1 \(got 1\)/);
  });
  test('an argument that is not a tensor is named before anything reads it (PyTorch: "must be Tensor, not list")', () => {
    const x = tensor([[1, 2], [3, 4]]);
    const list = [[1, 2], [3, 4]] as unknown as Tensor;
    const cases: [string, () => unknown, RegExp][] = [
      ['relu', () => relu(list), /^relu\(\): argument 'input' \(position 1\) must be Tensor, not Array$/],
      ['sigmoid', () => sigmoid(undefined as unknown as Tensor), /^sigmoid\(\): argument 'input' \(position 1\) must be Tensor, not undefined$/],
      ['exp', () => exp(new Float32Array(2) as unknown as Tensor), /^exp\(\): argument 'input' \(position 1\) must be Tensor, not Float32Array$/],
      ['matmul', () => matmul(x, list), /^matmul\(\): argument 'other' \(position 2\) must be Tensor, not Array$/],
      ['linear', () => linear(x, x, [1, 2] as unknown as Tensor), /^linear\(\): argument 'bias' \(position 3\) must be Tensor, not Array$/],
      ['sum', () => sum(null as unknown as Tensor), /^sum\(\): argument 'input' \(position 1\) must be Tensor, not null$/],
      ['reshape', () => reshape(list, [4]), /^reshape\(\): argument 'input' \(position 1\) must be Tensor, not Array$/],
      ['log_softmax', () => logSoftmax(list, 1), /^log_softmax\(\): argument 'input'/],
      ['mse_loss', () => mseLoss(x, list), /^mse_loss\(\): argument 'target' \(position 2\) must be Tensor, not Array$/],
      ['cross_entropy', () => crossEntropy(x, undefined as unknown as number[]), /^cross_entropy\(\): argument 'target' \(position 2\) must be Tensor or an array of class indices, not undefined$/],
      ['nll_loss', () => nllLoss(x, 1 as unknown as number[]), /^nll_loss\(\): argument 'target' \(position 2\) must be Tensor or an array of class indices, not number$/],
      ['add', () => add(x, list), /^add\(\): argument 'other' \(position 2\) must be Tensor or number, not Array$/],
      ['mul', () => mul('2' as unknown as number, x), /^mul\(\): argument 'input' \(position 1\) must be Tensor or number, not string$/],
      ['div of numbers', () => div(1, 2), /^div\(\): expected at least one Tensor argument \(got number and number\)$/],
    ];
    for (const [name, f, expected] of cases) assert.throws(f, (e: Error) => e instanceof TypeError && expected.test(e.message), name);
    assert.deepEqual(Array.from(add(2, x).data), [3, 4, 5, 6], 'a number operand still works, on either side');
    assert.deepEqual(Array.from(sub(x, 1).data), [0, 1, 2, 3]);
  });
});

describe('cross-entropy against PyTorch 1.13 (test/fixtures/losses.json)', () => {
  interface LossCase {
    name: string;
    logits: { shape: number[]; data: number[] };
    target: { kind: 'indices'; data: number[] } | { kind: 'probabilities'; shape: number[]; data: number[] };
    labelSmoothing: number;
    /** Class weights and ignore_index (the cases after the first 18). */
    weight?: { shape: number[]; data: number[] } | null;
    ignoreIndex?: number;
    reduction: 'mean' | 'sum' | 'none';
    loss: { shape: number[]; data: number[] };
    gradWeight: { shape: number[]; data: number[] };
    gradLogits: { shape: number[]; data: number[] };
  }
  const { cases } = JSON.parse(readFileSync(new URL('./fixtures/losses.json', import.meta.url), 'utf8')) as { cases: LossCase[] };
  test('54 cases: class indices and class probabilities, label smoothing 0 / 0.1 / 0.2 / 0.35, class weights, ignore_index, every reduction', () => {
    assert.equal(cases.length, 54);
    for (const c of cases) {
      const x = tensor(c.logits.data, c.logits.shape, { requiresGrad: true });
      const target = c.target.kind === 'indices' ? c.target.data : tensor(c.target.data, c.target.shape);
      const weight = c.weight ? tensor(c.weight.data, c.weight.shape) : null;
      const loss = crossEntropy(x, target, { reduction: c.reduction, labelSmoothing: c.labelSmoothing, weight, ignoreIndex: c.ignoreIndex });
      assert.deepEqual(loss.shape, c.loss.shape, c.name);
      assertClose(loss.data, c.loss.data, FLOAT32, `${c.name}: loss`);
      sum(mul(loss, tensor(c.gradWeight.data, c.gradWeight.shape))).backward();
      assertClose(x.grad!.data, c.gradLogits.data, FLOAT32, `${c.name}: d loss / d logits`);
    }
  });
  test('the module takes the same options; bad options and targets are refused', () => {
    const c = cases.find((k) => k.name === 'indices_ls0.1_mean')!;
    const x = tensor(c.logits.data, c.logits.shape);
    const m = new CrossEntropyLoss({ labelSmoothing: 0.1 });
    assert.deepEqual([m.reduction, m.labelSmoothing], ['mean', 0.1]);
    assertClose(m.forward(x, c.target.data as number[]).data, c.loss.data, FLOAT32, 'module');
    assert.equal(new CrossEntropyLoss('sum').reduction, 'sum');
    assert.throws(() => crossEntropy(x, [0, 1, 2, 3, 4, 0], { labelSmoothing: 1.5 }), /^RangeError: label_smoothing must be between 0\.0 and 1\.0\. Got: 1\.5$/);
    assert.throws(() => crossEntropy(x, [0, 1, 2, 3, 4, 0], { labelSmoothing: NaN }), /label_smoothing must be between 0\.0 and 1\.0\. Got: NaN/);
    assert.throws(() => crossEntropy(x, [0, 1, 2, 3, 4, 0], 'avg' as 'mean'), /^RangeError: 'avg' is not a valid value for reduction/);
    // nll_loss and mse_loss too (they used to take any other string as 'sum' / 'mean').
    assert.throws(() => nllLoss(logSoftmax(x, 1), [0, 1, 2, 3, 4, 0], 'bogus' as 'mean'), /^RangeError: 'bogus' is not a valid value for reduction/);
    assert.throws(() => mseLoss(x, x, 'bogus' as 'mean'), /^RangeError: 'bogus' is not a valid value for reduction/);
    assert.throws(() => new MSELoss('bogus' as 'mean'), /^RangeError: 'bogus' is not a valid value for reduction/);
    assert.throws(() => new CrossEntropyLoss('avg' as 'mean'), /^RangeError: 'avg' is not a valid value for reduction/);
    assert.throws(() => crossEntropy(x, tensor(new Float32Array(12), [6, 2])), /class probabilities must have the input's shape \[6, 5\] \(got \[6, 2\]\)/);
    assert.throws(() => crossEntropy(x, tensor(new Float64Array(30), [6, 5])), /cross_entropy: expected all tensors to have the same dtype \(got float32 and float64\)/);
    // Class weights and ignore_index, in PyTorch's words where it has them.
    const y = [0, 1, 2, 3, 4, 0];
    assert.throws(() => crossEntropy(x, y, { weight: [1, 2] }), /^RangeError: weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: \[2\]$/);
    assert.throws(() => crossEntropy(x, y, { weight: tensor([1, 1, 1, 1, 1], [1, 5]) }), /but got weight tensor of shape: \[1, 5\]/);
    assert.throws(() => crossEntropy(x, y, { weight: tensor(new Float64Array(5).fill(1)) }), /expected weight of dtype float32 \(the input's\), but found float64/);
    assert.throws(() => crossEntropy(x, y, { weight: tensor([1, 1, 1, 1, 1], { requiresGrad: true }) }), /not differentiable with respect to argument 'weight'/);
    assert.throws(() => crossEntropy(x, y, { weight: [1, 1, NaN, 1, 1] }), /class weight 2 is NaN \(expected finite numbers\)/);
    assert.throws(() => crossEntropy(x, [0, 1, 2, 3, 5, 0], { ignoreIndex: 4 }), /^RangeError: Target 5 is out of bounds\.$/);
    assert.throws(() => crossEntropy(x, tensor(new Float32Array(30).fill(0.2), [6, 5]), { ignoreIndex: 1 }), /^RangeError: ignore_index is not supported for floating point target$/);
    assert.throws(() => crossEntropy(x, y, { ignoreIndex: 1.5 }), /ignoreIndex must be an integer \(got 1\.5\)/);
    assert.throws(() => crossEntropy(x, y, { ignore_index: 1 } as never), /unknown option 'ignore_index' \(did you mean 'ignoreIndex'\?\)/);
    const weighted = cases.find((k) => k.name === 'indices_weight_ignore-100_ls0.2_mean')!;
    const m2 = new CrossEntropyLoss({ weight: weighted.weight!.data, ignoreIndex: -100, labelSmoothing: 0.2 });
    assertClose(m2.forward(x, weighted.target.data as number[]).data, weighted.loss.data, FLOAT32, 'module with weight');
  });
  test('every target ignored: the mean is NaN and the gradient zero, as in PyTorch 1.13', () => {
    for (const labelSmoothing of [0, 0.1]) {
      const x = tensor([[1, 2, 3], [0, -1, 4]], { requiresGrad: true });
      const loss = crossEntropy(x, [-100, -100], { labelSmoothing });
      assert.ok(Number.isNaN(loss.item()), `smoothing ${labelSmoothing}: ${loss.item()}`);
      loss.backward();
      assert.deepEqual(Array.from(x.grad!.data), [0, 0, 0, 0, 0, 0]);
      assert.deepEqual(Array.from(crossEntropy(x, [-100, -100], { labelSmoothing, reduction: 'none' }).data), [0, 0]);
    }
  });
});

describe('autograd walks a graph once, and refuses saved inputs changed in place (PyTorch)', () => {
  const setup = () => {
    const rng = new RNG(3);
    const model = new Sequential(new Linear(4, 3, { rng }), new BatchNorm1d(3));
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const x = randn([5, 4], { rng });
    return { model, opt, x, loss: () => crossEntropy(model.forward(x), [0, 1, 2, 0, 1]) };
  };
  const grads = (model: Sequential) => model.parameters().map((p) => Array.from(p.grad?.data ?? []));

  test('a loss built before an optimizer step cannot be walked back after it (the GAN mistake), and nothing is accumulated', () => {
    const { model, opt, loss } = setup();
    const l1 = loss(), l2 = loss();
    l1.backward();
    opt.step();
    const before = grads(model);
    // PyTorch: "one of the variables needed for gradient computation has been modified by an
    // inplace operation: [torch.FloatTensor [3]] is at version 1; expected version 0 instead."
    assert.throws(() => l2.backward(), /^Error: one of the variables needed for gradient computation has been modified by an inplace operation: Tensor\(shape=\[3\], dtype=float32, requiresGrad\), an input of BatchNormBackward, is at version 1; expected version 0 instead/);
    assert.deepEqual(grads(model), before);
    assert.equal(model.parameters()[0].version, 1);
    // loadStateDict changes values in place too.
    const l3 = loss();
    model.loadStateDict(model.stateDict());
    assert.throws(() => l3.backward(), /modified by an inplace operation: .* is at version 2; expected version 1 instead/);
  });

  test('a second backward through the same graph is an error unless the first retained it; then it accumulates again', () => {
    const { model, loss } = setup();
    const l = loss();
    l.backward();
    assert.throws(() => l.backward(), /^Error: Trying to backward through the graph a second time \(NllLossBackward\)/);
    const once = grads(model);
    model.zeroGrad();
    const r = loss();
    r.backward(undefined, { retainGraph: true });
    r.backward();
    assert.deepEqual(grads(model), once.map((g) => g.map((v) => 2 * v)));
    assert.throws(() => r.backward(undefined, { retain_graph: true } as never), /backward: unknown option 'retain_graph'/);
  });

  test('only values a backward reads count: add after a step is fine (as in PyTorch); a reshaped view shares its base\'s version', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const opt = new SGD([w], { lr: 1 });
    const y = w.add(1).sum();
    y.backward(undefined, { retainGraph: true });
    opt.step();
    y.backward(); // AddBackward reads neither operand
    assert.deepEqual(Array.from(w.grad!.data), [2, 2]);
    const v = w.reshape(2, 1);
    const z = v.mul(v).sum();
    opt.step();
    assert.throws(() => z.backward(), /an input of MulBackward, is at version 2; expected version 1 instead/);
  });
});
