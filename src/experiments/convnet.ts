/**
 * Beyond the paper: a small convolutional network trained with and without BatchNorm2d on MNIST
 * or Fashion-MNIST, which is how BatchNorm is used in practice:
 *
 *   Conv2d(1, c1, 3, padding 1) -> [BatchNorm2d(c1)] -> ReLU -> MaxPool2d(2)     28x28 -> 14x14
 *   Conv2d(c1, c2, 3, padding 1) -> [BatchNorm2d(c2)] -> ReLU -> MaxPool2d(2)    14x14 -> 7x7
 *   Flatten -> Linear(c2 * 7 * 7, 10)
 *
 * The experiment is data: a config, `createConvnetTrainer(config, data)` for step-by-step
 * control, and `run(config, data, hooks)` built on it. No Node imports: the data comes in as
 * arrays (see `loadMnist`).
 */
import { BatchSampler, gatherBatch } from '../data/batches.js';
import { Flatten, ReLU } from '../nn/activation.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Conv2d, MaxPool2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { SGD } from '../optim/sgd.js';
import { RNG } from '../random.js';
import { allocate, Tensor } from '../tensor/tensor.js';
import { evaluateClassifier, trainStep } from './classifier.js';
import { percentile, type CurvePoint, type Divergence, type MlpData } from './mnistMlp.js';

export interface ConvnetConfig {
  /** A label for the run ('without BN', 'with BN'). */
  name: string;
  /** Training steps (mini-batches). */
  steps: number;
  /** Samples per mini-batch (default 60, as in the paper's MNIST experiment). */
  batchSize: number;
  /** Evaluate on the test set every this many steps (and at step 0 and at the end). */
  evalEvery: number;
  /** Seeds the initial weights and the batch order (each from its own generator). */
  seed: number;
  /** SGD learning rate. */
  lr: number;
  /** SGD momentum (0: plain SGD). */
  momentum: number;
  /** Output channels of the two convolutions, [c1, c2]. */
  channels: [number, number];
  /** BatchNorm2d after each convolution (before the ReLU), the convolutions then without bias. */
  bn: boolean;
  /** The dataset's name, recorded with the results (the data itself comes in as arrays). */
  dataset: string;
  /** Test images used by the evaluations along the curve (the first ones; default all). */
  evalLimit?: number | undefined;
}

/**
 * The defaults: 8 and 16 channels, batches of 60, SGD lr 0.05 momentum 0.9, 2000 steps (two
 * epochs; our choices: a run takes about a minute on the wasm kernels, 2 cores, and about
 * six on the reference kernels), with BN.
 */
export const defaultConvnetConfig: ConvnetConfig = {
  name: 'with BN',
  steps: 2000,
  batchSize: 60,
  evalEvery: 200,
  seed: 0,
  lr: 0.05,
  momentum: 0.9,
  channels: [8, 16],
  bn: true,
  dataset: 'mnist',
  evalLimit: 2000,
};

/** The pair of runs the experiment compares: the same config without and with BatchNorm2d. */
export function convnetRuns(base: Partial<ConvnetConfig> = {}): ConvnetConfig[] {
  return [
    { ...defaultConvnetConfig, ...base, name: 'without BN', bn: false },
    { ...defaultConvnetConfig, ...base, name: 'with BN', bn: true },
  ];
}

/**
 * The pairs (without, with BN) at every learning rate and seed, in that order; a name says the
 * learning rate and the seed when the sweep has several.
 */
export function convnetSweepRuns(base: Partial<ConvnetConfig>, lrs: number[], seeds: number[]): ConvnetConfig[] {
  if (lrs.length === 0 || seeds.length === 0) throw new RangeError(`a sweep needs at least one learning rate and one seed (got ${lrs.length} and ${seeds.length})`);
  return lrs.flatMap((lr) => seeds.flatMap((seed) => convnetRuns({ ...base, lr, seed }).map((c) => ({
    ...c,
    name: c.name + (lrs.length > 1 ? `, lr ${lr}` : '') + (seeds.length > 1 ? `, seed ${seed}` : ''),
  }))));
}

/** One setting (BN or not, learning rate) of a sweep, over its seeds. */
export interface SeedSummary {
  /** 'without BN' or 'with BN', and the learning rate. */
  setting: string;
  bn: boolean;
  lr: number;
  seeds: number[];
  /** Runs whose final test accuracy is below the threshold (chance is 1 / classes). */
  stalled: number;
  /** Runs whose loss stopped being finite. */
  diverged: number;
  /** Over the runs that did not diverge (null when all did). */
  median: number | null;
  lowest: number | null;
  highest: number | null;
}

/** Groups a sweep's runs by (BN, learning rate): how many stalled or diverged, and the spread of the final accuracy. */
export function summarizeSeeds(runs: ConvnetMetrics[], stallBelow: number): SeedSummary[] {
  const groups = new Map<string, ConvnetMetrics[]>();
  for (const m of runs) {
    const key = `${m.config.bn ? 'with' : 'without'} BN, lr ${m.config.lr}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups].map(([setting, ms]) => {
    const finals = ms.flatMap((m) => (m.final ? [m.final.testAccuracy] : [])).sort((a, b) => a - b);
    return {
      setting,
      bn: ms[0].config.bn,
      lr: ms[0].config.lr,
      seeds: ms.map((m) => m.config.seed),
      stalled: finals.filter((a) => a < stallBelow).length,
      diverged: ms.filter((m) => m.diverged).length,
      median: finals.length === 0 ? null : percentile(finals, 50),
      lowest: finals[0] ?? null,
      highest: finals.at(-1) ?? null,
    };
  });
}

export interface ConvnetMetrics {
  name: string;
  config: ConvnetConfig;
  /** Test accuracy and loss on `evalLimit` test images, with the mean training loss between evaluations. */
  curve: CurvePoint[];
  /** After the last step, on the whole test set (null after a divergence). */
  final: { testAccuracy: number; loss: number; testImages: number } | null;
  /** Null when training stayed finite throughout. */
  diverged: Divergence | null;
  stepsDone: number;
  /** Training speed (evaluation excluded). */
  stepsPerSecond: number;
  /** The trained network, in training mode (call `eval()` before inference or export). */
  model: Sequential;
}

export interface ConvnetHooks {
  /** After every training step, with the batch's loss. */
  onStep?(step: number, loss: number): void;
  /** After every evaluation along the curve. */
  onEval?(point: CurvePoint): void;
}

/**
 * The network, PyTorch's default initialisation from `RNG(seed)`. The runs with and without BN
 * draw the same numbers in the same order, so they start from the same convolution and linear
 * weights; with BN the convolution biases are dropped (a bias before BatchNorm is cancelled by
 * its mean subtraction; PyTorch models write `bias=False` there).
 */
export function buildConvnet(config: Pick<ConvnetConfig, 'channels' | 'bn' | 'seed'>, size = 28, classes = 10): Sequential {
  const [c1, c2] = config.channels;
  for (const c of [c1, c2]) if (!Number.isInteger(c) || c <= 0) throw new RangeError(`channels must be positive integers (got [${config.channels}])`);
  if (size % 4 !== 0) throw new RangeError(`the image size must be a multiple of 4 for two 2x2 poolings (got ${size})`);
  const rng = new RNG(config.seed);
  const conv1 = new Conv2d(1, c1, 3, { padding: 1, rng });
  const conv2 = new Conv2d(c1, c2, 3, { padding: 1, rng });
  const fc = new Linear(c2 * (size / 4) ** 2, classes, { rng });
  const block = (conv: Conv2d, c: number): Module[] => {
    if (!config.bn) return [conv, new ReLU(), new MaxPool2d(2)];
    conv.bias = null;
    return [conv, new BatchNorm2d(c), new ReLU(), new MaxPool2d(2)];
  };
  return new Sequential(...block(conv1, c1), ...block(conv2, c2), new Flatten(), fc);
}

/** A training run under the caller's control (a web worker can drive it in chunks). */
export interface ConvnetTrainer {
  readonly config: ConvnetConfig;
  readonly model: Sequential;
  readonly stepsDone: number;
  readonly diverged: Divergence | null;
  readonly curve: CurvePoint[];
  /** One training step on the next mini-batch; returns its loss (NaN once diverged). */
  step(): number;
  /** Accuracy and loss on the first `limit` test images (default `config.evalLimit`); appended to the curve unless `record` is false. */
  evaluate(limit?: number, record?: boolean): CurvePoint;
}

function checkConfig(c: ConvnetConfig, data: MlpData): void {
  for (const k of ['steps', 'batchSize', 'evalEvery'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new RangeError(`${k} must be a positive integer (got ${c[k]})`);
  }
  if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new RangeError(`lr must be a positive number (got ${c.lr})`);
  if (!(c.momentum >= 0 && c.momentum < 1)) throw new RangeError(`momentum must be in [0, 1) (got ${c.momentum})`);
  if (c.evalLimit !== undefined && (!Number.isInteger(c.evalLimit) || c.evalLimit <= 0)) {
    throw new RangeError(`evalLimit must be a positive integer (got ${c.evalLimit})`);
  }
  if (data.train.height !== data.train.width) throw new RangeError(`expected square images (got ${data.train.height}x${data.train.width})`);
  if (data.train.n < c.batchSize) throw new RangeError(`the training set (${data.train.n}) is smaller than a batch (${c.batchSize})`);
  if (data.test.n === 0) throw new RangeError('the test set is empty');
}

/**
 * A trainer for one run: weights from `RNG(seed)`, the batch order from a second generator
 * derived from the seed (the MLP lab's rule), so the runs with and without BN see the same batches.
 * @example
 * const t = createConvnetTrainer({ ...defaultConvnetConfig, steps: 200 }, loadMnist());
 * while (t.stepsDone < 200) t.step();
 * console.log(t.evaluate().testAccuracy);
 */
export function createConvnetTrainer(config: ConvnetConfig, data: MlpData): ConvnetTrainer {
  checkConfig(config, data);
  const { train, test } = data;
  const size = train.height;
  const pixels = size * size;
  const model = buildConvnet(config, size);
  const optimizer = new SGD(model.parameters(), { lr: config.lr, momentum: config.momentum });
  const sampler = new BatchSampler(train.n, config.batchSize, new RNG((config.seed ^ 0x5bd1e995) >>> 0));
  const xBuf = allocate('float32', config.batchSize * pixels) as Float32Array; // in wasm memory: no copy per step
  const yBuf = new Int32Array(config.batchSize);
  const x = new Tensor(xBuf, [config.batchSize, 1, size, size]);
  const curve: CurvePoint[] = [];
  let stepsDone = 0;
  let diverged: Divergence | null = null;
  let lossSum = 0;
  let lossCount = 0;

  const step = (): number => {
    if (diverged) return NaN;
    gatherBatch(train, sampler.next(), xBuf, yBuf);
    const value = trainStep(model, optimizer, x, yBuf);
    stepsDone++;
    if (!Number.isFinite(value)) {
      diverged = { step: stepsDone, reason: `training loss became ${value}` };
      return value;
    }
    lossSum += value;
    lossCount++;
    return value;
  };

  const evaluate = (limit = config.evalLimit ?? test.n, record = true): CurvePoint => {
    const n = Math.min(limit, test.n);
    const { accuracy, loss } = evaluateClassifier(model, test, n, [1, size, size], 500);
    model.train();
    const point: CurvePoint = {
      step: stepsDone,
      testAccuracy: accuracy,
      loss,
      trainLoss: lossCount > 0 ? lossSum / lossCount : null,
    };
    if (record) {
      lossSum = 0;
      lossCount = 0;
      curve.push(point);
    }
    return point;
  };

  return {
    config,
    model,
    get stepsDone() { return stepsDone; },
    get diverged() { return diverged; },
    curve,
    step,
    evaluate,
  };
}

/**
 * Trains one run to `config.steps` (or to a divergence, recorded, never thrown), evaluating at
 * step 0, every `evalEvery` steps and at the end on `evalLimit` test images, then once on the
 * whole test set.
 */
export function run(config: ConvnetConfig, data: MlpData, hooks: ConvnetHooks = {}): ConvnetMetrics {
  const trainer = createConvnetTrainer(config, data);
  const evalNow = (): void => {
    const point = trainer.evaluate();
    hooks.onEval?.(point);
  };
  evalNow();
  let trainTime = 0;
  while (trainer.stepsDone < config.steps && !trainer.diverged) {
    const t0 = performance.now();
    const loss = trainer.step();
    trainTime += performance.now() - t0;
    hooks.onStep?.(trainer.stepsDone, loss);
    if (trainer.stepsDone % config.evalEvery === 0 && !trainer.diverged) evalNow();
  }
  if (!trainer.diverged && trainer.curve.at(-1)?.step !== trainer.stepsDone) evalNow();
  let final: ConvnetMetrics['final'] = null;
  if (!trainer.diverged) {
    const p = trainer.evaluate(data.test.n, false);
    final = { testAccuracy: p.testAccuracy, loss: p.loss, testImages: data.test.n };
  }
  return {
    name: config.name,
    config,
    curve: trainer.curve,
    final,
    diverged: trainer.diverged,
    stepsDone: trainer.stepsDone,
    model: trainer.model,
    stepsPerSecond: trainer.stepsDone > 0 && trainTime > 0 ? trainer.stepsDone / (trainTime / 1000) : 0,
  };
}
