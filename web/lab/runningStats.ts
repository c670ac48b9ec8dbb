/**
 * Section 4a: how BatchNorm's running statistics converge. A BatchNorm1d(1) sees a stream of
 * mini-batches drawn from N(mean, std^2) (seeded) and we record its running_mean and
 * running_var after every step, next to each batch's own statistics.
 */
import { noGrad } from '../../src/autograd/tape.js';
import { BatchNorm1d } from '../../src/nn/batchnorm.js';
import { RNG } from '../../src/random.js';
import { tensor } from '../../src/tensor/tensor.js';

export interface RunningStatsConfig {
  /** Weight of each new batch (PyTorch's momentum); null: cumulative average (PyTorch's momentum=None). */
  momentum: number | null;
  steps: number;
  batchSize: number;
  /** The population the batches come from. */
  mean: number;
  std: number;
  seed: number;
}

export interface RunningStatsPoint {
  step: number;
  /** This batch's mean and unbiased variance. */
  batchMean: number;
  batchVar: number;
  runningMean: number;
  runningVar: number;
}

export const DEFAULT_RUNNING_STATS: RunningStatsConfig = { momentum: 0.1, steps: 100, batchSize: 16, mean: 3, std: 2, seed: 7 };

/** Runs the stream; step 0 is the initial state (running mean 0, running variance 1). */
export function trackRunningStats(config: RunningStatsConfig): RunningStatsPoint[] {
  const rng = new RNG(config.seed);
  const bn = new BatchNorm1d(1, { momentum: config.momentum, affine: false, dtype: 'float64' });
  const points: RunningStatsPoint[] = [{ step: 0, batchMean: NaN, batchVar: NaN, runningMean: 0, runningVar: 1 }];
  noGrad(() => {
    for (let step = 1; step <= config.steps; step++) {
      const values = Array.from({ length: config.batchSize }, () => config.mean + config.std * rng.normal());
      bn.forward(tensor(values, [config.batchSize, 1], { dtype: 'float64' }));
      const m = values.reduce((a, b) => a + b, 0) / values.length;
      const v = values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1);
      points.push({ step, batchMean: m, batchVar: v, runningMean: bn.runningMean!.data[0], runningVar: bn.runningVar!.data[0] });
    }
  });
  return points;
}
