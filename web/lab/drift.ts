/**
 * Sections 3 and 4b: looking inside the lab's MNIST network (src/experiments/mnistMlp.ts).
 * Pure functions of a model and pixels, no DOM and no worker, so Node tests can check them.
 */
import { noGrad } from '../../src/autograd/tape.js';
import { defaultMlpConfig, type MlpConfig } from '../../src/experiments/mnistMlp.js';
import { Sigmoid, ReLU, Tanh } from '../../src/nn/activation.js';
import { BatchNorm } from '../../src/nn/batchnorm.js';
import type { Sequential } from '../../src/nn/sequential.js';
import { batchNorm } from '../../src/ops/batchNorm.js';
import { zeros, type Tensor } from '../../src/tensor/tensor.js';
import type { Placement, RunName } from '../protocol.js';

const isActivation = (m: unknown): boolean => m instanceof Sigmoid || m instanceof ReLU || m instanceof Tanh;

/**
 * The input of every activation (one tensor (N, width) per hidden layer) for a batch `x`,
 * in the model's current mode; no gradients recorded.
 */
export function activationInputs(model: Sequential, x: Tensor): Tensor[] {
  return noGrad(() => {
    const out: Tensor[] = [];
    let h = x;
    for (const layer of model.layers()) {
      if (isActivation(layer)) out.push(h);
      h = layer.forward(h);
    }
    return out;
  });
}

/** Counts of `values` in `bins` equal bins over [lo, hi]; values outside land in the end bins. */
export function histogram(values: ArrayLike<number>, lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const scale = bins / (hi - lo);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) * scale)))]++;
  }
  return counts;
}

/** Held-out test images (the first ones) for the drift section's percentiles and histograms. */
export const DRIFT_HELD_OUT = 500;
/** Test images for the drift section's accuracy curve. */
export const DRIFT_EVAL_IMAGES = 1000;
/** The drift section stops on its own after this many steps. */
export const DRIFT_MAX_STEPS = 20000;

/**
 * The drift section's two runs (the worker trains them; the tests replay them in Node): the lab's
 * MNIST network without and with BatchNorm, same seed, so same initial weights and batches.
 */
export function driftConfigs(lr: number, placement: Placement): { run: RunName; config: MlpConfig }[] {
  const base = {
    ...defaultMlpConfig, lr, steps: DRIFT_MAX_STEPS, evalEvery: 100,
    percentileBatch: DRIFT_HELD_OUT, evalLimit: DRIFT_EVAL_IMAGES, dataset: 'mnist (10k subset)',
  };
  return [
    { run: 'plain', config: { ...base, name: 'without BN', bn: 'none' } },
    { run: 'bn', config: { ...base, name: 'with BN', bn: placement } },
  ];
}

/** When the drift section evaluates: densely early, so the curves fill in at once, then every 100 steps. */
export function shouldEvaluate(step: number): boolean {
  if (step <= 50) return step % 10 === 0;
  if (step <= 200) return step % 25 === 0;
  if (step <= 1000) return step % 50 === 0;
  return step % 100 === 0;
}

export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** One channel of a BatchNorm layer: the four numbers eval mode normalises with. */
export interface ChannelNumbers {
  channel: number;
  gamma: number;
  beta: number;
  runningMean: number;
  runningVar: number;
}

/**
 * gamma, beta, running mean and running variance of the first `count` channels of the model's
 * last BatchNorm layer (empty when it has none). In eval mode that channel computes
 * y = gamma * (x - runningMean) / sqrt(runningVar + eps) + beta.
 */
export function lastBatchNormChannels(model: Sequential, count: number): ChannelNumbers[] {
  const bn = model.layers().filter((m): m is BatchNorm => m instanceof BatchNorm).at(-1);
  if (!bn) return [];
  return Array.from({ length: Math.min(count, bn.numFeatures) }, (_, c) => ({
    channel: c,
    gamma: bn.weight?.data[c] ?? 1,
    beta: bn.bias?.data[c] ?? 0,
    runningMean: bn.runningMean?.data[c] ?? NaN,
    runningVar: bn.runningVar?.data[c] ?? NaN,
  }));
}

export interface SingleSampleResult {
  /** Class probabilities in eval mode: every BatchNorm uses its running statistics. */
  evalProbs: number[];
  /**
   * Class probabilities when every BatchNorm normalises with the statistics of this one sample:
   * the batch mean is the sample itself and the variance 0, so every BatchNorm outputs beta.
   */
  singleProbs: number[];
  /** What the library says to a batch of one in training mode. */
  trainError: string;
}

/**
 * Classifies one image `x` (1, 784) three ways. The model is left in eval mode.
 * The "statistics of one sample" route calls the library's batchNorm op with mean = the
 * sample's own values and variance 0: exactly what a batch of one would normalise with.
 */
export function classifySingle(model: Sequential, x: Tensor): SingleSampleResult {
  let trainError = '';
  try {
    noGrad(() => model.train().forward(x));
  } catch (e) {
    trainError = (e as Error).message;
  }
  model.eval();
  return noGrad(() => {
    const evalProbs = softmax(model.forward(x).data);
    let h = x;
    for (const layer of model.layers()) {
      if (layer instanceof BatchNorm) {
        const c = h.shape[1];
        h = batchNorm(h, {
          runningMean: h.reshape(c),
          runningVar: zeros([c], { dtype: h.dtype }),
          weight: layer.weight,
          bias: layer.bias,
          training: false,
          eps: layer.eps,
        });
      } else {
        h = layer.forward(h);
      }
    }
    return { evalProbs, singleProbs: softmax(h.data), trainError };
  });
}
