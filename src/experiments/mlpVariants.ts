/**
 * Experiments beyond the paper on the Figure 1 network, each a config plus `run`:
 * - `placementRuns`: BatchNorm before the sigmoid (the paper), after it, and none.
 * - `runLrSweep`: the same network with and without BN over a range of learning rates,
 *   each run's outcome recorded ('trains', 'stalls' or 'diverges'), never thrown.
 * - `santurkarRuns`: without BN, with BN, and with "noisy" BN, looking at the loss landscape
 *   as they train (Santurkar et al. 2018; see santurkar.ts).
 * - `depthRuns`: deeper and deeper networks, with and without BN ("BN makes deep networks train").
 */
import { defaultMlpConfig, run, type BnPlacement, type MlpConfig, type MlpData, type MlpHooks, type MlpMetrics } from './mnistMlp.js';

/** The paper's comparison: the same config without BN and with BN before each sigmoid. */
export function figure1Runs(base: Partial<MlpConfig> = {}): MlpConfig[] {
  const c = { ...defaultMlpConfig, ...base };
  return [
    { ...c, name: 'without BN', bn: 'none' },
    { ...c, name: 'with BN', bn: 'before' },
  ];
}

const PLACEMENT_NAMES: Record<BnPlacement, string> = { none: 'without BN', before: 'BN before sigmoid', after: 'BN after sigmoid' };

/** BN before vs after the nonlinearity (and none, for scale): same seed, init and batches. */
export function placementRuns(base: Partial<MlpConfig> = {}): MlpConfig[] {
  const c = { ...defaultMlpConfig, ...base };
  return (['none', 'before', 'after'] as const).map((bn) => ({ ...c, name: PLACEMENT_NAMES[bn], bn }));
}

export interface LrSweepConfig {
  /** Everything but `lr` and `bn`. */
  base: MlpConfig;
  /** Learning rates to try, each with and without BN. */
  lrs: number[];
  /** Placements compared at each rate (default: none and before). */
  placements: BnPlacement[];
  /** A run whose final test accuracy is below this has stalled (default 0.5; chance is 0.1). */
  stallBelow: number;
}

export type SweepOutcome = 'trains' | 'stalls' | 'diverges';

export interface SweepEntry {
  lr: number;
  bn: BnPlacement;
  outcome: SweepOutcome;
  /** Final test accuracy, null after a divergence. */
  finalAccuracy: number | null;
  metrics: MlpMetrics;
}

/** The sweep's runs, in order: for each rate, each placement. */
export function lrSweepRuns(config: LrSweepConfig): MlpConfig[] {
  for (const lr of config.lrs) if (!(lr > 0 && Number.isFinite(lr))) throw new RangeError(`learning rates must be positive numbers (got ${lr})`);
  return config.lrs.flatMap((lr) =>
    config.placements.map((bn) => ({ ...config.base, lr, bn, name: `${PLACEMENT_NAMES[bn]}, lr ${lr}` })),
  );
}

/** How a finished run went: diverged (non-finite loss), stalled (accuracy below `stallBelow`) or trained. */
export function classifyRun(metrics: Pick<MlpMetrics, 'curve' | 'diverged'>, stallBelow: number): { outcome: SweepOutcome; finalAccuracy: number | null } {
  if (metrics.diverged) return { outcome: 'diverges', finalAccuracy: null };
  const finalAccuracy = metrics.curve.at(-1)?.testAccuracy ?? 0;
  return { outcome: finalAccuracy < stallBelow ? 'stalls' : 'trains', finalAccuracy };
}

/** Runs the whole sweep (see `lrSweepRuns` to drive the runs yourself). */
export function runLrSweep(config: LrSweepConfig, data: MlpData, hooks: (c: MlpConfig) => MlpHooks = () => ({})): SweepEntry[] {
  return lrSweepRuns(config).map((c) => {
    const metrics = run(c, data, hooks(c));
    return { lr: c.lr, bn: c.bn, ...classifyRun(metrics, config.stallBelow), metrics };
  });
}

/** The step sizes of the landscape looks, as multiples of the learning rate. */
export const LANDSCAPE_LR_MULTIPLES = [0.25, 0.5, 1, 2, 4];

/**
 * Santurkar et al.'s comparison: the same network without BN, with BN before each sigmoid, and
 * with BN followed by changing noise of strength `noise` (see `ActivationNoise`), each looking
 * at the loss landscape every `landscapeEvery` steps. Same seed, init and batches.
 */
export function santurkarRuns(base: Partial<MlpConfig> = {}, noise = 1, landscapeEvery = 100): MlpConfig[] {
  const c: MlpConfig = { ...defaultMlpConfig, ...base, landscape: { every: landscapeEvery, lrMultiples: LANDSCAPE_LR_MULTIPLES } };
  return [
    { ...c, name: 'without BN', bn: 'none' },
    { ...c, name: 'with BN', bn: 'before' },
    { ...c, name: 'noisy BN', bn: 'before', noise },
  ];
}

/**
 * The usual initial weights and a workable plain-SGD learning rate for each nonlinearity, for
 * `width`-unit hidden layers: Glorot/Xavier (std sqrt(2 / (fan_in + fan_out))) for sigmoid and
 * tanh, He/Kaiming (std sqrt(2 / fan_in)) for ReLU. A deep network without BN gets the init its
 * nonlinearity is usually given, so what BN adds is not measured against a careless baseline.
 * One std for every layer (the lab's MLP takes one): exactly Glorot/He for the width->width
 * layers, not for the first (784->width) and last (width->10).
 */
export function usualInit(activation: MlpConfig['activation'], width: number): { initStd: number; lr: number } {
  if (activation === 'relu') return { initStd: Math.sqrt(2 / width), lr: 0.1 };
  return { initStd: Math.sqrt(2 / (width + width)), lr: activation === 'sigmoid' ? 0.5 : 0.1 };
}

/**
 * Networks of each depth in `depths` (hidden layers of `width` units), each without BN and with
 * BN before the nonlinearity; same seed, so the same batches, and the same initial weights
 * layer for layer (BN draws nothing). Everything else comes from `base`.
 */
export function depthRuns(base: Partial<MlpConfig>, depths: number[], width = 100): MlpConfig[] {
  for (const d of depths) if (!(Number.isInteger(d) && d > 0)) throw new RangeError(`depths must be positive integers (got ${d})`);
  if (!(Number.isInteger(width) && width > 0)) throw new RangeError(`width must be a positive integer (got ${width})`);
  const c = { ...defaultMlpConfig, ...base };
  return depths.flatMap((d) =>
    (['none', 'before'] as const).map((bn) => ({ ...c, hidden: Array<number>(d).fill(width), bn, name: `${bn === 'none' ? 'without BN' : 'with BN'}, depth ${d}` })),
  );
}
