/**
 * Section 1, the worked example: one BatchNorm1d over a small batch, every number the page
 * shows computed by the library (no DOM here, so Node tests can check it).
 */
import { noGrad } from '../../src/autograd/tape.js';
import { BatchNorm1d } from '../../src/nn/batchnorm.js';
import { tensor } from '../../src/tensor/tensor.js';

export interface NormalizeResult {
  /** Per-feature batch mean. */
  mean: number[];
  /** Per-feature biased variance (divide by N): what Batch Normalization normalises with. */
  variance: number[];
  /** x-hat = (x - mean) / sqrt(variance + eps), one row per sample. */
  xHat: number[][];
  /** y = gamma * x-hat + beta. */
  y: number[][];
}

/** The classic 3x4 batch: each feature normalises to -1.2247 / 0 / 1.2247. */
export const CLASSIC_BATCH = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]];

/**
 * Normalises `batch` (N rows of C features) with a training-mode BatchNorm1d(C) whose gamma
 * and beta are set from the arguments. Throws the library's error for a batch of one.
 */
export function normalizeBatch(batch: number[][], gamma: number[], beta: number[], eps = 1e-5): NormalizeResult {
  const x = tensor(batch, undefined, { dtype: 'float64' });
  const c = x.shape[1];
  if (gamma.length !== c || beta.length !== c) {
    throw new RangeError(`expected ${c} values of gamma and beta (got ${gamma.length} and ${beta.length})`);
  }
  return noGrad(() => {
    const plain = new BatchNorm1d(c, { eps, affine: false, trackRunningStats: false, dtype: 'float64' });
    const bn = new BatchNorm1d(c, { eps, trackRunningStats: false, dtype: 'float64' });
    bn.weight!.data.set(gamma);
    bn.bias!.data.set(beta);
    const mean = x.mean(0, true);
    const centered = x.sub(mean);
    return {
      mean: Array.from(mean.data),
      variance: Array.from(centered.mul(centered).mean(0).data),
      xHat: plain.forward(x).toArray() as number[][],
      y: bn.forward(x).toArray() as number[][],
    };
  });
}
