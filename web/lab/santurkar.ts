/**
 * Section 5: Santurkar et al. (2018) in the page. The three runs of `npx batchnorm santurkar`
 * (src/experiments/mlpVariants.ts santurkarRuns), at the page's scale: the drift section's data,
 * evaluation images and held-out batch, fewer steps, and more frequent looks at the landscape.
 */
import { santurkarRuns } from '../../src/experiments/mlpVariants.js';
import { defaultMlpConfig, type MlpConfig } from '../../src/experiments/mnistMlp.js';
import type { RunName } from '../protocol.js';
import { DRIFT_EVAL_IMAGES, DRIFT_HELD_OUT } from './drift.js';

/** The section stops on its own after this many steps (the CLI's default run length). */
export const SANTURKAR_MAX_STEPS = 5000;
/** Steps between two looks at the loss landscape (the CLI looks every 100). */
export const LOOK_EVERY = 50;
/**
 * Initial weights from N(0, 0.1^2), as `npx batchnorm santurkar` does: from the lab's default
 * 0.01 the plain network sits on a flat plateau for thousands of steps, where the landscape
 * comparison says nothing (README, "Why does it work?").
 */
export const SANTURKAR_INIT_STD = 0.1;

/** The section's three runs: without BN, with BN, and with noisy BN of strength `noise`; same seed, same batches. */
export function santurkarConfigs(lr: number, noise: number): { run: RunName; config: MlpConfig }[] {
  const base = {
    ...defaultMlpConfig, lr, initStd: SANTURKAR_INIT_STD, steps: SANTURKAR_MAX_STEPS, evalEvery: 100,
    percentileBatch: DRIFT_HELD_OUT, evalLimit: DRIFT_EVAL_IMAGES, dataset: 'mnist (10k subset)',
  };
  const runName = (c: MlpConfig): RunName => (c.bn === 'none' ? 'plain' : c.noise ? 'noisy' : 'bn');
  return santurkarRuns(base, noise, LOOK_EVERY).map((config) => ({ run: runName(config), config }));
}
