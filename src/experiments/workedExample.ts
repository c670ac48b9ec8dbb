import { noGrad } from '../autograd/tape.js';
import { BatchNorm1d } from '../nn/batchnorm.js';
import { tensor, type Tensor } from '../tensor/tensor.js';

export interface WorkedExampleConfig {
  /** The mini-batch, one row per sample (default: the classic 3x4 [[1..4], [5..8], [9..12]]). */
  batch?: number[][] | undefined;
  /** Training steps on that batch before the inference demo (default 30). */
  trainingSteps?: number | undefined;
  /** Momentum of the running statistics (default 0.1, PyTorch's). */
  momentum?: number | undefined;
  /** The single sample classified in evaluation mode (default: the batch's middle row). */
  sample?: number[] | undefined;
}

export interface WorkedExampleResult {
  batch: number[][];
  mean: number[];
  /** Biased variance (divide by N): what Batch Normalization normalises with. */
  biasedVar: number[];
  /** Unbiased variance (divide by N - 1): what `X.var()` gives and what running_var tracks. */
  unbiasedVar: number[];
  /** BatchNorm1d's training-mode output (gamma 1, beta 0). */
  output: number[][];
  /** What normalising with the unbiased variance would give instead (a common mistake). */
  outputWithUnbiasedVar: number[][];
  /** Running statistics after selected training steps. */
  runningStats: { step: number; runningMean: number[]; runningVar: number[] }[];
  sample: number[];
  /** The sample normalised alone in evaluation mode, with the running statistics. */
  sampleEvalOutput: number[];
  /** The error a batch of one gives in training mode. */
  sampleTrainError: string;
}

const rows = (t: Tensor): number[][] => t.toArray() as number[][];
const list = (t: Tensor): number[] => Array.from(t.data);

/**
 * The textbook example computed by the library: a BatchNorm1d over a small batch, the two
 * variances side by side, then the inference side (running statistics, a batch of one).
 */
export function runWorkedExample(config: WorkedExampleConfig = {}): WorkedExampleResult {
  const batch = config.batch ?? [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]];
  const trainingSteps = config.trainingSteps ?? 30;
  const x = tensor(batch);
  const [n, c] = x.shape;
  const bn = new BatchNorm1d(c, { momentum: config.momentum ?? 0.1 });

  const output = rows(bn.forward(x));
  const mean = list(x.mean(0));
  const centered = x.sub(x.mean(0, true));
  const squares = centered.mul(centered).sum(0);
  const biasedVar = list(squares.div(n));
  const unbiasedVar = list(squares.div(n - 1));
  const outputWithUnbiasedVar = rows(centered.div(squares.div(n - 1).add(bn.eps).sqrt()));

  const runningStats = [{ step: 1, runningMean: list(bn.runningMean!), runningVar: list(bn.runningVar!) }];
  const report = new Set([2, 5, 10, 20, trainingSteps]);
  noGrad(() => {
    for (let step = 2; step <= trainingSteps; step++) {
      bn.forward(x);
      if (report.has(step)) runningStats.push({ step, runningMean: list(bn.runningMean!), runningVar: list(bn.runningVar!) });
    }
  });

  const sample = config.sample ?? batch[Math.floor(n / 2)];
  const one = tensor([sample]);
  let sampleTrainError = '';
  try {
    bn.train().forward(one);
  } catch (e) {
    sampleTrainError = (e as Error).message;
  }
  const sampleEvalOutput = list(bn.eval().forward(one));
  return { batch, mean, biasedVar, unbiasedVar, output, outputWithUnbiasedVar, runningStats, sample, sampleEvalOutput, sampleTrainError };
}
