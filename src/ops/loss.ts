import { record } from '../autograd/tape.js';
import { allocate, allocateOutput, Tensor, tensor } from '../tensor/tensor.js';
import { formatShape, sameShape } from '../tensor/shape.js';
import { add, mul, sub } from './elementwise.js';
import { neg } from './math.js';
import { logSoftmax } from './logSoftmax.js';
import { mean, sum } from './reduce.js';
import { checkOptions, describeValue, formatValue } from '../describe.js';
import { expectTensors, floatDtype } from './util.js';

export type Reduction = 'mean' | 'sum' | 'none';

/** Class indices: a Tensor of whole numbers, an Int32Array, or a plain array. */
export type Targets = Tensor | ArrayLike<number>;

function expectTargets(fn: string, target: unknown): void {
  if (target instanceof Tensor || (typeof target === 'object' && target !== null && typeof (target as ArrayLike<number>).length === 'number')) return;
  throw new TypeError(`${fn}(): argument 'target' (position 2) must be Tensor or an array of class indices, not ${describeValue(target)}`);
}

/**
 * The class index of each sample, -1 for a sample whose target is `ignoreIndex` (PyTorch's
 * `ignore_index`, which may lie outside [0, C): its default is -100).
 */
function targetIndices(target: Targets, n: number, classes: number, ignoreIndex: number): Int32Array {
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
      throw new TypeError(`target ${i} is ${t}: expected class indices (integers in [0, ${classes})); class probabilities go in a float tensor of shape (N, C)`);
    }
    if (t === ignoreIndex) out[i] = -1;
    else if (t < 0 || t >= classes) throw new RangeError(`Target ${t} is out of bounds.`);
    else out[i] = t;
  }
  return out;
}

/** The default of PyTorch's `ignore_index`: no class has it. */
const IGNORE_NONE = -100;

/** A class-weight argument as C float64 numbers, checked (PyTorch's words where it has them), or null. */
function classWeights(fn: string, weight: Tensor | ArrayLike<number> | null | undefined, classes: number, dtype: string): Float64Array | null {
  if (weight == null) return null;
  if (!(weight instanceof Tensor) && !(typeof weight === 'object' && typeof weight.length === 'number')) {
    throw new TypeError(`${fn}(): argument 'weight' must be Tensor or an array of ${classes} numbers, not ${describeValue(weight)}`);
  }
  const shape = weight instanceof Tensor ? weight.shape : [weight.length];
  if (shape.length !== 1 || shape[0] !== classes) {
    throw new RangeError(`weight tensor should be defined either for all ${classes} classes or no classes but got weight tensor of shape: ${formatShape(shape)}`);
  }
  if (weight instanceof Tensor) {
    if (weight.dtype !== dtype) throw new TypeError(`${fn}: expected weight of dtype ${dtype} (the input's), but found ${weight.dtype}`);
    if (weight.requiresGrad) {
      throw new TypeError(`The function '${fn}' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.`);
    }
  }
  const w = Float64Array.from(weight instanceof Tensor ? weight.data : weight);
  const bad = w.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new RangeError(`${fn}: class weight ${bad} is ${w[bad]} (expected finite numbers)`);
  return w;
}

/** The keys of `NllLossOptions`. */
const NLL_LOSS_OPTIONS = ['reduction', 'weight', 'ignoreIndex'] as const;

export interface NllLossOptions {
  /** 'mean' (the default: divided by the summed weights of the samples' classes), 'sum' or 'none'. */
  reduction?: Reduction | undefined;
  /** PyTorch's `weight`: one weight a class (C), a Tensor of the input's dtype or an array; constant. */
  weight?: Tensor | ArrayLike<number> | null | undefined;
  /** PyTorch's `ignore_index` (default -100): samples with this target add nothing, to the mean's divisor neither. */
  ignoreIndex?: number | undefined;
}

/**
 * Negative log-likelihood of class indices under log-probabilities (N, C), like `F.nll_loss`:
 * loss_i = -w[y_i] log p_i[y_i] (0 where y_i is `ignoreIndex`); 'mean' divides the sum by the
 * sum of w[y_i] over the samples not ignored (NaN when every sample is ignored, as in PyTorch).
 * The third argument is the reduction, or `{ reduction, weight, ignoreIndex }`.
 */
export function nllLoss(logProbs: Tensor, target: Targets, options: Reduction | NllLossOptions = 'mean'): Tensor {
  expectTensors('nll_loss', { input: logProbs });
  expectTargets('nll_loss', target);
  if (typeof options !== 'string') checkOptions('nll_loss', options, NLL_LOSS_OPTIONS);
  const { reduction = 'mean', weight = null, ignoreIndex = IGNORE_NONE } = typeof options === 'string' ? { reduction: options } : (options ?? {});
  checkReduction(reduction);
  checkIgnoreIndex('nll_loss', ignoreIndex);
  const dtype = floatDtype('nll_loss', logProbs);
  if (logProbs.ndim !== 2) {
    throw new RangeError(`nll_loss: expected input of shape (N, C) (got ${formatShape(logProbs.shape)})`);
  }
  const [n, c] = logProbs.shape;
  const w = classWeights('nll_loss', weight, c, dtype);
  const idx = targetIndices(target, n, c, ignoreIndex);
  const sampleWeight = (i: number): number => (idx[i] < 0 ? 0 : w ? w[idx[i]] : 1);
  const lp = logProbs.data;
  let divisor = 0;
  for (let i = 0; i < n; i++) divisor += sampleWeight(i);
  const scale = reduction === 'mean' ? 1 / divisor : 1;
  let out: Tensor;
  if (reduction === 'none') {
    const losses = allocateOutput(dtype, n);
    for (let i = 0; i < n; i++) losses[i] = idx[i] < 0 ? 0 : -sampleWeight(i) * lp[i * c + idx[i]];
    out = new Tensor(losses, [n], dtype);
  } else {
    let total = 0;
    for (let i = 0; i < n; i++) if (idx[i] >= 0) total -= sampleWeight(i) * lp[i * c + idx[i]];
    out = new Tensor(allocate(dtype, 1).fill(reduction === 'mean' ? total / divisor : total), [], dtype);
  }
  return record(out, 'NllLossBackward', [logProbs], (g) => {
    const gx = allocate(dtype, logProbs.size);
    for (let i = 0; i < n; i++) {
      if (idx[i] >= 0) gx[i * c + idx[i]] = -sampleWeight(i) * (reduction === 'none' ? g[i] : g[0] * scale);
    }
    return [gx];
  }, []);
}

function checkIgnoreIndex(fn: string, ignoreIndex: unknown): void {
  if (!Number.isInteger(ignoreIndex)) throw new TypeError(`${fn}: ignoreIndex must be an integer (got ${formatValue(ignoreIndex)})`);
}

const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

/** PyTorch's check: "'avg' is not a valid value for reduction". */
export function checkReduction(reduction: unknown): void {
  if (!REDUCTIONS.includes(reduction as Reduction)) throw new RangeError(`'${String(reduction)}' is not a valid value for reduction (expected 'mean', 'sum' or 'none')`);
}

function reduceLoss(perSample: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? perSample : reduction === 'sum' ? sum(perSample) : mean(perSample);
}

/** The keys of `CrossEntropyOptions`. */
export const CROSS_ENTROPY_OPTIONS = ['reduction', 'labelSmoothing', 'weight', 'ignoreIndex'] as const;

export interface CrossEntropyOptions extends NllLossOptions {
  /**
   * 'mean' (the default: over the batch; for class indices the sum divided by the summed
   * weights of the samples' classes, as `nllLoss`), 'sum' or 'none' (one loss per sample).
   */
  reduction?: Reduction | undefined;
  /**
   * PyTorch's `label_smoothing`, in [0, 1]: the target becomes (1 - s) times itself plus s times
   * the uniform distribution over the C classes (Szegedy et al. 2016). Default 0.
   */
  labelSmoothing?: number | undefined;
}

/**
 * Cross-entropy between logits (N, C) and a target, like `F.cross_entropy`, with w the class
 * weights (`weight`, 1 when not given), s the label smoothing and p_i = softmax(logits_i):
 * - class indices (N) (a Tensor, an Int32Array or an array of integers):
 *   loss_i = -(1 - s) w[y_i] log p_i[y_i] - (s / C) sum_c w[c] log p_i[c], 0 where y_i is
 *   `ignoreIndex`; 'mean' divides the sum by the sum of w[y_i] over the samples not ignored;
 * - class probabilities, a float tensor of the logits' shape (N, C) (PyTorch >= 1.10):
 *   loss_i = -sum_c w[c] t'_ic log p_i[c], t' = (1 - s) t + s / C; 'mean' divides by N
 *   (`ignoreIndex` is refused, as in PyTorch).
 * The third argument is the reduction, or `{ reduction, labelSmoothing, weight, ignoreIndex }`.
 * @example
 * crossEntropy(logits, labels, { labelSmoothing: 0.1 });   // F.cross_entropy(logits, labels, label_smoothing=0.1)
 * crossEntropy(logits, labels, { weight: [1, 5], ignoreIndex: -1 });   // weight=torch.tensor([1., 5.]), ignore_index=-1
 */
export function crossEntropy(logits: Tensor, target: Targets, options: Reduction | CrossEntropyOptions = 'mean'): Tensor {
  expectTensors('cross_entropy', { input: logits });
  expectTargets('cross_entropy', target);
  if (typeof options !== 'string') checkOptions('cross_entropy', options, CROSS_ENTROPY_OPTIONS);
  const { reduction = 'mean', labelSmoothing = 0, weight = null, ignoreIndex = IGNORE_NONE } = typeof options === 'string' ? { reduction: options } : (options ?? {});
  checkReduction(reduction);
  checkIgnoreIndex('cross_entropy', ignoreIndex);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new RangeError(`label_smoothing must be between 0.0 and 1.0. Got: ${labelSmoothing}`);
  if (logits.ndim !== 2) {
    throw new RangeError(`cross_entropy: expected input of shape (N, C) (got ${formatShape(logits.shape)})`);
  }
  const [n, classes] = logits.shape;
  const dtype = floatDtype('cross_entropy', logits);
  const w = classWeights('cross_entropy', weight, classes, dtype);
  // The class weights as a tensor, for the two terms that multiply by them (nllLoss takes w).
  const weightTensor = () => (w ? tensor(w, [classes], { dtype }) : null);
  const logProbs = logSoftmax(logits, 1);
  if (target instanceof Tensor && target.ndim === 2) {
    if (!sameShape(target.shape, logits.shape)) {
      throw new RangeError(`cross_entropy: class probabilities must have the input's shape ${formatShape(logits.shape)} (got ${formatShape(target.shape)})`);
    }
    if (ignoreIndex !== IGNORE_NONE) throw new RangeError('ignore_index is not supported for floating point target');
    floatDtype('cross_entropy', logits, target);
    const smoothed = labelSmoothing > 0 ? add(mul(target, 1 - labelSmoothing), labelSmoothing / classes) : target;
    const wTensor = weightTensor();
    return reduceLoss(neg(sum(mul(logProbs, wTensor ? mul(smoothed, wTensor) : smoothed), 1)), reduction);
  }
  const nll = nllLoss(logProbs, target, { reduction, weight: w, ignoreIndex });
  if (labelSmoothing === 0) return nll;
  // The cross-entropy against the uniform distribution, -(1/C) sum_c w[c] log p[c], reduced as nll is.
  const idx = targetIndices(target, n, classes, ignoreIndex);
  const wTensor = weightTensor();
  const perSample = neg(sum(wTensor ? mul(logProbs, wTensor) : logProbs, 1));
  const uniform = idx.some((v) => v < 0) ? mul(perSample, tensor(Float64Array.from(idx, (v) => (v < 0 ? 0 : 1)), [n], { dtype })) : perSample;
  let divisor = 0;
  for (let i = 0; i < n; i++) if (idx[i] >= 0) divisor += w ? w[idx[i]] : 1;
  // Every sample ignored: the mean is 0/0, NaN as in PyTorch, with zero gradients (mul by 1/0 would make them NaN).
  const mean = divisor > 0 ? mul(sum(uniform), 1 / divisor) : add(mul(sum(uniform), 0), NaN);
  const reduced = reduction === 'none' ? uniform : reduction === 'sum' ? sum(uniform) : mean;
  return add(mul(nll, 1 - labelSmoothing), mul(reduced, labelSmoothing / classes));
}

/** Mean squared error, like `F.mse_loss`; input and target must have the same shape. */
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  expectTensors('mse_loss', { input, target });
  checkReduction(reduction);
  if (!sameShape(input.shape, target.shape)) {
    throw new RangeError(
      `mse_loss: expected input and target of the same shape (got ${formatShape(input.shape)} and ${formatShape(target.shape)})`,
    );
  }
  const diff = sub(input, target);
  return reduceLoss(mul(diff, diff), reduction);
}
