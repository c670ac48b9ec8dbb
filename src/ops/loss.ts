import { record } from '../autograd/tape.js';
import { allocate, allocateOutput, Tensor } from '../tensor/tensor.js';
import { formatShape, sameShape } from '../tensor/shape.js';
import { sub, mul } from './elementwise.js';
import { logSoftmax } from './logSoftmax.js';
import { mean, sum } from './reduce.js';
import { describeValue } from '../describe.js';
import { expectTensors, floatDtype } from './util.js';

export type Reduction = 'mean' | 'sum' | 'none';

/** Class indices: a Tensor of whole numbers, an Int32Array, or a plain array. */
export type Targets = Tensor | ArrayLike<number>;

function expectTargets(fn: string, target: unknown): void {
  if (target instanceof Tensor || (typeof target === 'object' && target !== null && typeof (target as ArrayLike<number>).length === 'number')) return;
  throw new TypeError(`${fn}(): argument 'target' (position 2) must be Tensor or an array of class indices, not ${describeValue(target)}`);
}

function targetIndices(target: Targets, n: number, classes: number): Int32Array {
  const values = target instanceof Tensor ? target.data : target;
  if (target instanceof Tensor && target.ndim !== 1) {
    throw new RangeError(`expected a 1D target of ${n} class indices (got shape ${formatShape(target.shape)})`);
  }
  if (values.length !== n) {
    throw new RangeError(`Expected input batch_size (${n}) to match target batch_size (${values.length}).`);
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = values[i];
    if (!Number.isInteger(t)) {
      throw new TypeError(`target ${i} is ${t}: expected class indices (integers in [0, ${classes})); class probabilities are not supported`);
    }
    if (t < 0 || t >= classes) throw new RangeError(`Target ${t} is out of bounds.`);
    out[i] = t;
  }
  return out;
}

/** Negative log-likelihood of class indices under log-probabilities (N, C), like `F.nll_loss`. */
export function nllLoss(logProbs: Tensor, target: Targets, reduction: Reduction = 'mean'): Tensor {
  expectTensors('nll_loss', { input: logProbs });
  expectTargets('nll_loss', target);
  const dtype = floatDtype('nll_loss', logProbs);
  if (logProbs.ndim !== 2) {
    throw new RangeError(`nll_loss: expected input of shape (N, C) (got ${formatShape(logProbs.shape)})`);
  }
  const [n, c] = logProbs.shape;
  const idx = targetIndices(target, n, c);
  const lp = logProbs.data;
  const scale = reduction === 'mean' ? 1 / n : 1;
  let out: Tensor;
  if (reduction === 'none') {
    const losses = allocateOutput(dtype, n);
    for (let i = 0; i < n; i++) losses[i] = -lp[i * c + idx[i]];
    out = new Tensor(losses, [n], dtype);
  } else {
    let total = 0;
    for (let i = 0; i < n; i++) total -= lp[i * c + idx[i]];
    out = new Tensor(allocate(dtype, 1).fill(total * scale), [], dtype);
  }
  return record(out, 'NllLossBackward', [logProbs], (g) => {
    const gx = allocate(dtype, logProbs.size);
    for (let i = 0; i < n; i++) gx[i * c + idx[i]] = -(reduction === 'none' ? g[i] : g[0] * scale);
    return [gx];
  });
}

/**
 * Cross-entropy between logits (N, C) and class indices (N), like `F.cross_entropy`:
 * nll_loss(log_softmax(logits, 1)).
 */
export function crossEntropy(logits: Tensor, target: Targets, reduction: Reduction = 'mean'): Tensor {
  expectTensors('cross_entropy', { input: logits });
  expectTargets('cross_entropy', target);
  if (logits.ndim !== 2) {
    throw new RangeError(`cross_entropy: expected input of shape (N, C) (got ${formatShape(logits.shape)})`);
  }
  return nllLoss(logSoftmax(logits, 1), target, reduction);
}

/** Mean squared error, like `F.mse_loss`; input and target must have the same shape. */
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  expectTensors('mse_loss', { input, target });
  if (!sameShape(input.shape, target.shape)) {
    throw new RangeError(
      `mse_loss: expected input and target of the same shape (got ${formatShape(input.shape)} and ${formatShape(target.shape)})`,
    );
  }
  const diff = sub(input, target);
  const sq = mul(diff, diff);
  return reduction === 'none' ? sq : reduction === 'sum' ? sum(sq) : mean(sq);
}
