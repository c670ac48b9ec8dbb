import { record } from '../autograd/tape.js';
import { kernels, type BNDims } from '../kernels/index.js';
import { allocateOutput, Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { expectTensors, floatDtype } from './util.js';
import { checkOptions } from '../describe.js';

export interface BatchNormArgs {
  /** Per-channel running mean (C), updated in place in training mode; null if not tracked. */
  runningMean?: Tensor | null | undefined;
  /** Per-channel running (unbiased) variance (C), updated in place in training mode. */
  runningVar?: Tensor | null | undefined;
  /** gamma (C), or null for 1. */
  weight?: Tensor | null | undefined;
  /** beta (C), or null for 0. */
  bias?: Tensor | null | undefined;
  /** Normalise with the batch's statistics (and update the running ones) instead of the running ones. */
  training?: boolean | undefined;
  /** Weight of the new batch in the running averages: running = (1 - momentum) * running + momentum * batch. */
  momentum?: number | undefined;
  /** Added to the variance before the square root. */
  eps?: number | undefined;
  /**
   * The channel axis is the last one: input (N, *, C), e.g. NHWC images (TensorFlow's layout,
   * `axis=-1` in Keras). Default false: (N, C, *) as PyTorch.
   */
  channelsLast?: boolean | undefined;
}

/**
 * Batch Normalization of an input (N, C, *) over every axis but 1, like `F.batch_norm`:
 *
 *   y = (x - mean) / sqrt(var + eps) * weight + bias
 *
 * In training mode mean and var are the batch's (biased variance, as in Ioffe & Szegedy 2015,
 * Algorithm 1) and the running statistics move towards them, the variance unbiased by
 * M / (M - 1) with M = N * prod(*), as PyTorch does. Otherwise the running statistics are used.
 * One fused kernel forward, the closed-form gradient backward (dx, dweight, dbias).
 */
export function batchNorm(input: Tensor, args: BatchNormArgs = {}): Tensor {
  checkOptions('batch_norm', args, ['runningMean', 'runningVar', 'weight', 'bias', 'training', 'momentum', 'eps', 'channelsLast']);
  const { runningMean = null, runningVar = null, weight = null, bias = null } = args;
  const { training = false, momentum = 0.1, eps = 1e-5 } = args;
  expectTensors('batch_norm', { input, running_mean: runningMean, running_var: runningVar, weight, bias }, ['running_mean', 'running_var', 'weight', 'bias']);
  // The running statistics too: a float32 layer without affine parameters silently averaged a
  // float64 input into float32 statistics (PyTorch refuses mixed dtypes here).
  const dtype = floatDtype('batch_norm', input, ...[weight, bias, runningMean, runningVar].filter((t): t is Tensor => t !== null));
  if (input.ndim < 2) {
    throw new RangeError(`batch_norm: expected an input of shape (N, C, *) with at least 2 dims (got ${input.ndim}D input)`);
  }
  const channelsLast = args.channelsLast ?? false;
  const n = input.shape[0];
  const c = channelsLast ? input.shape[input.ndim - 1] : input.shape[1];
  const dims: BNDims = { n, c, s: n * c === 0 ? 0 : input.size / (n * c) };
  const named: [string, Tensor | null][] = [['running_mean', runningMean], ['running_var', runningVar], ['weight', weight], ['bias', bias]];
  for (const [name, t] of named) {
    if (t && t.size !== c) throw new RangeError(`${name} should contain ${c} elements not ${t.size}`);
  }
  if (!(eps > 0)) throw new RangeError(`batch_norm: eps must be positive (got ${eps})`);
  const count = n * dims.s;
  const k = kernels();
  const y = allocateOutput(dtype, input.size);
  let mean: Float64Array;
  let invStd: Float64Array;
  if (training && count === 0) {
    // As PyTorch (_batch_norm_impl_index): an empty batch gives an empty output and leaves the
    // running statistics alone; weight and bias get zero gradients.
    mean = new Float64Array(c);
    invStd = new Float64Array(c);
  } else if (training) {
    if (count === 1) {
      throw new RangeError(`Expected more than 1 value per channel when training, got input size ${formatShape(input.shape)}`);
    }
    mean = new Float64Array(c);
    invStd = new Float64Array(c);
    const variance = new Float64Array(c);
    (channelsLast ? k.batchNormTrainForwardNHWC : k.batchNormTrainForward)(input.data, dims, weight?.data ?? null, bias?.data ?? null, eps, y, mean, invStd, variance);
    const unbias = count / (count - 1);
    if (runningMean) {
      const rm = runningMean.data;
      for (let ch = 0; ch < c; ch++) rm[ch] = (1 - momentum) * rm[ch] + momentum * mean[ch];
    }
    if (runningVar) {
      const rv = runningVar.data;
      for (let ch = 0; ch < c; ch++) rv[ch] = (1 - momentum) * rv[ch] + momentum * variance[ch] * unbias;
    }
  } else {
    if (!runningMean || !runningVar) throw new Error('running_mean and running_var must be defined in evaluation mode');
    mean = Float64Array.from(runningMean.data);
    invStd = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) invStd[ch] = 1 / Math.sqrt(runningVar.data[ch] + eps);
    (channelsLast ? k.batchNormInferForwardNHWC : k.batchNormInferForward)(input.data, dims, runningMean.data, runningVar.data, weight?.data ?? null, bias?.data ?? null, eps, y);
  }

  const inputs = [input, weight, bias].filter((t): t is Tensor => t !== null);
  return record(new Tensor(y, input.shape, dtype), 'BatchNormBackward', inputs, (g) => {
    const dx = input.requiresGrad ? allocateOutput(dtype, input.size) : null;
    const dWeight = weight?.requiresGrad ? allocateOutput(dtype, c) : null;
    const dBias = bias?.requiresGrad ? allocateOutput(dtype, c) : null;
    const kb = kernels();
    if (count > 0) {
      (channelsLast ? kb.batchNormBackwardNHWC : kb.batchNormBackward)(g, input.data, dims, mean, invStd, weight?.data ?? null, training, dx, dWeight, dBias);
    } else {
      dWeight?.fill(0);
      dBias?.fill(0);
    }
    const grads = [dx];
    if (weight) grads.push(dWeight);
    if (bias) grads.push(dBias);
    return grads;
  }, weight ? [input, weight] : [input]); // beta's gradient does not read beta
}
